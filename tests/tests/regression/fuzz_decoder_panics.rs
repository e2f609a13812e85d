//! Inputs found by the cargo-fuzz targets `load_ipc` and `load_parquet` (fuzz/) on their first
//! runs. Both make an upstream decoder panic; the library's `catch_unwind` guard must turn the
//! panic into `Error::Corrupt` naming the file (never a panic escaping, never `Error::Task`):
//!
//! * `fuzz-ipc-slice-offset.arrow`: a valid `save_ipc` file with one byte changed; arrow-buffer
//!   60.1 `Buffer::slice_with_length` asserts ("the offset of the new Buffer cannot exceed the
//!   existing length: slice offset=3314649325744685056 length=40 selflen=704").
//! * `fuzz-parquet-delta-byte-array.parquet`: a valid data file with one bit flipped, behind a
//!   manifest that matches it; parquet 60.1 `delta_byte_array.rs:101` panics ("slice index starts
//!   at 29 but ends at 13").

use std::path::Path;

use soa_fixtures::Side;
// The row type of the fuzz targets, which the files found by them record.
use soa_fixtures::fuzz::{Order, OrderSoA};
use soa_runtime::{ArrowStore, Error, ParquetStore, Store, StoreExt};

fn data(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/regression/data")
        .join(name)
}

fn assert_corrupt(result: Result<(), Error>, what: &str) {
    match result {
        Err(Error::Corrupt { reason, .. }) => println!("{what}: Corrupt: {reason}"),
        other => panic!("{what}: expected Error::Corrupt, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn ipc_buffer_slice_panic_is_corrupt() {
    let store = ArrowStore::<Order>::new();
    assert_corrupt(
        store.load_ipc(data("fuzz-ipc-slice-offset.arrow")).await,
        "load_ipc",
    );
    assert_eq!(store.count().await.unwrap(), 0);
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[tokio::test(flavor = "multi_thread")]
async fn parquet_delta_byte_array_panic_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let store = ParquetStore::<Order>::open_or_create(dir.path())
        .await
        .unwrap();
    let rows: OrderSoA = (0..10u64)
        .map(|i| Order {
            order_id: i,
            symbol: "AAPL".into(),
            side: Side::Buy,
            price: 1.5,
            note: None,
            tags: vec!["a".into()],
        })
        .collect();
    store.save(&rows).await.unwrap();
    // The damaged file behind a manifest that describes it (size, CRC32, rows).
    let bytes = std::fs::read(data("fuzz-parquet-delta-byte-array.parquet")).unwrap();
    std::fs::write(dir.path().join("data.parquet"), &bytes).unwrap();
    let manifest = std::fs::read_to_string(dir.path().join("_soa_manifest")).unwrap();
    let mut body = String::new();
    for line in manifest.lines().filter(|l| !l.starts_with("crc ")) {
        if line.starts_with("file data.parquet ") {
            body.push_str(&format!(
                "file data.parquet {} {:08x} 20 -\n",
                bytes.len(),
                crc32(&bytes)
            ));
        } else {
            body.push_str(line);
            body.push('\n');
        }
    }
    let crc = crc32(body.as_bytes());
    std::fs::write(
        dir.path().join("_soa_manifest"),
        format!("{body}crc {crc:08x}\n"),
    )
    .unwrap();

    let store = ParquetStore::<Order>::open(dir.path()).await.unwrap();
    assert_corrupt(store.load().await.map(drop), "load");
    // A projection without the damaged column decodes; with it, the same typed error.
    for columns in [["symbol", "tags"], ["note", "side"]] {
        match store.load_columns(&columns).await {
            Ok(_) | Err(Error::Corrupt { .. }) => {}
            Err(e) => panic!("load_columns({columns:?}): {e:?}"),
        }
    }
}

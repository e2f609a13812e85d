//! Arbitrary bytes as the data file of a `ParquetStore`, behind a manifest rewritten to match
//! them (size, CRC32, footer row count), so that the bytes reach the Parquet decoder: `load`,
//! `scan`, a projection and the footer count must return `Ok` or a typed error, never panic,
//! abort or hang.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use soa_fixtures::Side;
use soa_fixtures::fuzz::{Order, OrderSoA};
use soa_runtime::{ParquetStore, Store, StoreExt};

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap()
    })
}

/// A store directory with one committed `data.parquet` and its manifest text.
fn store_dir() -> &'static (tempfile::TempDir, String) {
    static DIR: OnceLock<(tempfile::TempDir, String)> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        runtime().block_on(async {
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
        });
        let manifest = std::fs::read_to_string(dir.path().join("_soa_manifest")).unwrap();
        (dir, manifest)
    })
}

/// The manifest with the `data.parquet` line describing `bytes` (rows from the footer when it
/// parses) and a fresh checksum line.
fn forge(manifest: &str, bytes: &[u8]) -> String {
    let rows = soa_runtime::parquet::file::metadata::ParquetMetaDataReader::new()
        .parse_and_finish(&bytes::Bytes::copy_from_slice(bytes))
        .ok()
        .map_or(10, |m| m.file_metadata().num_rows().max(0) as u64);
    let mut body = String::new();
    for line in manifest.lines() {
        if line.starts_with("crc ") {
            continue;
        }
        if line.starts_with("file data.parquet ") {
            body.push_str(&format!(
                "file data.parquet {} {:08x} {rows} -\n",
                bytes.len(),
                crc32fast::hash(bytes)
            ));
        } else {
            body.push_str(line);
            body.push('\n');
        }
    }
    let crc = crc32fast::hash(body.as_bytes());
    format!("{body}crc {crc:08x}\n")
}

/// The committed data file (several codecs) as seeds in the corpus directory.
fn write_seeds() {
    // libfuzzer-sys's hook aborts on *any* panic, even one the library catches and turns into
    // `Error::Corrupt` (its documented guard around the upstream decoders). A silent hook
    // instead: a panic that escapes the library still aborts (libfuzzer-sys wraps each input
    // in `catch_unwind` and aborts on a panic).
    let _ = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/load_parquet");
    let _ = std::fs::create_dir_all(&corpus);
    let (dir, _) = store_dir();
    let _ = std::fs::copy(
        dir.path().join("data.parquet"),
        corpus.join("seed-zstd.parquet"),
    );
    runtime().block_on(async {
        use soa_runtime::store::parquet::Codec;
        for (name, codec) in [("snappy", Codec::Snappy), ("plain", Codec::Uncompressed)] {
            let d = tempfile::tempdir().unwrap();
            let store = ParquetStore::<Order>::builder(d.path())
                .compression(codec)
                .dictionary(name == "snappy")
                .open_or_create()
                .await
                .unwrap();
            let rows: OrderSoA = (0..20u64)
                .map(|i| Order {
                    order_id: i,
                    symbol: ["AAPL", "日本"][i as usize % 2].into(),
                    side: if i % 2 == 0 { Side::Buy } else { Side::Sell },
                    price: i as f64,
                    note: (i % 3 == 0).then(|| "n".into()),
                    tags: vec!["t".into(); i as usize % 3],
                })
                .collect();
            store.save(&rows).await.unwrap();
            let _ = std::fs::copy(
                d.path().join("data.parquet"),
                corpus.join(format!("seed-{name}.parquet")),
            );
        }
    });
}

fuzz_target!(init: write_seeds(), |data: &[u8]| {
    let (dir, manifest) = store_dir();
    std::fs::write(dir.path().join("data.parquet"), data).unwrap();
    std::fs::write(dir.path().join("_soa_manifest"), forge(manifest, data)).unwrap();
    runtime().block_on(async {
        let check = |r: Result<(), soa_runtime::Error>| {
            if let Err(soa_runtime::Error::Task(e)) = r {
                panic!("untyped error (a panic on a blocking thread?): {e}");
            }
        };
        let store = match ParquetStore::<Order>::open(dir.path()).await {
            Ok(store) => store,
            Err(e) => return check(Err(e)),
        };
        check(store.load().await.map(drop));
        match store.scan().await {
            Ok(mut stream) => {
                use futures::StreamExt;
                while let Some(batch) = stream.next().await {
                    if let Err(e) = batch {
                        check(Err(e));
                        break;
                    }
                }
            }
            Err(e) => check(Err(e)),
        }
        check(store.load_columns(&["symbol", "tags"]).await.map(drop));
        check(store.count_from_footers().await.map(drop));
    });
});

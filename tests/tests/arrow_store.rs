//! `ArrowStore`: the store conformance suite, snapshots under concurrent writers, exact memory
//! statistics, schema checks and Arrow IPC files (round trips, pyarrow, corrupt files).

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use arrow_array::{
    ArrayRef, Int64Array, RecordBatch, StringArray, UInt64Array, cast::AsArray, types::UInt64Type,
};
use arrow_schema::{DataType, Field, Schema};
use futures::StreamExt;
use soa_runtime::StoreExt;
use soa_runtime::store::memory::IpcCompression;
use soa_runtime::{ArrowStore, Error, Soa, Store, ToArrow};
use soa_tests::{Order, OrderSoA, Side, orders};

fn soa(rows: &[Order]) -> OrderSoA {
    rows.iter().cloned().collect()
}

#[test]
fn store_is_send_sync_clone() {
    fn assert_traits<S: Send + Sync + Clone + 'static>() {}
    assert_traits::<ArrowStore<Order>>();
}

#[tokio::test(flavor = "multi_thread")]
async fn save_append_load_count_clear() {
    let store = ArrowStore::<Order>::new();
    let rows = orders(1_000);
    store.save(&soa(&rows[..600])).await.unwrap();
    store.append(&soa(&rows[600..900])).await.unwrap();
    store.append_owned(soa(&rows[900..])).await.unwrap();
    assert_eq!(store.count().await.unwrap(), 1_000);
    assert_eq!(store.stats().batches, 3);
    assert_eq!(store.load().await.unwrap().into_rows(), rows);

    // Clones share the data.
    let clone = store.clone();
    clone.append(&soa(&rows[..1])).await.unwrap();
    assert_eq!(store.count().await.unwrap(), 1_001);

    store.save(&soa(&rows[..5])).await.unwrap();
    assert_eq!(clone.count().await.unwrap(), 5);
    assert_eq!(clone.stats().batches, 1);

    clone.clear().await.unwrap();
    assert_eq!(store.count().await.unwrap(), 0);
    assert_eq!(store.stats().batches, 0);
    assert!(store.snapshot().is_empty());
    assert!(store.load().await.unwrap().is_empty());
    let debug = format!("{store:?}");
    assert!(
        debug.contains("Order") && debug.contains("rows: 0"),
        "{debug}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn scan_and_snapshot_are_isolated_from_later_writes() {
    let store = ArrowStore::<Order>::new();
    let rows = orders(300);
    for chunk in rows.chunks(100) {
        store.append(&soa(chunk)).await.unwrap();
    }
    let snapshot = store.snapshot();
    let mut stream = store.scan().await.unwrap();

    store.append(&soa(&rows[..50])).await.unwrap();
    store.clear().await.unwrap();
    store.append(&soa(&rows[..7])).await.unwrap();

    assert_eq!(snapshot.len(), 3);
    assert!(snapshot.iter().all(|b| b.num_rows() == 100));
    let mut scanned = Vec::new();
    while let Some(batch) = stream.next().await {
        scanned.extend(
            OrderSoA::from_record_batch(&batch.unwrap())
                .unwrap()
                .into_rows(),
        );
    }
    assert_eq!(scanned, rows);
    let ids: Vec<u64> = snapshot
        .iter()
        .flat_map(|b| {
            b.column_by_name("order_id")
                .unwrap()
                .as_primitive::<UInt64Type>()
                .values()
                .to_vec()
        })
        .collect();
    assert_eq!(ids, (0..300).collect::<Vec<u64>>());
    assert_eq!(store.count().await.unwrap(), 7);
}

#[tokio::test(flavor = "multi_thread")]
async fn append_owned_and_snapshot_do_not_copy_column_data() {
    let store = ArrowStore::<Order>::new();
    let data = soa(&orders(1_000));
    let ids_ptr = data.order_id.as_ptr() as usize;
    let prices_ptr = data.unit_price.as_ptr() as usize;
    store.append_owned(data).await.unwrap();

    let snapshot = store.snapshot();
    let batch = &snapshot[0];
    let ids = batch.column_by_name("order_id").unwrap().to_data();
    let prices = batch.column_by_name("unit_price").unwrap().to_data();
    assert_eq!(ids.buffers()[0].as_ptr() as usize, ids_ptr);
    assert_eq!(prices.buffers()[0].as_ptr() as usize, prices_ptr);

    // A second snapshot hands out the same buffers again.
    let again = store.snapshot();
    assert_eq!(
        again[0].column(0).to_data().buffers()[0].as_ptr() as usize,
        ids_ptr
    );
}

/// Exact bytes of `orders(10)`, column by column, from the Arrow layouts.
fn expected_columns(rows: &[Order]) -> Vec<(&'static str, u64, u64)> {
    let n = rows.len() as u64;
    let offsets = (n + 1) * 4;
    let symbol_bytes: u64 = rows.iter().map(|o| o.symbol.len() as u64).sum();
    let note_bytes: u64 = rows
        .iter()
        .map(|o| o.note.as_ref().map_or(0, |s| s.len() as u64))
        .sum();
    let validity = n.div_ceil(8);
    // Side: Int8 keys + a dictionary of the variant names: offsets for 2 entries + "Buy" + "Sell".
    let side = n + 3 * 4 + 7;
    vec![
        ("order_id", 8 * n, 0),
        ("customer_id", 4 * n, 0),
        ("symbol", offsets + symbol_bytes, 0),
        ("side", side, 0),
        ("quantity", 4 * n, 0),
        ("unit_price", 8 * n, 0),
        ("filled", n.div_ceil(8), 0),
        ("note", offsets + note_bytes + validity, validity),
        ("ts_micros", 8 * n, 0),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn stats_are_exact_and_incremental() {
    let store = ArrowStore::<Order>::new();
    let mut rows = orders(10);
    rows[3].note = None;
    store.append(&soa(&rows)).await.unwrap();

    let expected = expected_columns(&rows);
    let stats = store.stats();
    assert_eq!(stats.rows, 10);
    assert_eq!(stats.batches, 1);
    let got: Vec<(&str, u64, u64)> = stats
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.bytes, c.validity_bytes))
        .collect();
    assert_eq!(got, expected);
    // Spot checks of the numbers above.
    assert_eq!(stats.columns[0].bytes, 80, "u64 column of 10 rows");
    assert_eq!(
        stats.columns[7].validity_bytes, 2,
        "validity of an Option column of 10 rows"
    );
    let total: u64 = expected.iter().map(|c| c.1).sum();
    assert_eq!(stats.bytes, total);

    // Every write updates them.
    store.append_owned(soa(&rows)).await.unwrap();
    let doubled = store.stats();
    assert_eq!(doubled.rows, 20);
    assert_eq!(doubled.batches, 2);
    assert_eq!(doubled.bytes, 2 * total);
    assert_eq!(doubled.columns[0].bytes, 160);
    assert_eq!(doubled.columns[7].validity_bytes, 4);

    store.save(&soa(&rows)).await.unwrap();
    assert_eq!(store.stats(), stats);

    // A sliced batch counts only its rows.
    let batch = soa(&rows).to_record_batch().unwrap().slice(2, 5);
    store.clear().await.unwrap();
    store.append_batch(batch).unwrap();
    let sliced = store.stats();
    assert_eq!(sliced.rows, 5);
    assert_eq!(sliced.columns[0].bytes, 40);
    assert_eq!(sliced.columns[7].validity_bytes, 1);
    let expected_sliced = expected_columns(&rows[2..7]);
    assert_eq!(
        sliced.columns[2].bytes, expected_sliced[2].1,
        "symbol slice"
    );
    assert_eq!(sliced.columns[7].bytes, expected_sliced[7].1, "note slice");

    store.clear().await.unwrap();
    let cleared = store.stats();
    assert_eq!((cleared.rows, cleared.batches, cleared.bytes), (0, 0, 0));
    assert_eq!(cleared.columns.len(), 9);
    assert!(cleared.columns.iter().all(|c| c.bytes == 0));
}

fn schema_mismatch_reason(result: soa_runtime::Result<()>) -> String {
    match result {
        Err(Error::SchemaMismatch { path, reason }) => {
            assert_eq!(path, None, "a batch has no path");
            reason
        }
        other => panic!("expected SchemaMismatch, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn append_batch_checks_the_schema() {
    let store = ArrowStore::<Order>::new();
    let good = soa(&orders(4)).to_record_batch().unwrap();

    // Columns in another order are accepted and stored in schema order.
    let mut indices: Vec<usize> = (0..good.num_columns()).collect();
    indices.reverse();
    let reversed = good.project(&indices).unwrap();
    store.append_batch(reversed).unwrap();
    let stored = store.snapshot();
    assert_eq!(stored[0].schema(), OrderSoA::schema());
    assert_eq!(store.load().await.unwrap().into_rows(), orders(4));

    // Wrong type.
    let mut columns: Vec<ArrayRef> = good.columns().to_vec();
    let mut fields: Vec<Field> = good
        .schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    columns[0] = Arc::new(Int64Array::from(vec![1, 2, 3, 4]));
    fields[0] = Field::new("order_id", DataType::Int64, false);
    let wrong =
        RecordBatch::try_new(Arc::new(Schema::new(fields.clone())), columns.clone()).unwrap();
    let reason = schema_mismatch_reason(store.append_batch(wrong));
    assert!(
        reason.contains("order_id") && reason.contains("UInt64") && reason.contains("Int64"),
        "{reason}"
    );

    // Missing column.
    let missing = good.project(&[0, 1, 2, 3, 4, 5, 6, 8]).unwrap();
    let reason = schema_mismatch_reason(store.append_batch(missing));
    assert!(
        reason.contains("\"note\"") && reason.contains("missing"),
        "{reason}"
    );

    // Extra column.
    let mut fields: Vec<Field> = good
        .schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    let mut columns = good.columns().to_vec();
    fields.push(Field::new("venue", DataType::Utf8, true));
    columns.push(Arc::new(StringArray::from(vec!["a"; 4])));
    let extra = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap();
    let reason = schema_mismatch_reason(store.append_batch(extra));
    assert!(
        reason.contains("venue") && reason.contains("unexpected"),
        "{reason}"
    );

    // A nullable column with nulls for a field that is not an Option.
    let mut fields: Vec<Field> = good
        .schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    let mut columns = good.columns().to_vec();
    fields[0] = Field::new("order_id", DataType::UInt64, true);
    columns[0] = Arc::new(UInt64Array::from(vec![Some(1), None, Some(3), Some(4)]));
    let nulls =
        RecordBatch::try_new(Arc::new(Schema::new(fields.clone())), columns.clone()).unwrap();
    let reason = schema_mismatch_reason(store.append_batch(nulls));
    assert!(
        reason.contains("order_id") && reason.contains("null"),
        "{reason}"
    );

    // ... but without nulls it is fine.
    columns[0] = Arc::new(UInt64Array::from(vec![
        Some(10),
        Some(11),
        Some(12),
        Some(13),
    ]));
    let nullable_ok = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap();
    store.append_batch(nullable_ok).unwrap();

    // Nothing rejected was stored.
    assert_eq!(store.count().await.unwrap(), 8);
    let ids = store.load().await.unwrap().order_id;
    assert_eq!(ids, [0, 1, 2, 3, 10, 11, 12, 13]);
}

// ---------------------------------------------------------------------------------------------
// Arrow IPC files

fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// Files in `dir` other than `keep` (leftover temporary files of an atomic write).
fn other_files(dir: &Path, keep: &[&str]) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| !keep.contains(&name.as_str()))
        .collect()
}

async fn store_with(rows: &[Order], batch: usize) -> ArrowStore<Order> {
    let store = ArrowStore::<Order>::new();
    for chunk in rows.chunks(batch) {
        store.append(&soa(chunk)).await.unwrap();
    }
    store
}

#[tokio::test(flavor = "multi_thread")]
async fn ipc_round_trip_all_compressions() {
    let dir = temp_dir();
    let rows = orders(20_000);
    // Batches over 8 192 rows: the fixed-width buffers exceed the slack of the size check for
    // the (empty) validity buffers in front of them.
    let store = store_with(&rows, 9_000).await;
    let mut sizes = HashMap::new();
    for (name, compression) in [
        ("none.arrow", IpcCompression::None),
        ("lz4.arrow", IpcCompression::Lz4),
        ("zstd.arrow", IpcCompression::Zstd),
    ] {
        let path = dir.path().join(name);
        store.save_ipc(&path, compression).await.unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..6], b"ARROW1", "{name}");
        assert_eq!(&bytes[bytes.len() - 6..], b"ARROW1", "{name}");
        sizes.insert(name, bytes.len());

        let loaded = ArrowStore::<Order>::new();
        loaded.append(&soa(&rows[..3])).await.unwrap(); // replaced by load_ipc
        loaded.load_ipc(&path).await.unwrap();
        assert_eq!(loaded.count().await.unwrap(), 20_000, "{name}");
        assert_eq!(loaded.stats().batches, 3, "{name}");
        assert_eq!(loaded.load().await.unwrap().into_rows(), rows, "{name}");
        assert_eq!(loaded.stats(), store.stats(), "{name}: stats after reload");
        assert_eq!(loaded.snapshot()[0].schema(), OrderSoA::schema());
    }
    assert!(sizes["zstd.arrow"] < sizes["none.arrow"] / 2, "{sizes:?}");
    assert!(sizes["lz4.arrow"] < sizes["none.arrow"], "{sizes:?}");
    assert!(
        other_files(dir.path(), &["none.arrow", "lz4.arrow", "zstd.arrow"]).is_empty(),
        "temporary files left behind"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ipc_empty_store_and_overwrite() {
    let dir = temp_dir();
    let path = dir.path().join("orders.arrow");
    let store = ArrowStore::<Order>::new();
    store.save_ipc(&path, IpcCompression::Zstd).await.unwrap();
    let loaded = store_with(&orders(10), 10).await;
    loaded.load_ipc(&path).await.unwrap();
    assert_eq!(loaded.count().await.unwrap(), 0);

    // Saving again replaces the file.
    store.append(&soa(&orders(42))).await.unwrap();
    store.save_ipc(&path, IpcCompression::Lz4).await.unwrap();
    loaded.load_ipc(&path).await.unwrap();
    assert_eq!(loaded.load().await.unwrap().into_rows(), orders(42));
    assert!(other_files(dir.path(), &["orders.arrow"]).is_empty());

    // A relative path in the current directory works too (parent "" -> ".").
    let relative = PathBuf::from(format!("arrow_store_test_{}.arrow", std::process::id()));
    store
        .save_ipc(&relative, IpcCompression::None)
        .await
        .unwrap();
    loaded.clear().await.unwrap();
    loaded.load_ipc(&relative).await.unwrap();
    std::fs::remove_file(&relative).unwrap();
    assert_eq!(loaded.count().await.unwrap(), 42);
}

#[tokio::test(flavor = "multi_thread")]
async fn ipc_save_into_missing_directory_is_an_io_error() {
    let dir = temp_dir();
    let path = dir.path().join("no/such/dir/orders.arrow");
    let store = store_with(&orders(3), 3).await;
    match store.save_ipc(&path, IpcCompression::None).await {
        Err(Error::Io { path: p, source }) => {
            assert!(p.starts_with(dir.path().join("no/such/dir")), "{p:?}");
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("expected Io, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn ipc_load_missing_file_is_an_io_error_naming_the_path() {
    let dir = temp_dir();
    let path = dir.path().join("missing.arrow");
    let store = store_with(&orders(3), 3).await;
    let err = store.load_ipc(&path).await.unwrap_err();
    match &err {
        Error::Io { path: p, source } => {
            assert_eq!(p, &path);
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("expected Io, got {other:?}"),
    }
    assert!(err.to_string().contains("missing.arrow"), "{err}");
    assert_eq!(
        store.count().await.unwrap(),
        3,
        "a failed load must not change the store"
    );
}

fn assert_corrupt(result: soa_runtime::Result<()>, path: &Path, context: &str) {
    match result {
        Err(Error::Corrupt { path: p, reason }) => {
            assert_eq!(p, path, "{context}");
            assert!(!reason.is_empty(), "{context}");
        }
        other => panic!("{context}: expected Corrupt, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn ipc_load_truncated_file_is_corrupt() {
    let dir = temp_dir();
    let good = dir.path().join("good.arrow");
    let rows = orders(2_000);
    let store = store_with(&rows, 500).await;
    store.save_ipc(&good, IpcCompression::None).await.unwrap();
    let bytes = std::fs::read(&good).unwrap();

    let target = ArrowStore::<Order>::new();
    target.append(&soa(&rows[..1])).await.unwrap();
    let truncated = dir.path().join("truncated.arrow");
    let mut cuts: Vec<usize> = (0..bytes.len()).step_by(97).collect();
    cuts.extend([
        1,
        5,
        6,
        8,
        17,
        bytes.len() / 2,
        bytes.len() - 10,
        bytes.len() - 1,
    ]);
    for cut in cuts {
        std::fs::write(&truncated, &bytes[..cut]).unwrap();
        assert_corrupt(
            target.load_ipc(&truncated).await,
            &truncated,
            &format!("cut at {cut}"),
        );
    }
    // The store is unchanged after every failure.
    assert_eq!(target.load().await.unwrap().into_rows(), rows[..1]);
}

#[tokio::test(flavor = "multi_thread")]
async fn ipc_load_garbage_is_corrupt() {
    let dir = temp_dir();
    let path = dir.path().join("garbage.arrow");
    let store = ArrowStore::<Order>::new();

    std::fs::write(&path, b"").unwrap();
    assert_corrupt(store.load_ipc(&path).await, &path, "empty file");

    let noise: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&path, &noise).unwrap();
    assert_corrupt(store.load_ipc(&path).await, &path, "noise");

    std::fs::write(&path, b"PAR1 this is a parquet file, honestly PAR1").unwrap();
    assert_corrupt(store.load_ipc(&path).await, &path, "parquet magic");

    // Correct magic at both ends, garbage in between: only the decoder can tell.
    let mut framed = b"ARROW1\0\0".to_vec();
    framed.extend_from_slice(&noise);
    framed.extend_from_slice(&100i32.to_le_bytes());
    framed.extend_from_slice(b"ARROW1");
    std::fs::write(&path, &framed).unwrap();
    assert_corrupt(store.load_ipc(&path).await, &path, "framed noise");

    // A footer length pointing before the start of the file.
    let mut framed = b"ARROW1\0\0".to_vec();
    framed.extend_from_slice(&[0u8; 16]);
    framed.extend_from_slice(&i32::MAX.to_le_bytes());
    framed.extend_from_slice(b"ARROW1");
    std::fs::write(&path, &framed).unwrap();
    assert_corrupt(store.load_ipc(&path).await, &path, "footer length");
    assert_eq!(store.count().await.unwrap(), 0);
}

/// Single-bit flips over whole files: each load either succeeds (a flip in value bytes decodes
/// into other values) or fails with a typed error; a decoder panic must come back as `Corrupt`,
/// never escape, and never become a task failure. A flip in the uncompressed-length prefix of a
/// compressed buffer used to abort the process on a huge allocation.
#[tokio::test(flavor = "multi_thread")]
async fn ipc_load_bit_flips_never_panic_or_abort() {
    let dir = temp_dir();
    let store = store_with(&orders(300), 100).await;
    let step: usize = std::env::var("SOA_FLIP_STEP")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(37);
    for compression in [
        IpcCompression::None,
        IpcCompression::Lz4,
        IpcCompression::Zstd,
    ] {
        let good = dir.path().join("good.arrow");
        store.save_ipc(&good, compression).await.unwrap();
        let bytes = std::fs::read(&good).unwrap();
        let flipped = dir.path().join("flipped.arrow");
        let target = ArrowStore::<Order>::new();
        let (mut ok, mut corrupt, mut other) = (0, 0, 0);
        for (n, position) in (0..bytes.len()).step_by(step).enumerate() {
            for bit in [n % 8] {
                let mut copy = bytes.clone();
                copy[position] ^= 1 << bit;
                std::fs::write(&flipped, &copy).unwrap();
                match target.load_ipc(&flipped).await {
                    Ok(()) => ok += 1,
                    Err(Error::Corrupt { .. }) => corrupt += 1,
                    Err(Error::SchemaMismatch { .. }) => other += 1,
                    // A flip in a value the row type cannot hold (an enum name, a validity bit):
                    // `load_ipc` converts every batch, so it reports the column, in the file.
                    Err(Error::InFile { source, .. })
                        if matches!(*source, Error::Column { .. }) =>
                    {
                        other += 1
                    }
                    Err(e) => {
                        panic!("{compression:?}, flip at {position}.{bit}: unexpected error {e:?}")
                    }
                }
            }
        }
        println!(
            "{compression:?}: {} bytes, {ok} decoded, {corrupt} corrupt, {other} schema or value errors",
            bytes.len()
        );
        assert!(corrupt > 0, "{compression:?}: no flip was detected at all");
    }
}

/// Another row type, to write files `ArrowStore<Order>` must refuse.
#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
pub struct Quote {
    pub symbol: String,
    pub bid: f64,
    pub ask: f64,
}

/// Same column names as `Order`, but `quantity` is a float.
#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
pub struct LooseOrder {
    pub order_id: u64,
    pub customer_id: u32,
    pub symbol: String,
    pub side: Side,
    pub quantity: f64,
    pub unit_price: f64,
    pub filled: bool,
    pub note: Option<String>,
    pub ts_micros: i64,
}

#[tokio::test(flavor = "multi_thread")]
async fn ipc_load_of_another_type_is_a_schema_mismatch() {
    let dir = temp_dir();
    let store = store_with(&orders(5), 5).await;

    let quotes_path = dir.path().join("quotes.arrow");
    let quotes = ArrowStore::<Quote>::new();
    quotes
        .append(&QuoteSoA::from(vec![Quote {
            symbol: "EURUSD".into(),
            bid: 1.08,
            ask: 1.09,
        }]))
        .await
        .unwrap();
    quotes
        .save_ipc(&quotes_path, IpcCompression::Zstd)
        .await
        .unwrap();
    match store.load_ipc(&quotes_path).await {
        Err(Error::SchemaMismatch { path, reason }) => {
            assert_eq!(path.as_deref(), Some(quotes_path.as_path()));
            assert!(
                reason.contains("order_id") && reason.contains("missing"),
                "{reason}"
            );
        }
        other => panic!("expected SchemaMismatch, got {other:?}"),
    }

    let loose_path = dir.path().join("loose.arrow");
    let loose = ArrowStore::<LooseOrder>::new();
    loose
        .save_ipc(&loose_path, IpcCompression::None)
        .await
        .unwrap();
    match store.load_ipc(&loose_path).await {
        Err(Error::SchemaMismatch { path, reason }) => {
            assert_eq!(path.as_deref(), Some(loose_path.as_path()));
            assert!(
                reason.contains("quantity") && reason.contains("Float64"),
                "{reason}"
            );
        }
        other => panic!("expected SchemaMismatch, got {other:?}"),
    }

    // And the other way round.
    let orders_path = dir.path().join("orders.arrow");
    store
        .save_ipc(&orders_path, IpcCompression::None)
        .await
        .unwrap();
    assert!(matches!(
        quotes.load_ipc(&orders_path).await,
        Err(Error::SchemaMismatch { .. })
    ));
    assert_eq!(store.count().await.unwrap(), 5);
    assert_eq!(quotes.count().await.unwrap(), 1);
}

// ---------------------------------------------------------------------------------------------
// pyarrow reads our files

const PYARROW_SCRIPT: &str = r#"
import sys
import pyarrow.ipc as ipc
for path in sys.argv[1:]:
    table = ipc.open_file(path).read_all()
    print(table.num_rows)
    print(table.column("order_id")[0].as_py(), table.column("order_id")[table.num_rows - 1].as_py())
    print("|".join(table.column("symbol").to_pylist()[:8]))
    print("|".join(table.column("side").to_pylist()[:4]))
    print(sum(table.column("quantity").to_pylist()))
    print(table.column("note").null_count)
    print(repr(table.column("unit_price")[5].as_py()))
"#;

#[tokio::test(flavor = "multi_thread")]
async fn pyarrow_reads_ipc_files() {
    let python = std::env::var("SOA_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let required = std::env::var("SOA_INTEROP").is_ok_and(|v| v == "1");
    let has_pyarrow = Command::new(&python)
        .args(["-c", "import pyarrow"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_pyarrow {
        assert!(
            !required,
            "SOA_INTEROP=1 but {python} cannot import pyarrow (set SOA_PYTHON or run scripts/test.sh)"
        );
        println!("skipped: pyarrow not available (run scripts/test.sh)");
        return;
    }

    let dir = temp_dir();
    let rows = orders(5_000);
    let store = store_with(&rows, 1_000).await;
    let mut paths = Vec::new();
    for (name, compression) in [
        ("none.arrow", IpcCompression::None),
        ("lz4.arrow", IpcCompression::Lz4),
        ("zstd.arrow", IpcCompression::Zstd),
    ] {
        let path = dir.path().join(name);
        store.save_ipc(&path, compression).await.unwrap();
        paths.push(path);
    }
    let output = Command::new(&python)
        .arg("-c")
        .arg(PYARROW_SCRIPT)
        .args(&paths)
        .env("PYTHONIOENCODING", "utf-8")
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        output.status.success(),
        "pyarrow failed: {}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );

    let symbols: Vec<&str> = rows[..8].iter().map(|o| o.symbol.as_str()).collect();
    let sides: Vec<&str> = rows[..4]
        .iter()
        .map(|o| match o.side {
            Side::Buy => "Buy",
            Side::Sell => "Sell",
        })
        .collect();
    let quantity: u64 = rows.iter().map(|o| u64::from(o.quantity)).sum();
    let nulls = rows.iter().filter(|o| o.note.is_none()).count();
    let expected_one = format!(
        "{}\n0 {}\n{}\n{}\n{}\n{}\n{:?}\n",
        rows.len(),
        rows.len() - 1,
        symbols.join("|"),
        sides.join("|"),
        quantity,
        nulls,
        rows[5].unit_price
    );
    assert_eq!(stdout, expected_one.repeat(3));
}

// ---------------------------------------------------------------------------------------------
// Concurrency

const WRITERS: usize = 8;
const BATCHES_PER_WRITER: usize = 20;
const BATCH_ROWS: usize = 500;

/// Checks one snapshot: whole batches only, each one writer's batch of consecutive ids.
fn check_snapshot(batches: &[RecordBatch]) -> usize {
    let mut rows = 0;
    for batch in batches {
        assert_eq!(
            batch.num_rows() % BATCH_ROWS,
            0,
            "torn batch of {} rows",
            batch.num_rows()
        );
        let ids = batch
            .column_by_name("order_id")
            .unwrap()
            .as_primitive::<UInt64Type>();
        let first = ids.value(0);
        assert_eq!(first % BATCH_ROWS as u64, 0, "batch starts at id {first}");
        assert!(
            ids.values()
                .iter()
                .enumerate()
                .all(|(i, id)| *id == first + i as u64),
            "ids of a batch are not consecutive"
        );
        rows += batch.num_rows();
    }
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_and_snapshot_readers() {
    let store = ArrowStore::<Order>::new();
    let total = WRITERS * BATCHES_PER_WRITER * BATCH_ROWS;
    let rows = Arc::new(orders(total));
    let done = Arc::new(AtomicBool::new(false));

    let mut readers = Vec::new();
    for reader in 0..2 {
        let store = store.clone();
        let done = Arc::clone(&done);
        readers.push(tokio::spawn(async move {
            let mut last = 0;
            let mut rounds = 0u64;
            loop {
                let finished = done.load(Ordering::Acquire);
                let seen = if reader == 0 {
                    check_snapshot(&store.snapshot())
                } else {
                    let mut stream = store.scan().await.unwrap();
                    let mut batches = Vec::new();
                    while let Some(batch) = stream.next().await {
                        batches.push(batch.unwrap());
                    }
                    check_snapshot(&batches)
                };
                assert!(seen >= last, "rows went backwards: {last} -> {seen}");
                let stats = store.stats();
                assert_eq!(stats.rows % BATCH_ROWS as u64, 0);
                assert!(stats.rows >= seen as u64);
                last = seen;
                rounds += 1;
                if finished {
                    return (last, rounds);
                }
                tokio::task::yield_now().await;
            }
        }));
    }

    let mut writers = Vec::new();
    for writer in 0..WRITERS {
        let store = store.clone();
        let rows = Arc::clone(&rows);
        writers.push(tokio::spawn(async move {
            for b in 0..BATCHES_PER_WRITER {
                let start = (writer * BATCHES_PER_WRITER + b) * BATCH_ROWS;
                let batch = soa(&rows[start..start + BATCH_ROWS]);
                if writer % 2 == 0 {
                    store.append(&batch).await.unwrap();
                } else {
                    store.append_owned(batch).await.unwrap();
                }
                tokio::task::yield_now().await;
            }
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }
    done.store(true, Ordering::Release);
    for reader in readers {
        let (last, rounds) = reader.await.unwrap();
        assert_eq!(last, total, "the final snapshot sees every row");
        assert!(rounds >= 1);
    }

    assert_eq!(store.count().await.unwrap(), total as u64);
    let stats = store.stats();
    assert_eq!(stats.batches, (WRITERS * BATCHES_PER_WRITER) as u64);
    let mut ids = store.load().await.unwrap().order_id;
    ids.sort_unstable();
    assert_eq!(ids, (0..total as u64).collect::<Vec<_>>());
    assert_eq!(
        stats.columns[0].bytes,
        8 * total as u64,
        "order_id bytes after concurrent appends"
    );
}

/// A `save_ipc` killed mid-write leaves `.<name>.<pid>.<n>.tmp`; the next successful save to the
/// same path removes those of dead processes and leaves a live process's alone.
#[tokio::test(flavor = "multi_thread")]
async fn save_ipc_sweeps_temporary_files_of_dead_processes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orders.arrow");
    // pid_max is at most 2^22 on Linux: this pid cannot be alive.
    let dead = dir.path().join(".orders.arrow.4999999.0.tmp");
    let live = dir
        .path()
        .join(format!(".orders.arrow.{}.77.tmp", std::process::id()));
    let other = dir.path().join(".other.arrow.4999999.0.tmp");
    for p in [&dead, &live, &other] {
        fs::write(p, b"partial").unwrap();
    }
    let store = ArrowStore::<Order>::new();
    store
        .append_owned(orders(10).into_iter().collect())
        .await
        .unwrap();
    store.save_ipc(&path, IpcCompression::None).await.unwrap();
    assert!(!dead.exists(), "a dead process's temporary file is removed");
    assert!(live.exists(), "a live process's temporary file is kept");
    assert!(other.exists(), "temporary files of other targets are kept");
    let back = ArrowStore::<Order>::new();
    back.load_ipc(&path).await.unwrap();
    assert_eq!(back.count().await.unwrap(), 10);
}

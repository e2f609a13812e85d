//! `ParquetStore`: persistence, commit protocol, integrity checks, options and interop.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use arrow_array::RecordBatch;
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, UInt32Type};
use arrow_schema::DataType;
use futures::StreamExt;
use soa_runtime::StoreExt;
use soa_runtime::parquet::basic::{Compression, Encoding};
use soa_runtime::parquet::file::metadata::ParquetMetaData;
use soa_runtime::parquet::file::reader::{FileReader, SerializedFileReader};
use soa_runtime::store::parquet::{Codec, FaultPoint, ParquetStore, Statistics};
use soa_runtime::{Error, Store, ToArrow};
use soa_tests::{Order, OrderSoA, Side, orders};
use tempfile::TempDir;

/// A second row type: loading an `Order` store as `Trade` (or back) is a schema mismatch.
mod other {
    use soa_runtime::{Soa, ToArrow};

    #[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
    pub struct Trade {
        pub id: u64,
        pub price: f64,
    }
}

/// Types named `Order` too (same `soa.rust_type`) but with other columns.
mod lookalike {
    pub mod missing {
        use soa_runtime::{Soa, ToArrow};

        /// Lacks most of the real `Order`'s columns.
        #[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
        pub struct Order {
            pub order_id: u64,
            pub symbol: String,
        }
    }
    pub mod retyped {
        use soa_runtime::{Soa, ToArrow};

        /// `quantity` is a string here.
        #[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
        pub struct Order {
            pub order_id: u64,
            pub customer_id: u32,
            pub symbol: String,
            pub side: soa_tests::Side,
            pub quantity: String,
            pub unit_price: f64,
            pub filled: bool,
            pub note: Option<String>,
            pub ts_micros: i64,
        }
    }
}

fn soa(rows: &[Order]) -> OrderSoA {
    rows.iter().cloned().collect()
}

/// Rows `from..to` of the deterministic generator.
fn rows(from: usize, to: usize) -> Vec<Order> {
    orders(to).split_off(from)
}

fn tmp() -> TempDir {
    tempfile::tempdir().expect("tempdir")
}

/// Names in the directory, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn parquet_files(dir: &Path) -> Vec<String> {
    listing(dir)
        .into_iter()
        .filter(|n| n.ends_with(".parquet"))
        .collect()
}

fn footer(path: &Path) -> ParquetMetaData {
    let reader = SerializedFileReader::new(fs::File::open(path).expect("open")).expect("footer");
    reader.metadata().clone()
}

fn key_value(meta: &ParquetMetaData, key: &str) -> Option<String> {
    meta.file_metadata()
        .key_value_metadata()?
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.clone())
}

async fn scan_all(store: &ParquetStore<Order>) -> (Vec<Order>, Vec<usize>) {
    let mut stream = store.scan().await.expect("scan");
    let mut all = Vec::new();
    let mut sizes = Vec::new();
    while let Some(batch) = stream.next().await {
        let batch = batch.expect("batch");
        sizes.push(batch.num_rows());
        all.extend(
            OrderSoA::from_record_batch(&batch)
                .expect("convert")
                .into_rows(),
        );
    }
    (all, sizes)
}

/// Rows with extreme values, empty and non-ASCII strings, and nulls.
fn edge_rows() -> Vec<Order> {
    vec![
        Order {
            order_id: u64::MAX,
            customer_id: u32::MAX,
            symbol: String::new(),
            side: Side::Sell,
            quantity: 0,
            unit_price: f64::MAX,
            filled: true,
            note: None,
            ts_micros: i64::MIN,
        },
        Order {
            order_id: 0,
            customer_id: 0,
            symbol: "日本株 🚀 Société \u{0}".into(),
            side: Side::Buy,
            quantity: u32::MAX,
            unit_price: f64::NEG_INFINITY,
            filled: false,
            note: Some(String::new()),
            ts_micros: i64::MAX,
        },
        Order {
            order_id: 7,
            customer_id: 1,
            symbol: "x".repeat(10_000),
            side: Side::Buy,
            quantity: 1,
            unit_price: -0.0,
            filled: false,
            note: Some("ünïcödé ✓ \"quoted\"\n".into()),
            ts_micros: 0,
        },
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn save_load_append_count_clear() {
    let dir = tmp();
    let store = ParquetStore::<Order>::open(dir.path()).await.expect("open");
    assert_eq!(store.count().await.unwrap(), 0);
    assert!(store.load().await.unwrap().is_empty());

    let first = rows(0, 1000);
    store.save(&soa(&first)).await.unwrap();
    assert_eq!(store.count().await.unwrap(), 1000);
    assert_eq!(store.load().await.unwrap().into_rows(), first);
    assert_eq!(parquet_files(dir.path()), ["data.parquet"]);

    store.append(&soa(&rows(1000, 1500))).await.unwrap();
    store.append(&soa(&rows(1500, 1501))).await.unwrap();
    store.append(&OrderSoA::new()).await.unwrap(); // no-op: no empty file
    assert_eq!(store.count().await.unwrap(), 1501);
    assert_eq!(store.load().await.unwrap().into_rows(), rows(0, 1501));
    assert_eq!(
        parquet_files(dir.path()),
        ["data.parquet", "part-000001.parquet", "part-000002.parquet"]
    );
    let files = store.files().await;
    assert_eq!(
        files.iter().map(|f| f.rows).collect::<Vec<_>>(),
        [1000, 500, 1]
    );

    let stats = store.stats();
    assert_eq!(stats.rows, 1501);
    assert_eq!(stats.batches, 3);
    let on_disk: u64 = ["data.parquet", "part-000001.parquet", "part-000002.parquet"]
        .iter()
        .map(|n| fs::metadata(dir.path().join(n)).unwrap().len())
        .sum();
    assert_eq!(stats.bytes, on_disk);
    assert_eq!(stats.columns.len(), 9);
    assert!(stats.columns.iter().all(|c| c.bytes > 0));

    // save replaces everything with one data.parquet
    store.save(&soa(&rows(0, 10))).await.unwrap();
    assert_eq!(store.load().await.unwrap().into_rows(), rows(0, 10));
    assert_eq!(parquet_files(dir.path()), ["data.parquet"]);

    store.clear().await.unwrap();
    assert_eq!(store.count().await.unwrap(), 0);
    assert!(store.load().await.unwrap().is_empty());
    // an empty store is still a dataset: one data.parquet with zero rows and the schema
    assert_eq!(
        listing(dir.path()),
        ["_soa_lock", "_soa_manifest", "_soa_writer", "data.parquet"]
    );
    assert_eq!(store.stats().bytes, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn round_trips_0_1_and_100k_rows_with_unicode_and_nulls() {
    for n in [0usize, 1, 100_000] {
        let dir = tmp();
        let store = ParquetStore::<Order>::open(dir.path()).await.unwrap();
        let data = orders(n);
        store.save(&soa(&data)).await.unwrap();
        let back = store.load().await.unwrap().into_rows();
        assert_eq!(back.len(), n);
        assert_eq!(back, data, "{n} rows");
        if n == 100_000 {
            // the generator covers unicode symbols, emoji notes, empty notes and nulls
            assert!(back.iter().any(|o| o.symbol == "日本株"));
            assert!(back.iter().any(|o| o.note.as_deref() == Some("rush 🚀")));
            assert!(back.iter().any(|o| o.note.is_none()));
            assert!(back.iter().any(|o| o.note.as_deref() == Some("")));
        }
    }
    let dir = tmp();
    let store = ParquetStore::<Order>::open(dir.path()).await.unwrap();
    let edge = edge_rows();
    store.save(&soa(&edge)).await.unwrap();
    let back = store.load().await.unwrap().into_rows();
    assert_eq!(back, edge);
    assert!(back[2].unit_price.is_sign_negative(), "-0.0 keeps its sign");

    // save_owned / append_owned take the container by value
    store.save_owned(soa(&rows(0, 50))).await.unwrap();
    store.append_owned(soa(&rows(50, 80))).await.unwrap();
    assert_eq!(store.load().await.unwrap().into_rows(), rows(0, 80));
}

#[tokio::test(flavor = "multi_thread")]
async fn every_codec_round_trips() {
    let data = orders(20_000);
    let codecs = [
        (Codec::Uncompressed, Compression::UNCOMPRESSED),
        (Codec::Snappy, Compression::SNAPPY),
        (Codec::Lz4Raw, Compression::LZ4_RAW),
        (Codec::Gzip(1), Compression::GZIP(Default::default())),
        (Codec::Gzip(9), Compression::GZIP(Default::default())),
        (Codec::Brotli(1), Compression::BROTLI(Default::default())),
        (Codec::Brotli(9), Compression::BROTLI(Default::default())),
        (Codec::Zstd(-5), Compression::ZSTD(Default::default())),
        (Codec::Zstd(1), Compression::ZSTD(Default::default())),
        (Codec::Zstd(19), Compression::ZSTD(Default::default())),
    ];
    let mut sizes = BTreeMap::new();
    for (codec, expected) in codecs {
        let dir = tmp();
        let store = ParquetStore::<Order>::builder(dir.path())
            .compression(codec)
            .open()
            .await
            .unwrap();
        store.save(&soa(&data)).await.unwrap();
        let reopened = ParquetStore::<Order>::open(dir.path()).await.unwrap();
        assert_eq!(reopened.load().await.unwrap().into_rows(), data, "{codec}");
        let meta = footer(&dir.path().join("data.parquet"));
        for column in meta.row_group(0).columns() {
            // levels are not stored in the file: compare the codec kind
            assert_eq!(
                std::mem::discriminant(&column.compression()),
                std::mem::discriminant(&expected),
                "{codec}: column {}",
                column.column_path()
            );
        }
        sizes.insert(codec.to_string(), store.stats().bytes);
    }
    assert!(sizes["zstd(1)"] < sizes["uncompressed"], "{sizes:?}");
    assert!(sizes["gzip(9)"] <= sizes["gzip(1)"], "{sizes:?}");

    // levels out of range are typed errors
    for bad in [Codec::Zstd(23), Codec::Gzip(10), Codec::Brotli(12)] {
        let err = ParquetStore::<Order>::builder(tmp().path())
            .compression(bad)
            .open_or_create()
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidOption {
                    option: "compression",
                    ..
                }
            ),
            "{bad}: {err}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn builder_options_are_independent() {
    // Every option set, in one order...
    let dir = tmp();
    let store = ParquetStore::<Order>::builder(dir.path())
        .compression(Codec::Snappy)
        .row_group_size(1000)
        .dictionary(false)
        .statistics(Statistics::Chunk)
        .page_index(false)
        .column_compression("note", Codec::Gzip(6))
        .verify_checksums(false)
        .scan_batch_size(333)
        .threads(1)
        .parquet_v2(false)
        .open()
        .await
        .unwrap();
    // ...and in the reverse order: the same options (no setter resets another).
    let reversed = ParquetStore::<Order>::builder(dir.path())
        .parquet_v2(false)
        .threads(1)
        .scan_batch_size(333)
        .verify_checksums(false)
        .column_compression("note", Codec::Gzip(6))
        .page_index(false)
        .statistics(Statistics::Chunk)
        .dictionary(false)
        .row_group_size(1000)
        .compression(Codec::Snappy);
    assert_eq!(reversed.options(), store.options());
    let o = store.options();
    assert_eq!(o.compression, Codec::Snappy);
    assert_eq!(o.row_group_size, 1000);
    assert!(!o.dictionary);
    assert_eq!(o.statistics, Statistics::Chunk);
    assert!(!o.page_index);
    assert_eq!(o.column_compression, [("note".to_owned(), Codec::Gzip(6))]);
    assert!(!o.verify_checksums);
    assert_eq!(o.scan_batch_size, 333);
    assert_eq!(o.threads, 1);
    assert!(!o.parquet_v2);

    // Setting one option keeps the defaults of all others.
    let defaults = ParquetStore::<Order>::builder(dir.path()).options().clone();
    assert_eq!(defaults.compression, Codec::Zstd(1));
    assert!(defaults.dictionary && defaults.page_index && defaults.verify_checksums);
    assert!(defaults.parquet_v2);
    assert_eq!(defaults.statistics, Statistics::Page);
    assert_eq!(defaults.row_group_size, 1 << 20);
    let one = ParquetStore::<Order>::builder(dir.path()).dictionary(false);
    let mut expected = defaults.clone();
    expected.dictionary = false;
    assert_eq!(one.options(), &expected);
    let one = ParquetStore::<Order>::builder(dir.path()).row_group_size(5);
    let mut expected = defaults.clone();
    expected.row_group_size = 5;
    assert_eq!(one.options(), &expected);

    // The file reflects every option.
    let data = orders(2500);
    store.save(&soa(&data)).await.unwrap();
    let meta = footer(&dir.path().join("data.parquet"));
    assert_eq!(meta.num_row_groups(), 3, "row groups of 1000 rows");
    assert_eq!(meta.row_group(0).num_rows(), 1000);
    assert_eq!(meta.row_group(2).num_rows(), 500);
    for column in meta.row_group(0).columns() {
        let name = column.column_path().string();
        let expected = if name == "note" {
            Compression::GZIP(Default::default())
        } else {
            Compression::SNAPPY
        };
        assert_eq!(
            std::mem::discriminant(&column.compression()),
            std::mem::discriminant(&expected),
            "{name}"
        );
        assert!(
            column.dictionary_page_offset().is_none(),
            "{name}: no dictionary"
        );
        assert!(column.statistics().is_some(), "{name}: chunk statistics");
        assert!(
            column.column_index_offset().is_none(),
            "{name}: no column index"
        );
        assert!(
            column.offset_index_offset().is_none(),
            "{name}: no offset index"
        );
    }
    let order_id = &meta.row_group(0).columns()[0];
    let encodings: Vec<Encoding> = order_id.encodings().collect();
    assert!(
        encodings.contains(&Encoding::PLAIN),
        "Parquet 1 without dictionary: {encodings:?}"
    );
    let (scanned, sizes) = scan_all(&store).await;
    assert_eq!(scanned, data);
    assert!(sizes.iter().all(|&s| s <= 333), "{sizes:?}");

    // Parquet 2 (the default) encodes integers without a dictionary with DELTA_BINARY_PACKED.
    let dir = tmp();
    let store = ParquetStore::<Order>::builder(dir.path())
        .dictionary(false)
        .open()
        .await
        .unwrap();
    store.save(&soa(&data)).await.unwrap();
    let meta = footer(&dir.path().join("data.parquet"));
    let encodings: Vec<Encoding> = meta.row_group(0).columns()[0].encodings().collect();
    assert!(
        encodings.contains(&Encoding::DELTA_BINARY_PACKED),
        "{encodings:?}"
    );
    assert_eq!(store.load().await.unwrap().into_rows(), data);

    // Defaults: ZSTD, dictionary, page statistics with page index, type metadata.
    let dir = tmp();
    let store = ParquetStore::<Order>::open(dir.path()).await.unwrap();
    store.save(&soa(&data)).await.unwrap();
    let meta = footer(&dir.path().join("data.parquet"));
    assert_eq!(meta.num_row_groups(), 1);
    let symbol = meta
        .row_group(0)
        .columns()
        .iter()
        .find(|c| c.column_path().string() == "symbol")
        .unwrap();
    assert!(matches!(symbol.compression(), Compression::ZSTD(_)));
    assert!(symbol.dictionary_page_offset().is_some());
    assert!(symbol.statistics().is_some());
    assert!(symbol.column_index_offset().is_some());
    assert!(symbol.offset_index_offset().is_some());
    assert_eq!(key_value(&meta, "soa.rust_type").as_deref(), Some("Order"));
    assert_eq!(
        key_value(&meta, "soa.version").as_deref(),
        Some(env!("CARGO_PKG_VERSION"))
    );
    assert!(key_value(&meta, "ARROW:schema").is_some());

    // Dictionary on: columns whose sampled values are all distinct (ids, timestamps) go without.
    let dir = tmp();
    let store = ParquetStore::<Order>::open(dir.path()).await.unwrap();
    let big = orders(100_000);
    store.save(&soa(&big)).await.unwrap();
    let meta = footer(&dir.path().join("data.parquet"));
    let with_dictionary: Vec<String> = meta
        .row_group(0)
        .columns()
        .iter()
        .filter(|c| c.dictionary_page_offset().is_some())
        .map(|c| c.column_path().string())
        .collect();
    assert_eq!(
        with_dictionary,
        [
            "customer_id",
            "symbol",
            "side",
            "quantity",
            "unit_price",
            "note"
        ]
    );
    assert_eq!(store.load().await.unwrap().into_rows(), big);

    // No statistics at all.
    let dir = tmp();
    let store = ParquetStore::<Order>::builder(dir.path())
        .statistics(Statistics::None)
        .open()
        .await
        .unwrap();
    store.save(&soa(&data)).await.unwrap();
    let meta = footer(&dir.path().join("data.parquet"));
    assert!(
        meta.row_group(0)
            .columns()
            .iter()
            .all(|c| c.statistics().is_none())
    );

    // Invalid values are typed errors.
    let err = ParquetStore::<Order>::builder(tmp().path())
        .column_compression("nope", Codec::Snappy)
        .open_or_create()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::UnknownColumn { column, .. } if column == "nope"),
        "{err}"
    );
    let err = ParquetStore::<Order>::builder(tmp().path())
        .row_group_size(0)
        .open_or_create()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidOption {
                option: "row_group_size",
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn reopen_sees_the_same_data() {
    let dir = tmp();
    let data = rows(0, 3000);
    {
        let store = ParquetStore::<Order>::open(dir.path()).await.unwrap();
        store.save(&soa(&data[..2000])).await.unwrap();
        store.append(&soa(&data[2000..])).await.unwrap();
    }
    let store = ParquetStore::<Order>::open(dir.path()).await.unwrap();
    assert_eq!(store.count().await.unwrap(), 3000);
    assert_eq!(store.load().await.unwrap().into_rows(), data);
    assert_eq!(store.stats().rows, 3000);
    assert_eq!(store.stats().batches, 2);
    // the part numbering continues after a reopen
    store.append(&soa(&rows(3000, 3010))).await.unwrap();
    assert_eq!(
        parquet_files(dir.path()),
        ["data.parquet", "part-000001.parquet", "part-000002.parquet"]
    );
    assert_eq!(store.load().await.unwrap().into_rows(), rows(0, 3010));

    // create refuses an existing store; open_or_create creates a missing directory
    let err = ParquetStore::<Order>::create(dir.path()).await.unwrap_err();
    assert!(
        matches!(&err, Error::Io { source, .. } if source.kind() == io::ErrorKind::AlreadyExists),
        "{err}"
    );
    let nested = dir.path().join("a/b/c");
    let created = ParquetStore::<Order>::open_or_create(&nested)
        .await
        .unwrap();
    assert_eq!(created.count().await.unwrap(), 0);
    assert!(nested.is_dir());
    let fresh = dir.path().join("fresh");
    ParquetStore::<Order>::create(&fresh).await.unwrap();
    assert!(fresh.is_dir());
}

#[derive(Debug, PartialEq)]
struct FileId {
    inode: u64,
    mtime_ns: i128,
    size: u64,
    crc: u32,
}

fn file_id(path: &Path) -> FileId {
    let meta = fs::metadata(path).unwrap();
    FileId {
        inode: meta.ino(),
        mtime_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
        size: meta.len(),
        crc: crc32(&fs::read(path).unwrap()),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn append_never_rewrites_existing_files() {
    let dir = tmp();
    let store = ParquetStore::<Order>::open(dir.path()).await.unwrap();
    store.save(&soa(&rows(0, 5000))).await.unwrap();
    store.append(&soa(&rows(5000, 6000))).await.unwrap();
    let before: Vec<(String, FileId)> = parquet_files(dir.path())
        .into_iter()
        .map(|n| {
            let id = file_id(&dir.path().join(&n));
            (n, id)
        })
        .collect();
    std::thread::sleep(Duration::from_millis(20)); // a rewrite would change mtime
    for i in 0..3 {
        let from = 6000 + i * 100;
        store.append(&soa(&rows(from, from + 100))).await.unwrap();
    }
    for (name, id) in &before {
        assert_eq!(&file_id(&dir.path().join(name)), id, "{name} was rewritten");
    }
    assert_eq!(
        parquet_files(dir.path()),
        [
            "data.parquet",
            "part-000001.parquet",
            "part-000002.parquet",
            "part-000003.parquet",
            "part-000004.parquet"
        ]
    );
    assert_eq!(store.load().await.unwrap().into_rows(), rows(0, 6300));
}

#[tokio::test(flavor = "multi_thread")]
async fn compact_leaves_one_data_file_with_all_rows_in_order() {
    let dir = tmp();
    let store = ParquetStore::<Order>::builder(dir.path())
        .row_group_size(700)
        .scan_batch_size(256)
        .open()
        .await
        .unwrap();
    store.compact().await.unwrap(); // empty: nothing to do
    assert_eq!(parquet_files(dir.path()), Vec::<String>::new());
    store.append(&soa(&rows(0, 1000))).await.unwrap();
    store.append(&soa(&rows(1000, 1001))).await.unwrap();
    store.append(&soa(&rows(1001, 2500))).await.unwrap();
    assert_eq!(parquet_files(dir.path()).len(), 3);
    store.compact().await.unwrap();
    assert_eq!(parquet_files(dir.path()), ["data.parquet"]);
    assert!(!listing(dir.path()).iter().any(|n| n.starts_with('.')));
    assert_eq!(store.files().await.len(), 1);
    assert_eq!(store.load().await.unwrap().into_rows(), rows(0, 2500));
    let meta = footer(&dir.path().join("data.parquet"));
    assert_eq!(meta.file_metadata().num_rows(), 2500);
    assert_eq!(meta.num_row_groups(), 4, "row groups of 700 rows");
    let id = file_id(&dir.path().join("data.parquet"));
    store.compact().await.unwrap(); // already compact: untouched
    assert_eq!(file_id(&dir.path().join("data.parquet")), id);

    // save + append + compact keeps the order
    store.save(&soa(&rows(0, 10))).await.unwrap();
    store.append(&soa(&rows(10, 20))).await.unwrap();
    store.compact().await.unwrap();
    assert_eq!(store.load().await.unwrap().into_rows(), rows(0, 20));
    let reopened = ParquetStore::<Order>::open(dir.path()).await.unwrap();
    assert_eq!(reopened.load().await.unwrap().into_rows(), rows(0, 20));
}

#[tokio::test(flavor = "multi_thread")]
async fn count_reads_only_the_footers() {
    let dir = tmp();
    let store = ParquetStore::<Order>::open(dir.path()).await.unwrap();
    store
        .save_owned(OrderSoA::from(orders(1_000_000)))
        .await
        .unwrap();
    store.append(&soa(&rows(0, 10))).await.unwrap();
    assert_eq!(store.count().await.unwrap(), 1_000_010);
    let before = store.bytes_read();
    let count = store.count_from_footers().await.unwrap();
    assert_eq!(count.rows, 1_000_010);
    assert_eq!(count.files, 2);
    assert_eq!(count.file_bytes, store.stats().bytes);
    assert_eq!(store.bytes_read() - before, count.bytes_read);
    let fraction = count.bytes_read as f64 / count.file_bytes as f64;
    println!(
        "count_from_footers read {} of {} bytes ({:.4} %)",
        count.bytes_read,
        count.file_bytes,
        fraction * 100.0
    );
    assert!(count.bytes_read > 0);
    assert!(fraction < 0.01, "read {fraction} of the bytes");
}

#[tokio::test(flavor = "multi_thread")]
async fn scan_streams_bounded_batches_in_order() {
    let dir = tmp();
    let store = ParquetStore::<Order>::builder(dir.path())
        .scan_batch_size(1000)
        .open()
        .await
        .unwrap();
    store.save(&soa(&rows(0, 4500))).await.unwrap();
    store.append(&soa(&rows(4500, 5000))).await.unwrap();
    let (scanned, sizes) = scan_all(&store).await;
    assert_eq!(scanned, rows(0, 5000));
    assert_eq!(sizes, [1000, 1000, 1000, 1000, 500, 500]);

    // dropping a stream early stops the producer (no hang, no error)
    let mut stream = store.scan().await.unwrap();
    let first = stream.next().await.unwrap().unwrap();
    assert_eq!(first.num_rows(), 1000);
    drop(stream);

    // a scan is a snapshot: a commit during the scan does not change what it yields
    let mut stream = store.scan().await.unwrap();
    store.save(&soa(&rows(0, 3))).await.unwrap();
    let mut n = 0;
    while let Some(batch) = stream.next().await {
        n += batch.unwrap().num_rows();
    }
    assert_eq!(n, 5000);
    assert_eq!(store.count().await.unwrap(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn projection_reads_only_the_named_columns() {
    let data = orders(50_000);
    for verify in [true, false] {
        let dir = tmp();
        let store = ParquetStore::<Order>::builder(dir.path())
            .verify_checksums(verify)
            .open()
            .await
            .unwrap();
        store.save(&soa(&data[..40_000])).await.unwrap();
        store.append(&soa(&data[40_000..])).await.unwrap();

        let before = store.bytes_read();
        let batch: RecordBatch = store.load_columns(&["unit_price", "symbol"]).await.unwrap();
        let projected_bytes = store.bytes_read() - before;
        assert_eq!(batch.num_columns(), 2);
        assert_eq!(batch.schema().field(0).name(), "unit_price");
        assert_eq!(batch.schema().field(1).name(), "symbol");
        assert_eq!(batch.num_rows(), 50_000);
        let prices = batch.column(0).as_primitive::<Float64Type>();
        let symbols = batch.column(1).as_string::<i32>();
        for (i, order) in data.iter().enumerate() {
            assert_eq!(prices.value(i), order.unit_price);
            assert_eq!(symbols.value(i), order.symbol);
        }
        let file_bytes = store.stats().bytes;
        // the two column chunks, plus magic, footers and read-ahead; verified reads round each
        // range out to the 16 KiB blocks whose checksums the footer lists (and check the tail)
        let selected: u64 = store
            .stats()
            .columns
            .iter()
            .filter(|c| c.name == "unit_price" || c.name == "symbol")
            .map(|c| c.bytes)
            .sum();
        let slack = if verify { 12 } else { 2 } * 64 * 1024;
        eprintln!("verify {verify}: read {projected_bytes} of {file_bytes} ({selected} selected)");
        assert!(
            projected_bytes < file_bytes && projected_bytes <= selected + slack,
            "read {projected_bytes} of {file_bytes} bytes for 2 of 9 columns ({selected})"
        );

        let one = store.load_columns(&["quantity"]).await.unwrap();
        assert_eq!(one.column(0).data_type(), &DataType::UInt32);
        let q = one.column(0).as_primitive::<UInt32Type>();
        assert_eq!(q.value(12_345), data[12_345].quantity);

        let err = store
            .load_columns(&["unit_price", "colour"])
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::UnknownColumn { type_name: "Order", column, available }
                if column == "colour" && available.len() == 9),
            "{err}"
        );
    }
    // an empty store gives an empty batch with the projected schema
    let dir = tmp();
    let store = ParquetStore::<Order>::open(dir.path()).await.unwrap();
    let empty = store.load_columns(&["note"]).await.unwrap();
    assert_eq!(empty.num_rows(), 0);
    assert_eq!(empty.schema().field(0).name(), "note");
}

/// Column `name` of `rows` as the store gives it back.
fn store_free_batch(rows: &[Order], name: &str) -> RecordBatch {
    let batch = soa(rows).to_record_batch().unwrap();
    let index = batch.schema().index_of(name).unwrap();
    batch.project(&[index]).unwrap()
}

/// Asserts a `Corrupt` error naming `file`.
fn assert_corrupt(result: Result<impl std::fmt::Debug, Error>, file: &Path, context: &str) {
    match result {
        Err(Error::Corrupt { path, reason }) => {
            assert_eq!(path, file, "{context}: {reason}");
            println!("{context}: {}", Error::Corrupt { path, reason });
        }
        other => panic!(
            "{context}: expected Corrupt naming {}, got {other:?}",
            file.display()
        ),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn corrupt_and_truncated_files_are_typed_errors_naming_the_file() {
    let dir = tmp();
    let store = ParquetStore::<Order>::open(dir.path()).await.unwrap();
    store.save(&soa(&rows(0, 20_000))).await.unwrap();
    store.append(&soa(&rows(20_000, 21_000))).await.unwrap();
    let data = dir.path().join("data.parquet");
    let part = dir.path().join("part-000001.parquet");
    let original = fs::read(&data).unwrap();

    // bytes flipped in the middle: the checksum catches it
    let mut damaged = original.clone();
    let mid = damaged.len() / 2;
    for b in &mut damaged[mid..mid + 16] {
        *b ^= 0x5a;
    }
    fs::write(&data, &damaged).unwrap();
    assert_corrupt(store.load().await, &data, "flipped bytes, load");
    let mut stream = store.scan().await.unwrap();
    assert_corrupt(stream.next().await.unwrap(), &data, "flipped bytes, scan");
    // a projection checks the blocks it reads (16 KiB each, CRC32s in the checked footer):
    // every column reads the damaged block; one column is damaged or its values are exact
    let schema = OrderSoA::schema();
    let all: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_corrupt(
        store.load_columns(&all).await,
        &data,
        "flipped bytes, projection of every column",
    );
    let mut damaged_columns = 0;
    for name in &all {
        match store.load_columns(&[*name]).await {
            Ok(batch) => {
                let expected: RecordBatch = store_free_batch(&rows(0, 21_000), name);
                assert_eq!(batch.column(0), expected.column(0), "{name}");
            }
            Err(e) => {
                assert_corrupt(Err::<(), _>(e), &data, "flipped bytes, projection");
                damaged_columns += 1;
            }
        }
    }
    assert!(damaged_columns >= 1);
    assert_corrupt(store.compact().await, &data, "flipped bytes, compact");
    // a new instance sees the same
    let reopened = ParquetStore::<Order>::open(dir.path()).await.unwrap();
    assert_corrupt(reopened.load().await, &data, "flipped bytes, reopened");

    // without checksums: never a panic; an error or (Parquet has no page CRCs) other values
    let unchecked = ParquetStore::<Order>::builder(dir.path())
        .verify_checksums(false)
        .open()
        .await
        .unwrap();
    for offset in (4..original.len() - 8).step_by(original.len() / 97) {
        let mut damaged = original.clone();
        damaged[offset] ^= 0xff;
        fs::write(&data, &damaged).unwrap();
        match unchecked.load().await {
            Ok(_) | Err(Error::Corrupt { .. } | Error::Parquet { .. } | Error::Arrow { .. }) => {}
            Err(Error::InFile { path, .. }) => assert_eq!(path, data),
            Err(other) => panic!("flip at {offset}: unexpected {other:?}"),
        }
    }
    // the magic guard: same size, trailing PAR1 gone
    let mut no_magic = original.clone();
    let n = no_magic.len();
    no_magic[n - 4..].copy_from_slice(b"XXXX");
    fs::write(&data, &no_magic).unwrap();
    match unchecked.load().await {
        Err(Error::Corrupt { path, reason }) => {
            assert_eq!(path, data);
            assert!(reason.contains("PAR1"), "{reason}");
        }
        other => panic!("expected the magic guard, got {other:?}"),
    }

    // truncated file: the size check (with and without checksums)
    fs::write(&data, &original[..original.len() - 100]).unwrap();
    assert_corrupt(store.load().await, &data, "truncated, load");
    assert_corrupt(unchecked.load().await, &data, "truncated, unchecked load");
    assert_corrupt(
        store.count_from_footers().await,
        &data,
        "truncated, footer count",
    );
    // truncated to nothing
    fs::write(&data, b"").unwrap();
    assert_corrupt(store.load().await, &data, "empty file");

    // the part file is intact: restoring data.parquet restores the store
    fs::write(&data, &original).unwrap();
    assert_eq!(store.load().await.unwrap().into_rows(), rows(0, 21_000));

    // a missing committed file
    let part_bytes = fs::read(&part).unwrap();
    fs::remove_file(&part).unwrap();
    assert_corrupt(store.load().await, &part, "missing part");
    fs::write(&part, &part_bytes).unwrap();

    // a damaged manifest
    let manifest = dir.path().join("_soa_manifest");
    let text = fs::read_to_string(&manifest).unwrap();
    fs::write(
        &manifest,
        text.replace("21000", "21001").replace(" 1000 ", " 1001 "),
    )
    .unwrap();
    assert_corrupt(
        ParquetStore::<Order>::open(dir.path()).await,
        &manifest,
        "edited manifest",
    );
    fs::write(&manifest, &text[..text.len() / 2]).unwrap();
    assert_corrupt(
        ParquetStore::<Order>::open(dir.path()).await,
        &manifest,
        "truncated manifest",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_directory_is_a_typed_error() {
    let dir = tmp();
    let missing = dir.path().join("does/not/exist");
    let err = ParquetStore::<Order>::open(&missing).await.unwrap_err();
    assert!(
        matches!(&err, Error::MissingDirectory { path } if *path == missing),
        "{err}"
    );
    assert!(!missing.exists(), "open must not create the directory");
    // a file where the directory should be
    let file = dir.path().join("file");
    fs::write(&file, b"x").unwrap();
    let err = ParquetStore::<Order>::open(&file).await.unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
    // data files without a manifest are not adopted (nor deleted)
    let foreign = dir.path().join("foreign");
    fs::create_dir(&foreign).unwrap();
    fs::write(foreign.join("data.parquet"), b"PAR1").unwrap();
    let err = ParquetStore::<Order>::open(&foreign).await.unwrap_err();
    assert!(matches!(err, Error::Corrupt { .. }), "{err}");
    assert!(foreign.join("data.parquet").exists());
}

/// Whether this process can write into a directory with mode 0o555 (root can).
fn permissions_enforced(dir: &Path) -> bool {
    let probe = dir.join("probe");
    let enforced = fs::write(&probe, b"x").is_err();
    let _ = fs::remove_file(&probe);
    enforced
}

#[tokio::test(flavor = "multi_thread")]
async fn read_only_directory_is_a_typed_error_and_data_stays_loadable() {
    let dir = tmp();
    let store = ParquetStore::<Order>::open(dir.path()).await.unwrap();
    store.save(&soa(&rows(0, 1000))).await.unwrap();
    let before = listing(dir.path());

    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o555)).unwrap();
    let enforced = permissions_enforced(dir.path());
    // Running as root, the kernel ignores the mode: inject the error a read-only directory gives
    // at the first write of a commit instead.
    let writer = if enforced {
        store.clone()
    } else {
        println!("permissions are not enforced (root): injecting PermissionDenied");
        ParquetStore::<Order>::builder(dir.path())
            .inject_fault(FaultPoint::CreateStaged, io::ErrorKind::PermissionDenied)
            .open()
            .await
            .unwrap()
    };
    for attempt in [
        writer.append(&soa(&rows(1000, 1100))).await,
        writer.save(&soa(&rows(0, 5))).await,
        writer.compact().await,
    ] {
        match attempt {
            // compact of a single data.parquet is a no-op and may succeed
            Ok(()) => {}
            Err(Error::Io { source, .. }) => {
                assert_eq!(source.kind(), io::ErrorKind::PermissionDenied);
            }
            Err(other) => panic!("expected PermissionDenied, got {other:?}"),
        }
    }
    // reading still works, from this instance and from a new one
    assert_eq!(store.load().await.unwrap().into_rows(), rows(0, 1000));
    assert_eq!(writer.count().await.unwrap(), 1000);
    let reader = ParquetStore::<Order>::open(dir.path()).await.unwrap();
    assert_eq!(reader.load().await.unwrap().into_rows(), rows(0, 1000));
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(listing(dir.path()), before, "nothing left behind");
    // and writing works again once the directory is writable
    store.append(&soa(&rows(1000, 1100))).await.unwrap();
    assert_eq!(store.load().await.unwrap().into_rows(), rows(0, 1100));
}

#[tokio::test(flavor = "multi_thread")]
async fn another_row_type_is_a_schema_mismatch() {
    // the manifest names the type: opening as another type fails early
    let dir = tmp();
    let trades = ParquetStore::<other::Trade>::open(dir.path())
        .await
        .unwrap();
    let rows_t: other::TradeSoA = vec![other::Trade { id: 1, price: 2.5 }].into();
    trades.save(&rows_t).await.unwrap();
    let err = ParquetStore::<Order>::open(dir.path()).await.unwrap_err();
    match &err {
        Error::SchemaMismatch { path, reason } => {
            assert_eq!(
                path.as_deref(),
                Some(dir.path().join("_soa_manifest").as_path())
            );
            assert!(
                reason.contains("`Trade`") && reason.contains("`Order`"),
                "{reason}"
            );
        }
        other => panic!("expected SchemaMismatch, got {other:?}"),
    }

    // a data file written for another type, behind a manifest that claims `Order`: the file's
    // own `soa.rust_type` is checked before decoding
    let orders_dir = tmp();
    let store = ParquetStore::<Order>::open(orders_dir.path())
        .await
        .unwrap();
    store.save(&soa(&rows(0, 10))).await.unwrap();
    let foreign = fs::read(dir.path().join("data.parquet")).unwrap();
    fs::write(orders_dir.path().join("data.parquet"), &foreign).unwrap();
    rewrite_manifest_entry(orders_dir.path(), "data.parquet", &foreign, 1);
    let store = ParquetStore::<Order>::open(orders_dir.path())
        .await
        .unwrap();
    let data = orders_dir.path().join("data.parquet");
    for (what, result) in [
        ("load", store.load().await.map(|_| ())),
        (
            "projection",
            store.load_columns(&["order_id"]).await.map(|_| ()),
        ),
        ("footer count", store.count_from_footers().await.map(|_| ())),
    ] {
        match result {
            Err(Error::SchemaMismatch { path, reason }) => {
                assert_eq!(path.as_deref(), Some(data.as_path()), "{what}");
                assert!(
                    reason.contains("`Trade`") && reason.contains("`Order`"),
                    "{reason}"
                );
            }
            other => panic!("{what}: expected SchemaMismatch, got {other:?}"),
        }
    }

    // same type name, missing columns: the column-level error, with the file in context
    let dir = tmp();
    let small = ParquetStore::<lookalike::missing::Order>::open(dir.path())
        .await
        .unwrap();
    let rows_m: lookalike::missing::OrderSoA = vec![lookalike::missing::Order {
        order_id: 1,
        symbol: "A".into(),
    }]
    .into();
    small.save(&rows_m).await.unwrap();
    let store = ParquetStore::<Order>::open(dir.path()).await.unwrap();
    match store.load().await.unwrap_err() {
        Error::InFile { path, source } => {
            assert_eq!(path, dir.path().join("data.parquet"));
            assert!(
                matches!(
                    *source,
                    Error::MissingColumn {
                        struct_name: "Order",
                        ..
                    }
                ),
                "{source}"
            );
        }
        other => panic!("expected InFile(MissingColumn), got {other:?}"),
    }

    // same type name, a column of another type
    let dir = tmp();
    let retyped = ParquetStore::<lookalike::retyped::Order>::open(dir.path())
        .await
        .unwrap();
    let rows_r: lookalike::retyped::OrderSoA = vec![lookalike::retyped::Order {
        order_id: 1,
        customer_id: 2,
        symbol: "A".into(),
        side: Side::Buy,
        quantity: "many".into(),
        unit_price: 1.0,
        filled: true,
        note: None,
        ts_micros: 3,
    }]
    .into();
    retyped.save(&rows_r).await.unwrap();
    let store = ParquetStore::<Order>::open(dir.path()).await.unwrap();
    let err = store.load().await.unwrap_err();
    match &err {
        Error::InFile { path, source } => {
            assert_eq!(path, &dir.path().join("data.parquet"));
            assert!(
                matches!(
                    **source,
                    Error::Column {
                        struct_name: "Order",
                        field: "quantity",
                        ..
                    }
                ),
                "{source}"
            );
        }
        other => panic!("expected InFile(Column), got {other:?}"),
    }
    println!("{err}");
}

/// CRC32 (IEEE), bitwise: the tests package does not depend on crc32fast.
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

/// Rewrites one `file` line of a manifest (size, CRC, rows) and its checksum line.
fn rewrite_manifest_entry(dir: &Path, name: &str, content: &[u8], rows: u64) {
    let path = dir.join("_soa_manifest");
    let text = fs::read_to_string(&path).unwrap();
    let mut body = String::new();
    for line in text.lines() {
        if line.starts_with("crc ") {
            continue;
        }
        if line.starts_with(&format!("file {name} ")) {
            body.push_str(&format!(
                "file {name} {} {:08x} {rows} -\n",
                content.len(),
                crc32(content)
            ));
        } else {
            body.push_str(line);
            body.push('\n');
        }
    }
    let crc = crc32(body.as_bytes());
    fs::write(&path, format!("{body}crc {crc:08x}\n")).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn interrupted_commits_leave_the_old_or_the_new_state() {
    let dir = tmp();
    let store = ParquetStore::<Order>::open(dir.path()).await.unwrap();
    store.save(&soa(&rows(0, 100))).await.unwrap();
    store.append(&soa(&rows(100, 150))).await.unwrap();
    let committed = listing(dir.path());

    // failure before the commit point: old state, nothing left behind
    let failing = ParquetStore::<Order>::builder(dir.path())
        .inject_fault(FaultPoint::BeforeCommit, io::ErrorKind::Other)
        .open()
        .await
        .unwrap();
    assert!(failing.save(&soa(&rows(0, 7))).await.is_err());
    assert!(failing.append(&soa(&rows(150, 160))).await.is_err());
    assert_eq!(failing.count().await.unwrap(), 150);
    assert_eq!(listing(dir.path()), committed);
    let reopened = ParquetStore::<Order>::open(dir.path()).await.unwrap();
    assert_eq!(reopened.load().await.unwrap().into_rows(), rows(0, 150));

    // failure right after the commit point (renames not applied): the new state, readable at
    // once from staged files, and rolled forward by the next open
    let failing = ParquetStore::<Order>::builder(dir.path())
        .inject_fault(FaultPoint::AfterCommit, io::ErrorKind::Other)
        .open()
        .await
        .unwrap();
    assert!(failing.save(&soa(&rows(0, 7))).await.is_err());
    assert_eq!(failing.count().await.unwrap(), 7);
    assert_eq!(failing.load().await.unwrap().into_rows(), rows(0, 7));
    let staged: Vec<String> = listing(dir.path())
        .into_iter()
        .filter(|n| n.starts_with(".soa-"))
        .collect();
    assert_eq!(staged.len(), 1, "the staged data file waits for its rename");
    let reopened = ParquetStore::<Order>::open(dir.path()).await.unwrap();
    assert_eq!(reopened.load().await.unwrap().into_rows(), rows(0, 7));
    assert_eq!(
        listing(dir.path()),
        ["_soa_lock", "_soa_manifest", "_soa_writer", "data.parquet"]
    );

    // simulated crash leftovers: staging files and an unlisted part are swept; other files stay
    fs::write(
        dir.path().join(".soa-99-1-0-data.parquet.tmp"),
        b"half a file",
    )
    .unwrap();
    fs::write(
        dir.path().join(".soa-99-1-1-_soa_manifest.tmp"),
        b"half a manifest",
    )
    .unwrap();
    fs::copy(
        dir.path().join("data.parquet"),
        dir.path().join("part-000042.parquet"),
    )
    .unwrap();
    fs::write(dir.path().join("notes.txt"), b"user file").unwrap();
    let reopened = ParquetStore::<Order>::open(dir.path()).await.unwrap();
    assert_eq!(reopened.load().await.unwrap().into_rows(), rows(0, 7));
    assert_eq!(
        listing(dir.path()),
        [
            "_soa_lock",
            "_soa_manifest",
            "_soa_writer",
            "data.parquet",
            "notes.txt"
        ]
    );
}

/// A state of the concurrent test: a saved prefix `rows(0, m)` (m >= 1000) followed by whole
/// appended blocks `rows(0, 10)`.
fn assert_whole_commits(got: &[Order]) {
    let m = got
        .iter()
        .enumerate()
        .position(|(i, o)| o.order_id != i as u64)
        .unwrap_or(got.len());
    assert!(m >= 1000, "saved prefix of {m} rows");
    assert_eq!(got[..m], rows(0, m), "saved prefix");
    let rest = &got[m..];
    assert_eq!(rest.len() % 10, 0, "half an append is visible");
    for block in rest.chunks(10) {
        assert_eq!(block, rows(0, 10));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn readers_see_whole_commits_while_writers_commit() {
    let dir = tmp();
    let store = ParquetStore::<Order>::open(dir.path()).await.unwrap();
    store.save(&soa(&rows(0, 2000))).await.unwrap();
    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            for i in 0..15usize {
                if i % 3 == 0 {
                    store.save(&soa(&rows(0, 1000 + i))).await.unwrap();
                } else {
                    store.append(&soa(&rows(0, 10))).await.unwrap();
                }
            }
        })
    };
    let mut loads = 0;
    while !writer.is_finished() {
        assert_whole_commits(&store.load().await.unwrap().into_rows());
        assert_whole_commits(&scan_all(&store).await.0);
        loads += 1;
    }
    writer.await.unwrap();
    assert!(loads > 0);
    let expected_rows = (1000 + 12) + 2 * 10;
    assert_eq!(store.count().await.unwrap(), expected_rows as u64);
    assert_eq!(store.load().await.unwrap().len(), expected_rows);
}

/// The child half of `killed_writers_leave_the_old_or_the_new_state`: does nothing unless the
/// parent test runs this binary with `SOA_KILL_CHILD_DIR` set; then commits in a loop forever.
#[tokio::test(flavor = "multi_thread")]
async fn kill_child_writer() {
    let Ok(dir) = std::env::var("SOA_KILL_CHILD_DIR") else {
        return;
    };
    let store = ParquetStore::<Order>::open(&dir).await.unwrap();
    let all = orders(60_000);
    let mut i = 0usize;
    loop {
        // every committed state holds rows 0..n of the generator, in order
        let n = store.count().await.unwrap() as usize;
        if i.is_multiple_of(4) || n + 5000 > all.len() {
            let len = 10_000 + (i * 7919) % 20_000;
            store.save(&soa(&all[..len])).await.unwrap();
        } else {
            let add = 1 + (i * 104_729) % 5000;
            store.append(&soa(&all[n..n + add])).await.unwrap();
        }
        if i % 5 == 4 {
            store.compact().await.unwrap();
        }
        i += 1;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_writers_leave_the_old_or_the_new_state() {
    let exe = std::env::current_exe().unwrap();
    let dir = tmp();
    let all = orders(60_000);
    let mut states = std::collections::BTreeSet::new();
    for trial in 0..12u64 {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "kill_child_writer",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("SOA_KILL_CHILD_DIR", dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // kill -9 at a different moment each time
        std::thread::sleep(Duration::from_millis(150 + (trial * 137) % 400));
        child.kill().unwrap();
        child.wait().unwrap();

        let store = ParquetStore::<Order>::open(dir.path()).await.unwrap();
        let loaded = store.load().await.unwrap().into_rows();
        let n = loaded.len();
        assert_eq!(store.count().await.unwrap(), n as u64);
        assert_eq!(
            loaded,
            all[..n],
            "trial {trial}: a committed state is a prefix of the rows"
        );
        let on_disk = parquet_files(dir.path());
        let listed: Vec<String> = store.files().await.into_iter().map(|f| f.name).collect();
        let mut listed_sorted = listed.clone();
        listed_sorted.sort();
        assert_eq!(
            on_disk, listed_sorted,
            "trial {trial}: only committed files remain"
        );
        let listed_now = listing(dir.path());
        assert!(
            !listed_now.iter().any(|n| n.starts_with('.')),
            "trial {trial}: staging files swept: {listed_now:?}"
        );
        states.insert((n, listed.len()));
    }
    println!("states seen after kill -9: {states:?}");
}

fn python() -> String {
    std::env::var("SOA_PYTHON").unwrap_or_else(|_| "python3".into())
}

fn has_pyarrow() -> bool {
    Command::new(python())
        .args(["-c", "import pyarrow, pandas"])
        .output()
        .is_ok_and(|o| o.status.success())
}

const PY_CHECK: &str = r#"
import sys
import pyarrow.parquet as pq
import pyarrow.compute as pc
import pandas as pd
path, directory = sys.argv[1], sys.argv[2]
t = pq.read_table(path)
print("rows", t.num_rows)
print("columns", ",".join(t.column_names))
print("rust_type", pq.read_metadata(path).metadata[b"soa.rust_type"].decode())
print("order_id_sum", pc.sum(t["order_id"]).as_py())
print("quantity_sum", pc.sum(t["quantity"]).as_py())
print("note_nulls", t["note"].null_count)
print("filled_true", pc.sum(t["filled"].cast("int64")).as_py())
for i in [0, 1, 2, 3, 5, 7, 11, 13, 99]:
    print(f"symbol{i}", t["symbol"][i].as_py())
    print(f"side{i}", t["side"][i].as_py())
    print(f"note{i}", repr(t["note"][i].as_py()))
    print(f"price{i}", repr(t["unit_price"][i].as_py()))
    print(f"ts{i}", t["ts_micros"][i].as_py())
df = pd.read_parquet(directory)
print("dataset_rows", len(df))
"#;

#[tokio::test(flavor = "multi_thread")]
async fn pyarrow_reads_data_parquet() {
    let interop = std::env::var("SOA_INTEROP").is_ok_and(|v| v == "1");
    if !interop && !has_pyarrow() {
        println!(
            "skipped: pyarrow/pandas not available for {} (run scripts/test.sh)",
            python()
        );
        return;
    }
    let dir = tmp();
    let store = ParquetStore::<Order>::open(dir.path()).await.unwrap();
    let data = orders(10_000);
    store.save(&soa(&data)).await.unwrap();
    store.append(&soa(&rows(10_000, 10_500))).await.unwrap();
    let out = Command::new(python())
        .arg("-c")
        .arg(PY_CHECK)
        .arg(dir.path().join("data.parquet"))
        .arg(dir.path())
        .env("PYTHONIOENCODING", "utf-8")
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let got: BTreeMap<&str, &str> = stdout.lines().filter_map(|l| l.split_once(' ')).collect();
    let mut expected: BTreeMap<String, String> = BTreeMap::new();
    let mut put = |k: &str, v: String| {
        expected.insert(k.to_owned(), v);
    };
    put("rows", data.len().to_string());
    put(
        "columns",
        "order_id,customer_id,symbol,side,quantity,unit_price,filled,note,ts_micros".into(),
    );
    put("rust_type", "Order".into());
    put(
        "order_id_sum",
        data.iter().map(|o| o.order_id).sum::<u64>().to_string(),
    );
    put(
        "quantity_sum",
        data.iter()
            .map(|o| u64::from(o.quantity))
            .sum::<u64>()
            .to_string(),
    );
    put(
        "note_nulls",
        data.iter().filter(|o| o.note.is_none()).count().to_string(),
    );
    put(
        "filled_true",
        data.iter().filter(|o| o.filled).count().to_string(),
    );
    put("dataset_rows", "10500".into());
    for i in [0usize, 1, 2, 3, 5, 7, 11, 13, 99] {
        let o = &data[i];
        put(&format!("symbol{i}"), o.symbol.clone());
        put(&format!("side{i}"), format!("{:?}", o.side));
        let note = match &o.note {
            None => "None".to_owned(),
            Some(s) => format!("'{s}'"),
        };
        put(&format!("note{i}"), note);
        put(&format!("ts{i}"), o.ts_micros.to_string());
        let price: f64 = got[format!("price{i}").as_str()].parse().unwrap();
        assert_eq!(price, o.unit_price, "price{i}");
    }
    for (key, value) in &expected {
        assert_eq!(got.get(key.as_str()), Some(&value.as_str()), "{key}");
    }
    // the checked rows include non-ASCII symbols and notes
    let checked = [0usize, 1, 2, 3, 5, 7, 11, 13, 99].map(|i| &data[i]);
    assert!(checked.iter().any(|o| !o.symbol.is_ascii()));
    assert!(
        checked
            .iter()
            .any(|o| o.note.as_deref().is_some_and(|n| !n.is_ascii()))
    );
}

#[derive(soa_runtime::Soa, soa_runtime::ToArrow, Debug, Clone, PartialEq)]
struct Wide {
    id: u64,
    tag: Option<String>,
}

/// From 4 Mi rows `load()` streams the store's batches into one container reserved for every
/// row instead of reading each file as one batch: the same rows in the same order, across
/// several files.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_load_of_millions_of_rows_streams_the_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    let store = ParquetStore::<Wide>::create(dir.path().join("w"))
        .await
        .unwrap();
    let part = |from: u64, n: u64| -> WideSoA {
        (from..from + n)
            .map(|id| Wide {
                id,
                tag: (!id.is_multiple_of(5)).then(|| format!("t{}ü", id % 97)),
            })
            .collect()
    };
    let total = 4_300_000u64;
    let sizes = [2_000_000u64, 1, 2_299_999];
    let mut from = 0;
    for n in sizes {
        store.append(&part(from, n)).await.unwrap();
        from += n;
    }
    assert_eq!(from, total);
    let all = store.load().await.unwrap();
    assert_eq!(all.len() as u64, total);
    assert!(all.id.iter().copied().eq(0..total));
    let rows = all.into_rows();
    for i in [0usize, 5, 1_999_999, 2_000_000, 2_000_001, 4_299_999] {
        let id = i as u64;
        let want = Wide {
            id,
            tag: (!id.is_multiple_of(5)).then(|| format!("t{}ü", id % 97)),
        };
        assert_eq!(rows[i], want, "row {i}");
    }
}

/// Whole row groups of one batch are encoded one to a thread (each thread all the columns of its
/// group): the files must be byte for byte those of one thread, for any number of groups, a short
/// last group, and writes of several batches whose groups span batch boundaries.
#[tokio::test(flavor = "multi_thread")]
async fn row_groups_encoded_in_parallel_write_the_same_bytes_as_one_thread() {
    for rows in [999, 1000, 1500, 2000, 2001, 10_500] {
        let data = OrderSoA::from(orders(rows));
        let mut files = Vec::new();
        for threads in [1, 2, 3] {
            let dir = tmp();
            let store = ParquetStore::<Order>::builder(dir.path())
                .row_group_size(1000)
                .threads(threads)
                .create()
                .await
                .unwrap();
            store.save(&data).await.unwrap();
            assert_eq!(
                store.load().await.unwrap(),
                data,
                "{rows} rows, {threads} threads"
            );
            let names = parquet_files(dir.path());
            assert_eq!(names.len(), 1, "{rows} rows");
            let path = dir.path().join(&names[0]);
            let meta = footer(&path);
            assert_eq!(meta.num_row_groups(), rows.div_ceil(1000), "{rows} rows");
            let sizes: Vec<i64> = meta.row_groups().iter().map(|g| g.num_rows()).collect();
            assert!(sizes.iter().rev().skip(1).all(|&n| n == 1000), "{sizes:?}");
            files.push(fs::read(&path).unwrap());
        }
        assert!(
            files.windows(2).all(|w| w[0] == w[1]),
            "{rows} rows: the files differ between thread counts"
        );
    }

    // Several batches in one write (appends of 700 rows): groups fill across batch boundaries
    // and stay in row order.
    let dir = tmp();
    let store = ParquetStore::<Order>::builder(dir.path())
        .row_group_size(1000)
        .threads(2)
        .create()
        .await
        .unwrap();
    let all = orders(4900);
    store
        .save(&OrderSoA::from(all[..2100].to_vec()))
        .await
        .unwrap();
    for chunk in all[2100..].chunks(700) {
        store.append(&OrderSoA::from(chunk.to_vec())).await.unwrap();
    }
    assert_eq!(store.load().await.unwrap().into_rows(), all);
    store.compact().await.unwrap();
    assert_eq!(store.load().await.unwrap().into_rows(), all);
    let names = parquet_files(dir.path());
    assert_eq!(names.len(), 1);
    assert_eq!(footer(&dir.path().join(&names[0])).num_row_groups(), 5);
}

#[derive(soa_runtime::Soa, soa_runtime::ToArrow, Debug, Clone, PartialEq)]
struct Leg {
    venue: String,
    qty: u32,
}

#[derive(soa_runtime::Soa, soa_runtime::ToArrow, Debug, Clone, PartialEq)]
struct Basket {
    id: u64,
    side: Side,
    tags: Vec<String>,
    leg: Option<Leg>,
    legs: Vec<Leg>,
}

/// The same with columns of several Parquet leaves each (a list, a nullable struct, a list of
/// structs), which the per-group threads split by top-level column.
#[tokio::test(flavor = "multi_thread")]
async fn row_groups_in_parallel_with_nested_columns_write_the_same_bytes() {
    let rows: Vec<Basket> = (0..2500u32)
        .map(|i| Basket {
            id: u64::from(i),
            side: if i % 3 == 0 { Side::Sell } else { Side::Buy },
            tags: (0..i % 4).map(|t| format!("t{t}é")).collect(),
            leg: (i % 5 != 0).then(|| Leg {
                venue: format!("v{}", i % 7),
                qty: i,
            }),
            legs: (0..i % 3)
                .map(|k| Leg {
                    venue: "日本".repeat(k as usize),
                    qty: k,
                })
                .collect(),
        })
        .collect();
    let data = BasketSoA::from(rows.clone());
    let mut files = Vec::new();
    for threads in [1, 2] {
        let dir = tmp();
        let store = ParquetStore::<Basket>::builder(dir.path())
            .row_group_size(1000)
            .threads(threads)
            .create()
            .await
            .unwrap();
        store.save(&data).await.unwrap();
        assert_eq!(
            store.load().await.unwrap().into_rows(),
            rows,
            "{threads} threads"
        );
        let names = parquet_files(dir.path());
        assert_eq!(names.len(), 1);
        let path = dir.path().join(&names[0]);
        assert_eq!(footer(&path).num_row_groups(), 3);
        files.push(fs::read(&path).unwrap());
    }
    assert!(
        files[0] == files[1],
        "the files differ between 1 and 2 threads"
    );
}

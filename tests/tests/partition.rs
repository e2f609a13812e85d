//! Partitioned `ParquetStore`s: `#[soa(partition)]` and `partition_by`, Hive directories with
//! escaped values, typed values in the manifest, partition columns restored on read, pruning by
//! partition (counted), per-partition `compact` and counts, hostile values that must never leave
//! the store root, and `import_dataset` of a Hive layout written by hand.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use soa_runtime::Error;
use soa_runtime::prelude::*;
use soa_runtime::store::parquet::ParquetStore;
use soa_runtime::store::partition::{HIVE_NULL, Partition, escape};
use soa_tests::Side;

const DAY: i64 = 86_400_000_000;
/// 2026-01-05 00:00:00 UTC in microseconds.
const T0: i64 = 1_767_571_200_000_000;

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
struct Tick {
    id: u64,
    #[soa(timestamp = "us", partition = "day")]
    ts: i64,
    #[soa(partition)]
    symbol: String,
    side: Side,
    price: f64,
    qty: Option<u32>,
}

fn ticks(n: usize) -> Vec<Tick> {
    let symbols = ["AAPL", "MSFT", "007", "a b/c", "ü=x"];
    (0..n)
        .map(|i| Tick {
            id: i as u64,
            ts: T0 + (i as i64 % 3) * DAY + i as i64 * 1_000,
            symbol: symbols[i % symbols.len()].to_owned(),
            side: if i % 2 == 0 { Side::Buy } else { Side::Sell },
            price: i as f64 * 0.5,
            qty: (i % 4 != 0).then_some(i as u32),
        })
        .collect()
}

fn sorted(mut rows: Vec<Tick>) -> Vec<Tick> {
    rows.sort_by_key(|t| t.id);
    rows
}

/// Every file under `dir`, relative, with `/` separators.
fn tree(dir: &Path) -> BTreeSet<String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            if entry.file_type().unwrap().is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).unwrap();
                out.insert(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(dir, dir, &mut out);
    out
}

fn data_files(dir: &Path) -> Vec<String> {
    tree(dir)
        .into_iter()
        .filter(|f| f.ends_with(".parquet"))
        .collect()
}

fn file_columns(path: &Path) -> Vec<String> {
    let file = std::fs::File::open(path).unwrap();
    let reader =
        soa_runtime::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap();
    reader
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect()
}

#[tokio::test]
async fn derive_partitions_into_hive_directories_and_restores_columns() {
    assert_eq!(
        <TickSoA as ToArrow>::PARTITION_BY,
        &["day(ts)", "symbol"][..]
    );
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("ticks");
    let store = ParquetStore::<Tick>::create(&root).await.unwrap();
    assert_eq!(
        store.partitioning(),
        vec![Partition::day("ts"), Partition::column("symbol")]
    );
    let rows = ticks(300);
    store
        .append(&TickSoA::from(&(rows.clone())[..]))
        .await
        .unwrap();

    // One file per touched partition, all in one commit: 3 days x 5 symbols.
    let files = data_files(&root);
    assert_eq!(files.len(), 15, "{files:?}");
    assert!(files.contains(&"day=2026-01-05/symbol=AAPL/part-000001.parquet".to_owned()));
    assert!(
        files
            .iter()
            .any(|f| f.starts_with("day=2026-01-07/symbol=a b%2Fc/"))
    );
    assert!(
        files
            .iter()
            .any(|f| f.starts_with("day=2026-01-06/symbol=ü%3Dx/"))
    );
    // The identity column is not in the files (the directory holds it); ts is.
    let one = root.join(&files[0]);
    assert_eq!(file_columns(&one), ["id", "ts", "side", "price", "qty"]);

    // Loads restore the column with its exact type and value ("007" stays a string).
    let loaded = store.load().await.unwrap().into_rows();
    assert_eq!(sorted(loaded), rows);
    assert_eq!(store.count().await.unwrap(), 300);

    // Projections with and without the partition column.
    let mut stream = store
        .scan_with(ScanOptions::new().columns(["symbol", "id"]).batch_size(7))
        .await
        .unwrap();
    let mut seen = Vec::new();
    while let Some(batch) = futures::StreamExt::next(&mut stream).await {
        let batch = batch.unwrap();
        assert_eq!(batch.schema().field(0).name(), "symbol");
        let symbols = batch
            .column(0)
            .as_any()
            .downcast_ref::<soa_runtime::arrow::array::StringArray>()
            .unwrap();
        let ids = batch
            .column(1)
            .as_any()
            .downcast_ref::<soa_runtime::arrow::array::UInt64Array>()
            .unwrap();
        for i in 0..batch.num_rows() {
            seen.push((ids.value(i), symbols.value(i).to_owned()));
        }
    }
    seen.sort();
    let expected: Vec<(u64, String)> = rows.iter().map(|t| (t.id, t.symbol.clone())).collect();
    assert_eq!(seen, expected);

    // Per-partition counts from the manifest.
    let parts = store.partitions().await.unwrap();
    assert_eq!(parts.len(), 15);
    assert_eq!(parts.iter().map(|p| p.rows).sum::<u64>(), 300);
    let aapl = parts
        .iter()
        .find(|p| {
            p.values
                == vec![
                    ("day".to_owned(), Some("2026-01-05".to_owned())),
                    ("symbol".to_owned(), Some("AAPL".to_owned())),
                ]
        })
        .unwrap();
    assert_eq!(aapl.rows, 20);
    assert!(aapl.dir.ends_with("day=2026-01-05/symbol=AAPL"));
}

#[tokio::test]
async fn predicates_prune_partitions_and_match_load_then_filter() {
    let dir = tempfile::tempdir().unwrap();
    let store = ParquetStore::<Tick>::create(dir.path()).await.unwrap();
    let rows = ticks(500);
    store
        .append(&TickSoA::from(&(rows[..250].to_vec())[..]))
        .await
        .unwrap();
    store
        .append(&TickSoA::from(&(rows[250..].to_vec())[..]))
        .await
        .unwrap();
    let c = Tick::col();
    type Case = (
        soa_runtime::predicate::Predicate<Tick>,
        fn(&Tick) -> bool,
        u64,
    );
    let cases: Vec<Case> = vec![
        (
            c.symbol.eq("007") & c.ts.ge(T0 + DAY) & c.ts.lt(T0 + 2 * DAY),
            |t| t.symbol == "007" && t.ts >= T0 + DAY && t.ts < T0 + 2 * DAY,
            14,
        ),
        (c.symbol.eq("AAPL"), |t| t.symbol == "AAPL", 12),
        (c.ts.lt(T0 + DAY), |t| t.ts < T0 + DAY, 10),
        (
            c.symbol.is_in(["a b/c", "nope"]),
            |t| t.symbol == "a b/c",
            12,
        ),
        (c.symbol.starts_with("ü"), |t| t.symbol.starts_with('ü'), 12),
        (c.side.eq(Side::Buy), |t| t.side == Side::Buy, 0),
        (!c.symbol.eq("AAPL"), |t| t.symbol != "AAPL", 0),
        (
            c.symbol.eq("AAPL") | c.qty.is_null(),
            |t| t.symbol == "AAPL" || t.qty.is_none(),
            0,
        ),
    ];
    for (pred, keep, skipped_at_least) in cases {
        let text = format!("{pred:?}");
        let (got, report) = store.load_where_with_metrics(pred).await.unwrap();
        let expected: Vec<Tick> = rows.iter().filter(|t| keep(t)).cloned().collect();
        assert_eq!(sorted(got.into_rows()), expected, "{text}");
        assert_eq!(report.partitions_total, 15, "{text}");
        assert!(
            report.partitions_skipped >= skipped_at_least,
            "{text}: {report:?}"
        );
        assert_eq!(report.files_total, 30, "{text}: {report:?}");
        assert!(
            report.files_skipped >= 2 * skipped_at_least,
            "{text}: {report:?}"
        );
        if skipped_at_least > 0 {
            assert!(
                report.bytes_read < report.bytes_stored,
                "{text}: {report:?}"
            );
        }
    }
}

#[tokio::test]
async fn compact_per_partition_overwrite_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let store = ParquetStore::<Tick>::create(dir.path()).await.unwrap();
    let rows = ticks(100);
    for chunk in rows.chunks(25) {
        store
            .append(&TickSoA::from(&(chunk.to_vec())[..]))
            .await
            .unwrap();
    }
    assert_eq!(data_files(dir.path()).len(), 60);
    store.compact().await.unwrap();
    let files = data_files(dir.path());
    assert_eq!(files.len(), 15, "{files:?}");
    for p in store.partitions().await.unwrap() {
        assert_eq!(p.files, 1);
    }
    assert_eq!(sorted(store.load().await.unwrap().into_rows()), rows);
    // Compacting again changes nothing.
    store.compact().await.unwrap();
    assert_eq!(data_files(dir.path()), files);

    // Overwrite: old partitions disappear with their directories.
    let fresh: Vec<Tick> = rows
        .iter()
        .filter(|t| t.symbol == "AAPL")
        .cloned()
        .collect();
    store
        .save(&TickSoA::from(&(fresh.clone())[..]))
        .await
        .unwrap();
    let files = data_files(dir.path());
    assert_eq!(files.len(), 3, "{files:?}");
    assert!(tree(dir.path()).iter().all(|f| !f.contains("MSFT")));
    assert!(!dir.path().join("day=2026-01-05/symbol=MSFT").exists());

    // Reopen: the stored partitioning wins; a different explicit one is refused.
    let again = ParquetStore::<Tick>::open(dir.path()).await.unwrap();
    assert_eq!(sorted(again.load().await.unwrap().into_rows()), fresh);
    let err = ParquetStore::<Tick>::builder(dir.path())
        .partition_by(["symbol"])
        .open()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidOption {
                option: "partition_by",
                ..
            }
        ),
        "{err}"
    );
    // Clearing leaves an empty store.
    again.clear().await.unwrap();
    assert_eq!(again.count().await.unwrap(), 0);
    assert!(again.load().await.unwrap().is_empty());
}

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
struct Reading {
    sensor: u64,
    #[soa(timestamp = "ms")]
    at: i64,
    ok: bool,
    zone: Option<String>,
    value: f32,
}

fn readings(n: usize) -> Vec<Reading> {
    (0..n)
        .map(|i| Reading {
            sensor: i as u64 * 7919,
            at: (i as i64 - 20) * 3_600_000 * 5,
            ok: i % 3 == 0,
            zone: match i % 4 {
                0 => None,
                1 => Some(String::new()),
                2 => Some("north".into()),
                _ => Some("007".into()),
            },
            value: i as f32,
        })
        .collect()
}

#[tokio::test]
async fn builder_partitions_every_transform_and_type() {
    let specs: Vec<Vec<Partition>> = vec![
        vec![Partition::column("zone"), Partition::column("ok")],
        vec![Partition::hour("at"), Partition::column("sensor")],
        vec![Partition::month("at"), Partition::bucket(4, "sensor")],
        vec![
            Partition::year("at").named("y"),
            Partition::bucket(3, "zone"),
        ],
    ];
    let rows = readings(60);
    for spec in specs {
        let dir = tempfile::tempdir().unwrap();
        let store = ParquetStore::<Reading>::builder(dir.path())
            .partition_by(spec.iter().cloned())
            .create()
            .await
            .unwrap();
        store
            .append(&ReadingSoA::from(&(rows.clone())[..]))
            .await
            .unwrap();
        let mut got = store.load().await.unwrap().into_rows();
        got.sort_by_key(|r| r.value as i64);
        assert_eq!(got, rows, "{spec:?}");
        let keys: Vec<&str> = spec.iter().map(Partition::key).collect();
        for f in data_files(dir.path()) {
            let levels: Vec<&str> = f.split('/').collect();
            assert_eq!(levels.len(), keys.len() + 1, "{f}");
            for (level, key) in levels.iter().zip(&keys) {
                assert!(level.starts_with(&format!("{key}=")), "{f}");
            }
        }
        // Null and empty zones share Hive's default directory but stay apart for us.
        if spec[0] == Partition::column("zone") {
            let parts = store.partitions().await.unwrap();
            let nulls: Vec<_> = parts
                .iter()
                .filter(|p| p.dir.to_string_lossy().contains(HIVE_NULL))
                .collect();
            assert!(nulls.iter().any(|p| p.values[0].1.is_none()));
            assert!(nulls.iter().any(|p| p.values[0].1.as_deref() == Some("")));
            let c = Reading::col();
            let empty = store.load_where(c.zone.eq("")).await.unwrap();
            assert_eq!(empty.len(), 15);
            let null = store.load_where(c.zone.is_null()).await.unwrap();
            assert_eq!(null.len(), 15);
            let (zero, report) = store
                .load_where_with_metrics(c.zone.eq("007"))
                .await
                .unwrap();
            assert_eq!(zero.len(), 15);
            assert!(report.partitions_skipped >= 4, "{report:?}");
        }
        if spec[0] == Partition::hour("at") {
            let c = Reading::col();
            let (got, report) = store
                .load_where_with_metrics(c.at.ge(0) & c.at.lt(3 * 3_600_000 * 5))
                .await
                .unwrap();
            assert_eq!(got.len(), 3);
            assert_eq!(report.partitions_skipped, 57, "{report:?}");
        }
    }
}

#[tokio::test]
async fn bad_partition_specs_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let open = |spec: &'static str| {
        ParquetStore::<Reading>::builder(dir.path().join("s"))
            .partition_by([spec])
            .create()
    };
    assert!(matches!(
        open("value").await,
        Err(Error::UnsupportedType { .. })
    ));
    assert!(matches!(
        open("at").await,
        Err(Error::UnsupportedType { .. })
    ));
    assert!(matches!(
        open("hour(ok)").await,
        Err(Error::UnsupportedType { .. })
    ));
    assert!(matches!(
        open("nope").await,
        Err(Error::UnknownColumn { .. })
    ));
    assert!(matches!(
        open("week(at)").await,
        Err(Error::InvalidOption { .. })
    ));
    assert!(matches!(
        open("day(at) as ok").await,
        Err(Error::InvalidOption { .. })
    ));
    // Hive readers skip `_` and `.` directories.
    for hidden in ["day(at) as _d", "day(at) as .d"] {
        assert!(matches!(
            open(hidden).await,
            Err(Error::InvalidOption { .. })
        ));
    }
    assert!(!dir.path().join("s").exists() || data_files(&dir.path().join("s")).is_empty());
}

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
struct Tagged {
    n: u32,
    #[soa(partition)]
    tag: String,
}

/// Values chosen to escape the root: traversal, separators, escapes, NUL, unicode, long.
fn hostile() -> Vec<String> {
    let mut out: Vec<String> = [
        "../../etc",
        "..",
        ".",
        "/",
        "/etc/passwd",
        "=",
        "a=b",
        "%2F",
        "%2E%2E",
        "..%2F..",
        "\0",
        "a\0b",
        "\n",
        "\\..\\..",
        "C:\\x",
        "~",
        "$HOME",
        " ",
        "",
        "東京/大阪",
        "🦀",
        "__HIVE_DEFAULT_PARTITION__",
        "*?\"'#{[]}^:",
        "\u{7f}",
        "\u{202e}evil",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    // Generated: every ASCII byte alone and between dots.
    for b in 0u8..128 {
        let c = b as char;
        out.push(c.to_string());
        out.push(format!("..{c}.."));
    }
    out.push("x".repeat(200));
    out.sort();
    out.dedup();
    out
}

#[tokio::test]
async fn hostile_values_stay_inside_the_root() {
    let outer = tempfile::tempdir().unwrap();
    let root = outer.path().join("a/b/store");
    let store = ParquetStore::<Tagged>::create(&root).await.unwrap();
    let values = hostile();
    let rows: Vec<Tagged> = values
        .iter()
        .enumerate()
        .map(|(i, v)| Tagged {
            n: i as u32,
            tag: v.clone(),
        })
        .collect();
    store
        .append(&TaggedSoA::from(&(rows.clone())[..]))
        .await
        .unwrap();

    // Nothing outside the root.
    let everything = tree(outer.path());
    for f in &everything {
        assert!(f.starts_with("a/b/store/"), "{f:?} is outside the store");
    }
    let canonical_root = std::fs::canonicalize(&root).unwrap();
    for f in tree(&root) {
        let path: PathBuf = std::fs::canonicalize(root.join(&f)).unwrap();
        assert!(path.starts_with(&canonical_root), "{path:?}");
        // Each level is `tag=<escaped>`: one directory, one file.
        let levels: Vec<&str> = f.split('/').collect();
        if f.ends_with(".parquet") {
            assert_eq!(levels.len(), 2, "{f:?}");
            assert!(levels[0].starts_with("tag="));
        }
    }
    // The exact values come back, "" included, and each one is found by its predicate.
    let mut got = store.load().await.unwrap().into_rows();
    got.sort_by_key(|r| r.n);
    assert_eq!(got, rows);
    for (i, v) in values.iter().enumerate().step_by(7) {
        let hit = store
            .load_where(Tagged::col().tag.eq(v.as_str()))
            .await
            .unwrap();
        assert_eq!(hit.into_rows(), vec![rows[i].clone()], "{v:?}");
    }
    let reopened = ParquetStore::<Tagged>::open(&root).await.unwrap();
    assert_eq!(reopened.count().await.unwrap(), rows.len() as u64);
    reopened.compact().await.unwrap();
    assert!(
        tree(outer.path())
            .iter()
            .all(|f| f.starts_with("a/b/store/"))
    );

    // A value too long for a directory name is refused, naming the field; nothing is written.
    let before = tree(&root);
    let err = store
        .append(&TaggedSoA::from(
            &[Tagged {
                n: 1,
                tag: "y".repeat(10 * 1024),
            }][..],
        ))
        .await
        .unwrap_err();
    match &err {
        Error::OutOfRange {
            type_name, column, ..
        } => assert_eq!((*type_name, column.as_str()), ("Tagged", "tag")),
        other => panic!("{other:?}"),
    }
    assert_eq!(tree(&root), before);
    assert_eq!(escape("../../etc"), "..%2F..%2Fetc");
}

#[tokio::test]
async fn import_dataset_restores_hive_columns_typed() {
    use soa_runtime::arrow::array::{Float64Array, RecordBatch, UInt64Array};
    use soa_runtime::arrow::datatypes::{DataType, Field, Schema};
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    // A layout as pyarrow writes it: the partition columns only in the directory names.
    let schema = std::sync::Arc::new(Schema::new(vec![
        Field::new("id", DataType::UInt64, false),
        Field::new(
            "ts",
            DataType::Timestamp(
                soa_runtime::arrow::datatypes::TimeUnit::Microsecond,
                Some("UTC".into()),
            ),
            false,
        ),
        Field::new("price", DataType::Float64, false),
    ]));
    let mut expected = Vec::new();
    for (d, symbol) in [
        ("2026-01-05", "007"),
        ("2026-01-06", "a/b"),
        ("2026-01-06", "x y"),
    ] {
        let sub = src.join(format!("symbol={}", escape(symbol)));
        std::fs::create_dir_all(&sub).unwrap();
        let ids: Vec<u64> = (0..3).map(|i| expected.len() as u64 + i).collect();
        let ts = T0 + if d == "2026-01-05" { 0 } else { DAY };
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                std::sync::Arc::new(UInt64Array::from(ids.clone())),
                std::sync::Arc::new(
                    soa_runtime::arrow::array::TimestampMicrosecondArray::from(vec![ts; 3])
                        .with_timezone("UTC"),
                ),
                std::sync::Arc::new(Float64Array::from(vec![1.5; 3])),
            ],
        )
        .unwrap();
        let file = std::fs::File::create(sub.join(format!("{d}-0.parquet"))).unwrap();
        let mut w =
            soa_runtime::parquet::arrow::ArrowWriter::try_new(file, schema.clone(), None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        for id in ids {
            expected.push((id, symbol.to_owned(), ts));
        }
    }
    std::fs::write(src.join("_SUCCESS"), b"").unwrap();

    #[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
    struct Quote {
        id: u64,
        #[soa(timestamp = "us")]
        ts: i64,
        symbol: String,
        price: f64,
    }
    let store = ParquetStore::<Quote>::builder(dir.path().join("dst"))
        .partition_by(["day(ts)"])
        .create()
        .await
        .unwrap();
    store.import_dataset(&src).await.unwrap();
    let mut got: Vec<(u64, String, i64)> = store
        .load()
        .await
        .unwrap()
        .into_rows()
        .into_iter()
        .map(|q| (q.id, q.symbol, q.ts))
        .collect();
    got.sort();
    assert_eq!(got, expected);
    assert_eq!(store.partitions().await.unwrap().len(), 2);
}

#[tokio::test]
async fn page_index_skips_pages_inside_a_row_group() {
    let dir = tempfile::tempdir().unwrap();
    // One row group of 200,000 rows sorted by time: its pages hold disjoint time ranges.
    let store = ParquetStore::<Reading>::builder(dir.path())
        .row_group_size(1 << 20)
        .create()
        .await
        .unwrap();
    let rows: Vec<Reading> = (0..200_000)
        .map(|i| Reading {
            sensor: i,
            at: i as i64 * 1000,
            ok: i % 2 == 0,
            zone: (i % 5 != 0).then(|| format!("z{}", i % 7)),
            value: i as f32,
        })
        .collect();
    store.append(&ReadingSoA::from(&rows[..])).await.unwrap();
    let c = Reading::col();
    type Case = (
        soa_runtime::predicate::Predicate<Reading>,
        fn(&Reading) -> bool,
    );
    let cases: Vec<Case> = vec![
        (c.at.between(50_000_000, 51_999_000), |r| {
            (50_000_000..=51_999_000).contains(&r.at)
        }),
        (c.sensor.lt(10), |r| r.sensor < 10),
        (c.sensor.ge(199_990) | c.at.le(5_000), |r| {
            r.sensor >= 199_990 || r.at <= 5_000
        }),
        (
            c.sensor.is_in([7u64, 150_000]) & c.zone.is_not_null(),
            |r| (r.sensor == 7 || r.sensor == 150_000) && r.zone.is_some(),
        ),
    ];
    for (pred, keep) in cases {
        let text = format!("{pred:?}");
        let (got, report) = store.load_where_with_metrics(pred.clone()).await.unwrap();
        let expected: Vec<Reading> = rows.iter().filter(|r| keep(r)).cloned().collect();
        assert_eq!(got.into_rows(), expected, "{text}");
        assert_eq!(report.row_groups_total, 1, "{text}");
        assert!(report.pages_total >= 5, "{text}: {report:?}");
        assert!(
            report.pages_skipped * 10 >= report.pages_total * 8,
            "{text}: {report:?}"
        );
        assert!(report.rows_scanned < 100_000, "{text}: {report:?}");
        // Streaming scans in small batches pick the same rows.
        let mut stream = store
            .scan_with(ScanOptions::new().batch_size(1000).predicate(&pred))
            .await
            .unwrap();
        let mut n = 0;
        while let Some(batch) = futures::StreamExt::next(&mut stream).await {
            n += batch.unwrap().num_rows();
        }
        assert_eq!(n, expected.len(), "{text}");
    }
}

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
struct Trade {
    id: u64,
    #[soa(timestamp = "us", partition = "day")] // directory day=2026-01-05 (UTC)
    ts: i64,
    #[soa(partition)] // directory symbol=AAPL
    symbol: String,
    side: Side,
    price: f64,
}

/// The README's "Partitioned datasets" example, as written (paths in a temporary directory).
#[tokio::test]
async fn readme_partition_example_runs_as_written() -> soa_runtime::Result<()> {
    let dir = tempfile::tempdir().unwrap();
    let t0 = T0;
    let trades: TradeSoA = (0..1_000u64)
        .map(|i| Trade {
            id: i,
            ts: t0 + (i as i64 % 4) * DAY + i as i64,
            symbol: ["AAPL", "MSFT", "NVDA"][i as usize % 3].to_owned(),
            side: if i % 2 == 0 { Side::Buy } else { Side::Sell },
            price: i as f64,
        })
        .collect();

    let store = ParquetStore::<Trade>::create(dir.path().join("trades")).await?;
    store.append(&trades).await?;
    assert!(
        dir.path()
            .join("trades/day=2026-01-05/symbol=AAPL")
            .is_dir()
    );
    let c = Trade::col();
    let (rows, report) = store
        .load_where_with_metrics(c.symbol.eq("AAPL") & c.ts.ge(t0) & c.ts.lt(t0 + 86_400_000_000))
        .await?;
    assert_eq!(rows.len(), 84);
    assert_eq!(
        (report.partitions_skipped, report.partitions_total),
        (11, 12)
    );
    let mut total = 0;
    for p in store.partitions().await? {
        println!("{:?} {} rows in {} files", p.values, p.rows, p.files);
        total += p.rows;
    }
    assert_eq!(total, 1_000);
    let other = ParquetStore::<Trade>::builder(dir.path().join("by_month"))
        .partition_by([Partition::month("ts"), Partition::bucket(16, "symbol")])
        .create()
        .await?;
    other.append(&trades).await?;
    assert!(dir.path().join("by_month/month=2026-01").is_dir());
    let again = ParquetStore::<Trade>::builder(dir.path().join("by_month_text"))
        .partition_by(["month(ts)", "bucket(16, symbol)"])
        .create()
        .await?;
    assert_eq!(again.partitioning(), other.partitioning());
    Ok(())
}

/// Partitioned `DeltaStore`s: Delta `partitionColumns`, Hive directories, `partitionValues`,
/// identity columns restored, transforms as table columns, pruning, per-partition compaction,
/// vacuum keeping escaped paths, hostile values.
#[cfg(feature = "delta")]
mod delta {
    use super::*;
    use soa_runtime::DeltaStore;

    fn url(dir: &Path) -> String {
        dir.to_str().unwrap().to_owned()
    }

    fn log_lines(dir: &Path) -> Vec<serde_json::Value> {
        let mut out = Vec::new();
        let mut names: Vec<_> = std::fs::read_dir(dir.join("_delta_log"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        names.sort();
        for name in names {
            for line in std::fs::read_to_string(name).unwrap().lines() {
                out.push(serde_json::from_str(line).unwrap());
            }
        }
        out
    }

    #[tokio::test]
    async fn delta_partitions_by_day_and_symbol() {
        let dir = tempfile::tempdir().unwrap();
        let store = DeltaStore::<Tick>::create(url(dir.path())).await.unwrap();
        let rows = ticks(300);
        store.append(&TickSoA::from(&rows[..150])).await.unwrap();
        store.append(&TickSoA::from(&rows[150..])).await.unwrap();
        // The log: partition columns, a `day` date column in the schema, values per file.
        let log = log_lines(dir.path());
        let meta = log.iter().find_map(|l| l.get("metaData")).unwrap();
        assert_eq!(
            meta["partitionColumns"],
            serde_json::json!(["day", "symbol"])
        );
        let schema: serde_json::Value =
            serde_json::from_str(meta["schemaString"].as_str().unwrap()).unwrap();
        let day = schema["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == "day")
            .unwrap();
        assert_eq!(day["type"], "date");
        let adds: Vec<&serde_json::Value> = log.iter().filter_map(|l| l.get("add")).collect();
        assert_eq!(adds.len(), 30);
        let odd = adds
            .iter()
            .find(|a| a["partitionValues"]["symbol"] == "a b/c")
            .unwrap();
        assert!(
            odd["path"].as_str().unwrap().starts_with("day%3D2026-01-0"),
            "{odd}"
        );
        assert!(
            odd["path"]
                .as_str()
                .unwrap()
                .contains("symbol%3Da%20b%252Fc/"),
            "{odd}"
        );
        for f in data_files(dir.path()) {
            assert!(f.starts_with("day=2026-01-0"), "{f}");
            assert_eq!(
                file_columns(&dir.path().join(&f)),
                ["id", "ts", "side", "price", "qty"]
            );
        }
        assert_eq!(sorted(store.load().await.unwrap().into_rows()), rows);
        assert_eq!(store.count().await.unwrap(), 300);
        let parts = store.partitions().await.unwrap();
        assert_eq!(parts.len(), 15);
        assert!(
            parts.iter().all(|p| p.files == 2 && p.rows == 20),
            "{parts:?}"
        );
        assert_eq!(
            store.partitioning(),
            vec![Partition::day("ts"), Partition::column("symbol")]
        );

        // Pruning by partition values.
        let c = Tick::col();
        let (got, report) = store
            .load_where_with_metrics(c.symbol.eq("007") & c.ts.lt(T0 + DAY))
            .await
            .unwrap();
        let expected: Vec<Tick> = rows
            .iter()
            .filter(|t| t.symbol == "007" && t.ts < T0 + DAY)
            .cloned()
            .collect();
        assert_eq!(sorted(got.into_rows()), expected);
        assert_eq!(report.partitions_total, 15, "{report:?}");
        assert_eq!(report.partitions_skipped, 14, "{report:?}");
        assert_eq!(report.files_skipped, 28, "{report:?}");
        // A projection of only the partition column.
        let symbols = store.load_columns(&["symbol"]).await.unwrap();
        assert_eq!(symbols.num_rows(), 300);

        // Compaction per partition, then vacuum keeps every referenced file (escaped names).
        let report = store.compact().await.unwrap();
        assert_eq!(report.files_removed, 30);
        assert_eq!(report.files_added, 15);
        assert_eq!(sorted(store.load().await.unwrap().into_rows()), rows);
        let vacuumed = store.vacuum(std::time::Duration::ZERO).await.unwrap();
        assert_eq!(vacuumed.deleted.len(), 30, "{vacuumed:?}");
        assert_eq!(data_files(dir.path()).len(), 15);
        let reopened = DeltaStore::<Tick>::open(url(dir.path())).await.unwrap();
        assert_eq!(sorted(reopened.load().await.unwrap().into_rows()), rows);
        // The stored partitioning wins; another explicit one is refused.
        let err = DeltaStore::<Tick>::builder(url(dir.path()))
            .partition_by(["symbol"])
            .open()
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidOption { .. }), "{err}");
        // Overwrite removes every partition's files.
        let aapl: Vec<Tick> = rows
            .iter()
            .filter(|t| t.symbol == "AAPL")
            .cloned()
            .collect();
        reopened.save(&TickSoA::from(&aapl[..])).await.unwrap();
        assert_eq!(sorted(reopened.load().await.unwrap().into_rows()), aapl);
        let old = reopened.at_version(2).await.unwrap();
        assert_eq!(old.count().await.unwrap(), 300);
    }

    #[tokio::test]
    async fn delta_hostile_values_and_memory() {
        let outer = tempfile::tempdir().unwrap();
        let root = outer.path().join("t");
        let store = DeltaStore::<Tagged>::create(url(&root)).await.unwrap();
        let values = hostile();
        let rows: Vec<Tagged> = values
            .iter()
            .enumerate()
            .map(|(i, v)| Tagged {
                n: i as u32,
                tag: v.clone(),
            })
            .collect();
        store.append(&TaggedSoA::from(&rows[..])).await.unwrap();
        for f in tree(outer.path()) {
            assert!(f.starts_with("t/"), "{f:?} is outside the table");
        }
        let mut got = store.load().await.unwrap().into_rows();
        got.sort_by_key(|r| r.n);
        assert_eq!(got, rows);
        for (i, v) in values.iter().enumerate().step_by(11) {
            let hit = store
                .load_where(Tagged::col().tag.eq(v.as_str()))
                .await
                .unwrap();
            assert_eq!(hit.into_rows(), vec![rows[i].clone()], "{v:?}");
        }
        store.vacuum(std::time::Duration::ZERO).await.unwrap();
        let reopened = DeltaStore::<Tagged>::open(url(&root)).await.unwrap();
        assert_eq!(reopened.count().await.unwrap(), rows.len() as u64);
        let mut again = reopened.load().await.unwrap().into_rows();
        again.sort_by_key(|r| r.n);
        assert_eq!(again, rows);

        // memory:// through object_store paths.
        let mem = DeltaStore::<Tagged>::create("memory://partitioned-hostile")
            .await
            .unwrap();
        mem.append(&TaggedSoA::from(&rows[..])).await.unwrap();
        let mut got = mem.load().await.unwrap().into_rows();
        got.sort_by_key(|r| r.n);
        assert_eq!(got, rows);
    }
}

//! `DeltaStore` (feature `delta`): opening and creating, time travel, history, compaction,
//! vacuum, checkpoints, type refusals and exact conversions, URLs and storage options, and the
//! same operations on the S3 server (moto) and Azurite that `scripts/test.sh` starts
//! (`SOA_TEST_S3_ENDPOINT`, `SOA_TEST_AZURE_ENDPOINT`), and on GCS when `SOA_TEST_GCS_BUCKET`
//! names a bucket.
//!
//! `cargo test -p soa-tests --features delta,aws,azure,gcp --test delta`
#![cfg(feature = "delta")]

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use soa_runtime::prelude::*;
use soa_runtime::store::delta::DeltaStore;
use soa_runtime::{Error, Soa, ToArrow};
use soa_tests::{Order, OrderSoA, orders};

fn soa(rows: &[Order]) -> OrderSoA {
    OrderSoA::from(rows)
}

fn table(dir: &tempfile::TempDir, name: &str) -> String {
    dir.path().join(name).to_str().expect("utf-8").to_owned()
}

fn unique(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{prefix}-{}-{nanos}-{n}", std::process::id())
}

/// Files under `dir` (recursively), relative, sorted.
fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(dir).expect("prefix");
                out.push(rel.to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn open_create_and_their_errors() {
    let dir = tempfile::tempdir().unwrap();
    let url = table(&dir, "orders");
    match DeltaStore::<Order>::open(&url).await {
        Err(Error::TableNotFound { location }) => assert!(location.ends_with("orders")),
        other => panic!("open of nothing: {other:?}"),
    }
    let store = DeltaStore::<Order>::create(&url).await.unwrap();
    assert_eq!(store.version().await.unwrap(), 0);
    assert!(matches!(
        DeltaStore::<Order>::create(&url).await,
        Err(Error::TableExists { .. })
    ));
    // The same table by path, file:// URL and open_or_create.
    let file_url = format!("file://{url}");
    let by_url = DeltaStore::<Order>::open(&file_url).await.unwrap();
    store.append(&soa(&orders(5))).await.unwrap();
    assert_eq!(by_url.count().await.unwrap(), 5);
    let again = DeltaStore::<Order>::open_or_create(&url).await.unwrap();
    assert_eq!(again.version().await.unwrap(), 1);
    // A relative path resolves against the working directory.
    let rel =
        DeltaStore::<Order>::open(Path::new(&url).strip_prefix("/").map_or(url.clone(), |p| {
            let depth = std::env::current_dir().unwrap().components().count() - 1;
            format!("{}{}", "../".repeat(depth), p.display())
        }))
        .await
        .unwrap();
    assert_eq!(rel.count().await.unwrap(), 5);

    // Another row type on this table: refused, naming both types.
    #[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
    struct Other {
        order_id: u64,
    }
    match DeltaStore::<Other>::open(&url).await {
        Err(e @ Error::SchemaMismatch { .. }) => {
            let text = e.to_string();
            assert!(text.contains("Order") && text.contains("Other"), "{text}");
        }
        other => panic!("other type: {other:?}"),
    }
    // A bad URL is an invalid option, a scheme without its feature says which feature.
    assert!(matches!(
        DeltaStore::<Order>::open("s4://x/y").await,
        Err(Error::InvalidOption { .. })
    ));
}

#[tokio::test(flavor = "multi_thread")]
async fn time_travel_and_history() {
    let dir = tempfile::tempdir().unwrap();
    let store = DeltaStore::<Order>::create(table(&dir, "t")).await.unwrap();
    let all = orders(30);
    store.save(&soa(&all[..10])).await.unwrap(); // v1
    let after_v1 = SystemTime::now();
    tokio::time::sleep(Duration::from_millis(20)).await;
    store.append(&soa(&all[10..20])).await.unwrap(); // v2
    store.save(&soa(&all[20..30])).await.unwrap(); // v3 overwrite
    store.clear().await.unwrap(); // v4

    assert_eq!(store.version().await.unwrap(), 4);
    assert_eq!(store.count().await.unwrap(), 0);
    let v1 = store.at_version(1).await.unwrap();
    assert_eq!(v1.load().await.unwrap().into_rows(), all[..10].to_vec());
    assert_eq!(v1.count().await.unwrap(), 10);
    let v2 = store.at_version(2).await.unwrap();
    assert_eq!(v2.load().await.unwrap().into_rows(), all[..20].to_vec());
    let v3 = store.at_version(3).await.unwrap();
    assert_eq!(v3.load().await.unwrap().into_rows(), all[20..30].to_vec());
    let cols = v3.load_columns(&["order_id"]).await.unwrap();
    assert_eq!(cols.num_rows(), 10);
    assert_eq!(v3.stats().rows, 10);
    // A view is read-only.
    assert!(matches!(
        v1.append(&soa(&all[..1])).await,
        Err(Error::Delta { .. })
    ));
    // By time: the latest version committed at or before the instant.
    let then = store.at_timestamp(after_v1).await.unwrap();
    assert_eq!(then.version().await.unwrap(), 1);
    assert!(matches!(
        store.at_timestamp(SystemTime::UNIX_EPOCH).await,
        Err(Error::Delta { .. })
    ));
    assert!(matches!(
        store.at_version(99).await,
        Err(Error::Delta { .. })
    ));

    let history = store.history().await.unwrap();
    type Summary<'a> = (u64, &'a str, Option<&'a str>, u64, u64, u64);
    let summary: Vec<Summary> = history
        .iter()
        .map(|c| {
            (
                c.version,
                c.operation.as_str(),
                c.parameters.get("mode").map(String::as_str),
                c.files_added,
                c.files_removed,
                c.rows_added,
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (0, "CREATE TABLE", Some("ErrorIfExists"), 0, 0, 0),
            (1, "WRITE", Some("Overwrite"), 1, 0, 10),
            (2, "WRITE", Some("Append"), 1, 0, 10),
            (3, "WRITE", Some("Overwrite"), 1, 2, 10),
            (4, "WRITE", Some("Overwrite"), 0, 1, 0),
        ]
    );
    assert!(history.windows(2).all(|w| w[0].timestamp <= w[1].timestamp));
    assert!(
        history
            .iter()
            .all(|c| c.engine.as_deref().is_some_and(|e| e.starts_with("soa/")))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn compaction_keeps_rows_and_order_and_vacuum_deletes_only_unreferenced_files() {
    let dir = tempfile::tempdir().unwrap();
    let url = table(&dir, "t");
    let store = DeltaStore::<Order>::builder(&url)
        .checkpoint_interval(0)
        .create()
        .await
        .unwrap();
    let all = orders(1000);
    for chunk in all.chunks(100) {
        store.append(&soa(chunk)).await.unwrap();
    }
    assert_eq!(store.stats().batches, 10);
    let before = store.version().await.unwrap();
    let report = store.compact().await.unwrap();
    assert_eq!(report.files_removed, 10);
    assert_eq!(report.files_added, 1);
    assert_eq!(report.version, Some(before + 1));
    assert_eq!(store.stats().batches, 1);
    assert_eq!(store.load().await.unwrap().into_rows(), all);
    // Nothing left to compact: no commit.
    assert_eq!(store.compact().await.unwrap().version, None);
    // dataChange=false on the compaction's actions.
    let log = std::fs::read_to_string(
        Path::new(&url).join(format!("_delta_log/{:020}.json", before + 1)),
    )
    .unwrap();
    assert!(log.contains("\"OPTIMIZE\""));
    let actions: Vec<serde_json_like::Line> = log.lines().map(serde_json_like::Line::new).collect();
    assert!(
        actions
            .iter()
            .filter(|a| a.is_file_action())
            .all(|a| a.text.contains("\"dataChange\":false"))
    );
    // Time travel still reads the files compaction replaced.
    let old = store.at_version(before).await.unwrap();
    assert_eq!(old.load().await.unwrap().into_rows(), all);

    // An orphan (a data file no commit references, as a killed writer leaves) and the 10
    // replaced files: a vacuum with a long retention deletes nothing, with zero everything
    // unreferenced, never the current file nor the log.
    std::fs::write(Path::new(&url).join("part-orphan.parquet"), b"junk").unwrap();
    let kept = store.vacuum(Duration::from_secs(3600)).await.unwrap();
    assert!(kept.deleted.is_empty());
    let report = store.vacuum(Duration::ZERO).await.unwrap();
    assert_eq!(report.deleted.len(), 11, "{:?}", report.deleted);
    assert!(report.deleted.contains(&"part-orphan.parquet".to_owned()));
    let left: Vec<String> = files_under(Path::new(&url))
        .into_iter()
        .filter(|f| !f.starts_with("_delta_log"))
        .collect();
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(store.load().await.unwrap().into_rows(), all);
}

/// Minimal line classification for the log assertions (no JSON dependency in this crate).
mod serde_json_like {
    pub struct Line<'a> {
        pub text: &'a str,
    }
    impl<'a> Line<'a> {
        pub fn new(text: &'a str) -> Self {
            Line { text }
        }
        pub fn is_file_action(&self) -> bool {
            self.text.starts_with("{\"add\"") || self.text.starts_with("{\"remove\"")
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn checkpoints_every_interval_and_reads_through_them() {
    let dir = tempfile::tempdir().unwrap();
    let url = table(&dir, "t");
    let store = DeltaStore::<Order>::builder(&url)
        .checkpoint_interval(5)
        .create()
        .await
        .unwrap();
    let all = orders(120);
    for chunk in all.chunks(10) {
        store.append(&soa(chunk)).await.unwrap();
    }
    let log: Vec<String> = files_under(&Path::new(&url).join("_delta_log"));
    for v in [5u64, 10] {
        let name = format!("{v:020}.checkpoint.parquet");
        assert!(log.contains(&name), "{name} in {log:?}");
    }
    assert!(log.contains(&"_last_checkpoint".to_owned()), "{log:?}");
    let reopened = DeltaStore::<Order>::open(&url).await.unwrap();
    assert_eq!(reopened.version().await.unwrap(), 12);
    assert_eq!(reopened.count().await.unwrap(), 120);
    assert_eq!(reopened.load().await.unwrap().into_rows(), all);
    // The CRC32 tags survive the checkpoint: a damaged file from before it is caught.
    let first_file = files_under(Path::new(&url))
        .into_iter()
        .find(|f| f.starts_with("part-"))
        .unwrap();
    let path = Path::new(&url).join(&first_file);
    let mut bytes = std::fs::read(&path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x10;
    std::fs::write(&path, bytes).unwrap();
    let fresh = DeltaStore::<Order>::open(&url).await.unwrap();
    match fresh.load().await {
        Err(Error::Corrupt { path, reason }) => {
            assert!(path.to_string_lossy().ends_with(&first_file), "{path:?}");
            assert!(reason.contains("checksum"), "{reason}");
        }
        other => panic!("damaged file: {other:?}"),
    }
}

/// Writers racing on one table through separate handles (as separate processes would): every
/// append lands exactly once; an overwrite either lands whole or fails with `CommitConflict`
/// (never silently dropping an append committed after it read the table).
#[tokio::test(flavor = "multi_thread")]
async fn racing_overwrites_conflict_and_appends_land_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = table(&dir, "t");
    DeltaStore::<Order>::create(&url).await.unwrap();
    // Commit k writes 5 rows with order_id = k * 1000 + i (saves: k < 100, appends: k >= 100).
    let block = |k: u64| -> OrderSoA {
        let mut rows = orders(5);
        for (i, row) in rows.iter_mut().enumerate() {
            row.order_id = k * 1000 + i as u64;
        }
        OrderSoA::from(&rows[..])
    };
    let mut tasks = Vec::new();
    for writer in 0..4u64 {
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            let store = DeltaStore::<Order>::open(&url).await.unwrap();
            let mut outcomes = Vec::new();
            for n in 0..10u64 {
                let k = writer * 10 + n;
                if writer % 2 == 0 {
                    outcomes.push((k, store.save(&block(k)).await.map_err(|e| e.to_string())));
                } else {
                    let k = 100 + k;
                    outcomes.push((k, store.append(&block(k)).await.map_err(|e| e.to_string())));
                }
            }
            outcomes
        }));
    }
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.extend(task.await.unwrap());
    }
    for (k, outcome) in &outcomes {
        match outcome {
            Ok(()) => {}
            Err(e) if *k < 100 => assert!(e.starts_with("commit conflict"), "save {k}: {e}"),
            Err(e) => panic!("append {k} failed: {e}"),
        }
    }
    // The content is the last overwrite's block followed by every append committed after it,
    // each whole, in version order.
    let store = DeltaStore::<Order>::open(&url).await.unwrap();
    let ids: Vec<u64> = store
        .load()
        .await
        .unwrap()
        .into_rows()
        .iter()
        .map(|r| r.order_id)
        .collect();
    let blocks: Vec<u64> = ids.chunks(5).map(|c| c[0] / 1000).collect();
    for (chunk, k) in ids.chunks(5).zip(&blocks) {
        let expected: Vec<u64> = (0..5).map(|i| k * 1000 + i).collect();
        assert_eq!(chunk, expected.as_slice(), "block {k} whole");
    }
    let history = store.history().await.unwrap();
    let last_overwrite = history
        .iter()
        .rposition(|c| c.parameters.get("mode").map(String::as_str) == Some("Overwrite"));
    let appends_after = history
        .iter()
        .skip(last_overwrite.map_or(0, |i| i + 1))
        .filter(|c| c.parameters.get("mode").map(String::as_str) == Some("Append"))
        .count();
    let saved = usize::from(last_overwrite.is_some());
    assert_eq!(blocks.len(), saved + appends_after, "{blocks:?}");
    if saved == 1 {
        assert!(
            blocks[0] < 100,
            "the first block is an overwrite's: {blocks:?}"
        );
    }
    assert!(blocks[saved..].iter().all(|k| *k >= 100));
    // Every append is in the log exactly once; versions are gap-free.
    let appended = history
        .iter()
        .filter(|c| c.parameters.get("mode").map(String::as_str) == Some("Append"))
        .count();
    assert_eq!(appended, 20);
    assert!(
        history
            .iter()
            .enumerate()
            .all(|(i, c)| c.version == i as u64)
    );
    let succeeded_saves = outcomes
        .iter()
        .filter(|(k, o)| *k < 100 && o.is_ok())
        .count();
    let overwrites = history
        .iter()
        .filter(|c| c.parameters.get("mode").map(String::as_str) == Some("Overwrite"))
        .count();
    assert_eq!(succeeded_saves, overwrites);
}

#[tokio::test(flavor = "multi_thread")]
async fn types_delta_cannot_hold_are_refused_at_create_and_values_are_exact() {
    use soa_runtime::FieldError;
    use soa_runtime::arrow::array::{Array, ArrayRef};
    use soa_runtime::arrow::datatypes::{DataType, IntervalUnit};

    // A field type Delta has no type for (a user's ArrowField as an interval): refused when the
    // table is created, naming the field, before anything is written.
    #[derive(Debug, Clone, Copy, PartialEq, Default)]
    struct Gap;
    impl soa_runtime::ArrowField for Gap {
        fn data_type() -> DataType {
            DataType::Interval(IntervalUnit::DayTime)
        }
        fn to_array(_: &[Self]) -> Result<ArrayRef, FieldError> {
            Err(FieldError::Unsupported("not needed".into()))
        }
        fn from_array(_: &dyn Array) -> Result<Vec<Self>, FieldError> {
            Err(FieldError::Unsupported("not needed".into()))
        }
        fn to_array_opt(_: &[Option<Self>]) -> Result<ArrayRef, FieldError> {
            Err(FieldError::Unsupported("not needed".into()))
        }
        fn from_array_opt(_: &dyn Array) -> Result<Vec<Option<Self>>, FieldError> {
            Err(FieldError::Unsupported("not needed".into()))
        }
    }
    #[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
    struct Leave {
        id: u32,
        gap: Gap,
    }
    let dir = tempfile::tempdir().unwrap();
    match DeltaStore::<Leave>::create(table(&dir, "leave")).await {
        Err(e @ Error::UnsupportedType { .. }) => {
            let text = e.to_string();
            assert!(
                text.starts_with("Leave.gap: DeltaStore cannot hold"),
                "{text}"
            );
        }
        other => panic!("interval: {other:?}"),
    }
    assert!(!Path::new(&table(&dir, "leave")).exists());

    #[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
    struct Nanos {
        id: u32,
        #[soa(timestamp = "ns")]
        at: i64,
    }
    let store = DeltaStore::<Nanos>::create(table(&dir, "n")).await.unwrap();
    let ok = NanosSoA::from(
        &[
            Nanos { id: 1, at: -1_000 },
            Nanos {
                id: 2,
                at: i64::MAX / 1000 * 1000,
            },
        ][..],
    );
    store.append(&ok).await.unwrap();
    assert_eq!(store.load().await.unwrap(), ok);
    // Digits below the microsecond cannot be stored: refused, naming the field, nothing written.
    let bad = NanosSoA::from(&[Nanos { id: 3, at: 1_001 }][..]);
    match store.append(&bad).await {
        Err(Error::OutOfRange {
            type_name, column, ..
        }) => {
            assert_eq!((type_name, column.as_str()), ("Nanos", "at"));
        }
        other => panic!("sub-µs: {other:?}"),
    }
    assert_eq!(store.version().await.unwrap(), 1);

    // Column names Delta cannot hold without column mapping.
    #[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
    struct Spaced {
        #[soa(rename = "two words")]
        x: i32,
    }
    match DeltaStore::<Spaced>::create(table(&dir, "s")).await {
        Err(Error::UnsupportedType {
            type_name,
            column,
            reason,
            ..
        }) => {
            assert_eq!((type_name, column.as_str()), ("Spaced", "two words"));
            assert!(
                reason.contains("column mapping") || reason.contains("does not allow"),
                "{reason}"
            );
        }
        other => panic!("spaced name: {other:?}"),
    }
    assert!(!Path::new(&table(&dir, "s")).join("_delta_log").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn memory_tables_are_shared_by_url() {
    let url = format!("memory://{}", unique("shared"));
    let a = DeltaStore::<Order>::create(&url).await.unwrap();
    a.append(&soa(&orders(3))).await.unwrap();
    let b = DeltaStore::<Order>::open(&url).await.unwrap();
    assert_eq!(b.load().await.unwrap().into_rows(), orders(3));
    let other = format!("memory://{}", unique("other"));
    assert!(matches!(
        DeltaStore::<Order>::open(&other).await,
        Err(Error::TableNotFound { .. })
    ));
}

/// The same life cycle on any backend: create, writes, time travel, history, compaction, vacuum.
#[cfg(any(feature = "aws", feature = "azure", feature = "gcp"))]
async fn life_cycle(builder: impl Fn() -> soa_runtime::store::delta::DeltaStoreBuilder<Order>) {
    let store = builder().create().await.expect("create");
    let all = orders(300);
    store.save(&soa(&all[..100])).await.expect("save");
    store.append(&soa(&all[100..200])).await.expect("append");
    store.append(&soa(&all[200..])).await.expect("append");
    assert_eq!(store.count().await.unwrap(), 300);
    assert_eq!(store.load().await.unwrap().into_rows(), all);
    let reopened = builder().open().await.expect("open");
    assert_eq!(reopened.load().await.unwrap().into_rows(), all);
    assert_eq!(
        reopened
            .at_version(1)
            .await
            .unwrap()
            .load()
            .await
            .unwrap()
            .into_rows(),
        all[..100].to_vec()
    );
    let history = reopened.history().await.unwrap();
    assert_eq!(
        history.iter().map(|c| c.version).collect::<Vec<_>>(),
        vec![0, 1, 2, 3]
    );
    let report = store.compact().await.unwrap();
    assert_eq!((report.files_removed, report.files_added), (3, 1));
    assert_eq!(reopened.load().await.unwrap().into_rows(), all);
    let vacuumed = store.vacuum(Duration::ZERO).await.unwrap();
    assert_eq!(vacuumed.deleted.len(), 3);
    assert_eq!(reopened.load().await.unwrap().into_rows(), all);
    store.save(&soa(&all[..1])).await.unwrap();
    assert_eq!(
        reopened.load().await.unwrap().into_rows(),
        all[..1].to_vec()
    );
}

#[cfg(any(feature = "aws", feature = "azure", feature = "gcp"))]
fn interop_required() -> bool {
    std::env::var("SOA_INTEROP").as_deref() == Ok("1")
}

#[cfg(any(feature = "aws", feature = "azure", feature = "gcp"))]
fn server(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Some(v),
        _ => {
            assert!(
                !interop_required(),
                "{var} is not set although SOA_INTEROP=1 (scripts/test.sh starts the servers)"
            );
            println!("skipped: {var} is not set (scripts/test.sh starts the local servers)");
            None
        }
    }
}

#[cfg(feature = "aws")]
#[tokio::test(flavor = "multi_thread")]
async fn s3_on_a_local_server() {
    let Some(endpoint) = server("SOA_TEST_S3_ENDPOINT") else {
        return;
    };
    let bucket = std::env::var("SOA_TEST_S3_BUCKET").unwrap_or_else(|_| "soa-test".into());
    let url = format!("s3://{bucket}/{}/orders", unique("life"));
    life_cycle(|| {
        DeltaStore::<Order>::builder(&url)
            .storage_option("aws_endpoint", &endpoint)
            .storage_option("aws_region", "us-east-1")
            .allow_http(true)
    })
    .await;
}

/// Azurite's well-known development account key (public, documented by Microsoft).
#[cfg(feature = "azure")]
const AZURITE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

#[cfg(feature = "azure")]
#[tokio::test(flavor = "multi_thread")]
async fn azure_blob_on_azurite() {
    let Some(endpoint) = server("SOA_TEST_AZURE_ENDPOINT") else {
        return;
    };
    let container = std::env::var("SOA_TEST_AZURE_CONTAINER").unwrap_or_else(|_| "soa-test".into());
    let url = format!("az://{container}/{}/orders", unique("life"));
    life_cycle(|| {
        DeltaStore::<Order>::builder(&url)
            .storage_option("azure_storage_endpoint", &endpoint)
            .storage_option("azure_storage_account_name", "devstoreaccount1")
            .storage_option("azure_storage_account_key", AZURITE_KEY)
            .allow_http(true)
    })
    .await;
}

#[cfg(feature = "gcp")]
#[tokio::test(flavor = "multi_thread")]
async fn gcs_urls_and_options_parse_and_a_real_bucket_when_given() {
    // No offline GCS server honours preconditions: the URL and options are checked here, the
    // commit protocol on a real bucket only when SOA_TEST_GCS_BUCKET names one.
    let store = DeltaStore::<Order>::builder("gs://some-bucket/tables/orders")
        .storage_option("google_service_account_key", "{not json")
        .open()
        .await;
    match store {
        Err(Error::InvalidOption { option, reason }) => {
            assert_eq!(option, "url");
            assert!(reason.contains("gs://some-bucket"), "{reason}");
        }
        Err(Error::ObjectStore { .. }) => {}
        other => panic!("gs:// with a bad key: {other:?}"),
    }
    let Ok(bucket) = std::env::var("SOA_TEST_GCS_BUCKET") else {
        println!(
            "skipped: SOA_TEST_GCS_BUCKET is not set (no offline GCS server honours preconditions)"
        );
        return;
    };
    let url = format!("gs://{bucket}/{}/orders", unique("life"));
    life_cycle(|| DeltaStore::<Order>::builder(&url)).await;
}

/// Data enums (a struct with a dictionary tag), maps, nested options and lists of structs go
/// through the Delta types and back exactly.
#[tokio::test(flavor = "multi_thread")]
async fn data_enums_maps_and_nesting_round_trip() {
    use std::collections::HashMap;

    #[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
    enum Shape {
        Empty,
        Circle { radius: f64, label: Option<String> },
        Rect(u32, u32),
    }
    #[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
    struct Inner {
        small: u8,
        big: u64,
    }
    #[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
    struct Drawing {
        id: u32,
        shape: Shape,
        maybe: Option<Shape>,
        many: Vec<Shape>,
        tags: HashMap<String, u16>,
        inners: Vec<Option<Inner>>,
        grid: [[u8; 2]; 2],
        fixed: [u8; 3],
    }
    let rows = vec![
        Drawing {
            id: 1,
            shape: Shape::Empty,
            maybe: None,
            many: vec![],
            tags: HashMap::new(),
            inners: vec![],
            grid: [[0, 1], [2, 3]],
            fixed: [0, 0, 0],
        },
        Drawing {
            id: 2,
            shape: Shape::Circle {
                radius: -2.5,
                label: Some("ö".into()),
            },
            maybe: Some(Shape::Rect(3, u32::MAX)),
            many: vec![
                Shape::Empty,
                Shape::Circle {
                    radius: f64::INFINITY,
                    label: None,
                },
            ],
            tags: HashMap::from([("a".into(), u16::MAX), ("".into(), 0)]),
            inners: vec![
                None,
                Some(Inner {
                    small: u8::MAX,
                    big: u64::MAX,
                }),
            ],
            grid: [[255, 254], [0, 7]],
            fixed: [1, 2, 255],
        },
    ];
    let dir = tempfile::tempdir().unwrap();
    // u64::MAX inside: the full-range mapping.
    let store = DeltaStore::<Drawing>::builder(table(&dir, "d"))
        .u64_as_decimal(true)
        .create()
        .await
        .unwrap();
    store.append(&DrawingSoA::from(&rows[..1])).await.unwrap();
    store.append(&DrawingSoA::from(&rows[1..])).await.unwrap();
    assert_eq!(store.load().await.unwrap().into_rows(), rows);
    let reopened = DeltaStore::<Drawing>::open(table(&dir, "d")).await.unwrap();
    assert_eq!(reopened.load().await.unwrap().into_rows(), rows);
    assert_eq!(store.compact().await.unwrap().files_added, 1);
    assert_eq!(reopened.load().await.unwrap().into_rows(), rows);
}

/// `u64` is a Delta `long` by default (values above `i64::MAX` refused, naming the field), or
/// `decimal(20,0)` with `u64_as_decimal(true)`; an existing table is opened with the mapping it
/// was created with, whatever the builder says.
#[tokio::test(flavor = "multi_thread")]
async fn u64_as_long_or_decimal_and_tables_keep_their_mapping() {
    #[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
    struct Id {
        id: u64,
    }
    let rows = |ids: &[u64]| IdSoA::from(&ids.iter().map(|&id| Id { id }).collect::<Vec<_>>()[..]);
    let dir = tempfile::tempdir().unwrap();
    let long = DeltaStore::<Id>::create(table(&dir, "long")).await.unwrap();
    long.append(&rows(&[0, i64::MAX as u64])).await.unwrap();
    match long.append(&rows(&[1, u64::MAX])).await {
        Err(Error::OutOfRange {
            type_name,
            column,
            reason,
        }) => {
            assert_eq!((type_name, column.as_str()), ("Id", "id"));
            assert!(reason.contains("u64_as_decimal"), "{reason}");
        }
        other => panic!("u64::MAX as long: {other:?}"),
    }
    assert_eq!(long.load().await.unwrap(), rows(&[0, i64::MAX as u64]));
    let log0 = Path::new(&table(&dir, "long")).join("_delta_log/00000000000000000000.json");
    let schema = std::fs::read_to_string(log0).unwrap();
    assert!(schema.contains(r#"\"type\":\"long\""#), "{schema}");

    let wide = DeltaStore::<Id>::builder(table(&dir, "wide"))
        .u64_as_decimal(true)
        .create()
        .await
        .unwrap();
    wide.append(&rows(&[0, u64::MAX])).await.unwrap();
    // Opened without the option: the table's own mapping.
    let reopened = DeltaStore::<Id>::open(table(&dir, "wide")).await.unwrap();
    assert_eq!(reopened.load().await.unwrap(), rows(&[0, u64::MAX]));
    reopened.append(&rows(&[u64::MAX - 1])).await.unwrap();
    assert_eq!(
        wide.load().await.unwrap(),
        rows(&[0, u64::MAX, u64::MAX - 1])
    );
    // And the long table opened with the option stays long.
    let long_again = DeltaStore::<Id>::builder(table(&dir, "long"))
        .u64_as_decimal(true)
        .open()
        .await
        .unwrap();
    assert!(long_again.append(&rows(&[u64::MAX])).await.is_err());
}

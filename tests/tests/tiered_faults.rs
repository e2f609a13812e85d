//! `TieredStore` under injected I/O failures of the write-ahead log (a failed write, a short
//! write, a failed fsync, a segment that cannot be created; as a full disk or an I/O error) and
//! of the cold tier (a commit that fails before or after its commit point): every failure is a
//! typed error to the producer, nothing that failed is acknowledged, and after reopening every
//! acknowledged row is there exactly once.
//!
//! The log's fault hook is process-wide: this file holds one test.

use std::collections::HashSet;
use std::io;
use std::path::Path;
use std::time::Duration;

use soa_runtime::store::parquet::FaultPoint;
use soa_runtime::store::tiered::{Durability, FlushPolicy, TieredOptions, TieredStore};
use soa_runtime::store::wal::WalOptions;
use soa_runtime::store::wal::faults::{self, Step};
use soa_runtime::{Error, ParquetStore, Soa, Store, StoreExt, ToArrow};

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
struct Reading {
    id: u64,
    sensor: String,
}

fn rows(first: u64, n: u64) -> ReadingSoA {
    (first..first + n)
        .map(|id| Reading {
            id,
            sensor: format!("s{}", id % 5),
        })
        .collect()
}

fn options(durability: Durability) -> TieredOptions {
    TieredOptions::new()
        .durability(durability)
        .flush(
            FlushPolicy::new()
                .rows(u64::MAX)
                .bytes(u64::MAX)
                .age(Duration::from_secs(3600)),
        )
        .wal(WalOptions::default().segment_bytes(4 * 1024))
}

async fn open(
    dir: &Path,
    durability: Durability,
    cold_fault: Option<(FaultPoint, io::ErrorKind)>,
) -> soa_runtime::Result<TieredStore<Reading, ParquetStore<Reading>>> {
    let mut cold = ParquetStore::<Reading>::builder(dir.join("cold"));
    if let Some((point, kind)) = cold_fault {
        cold = cold.inject_fault(point, kind);
    }
    let cold = cold.open_or_create().await?;
    TieredStore::open(dir.join("wal"), cold, options(durability)).await
}

/// Every acknowledged id is stored once, nothing else but ids that were sent.
async fn check(dir: &Path, acked: &HashSet<u64>, sent: u64, case: &str) {
    let store = open(dir, Durability::Sync, None)
        .await
        .unwrap_or_else(|e| panic!("{case}: reopening failed: {e}"));
    let ids = store.load().await.unwrap().id;
    let mut seen = HashSet::new();
    for id in &ids {
        assert!(seen.insert(*id), "{case}: id {id} twice");
        assert!(*id < sent, "{case}: id {id} never sent");
    }
    for id in acked {
        assert!(seen.contains(id), "{case}: acknowledged id {id} missing");
    }
    assert_eq!(store.count().await.unwrap(), ids.len() as u64, "{case}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_failures_are_typed_and_never_acknowledged() {
    let mut failures_seen = 0;
    for step in [Step::Write, Step::ShortWrite, Step::Sync, Step::NewSegment] {
        for kind in [io::ErrorKind::StorageFull, io::ErrorKind::Other] {
            for nth in [1u64, 2, 3, 5] {
                let case = format!("{step:?} #{nth} as {kind:?}");
                let dir = tempfile::tempdir().unwrap();
                let store = open(dir.path(), Durability::Sync, None).await.unwrap();
                let ingest = store.ingestor();
                faults::inject(step, nth, kind);
                let mut acked = HashSet::new();
                let mut failed = 0;
                let mut next = 0u64;
                for k in 0..24u64 {
                    let n = 1 + k % 40;
                    match ingest.send_batch(&rows(next, n)).await {
                        Ok(_) => acked.extend(next..next + n),
                        Err(Error::Io { .. }) => failed += 1,
                        Err(other) => panic!("{case}: untyped failure {other}"),
                    }
                    next += n;
                    if k == 12 {
                        // A flush in the middle: the log's segments are deleted and rolled.
                        store.flush().await.unwrap();
                    }
                }
                let happened = faults::clear();
                assert!(happened, "{case}: the fault was never reached");
                // A segment that cannot be created fails the send that needed it, or (when the
                // flush rolls the log) only the reclaiming of space, which loses nothing.
                assert!(
                    failed >= 1 || step == Step::NewSegment,
                    "{case}: the failure was not reported"
                );
                failures_seen += failed;
                // What the store serves now: the acknowledged rows at least, each once.
                let ids = store.load().await.unwrap().id;
                let unique: HashSet<u64> = ids.iter().copied().collect();
                assert_eq!(unique.len(), ids.len(), "{case}: a row twice");
                assert!(acked.iter().all(|id| unique.contains(id)), "{case}");
                drop(ingest);
                drop(store);
                check(dir.path(), &acked, next, &case).await;
            }
        }
    }
    assert!(failures_seen > 0);

    // The same failures with every send in flight at once (`submit_batch`): each `Ack` reports
    // its own send; none acknowledges rows that are not in the log.
    for step in [Step::Write, Step::ShortWrite, Step::Sync, Step::NewSegment] {
        for nth in [1u64, 2, 4] {
            let case = format!("in flight: {step:?} #{nth}");
            let dir = tempfile::tempdir().unwrap();
            let store = open(dir.path(), Durability::Sync, None).await.unwrap();
            let ingest = store.ingestor();
            faults::inject(step, nth, io::ErrorKind::StorageFull);
            let mut pending = Vec::new();
            let mut next = 0u64;
            for k in 0..24u64 {
                let n = 1 + k % 40;
                pending.push((next, n, ingest.submit_batch(&rows(next, n)).await.unwrap()));
                next += n;
            }
            let mut acked = HashSet::new();
            let mut failed = 0;
            for (first, n, ack) in pending {
                match ack.await {
                    Ok(_) => acked.extend(first..first + n),
                    Err(Error::Io { .. } | Error::Task(_)) => failed += 1,
                    Err(other) => panic!("{case}: untyped failure {other}"),
                }
            }
            let happened = faults::clear();
            assert!(happened, "{case}: the fault was never reached");
            assert!(
                failed >= 1 || step == Step::NewSegment,
                "{case}: the failure was not reported"
            );
            drop(ingest);
            drop(store);
            check(dir.path(), &acked, next, &case).await;
        }
    }

    // The cold tier failing: before its commit point the rows stay hot and in the log; after
    // it the flush counts as done (the cold tier's mark says so) and nothing is doubled.
    for point in [
        FaultPoint::CreateStaged,
        FaultPoint::BeforeCommit,
        FaultPoint::AfterCommit,
    ] {
        let case = format!("cold {point:?}");
        let dir = tempfile::tempdir().unwrap();
        // The cold store exists first (its creation is a commit too).
        drop(
            ParquetStore::<Reading>::open_or_create(dir.path().join("cold"))
                .await
                .unwrap(),
        );
        let store = open(
            dir.path(),
            Durability::Sync,
            Some((point, io::ErrorKind::StorageFull)),
        )
        .await
        .unwrap();
        let ingest = store.ingestor();
        let mut acked = HashSet::new();
        for k in 0..10u64 {
            ingest.send_batch(&rows(k * 10, 10)).await.unwrap();
            acked.extend(k * 10..k * 10 + 10);
        }
        let flushed = store.flush().await;
        assert_eq!(
            flushed.is_ok(),
            point == FaultPoint::AfterCommit,
            "{case}: {flushed:?}"
        );
        let ids = store.load().await.unwrap().id;
        let unique: HashSet<u64> = ids.iter().copied().collect();
        assert_eq!((unique.len(), ids.len()), (100, 100), "{case}");
        drop(ingest);
        drop(store);
        check(dir.path(), &acked, 100, &case).await;
    }
}

//! `TieredStore`: hot rows in memory and a write-ahead log in front of a `ParquetStore`, read as
//! one store; flushes, recovery from the log after a crash, exactly-once reads while flushing.

use std::collections::BTreeSet;
use std::time::Duration;

use soa_runtime::predicate::Predicate;
use soa_runtime::prelude::*;
use soa_runtime::store::tiered::{Durability, FlushPolicy, TieredOptions, TieredStore};
use soa_runtime::store::wal::WalOptions;

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
struct Event {
    id: u64,
    source: String,
    value: Option<f64>,
}

fn events(from: u64, n: u64) -> EventSoA {
    (from..from + n)
        .map(|id| Event {
            id,
            source: format!("s{}", id % 7),
            value: (id % 3 != 0).then_some(id as f64 * 0.5),
        })
        .collect()
}

async fn ids<S: Store<Event>>(store: &S) -> Vec<u64> {
    let mut ids = store.load().await.unwrap().id;
    ids.sort_unstable();
    ids
}

async fn open(
    dir: &std::path::Path,
    options: TieredOptions,
) -> TieredStore<Event, ParquetStore<Event>> {
    let cold = ParquetStore::<Event>::open_or_create(dir.join("cold"))
        .await
        .unwrap();
    TieredStore::open(dir.join("wal"), cold, options)
        .await
        .unwrap()
}

/// No automatic flush during the test (the test flushes by hand).
fn manual() -> TieredOptions {
    TieredOptions::new().flush(
        FlushPolicy::new()
            .rows(u64::MAX)
            .bytes(u64::MAX)
            .age(Duration::from_secs(3600)),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn producers_flush_and_reads_see_every_row_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), manual()).await;
    let mut tasks = Vec::new();
    for p in 0..4u64 {
        let ingest = store.ingestor();
        tasks.push(tokio::spawn(async move {
            let mut seqs = Vec::new();
            for k in 0..50u64 {
                seqs.push(
                    ingest
                        .send_batch(&events((p * 50 + k) * 10, 10))
                        .await
                        .unwrap(),
                );
            }
            seqs
        }));
    }
    let mut seqs = BTreeSet::new();
    for t in tasks {
        for s in t.await.unwrap() {
            assert!(seqs.insert(s), "sequence number {s} twice");
        }
    }
    assert_eq!(seqs.len(), 200);
    assert_eq!(store.count().await.unwrap(), 2000);
    assert_eq!(ids(&store).await, (0..2000).collect::<Vec<_>>());
    assert_eq!(store.tiered_stats().hot_rows, 2000);
    store.flush().await.unwrap();
    let stats = store.tiered_stats();
    assert_eq!((stats.hot_rows, stats.flushes), (0, 1));
    assert_eq!(stats.cold_mark, *seqs.last().unwrap());
    assert_eq!(store.cold().count().await.unwrap(), 2000);
    assert_eq!(store.count().await.unwrap(), 2000);
    // One row, then a predicate over both tiers.
    store
        .ingestor()
        .send(Event {
            id: 5000,
            source: "ü".into(),
            value: None,
        })
        .await
        .unwrap();
    let c = Event::col();
    let got = store.load_where(c.id.ge(1995)).await.unwrap();
    let mut got = got.id;
    got.sort_unstable();
    assert_eq!(got, vec![1995, 1996, 1997, 1998, 1999, 5000]);
    store.close().await.unwrap();
    assert!(store.ingestor().send_batch(&events(9000, 1)).await.is_err());
    assert_eq!(store.count().await.unwrap(), 2001);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_replays_exactly_what_the_cold_tier_lacks() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(dir.path(), manual()).await;
        let ingest = store.ingestor();
        for k in 0..10 {
            ingest.send_batch(&events(k * 100, 100)).await.unwrap();
        }
        store.flush().await.unwrap();
        for k in 10..15 {
            ingest.send_batch(&events(k * 100, 100)).await.unwrap();
        }
        // Dropped without close: as after a crash, the last 500 rows are only in the log.
    }
    let store = open(dir.path(), manual()).await;
    let r = store.recovery().clone();
    assert_eq!((r.records, r.rows), (5, 500), "{r:?}");
    assert_eq!(store.count().await.unwrap(), 1500);
    assert_eq!(ids(&store).await, (0..1500).collect::<Vec<_>>());
    // New records continue after the replayed ones.
    let seq = store.ingestor().send_batch(&events(1500, 1)).await.unwrap();
    assert!(seq > r.cold_mark + 5, "{seq} after {r:?}");

    // A crash between the cold commit and the log truncation: the cold tier has the rows and
    // the mark, the log still has the records; recovery skips them.
    let hot = store.load().await.unwrap();
    let last = store.tiered_stats().last_seq;
    let batch = events(1000, 501).to_record_batch().unwrap();
    store
        .cold()
        .append_marked(vec![batch], store.mark_name(), last)
        .await
        .unwrap();
    drop(store);
    let store = open(dir.path(), manual()).await;
    assert_eq!(store.recovery().rows, 0, "{:?}", store.recovery());
    assert_eq!(store.count().await.unwrap(), 1501);
    assert_eq!(ids(&store).await, {
        let mut v = hot.id;
        v.sort_unstable();
        v
    });
    // All flushed, the log deleted: numbering continues after the cold mark.
    store.flush().await.unwrap();
    drop(store);
    let store = open(dir.path(), manual()).await;
    let seq = store.ingestor().send_batch(&events(1501, 1)).await.unwrap();
    assert!(seq > last, "{seq} <= {last}");
    drop(store);
    let store = open(dir.path(), manual()).await;
    assert_eq!(ids(&store).await, (0..1502).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_during_automatic_flushes_never_see_a_row_twice() {
    let dir = tempfile::tempdir().unwrap();
    let options = TieredOptions::new()
        .flush(
            FlushPolicy::new()
                .rows(3_000)
                .age(Duration::from_millis(50)),
        )
        .wal(WalOptions::default().segment_bytes(64 * 1024));
    let store = open(dir.path(), options).await;
    let total = 20_000u64;
    let mut producers = Vec::new();
    for p in 0..4u64 {
        let ingest = store.ingestor();
        producers.push(tokio::spawn(async move {
            for k in 0..(total / 4 / 50) {
                let from = p * (total / 4) + k * 50;
                ingest.send_batch(&events(from, 50)).await.unwrap();
            }
        }));
    }
    let reader = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut last = 0;
            let mut reads = 0;
            loop {
                let got = store.load().await.unwrap().id;
                let unique: BTreeSet<u64> = got.iter().copied().collect();
                assert_eq!(unique.len(), got.len(), "a row seen twice");
                assert!(
                    got.len() >= last,
                    "rows went missing: {} < {last}",
                    got.len()
                );
                last = got.len();
                reads += 1;
                if last as u64 == total {
                    return reads;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    for p in producers {
        p.await.unwrap();
    }
    let reads = reader.await.unwrap();
    assert!(reads > 1);
    assert!(
        store.tiered_stats().flushes >= 1,
        "{:?}",
        store.tiered_stats()
    );
    store.close().await.unwrap();
    assert_eq!(store.tiered_stats().hot_rows, 0);
    assert_eq!(ids(&store).await, (0..total).collect::<Vec<_>>());
    // Every flushed segment is gone but the one being written.
    let segments = std::fs::read_dir(dir.path().join("wal"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "seg")
        })
        .count();
    assert!(segments <= 2, "{segments} segments left");
}

/// Sends are joined into larger hot batches (for reads) while flushes take the hot rows: with
/// and without a log, reads during both see every row once, the joined batches are pruned by a
/// predicate, and the rows end up exactly once in the cold tier.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joined_hot_batches_are_read_once_across_flushes() {
    for durability in [Durability::Sync, Durability::None] {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path(), manual().durability(durability)).await;
        let total = 240_000u64;
        let flusher = {
            let store = store.clone();
            tokio::spawn(async move {
                let mut flushes = 0;
                while store.count().await.unwrap() < total {
                    tokio::time::sleep(Duration::from_millis(40)).await;
                    store.flush().await.unwrap();
                    flushes += 1;
                }
                flushes
            })
        };
        let mut producers = Vec::new();
        for p in 0..4u64 {
            let ingest = store.ingestor();
            producers.push(tokio::spawn(async move {
                for k in 0..(total / 4 / 100) {
                    let from = p * (total / 4) + k * 100;
                    ingest.send_batch(&events(from, 100)).await.unwrap();
                }
            }));
        }
        let reader = {
            let store = store.clone();
            tokio::spawn(async move {
                let mut last = 0;
                loop {
                    let got = store.load().await.unwrap().id;
                    let unique: BTreeSet<u64> = got.iter().copied().collect();
                    assert_eq!(unique.len(), got.len(), "a row seen twice");
                    assert!(got.len() >= last, "rows went missing");
                    last = got.len();
                    if last as u64 == total {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            })
        };
        for p in producers {
            p.await.unwrap();
        }
        reader.await.unwrap();
        assert!(flusher.await.unwrap() >= 1, "{:?}", store.tiered_stats());
        // 40,000 more rows, no flush: they end up in a few joined batches (and at most
        // `JOIN_ROWS` = 16 Ki rows of sends not yet joined), not 400.
        let more = 40_000u64;
        let ingest = store.ingestor();
        for k in 0..more / 100 {
            ingest
                .send_batch(&events(total + k * 100, 100))
                .await
                .unwrap();
        }
        let total = total + more;
        let mut hot_batches = u64::MAX;
        for _ in 0..100 {
            // A read: a store being read joins its sends (without a log, only then).
            assert_eq!(store.load().await.unwrap().len() as u64, total);
            hot_batches = store.stats().batches - store.cold().stats().batches;
            if hot_batches <= 2 + 164 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(
            hot_batches <= 2 + 164,
            "{hot_batches} hot batches: {:?}",
            store.tiered_stats()
        );
        // A predicate over both tiers (joined hot batches pruned by their statistics): exact.
        let mut stream = store
            .scan_with(ScanOptions::new().predicate(&Event::col().id.ge(total - 1_000)))
            .await
            .unwrap();
        let mut matched = Vec::new();
        while let Some(batch) = futures::StreamExt::next(&mut stream).await {
            let batch = batch.unwrap();
            let ids = batch
                .column_by_name("id")
                .unwrap()
                .as_any()
                .downcast_ref::<soa_runtime::arrow::array::UInt64Array>()
                .unwrap()
                .values()
                .to_vec();
            matched.extend(ids);
        }
        matched.sort_unstable();
        assert_eq!(matched, (total - 1_000..total).collect::<Vec<_>>());
        // Joined batches whose statistics show every row matches skip the predicate: every
        // kind of bound, strings, a float column with nulls, `And`/`Or`, against the rows.
        let all: Vec<Event> = store.load().await.unwrap().into_iter().collect();
        let c = Event::col();
        type Expected = Box<dyn Fn(&Event) -> bool>;
        let cases: Vec<(Predicate<Event>, Expected)> = vec![
            (
                c.id.ge(total - 30_000),
                Box::new(move |e| e.id >= total - 30_000),
            ),
            (
                c.id.gt(total - 30_000),
                Box::new(move |e| e.id > total - 30_000),
            ),
            (c.id.lt(20_000), Box::new(|e| e.id < 20_000)),
            (c.id.le(20_000), Box::new(|e| e.id <= 20_000)),
            (
                c.id.gt(5_000).and(c.id.le(200_000)),
                Box::new(|e| e.id > 5_000 && e.id <= 200_000),
            ),
            (
                c.id.lt(3_000).or(c.id.ge(total - 3_000)),
                Box::new(move |e| e.id < 3_000 || e.id >= total - 3_000),
            ),
            (c.source.ge("s3"), Box::new(|e| e.source.as_str() >= "s3")),
            (
                c.value.gt(100.0),
                Box::new(|e| e.value.is_some_and(|v| v > 100.0)),
            ),
            (
                c.value.le(1e12),
                Box::new(|e| e.value.is_some_and(|v| v <= 1e12)),
            ),
        ];
        for (k, (predicate, expected)) in cases.iter().enumerate() {
            let mut got = store.load_where(predicate.clone()).await.unwrap().id;
            got.sort_unstable();
            let mut want: Vec<u64> = all.iter().filter(|e| expected(e)).map(|e| e.id).collect();
            want.sort_unstable();
            assert!(
                got == want,
                "case {k}: {} rows, expected {}",
                got.len(),
                want.len()
            );
        }
        assert_eq!(store.count().await.unwrap(), total);
        store.close().await.unwrap();
        assert_eq!(ids(&store).await, (0..total).collect::<Vec<_>>());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn durability_levels_and_overwrite() {
    for durability in [
        Durability::Sync,
        Durability::Interval(Duration::from_millis(20)),
        Durability::None,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path(), manual().durability(durability)).await;
        store.append(&events(0, 100)).await.unwrap();
        assert_eq!(store.count().await.unwrap(), 100);
        // The log directory holds the log's id either way; segments only with a log.
        let logged = std::fs::read_dir(dir.path().join("wal"))
            .unwrap()
            .any(|e| e.unwrap().file_name().to_string_lossy().ends_with(".seg"));
        assert_eq!(logged, durability != Durability::None, "{durability:?}");
        drop(store);
        let store = open(dir.path(), manual().durability(durability)).await;
        let expected = if durability == Durability::None {
            0
        } else {
            100
        };
        assert_eq!(store.count().await.unwrap(), expected, "{durability:?}");
        // Overwrite replaces both tiers.
        store.append(&events(100, 10)).await.unwrap();
        store.save(&events(500, 3)).await.unwrap();
        assert_eq!(ids(&store).await, vec![500, 501, 502], "{durability:?}");
        drop(store);
        let store = open(dir.path(), manual().durability(durability)).await;
        assert_eq!(ids(&store).await, vec![500, 501, 502], "{durability:?}");
    }
}

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
struct Tick {
    id: u64,
    symbol: String,
    px: f64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readme_tiered_example_runs_as_written() -> soa_runtime::Result<()> {
    let dir = tempfile::tempdir().unwrap();
    std::env::set_current_dir(dir.path()).unwrap();
    let ticks: TickSoA = (0..1000)
        .map(|id| Tick {
            id,
            symbol: ["AAPL", "MSFT"][id as usize % 2].into(),
            px: id as f64,
        })
        .collect();
    // From the README, as written:
    let cold = ParquetStore::<Tick>::open_or_create("./ticks").await?;
    let options = TieredOptions::new()
        .durability(Durability::Sync) // acknowledged = fsynced in the log (group commit)
        .flush(
            FlushPolicy::new()
                .rows(1_000_000)
                .bytes(64 << 20)
                .age(Duration::from_secs(10)),
        )
        .hot_limit(256 << 20); // sends wait while more than this is waiting to flush
    let store = TieredStore::open("./ticks-wal", cold, options).await?; // recovers the log first
    println!("{:?}", store.recovery()); // records/rows replayed, log bytes, time to queryable

    let ingest = store.ingestor(); // Clone + Send: one per producer task
    let seq = ingest.send_batch(&ticks).await?; // or send(row), send_record_batch(batch)
    assert_eq!(seq, 1);
    let ack = ingest.submit_batch(&ticks).await?; // queued, not yet acknowledged: keep sending...
    let seq = ack.await?; // ...and await the Ack when the rows must be durable
    let n = store.count().await?; // hot + cold
    let aapl = store.load_where(Tick::col().symbol.eq("AAPL")).await?;
    store.flush().await?; // now, instead of waiting for the policy
    store.close().await?; // waits for queued sends, flushes
    // Checks.
    assert_eq!((seq, n, aapl.len()), (2, 2000, 1000));
    assert_eq!(store.cold().count().await?, 2000);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_keeps_recent_rows_in_memory_and_the_sink_sends() {
    use futures::{SinkExt, StreamExt};
    use soa_runtime::store::tiered::Retention;
    let dir = tempfile::tempdir().unwrap();
    let store = open(
        dir.path(),
        manual().retention(Retention::last(250, Duration::from_secs(3600))),
    )
    .await;
    let mut sink = store.ingestor().into_sink();
    let batches: Vec<EventSoA> = (0..10).map(|k| events(k * 100, 100)).collect();
    sink.send_all(&mut futures::stream::iter(batches).map(Ok))
        .await
        .unwrap();
    sink.close().await.unwrap();
    assert_eq!(store.count().await.unwrap(), 1000);
    store.flush().await.unwrap();
    store.append(&events(1000, 50)).await.unwrap();
    // The last 250 flushed rows (whole batches: 300) and the 50 not yet flushed, in order.
    let recent = store.recent().await.unwrap();
    assert_eq!(
        recent.load().await.unwrap().id,
        (700..1050).collect::<Vec<_>>()
    );
    let c = Event::col();
    assert_eq!(recent.load_where(c.id.ge(1040)).await.unwrap().len(), 10);
    // The store itself still sees every row once.
    assert_eq!(ids(&store).await, (0..1050).collect::<Vec<_>>());
    // Without retention, recent() holds only what is not flushed.
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), manual()).await;
    store.append(&events(0, 10)).await.unwrap();
    store.flush().await.unwrap();
    store.append(&events(10, 5)).await.unwrap();
    assert_eq!(
        store.recent().await.unwrap().load().await.unwrap().id,
        (10..15).collect::<Vec<_>>()
    );
}

/// 8 producers and 2 query tasks with flushes, for `SOA_TIERED_SOAK_SECS` seconds (default 3;
/// the long variant is 60): exact final count and id multiset, no read ever sees a row
/// twice or fewer rows than the previous read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_eight_producers_two_queries_and_flushes() {
    let secs: u64 = std::env::var("SOA_TIERED_SOAK_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let dir = tempfile::tempdir().unwrap();
    let options = TieredOptions::new()
        .flush(
            FlushPolicy::new()
                .rows(20_000)
                .age(Duration::from_millis(200)),
        )
        .wal(WalOptions::default().segment_bytes(1 << 20));
    let store = open(dir.path(), options).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    let mut producers = Vec::new();
    for p in 0..8u64 {
        let ingest = store.ingestor();
        producers.push(tokio::spawn(async move {
            let mut sent = 0u64;
            while std::time::Instant::now() < deadline {
                ingest
                    .send_batch(&events(p << 40 | sent, 100))
                    .await
                    .unwrap();
                sent += 100;
            }
            sent
        }));
    }
    let mut queries = Vec::new();
    for q in 0..2 {
        let store = store.clone();
        queries.push(tokio::spawn(async move {
            let mut last = 0u64;
            let mut reads = 0;
            while std::time::Instant::now() < deadline {
                if q == 0 {
                    let n = store.count().await.unwrap();
                    assert!(n >= last, "count went back: {n} < {last}");
                    last = n;
                } else {
                    let got = store.load().await.unwrap().id;
                    let unique: BTreeSet<u64> = got.iter().copied().collect();
                    assert_eq!(unique.len(), got.len(), "a row seen twice");
                    assert!(got.len() as u64 >= last);
                    last = got.len() as u64;
                }
                reads += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            reads
        }));
    }
    let mut expected = Vec::new();
    for (p, t) in producers.into_iter().enumerate() {
        let sent = t.await.unwrap();
        expected.extend((0..sent).map(|k| (p as u64) << 40 | k));
    }
    for q in queries {
        assert!(q.await.unwrap() > 0);
    }
    store.close().await.unwrap();
    expected.sort_unstable();
    assert_eq!(store.count().await.unwrap(), expected.len() as u64);
    assert_eq!(ids(&store).await, expected);
    assert!(store.tiered_stats().flushes >= 1);
}

/// A `DeltaStore` cold tier (feature `delta`): the flushed position is a Delta `txn` action in
/// the same commit as the rows, recovery replays after it, through checkpoints too.
#[cfg(feature = "delta")]
mod delta {
    use super::*;
    use soa_runtime::store::DeltaStore;

    async fn open_delta(url: &str, wal: &std::path::Path) -> TieredStore<Event, DeltaStore<Event>> {
        let cold = DeltaStore::<Event>::open_or_create(url).await.unwrap();
        TieredStore::open(wal, cold, manual()).await.unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn delta_cold_tier_records_txn_and_recovers() {
        let dir = tempfile::tempdir().unwrap();
        let table = dir.path().join("table");
        let url = table.to_str().unwrap().to_owned();
        let wal = dir.path().join("wal");
        {
            let store = open_delta(&url, &wal).await;
            let ingest = store.ingestor();
            // 12 flushes: past a checkpoint (every 10 versions by default).
            for k in 0..12 {
                ingest.send_batch(&events(k * 10, 10)).await.unwrap();
                store.flush().await.unwrap();
            }
            ingest.send_batch(&events(120, 5)).await.unwrap();
            assert_eq!(store.count().await.unwrap(), 125);
            let mark = store.tiered_stats().cold_mark;
            assert_eq!(
                store.cold().marked(store.mark_name()).await.unwrap(),
                Some(mark)
            );
            // The txn action is in the log, as Delta writes it.
            let log = std::fs::read_dir(table.join("_delta_log")).unwrap();
            let txns = log
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .filter(|p| std::fs::read_to_string(p).unwrap().contains("\"txn\""))
                .count();
            assert!(txns >= 12, "{txns} commits with a txn action");
            // Dropped with 5 rows only in the log.
        }
        let store = open_delta(&url, &wal).await;
        assert_eq!(store.recovery().rows, 5, "{:?}", store.recovery());
        assert_eq!(ids(&store).await, (0..125).collect::<Vec<_>>());
        // A crash between the Delta commit and the log truncation: nothing doubled.
        let last = store.tiered_stats().last_seq;
        let batch = events(120, 5).to_record_batch().unwrap();
        store
            .cold()
            .append_marked(vec![batch], store.mark_name(), last)
            .await
            .unwrap();
        drop(store);
        let store = open_delta(&url, &wal).await;
        assert_eq!(store.recovery().rows, 0);
        assert_eq!(ids(&store).await, (0..125).collect::<Vec<_>>());
        store.close().await.unwrap();
        // Other readers see plain rows (the txn is not data).
        let plain = DeltaStore::<Event>::open(&url).await.unwrap();
        assert_eq!(plain.count().await.unwrap(), 125);
    }
}

/// A hot limit below the flush policy's thresholds: senders waiting at the limit get a flush
/// (they waited forever when only the policy could start one).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hot_limit_below_the_flush_policy_still_flushes() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), manual().hot_limit(64 * 1024)).await;
    let ingest = store.ingestor();
    let sent = tokio::time::timeout(Duration::from_secs(60), async {
        for k in 0..100 {
            ingest.send_batch(&events(k * 100, 100)).await.unwrap();
        }
    })
    .await;
    assert!(sent.is_ok(), "sends hung at the hot limit");
    assert!(store.tiered_stats().flushes >= 1);
    assert_eq!(ids(&store).await, (0..10_000).collect::<Vec<_>>());
}

/// `Ingestor::submit_batch`: producers keep several sends in flight; every `Ack` resolves to its
/// send's sequence number, a producer's sends are logged (and read) in the order submitted, and
/// every row is stored once, whatever the durability level, across flushes and a reopen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submitted_sends_in_flight_are_acknowledged_in_order() {
    use soa_runtime::store::tiered::Ack;
    use std::collections::VecDeque;
    for durability in [
        Durability::Sync,
        Durability::Interval(Duration::from_millis(5)),
        Durability::None,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path(), manual().durability(durability)).await;
        // 4 producers x 50 sends of 1..=7 rows, up to 8 in flight each; producer p's ids are
        // p * 1_000_000 + k.
        let mut producers = Vec::new();
        for p in 0..4u64 {
            let ingest = store.ingestor();
            producers.push(tokio::spawn(async move {
                let mut in_flight: VecDeque<Ack> = VecDeque::new();
                let mut seqs = Vec::new();
                let mut next = p * 1_000_000;
                for k in 0..50u64 {
                    if in_flight.len() == 8 {
                        seqs.push(in_flight.pop_front().unwrap().await.unwrap());
                    }
                    let n = 1 + k % 7;
                    in_flight.push_back(ingest.submit_batch(&events(next, n)).await.unwrap());
                    next += n;
                }
                for ack in in_flight {
                    seqs.push(ack.await.unwrap());
                }
                (p, seqs, next)
            }));
        }
        let mut expected = Vec::new();
        let mut all_seqs = BTreeSet::new();
        for (k, h) in producers.into_iter().enumerate() {
            let (p, seqs, next) = h.await.unwrap();
            assert_eq!(seqs.len(), 50);
            assert!(
                seqs.windows(2).all(|w| w[0] < w[1]),
                "{durability:?}: producer {k}'s sends out of order: {seqs:?}"
            );
            all_seqs.extend(seqs);
            expected.extend(p * 1_000_000..next);
            if k == 1 {
                store.flush().await.unwrap();
            }
        }
        assert_eq!(
            all_seqs.len(),
            200,
            "{durability:?}: a sequence number twice"
        );
        expected.sort_unstable();
        // Commit order: each producer's ids ascend in the order the store reads them.
        let loaded = store.load().await.unwrap().id;
        for p in 0..4u64 {
            let mine: Vec<u64> = loaded
                .iter()
                .copied()
                .filter(|id| id / 1_000_000 == p)
                .collect();
            assert!(mine.windows(2).all(|w| w[0] < w[1]), "{durability:?}");
        }
        assert_eq!(ids(&store).await, expected, "{durability:?}");
        store.close().await.unwrap();
        // After close, a submission is refused at once.
        let late = store.ingestor().submit_batch(&events(0, 1)).await;
        assert!(matches!(late, Err(soa_runtime::Error::Task(_))), "{late:?}");
        drop(store);
        let reopened = open(dir.path(), manual()).await;
        if durability != Durability::None {
            assert_eq!(
                ids(&reopened).await,
                expected,
                "{durability:?} after reopen"
            );
        }
    }
}

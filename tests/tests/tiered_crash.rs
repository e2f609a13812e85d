//! Crash safety of `TieredStore` ingestion: a child process (src/bin/tiered_writer.rs) ingests
//! with `Durability::Sync` from four producers, with small log segments and a flush every few
//! milliseconds, and is killed with SIGKILL at a random moment (during sends, fsyncs, flushes,
//! segment deletion), 100 times (`SOA_TIERED_CRASH_TRIALS` to change). After each kill the store
//! is reopened: every row the child reported acknowledged is there exactly once (across every
//! earlier crash too), no row appears twice, and every row is one the child could have sent.

use std::collections::{BTreeMap, HashSet};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use soa_runtime::store::tiered::TieredStore;
use soa_runtime::{ParquetStore, Store, StoreExt};
use soa_tests::child::{Rng, Tick, collect_lines, tiered_options as options};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_while_ingesting_loses_no_acknowledged_row() {
    let trials: u64 = std::env::var("SOA_TIERED_CRASH_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let exe = env!("CARGO_BIN_EXE_tiered_writer");
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().to_owned();
    let mut rng = Rng(0x5EED_0FC0_FFEE);
    // Every id acknowledged so far, by any child.
    let mut acked: HashSet<u64> = HashSet::new();
    let mut outcomes: BTreeMap<&str, u64> = BTreeMap::new();
    let (mut replayed, mut replayed_rows) = (0u64, 0u64);
    let started = Instant::now();
    for run in 1..=trials {
        let mut child = Command::new(exe)
            .arg(&dir)
            .arg(run.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let lines = collect_lines(&mut child);
        let deadline = Instant::now() + Duration::from_secs(60);
        while !lines.lock().unwrap().iter().any(|l| l == "ready") {
            assert!(
                Instant::now() < deadline,
                "run {run}: the child never got ready"
            );
            if let Some(status) = child.try_wait().unwrap() {
                panic!("run {run}: the child exited early: {status}");
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        std::thread::sleep(Duration::from_micros(rng.below(250_000)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        std::thread::sleep(Duration::from_millis(20));
        let lines = lines.lock().unwrap().clone();
        let mut sent_now = 0u64;
        for line in &lines {
            if let Some(rest) = line.strip_prefix("ack ") {
                let (first, count) = rest.split_once(' ').unwrap();
                let (first, count): (u64, u64) = (first.parse().unwrap(), count.parse().unwrap());
                acked.extend(first..first + count);
                sent_now += count;
            }
        }
        *outcomes
            .entry(if sent_now == 0 {
                "killed before any ack"
            } else {
                "killed while acking"
            })
            .or_default() += 1;

        // Reopen as the next writer would, and check.
        let cold = ParquetStore::<Tick>::builder(dir.join("cold"))
            .wait_for_writer(true)
            .open_or_create()
            .await
            .unwrap();
        let store = TieredStore::open(dir.join("wal"), cold, options())
            .await
            .unwrap_or_else(|e| panic!("run {run}: reopening failed: {e}"));
        replayed += store.recovery().records;
        replayed_rows += store.recovery().rows;
        let ids = store.load().await.unwrap().id;
        let mut seen = HashSet::with_capacity(ids.len());
        for id in &ids {
            assert!(seen.insert(*id), "run {run}: id {id:#x} appears twice");
            let (r, producer) = (id >> 40, (id >> 32) & 0xff);
            assert!(
                (1..=run).contains(&r) && producer < 4,
                "run {run}: id {id:#x} was never sent"
            );
        }
        let missing: Vec<u64> = acked
            .iter()
            .filter(|id| !seen.contains(id))
            .copied()
            .collect();
        assert!(
            missing.is_empty(),
            "run {run}: {} acknowledged rows missing, e.g. {:#x}",
            missing.len(),
            missing[0]
        );
        assert_eq!(store.count().await.unwrap(), ids.len() as u64);
        // Half the time the checker flushes what it recovered (as a restarted writer would,
        // later); the other half the next child recovers it again.
        if run % 2 == 0 {
            store.close().await.unwrap();
        }
        drop(store);
    }
    println!(
        "{trials} kills in {:.1} s: {} acknowledged rows all present once; {outcomes:?}; \
         {replayed} log records ({replayed_rows} rows) replayed on reopen",
        started.elapsed().as_secs_f64(),
        acked.len()
    );
    assert!(replayed > 0, "no kill left unflushed records to replay");
    assert!(outcomes.get("killed while acking").copied().unwrap_or(0) > trials / 2);
}

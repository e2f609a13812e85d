//! The child process of tests/tests/tiered_crash.rs: ingests into a `TieredStore` (write-ahead
//! log `Durability::Sync`, small segments, frequent flushes into a `ParquetStore`) from four
//! producer tasks, forever, until it is killed (SIGKILL).
//!
//!     tiered_writer DIR RUN
//!
//! Row ids are `RUN << 40 | producer << 32 | k` (k counts each producer's rows), so every id
//! says who sent it. The process prints `ready` once the store is open (recovery done), then
//! `ack FIRST COUNT` after each acknowledged send (the ids `FIRST..FIRST + COUNT`), so the parent
//! knows which rows it must find after the kill. A send is printed only after its
//! acknowledgement returned, so the list can only under-report.

use std::io::Write;
use std::sync::{Arc, Mutex};

use soa_runtime::ParquetStore;
use soa_runtime::store::tiered::TieredStore;
use soa_tests::child::{Tick, TickSoA, tiered_options as options};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(dir), Some(run)) = (args.next(), args.next().and_then(|r| r.parse::<u64>().ok()))
    else {
        eprintln!("usage: tiered_writer DIR RUN");
        std::process::exit(2);
    };
    let dir = std::path::PathBuf::from(dir);
    let cold = ParquetStore::<Tick>::builder(dir.join("cold"))
        .wait_for_writer(true)
        .open_or_create()
        .await
        .expect("open the cold tier");
    let store = TieredStore::open(dir.join("wal"), cold, options())
        .await
        .expect("open the tiered store");
    let out = Arc::new(Mutex::new(std::io::stdout()));
    {
        let mut out = out.lock().unwrap();
        writeln!(out, "ready").unwrap();
        out.flush().unwrap();
    }
    let mut tasks = Vec::new();
    for producer in 0..4u64 {
        let ingest = store.ingestor();
        let out = Arc::clone(&out);
        tasks.push(tokio::spawn(async move {
            let mut k = 0u64;
            let mut x = 0x9e37_79b9_7f4a_7c15u64 ^ (run << 8) ^ producer;
            loop {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let count = 1 + x % 150;
                let first = run << 40 | producer << 32 | k;
                let rows: TickSoA = (first..first + count)
                    .map(|id| Tick {
                        id,
                        source: format!("p{producer}"),
                        value: id as f64,
                    })
                    .collect();
                ingest.send_batch(&rows).await.expect("send");
                k += count;
                let mut out = out.lock().unwrap();
                writeln!(out, "ack {first} {count}").unwrap();
                out.flush().unwrap();
            }
        }));
    }
    // The producers never stop: the parent kills the process.
    futures::future::join_all(tasks).await;
}

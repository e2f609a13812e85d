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
use std::time::Duration;

use soa_runtime::store::tiered::{Durability, FlushPolicy, TieredOptions, TieredStore};
use soa_runtime::store::wal::WalOptions;
use soa_runtime::{ParquetStore, Soa, ToArrow};

/// One ingested row (the same struct is declared in tests/tests/tiered_crash.rs).
#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
pub struct Tick {
    pub id: u64,
    pub source: String,
    pub value: f64,
}

/// The store options of the child and of the parent that checks after the kill.
pub fn options() -> TieredOptions {
    TieredOptions::new()
        .durability(Durability::Sync)
        .flush(
            FlushPolicy::new()
                .rows(5_000)
                .age(Duration::from_millis(30)),
        )
        .wal(WalOptions::default().segment_bytes(64 * 1024))
        // The previous process may still be letting go of the log.
        .wait_for_writer(true)
}

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

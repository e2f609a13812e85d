//! The child process of tests/tests/crash.rs: commits to a `ParquetStore` and snapshots an
//! `ArrowStore` to an Arrow IPC file in a loop, forever, until it is killed (SIGKILL).
//!
//!     crash_writer STORE_DIR SNAPSHOT.arrow [partitioned]
//!
//! With `partitioned`, the store is partitioned by `bucket(4, idx)` (Hive directories).
//!
//! Every state is self-describing (see `expected_state` in crash.rs): commit `n` saves (when
//! `n % 5 == 0`) or appends `rows_of(n)`; every 7th commit is followed by a compaction. The
//! process resumes from whatever state it finds and prints `ready N`, then `committed N` after
//! each Parquet commit and `ipc N` after each snapshot, so the parent knows the last finished
//! commit when it kills.

use std::io::Write;

use soa_runtime::StoreExt;
use soa_runtime::store::memory::IpcCompression;
use soa_runtime::{ArrowStore, ParquetStore, Soa, ToArrow};

/// One row of commit `commit` (the same struct is declared in tests/tests/crash.rs).
#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
pub struct Entry {
    pub commit: u64,
    pub idx: u32,
    pub payload: String,
}

fn rows_of(n: u64) -> EntrySoA {
    let count = 1 + (n * 7919 % 3000) as u32;
    (0..count)
        .map(|idx| Entry {
            commit: n,
            idx,
            payload: format!("c{n}-{idx}-{}", "x".repeat((idx % 13) as usize)),
        })
        .collect()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(dir), Some(snapshot)) = (args.next(), args.next()) else {
        eprintln!("usage: crash_writer STORE_DIR SNAPSHOT.arrow");
        std::process::exit(2);
    };
    let partitioned = args.next().as_deref() == Some("partitioned");
    let mut builder = ParquetStore::<Entry>::builder(&dir);
    if partitioned {
        builder = builder.partition_by(["bucket(4, idx)"]);
    }
    let store = builder.open_or_create().await.expect("open the store");
    let current = store.load().await.expect("load the store");
    let last = current.commit.iter().copied().max();
    let mirror = ArrowStore::<Entry>::new();
    mirror.save(&current).await.expect("mirror");
    let mut out = std::io::stdout();
    let mut n = last.map_or(0, |l| l + 1);
    writeln!(out, "ready {}", last.map_or(-1, |l| l as i64)).unwrap();
    out.flush().unwrap();
    loop {
        let rows = rows_of(n);
        if n % 5 == 0 {
            store.save(&rows).await.expect("save");
            mirror.save(&rows).await.expect("mirror save");
        } else {
            store.append(&rows).await.expect("append");
            mirror.append(&rows).await.expect("mirror append");
        }
        writeln!(out, "committed {n}").unwrap();
        out.flush().unwrap();
        if n % 7 == 3 {
            store.compact().await.expect("compact");
        }
        mirror
            .save_ipc(&snapshot, IpcCompression::Lz4)
            .await
            .expect("save_ipc");
        writeln!(out, "ipc {n}").unwrap();
        out.flush().unwrap();
        n += 1;
    }
}

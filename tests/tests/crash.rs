//! Crash safety: a child process (src/bin/crash_writer.rs) commits to a `ParquetStore` and
//! snapshots an `ArrowStore` to an Arrow IPC file in a loop; the test kills it with SIGKILL at a
//! random moment, 60 times. After each kill:
//!
//! * before any store opens the directory, every file a dataset reader would see (names not
//!   starting with `.` or `_`) is a complete Parquet file: staging files are hidden;
//! * a new store loads exactly the state after commit N, where N is the last commit the child
//!   reported or the one it was in the middle of (before or after the interrupted commit, never
//!   a mix); its files are exactly the manifest's, and no staging file is left;
//! * the IPC snapshot loads exactly the state of the last or the next snapshot.
//!
//! The next child resumes from the state it finds, so the store grows through saves, appends
//! and compactions across the trials. The same runs again with the store partitioned by
//! `bucket(4, idx)` (files in Hive directories, staged in them, swept from them).

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use soa_runtime::StoreExt;
use soa_runtime::parquet::file::reader::{FileReader, SerializedFileReader};
use soa_runtime::{ArrowStore, ParquetStore, Soa, Store, ToArrow};
use soa_tests::child::{Rng, collect_lines};

/// The row type of src/bin/crash_writer.rs (same name and columns).
#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
pub struct Entry {
    pub commit: u64,
    pub idx: u32,
    pub payload: String,
}

/// Rows of commit `n`, as crash_writer writes them.
fn rows_of(n: u64) -> Vec<Entry> {
    let count = 1 + (n * 7919 % 3000) as u32;
    (0..count)
        .map(|idx| Entry {
            commit: n,
            idx,
            payload: format!("c{n}-{idx}-{}", "x".repeat((idx % 13) as usize)),
        })
        .collect()
}

/// The store's content after commit `n`: the last save (a multiple of 5) and the appends after.
fn expected_state(n: Option<u64>) -> Vec<Entry> {
    let Some(n) = n else { return Vec::new() };
    (n - n % 5..=n).flat_map(rows_of).collect()
}

fn last_commit(rows: &[Entry]) -> Option<u64> {
    rows.iter().map(|r| r.commit).max()
}

/// Lines of the child's stdout, collected by a thread.
fn last_number(lines: &[String], prefix: &str) -> Option<u64> {
    lines
        .iter()
        .rev()
        .find_map(|l| l.strip_prefix(prefix).and_then(|n| n.trim().parse().ok()))
}

/// Files a dataset reader would see (`*.parquet` globs and pyarrow/polars/DuckDB directory
/// reads skip names starting with `.` or `_`), relative, through Hive directories.
fn visible(dir: &Path) -> Vec<String> {
    fn walk(dir: &Path, prefix: &str, out: &mut Vec<String>) {
        for entry in fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || name.starts_with('_') {
                continue;
            }
            if entry.file_type().unwrap().is_dir() {
                walk(&entry.path(), &format!("{prefix}{name}/"), out);
            } else {
                out.push(format!("{prefix}{name}"));
            }
        }
    }
    let mut names = Vec::new();
    walk(dir, "", &mut names);
    names.sort();
    names
}

/// Staging files anywhere in the store (partition directories included).
fn hidden_staging(dir: &Path) -> usize {
    let mut n = 0;
    for entry in fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.file_type().unwrap().is_dir() {
            n += hidden_staging(&entry.path());
        } else if name.starts_with(".soa-") && name.ends_with(".tmp") {
            n += 1;
        }
    }
    n
}

fn parquet_rows(path: &Path) -> i64 {
    let reader = SerializedFileReader::new(fs::File::open(path).unwrap())
        .unwrap_or_else(|e| panic!("{} is not a complete Parquet file: {e}", path.display()));
    reader.metadata().file_metadata().num_rows()
}

const TRIALS: usize = 60;

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_during_commits_leaves_the_state_before_or_after() {
    sigkill_trials(false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_during_partitioned_commits_leaves_the_state_before_or_after() {
    sigkill_trials(true).await;
}

async fn sigkill_trials(partitioned: bool) {
    let started = Instant::now();
    let exe = env!("CARGO_BIN_EXE_crash_writer");
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("store");
    let snapshot = root.path().join("snap.arrow");
    let mut rng = Rng(0xC0FF_EE00_D15C_0123);
    let mut outcomes: BTreeMap<&str, usize> = BTreeMap::new();
    let mut staging_seen = 0;
    let mut commits_seen = 0;
    let mut last_snapshot: Option<u64> = None;

    for trial in 0..TRIALS {
        let mut command = Command::new(exe);
        command.arg(&dir).arg(&snapshot);
        if partitioned {
            command.arg("partitioned");
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let lines = collect_lines(&mut child);
        // Wait for the child to be ready, then kill it at a random moment within its commits.
        let deadline = Instant::now() + Duration::from_secs(60);
        while !lines.lock().unwrap().iter().any(|l| l.starts_with("ready")) {
            assert!(
                Instant::now() < deadline,
                "trial {trial}: the child never got ready"
            );
            if let Some(status) = child.try_wait().unwrap() {
                panic!("trial {trial}: the child exited early: {status}");
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        std::thread::sleep(Duration::from_micros(rng.below(120_000)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        // The reader thread sees EOF once the process is gone.
        std::thread::sleep(Duration::from_millis(20));
        let lines = lines.lock().unwrap().clone();
        let ready: i64 = lines
            .iter()
            .find_map(|l| l.strip_prefix("ready ").and_then(|n| n.parse().ok()))
            .unwrap_or(-1);
        let reported = last_number(&lines, "committed ");
        let reported_ipc = last_number(&lines, "ipc ");
        commits_seen += lines.iter().filter(|l| l.starts_with("committed")).count();

        // Before any store touches the directory: what dataset readers see is complete.
        if dir.exists() {
            staging_seen += usize::from(hidden_staging(&dir) > 0);
            for name in visible(&dir) {
                assert!(
                    name.ends_with(".parquet"),
                    "trial {trial}: visible non-Parquet file {name}"
                );
                parquet_rows(&dir.join(&name));
            }
        }

        // A new store: exactly the state before or after the interrupted commit.
        let store = ParquetStore::<Entry>::open_or_create(&dir).await.unwrap();
        let mut rows = store.load().await.unwrap().into_rows();
        if partitioned {
            // A partitioned store returns each commit's rows grouped by partition.
            rows.sort_by_key(|r| (r.commit, r.idx));
        }
        let n = last_commit(&rows);
        let before = reported.or(if ready >= 0 { Some(ready as u64) } else { None });
        let after = before.map_or(0, |b| b + 1);
        let outcome = if n == before {
            "before (or no commit in progress)"
        } else if n == Some(after) {
            "after the interrupted commit"
        } else {
            panic!("trial {trial}: loaded the state of commit {n:?}, the child reported {before:?}")
        };
        *outcomes.entry(outcome).or_default() += 1;
        assert!(
            rows == expected_state(n),
            "trial {trial}: the rows are not exactly the state after commit {n:?}"
        );
        assert_eq!(store.count().await.unwrap(), rows.len() as u64);
        // Only committed files remain, and they hold exactly the store's rows.
        let mut listed: Vec<String> = store.files().await.into_iter().map(|f| f.name).collect();
        listed.sort();
        assert_eq!(
            visible(&dir),
            listed,
            "trial {trial}: unlisted or missing data files"
        );
        assert_eq!(
            hidden_staging(&dir),
            0,
            "trial {trial}: staging files left after open"
        );
        let on_disk: i64 = listed.iter().map(|n| parquet_rows(&dir.join(n))).sum();
        assert_eq!(
            on_disk,
            rows.len() as i64,
            "trial {trial}: rows in the visible files"
        );

        // The IPC snapshot: the last finished one or the one in progress.
        if snapshot.exists() {
            let mirror = ArrowStore::<Entry>::new();
            mirror
                .load_ipc(&snapshot)
                .await
                .unwrap_or_else(|e| panic!("trial {trial}: the IPC snapshot does not load: {e}"));
            let mut snap_rows = mirror.load().await.unwrap().into_rows();
            if partitioned {
                // The child's mirror starts from the partitioned store's load.
                snap_rows.sort_by_key(|r| (r.commit, r.idx));
            }
            let m = last_commit(&snap_rows);
            // The last snapshot this child finished (or, if none, the one found on disk before
            // it started), or the one it was writing.
            let known = reported_ipc.or(last_snapshot);
            let next = reported_ipc.map_or(ready + 1, |r| r as i64 + 1);
            let ok = m == known || m.map(|m| m as i64) == Some(next);
            assert!(
                ok,
                "trial {trial}: snapshot of commit {m:?}, the child reported {reported_ipc:?} \
                 (previous snapshot {last_snapshot:?})"
            );
            last_snapshot = m;
            assert!(
                snap_rows == expected_state(m),
                "trial {trial}: snapshot rows"
            );
        }
        drop(store);
    }
    let temp_ipc = fs::read_dir(root.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".tmp")
        })
        .count();
    println!(
        "{}{TRIALS} SIGKILLs in {:.1?}: outcomes {outcomes:?}; {commits_seen} commits reported; \
         staging files present at {staging_seen} kills (swept on open); \
         {temp_ipc} hidden IPC temporary files left by killed save_ipc calls",
        if partitioned { "partitioned: " } else { "" },
        started.elapsed()
    );
    assert!(
        outcomes
            .get("after the interrupted commit")
            .copied()
            .unwrap_or(0)
            > 0
            || staging_seen > 0,
        "no kill landed inside a commit: the test does not exercise crashes"
    );
}

//! Reliability of `DeltaStore` under concurrent writer processes, `kill -9`, a failing object
//! store and a damaged log.
//!
//! The multi-process tests run this same test binary as child processes, selected by
//! `SOA_CHILD_ROLE` (see `child_process`). Every row carries the writer, the append it belongs
//! to (`seq`) and its place in that append (`part`), so a load can be checked to be made of whole
//! appends.
//!
//! Run: `cargo test -p soa-tests --features delta --test delta_reliability` (add `aws` and the
//! `SOA_TEST_S3_*`/`AWS_*` variables of `scripts/servers.sh` for the S3 variant).

#![cfg(feature = "delta")]

#[path = "delta_reliability/failing.rs"]
mod failing;

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use soa_runtime::Error;
use soa_runtime::prelude::*;
use soa_runtime::store::delta::DeltaStoreBuilder;

use failing::{Failing, Kind, Mode};

/// The row type of these tests.
#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
pub struct Event {
    pub writer: u32,
    pub seq: u32,
    pub part: u32,
    pub payload: String,
}

/// Rows of append `seq` (1 to 3).
fn rows_per(seq: u32) -> u32 {
    1 + seq % 3
}

fn payload(writer: u32, seq: u32, part: u32) -> String {
    format!("w{writer}-s{seq}-p{part}")
}

/// The rows of one append.
fn batch(writer: u32, seq: u32) -> EventSoA {
    (0..rows_per(seq))
        .map(|part| Event {
            writer,
            seq,
            part,
            payload: payload(writer, seq, part),
        })
        .collect()
}

/// The appends `(writer, seq)` a load is made of, in table order; `Err` if a row does not belong
/// to a whole append (a missing or extra part, a wrong payload, parts out of order).
fn appends_of(loaded: &EventSoA) -> Result<Vec<(u32, u32)>, String> {
    let n = loaded.writer.len();
    let mut out = Vec::new();
    let mut i = 0;
    while i < n {
        let (w, s) = (loaded.writer[i], loaded.seq[i]);
        let parts = rows_per(s) as usize;
        if i + parts > n {
            return Err(format!("append ({w},{s}) cut short at row {i} of {n}"));
        }
        for p in 0..parts {
            let j = i + p;
            if loaded.writer[j] != w
                || loaded.seq[j] != s
                || loaded.part[j] != p as u32
                || loaded.payload[j] != payload(w, s, p as u32)
            {
                return Err(format!(
                    "row {j}: ({},{},{},{:?}) where part {p} of append ({w},{s}) belongs",
                    loaded.writer[j], loaded.seq[j], loaded.part[j], loaded.payload[j]
                ));
            }
        }
        out.push((w, s));
        i += parts;
    }
    Ok(out)
}

/// Each writer's appends in table order (checks that they are whole).
fn per_writer(loaded: &EventSoA) -> Result<BTreeMap<u32, Vec<u32>>, String> {
    let mut map: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for (w, s) in appends_of(loaded)? {
        map.entry(w).or_default().push(s);
    }
    Ok(map)
}

/// `true` if every writer's appends are exactly `0..k` in order (a prefix, no duplicates).
fn prefixes(map: &BTreeMap<u32, Vec<u32>>) -> Result<(), String> {
    for (w, seqs) in map {
        if !seqs.iter().copied().eq(0..seqs.len() as u32) {
            return Err(format!(
                "writer {w}: appends {seqs:?} are not 0..{}",
                seqs.len()
            ));
        }
    }
    Ok(())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn error_kind(e: &Error) -> &'static str {
    match e {
        Error::ObjectStore { .. } => "ObjectStore",
        Error::Delta { .. } => "Delta",
        Error::Corrupt { .. } => "Corrupt",
        Error::CommitConflict { .. } => "CommitConflict",
        Error::TableNotFound { .. } => "TableNotFound",
        Error::SchemaMismatch { .. } => "SchemaMismatch",
        Error::Task(_) => "Task",
        Error::InFile { .. } => "InFile",
        Error::Parquet { .. } => "Parquet",
        Error::Io { .. } => "Io",
        _ => "other",
    }
}

/// A builder for a table URL: a directory, or `s3://...` with the test server's endpoint.
fn builder(url: &str) -> DeltaStoreBuilder<Event> {
    #[allow(unused_mut)]
    let mut b = DeltaStore::<Event>::builder(url);
    #[cfg(feature = "aws")]
    if url.starts_with("s3://") {
        let endpoint = std::env::var("SOA_TEST_S3_ENDPOINT").expect("SOA_TEST_S3_ENDPOINT");
        b = b.storage_option("aws_endpoint", endpoint).allow_http(true);
    }
    b
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"))
}

// ---------------------------------------------------------------------------------------------
// Child processes

/// Child role `writer`: waits for `SOA_CHILD_START` (Unix ms), then appends `SOA_CHILD_APPENDS`
/// batches as writer `SOA_CHILD_WRITER`; prints `report appends N failures F`.
fn child_writer() {
    let url = env("SOA_CHILD_URL");
    let writer: u32 = env("SOA_CHILD_WRITER").parse().unwrap();
    let appends: u32 = env("SOA_CHILD_APPENDS").parse().unwrap();
    let start: u64 = env("SOA_CHILD_START").parse().unwrap();
    runtime().block_on(async {
        let store = builder(&url).open().await.unwrap();
        let wait = start.saturating_sub(now_ms());
        tokio::time::sleep(Duration::from_millis(wait)).await;
        let (mut done, mut failures) = (0u32, 0u32);
        for seq in 0..appends {
            match store.append(&batch(writer, seq)).await {
                Ok(()) => done += 1,
                Err(e) => {
                    failures += 1;
                    eprintln!("writer {writer} append {seq} failed: {e} ({e:?})");
                    break;
                }
            }
        }
        println!("report appends {done} failures {failures}");
    });
}

/// Child role `reader`: until the file `SOA_CHILD_STOP` exists, opens the table and loads it;
/// every load must be whole appends, each writer's a prefix, and versions must never decrease;
/// prints `report reads N failures F maxversion V`.
fn child_reader() {
    let url = env("SOA_CHILD_URL");
    let stop = PathBuf::from(env("SOA_CHILD_STOP"));
    runtime().block_on(async {
        let (mut reads, mut failures, mut last) = (0u64, 0u64, 0u64);
        loop {
            // Read once more after the stop file appears: the final state.
            let stopping = stop.exists();
            let result = async {
                let store = builder(&url).open().await?;
                let before = store.version().await?;
                let loaded = store.load().await?;
                let after = store.version().await?;
                Ok::<_, Error>((before, loaded, after))
            }
            .await;
            match result {
                Ok((before, loaded, after)) => {
                    reads += 1;
                    let mut fail = |why: String| {
                        failures += 1;
                        eprintln!("read {reads}: {why}");
                    };
                    if before < last {
                        fail(format!("version went back from {last} to {before}"));
                    }
                    if after < before {
                        fail(format!("version went back from {before} to {after}"));
                    }
                    match per_writer(&loaded).and_then(|m| {
                        prefixes(&m)?;
                        Ok(m.values().map(Vec::len).sum::<usize>() as u64)
                    }) {
                        Ok(appends) => {
                            // Only appends after version 0: version v holds v appends.
                            if appends < before || appends > after {
                                fail(format!(
                                    "{appends} appends loaded between versions {before} and \
                                     {after}"
                                ));
                            }
                        }
                        Err(why) => fail(why),
                    }
                    last = last.max(after);
                }
                Err(e) => {
                    failures += 1;
                    eprintln!("read failed: {e} ({e:?})");
                }
            }
            if stopping {
                break;
            }
        }
        println!("report reads {reads} failures {failures} maxversion {last}");
    });
}

/// Child role `looper`: opens the table, prints `ready`, then appends batches of writer
/// `SOA_CHILD_WRITER` (seq 0, 1, ...) until it is killed.
fn child_looper() {
    let url = env("SOA_CHILD_URL");
    let writer: u32 = env("SOA_CHILD_WRITER").parse().unwrap();
    runtime().block_on(async {
        let store = builder(&url).open().await.unwrap();
        println!("ready");
        for seq in 0.. {
            store.append(&batch(writer, seq)).await.unwrap();
        }
    });
}

/// Entry point of the child processes (does nothing in a normal test run).
#[test]
fn child_process() {
    let Ok(role) = std::env::var("SOA_CHILD_ROLE") else {
        return;
    };
    match role.as_str() {
        "writer" => child_writer(),
        "reader" => child_reader(),
        "looper" => child_looper(),
        other => panic!("unknown role {other}"),
    }
}

fn spawn_child(role: &str, vars: &[(&str, String)]) -> Child {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([
            "child_process",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("SOA_CHILD_ROLE", role)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in vars {
        command.env(k, v);
    }
    command.spawn().unwrap()
}

/// The `key value` pairs after `report` on the child's last report line.
fn child_report(child: Child) -> BTreeMap<String, u64> {
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child failed: {stdout}\n{stderr}");
    let line = stdout
        .lines()
        .rfind(|l| l.contains("report "))
        .unwrap_or_else(|| panic!("no report: {stdout}\n{stderr}"));
    let start = line.find("report ").unwrap() + "report ".len();
    let words: Vec<&str> = line[start..].split_whitespace().collect();
    let report: BTreeMap<String, u64> = words
        .chunks(2)
        .map(|kv| (kv[0].to_owned(), kv[1].parse().unwrap()))
        .collect();
    assert_eq!(report["failures"], 0, "child reported failures: {stderr}");
    report
}

// ---------------------------------------------------------------------------------------------
// 1. Four writer processes and a reader process

const WRITERS: u32 = 4;
const APPENDS_PER_WRITER: u32 = 200;

fn four_writers(url: &str) {
    let control = tempfile::tempdir().unwrap();
    let stop = control.path().join("stop");
    runtime().block_on(async {
        builder(url).create().await.unwrap();
    });
    let start = now_ms() + 1500;
    let writers: Vec<Child> = (0..WRITERS)
        .map(|w| {
            spawn_child(
                "writer",
                &[
                    ("SOA_CHILD_URL", url.to_owned()),
                    ("SOA_CHILD_WRITER", w.to_string()),
                    ("SOA_CHILD_APPENDS", APPENDS_PER_WRITER.to_string()),
                    ("SOA_CHILD_START", start.to_string()),
                ],
            )
        })
        .collect();
    let reader = spawn_child(
        "reader",
        &[
            ("SOA_CHILD_URL", url.to_owned()),
            ("SOA_CHILD_STOP", stop.display().to_string()),
        ],
    );
    let mut appends = 0;
    for writer in writers {
        appends += child_report(writer)["appends"];
    }
    std::fs::write(&stop, b"stop").unwrap();
    let read = child_report(reader);
    let total = u64::from(WRITERS * APPENDS_PER_WRITER);
    println!(
        "{url}: appends {appends}, reader: {} loads, last version seen {}",
        read["reads"], read["maxversion"]
    );
    assert_eq!(appends, total);
    assert!(read["reads"] >= 1);
    assert_eq!(
        read["maxversion"], total,
        "the reader's last load saw every append"
    );
    runtime().block_on(async {
        let store = builder(url).open().await.unwrap();
        let loaded = store.load().await.unwrap();
        let map = per_writer(&loaded).unwrap();
        prefixes(&map).unwrap();
        assert_eq!(map.len(), WRITERS as usize);
        for seqs in map.values() {
            assert_eq!(seqs.len(), APPENDS_PER_WRITER as usize);
        }
        let rows: u64 = (0..APPENDS_PER_WRITER)
            .map(|s| u64::from(rows_per(s)))
            .sum::<u64>()
            * u64::from(WRITERS);
        assert_eq!(loaded.writer.len() as u64, rows);
        assert_eq!(store.count().await.unwrap(), rows);
        assert_eq!(store.version().await.unwrap(), total);
        let history = store.history().await.unwrap();
        let versions: Vec<u64> = history.iter().map(|c| c.version).collect();
        assert_eq!(
            versions,
            (0..=total).collect::<Vec<_>>(),
            "gap-free history"
        );
        assert_eq!(
            history.iter().filter(|c| c.operation == "WRITE").count() as u64,
            total
        );
        assert_eq!(history.iter().map(|c| c.rows_added).sum::<u64>(), rows);
    });
}

#[test]
fn four_writer_processes_on_local_disk() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("events");
    four_writers(table.to_str().unwrap());
}

/// The same test against the S3 test server (moto) of `scripts/servers.sh`.
#[cfg(feature = "aws")]
#[test]
fn four_writer_processes_on_s3() {
    let (Ok(_), Ok(bucket)) = (
        std::env::var("SOA_TEST_S3_ENDPOINT"),
        std::env::var("SOA_TEST_S3_BUCKET"),
    ) else {
        if std::env::var("SOA_INTEROP").is_ok_and(|v| v == "1") {
            panic!("SOA_INTEROP=1 but SOA_TEST_S3_ENDPOINT/SOA_TEST_S3_BUCKET are not set");
        }
        println!("skipped: SOA_TEST_S3_ENDPOINT is not set (see scripts/servers.sh)");
        return;
    };
    let prefix = format!("reliability-{}-{}", std::process::id(), now_ms());
    four_writers(&format!("s3://{bucket}/{prefix}/events"));
}

// ---------------------------------------------------------------------------------------------
// 2. kill -9 of a writer, 50 times

/// A deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// The data files the log references (every commit replayed: adds minus removes).
fn referenced_files(table: &Path) -> BTreeSet<String> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(table.join("_delta_log"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.len() == 25 && n.ends_with(".json"))
        })
        .collect();
    names.sort();
    let mut files = BTreeSet::new();
    for name in names {
        let text = std::fs::read_to_string(&name).unwrap();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let action: serde_json_lite::Value = serde_json_lite::parse(line);
            if let Some(path) = action.path_of("add") {
                files.insert(path);
            } else if let Some(path) = action.path_of("remove") {
                files.remove(&path);
            }
        }
    }
    files
}

/// A tiny reader of the `path` of `add`/`remove` actions (the tests crate has no JSON crate).
mod serde_json_lite {
    pub struct Value(String);

    pub fn parse(line: &str) -> Value {
        Value(line.to_owned())
    }

    impl Value {
        /// The `path` of the action if the line is an `{"<kind>":{...,"path":"..."}}` action.
        pub fn path_of(&self, kind: &str) -> Option<String> {
            let head = format!("{{\"{kind}\":{{");
            if !self.0.starts_with(&head) {
                return None;
            }
            let at = self.0.find("\"path\":\"")? + "\"path\":\"".len();
            let end = self.0[at..].find('"')? + at;
            Some(self.0[at..end].to_owned())
        }
    }
}

/// Data files at the table root (`*.parquet`), and staging leftovers (`...#n`).
fn data_files(table: &Path) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut files = BTreeSet::new();
    let mut staged = BTreeSet::new();
    for entry in std::fs::read_dir(table).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".parquet") {
            files.insert(name);
        } else if name.contains('#') {
            staged.insert(name);
        }
    }
    (files, staged)
}

#[test]
fn kill_minus_nine_of_a_writer_50_times() {
    const KILLS: u32 = 50;
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("events");
    let url = table.to_str().unwrap().to_owned();
    let rt = runtime();
    rt.block_on(async {
        builder(&url).create().await.unwrap();
    });
    let mut rng = Rng(0x5EED_D31A_7AB1_E000);
    let mut expected: Vec<(u32, u32)> = Vec::new();
    let mut orphans_seen: BTreeSet<String> = BTreeSet::new();
    let (mut rounds_with_appends, mut rounds_with_orphan) = (0, 0);
    let mut staged_leftovers = BTreeSet::new();
    for round in 0..KILLS {
        let delay = rng.next() % 301;
        let mut child = spawn_child(
            "looper",
            &[
                ("SOA_CHILD_URL", url.clone()),
                ("SOA_CHILD_WRITER", round.to_string()),
            ],
        );
        let stdout = child.stdout.take().unwrap();
        let mut lines = std::io::BufReader::new(stdout).lines();
        let ready = lines.any(|l| l.is_ok_and(|l| l.trim_end().ends_with("ready")));
        if !ready {
            let out = child.wait_with_output().unwrap();
            panic!(
                "round {round}: the child did not start: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(delay));
        child.kill().unwrap();
        let status = child.wait().unwrap();
        assert!(
            !status.success(),
            "round {round}: the child ended by itself"
        );

        // The table after the kill.
        let (loaded, count, version, history) = rt.block_on(async {
            let store = builder(&url).open().await.unwrap_or_else(|e| {
                panic!("round {round}: open after kill -9 failed: {e} ({e:?})")
            });
            let loaded = store
                .load()
                .await
                .unwrap_or_else(|e| panic!("round {round}: load failed: {e} ({e:?})"));
            let count = store.count().await.unwrap();
            let version = store.version().await.unwrap();
            let history = store.history().await.unwrap();
            (loaded, count, version, history)
        });
        let appends = appends_of(&loaded).unwrap_or_else(|e| panic!("round {round}: {e}"));
        assert_eq!(
            appends[..expected.len()],
            expected[..],
            "round {round}: the appends of earlier rounds changed"
        );
        let new: Vec<u32> = appends[expected.len()..]
            .iter()
            .map(|&(w, s)| {
                assert_eq!(w, round, "round {round}: an append of another writer");
                s
            })
            .collect();
        assert!(
            new.iter().copied().eq(0..new.len() as u32),
            "round {round}: this round's appends {new:?} are not a prefix"
        );
        if !new.is_empty() {
            rounds_with_appends += 1;
        }
        expected = appends;
        assert_eq!(count, loaded.writer.len() as u64, "round {round}: count");
        assert_eq!(
            version,
            expected.len() as u64,
            "round {round}: one version per append"
        );
        let versions: Vec<u64> = history.iter().map(|c| c.version).collect();
        assert_eq!(
            versions,
            (0..=version).collect::<Vec<_>>(),
            "round {round}: gap-free"
        );

        // Orphans: data files of the killed commit. They stay until vacuum.
        let referenced = referenced_files(&table);
        let (files, staged) = data_files(&table);
        assert!(
            referenced.is_subset(&files),
            "round {round}: referenced files are missing: {:?}",
            referenced.difference(&files).collect::<Vec<_>>()
        );
        let orphans: BTreeSet<String> = files.difference(&referenced).cloned().collect();
        let gone: Vec<&String> = orphans_seen.difference(&orphans).collect();
        assert!(
            gone.is_empty(),
            "round {round}: orphans deleted before vacuum: {gone:?}"
        );
        if orphans.len() > orphans_seen.len() {
            rounds_with_orphan += 1;
        }
        orphans_seen = orphans;
        staged_leftovers.extend(staged);
        let (_, staged_log) = data_files(&table.join("_delta_log"));
        staged_leftovers.extend(staged_log.into_iter().map(|n| format!("_delta_log/{n}")));
    }
    println!(
        "kills {KILLS}: appends {} (rows {}), rounds with new appends {rounds_with_appends}, \
         rounds leaving an orphan data file {rounds_with_orphan}, orphans {}, staging leftovers {}",
        expected.len(),
        expected.iter().map(|&(_, s)| rows_per(s)).sum::<u32>(),
        orphans_seen.len(),
        staged_leftovers.len()
    );
    // Staging files of a killed put (`LocalFileSystem` writes `<name>#<n>`, then renames): not
    // listed by the object store; vacuum sweeps them from the disk.
    println!("staging leftovers: {staged_leftovers:?}");
    rt.block_on(async {
        let store = builder(&url).open().await.unwrap();
        let before = store.load().await.unwrap();
        let report = store.vacuum(Duration::ZERO).await.unwrap();
        let deleted: BTreeSet<String> = report.deleted.iter().cloned().collect();
        assert_eq!(deleted.len(), report.deleted.len(), "a file deleted twice");
        let expected_deleted: BTreeSet<String> =
            orphans_seen.union(&staged_leftovers).cloned().collect();
        assert_eq!(
            deleted, expected_deleted,
            "vacuum deletes exactly the unreferenced files and staging leftovers"
        );
        let (files, staged) = data_files(&table);
        let (_, staged_log) = data_files(&table.join("_delta_log"));
        assert!(
            staged.is_empty() && staged_log.is_empty(),
            "left after vacuum: {staged:?} {staged_log:?}"
        );
        assert_eq!(
            files,
            referenced_files(&table),
            "after vacuum: only referenced files"
        );
        let reopened = builder(&url).open().await.unwrap();
        assert_eq!(
            reopened.load().await.unwrap(),
            before,
            "vacuum changed the rows"
        );
        assert_eq!(appends_of(&before).unwrap(), expected);
    });
}

// ---------------------------------------------------------------------------------------------
// 3. A failing object store

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Append,
    Save,
    Compact,
    Load,
    Count,
    Vacuum,
}

const OPS: [Op; 6] = [
    Op::Append,
    Op::Save,
    Op::Compact,
    Op::Load,
    Op::Count,
    Op::Vacuum,
];

fn open_on(store: Arc<dyn object_store::ObjectStore>) -> DeltaStoreBuilder<Event> {
    DeltaStore::<Event>::builder_with_store(store, "t").checkpoint_interval(5)
}

/// One case: a table of versions 0..=4 (two appends, an overwrite, an append: two unreferenced
/// files) on an `InMemory`; `op` through a handle whose object store fails the `n`th request of
/// `kind`; then the table read through a handle on the same `InMemory` without failures.
/// Returns (the outcome, whether the failure was injected, the table's state).
async fn failing_case(op: Op, kind: Kind, mode: Mode, n: u64) -> (String, bool, &'static str) {
    let memory = Arc::new(object_store::memory::InMemory::new());
    let clean = open_on(memory.clone()).create().await.unwrap();
    clean.append(&batch(0, 0)).await.unwrap();
    clean.append(&batch(0, 1)).await.unwrap();
    clean.save(&batch(0, 2)).await.unwrap();
    clean.append(&batch(0, 3)).await.unwrap();
    let before = clean.load().await.unwrap();
    let before_version = clean.version().await.unwrap();
    assert_eq!(before_version, 4);
    let new = batch(1, 0);
    let mut with_new = before.clone();
    with_new.append(&mut new.clone());

    let failing = Arc::new(Failing::new(memory.clone()));
    let handle = open_on(failing.clone()).open().await.unwrap();
    failing.arm(kind, mode, n);
    let result: Result<String, Error> = match op {
        Op::Append => handle.append(&new).await.map(|()| "ok".into()),
        Op::Save => handle.save(&new).await.map(|()| "ok".into()),
        Op::Compact => handle.compact().await.map(|r| format!("ok {r:?}")),
        Op::Load => handle.load().await.map(|rows| {
            assert_eq!(rows, before, "{op:?}: load returned other rows");
            "ok".into()
        }),
        Op::Count => handle.count().await.map(|c| {
            assert_eq!(c, before.writer.len() as u64, "{op:?}: wrong count");
            "ok".into()
        }),
        Op::Vacuum => handle.vacuum(Duration::ZERO).await.map(|r| {
            assert_eq!(r.deleted.len(), 2, "{op:?}: vacuum deleted {:?}", r.deleted);
            "ok".into()
        }),
    };
    let fired = failing.disarm();
    let what = format!("{op:?} {kind:?} {mode:?} n={n}");
    let outcome = match &result {
        Ok(_) => "Ok".to_owned(),
        Err(e) => {
            let kind = error_kind(e);
            assert!(
                matches!(kind, "ObjectStore" | "Delta" | "CommitConflict"),
                "{what}: untyped error {kind}: {e} ({e:?})"
            );
            kind.to_owned()
        }
    };
    if !fired {
        assert!(
            result.is_ok(),
            "{what}: failed without an injected failure: {result:?}"
        );
    }

    // The table, read without failures.
    let fresh = open_on(memory.clone()).open().await.unwrap();
    let after = fresh.load().await.unwrap();
    let version = fresh.version().await.unwrap();
    let history = fresh.history().await.unwrap();
    let versions: Vec<u64> = history.iter().map(|c| c.version).collect();
    assert_eq!(
        versions,
        (0..=version).collect::<Vec<_>>(),
        "{what}: gap-free"
    );
    assert_eq!(
        fresh.count().await.unwrap(),
        after.writer.len() as u64,
        "{what}: count"
    );
    let writes = matches!(op, Op::Append | Op::Save | Op::Compact);
    let state = if version == before_version {
        assert_eq!(after, before, "{what}: the rows changed without a commit");
        "unchanged"
    } else {
        assert!(writes, "{what}: a read made a commit");
        assert_eq!(version, before_version + 1, "{what}: more than one commit");
        let expected = match op {
            Op::Append => &with_new,
            Op::Save => &new,
            _ => &before,
        };
        assert_eq!(&after, expected, "{what}: the new commit has other rows");
        let last = history.last().unwrap();
        let operation = if op == Op::Compact {
            "OPTIMIZE"
        } else {
            "WRITE"
        };
        assert_eq!(last.operation, operation, "{what}");
        "one commit"
    };
    if writes && result.is_ok() {
        assert_eq!(state, "one commit", "{what}: Ok without a commit");
    }
    if op == Op::Vacuum {
        // Referenced files are never deleted: the load above succeeded.
        let listed = fresh.vacuum(Duration::ZERO).await.unwrap();
        assert!(listed.deleted.len() <= 2);
    }
    // The failing handle recovers once the store works again.
    let again = handle
        .load()
        .await
        .unwrap_or_else(|e| panic!("{what}: the handle does not recover: {e} ({e:?})"));
    assert_eq!(again, after, "{what}: the handle reads a stale version");
    assert_eq!(
        handle.version().await.unwrap(),
        version,
        "{what}: stale version"
    );
    let outcome = if state == "one commit" && result.is_err() {
        format!("{outcome} (committed)")
    } else {
        outcome
    };
    (outcome, fired, state)
}

#[test]
fn failing_object_store() {
    let rt = runtime();
    let mut outcomes: BTreeMap<(String, String), u64> = BTreeMap::new();
    let mut cases = 0;
    let mut injected = 0;
    for op in OPS {
        for kind in Kind::ALL {
            for mode in kind.modes() {
                let mut line = Vec::new();
                for n in 1..=8 {
                    let (outcome, fired, state) = rt.block_on(failing_case(op, kind, *mode, n));
                    cases += 1;
                    injected += u64::from(fired);
                    let fired_text = if fired { "injected" } else { "not reached" };
                    *outcomes
                        .entry((
                            format!("{op:?}"),
                            format!("{fired_text}: {outcome} / {state}"),
                        ))
                        .or_default() += 1;
                    line.push(format!(
                        "{n}:{}",
                        if fired { outcome.as_str() } else { "-" }
                    ));
                }
                println!("{op:?} {kind:?} {mode:?}: {}", line.join(" "));
            }
        }
    }
    println!("failing object store: {cases} cases, {injected} with a failure injected");
    for ((op, outcome), n) in &outcomes {
        println!("  {op:8} {outcome}: {n}");
    }
}

// ---------------------------------------------------------------------------------------------
// 4. A damaged log

const LOG_VERSIONS: u32 = 7;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn log_file(table: &Path, name: &str) -> PathBuf {
    table.join("_delta_log").join(name)
}

fn commit_name(version: u64) -> String {
    format!("{version:020}.json")
}

fn checkpoint_name(version: u64) -> String {
    format!("{version:020}.checkpoint.parquet")
}

fn flip(path: &Path, at: usize, bit: u8) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[at] ^= 1 << bit;
    std::fs::write(path, bytes).unwrap();
}

fn truncate(path: &Path, len: usize) {
    let bytes = std::fs::read(path).unwrap();
    std::fs::write(path, &bytes[..len]).unwrap();
}

type Damage = Box<dyn Fn(&Path)>;

/// The damages of a table of versions 0..=7 with checkpoints at 3 and 6.
fn damages(table: &Path) -> Vec<(String, Damage)> {
    let mut out: Vec<(String, Damage)> = Vec::new();
    let latest = commit_name(u64::from(LOG_VERSIONS));
    let commit = std::fs::read(log_file(table, &latest)).unwrap();
    let len = commit.len();
    for k in 0..8 {
        let at = len * k / 8;
        let name = latest.clone();
        out.push((
            format!("latest commit truncated at {at}/{len}"),
            Box::new(move |t| truncate(&log_file(t, &name), at)),
        ));
    }
    let first_line = commit.iter().position(|&b| b == b'\n').unwrap() + 1;
    let name = latest.clone();
    out.push((
        format!("latest commit truncated after its commitInfo line ({first_line})"),
        Box::new(move |t| truncate(&log_file(t, &name), first_line)),
    ));
    let name = latest.clone();
    out.push((
        "latest commit without its final newline".into(),
        Box::new(move |t| truncate(&log_file(t, &name), len - 1)),
    ));
    for i in 0..24 {
        let at = len * (2 * i + 1) / 48;
        let bit = (i % 8) as u8;
        let name = latest.clone();
        out.push((
            format!("latest commit: bit {bit} of byte {at} flipped"),
            Box::new(move |t| flip(&log_file(t, &name), at, bit)),
        ));
    }
    let replacements: [(&str, &str); 5] = [
        ("not JSON", "this is not JSON {\n"),
        ("empty JSON object", "{}\n"),
        (
            "protocol 99/99",
            "{\"commitInfo\":{\"timestamp\":1}}\n\
             {\"protocol\":{\"minReaderVersion\":99,\"minWriterVersion\":99}}\n",
        ),
        (
            "protocol 3/7 with deletionVectors",
            "{\"commitInfo\":{\"timestamp\":1}}\n\
             {\"protocol\":{\"minReaderVersion\":3,\"minWriterVersion\":7,\
             \"readerFeatures\":[\"deletionVectors\"],\"writerFeatures\":[\"deletionVectors\"]}}\n",
        ),
        (
            "protocol 3/7 with an unknown reader feature",
            "{\"commitInfo\":{\"timestamp\":1}}\n\
             {\"protocol\":{\"minReaderVersion\":3,\"minWriterVersion\":7,\
             \"readerFeatures\":[\"soaUnknownFeature\"],\
             \"writerFeatures\":[\"soaUnknownFeature\"]}}\n",
        ),
    ];
    for (what, text) in replacements {
        let name = latest.clone();
        out.push((
            format!("latest commit replaced: {what}"),
            Box::new(move |t| std::fs::write(log_file(t, &name), text).unwrap()),
        ));
    }
    let checkpoint = checkpoint_name(6);
    let clen = std::fs::metadata(log_file(table, &checkpoint))
        .unwrap()
        .len() as usize;
    for at in [0, 4, clen / 4, clen / 2, clen - 9, clen - 1] {
        let name = checkpoint.clone();
        out.push((
            format!("checkpoint 6 truncated at {at}/{clen}"),
            Box::new(move |t| truncate(&log_file(t, &name), at)),
        ));
    }
    for i in 0..16 {
        let at = clen * (2 * i + 1) / 32;
        let bit = (i % 8) as u8;
        let name = checkpoint.clone();
        out.push((
            format!("checkpoint 6: bit {bit} of byte {at} flipped"),
            Box::new(move |t| flip(&log_file(t, &name), at, bit)),
        ));
    }
    let name = checkpoint.clone();
    out.push((
        "checkpoint 6 deleted (_last_checkpoint points at it)".into(),
        Box::new(move |t| std::fs::remove_file(log_file(t, &name)).unwrap()),
    ));
    out.push((
        "_last_checkpoint points at missing version 9".into(),
        Box::new(|t| {
            std::fs::write(
                log_file(t, "_last_checkpoint"),
                "{\"version\":9,\"size\":10}",
            )
            .unwrap();
        }),
    ));
    out.push((
        "_last_checkpoint is not JSON".into(),
        Box::new(|t| std::fs::write(log_file(t, "_last_checkpoint"), "{\"vers").unwrap()),
    ));
    out.push((
        "a gap: commits 1 to 6 and checkpoints deleted".into(),
        Box::new(|t| {
            for v in 1..=6 {
                std::fs::remove_file(log_file(t, &commit_name(v))).unwrap();
            }
            for v in [3, 6] {
                std::fs::remove_file(log_file(t, &checkpoint_name(v))).unwrap();
            }
            std::fs::remove_file(log_file(t, "_last_checkpoint")).unwrap();
        }),
    ));
    out
}

/// The rows of version `v` of the damaged-log table (append `seq` = version - 1).
fn content(v: u32) -> EventSoA {
    let mut rows = EventSoA::default();
    for seq in 0..v {
        rows.append(&mut batch(0, seq));
    }
    rows
}

/// Opens, loads and counts `table`; a short description of each outcome. Runs on a spawned task
/// so that a panic is seen (and fails the test) rather than aborting the loop.
async fn open_load_count(table: PathBuf) -> Result<(String, String, String), String> {
    let task = tokio::spawn(async move {
        let url = table.to_str().unwrap().to_owned();
        let store = match builder(&url).open().await {
            Ok(s) => s,
            Err(e) => return Ok::<_, String>((describe(&e), "-".into(), "-".into())),
        };
        let version = store.version().await;
        let load = store.load().await;
        let count = store.count().await;
        let load_text = match &load {
            Ok(rows) => {
                let whole = (0..=LOG_VERSIONS).find(|&v| content(v) == *rows);
                match whole {
                    Some(v) => format!("Ok: rows of version {v}"),
                    None => return Err(format!("load Ok with rows of no version: {rows:?}")),
                }
            }
            Err(e) => describe(e),
        };
        let count_text = match &count {
            Ok(c) => format!("Ok {c}"),
            Err(e) => describe(e),
        };
        if let (Ok(rows), Ok(c)) = (&load, &count)
            && rows.writer.len() as u64 != *c
        {
            return Err(format!("count {c} but load has {} rows", rows.writer.len()));
        }
        let open_text = match version {
            Ok(v) => format!("Ok v{v}"),
            Err(e) => format!("Ok, version(): {}", describe(&e)),
        };
        Ok((open_text, load_text, count_text))
    });
    match task.await {
        Ok(r) => r,
        Err(e) if e.is_panic() => Err(format!("PANIC: {e}")),
        Err(e) => Err(format!("task failed: {e}")),
    }
}

fn describe(e: &Error) -> String {
    let kind = error_kind(e);
    let text = e.to_string();
    // The first line: with `RUST_BACKTRACE` set, kernel errors carry a backtrace.
    let text = match e {
        Error::Delta { reason, .. } | Error::Corrupt { reason, .. } => reason.clone(),
        _ => text,
    };
    let short: String = text.lines().next().unwrap_or("").chars().take(90).collect();
    format!("Err {kind}: {short}")
}

#[test]
fn corrupt_log_entries_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let original = dir.path().join("original");
    let url = original.to_str().unwrap().to_owned();
    let rt = runtime();
    rt.block_on(async {
        let store = builder(&url).checkpoint_interval(3).create().await.unwrap();
        for seq in 0..LOG_VERSIONS {
            store.append(&batch(0, seq)).await.unwrap();
        }
        assert_eq!(store.version().await.unwrap(), u64::from(LOG_VERSIONS));
        // Read through checkpoint 6: the order tags survived it.
        let reopened = builder(&url).open().await.unwrap();
        assert_eq!(reopened.load().await.unwrap(), content(LOG_VERSIONS));
    });
    for v in [3, 6] {
        assert!(
            log_file(&original, &checkpoint_name(v)).exists(),
            "no checkpoint {v}"
        );
    }
    let mut by_outcome: BTreeMap<String, u64> = BTreeMap::new();
    let mut problems = Vec::new();
    let cases = damages(&original);
    let total = cases.len();
    for (i, (what, damage)) in cases.into_iter().enumerate() {
        let copy = dir.path().join(format!("case{i}"));
        copy_dir(&original, &copy);
        damage(&copy);
        match rt.block_on(open_load_count(copy.clone())) {
            Ok((open, load, count)) => {
                println!("{what}:\n    open {open}\n    load {load}\n    count {count}");
                for text in [&open, &load, &count] {
                    if text.contains("Err Task") || text.contains("Err other") {
                        problems.push(format!("{what}: untyped error {text}"));
                    }
                }
                let key = |t: &str| t.split(':').next().unwrap_or(t).to_owned();
                *by_outcome
                    .entry(format!("open {} / load {}", key(&open), key(&load)))
                    .or_default() += 1;
            }
            Err(problem) => {
                println!("{what}: {problem}");
                problems.push(format!("{what}: {problem}"));
            }
        }
        std::fs::remove_dir_all(&copy).unwrap();
    }
    println!("damaged log: {total} cases");
    for (outcome, n) in &by_outcome {
        println!("  {outcome}: {n}");
    }
    assert!(problems.is_empty(), "problems:\n{}", problems.join("\n"));
}

/// A bit flip in a data file is `Error::Corrupt` naming the file, whether the file's `add` is
/// read from a JSON commit or from a checkpoint (the CRC32 tag must survive checkpoints).
#[test]
fn damaged_data_files_are_corrupt_after_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let original = dir.path().join("original");
    let url = original.to_str().unwrap().to_owned();
    let rt = runtime();
    rt.block_on(async {
        let store = builder(&url).checkpoint_interval(3).create().await.unwrap();
        for seq in 0..LOG_VERSIONS {
            store.append(&batch(0, seq)).await.unwrap();
        }
    });
    // The file of version 1 is read from checkpoint 6, the file of version 7 from its commit.
    let add_of = |v: u64| {
        let text = std::fs::read_to_string(log_file(&original, &commit_name(v))).unwrap();
        text.lines()
            .find_map(|l| serde_json_lite::parse(l).path_of("add"))
            .unwrap()
    };
    let mut cases = vec![
        ("version 1 (from checkpoint 6)", add_of(1), false),
        ("version 7 (from its JSON commit)", add_of(7), false),
        ("version 7, after an explicit checkpoint()", add_of(7), true),
    ];
    let mut problems = Vec::new();
    for (i, (what, file, checkpoint)) in cases.drain(..).enumerate() {
        let copy = dir.path().join(format!("data{i}"));
        copy_dir(&original, &copy);
        let url = copy.to_str().unwrap().to_owned();
        if checkpoint {
            rt.block_on(async {
                let store = builder(&url).open().await.unwrap();
                assert_eq!(store.checkpoint().await.unwrap(), 7);
            });
            assert!(log_file(&copy, &checkpoint_name(7)).exists());
        }
        let path = copy.join(&file);
        let len = std::fs::metadata(&path).unwrap().len() as usize;
        // A byte of the first column chunk (after the "PAR1" magic).
        flip(&path, 4 + (len - 12) / 8, 3);
        let result = rt.block_on(async {
            let store = builder(&url).open().await?;
            store.load().await
        });
        match result {
            Err(Error::Corrupt { path, reason }) => {
                println!("{what}: Corrupt {}: {reason}", path.display());
                if !path.to_string_lossy().ends_with(&file) {
                    problems.push(format!(
                        "{what}: Corrupt names {}, not {file}",
                        path.display()
                    ));
                }
                if !reason.contains("checksum") {
                    problems.push(format!(
                        "{what}: not caught by the CRC32 tag (no checksum in {reason:?})"
                    ));
                }
            }
            Err(e) => problems.push(format!("{what}: {} ({e:?})", describe(&e))),
            Ok(rows) => problems.push(format!(
                "{what}: the flipped file loaded ({} rows, equal to the original: {})",
                rows.writer.len(),
                rows == content(LOG_VERSIONS)
            )),
        }
    }
    assert!(problems.is_empty(), "problems:\n{}", problems.join("\n"));
}

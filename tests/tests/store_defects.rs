//! Regression tests for the store defects found by trying the crate as a new user (issue 11,
//! items 1, 2, 3 and 5), with a row type of their own.
//!
//! The cross-process tests run this same test binary as child processes (selected by
//! environment variables): one writer appending for `SOA_SOAK_SECS` seconds (default 30), reader
//! processes opening and loading in a loop, and a second writer.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use soa_runtime::StoreExt;
use soa_runtime::store::IpcCompression;
use soa_runtime::store::parquet::ParquetStore;
use soa_runtime::{Error, Soa, SoaFile, Store, ToArrow};

/// A sensor reading: the row type of these tests.
#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
pub struct Reading {
    pub seq: u64,
    pub sensor: String,
    pub celsius: f64,
    pub label: Option<String>,
    pub ok: bool,
}

/// Another row type, for files written for the wrong type.
#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
pub struct Pressure {
    pub seq: u64,
    pub hpa: f32,
}

const SENSORS: &[&str] = &["kitchen", "garage", "Dachboden", "温室", "cave à vin"];

fn reading(seq: u64) -> Reading {
    Reading {
        seq,
        sensor: SENSORS[(seq % 5) as usize].to_owned(),
        celsius: (seq % 400) as f64 / 10.0 - 5.0,
        label: (!seq.is_multiple_of(3)).then(|| format!("r{seq}")),
        ok: !seq.is_multiple_of(7),
    }
}

fn readings(range: std::ops::Range<u64>) -> ReadingSoA {
    range.map(reading).collect()
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn python() -> String {
    std::env::var("SOA_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// `true` if the interop venv is there; with `SOA_INTEROP=1` (the test command) a missing reader
/// fails the test instead of skipping it.
fn have_python_readers() -> bool {
    let ok = Command::new(python())
        .args(["-c", "import pyarrow, polars, pandas, duckdb"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok && std::env::var("SOA_INTEROP").is_ok_and(|v| v == "1") {
        panic!(
            "SOA_INTEROP=1 but {} lacks pyarrow/polars/pandas/duckdb",
            python()
        );
    }
    if !ok {
        println!("skipped: no Python readers (run scripts/test.sh)");
    }
    ok
}

fn run_python(script: &str, args: &[&Path]) -> String {
    let out = Command::new(python())
        .arg("-c")
        .arg(script)
        .args(args)
        .env("PYTHONIOENCODING", "utf-8")
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Item 1: a reader never breaks a writer (real processes)

/// Child role: appends batches of 37 rows (consecutive `seq`) until the deadline, compacting
/// every 25 appends; prints `appends N failures F rows R`.
fn child_writer(dir: &str, secs: u64) {
    runtime().block_on(async {
        let store = ParquetStore::<Reading>::open_or_create(dir).await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(secs);
        let (mut appends, mut failures, mut rows) = (0u64, 0u64, 0u64);
        let mut block = 0u64;
        while Instant::now() < deadline {
            let start = block * 37;
            block += 1;
            match store.append(&readings(start..start + 37)).await {
                Ok(()) => {
                    appends += 1;
                    rows += 37;
                }
                Err(e) => {
                    failures += 1;
                    eprintln!("append failed: {e}");
                }
            }
            if appends % 25 == 24
                && let Err(e) = store.compact().await
            {
                failures += 1;
                eprintln!("compact failed: {e}");
            }
        }
        println!("appends {appends} failures {failures} rows {rows}");
    });
}

/// Child role: opens the store and loads it in a loop until the deadline; every load must be
/// whole blocks of 37 rows; prints `reads N failures F`.
fn child_reader(dir: &str, secs: u64) {
    runtime().block_on(async {
        let deadline = Instant::now() + Duration::from_secs(secs);
        let (mut reads, mut failures) = (0u64, 0u64);
        while Instant::now() < deadline {
            let result = async {
                let store = ParquetStore::<Reading>::open(dir).await?;
                let loaded = store.load().await?;
                let count = store.count().await?;
                Ok::<_, Error>((loaded, count))
            }
            .await;
            match result {
                Ok((loaded, count)) => {
                    reads += 1;
                    let whole = loaded.len() % 37 == 0
                        && loaded.seq.chunks(37).all(|block| {
                            block[0] % 37 == 0 && block.windows(2).all(|w| w[1] == w[0] + 1)
                        })
                        && loaded.iter().all(|r| reading(*r.seq) == r.to_owned_row());
                    if !whole {
                        failures += 1;
                        eprintln!("a load saw a partial commit or wrong values");
                    }
                    if count % 37 != 0 {
                        failures += 1;
                        eprintln!("count {count} is not whole blocks");
                    }
                }
                Err(e) => {
                    failures += 1;
                    eprintln!("read failed: {e}");
                }
            }
        }
        println!("reads {reads} failures {failures}");
    });
}

/// Child role: a second writer process. Its first append must be refused with `Error::Locked`
/// naming the holder; then it waits for the lock (`wait_for_writer`) and appends one block at
/// seq 37,000,000; prints `locked-by P appends 1 failures 0 rows 37`.
fn child_locked_writer(dir: &str) {
    runtime().block_on(async {
        let store = ParquetStore::<Reading>::open(dir).await.unwrap();
        let holder = match store.append(&readings(0..37)).await {
            Err(Error::Locked { holder, .. }) => holder.unwrap_or(0),
            other => panic!("expected Error::Locked, got {other:?}"),
        };
        let waiting = ParquetStore::<Reading>::builder(dir)
            .wait_for_writer(true)
            .lock_on_open(true)
            .open()
            .await
            .unwrap();
        let start = 1_000_000 * 37;
        waiting.append(&readings(start..start + 37)).await.unwrap();
        println!("locked-by {holder} appends 1 failures 0 rows 37");
    });
}

/// Entry point of the child processes (does nothing in a normal test run).
#[test]
fn child_process() {
    let Ok(role) = std::env::var("SOA_CHILD_ROLE") else {
        return;
    };
    let dir = std::env::var("SOA_CHILD_DIR").unwrap();
    let secs: u64 = std::env::var("SOA_CHILD_SECS").unwrap().parse().unwrap();
    match role.as_str() {
        "writer" => child_writer(&dir, secs),
        "locked-writer" => child_locked_writer(&dir),
        "reader" => child_reader(&dir, secs),
        other => panic!("unknown role {other}"),
    }
}

fn spawn_child(role: &str, dir: &Path, secs: u64) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "child_process",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("SOA_CHILD_ROLE", role)
        .env("SOA_CHILD_DIR", dir)
        .env("SOA_CHILD_SECS", secs.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The `key value` pairs a child printed (its last report line).
fn child_report(child: std::process::Child) -> BTreeMap<String, u64> {
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child failed: {stdout}\n{stderr}");
    let line = stdout
        .lines()
        .rfind(|l| l.contains("failures"))
        .unwrap_or_else(|| panic!("no report: {stdout}\n{stderr}"));
    // The test harness may print its own words first on the same line.
    let start = ["locked-by ", "appends ", "reads "]
        .iter()
        .filter_map(|key| line.find(key))
        .min()
        .unwrap();
    let words: Vec<&str> = line[start..].split_whitespace().collect();
    let report: BTreeMap<String, u64> = words
        .chunks(2)
        .map(|kv| (kv[0].to_owned(), kv[1].parse().unwrap()))
        .collect();
    assert_eq!(report["failures"], 0, "child reported failures: {stderr}");
    report
}

fn soak_secs() -> u64 {
    std::env::var("SOA_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30)
}

#[test]
fn reader_processes_never_break_a_writer_process() {
    let dir = tmp();
    let secs = soak_secs();
    runtime().block_on(async {
        ParquetStore::<Reading>::create(dir.path()).await.unwrap();
    });
    let writer = spawn_child("writer", dir.path(), secs);
    let readers: Vec<_> = (0..3)
        .map(|_| spawn_child("reader", dir.path(), secs))
        .collect();
    let written = child_report(writer);
    let mut reads = 0;
    for reader in readers {
        reads += child_report(reader)["reads"];
    }
    println!("appends {} reads {reads}", written["appends"]);
    assert!(
        written["appends"] > 10 && reads > 10,
        "too little work done"
    );
    runtime().block_on(async {
        let store = ParquetStore::<Reading>::open(dir.path()).await.unwrap();
        let loaded = store.load().await.unwrap();
        assert_eq!(loaded.len() as u64, written["rows"]);
        assert_eq!(loaded, readings(0..written["rows"]), "final content exact");
        assert!(store.dropped_files().is_empty());
    });
    // no staging leftovers, only committed files
    assert!(
        !listing(dir.path()).iter().any(|n| n.starts_with('.')),
        "{:?}",
        listing(dir.path())
    );
}

#[test]
fn a_second_writer_process_is_locked_out_until_the_first_dies() {
    let dir = tmp();
    runtime().block_on(async {
        ParquetStore::<Reading>::create(dir.path()).await.unwrap();
    });
    let mut first = spawn_child("writer", dir.path(), 120);
    // wait for the first writer's first commit (it holds the writer lock from then on)
    let rt = runtime();
    let reader_store = rt
        .block_on(ParquetStore::<Reading>::open(dir.path()))
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while rt.block_on(reader_store.count()).unwrap() == 0 {
        assert!(
            Instant::now() < deadline,
            "the first writer never committed"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let second = spawn_child("locked-writer", dir.path(), 0);
    let reader = spawn_child("reader", dir.path(), 6);
    std::thread::sleep(Duration::from_secs(3));
    first.kill().unwrap(); // kill -9: the kernel releases its lock
    first.wait().unwrap();
    let second = child_report(second);
    assert_eq!(
        second["locked-by"],
        u64::from(first.id()),
        "Locked names the holder"
    );
    child_report(reader);
    rt.block_on(async {
        let store = ParquetStore::<Reading>::open(dir.path()).await.unwrap();
        let loaded = store.load().await.unwrap();
        // the first writer's committed blocks (a prefix of its appends), then the second's block
        let n = loaded.len() - 37;
        assert!(n > 0 && n % 37 == 0);
        let mut expected = readings(0..n as u64);
        expected.extend(readings(37_000_000..37_000_037).into_rows());
        assert_eq!(loaded, expected);
    });
}

#[tokio::test(flavor = "multi_thread")]
async fn open_while_a_commit_runs_deletes_nothing() {
    let dir = tmp();
    let store = ParquetStore::<Reading>::create(dir.path()).await.unwrap();
    store.append(&readings(0..10)).await.unwrap();
    // Play a writer of another process in the middle of a commit: it holds the lock and has a
    // staged file.
    let lock = fs::File::options()
        .read(true)
        .write(true)
        .open(dir.path().join("_soa_lock"))
        .unwrap();
    lock.lock().unwrap();
    let staged = dir.path().join(".soa-9-4242-0-part-000009.parquet.tmp");
    fs::write(&staged, b"being written").unwrap();
    let reader = ParquetStore::<Reading>::open(dir.path()).await.unwrap();
    assert_eq!(reader.load().await.unwrap(), readings(0..10));
    assert!(
        staged.exists(),
        "a reader deleted a live writer's staged file"
    );
    // The writer dies (its lock goes with it): now the leftover is provably abandoned.
    drop(lock);
    let reader = ParquetStore::<Reading>::open(dir.path()).await.unwrap();
    assert_eq!(reader.count().await.unwrap(), 10);
    assert!(
        !staged.exists(),
        "the next open sweeps an abandoned staged file"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_store_instance_sees_commits_of_another_instance() {
    let dir = tmp();
    let a = ParquetStore::<Reading>::create(dir.path()).await.unwrap();
    let b = ParquetStore::<Reading>::open(dir.path()).await.unwrap();
    a.append(&readings(0..5)).await.unwrap();
    assert_eq!(b.count().await.unwrap(), 5);
    b.append(&readings(5..9)).await.unwrap();
    a.compact().await.unwrap();
    // b's earlier view named part files that compact removed: it reads the new state
    assert_eq!(b.load().await.unwrap(), readings(0..9));
    assert_eq!(a.load().await.unwrap(), readings(0..9));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_file_rolls_back_to_the_whole_files_and_is_reported() {
    let dir = tmp();
    let store = ParquetStore::<Reading>::create(dir.path()).await.unwrap();
    for block in 0..3 {
        store
            .append(&readings(block * 10..block * 10 + 10))
            .await
            .unwrap();
    }
    drop(store);
    fs::remove_file(dir.path().join("part-000002.parquet")).unwrap();

    let store = ParquetStore::<Reading>::open(dir.path()).await.unwrap();
    let dropped = store.dropped_files();
    assert_eq!(dropped.len(), 1);
    assert_eq!(dropped[0].name, "part-000002.parquet");
    assert_eq!(dropped[0].rows, 10);
    let mut expected = readings(0..10);
    expected.extend(readings(20..30).into_rows());
    assert_eq!(store.count().await.unwrap(), 20);
    assert_eq!(store.load().await.unwrap(), expected);

    // the next commit writes the repaired manifest
    store.append(&readings(30..35)).await.unwrap();
    let reopened = ParquetStore::<Reading>::open(dir.path()).await.unwrap();
    assert!(reopened.dropped_files().is_empty());
    expected.extend(readings(30..35).into_rows());
    assert_eq!(reopened.load().await.unwrap(), expected);
}

// ---------------------------------------------------------------------------------------------
// Item 2: rewriting operations always verify

#[tokio::test(flavor = "multi_thread")]
async fn compact_refuses_a_damaged_file_even_without_verification() {
    let dir = tmp();
    let store = ParquetStore::<Reading>::builder(dir.path())
        .verify_checksums(false)
        .compression(soa_runtime::store::parquet::Codec::Uncompressed)
        .dictionary(false)
        .create()
        .await
        .unwrap();
    store.append(&readings(0..100)).await.unwrap();
    store.append(&readings(100..200)).await.unwrap();
    // Flip bits inside the value pages of the first part (same size, so only the CRC tells).
    let part = dir.path().join("part-000001.parquet");
    let mut bytes = fs::read(&part).unwrap();
    let at = bytes.len() / 3;
    for b in &mut bytes[at..at + 8] {
        *b ^= 0x10;
    }
    fs::write(&part, &bytes).unwrap();
    let before = listing(dir.path());

    let err = store.compact().await.unwrap_err();
    assert!(
        matches!(&err, Error::Corrupt { path, reason } if path.ends_with("part-000001.parquet") && reason.contains("CRC32")),
        "{err:?}"
    );
    assert_eq!(listing(dir.path()), before, "the store is unchanged");
    // and the damage stays detectable
    let verifying = ParquetStore::<Reading>::open(dir.path()).await.unwrap();
    assert!(matches!(
        verifying.load().await.unwrap_err(),
        Error::Corrupt { .. }
    ));
}

// ---------------------------------------------------------------------------------------------
// Item 3: an empty store is a dataset

const PY_EMPTY: &str = r#"
import sys, glob
import pyarrow.dataset as ds, pyarrow.parquet as pq, polars as pl, pandas as pd, duckdb
d = sys.argv[1]
t = ds.dataset(d, format="parquet").to_table()
print("pyarrow", t.num_rows, ",".join(t.column_names))
p = pl.scan_parquet(d + "/*.parquet").collect()
print("polars", p.height, ",".join(p.columns))
f = pd.read_parquet(d, dtype_backend="pyarrow")
print("pandas", len(f), ",".join(f.columns))
r = duckdb.sql(f"SELECT * FROM read_parquet('{d}/*.parquet')")
print("duckdb", len(r.fetchall()), ",".join(r.columns))
"#;

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_store_shows_the_schema_to_external_readers() {
    let dir = tmp();
    let store = ParquetStore::<Reading>::create(dir.path()).await.unwrap();
    assert_eq!(store.count().await.unwrap(), 0);
    assert!(store.load().await.unwrap().is_empty());
    assert_eq!(store.stats().rows, 0);
    assert_eq!(store.stats().batches, 0);
    let empty = dir.path().join("data.parquet");
    assert!(empty.exists(), "{:?}", listing(dir.path()));
    // the empty file is typed: our own single-file reader takes it too
    assert!(ReadingSoA::read_parquet(&empty).unwrap().is_empty());

    let cleared = tmp();
    let other = ParquetStore::<Reading>::create(cleared.path())
        .await
        .unwrap();
    other.append(&readings(0..50)).await.unwrap();
    other.clear().await.unwrap();
    assert_eq!(
        listing(cleared.path()),
        ["_soa_lock", "_soa_manifest", "_soa_writer", "data.parquet"]
    );
    // appending to an empty store replaces the placeholder
    other.append(&readings(0..3)).await.unwrap();
    assert_eq!(other.files().await.len(), 1);
    other.clear().await.unwrap();
    assert_eq!(other.load().await.unwrap().len(), 0);
    // saving nothing is the same empty dataset
    let saved = tmp();
    let third = ParquetStore::<Reading>::create(saved.path()).await.unwrap();
    third.save(&ReadingSoA::new()).await.unwrap();
    assert!(saved.path().join("data.parquet").exists());

    if !have_python_readers() {
        return;
    }
    let columns = "seq,sensor,celsius,label,ok";
    for d in [dir.path(), cleared.path(), saved.path()] {
        let out = run_python(PY_EMPTY, &[d]);
        for reader in ["pyarrow", "polars", "pandas", "duckdb"] {
            let line = out.lines().find(|l| l.starts_with(reader)).unwrap();
            assert_eq!(line, format!("{reader} 0 {columns}"), "{out}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Item 5: one file, typed; importing foreign files

const PY_WRITE: &str = r#"
import sys
import pyarrow as pa, pyarrow.parquet as pq, polars as pl
d = sys.argv[1]
n = 1000
t = pa.table({
    "ok": pa.array([i % 7 != 0 for i in range(n)]),
    "seq": pa.array(range(n), pa.int64()),          # Int64 where the struct has u64: refused
    "sensor": pa.array([["kitchen","garage","Dachboden","温室","cave à vin"][i % 5] for i in range(n)], pa.large_string()),
    "celsius": pa.array([(i % 400) / 10.0 - 5.0 for i in range(n)], pa.float64()),
    "label": pa.array([None if i % 3 == 0 else f"r{i}" for i in range(n)]),
    "extra": pa.array(range(n)),
})
pq.write_table(t.set_column(1, "seq", pa.array(range(n), pa.uint64())), d + "/pyarrow.parquet", row_group_size=300)
pq.write_table(t, d + "/wrong_type.parquet")
pl.DataFrame({
    "seq": pl.Series(range(n, 2 * n), dtype=pl.UInt32),   # a widening: u32 -> u64
    "sensor": [["kitchen","garage","Dachboden","温室","cave à vin"][i % 5] for i in range(n, 2 * n)],
    "celsius": [(i % 400) / 10.0 - 5.0 for i in range(n, 2 * n)],
    "label": [None if i % 3 == 0 else f"r{i}" for i in range(n, 2 * n)],
    "ok": [i % 7 != 0 for i in range(n, 2 * n)],
}).write_parquet(d + "/polars.parquet")
print("ok")
"#;

const PY_READ_OURS: &str = r#"
import sys
import pyarrow.parquet as pq, polars as pl
t = pq.read_table(sys.argv[1])
print("rows", t.num_rows)
print("seq_sum", sum(t["seq"].to_pylist()))
print("labels", sum(1 for v in t["label"].to_pylist() if v is None))
print("sensor7", t["sensor"][7].as_py())
print("polars", pl.read_parquet(sys.argv[1]).height)
"#;

#[tokio::test(flavor = "multi_thread")]
async fn one_file_one_liners_round_trip() {
    let dir = tmp();
    let data = readings(0..5000);
    let pq = dir.path().join("readings.parquet");
    data.write_parquet(&pq).unwrap();
    assert_eq!(ReadingSoA::read_parquet(&pq).unwrap(), data);
    // overwriting is atomic and leaves no temporary file
    let fewer = readings(0..3);
    fewer.write_parquet(&pq).unwrap();
    assert_eq!(ReadingSoA::read_parquet(&pq).unwrap(), fewer);
    for compression in [
        IpcCompression::None,
        IpcCompression::Lz4,
        IpcCompression::Zstd,
    ] {
        let ipc = dir.path().join("readings.arrow");
        data.write_ipc(&ipc, compression).unwrap();
        assert_eq!(ReadingSoA::read_ipc(&ipc).unwrap(), data);
    }
    // empty and one row
    let empty = dir.path().join("empty.parquet");
    ReadingSoA::new().write_parquet(&empty).unwrap();
    assert!(ReadingSoA::read_parquet(&empty).unwrap().is_empty());
    let one = readings(41..42);
    one.write_ipc(dir.path().join("one.arrow"), IpcCompression::None)
        .unwrap();
    assert_eq!(
        ReadingSoA::read_ipc(dir.path().join("one.arrow")).unwrap(),
        one
    );
    assert_eq!(
        listing(dir.path()),
        [
            "empty.parquet",
            "one.arrow",
            "readings.arrow",
            "readings.parquet"
        ]
    );

    // typed errors: missing file, not Parquet, another row type
    let missing = ReadingSoA::read_parquet(dir.path().join("nope.parquet")).unwrap_err();
    assert!(
        matches!(&missing, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    );
    fs::write(dir.path().join("junk.parquet"), b"not parquet at all").unwrap();
    assert!(matches!(
        ReadingSoA::read_parquet(dir.path().join("junk.parquet")).unwrap_err(),
        Error::Corrupt { .. }
    ));
    let pressure: PressureSoA = (0..3u64).map(|seq| Pressure { seq, hpa: 1013.0 }).collect();
    pressure
        .write_parquet(dir.path().join("p.parquet"))
        .unwrap();
    assert!(matches!(
        ReadingSoA::read_parquet(dir.path().join("p.parquet")).unwrap_err(),
        Error::SchemaMismatch { .. }
    ));

    if !have_python_readers() {
        return;
    }
    data.write_parquet(&pq).unwrap();
    let out = run_python(PY_READ_OURS, &[&pq]);
    let expected_nulls = (0..5000u64).filter(|i| i % 3 == 0).count();
    assert!(out.contains("rows 5000\n"), "{out}");
    assert!(
        out.contains(&format!("seq_sum {}\n", (0..5000u64).sum::<u64>())),
        "{out}"
    );
    assert!(out.contains(&format!("labels {expected_nulls}\n")), "{out}");
    assert!(
        out.contains(&format!("sensor7 {}\n", reading(7).sensor)),
        "{out}"
    );
    assert!(out.contains("polars 5000"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn foreign_files_read_typed_and_import_into_a_store() {
    if !have_python_readers() {
        return;
    }
    let src = tmp();
    run_python(PY_WRITE, &[src.path()]);
    let from_pyarrow = src.path().join("pyarrow.parquet");
    let from_polars = src.path().join("polars.parquet");

    // pyarrow: large_string, extra column, other column order, several row groups
    assert_eq!(
        ReadingSoA::read_parquet(&from_pyarrow).unwrap(),
        readings(0..1000)
    );
    // polars: u32 widened to u64
    assert_eq!(
        ReadingSoA::read_parquet(&from_polars).unwrap(),
        readings(1000..2000)
    );
    // a wrong type names the field and the file
    let err = ReadingSoA::read_parquet(src.path().join("wrong_type.parquet")).unwrap_err();
    let text = err.full_message();
    assert!(
        matches!(&err, Error::InFile { path, .. } if path.ends_with("wrong_type.parquet"))
            && text.contains("Reading.seq: expected Arrow type UInt64, found Int64"),
        "{text}"
    );

    let dir = tmp();
    let store = ParquetStore::<Reading>::create(dir.path()).await.unwrap();
    store.append(&readings(5000..5010)).await.unwrap();
    // a failing import commits nothing
    let err = store
        .import(&[from_pyarrow.clone(), src.path().join("wrong_type.parquet")])
        .await
        .unwrap_err();
    assert!(err.full_message().contains("Reading.seq"), "{err}");
    assert_eq!(store.count().await.unwrap(), 10);
    assert!(!listing(dir.path()).iter().any(|n| n.starts_with('.')));

    store.import(&[&from_pyarrow, &from_polars]).await.unwrap();
    let mut expected = readings(5000..5010);
    expected.extend(readings(0..2000).into_rows());
    assert_eq!(store.count().await.unwrap(), 2010);
    assert_eq!(store.load().await.unwrap(), expected);
    // the imported files are store files now: checksummed, typed, visible after reopening
    let reopened = ParquetStore::<Reading>::open(dir.path()).await.unwrap();
    assert_eq!(reopened.load().await.unwrap(), expected);
    assert_eq!(reopened.files().await.len(), 3);
    // the sources are untouched
    assert!(from_pyarrow.exists() && from_polars.exists());
}

/// A row type with the columns Spark cannot read by default.
#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
pub struct Shift {
    pub id: u32,
    pub starts: chrono::NaiveTime,
    #[soa(timestamp = "ns")]
    pub logged: chrono::DateTime<chrono::Utc>,
}

#[test]
fn one_file_writes_with_the_spark_profile_and_reads_back_exactly() {
    use chrono::{NaiveTime, TimeZone, Utc};
    let rows: ShiftSoA = (0..100u32)
        .map(|id| Shift {
            id,
            starts: NaiveTime::from_hms_micro_opt(id % 24, id % 60, 7, id * 11).unwrap(),
            logged: Utc
                .timestamp_opt(1_700_000_000 + i64::from(id), id * 1000)
                .unwrap(),
        })
        .collect();
    let dir = tmp();
    let path = dir.path().join("shifts.parquet");
    let mut spark = soa_runtime::store::parquet::ParquetOptions::default();
    spark.spark_compatible = true;
    rows.write_parquet_with(&path, &spark).unwrap();
    assert_eq!(ShiftSoA::read_parquet(&path).unwrap(), rows);
    // in the file: the time of day as Int64 microseconds, the timestamp in microseconds
    let file = fs::File::open(&path).unwrap();
    let reader =
        soa_runtime::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap();
    let descr = reader.parquet_schema();
    let physical: Vec<String> = (0..descr.num_columns())
        .map(|i| format!("{:?}", descr.column(i).physical_type()))
        .collect();
    assert_eq!(physical, ["INT32", "INT64", "INT64"]);
    assert!(
        format!("{:?}", descr.column(2).logical_type_ref()).contains("MICROS"),
        "{:?}",
        descr.column(2)
    );
    // a sub-microsecond value is refused, never truncated
    let mut precise = rows.clone();
    precise.logged[3] = Utc.timestamp_opt(1_700_000_000, 1).unwrap();
    let err = precise.write_parquet_with(&path, &spark).unwrap_err();
    assert!(err.full_message().contains("Shift.logged"), "{err}");
    assert_eq!(
        ShiftSoA::read_parquet(&path).unwrap(),
        rows,
        "the old file stays"
    );
}

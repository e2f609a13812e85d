//! `TieredStore` and streaming ingestion benchmarks, measured side by side in one run, written as
//! the "Tiered store and streaming ingestion" section of `BENCHMARKS.md` (the rest of the file is
//! left as it is).
//!
//! ```text
//! cargo run --release --bin tiered_report -- [--seconds 10] [--direct-seconds 3] [--reps 3]
//!     [--producers 8] [--window 8] [--batch 100] [--rows 1000000] [--wal-gib 1.0] [--recovery-reps 3]
//!     [--only ingest,query,recovery] [--out ../BENCHMARKS.md] [--data data/tiered]
//! ```
//!
//! - ingest: `--producers` tokio tasks each send batches of `--batch` orders for `--seconds`:
//!   through their own clone of a `TieredStore`'s `Ingestor` (`Durability::Sync`,
//!   `Interval(10ms)`, `None`; default flush policy, `ParquetStore` cold tier), as bare
//!   `ArrowStore` appends, and (for `--direct-seconds`) as appends straight to a `ParquetStore`
//!   (one file per append). The pipelined lines: each `Sync` producer keeps `--window` sends in
//!   flight (`Ingestor::submit_batch`), and `--producers` x `--window` tasks append to a
//!   `ParquetStore` (the same concurrency). Interleaved: `--reps` rounds, each line once per round.
//! - query: while the producers ingest (`Sync`), a task times `count()` and a filtered sum over
//!   the last `--rows` order ids every ~50 ms for `--seconds`.
//! - recovery: ingest (`Sync`, no flush) until the log holds `--wal-gib` GiB, drop the store
//!   without `close`, then time `TieredStore::open` (the log replay) and the first query.
//!
//! `--data` (default `bench/data/tiered`) holds one fresh directory per measured store; it is
//! removed at the end if this run created it.

use std::collections::{BTreeSet, VecDeque};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use soa_bench::lines::{Line, Lines, runtime, splice};
use soa_bench::report::{fmt_dur, fmt_mib, fmt_rows};
use soa_bench::timing::{fixed_mmap_threshold, sh};
use soa_bench::{Order, OrderSoA};
use soa_fixtures::OrderGenerator;
use soa_runtime::arrow::array::cast::AsArray;
use soa_runtime::arrow::array::types::UInt32Type;
use soa_runtime::prelude::*;
use soa_runtime::store::tiered::{
    Ack, Durability, FlushPolicy, Ingestor, TieredOptions, TieredStore,
};

const SECTION: &str = "## Tiered store and streaming ingestion";

type Tiered = TieredStore<Order, ParquetStore<Order>>;

struct Args {
    seconds: f64,
    direct_seconds: f64,
    /// Duration of the two in-memory lines (bare `ArrowStore`, `TieredStore` without flushes):
    /// both keep every row, so memory bounds it.
    memory_seconds: f64,
    reps: usize,
    producers: usize,
    /// Sends each producer keeps in flight on the pipelined lines.
    window: usize,
    batch: usize,
    /// The query window: the last `rows` order ids.
    rows: usize,
    wal_gib: f64,
    recovery_reps: usize,
    only: Option<BTreeSet<String>>,
    /// Only the ingest lines whose name contains this text (for profiling).
    lines: Option<String>,
    out: PathBuf,
    data: PathBuf,
}

impl Args {
    fn wants(&self, workload: &str) -> bool {
        self.only.as_ref().is_none_or(|o| o.contains(workload))
    }
}

fn parse_args() -> Args {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut args = Args {
        seconds: 10.0,
        direct_seconds: 3.0,
        memory_seconds: 3.0,
        reps: 3,
        producers: 8,
        window: 8,
        batch: 100,
        rows: soa_bench::ROWS_1M,
        wal_gib: 1.0,
        recovery_reps: 3,
        only: None,
        lines: None,
        out: root.join("../BENCHMARKS.md"),
        data: root.join("data/tiered"),
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut val = || it.next().unwrap_or_else(|| panic!("{a} needs a value"));
        match a.as_str() {
            "--seconds" => args.seconds = val().parse().expect("--seconds S"),
            "--direct-seconds" => args.direct_seconds = val().parse().expect("--direct-seconds S"),
            "--memory-seconds" => args.memory_seconds = val().parse().expect("--memory-seconds S"),
            "--reps" => args.reps = val().parse::<usize>().expect("--reps N").max(1),
            "--producers" => args.producers = val().parse::<usize>().expect("--producers N").max(1),
            "--window" => args.window = val().parse::<usize>().expect("--window N").max(1),
            "--batch" => {
                args.batch = val()
                    .replace('_', "")
                    .parse::<usize>()
                    .expect("--batch N")
                    .max(1)
            }
            "--rows" => args.rows = val().replace('_', "").parse().expect("--rows N"),
            "--wal-gib" => args.wal_gib = val().parse().expect("--wal-gib G"),
            "--recovery-reps" => {
                args.recovery_reps = val().parse::<usize>().expect("--recovery-reps N").max(1)
            }
            "--only" => args.only = Some(val().split(',').map(str::to_owned).collect()),
            "--lines" => args.lines = Some(val()),
            "--out" => args.out = PathBuf::from(val()),
            "--data" => args.data = PathBuf::from(val()),
            "-h" | "--help" => {
                eprintln!(
                    "{}",
                    include_str!("tiered_report.rs")
                        .lines()
                        .take(22)
                        .collect::<Vec<_>>()
                        .join("\n")
                );
                std::process::exit(0);
            }
            other => panic!("unknown argument {other}"),
        }
    }
    args
}

/// A throughput figure of a line: one value per repetition.
struct Rate {
    group: &'static str,
    name: String,
    values: Vec<f64>,
    unit: &'static str,
}

/// The lines of this run (latencies), their throughputs and the facts the goals need.
#[derive(Default)]
struct Results {
    base: Lines,
    rates: Vec<Rate>,
}

impl std::ops::Deref for Results {
    type Target = Lines;

    fn deref(&self) -> &Lines {
        &self.base
    }
}

impl std::ops::DerefMut for Results {
    fn deref_mut(&mut self) -> &mut Lines {
        &mut self.base
    }
}

impl Results {
    fn line(&self, group: &str, name: &str) -> Option<&Line> {
        self.lines
            .iter()
            .find(|l| l.group == group && l.name == name)
    }

    fn rate(&self, group: &str, name: &str) -> Option<&Rate> {
        self.rates
            .iter()
            .find(|r| r.group == group && r.name == name)
    }

    /// Median throughput of a line over its repetitions.
    fn rate_median(&self, group: &str, name: &str) -> Option<f64> {
        self.rate(group, name).and_then(|r| median_f64(&r.values))
    }

    fn add_rate(&mut self, group: &'static str, name: &str, values: Vec<f64>, unit: &'static str) {
        self.rates.push(Rate {
            group,
            name: name.to_owned(),
            values,
            unit,
        });
    }
}

fn median_f64(values: &[f64]) -> Option<f64> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(v[n / 2]),
        _ => Some((v[n / 2 - 1] + v[n / 2]) / 2.0),
    }
}

/// The `q` quantile (0..=1) of a line's samples (nearest rank).
fn quantile(line: &Line, q: f64) -> Duration {
    let mut v = line.runs.clone();
    v.sort();
    if v.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((v.len() as f64 * q).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

fn p99(line: &Line) -> Duration {
    quantile(line, 0.99)
}

/// `p99 1.2 ms (p50 0.4 ms, max 3.1 ms)`.
fn latencies(line: &Line) -> String {
    format!(
        "p99 {} (p50 {}, max {})",
        fmt_dur(p99(line)),
        fmt_dur(line.median()),
        fmt_dur(line.max())
    )
}

/// `1.23M rows/s`, `456k rows/s`, `789 MB/s`.
fn fmt_rate(v: f64, unit: &str) -> String {
    if unit == "rows/s" {
        if v >= 1e6 {
            format!("{:.2}M rows/s", v / 1e6)
        } else if v >= 1e3 {
            format!("{:.0}k rows/s", v / 1e3)
        } else {
            format!("{v:.0} rows/s")
        }
    } else {
        format!("{v:.0} {unit}")
    }
}

fn fmt_count(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Every `*.parquet` file under `dir`, recursively: how many, and their bytes.
fn parquet_files(dir: &Path) -> (usize, u64) {
    fn walk(dir: &Path, out: &mut (usize, u64)) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            match entry.file_type() {
                Ok(t) if t.is_dir() => walk(&path, out),
                Ok(t) if t.is_file() && path.extension().is_some_and(|e| e == "parquet") => {
                    out.0 += 1;
                    out.1 += entry.metadata().map(|m| m.len()).unwrap_or(0);
                }
                _ => {}
            }
        }
    }
    let mut out = (0, 0);
    walk(dir, &mut out);
    out
}

/// The log segments in `dir`.
fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "seg"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[cfg(target_os = "linux")]
unsafe extern "C" {
    fn posix_fadvise(fd: i32, offset: i64, len: i64, advice: i32) -> i32;
}

/// Drops `path`'s pages from the OS page cache (this file only: other processes' files stay
/// cached). Returns whether the kernel accepted the advice.
fn evict(path: &Path) -> bool {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        const POSIX_FADV_DONTNEED: i32 = 4;
        let Ok(file) = fs::File::open(path) else {
            return false;
        };
        // SAFETY: a valid open descriptor; the call only gives the kernel caching advice.
        unsafe { posix_fadvise(file.as_raw_fd(), 0, 0, POSIX_FADV_DONTNEED) == 0 }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = path;
        false
    }
}

/// Free bytes on the file system holding `dir`.
fn free_bytes(dir: &Path) -> Option<u64> {
    sh(&format!(
        "df -Pk '{}' | awk 'NR==2 {{print $4}}'",
        dir.display()
    ))
    .parse::<u64>()
    .ok()
    .map(|k| k * 1024)
}

/// Where the rows of a producer go.
#[derive(Clone)]
enum Sink {
    Tiered(Ingestor<Order>),
    Arrow(ArrowStore<Order>),
    Parquet(ParquetStore<Order>),
}

impl Sink {
    async fn send(&self, soa: &OrderSoA) -> soa_runtime::Result<()> {
        match self {
            Sink::Tiered(ingest) => ingest.send_batch(soa).await.map(|_| ()),
            Sink::Arrow(store) => store.append(soa).await,
            Sink::Parquet(store) => store.append(soa).await,
        }
    }
}

/// What one producer sent: rows acknowledged and the latency of each send.
#[derive(Default)]
struct Produced {
    rows: u64,
    latencies: Vec<Duration>,
}

/// Batches of `batch` orders a producer cycles through; their ids are rewritten before each
/// send (outside the timing) so that every row sent has a new id.
fn pool(batch: usize, producer: usize) -> Vec<OrderSoA> {
    let mut generator = OrderGenerator::new().skip(producer * 64 * batch);
    (0..64)
        .map(|_| generator.by_ref().take(batch).collect())
        .collect()
}

/// One producer: sends until `stop` is set or `deadline` passes, timing each send until its
/// acknowledgement. With `window` > 1 (a `TieredStore` sink) it keeps up to `window` sends in
/// flight (`Ingestor::submit_batch`), waiting for the oldest acknowledgement when the window is
/// full, and counts rows when they are acknowledged.
async fn produce(
    sink: Sink,
    mut pool: Vec<OrderSoA>,
    ids: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    deadline: Instant,
    window: usize,
) -> Produced {
    let mut out = Produced {
        rows: 0,
        latencies: Vec::with_capacity(1 << 16),
    };
    let mut in_flight: VecDeque<(Instant, Ack, u64)> = VecDeque::with_capacity(window);
    let mut k = 0;
    while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
        let n = pool.len();
        let soa = &mut pool[k % n];
        k += 1;
        let first = ids.fetch_add(soa.len() as u64, Ordering::Relaxed);
        for (j, id) in soa.order_id.iter_mut().enumerate() {
            *id = first + j as u64;
        }
        let soa = &*soa;
        let start = Instant::now();
        match (&sink, window) {
            (Sink::Tiered(ingest), w) if w > 1 => {
                if in_flight.len() >= w
                    && let Some((t, ack, rows)) = in_flight.pop_front()
                {
                    ack.await.expect("ack");
                    out.latencies.push(t.elapsed());
                    out.rows += rows;
                }
                let ack = ingest.submit_batch(soa).await.expect("submit");
                in_flight.push_back((start, ack, soa.len() as u64));
            }
            _ => {
                sink.send(soa).await.expect("send");
                out.latencies.push(start.elapsed());
                out.rows += soa.len() as u64;
            }
        }
    }
    for (t, ack, rows) in in_flight {
        ack.await.expect("ack");
        out.latencies.push(t.elapsed());
        out.rows += rows;
    }
    out
}

/// Producers running on the runtime.
struct Producers {
    handles: Vec<tokio::task::JoinHandle<Produced>>,
    ids: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl Producers {
    /// `tasks` producer tasks (the first pools), each with `window` sends in flight.
    fn start(
        tasks: usize,
        window: usize,
        sink: &Sink,
        pools: &[Vec<OrderSoA>],
        deadline: Instant,
    ) -> Producers {
        let ids = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let handles = pools
            .iter()
            .take(tasks)
            .map(|pool| {
                tokio::spawn(produce(
                    sink.clone(),
                    pool.clone(),
                    Arc::clone(&ids),
                    Arc::clone(&stop),
                    deadline,
                    window,
                ))
            })
            .collect();
        Producers { handles, ids, stop }
    }

    /// Tells the producers to stop after their current send.
    fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Waits for every producer (until its deadline, or until told to stop).
    async fn join(self) -> Produced {
        let mut all = Produced::default();
        for h in self.handles {
            let p = h.await.expect("producer");
            all.rows += p.rows;
            all.latencies.extend(p.latencies);
        }
        all
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Tiered(Durability),
    /// Each producer keeps `--window` sends in flight (`Ingestor::submit_batch`).
    Pipelined(Durability),
    /// With a flush policy and hot limit above the run's rows: the ingest path alone.
    Unflushed(Durability),
    Arrow,
    Parquet,
    /// `--producers` x `--window` tasks appending: the pipelined lines' concurrency.
    ParquetWide,
}

struct IngestLine {
    name: &'static str,
    kind: Kind,
}

const SYNC: &str = "ours: TieredStore, Durability::Sync (group commit), Ingestor::send_batch";
const INTERVAL: &str = "ours: TieredStore, Durability::Interval(10 ms), Ingestor::send_batch";
const NONE: &str = "ours: TieredStore, Durability::None, Ingestor::send_batch";
const NONE_PATH: &str = "ours: TieredStore, Durability::None, Ingestor::send_batch, no flush during the run (flush policy and hot limit above its rows: the ingest path alone)";
const ARROW: &str = "ours: bare ArrowStore append(&soa) (in memory, no log, no flush)";
const DIRECT: &str = "ours: ParquetStore append(&soa) per batch (one file + fsync per append)";
const SYNC_PIPELINED: &str = "ours: TieredStore, Durability::Sync (group commit), Ingestor::submit_batch, each producer keeps --window sends in flight";
const DIRECT_WIDE: &str = "ours: ParquetStore append(&soa) per batch (one file + fsync per append), --producers x --window tasks appending (the pipelined line's concurrency)";

fn ingest_lines() -> Vec<IngestLine> {
    vec![
        IngestLine {
            name: SYNC,
            kind: Kind::Tiered(Durability::Sync),
        },
        IngestLine {
            name: SYNC_PIPELINED,
            kind: Kind::Pipelined(Durability::Sync),
        },
        IngestLine {
            name: INTERVAL,
            kind: Kind::Tiered(Durability::Interval(Duration::from_millis(10))),
        },
        IngestLine {
            name: NONE,
            kind: Kind::Tiered(Durability::None),
        },
        IngestLine {
            name: NONE_PATH,
            kind: Kind::Unflushed(Durability::None),
        },
        IngestLine {
            name: ARROW,
            kind: Kind::Arrow,
        },
        IngestLine {
            name: DIRECT,
            kind: Kind::Parquet,
        },
        IngestLine {
            name: DIRECT_WIDE,
            kind: Kind::ParquetWide,
        },
    ]
}

/// One timed run of an ingest line.
struct IngestRun {
    rows: u64,
    elapsed: Duration,
    latencies: Vec<Duration>,
    note: String,
}

/// One run of `line` into an empty store in a fresh directory (created before the timing, removed
/// after it): the producers for the line's duration, then (untimed) the store's counters, its
/// `close` and a check that it holds every acknowledged row.
fn ingest_run(
    rt: &tokio::runtime::Runtime,
    args: &Args,
    line: &IngestLine,
    pools: &[Vec<OrderSoA>],
) -> IngestRun {
    let seconds = match line.kind {
        Kind::Parquet | Kind::ParquetWide => args.direct_seconds,
        Kind::Arrow | Kind::Unflushed(_) => args.memory_seconds,
        Kind::Tiered(_) | Kind::Pipelined(_) => args.seconds,
    };
    let dir = tempfile::tempdir_in(&args.data).expect("tempdir");
    rt.block_on(async {
        let (sink, tiered, direct) = match line.kind {
            Kind::Tiered(durability)
            | Kind::Pipelined(durability)
            | Kind::Unflushed(durability) => {
                let cold = ParquetStore::<Order>::open_or_create(dir.path().join("cold"))
                    .await
                    .expect("cold tier");
                let options = match line.kind {
                    Kind::Unflushed(_) => TieredOptions::new()
                        .flush(
                            FlushPolicy::new()
                                .rows(u64::MAX)
                                .bytes(u64::MAX)
                                .age(Duration::from_secs(24 * 3600)),
                        )
                        .hot_limit(u64::MAX),
                    _ => TieredOptions::new(),
                };
                let store =
                    TieredStore::open(dir.path().join("wal"), cold, options.durability(durability))
                        .await
                        .expect("open");
                (Sink::Tiered(store.ingestor()), Some(store), None)
            }
            Kind::Arrow => (Sink::Arrow(ArrowStore::<Order>::new()), None, None),
            Kind::Parquet | Kind::ParquetWide => {
                let store = ParquetStore::<Order>::open_or_create(dir.path().join("direct"))
                    .await
                    .expect("create");
                (Sink::Parquet(store.clone()), None, Some(store))
            }
        };
        // No line pays for the previous line's writeback.
        sh("sync");
        let start = Instant::now();
        let deadline = start + Duration::from_secs_f64(seconds);
        let (tasks, window) = match line.kind {
            Kind::Pipelined(_) => (args.producers, args.window),
            Kind::ParquetWide => (args.producers * args.window, 1),
            _ => (args.producers, 1),
        };
        let producers = Producers::start(tasks, window, &sink, pools, deadline);
        let produced = producers.join().await;
        let elapsed = start.elapsed();
        let note = match (&sink, &tiered, &direct) {
            (_, Some(store), _) => {
                let stats = store.tiered_stats();
                let t = Instant::now();
                store.close().await.expect("close");
                let close = t.elapsed();
                assert_eq!(store.count().await.expect("count"), produced.rows);
                let (files, bytes) = parquet_files(&dir.path().join("cold"));
                format!(
                    "{} flushes during the run; at its end {} hot rows ({}), log {}; close \
                     (last flush) {}; cold tier {files} files, {}",
                    stats.flushes,
                    fmt_count(stats.hot_rows),
                    fmt_mib(stats.hot_bytes),
                    fmt_mib(stats.wal_bytes),
                    fmt_dur(close),
                    fmt_mib(bytes)
                )
            }
            (Sink::Arrow(store), _, _) => {
                let kept = store.count().await.expect("count");
                assert_eq!(kept, produced.rows);
                format!("{} in memory at the end", fmt_mib(store.stats().bytes))
            }
            (_, _, Some(store)) => {
                assert_eq!(store.count().await.expect("count"), produced.rows);
                let (files, bytes) = parquet_files(&dir.path().join("direct"));
                format!("{files} files, {}", fmt_mib(bytes))
            }
            _ => String::new(),
        };
        drop(sink);
        IngestRun {
            rows: produced.rows,
            elapsed,
            latencies: produced.latencies,
            note,
        }
    })
}

/// Every ingest line, `--reps` rounds, each line once per round, the first line of each round
/// rotating.
fn ingest(results: &mut Results, args: &Args, rt: &tokio::runtime::Runtime) {
    let lines: Vec<IngestLine> = ingest_lines()
        .into_iter()
        .filter(|l| {
            args.lines
                .as_ref()
                .is_none_or(|w| l.name.contains(w.as_str()))
        })
        .collect();
    let pools: Vec<Vec<OrderSoA>> = (0..args.producers * args.window)
        .map(|p| pool(args.batch, p))
        .collect();
    let mut runs: Vec<Vec<IngestRun>> = lines.iter().map(|_| Vec::new()).collect();
    for round in 0..args.reps {
        eprintln!("-- ingest round {}/{}", round + 1, args.reps);
        for k in 0..lines.len() {
            let i = (round + k) % lines.len();
            let run = ingest_run(rt, args, &lines[i], &pools);
            eprintln!(
                "   {:<75} {:>14}  {} rows in {}; {}",
                lines[i].name,
                fmt_rate(run.rows as f64 / run.elapsed.as_secs_f64(), "rows/s"),
                fmt_count(run.rows),
                fmt_dur(run.elapsed),
                run.note
            );
            runs[i].push(run);
        }
    }
    for (line, runs) in lines.iter().zip(runs) {
        let rates: Vec<f64> = runs
            .iter()
            .map(|r| r.rows as f64 / r.elapsed.as_secs_f64())
            .collect();
        let mut note = format!(
            "rows/s of each run: {}",
            rates
                .iter()
                .map(|v| fmt_rate(*v, "rows/s"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        if let Some(last) = runs.last() {
            let _ = write!(note, "; last run: {}", last.note);
        }
        let latencies: Vec<Duration> = runs.into_iter().flat_map(|r| r.latencies).collect();
        results.add("ingest", args.batch, line.name, true, latencies, note);
        results.add_rate("ingest", line.name, rates, "rows/s");
    }
}

const Q_COUNT: &str = "ours: count()";
const Q_SCAN: &str = "ours: scan_with(predicate order_id >= last - {N}, columns [order_id, quantity]), sum of quantity over the batches";
const Q_LOAD: &str = "ours: load_where(order_id >= last - {N}) into an OrderSoA, sum of quantity";
const Q_ACK: &str = "ours: the producers' Sync send_batch acknowledgements during the queries";

/// The store of the query and recovery workloads: a hot tier that does not flush at the sizes
/// measured.
fn query_options() -> TieredOptions {
    TieredOptions::new()
        .durability(Durability::Sync)
        .flush(
            FlushPolicy::new()
                .rows(100_000_000)
                .bytes(16 << 30)
                .age(Duration::from_secs(3600)),
        )
        .hot_limit(16 << 30)
}

/// The order id bound of the last `window` rows and its predicate.
fn last_rows(ids: &AtomicU64, window: usize) -> soa_runtime::predicate::Predicate<Order> {
    let last = ids.load(Ordering::Relaxed);
    Order::col().order_id.ge(last.saturating_sub(window as u64))
}

/// The sum of `quantity` of the rows `predicate` selects, through `scan_with`; and their number.
async fn scan_sum(
    store: &Tiered,
    predicate: &soa_runtime::predicate::Predicate<Order>,
) -> soa_runtime::Result<(u64, u64)> {
    let mut stream = store
        .scan_with(
            ScanOptions::new()
                .predicate(predicate)
                .columns(["order_id", "quantity"]),
        )
        .await?;
    let (mut sum, mut rows) = (0u64, 0u64);
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        rows += batch.num_rows() as u64;
        let q = batch
            .column_by_name("quantity")
            .expect("quantity")
            .as_primitive::<UInt32Type>();
        sum += q.values().iter().map(|v| u64::from(*v)).sum::<u64>();
    }
    Ok((sum, rows))
}

/// The same through `load_where` into a container.
async fn load_sum(
    store: &Tiered,
    predicate: soa_runtime::predicate::Predicate<Order>,
) -> soa_runtime::Result<(u64, u64)> {
    let soa = store.load_where(predicate).await?;
    let sum = soa.quantity.iter().map(|v| u64::from(*v)).sum::<u64>();
    Ok((sum, soa.len() as u64))
}

/// Queries that failed: how many of how many, and the first error of each kind.
#[derive(Default)]
struct Failures {
    calls: u64,
    failed: u64,
    first: Option<String>,
}

impl Failures {
    /// Records `result`: its latency into `into` if it succeeded.
    fn record(
        &mut self,
        result: soa_runtime::Result<(u64, u64)>,
        elapsed: Duration,
        into: &mut Vec<Duration>,
        matched: &mut Vec<u64>,
    ) {
        self.calls += 1;
        match result {
            Ok((sum, rows)) => {
                assert!(sum > 0);
                into.push(elapsed);
                matched.push(rows);
            }
            Err(e) => {
                self.failed += 1;
                eprintln!("   query failed: {e}");
                self.first.get_or_insert_with(|| e.to_string());
            }
        }
    }

    fn note(&self, what: &str) -> Option<String> {
        (self.failed > 0).then(|| {
            format!(
                "{} of {} {what} calls failed (their times are left out), the first with: `{}`",
                self.failed,
                self.calls,
                self.first.as_deref().unwrap_or_default()
            )
        })
    }
}

/// Query latencies while the producers ingest with `Sync`.
fn query(
    results: &mut Results,
    args: &Args,
    rt: &tokio::runtime::Runtime,
    group: &'static str,
    options: TieredOptions,
) {
    let window = args.rows;
    // With the large flush policy the window is waited for in the hot tier; with the default
    // one, in the store (its older rows flushed).
    let hot_window = group == "query";
    eprintln!(
        "-- {group}: count() and a sum over the last {} rows every ~50 ms for {} s while {} producers ingest",
        fmt_rows(window),
        args.seconds,
        args.producers
    );
    let pools: Vec<Vec<OrderSoA>> = (0..args.producers).map(|p| pool(args.batch, p)).collect();
    let dir = tempfile::tempdir_in(&args.data).expect("tempdir");
    let (count, scan, load, ack, facts, notes) = rt.block_on(async {
        let cold = ParquetStore::<Order>::open_or_create(dir.path().join("cold"))
            .await
            .expect("cold tier");
        let store = TieredStore::open(dir.path().join("wal"), cold, options)
            .await
            .expect("open");
        let sink = Sink::Tiered(store.ingestor());
        let far = Instant::now() + Duration::from_secs(24 * 3600);
        sh("sync");
        let producers = Producers::start(args.producers, 1, &sink, &pools, far);
        // Untimed: until the hot tier (or the store) holds the window.
        let fill = Instant::now();
        while if hot_window {
            store.tiered_stats().hot_rows < window as u64
        } else {
            store.count().await.expect("count") < window as u64
        } {
            assert!(
                fill.elapsed() < Duration::from_secs(600),
                "the store did not reach {window} rows in 10 minutes"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let before = store.tiered_stats();
        let ids_before = producers.ids.load(Ordering::Relaxed);
        let acks_from = Instant::now();
        let querier = {
            let store = store.clone();
            let ids = Arc::clone(&producers.ids);
            let seconds = args.seconds;
            tokio::spawn(async move {
                let mut count = Vec::new();
                let mut scan = Vec::new();
                let mut load = Vec::new();
                let mut matched = Vec::new();
                let (mut scan_failed, mut load_failed) = (Failures::default(), Failures::default());
                let mut tick = tokio::time::interval(Duration::from_millis(50));
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                let start = Instant::now();
                let mut round = 0usize;
                // The goal lines (count, scan) for `seconds`, then `load_where` alone for half
                // as long: its ~70 ms of CPU per call would otherwise load the goal lines.
                while start.elapsed().as_secs_f64() < seconds * 1.5 {
                    tick.tick().await;
                    let goal_phase = start.elapsed().as_secs_f64() < seconds;
                    for k in 0..2 {
                        let kind = if goal_phase { (round + k) % 2 } else { 2 };
                        if kind == 2 && k == 1 {
                            break;
                        }
                        match kind {
                            0 => {
                                let t = Instant::now();
                                let n = store.count().await.expect("count");
                                count.push(t.elapsed());
                                assert!(n > 0);
                            }
                            1 => {
                                let p = last_rows(&ids, window);
                                let t = Instant::now();
                                let r = scan_sum(&store, &p).await;
                                let elapsed = t.elapsed();
                                scan_failed.record(r, elapsed, &mut scan, &mut matched);
                            }
                            _ => {
                                let p = last_rows(&ids, window);
                                let t = Instant::now();
                                let r = load_sum(&store, p).await;
                                let elapsed = t.elapsed();
                                load_failed.record(r, elapsed, &mut load, &mut matched);
                            }
                        }
                    }
                    round += 1;
                }
                (count, scan, load, matched, scan_failed, load_failed)
            })
        };
        let (count, scan, load, matched, scan_failed, load_failed) =
            querier.await.expect("query task");
        let mut notes: Vec<String> = [
            scan_failed.note("`scan_with`"),
            load_failed.note("`load_where`"),
        ]
        .into_iter()
        .flatten()
        .collect();
        let after = store.tiered_stats();
        let ids_after = producers.ids.load(Ordering::Relaxed);
        let during = acks_from.elapsed();
        producers.stop();
        let produced = producers.join().await;
        // Untimed check, the producers stopped: both queries see exactly the window.
        let total = store.count().await.expect("count");
        assert_eq!(total, produced.rows);
        let bound = produced.rows.saturating_sub(window as u64);
        let p = Order::col().order_id.ge(bound);
        match (scan_sum(&store, &p).await, load_sum(&store, p).await) {
            (Ok(by_scan), Ok(by_load)) => {
                assert_eq!(by_scan, by_load, "scan_with and load_where disagree");
                assert_eq!(by_scan.1, produced.rows.min(window as u64));
            }
            (scan, load) => notes.push(format!(
                "the check after the producers stopped failed: `scan_with` {:?}, `load_where` {:?}",
                scan.map_err(|e| e.to_string()),
                load.map_err(|e| e.to_string())
            )),
        }
        let matched_min = matched.iter().min().copied().unwrap_or(0);
        let matched_max = matched.iter().max().copied().unwrap_or(0);
        let facts = format!(
            "hot tier {} rows ({}) when the queries started, {} rows ({}) when they ended; {} \
             flush(es) during the queries; each filtered query matched {}-{} rows; ingest during \
             the queries {}",
            fmt_count(before.hot_rows),
            fmt_mib(before.hot_bytes),
            fmt_count(after.hot_rows),
            fmt_mib(after.hot_bytes),
            after.flushes - before.flushes,
            fmt_count(matched_min),
            fmt_count(matched_max),
            fmt_rate(
                (ids_after - ids_before) as f64 / during.as_secs_f64(),
                "rows/s"
            ),
        );
        let ack = (
            produced.latencies,
            (ids_after - ids_before) as f64 / during.as_secs_f64(),
        );
        drop(sink);
        drop(store);
        (count, scan, load, ack, facts, notes)
    });
    eprintln!("   {facts}");
    for note in notes {
        results
            .notes
            .push(format!("{}: {note}", title(group, args)));
    }
    results.add(group, window, Q_COUNT, true, count, "");
    results.add(group, window, Q_SCAN, true, scan, "");
    results.add(group, window, Q_LOAD, true, load, facts);
    results.add(
        group,
        window,
        Q_ACK,
        true,
        ack.0,
        "latencies from the start of filling the store to the end of the queries; rate during \
         the queries",
    );
    results.add_rate(group, Q_ACK, vec![ack.1], "rows/s");
}

const R_OPEN: &str = "ours: TieredStore::open (wall clock), log in the page cache";
const R_ELAPSED: &str = "ours: TieredStore::open, its recovery().elapsed";
const R_COUNT: &str = "ours: first count() after open";
const R_SCAN: &str = "ours: first scan_with sum over the last {N} rows after open";
const R_TOTAL: &str = "ours: ParquetStore::open + TieredStore::open + first count()";
const R_COLD: &str = "ours: TieredStore::open (wall clock), log evicted from the page cache (posix_fadvise DONTNEED)";
const R_FILL: &str = "ours: filling the log: Sync send_batch, no flush";

/// Recovery of a log of `--wal-gib` GiB.
fn recovery(results: &mut Results, args: &Args, rt: &tokio::runtime::Runtime) {
    let target = (args.wal_gib * f64::from(1u32 << 30)) as u64;
    let free = free_bytes(&args.data);
    eprintln!(
        "-- recovery: a log of {} ({} free on {})",
        fmt_mib(target),
        free.map(fmt_mib).unwrap_or_else(|| "?".into()),
        args.data.display()
    );
    if free.is_some_and(|f| f < target + target / 2 + (2 << 30)) {
        results.notes.push(format!(
            "recovery not run: {} free on {}, the log needs {} (+ 2 GiB margin)",
            free.map(fmt_mib).unwrap_or_default(),
            args.data.display(),
            fmt_mib(target)
        ));
        return;
    }
    let pools: Vec<Vec<OrderSoA>> = (0..args.producers).map(|p| pool(args.batch, p)).collect();
    let dir = tempfile::tempdir_in(&args.data).expect("tempdir");
    let cold_dir = dir.path().join("cold");
    let wal_dir = dir.path().join("wal");
    let never = || {
        TieredOptions::new()
            .durability(Durability::Sync)
            .flush(
                FlushPolicy::new()
                    .rows(u64::MAX)
                    .bytes(u64::MAX)
                    .age(Duration::from_secs(24 * 3600)),
            )
            .hot_limit(u64::MAX)
    };
    // Untimed: fill the log; the store is dropped without close, as in a crash.
    let (rows, fill) = rt.block_on(async {
        let cold = ParquetStore::<Order>::open_or_create(&cold_dir)
            .await
            .expect("cold tier");
        let store = TieredStore::open(&wal_dir, cold, never())
            .await
            .expect("open");
        let sink = Sink::Tiered(store.ingestor());
        let far = Instant::now() + Duration::from_secs(24 * 3600);
        let start = Instant::now();
        let producers = Producers::start(args.producers, 1, &sink, &pools, far);
        let mut last_print = Instant::now();
        loop {
            let stats = store.tiered_stats();
            if stats.wal_bytes >= target {
                break;
            }
            if last_print.elapsed() > Duration::from_secs(5) {
                eprintln!(
                    "   log {} of {}, {} rows",
                    fmt_mib(stats.wal_bytes),
                    fmt_mib(target),
                    fmt_count(stats.hot_rows)
                );
                last_print = Instant::now();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        producers.stop();
        let produced = producers.join().await;
        let elapsed = start.elapsed();
        let stats = store.tiered_stats();
        assert_eq!(stats.flushes, 0);
        assert_eq!(stats.hot_rows, produced.rows);
        drop(sink);
        drop(store);
        // The background tasks let go of the store within a tick (250 ms at most).
        tokio::time::sleep(Duration::from_millis(500)).await;
        (produced.rows, (produced.latencies, produced.rows, elapsed))
    });
    let segs = segments(&wal_dir);
    let log_bytes: u64 = segs
        .iter()
        .map(|p| fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .sum();
    eprintln!(
        "   log written: {} rows, {} in {} segments, in {}",
        fmt_count(rows),
        fmt_mib(log_bytes),
        segs.len(),
        fmt_dur(fill.2)
    );

    let mut open_wall = Vec::new();
    let mut open_elapsed = Vec::new();
    let mut first_count = Vec::new();
    let mut first_scan = Vec::new();
    let mut total = Vec::new();
    let mut replayed = (0u64, 0u64, 0u64);
    let mut cold_open = Vec::new();
    let mut evicted_all = true;
    // `recovery_reps` opens with the log in the page cache, then one with it evicted.
    for rep in 0..=args.recovery_reps {
        let cold_cache = rep == args.recovery_reps;
        sh("sync");
        if cold_cache {
            for seg in &segments(&wal_dir) {
                evicted_all &= evict(seg);
            }
        }
        rt.block_on(async {
            let t0 = Instant::now();
            let cold = ParquetStore::<Order>::open_or_create(&cold_dir)
                .await
                .expect("cold tier");
            let t = Instant::now();
            let store = TieredStore::open(&wal_dir, cold, never())
                .await
                .expect("open");
            let wall = t.elapsed();
            let t = Instant::now();
            let n = store.count().await.expect("count");
            let count = t.elapsed();
            let opened = t0.elapsed();
            assert_eq!(n, rows, "rows after recovery");
            let r = store.recovery().clone();
            assert_eq!((r.rows, r.cold_mark), (rows, 0));
            replayed = (r.log_bytes, r.records, r.rows);
            if cold_cache {
                cold_open.push(wall);
            } else {
                open_wall.push(wall);
                open_elapsed.push(r.elapsed);
                first_count.push(count);
                total.push(opened);
            }
            eprintln!(
                "   open{}: {} (recovery().elapsed {}), first count() {}",
                if cold_cache { " (log evicted)" } else { "" },
                fmt_dur(wall),
                fmt_dur(r.elapsed),
                fmt_dur(count)
            );
            if !cold_cache {
                let p = Order::col()
                    .order_id
                    .ge(rows.saturating_sub(args.rows as u64));
                let t = Instant::now();
                let (_, matched) = scan_sum(&store, &p).await.expect("scan");
                first_scan.push(t.elapsed());
                assert_eq!(matched, rows.min(args.rows as u64));
            }
            drop(store);
            tokio::time::sleep(Duration::from_millis(500)).await;
        });
    }
    let mbs = |runs: &[Duration]| -> Vec<f64> {
        runs.iter()
            .map(|d| replayed.0 as f64 / 1e6 / d.as_secs_f64())
            .collect()
    };
    let n = rows as usize;
    let log = format!(
        "{} of log ({} segments, {} records, {} rows) replayed",
        fmt_mib(replayed.0),
        segs.len(),
        fmt_count(replayed.1),
        fmt_count(replayed.2)
    );
    results.add("recovery", n, R_OPEN, true, open_wall.clone(), log);
    results.add_rate("recovery", R_OPEN, mbs(&open_wall), "MB/s");
    results.add(
        "recovery",
        n,
        R_ELAPSED,
        true,
        open_elapsed.clone(),
        "from the start of open to a queryable store",
    );
    results.add_rate("recovery", R_ELAPSED, mbs(&open_elapsed), "MB/s");
    results.add(
        "recovery",
        n,
        R_COUNT,
        true,
        first_count,
        "count() right after open returned",
    );
    results.add(
        "recovery",
        n,
        R_TOTAL,
        true,
        total,
        "from nothing to the first answer",
    );
    results.add(
        "recovery",
        n,
        R_SCAN,
        true,
        first_scan,
        "the same query as the query workload, every row hot",
    );
    results.add(
        "recovery",
        n,
        R_COLD,
        true,
        cold_open.clone(),
        if evicted_all {
            "one run, after the benchmark's opens"
        } else {
            "one run; posix_fadvise failed on some segment: the log may have been cached"
        },
    );
    results.add_rate("recovery", R_COLD, mbs(&cold_open), "MB/s");
    results.add(
        "recovery",
        n,
        R_FILL,
        true,
        fill.0,
        format!(
            "{} rows in {}, untimed setup of this workload",
            fmt_count(fill.1),
            fmt_dur(fill.2)
        ),
    );
    results.add_rate(
        "recovery",
        R_FILL,
        vec![fill.1 as f64 / fill.2.as_secs_f64()],
        "rows/s",
    );
    drop(dir);
}

/// A goal: met, missed, or not measured.
fn goal(out: &mut String, name: &str, value: Option<f64>, ok: impl Fn(f64) -> bool, show: String) {
    let status = match value {
        None => "not measured",
        Some(v) if ok(v) => "**met**",
        Some(_) => "**missed**",
    };
    let _ = writeln!(
        out,
        "| {name} | {} | {status} |",
        if value.is_some() { show } else { "-".into() }
    );
}

fn title(group: &str, args: &Args) -> String {
    match group {
        "ingest" => format!(
            "ingest: {} producer tasks, batches of {} orders, {} s ({} s direct to Parquet, {} s \
             for the two in-memory lines); --window {} (sends in flight per producer on the \
             pipelined lines)",
            args.producers,
            args.batch,
            args.seconds,
            args.direct_seconds,
            args.memory_seconds,
            args.window
        ),
        "query" => format!(
            "queries every ~50 ms for {} s over the last {} order ids, while {} producers ingest (Sync)",
            args.seconds,
            fmt_rows(args.rows),
            args.producers
        ),
        "query_flush" => "the same queries, default flush policy (1M rows / 64 MiB / 10 s: the \
                          window spans hot and cold rows); not a goal"
            .into(),
        "recovery" => format!(
            "recovery of a {} GiB log (Sync, dropped without close)",
            args.wal_gib
        ),
        other => other.into(),
    }
}

fn render(r: &Results, args: &Args, elapsed: Duration) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{SECTION}\n");
    let _ = writeln!(
        s,
        "Generated by `cd bench && cargo run --release --bin tiered_report -- --seconds {} \
         --direct-seconds {} --memory-seconds {} --reps {} --producers {} --batch {} --rows {} --wal-gib {} \
         --recovery-reps {}` (this section only; `report` keeps it). One run on {}, {} cores, \
         load average at the end {}, {}, {:.0} s. Latencies: min / median / p99 / max of every \
         sample of the line (each send until its acknowledgement, each query, each open); \
         throughput: the median over the repetitions.\n",
        args.seconds,
        args.direct_seconds,
        args.memory_seconds,
        args.reps,
        args.producers,
        args.batch,
        args.rows,
        args.wal_gib,
        args.recovery_reps,
        sh("date -u '+%Y-%m-%d %H:%M UTC'"),
        sh("nproc"),
        sh("cut -d' ' -f1-3 /proc/loadavg"),
        sh("rustc --version"),
        elapsed.as_secs_f64()
    );
    let _ = writeln!(
        s,
        "### Goals\n\n| goal | measured | status |\n|---|---|---|"
    );
    let sync = r.rate_median("ingest", SYNC);
    goal(
        &mut s,
        &format!(
            "sustained ingest, `Durability::Sync`, {} producers x {}-row batches: >= 1,000,000 rows/s",
            args.producers, args.batch
        ),
        sync,
        |v| v >= 1e6,
        sync.map(|v| fmt_rate(v, "rows/s")).unwrap_or_default(),
    );
    let ack = r.line("ingest", SYNC);
    goal(
        &mut s,
        "`Durability::Sync` acknowledgement latency p99 < 10 ms",
        ack.map(|l| p99(l).as_secs_f64() * 1e3),
        |v| v < 10.0,
        ack.map(latencies).unwrap_or_default(),
    );
    let none = r.rate_median("ingest", NONE_PATH);
    let sustained = r.rate_median("ingest", NONE);
    let arrow = r.rate_median("ingest", ARROW);
    let v = none.zip(arrow).map(|(n, a)| a / n);
    goal(
        &mut s,
        "`Durability::None` within 1.5x of bare `ArrowStore` appends (throughput ratio; judged on \
         the ingest path, the line without flushes: the bare store never writes Parquet)",
        v,
        |v| v <= 1.5,
        format!(
            "{:.2}x ({} vs {}); sustained with the default flush policy (every row also \
             encoded into the Parquet cold tier on the same 2 cores): {} ({:.2}x)",
            v.unwrap_or(0.0),
            none.map(|v| fmt_rate(v, "rows/s")).unwrap_or_default(),
            arrow.map(|v| fmt_rate(v, "rows/s")).unwrap_or_default(),
            sustained.map(|v| fmt_rate(v, "rows/s")).unwrap_or_default(),
            sustained.zip(arrow).map_or(0.0, |(n, a)| a / n),
        ),
    );
    let direct = r.rate_median("ingest", DIRECT);
    let pipelined = r.rate_median("ingest", SYNC_PIPELINED);
    let wide = r.rate_median("ingest", DIRECT_WIDE);
    let best = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    let (best_sync, best_direct) = (best(sync, pipelined), best(direct, wide));
    let v = best_sync.zip(best_direct).map(|(s, d)| s / d);
    let rate = |v: Option<f64>| v.map(|v| fmt_rate(v, "rows/s")).unwrap_or_default();
    goal(
        &mut s,
        "`Durability::Sync` >= 100x appending each batch to a `ParquetStore` (judged on the faster \
         `Sync` line against the faster direct line)",
        v,
        |v| v >= 100.0,
        format!(
            "{:.0}x ({} vs {}); producers waiting for each ack: {} vs {} direct ({:.0}x); {} sends \
             in flight per producer: {} vs {} direct with {} tasks ({:.0}x)",
            v.unwrap_or(0.0),
            rate(best_sync),
            rate(best_direct),
            rate(sync),
            rate(direct),
            sync.zip(direct).map_or(0.0, |(s, d)| s / d),
            args.window,
            rate(pipelined),
            rate(wide),
            args.producers * args.window,
            pipelined.zip(wide).map_or(0.0, |(s, d)| s / d),
        ),
    );
    let count = r.line("query", Q_COUNT);
    goal(
        &mut s,
        "`count()` while ingesting: p99 < 5 ms",
        count.map(|l| p99(l).as_secs_f64() * 1e3),
        |v| v < 5.0,
        count.map(latencies).unwrap_or_default(),
    );
    let scan = r.line("query", Q_SCAN);
    let load = r.line("query", Q_LOAD);
    goal(
        &mut s,
        &format!(
            "filtered sum over the last {} rows while ingesting: p99 < 5 ms (judged on the \
             `scan_with` line)",
            fmt_rows(args.rows)
        ),
        scan.map(|l| p99(l).as_secs_f64() * 1e3),
        |v| v < 5.0,
        scan.map(|l| {
            format!(
                "{}; `load_where` into an `OrderSoA`: p99 {}",
                latencies(l),
                load.map(|l| fmt_dur(p99(l))).unwrap_or_default()
            )
        })
        .unwrap_or_default(),
    );
    let replay = r.rate_median("recovery", R_OPEN);
    let first = r.line("recovery", R_COUNT);
    let open = r.line("recovery", R_OPEN);
    goal(
        &mut s,
        &format!(
            "recovery of a {} GiB log: replay >= 300 MB/s (log bytes / `TieredStore::open` wall \
             clock, log in the page cache)",
            args.wal_gib
        ),
        replay,
        |v| v >= 300.0,
        format!(
            "{} (open {}; then first `count()` {}); log evicted from the page cache: {}",
            replay.map(|v| fmt_rate(v, "MB/s")).unwrap_or_default(),
            open.map(|l| fmt_dur(l.median())).unwrap_or_default(),
            first.map(|l| fmt_dur(l.median())).unwrap_or_default(),
            r.rate_median("recovery", R_COLD)
                .map(|v| fmt_rate(v, "MB/s"))
                .unwrap_or_default()
        ),
    );
    let _ = writeln!(
        s,
        "\n### Results\n\n| workload | line | throughput | min | median | p99 | max | samples | note |\n|---|---|---:|---:|---:|---:|---:|---:|---|"
    );
    for g in ["ingest", "query", "query_flush", "recovery"] {
        for l in r.lines.iter().filter(|l| l.group == g) {
            let rate = r
                .rate(g, &l.name)
                .and_then(|rate| median_f64(&rate.values).map(|v| fmt_rate(v, rate.unit)))
                .unwrap_or_else(|| "-".into());
            let _ = writeln!(
                s,
                "| {} | **{}** | {} | {} | {} | {} | {} | {} | {} |",
                title(g, args),
                l.name.replace("{N}", &fmt_rows(args.rows)),
                rate,
                fmt_dur(l.min()),
                fmt_dur(l.median()),
                fmt_dur(p99(l)),
                fmt_dur(l.max()),
                fmt_count(l.runs.len() as u64),
                l.note
            );
        }
    }
    if !r.notes.is_empty() {
        let _ = writeln!(s, "\nRun notes:\n");
        for note in &r.notes {
            let _ = writeln!(s, "- {note}");
        }
    }
    s.push_str(
        &METHOD
            .replace("{PRODUCERS}", &args.producers.to_string())
            .replace("{BATCH}", &args.batch.to_string())
            .replace("{SECONDS}", &args.seconds.to_string())
            .replace("{DIRECT}", &args.direct_seconds.to_string())
            .replace("{MEMORY}", &args.memory_seconds.to_string())
            .replace("{REPS}", &args.reps.to_string())
            .replace("{ROWS}", &fmt_rows(args.rows))
            .replace("{WAL}", &args.wal_gib.to_string())
            .replace("{RREPS}", &args.recovery_reps.to_string()),
    );
    s
}

const METHOD: &str = "
### Method

- Data: `soa_fixtures::Order` rows from `OrderGenerator` (the model of the tests and demos). Each
  producer cycles through 64 pre-generated `OrderSoA` batches of {BATCH} rows and, before each
  send (untimed), rewrites the batch's `order_id`s from a counter shared by the producers, so
  every row sent has a new id. Every line starts from an empty store in a fresh directory under
  `--data` (`bench/data/tiered`, same file system for every line), created before the timing
  and removed after it; `sync` runs before each timing, so that no line pays for the writeback
  of the one before it; the tokio runtime has 2 worker threads (`soa_bench::lines::runtime`).
- Ingest: {PRODUCERS} tokio tasks, each with its own clone of the sink, send batches one after
  the other for {SECONDS} s; each send is timed from the call until it returns (for the
  `TieredStore` lines, the acknowledgement: `Ingestor::send_batch`, which includes the
  container -> record batch conversion). Throughput = rows acknowledged / time from the start
  of the producers until the last one returned. `TieredStore` lines: `TieredOptions::new()`
  with the durability named (group commit under `Sync`: sends waiting together share one
  fsync), the default flush policy (1M rows / 64 MiB / 10 s) and hot limit (256 MiB), a
  `ParquetStore` cold tier with its defaults; after the timing (untimed) the store's counters
  are read, `close()` flushes the rest and `count()` must equal the rows acknowledged. Bare
  `ArrowStore`: `append(&soa)` of the same batches into one shared in-memory store (no log, no
  flush), for {MEMORY} s; the `TieredStore` `Durability::None` line `no flush during the run`
  (flush policy and hot limit at their maxima: the ingest path alone, every row kept in
  memory, as the bare store keeps them) runs the same {MEMORY} s, so both grow their memory
  alike (the default-policy `None` line is bounded by its flushes instead: every row is also
  encoded into Parquet on the same 2 cores). Direct `ParquetStore`:
  `append(&soa)` of each batch (one Parquet file, its fsync and a manifest commit per append),
  for {DIRECT} s. The six lines are interleaved: {REPS} round(s), each line once per round,
  the first line rotating. Log fsyncs are not counted (`TieredStats` does not expose them).
- Query: a `TieredStore` (`Sync`, flush policy 100M rows / 16 GiB / 1 h, hot limit 16 GiB, so
  that no flush moves the rows queried to the cold tier during the run; the note counts the
  flushes during the queries) and the same producers running without a deadline; once the hot
  tier holds {ROWS} rows (untimed), a tokio task on the same runtime runs, every ~50 ms
  (`tokio::time::interval`, delayed when a round overruns) for {SECONDS} s: `count()` and the
  sum of `quantity` over `order_id >= last id handed out - {ROWS}` through `scan_with` with
  that predicate and the columns `[order_id, quantity]`, summing each batch as it arrives (the
  order of the two alternates each round); then, for half as long, the same sum through
  `load_where` into an `OrderSoA` alone (each call decodes every column of a million rows, ~70
  ms of CPU: run among the goal lines it loaded their 2 cores as much as the producers).
  After the producers stop (untimed), both sums over the last {ROWS} ids must agree and match
  exactly {ROWS} rows. The same again with the default flush policy (`TieredOptions::new()`,
  the queries starting once the store holds {ROWS} rows): the rows queried are then partly
  in the cold tier, and flushes run during the queries.
- Recovery: a `TieredStore` (`Sync`, no flush: flush policy and hot limit at their maxima) is
  filled by the producers until `tiered_stats().wal_bytes` reaches {WAL} GiB, then dropped
  without `close` (nothing is flushed: every row is only in the log). Each repetition opens the
  cold `ParquetStore` (untimed in the `open` lines) and times `TieredStore::open` (reads every
  segment, checks the CRC32Cs, decodes the IPC records into the hot tier), then the first
  `count()`, then one `scan_with` sum as in the query workload; `count()` must equal the rows
  acknowledged. Replay throughput = log bytes (`recovery().log_bytes`) / open time (10^6 bytes
  per MB). {RREPS} repetitions with the log in the OS page cache (as after a process crash), then
  one after `posix_fadvise(DONTNEED)` on every segment (as after a reboot; this process's files
  only).
- Shared 2-core machine: other builds may run concurrently; compare lines within this run.
";

fn main() {
    fixed_mmap_threshold();
    let args = parse_args();
    let created = !args.data.exists();
    fs::create_dir_all(&args.data).expect("data dir");
    let started = Instant::now();
    let rt = runtime();
    let mut results = Results::default();

    if args.wants("ingest") {
        ingest(&mut results, &args, &rt);
    }
    if args.wants("query") {
        query(&mut results, &args, &rt, "query", query_options());
        query(
            &mut results,
            &args,
            &rt,
            "query_flush",
            TieredOptions::new().durability(Durability::Sync),
        );
    }
    if args.wants("recovery") {
        recovery(&mut results, &args, &rt);
    }
    drop(rt);
    if created {
        let _ = fs::remove_dir_all(&args.data);
    }

    let section = render(&results, &args, started.elapsed());
    let doc = fs::read_to_string(&args.out).unwrap_or_default();
    fs::write(&args.out, splice(&doc, SECTION, &section)).expect("write the report");
    println!("{section}");
    eprintln!("wrote the \"{SECTION}\" section of {}", args.out.display());
}

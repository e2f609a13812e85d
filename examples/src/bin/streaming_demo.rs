//! `TieredStore` demo: streaming ingestion into hot rows + a write-ahead log in front of a
//! `ParquetStore`, queried while it runs, and a crash test that kills the ingesting process.
//!
//! ```text
//! cargo run --release --bin streaming_demo                        # 8 producers for 5 s
//! cargo run --release --bin streaming_demo -- --producers 4 --seconds 10 --batch 1000 --durability interval
//! cargo run --release --bin streaming_demo -- --crash --runs 5    # kill -9 and recover, 5 times
//! cargo run --release --bin streaming_demo -- --help
//! ```
//!
//! **Default mode.** Opens a [`TieredStore`] over a [`ParquetStore`] in `./streaming_demo_data/`
//! (the cold tier in `orders/`, the log in `wal/`; the directory is removed first), then
//! `--producers` tokio tasks each send batches of `--batch` orders through their own clone of
//! the store's [`Ingestor`](soa_runtime::store::tiered::Ingestor) for `--seconds`, timing every send until its acknowledgement (with
//! `--durability sync`, the default, a send returns once its rows are fsynced in the log;
//! concurrent sends share one fsync). A status line refreshed four times a second shows the
//! ingest rate, the hot tier (rows not yet flushed), the log's size, the flushes taken and the
//! acknowledgement latency so far; every 500 ms a query over hot and cold rows prints `count()`
//! and a filtered aggregate (`load_where(symbol = "AAPL")`, summing the quantities) with their
//! latency. At the end the store is closed (the last hot rows flushed) and the totals printed;
//! `count()` must equal the rows acknowledged and every acknowledged order id must be stored
//! once, else the demo exits with status 1.
//!
//! **`--crash`.** The demo starts itself as a child process (a hidden `--child DIR` argument)
//! that ingests with `Durability::Sync` from several producers and, after each acknowledged
//! send, appends the send's id range (`first count`) as a line to `streaming_demo_data/acked.txt`
//! (and prints it). The parent kills the child with SIGKILL after a random delay (300 ms to 3 s
//! once the child is ingesting; `--seed` fixes the delays), reopens the store itself, prints what
//! recovery replayed and how long the store took to be queryable, loads every order id and
//! checks that
//!
//! - every acknowledged row is stored, exactly once;
//! - no row is stored twice;
//! - every stored row is one the child could have sent: a producer waits for each
//!   acknowledgement before its next send, so its stored rows are whole sends from its first
//!   on, at most one send past its last recorded acknowledgement (a send in flight at the kill,
//!   or acknowledged but not yet recorded, may or may not be stored).
//!
//! Order ids are globally unique: producer `p` of run `r` sends ids `r * 10^15 + p * 10^12 + k`.
//! `--runs N` repeats the kill and the check N times on the same store (each child continues
//! with the ids of its run). The verdict is printed and the exit status is 1 if any check
//! fails, so the crash test can run in a loop:
//!
//! ```text
//! while cargo run --release --bin streaming_demo -- --crash --runs 5; do :; done
//! ```
//!
//! Bad arguments print the usage and exit with status 2.

use std::collections::{HashMap, VecDeque};
use std::fs::{self, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use indicatif::ProgressBar;
use soa_examples::{Order, OrderGenerator, OrderSoA, mib, ms, spinner, thousands};
use soa_runtime::arrow::array::cast::AsArray;
use soa_runtime::arrow::array::types::UInt64Type;
use soa_runtime::prelude::*;
use soa_runtime::store::tiered::{
    Durability, FlushPolicy, RecoveryReport, TieredOptions, TieredStats, TieredStore,
};

type DemoResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// The store of the demo: orders, hot rows and a log in front of a Parquet directory.
type Orders = TieredStore<Order, ParquetStore<Order>>;

const DATA_DIR: &str = "streaming_demo_data";
/// The crash test's record of acknowledged sends, in the data directory.
const ACKED_FILE: &str = "acked.txt";

const USAGE: &str = "\
usage: streaming_demo [OPTIONS]            ingest for a few seconds while querying
       streaming_demo --crash [OPTIONS]    kill -9 an ingesting child, recover, check

options:
  --producers N       producer tasks, each with its own Ingestor (default 8, at most 999)
  --batch R           rows per send (default 100)
  --seconds S         how long the producers send (default 5; not with --crash)
  --durability D      sync | interval | interval:MS | none (default sync; --crash: sync)
                      interval fsyncs the log every MS milliseconds (default 100)
  --flush-rows N      flush the hot tier into Parquet at N rows (default 1000000;
                      --crash: 200000); also at 64 MiB
  --flush-secs S      ... or once the oldest hot row is S seconds old (default 2; --crash: 0.5)
  --crash             crash test: a child process ingests, is killed with SIGKILL after a
                      random delay, the store is reopened and every acknowledged row checked
  --runs N            --crash: kill and check N times on the same store (default 1)
  --seed N            --crash: seed of the random kill delays (default: from the clock)
  -h, --help          this text

Data goes to ./streaming_demo_data/ (removed first).";

// ---------------------------------------------------------------------------------------------
// Options

/// Row ids of one producer in one run: `k` in `0..PRODUCER_STRIDE`.
const PRODUCER_STRIDE: u64 = 1_000_000_000_000;
/// Row ids of one run: up to 1000 producers.
const RUN_STRIDE: u64 = 1_000 * PRODUCER_STRIDE;
const MAX_PRODUCERS: usize = 999;
const MAX_RUNS: u64 = 10_000;

/// The id of row `k` of `producer` in `run` (run 0: the default mode).
fn row_id(run: u64, producer: u64, k: u64) -> u64 {
    run * RUN_STRIDE + producer * PRODUCER_STRIDE + k
}

/// `(run, producer, k)` of an id.
fn split_id(id: u64) -> (u64, u64, u64) {
    (
        id / RUN_STRIDE,
        id % RUN_STRIDE / PRODUCER_STRIDE,
        id % PRODUCER_STRIDE,
    )
}

#[derive(Debug, Clone)]
struct Options {
    producers: usize,
    batch: usize,
    seconds: Duration,
    durability: Durability,
    flush_rows: Option<u64>,
    flush_secs: Option<Duration>,
    crash: bool,
    runs: u64,
    seed: Option<u64>,
    /// Hidden: run as the crash test's child on this data directory.
    child: Option<PathBuf>,
    /// Hidden: the child's run number (part of its row ids).
    run: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            producers: 8,
            batch: 100,
            seconds: Duration::from_secs(5),
            durability: Durability::Sync,
            flush_rows: None,
            flush_secs: None,
            crash: false,
            runs: 1,
            seed: None,
            child: None,
            run: 0,
        }
    }
}

impl Options {
    /// Flush at `--flush-rows`, 64 MiB or `--flush-secs`, with defaults per mode: a crash run
    /// lasts 0.3 to 3 s and should flush (and be killed while flushing) several times.
    fn flush_policy(&self) -> FlushPolicy {
        let crash = self.crash || self.child.is_some();
        let rows = self
            .flush_rows
            .unwrap_or(if crash { 200_000 } else { 1_000_000 });
        let age = self.flush_secs.unwrap_or(if crash {
            Duration::from_millis(500)
        } else {
            Duration::from_secs(2)
        });
        FlushPolicy::new().rows(rows).bytes(64 << 20).age(age)
    }
}

/// What the command line asks for.
enum Parsed {
    Run(Options),
    Help,
}

fn number<N: std::str::FromStr>(flag: &str, value: Option<String>) -> Result<N, String>
where
    N::Err: std::fmt::Display,
{
    let value = value.ok_or_else(|| format!("{flag} needs a value"))?;
    value
        .replace('_', "")
        .parse()
        .map_err(|e| format!("{flag} {value:?}: {e}"))
}

fn seconds(flag: &str, value: Option<String>) -> Result<Duration, String> {
    let s: f64 = number(flag, value)?;
    if !(s.is_finite() && s > 0.0 && s < 1e6) {
        return Err(format!("{flag} must be a positive number of seconds"));
    }
    Ok(Duration::from_secs_f64(s))
}

fn durability(value: Option<String>) -> Result<Durability, String> {
    let value = value.ok_or("--durability needs a value")?;
    match value.as_str() {
        "sync" => Ok(Durability::Sync),
        "none" => Ok(Durability::None),
        "interval" => Ok(Durability::Interval(Duration::from_millis(100))),
        other => match other.strip_prefix("interval:") {
            Some(ms) => {
                let ms: u64 = number("--durability interval:MS", Some(ms.to_owned()))?;
                Ok(Durability::Interval(Duration::from_millis(ms.max(1))))
            }
            None => Err(format!(
                "--durability {other:?}: expected sync, interval, interval:MS or none"
            )),
        },
    }
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Parsed, String> {
    let mut o = Options::default();
    let mut durability_given = false;
    let mut seconds_given = false;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--producers" => o.producers = number("--producers", args.next())?,
            "--batch" => o.batch = number("--batch", args.next())?,
            "--seconds" => {
                o.seconds = seconds("--seconds", args.next())?;
                seconds_given = true;
            }
            "--durability" => {
                o.durability = durability(args.next())?;
                durability_given = true;
            }
            "--flush-rows" => o.flush_rows = Some(number("--flush-rows", args.next())?),
            "--flush-secs" => o.flush_secs = Some(seconds("--flush-secs", args.next())?),
            "--crash" => o.crash = true,
            "--runs" => o.runs = number("--runs", args.next())?,
            "--seed" => o.seed = Some(number("--seed", args.next())?),
            "--child" => o.child = Some(args.next().ok_or("--child needs a directory")?.into()),
            "--run" => o.run = number("--run", args.next())?,
            "-h" | "--help" => return Ok(Parsed::Help),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if !(1..=MAX_PRODUCERS).contains(&o.producers) {
        return Err(format!("--producers must be 1 to {MAX_PRODUCERS}"));
    }
    if o.batch == 0 || o.batch as u64 >= PRODUCER_STRIDE {
        return Err("--batch must be at least 1".into());
    }
    if o.flush_rows == Some(0) {
        return Err("--flush-rows must be at least 1".into());
    }
    if !(1..=MAX_RUNS).contains(&o.runs) {
        return Err(format!("--runs must be 1 to {MAX_RUNS}"));
    }
    if o.crash || o.child.is_some() {
        if durability_given && o.durability != Durability::Sync {
            return Err("--crash checks acknowledged rows: it needs --durability sync".into());
        }
        if seconds_given {
            return Err("--seconds does not apply to --crash (the kill ends each run)".into());
        }
    }
    if o.child.is_some() && !(1..=MAX_RUNS).contains(&o.run) {
        return Err("--child needs --run 1 to 10000".into());
    }
    Ok(Parsed::Run(o))
}

fn main() -> ExitCode {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(Parsed::Run(options)) => options,
        Ok(Parsed::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("streaming_demo: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let result = match &options.child {
        Some(dir) => runtime().and_then(|rt| rt.block_on(child(&options, dir))),
        None if options.crash => crash(&options),
        None => runtime().and_then(|rt| rt.block_on(stream(&options))),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("streaming_demo: error: {e}");
            ExitCode::from(1)
        }
    }
}

fn runtime() -> DemoResult<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Runtime::new()?)
}

// ---------------------------------------------------------------------------------------------
// Shared pieces

/// Opens the cold tier `dir/orders` and the log `dir/wal`: recovery replays the log records
/// the cold tier lacks.
/// A process that just closed or was killed may still be letting go of the store: wait for it.
async fn open_store(dir: &Path, options: TieredOptions) -> DemoResult<Orders> {
    let cold = ParquetStore::<Order>::builder(dir.join("orders"))
        .wait_for_writer(true)
        .open_or_create()
        .await?;
    let options = options.wait_for_writer(true);
    Ok(TieredStore::open(dir.join("wal"), cold, options).await?)
}

/// The next `n` orders of `generator`, with the ids `first..first + n`.
fn orders_batch(generator: &mut OrderGenerator, first: u64, n: usize) -> OrderSoA {
    generator
        .by_ref()
        .take(n)
        .zip(first..)
        .map(|(order, id)| Order {
            order_id: id,
            ..order
        })
        .collect()
}

/// Every stored order id, sorted (only the `order_id` column is read).
async fn stored_ids(store: &Orders) -> DemoResult<Vec<u64>> {
    let batch = store.load_columns(&["order_id"]).await?;
    let ids = batch.column(0).as_primitive_opt::<UInt64Type>();
    let mut ids = ids.ok_or("order_id is not a u64 column")?.values().to_vec();
    ids.sort_unstable();
    Ok(ids)
}

/// A latency: microseconds below 1 ms, else milliseconds.
fn latency(d: Duration) -> String {
    if d < Duration::from_millis(1) {
        format!("{} µs", d.as_micros())
    } else {
        format!("{:.2} ms", d.as_secs_f64() * 1e3)
    }
}

fn describe(durability: Durability) -> String {
    match durability {
        Durability::Sync => "sync (acknowledged once fsynced in the log)".into(),
        Durability::Interval(every) => format!(
            "interval (acknowledged once written to the log, fsynced every {})",
            ms(every)
        ),
        Durability::None => "none (no log: acknowledged once in memory)".into(),
    }
}

/// Acknowledgement latencies recorded by every producer at once (atomic counters, no lock):
/// a histogram with 32 buckets per power of two of nanoseconds, so quantiles are exact to
/// within about 3 %.
#[derive(Debug)]
struct Latencies {
    buckets: Vec<AtomicU64>,
    max: AtomicU64,
}

/// Sub-buckets per power of two: `1 << SUB_BITS`.
const SUB_BITS: u32 = 5;

impl Latencies {
    fn new() -> Self {
        Latencies {
            buckets: (0..(65 - SUB_BITS as usize) << SUB_BITS)
                .map(|_| AtomicU64::new(0))
                .collect(),
            max: AtomicU64::new(0),
        }
    }

    /// Values below 64 ns have a bucket each; above, a power of two is split in 32.
    fn bucket(ns: u64) -> usize {
        let shift = (63 - ns.max(1).leading_zeros()).saturating_sub(SUB_BITS);
        ((u64::from(shift) << SUB_BITS) + (ns >> shift)) as usize
    }

    /// The largest value of bucket `i`.
    fn upper(i: usize) -> u64 {
        let shift = ((i >> SUB_BITS) as u32).saturating_sub(1);
        let m = i as u64 - (u64::from(shift) << SUB_BITS);
        u64::try_from((u128::from(m + 1) << shift) - 1).unwrap_or(u64::MAX)
    }

    fn record(&self, d: Duration) {
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.buckets[Self::bucket(ns)].fetch_add(1, Ordering::Relaxed);
        self.max.fetch_max(ns, Ordering::Relaxed);
    }

    fn count(&self) -> u64 {
        self.buckets.iter().map(|b| b.load(Ordering::Relaxed)).sum()
    }

    fn max(&self) -> Duration {
        Duration::from_nanos(self.max.load(Ordering::Relaxed))
    }

    /// The `q` quantile (0 < q <= 1) of the values recorded so far.
    fn quantile(&self, q: f64) -> Duration {
        let counts: Vec<u64> = self
            .buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return Duration::ZERO;
        }
        let target = ((q * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0;
        for (i, n) in counts.iter().enumerate() {
            seen += n;
            if seen >= target {
                let max = self.max.load(Ordering::Relaxed);
                return Duration::from_nanos(Self::upper(i).min(max));
            }
        }
        self.max()
    }
}

/// What the producers share with the status line and the queries.
#[derive(Debug)]
struct Shared {
    /// Rows acknowledged so far.
    acked: AtomicU64,
    latencies: Latencies,
}

/// Prints a line above the live status line (or plainly when stderr is not a terminal and the
/// status line is hidden).
fn say(progress: &ProgressBar, line: &str) {
    progress.suspend(|| println!("{line}"));
}

// ---------------------------------------------------------------------------------------------
// The check: every acknowledged row once, nothing else

/// What [`verify`] found.
#[derive(Debug, Default)]
struct Verification {
    /// Rows stored.
    rows: u64,
    /// Rows acknowledged.
    acked: u64,
    /// Acknowledged rows not stored.
    missing: u64,
    /// Extra copies of stored rows.
    duplicates: u64,
    /// Stored rows no producer could have sent.
    foreign: u64,
    /// Producers whose stored rows are not whole sends from the first on (a send stored in
    /// part, or a gap).
    torn: u64,
    /// Stored rows whose acknowledgement was not recorded: the send in flight at the kill, or
    /// acknowledged just before it.
    unrecorded: u64,
    /// `count()` disagrees with the rows loaded.
    count_differs: bool,
    /// Up to a few examples of each problem.
    examples: Vec<String>,
}

impl Verification {
    fn ok(&self) -> bool {
        self.missing == 0
            && self.duplicates == 0
            && self.foreign == 0
            && self.torn == 0
            && !self.count_differs
    }

    fn example(&mut self, text: String) {
        if self.examples.len() < 8 {
            self.examples.push(text);
        }
    }
}

/// Checks the stored ids (sorted) against the acknowledged ranges `(first id, rows)`: producer
/// `p` of run `r` sends whole sends of `batch` rows, ids `row_id(r, p, 0)` on, each after the
/// previous one's acknowledgement; `runs` are the runs that may have stored rows.
fn verify(
    ids: &[u64],
    acked: &[(u64, u64)],
    runs: &RangeInclusive<u64>,
    producers: usize,
    batch: usize,
) -> Verification {
    let batch = batch as u64;
    let mut v = Verification {
        rows: ids.len() as u64,
        ..Verification::default()
    };
    let mut unique: Vec<u64> = Vec::with_capacity(ids.len());
    for &id in ids {
        if unique.last() == Some(&id) {
            v.duplicates += 1;
            v.example(format!("order id {id} stored twice"));
        } else {
            unique.push(id);
        }
    }
    // Every acknowledged row is stored; acknowledged rows per (run, producer).
    let mut acked_rows: HashMap<(u64, u64), u64> = HashMap::new();
    for &(first, count) in acked {
        v.acked += count;
        let (run, producer, _) = split_id(first);
        *acked_rows.entry((run, producer)).or_default() += count;
        let start = unique.partition_point(|&id| id < first);
        let present = unique[start..]
            .iter()
            .take_while(|&&id| id < first + count)
            .count() as u64;
        if present < count {
            v.missing += count - present;
            v.example(format!(
                "acknowledged ids {first}..{}: {} of {count} missing",
                first + count,
                count - present
            ));
        }
    }
    // Per (run, producer): whole sends from the first on, at most one send past the recorded
    // acknowledgements.
    let mut i = 0;
    while i < unique.len() {
        let (run, producer, _) = split_id(unique[i]);
        let base = row_id(run, producer, 0);
        let end = i + unique[i..].partition_point(|&id| id < base + PRODUCER_STRIDE);
        let group = &unique[i..end];
        i = end;
        let n = group.len() as u64;
        if !runs.contains(&run) || producer >= producers as u64 {
            v.foreign += n;
            v.example(format!(
                "{n} rows of run {run}, producer {producer} (e.g. id {}): never sent",
                group[0]
            ));
            continue;
        }
        let recorded = acked_rows.get(&(run, producer)).copied().unwrap_or(0);
        let beyond = group.iter().filter(|&&id| id - base >= recorded).count() as u64;
        let too_far = group
            .iter()
            .filter(|&&id| id - base >= recorded + batch)
            .count() as u64;
        v.unrecorded += beyond - too_far;
        if too_far > 0 {
            v.foreign += too_far;
            v.example(format!(
                "run {run}, producer {producer}: {too_far} rows past the send after its last \
                 acknowledgement (row {recorded}): never sent"
            ));
        }
        let last = group[group.len() - 1] - base;
        if last + 1 != n || !n.is_multiple_of(batch) {
            v.torn += 1;
            v.example(format!(
                "run {run}, producer {producer}: {n} rows stored up to row {last}: not whole \
                 sends of {batch} from the first on"
            ));
        }
    }
    v
}

// ---------------------------------------------------------------------------------------------
// Default mode: ingest while querying

async fn stream(o: &Options) -> DemoResult<bool> {
    let policy = o.flush_policy();
    println!(
        "soa TieredStore streaming demo: {} producers send batches of {} orders for {:.1} s",
        o.producers,
        o.batch,
        o.seconds.as_secs_f64()
    );
    println!("    durability {}", describe(o.durability));
    println!(
        "    flush the hot rows into Parquet every {} rows, {} or {:.1} s",
        thousands(policy.rows),
        mib(policy.bytes),
        policy.age.as_secs_f64()
    );
    println!(
        "    cold tier ./{DATA_DIR}/orders (ParquetStore), write-ahead log ./{DATA_DIR}/wal\n"
    );
    if Path::new(DATA_DIR).exists() {
        fs::remove_dir_all(DATA_DIR)?;
    }
    let options = TieredOptions::new().durability(o.durability).flush(policy);
    let store = open_store(Path::new(DATA_DIR), options).await?;

    println!("[1] ingest; every 500 ms a query over hot + cold rows");
    let shared = Arc::new(Shared {
        acked: AtomicU64::new(0),
        latencies: Latencies::new(),
    });
    let started = Instant::now();
    let deadline = started + o.seconds;
    let mut producers = Vec::with_capacity(o.producers);
    for p in 0..o.producers as u64 {
        let ingest = store.ingestor();
        let shared = Arc::clone(&shared);
        let batch = o.batch;
        producers.push(tokio::spawn(async move {
            let mut generator = OrderGenerator::new();
            let mut k = 0;
            while Instant::now() < deadline {
                let rows = orders_batch(&mut generator, row_id(0, p, k), batch);
                let sent = Instant::now();
                ingest.send_batch(&rows).await?;
                shared.latencies.record(sent.elapsed());
                shared.acked.fetch_add(batch as u64, Ordering::SeqCst);
                k += batch as u64;
            }
            // The producer's acknowledged rows, and when it was done.
            Ok::<_, soa_runtime::Error>((k, Instant::now()))
        }));
    }
    let progress = spinner("ingesting");
    let stop = Arc::new(AtomicBool::new(false));
    let queries = tokio::spawn(query_loop(
        store.clone(),
        Arc::clone(&shared),
        Arc::clone(&stop),
        progress.clone(),
        started,
    ));

    // The status line, four times a second; the rate over the last second.
    let mut window: VecDeque<(Instant, u64)> = VecDeque::from([(started, 0)]);
    let mut ticks = 0u64;
    while !producers.iter().all(tokio::task::JoinHandle::is_finished) {
        tokio::time::sleep(Duration::from_millis(250)).await;
        // `tiered_stats` takes the log's lock, held by the log writer during its fsyncs:
        // called off the async workers.
        let stats = {
            let store = store.clone();
            tokio::task::spawn_blocking(move || store.tiered_stats()).await?
        };
        let now = Instant::now();
        let acked = shared.acked.load(Ordering::SeqCst);
        window.push_back((now, acked));
        while window.len() > 2 && now - window[1].0 >= Duration::from_secs(1) {
            window.pop_front();
        }
        let (then, before) = window[0];
        let rate = (acked - before) as f64 / (now - then).as_secs_f64().max(1e-3);
        let line = status(rate, &stats, &shared.latencies);
        if progress.is_hidden() {
            // No terminal: a plain line every second.
            if ticks % 4 == 3 {
                println!("  {:>4.1} s  {line}", started.elapsed().as_secs_f64());
            }
        } else {
            progress.set_message(line);
        }
        ticks += 1;
    }
    let mut acked_ranges = Vec::with_capacity(producers.len());
    let mut done = started;
    for (p, producer) in producers.into_iter().enumerate() {
        let (rows, at) = producer.await??;
        acked_ranges.push((row_id(0, p as u64, 0), rows));
        done = done.max(at);
    }
    let ingest_time = done - started;
    stop.store(true, Ordering::SeqCst);
    let queries = queries.await??;
    progress.finish_and_clear();
    let acked = shared.acked.load(Ordering::SeqCst);
    let sends = shared.latencies.count();

    println!("\n[2] close(): the last hot rows into the cold tier");
    let before = store.tiered_stats();
    let t = Instant::now();
    store.close().await?;
    let close_time = t.elapsed();
    let after = store.tiered_stats();
    println!(
        "    {} hot rows ({}) flushed in {}; {} flushes in all, the cold tier holds the log up \
         to record {}",
        thousands(before.hot_rows),
        mib(before.hot_bytes),
        ms(close_time),
        after.flushes,
        thousands(after.cold_mark)
    );

    println!("\n[3] totals");
    let count = store.count().await?;
    let t = Instant::now();
    let ids = stored_ids(&store).await?;
    let ids_time = t.elapsed();
    let check = verify(&ids, &acked_ranges, &(0..=0), o.producers, o.batch);
    let lat = &shared.latencies;
    println!(
        "    rows acknowledged   {} in {} sends by {} producers in {:.2} s",
        thousands(acked),
        thousands(sends),
        o.producers,
        ingest_time.as_secs_f64()
    );
    println!(
        "    throughput          {} rows/s",
        thousands((acked as f64 / ingest_time.as_secs_f64().max(1e-9)) as u64)
    );
    println!(
        "    ack latency         p50 {}, p99 {}, max {}",
        latency(lat.quantile(0.50)),
        latency(lat.quantile(0.99)),
        latency(lat.max())
    );
    println!("    flushes             {}", after.flushes);
    match &queries.last {
        Some((line, took)) => println!(
            "    queries             {}; the last took {}:\n    {}",
            queries.runs,
            ms(*took),
            line.trim_start()
        ),
        None => println!("    queries             none (the run was shorter than 500 ms)"),
    }
    for problem in &queries.problems {
        println!("    QUERY PROBLEM: {problem}");
    }
    let counted = count == acked;
    println!(
        "    count() after close {} {} rows acknowledged",
        thousands(count),
        if counted { "=" } else { "!=" }
    );
    println!(
        "    order ids           {} loaded in {}: {} acknowledged missing, {} duplicates, {} \
         never acknowledged",
        thousands(check.rows),
        ms(ids_time),
        thousands(check.missing),
        thousands(check.duplicates),
        thousands(check.unrecorded + check.foreign)
    );
    for example in &check.examples {
        println!("      {example}");
    }
    let ok = counted
        && check.ok()
        && check.unrecorded == 0
        && check.acked == acked
        && queries.problems.is_empty();
    println!(
        "\n{}",
        if ok {
            "OK: every acknowledged row stored once, nothing else."
        } else {
            "FAILED: the store does not hold exactly the acknowledged rows."
        }
    );
    Ok(ok)
}

/// The live status line.
fn status(rate: f64, stats: &TieredStats, latencies: &Latencies) -> String {
    format!(
        "{:>9} rows/s | hot {} rows, {} | WAL {} | flushes {} | ack p50 {}, p99 {}",
        thousands(rate as u64),
        thousands(stats.hot_rows),
        mib(stats.hot_bytes),
        mib(stats.wal_bytes),
        stats.flushes,
        latency(latencies.quantile(0.50)),
        latency(latencies.quantile(0.99))
    )
}

/// What the query task saw.
#[derive(Debug, Default)]
struct QueryLog {
    runs: u64,
    /// The last query's line and its time.
    last: Option<(String, Duration)>,
    /// Counts that went backwards or missed acknowledged rows.
    problems: Vec<String>,
}

/// Every 500 ms until `stop`: `count()` and the orders of one symbol (their quantities summed),
/// over the hot and the cold tier. A count must include every row acknowledged before it
/// started and never go down.
async fn query_loop(
    store: Orders,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    progress: ProgressBar,
    started: Instant,
) -> DemoResult<QueryLog> {
    let mut log = QueryLog::default();
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await; // the first tick is now
    let mut previous = 0;
    loop {
        tick.tick().await;
        if stop.load(Ordering::SeqCst) {
            return Ok(log);
        }
        let acked_before = shared.acked.load(Ordering::SeqCst);
        let t = Instant::now();
        let count = store.count().await?;
        let count_time = t.elapsed();
        let aapl = store.load_where(Order::col().symbol.eq("AAPL")).await?;
        let took = t.elapsed();
        let quantity: u64 = aapl.quantity.iter().map(|&q| u64::from(q)).sum();
        if count < acked_before {
            log.problems.push(format!(
                "count() = {count} < {acked_before} rows acknowledged before it"
            ));
        }
        if count < previous {
            log.problems
                .push(format!("count() = {count} after {previous}"));
        }
        previous = count;
        let line = format!(
            "  query at {:>4.1} s: count() {:>10} in {:>8} | symbol = \"AAPL\": {:>9} rows, \
             sum(quantity) {:>13}, in {:>8}",
            t.duration_since(started).as_secs_f64(),
            thousands(count),
            latency(count_time),
            thousands(aapl.len() as u64),
            thousands(quantity),
            latency(took - count_time)
        );
        say(&progress, &line);
        log.runs += 1;
        log.last = Some((line, took));
    }
}

// ---------------------------------------------------------------------------------------------
// --crash: the parent

/// Upper bound of a child's life, should its parent not kill it.
const CHILD_MAX: Duration = Duration::from_secs(120);

/// A small xorshift generator for the kill delays.
#[derive(Debug)]
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> Self {
        XorShift((seed ^ 0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// The acknowledged ranges `(first id, rows)` of the acked file: one `first count` line per
/// send. A last line without its newline (cut by the kill) is left out: it only under-reports.
fn read_acked(path: &Path) -> DemoResult<Vec<(u64, u64)>> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let complete = text.rfind('\n').map_or("", |end| &text[..end]);
    complete
        .lines()
        .map(|line| {
            parse_range(line).ok_or_else(|| format!("{}: bad line {line:?}", path.display()).into())
        })
        .collect()
}

fn parse_range(line: &str) -> Option<(u64, u64)> {
    let (first, count) = line.split_once(' ')?;
    Some((first.parse().ok()?, count.parse().ok()?))
}

fn crash(o: &Options) -> DemoResult<bool> {
    let seed = o.seed.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
    });
    let mut rng = XorShift::new(seed);
    let policy = o.flush_policy();
    println!(
        "soa TieredStore crash test: {} run{}; a child process ingests (durability sync, {} \
         producers, sends of {} orders), is killed with SIGKILL after 0.3 to 3 s, then the store \
         is reopened and checked",
        o.runs,
        if o.runs == 1 { "" } else { "s" },
        o.producers,
        o.batch
    );
    println!(
        "    flush every {} rows, {} or {:.1} s; seed {seed} (--seed {seed} repeats the delays)",
        thousands(policy.rows),
        mib(policy.bytes),
        policy.age.as_secs_f64()
    );
    println!(
        "    store ./{DATA_DIR}/orders + ./{DATA_DIR}/wal, acknowledged sends in ./{DATA_DIR}/{ACKED_FILE}"
    );
    if Path::new(DATA_DIR).exists() {
        fs::remove_dir_all(DATA_DIR)?;
    }
    fs::create_dir_all(DATA_DIR)?;
    let dir = fs::canonicalize(DATA_DIR)?;
    let exe = std::env::current_exe()?;
    let rt = runtime()?;
    let mut acked_total = 0;
    for run in 1..=o.runs {
        let delay = Duration::from_millis(300 + rng.next() % 2_700);
        println!("\nrun {run}/{}", o.runs);
        let (killed_after, printed) = run_child(&exe, &dir, o, run, delay)?;
        let acked = read_acked(&dir.join(ACKED_FILE))?;
        let this_run: Vec<_> = acked
            .iter()
            .filter(|(first, _)| split_id(*first).0 == run)
            .collect();
        let rows: u64 = this_run.iter().map(|(_, n)| n).sum();
        println!(
            "    killed after {:.3} s of ingesting: {} rows acknowledged in {} sends (acked \
             file; {} on its stdout)",
            killed_after.as_secs_f64(),
            thousands(rows),
            thousands(this_run.len() as u64),
            thousands(printed)
        );
        let check = rt.block_on(reopen_and_check(&dir, o, run, &acked))?;
        acked_total = check.acked;
        if !check.ok() {
            println!(
                "\nFAILED after run {run}: acknowledged rows were lost or rows stored twice or \
                 rows stored that were never sent."
            );
            return Ok(false);
        }
    }
    println!(
        "\nOK: {} run{}, {} acknowledged rows, every one stored exactly once, nothing else.",
        o.runs,
        if o.runs == 1 { "" } else { "s" },
        thousands(acked_total)
    );
    Ok(true)
}

/// Starts the child of `run`, waits until it ingests, kills it with SIGKILL after `delay`.
/// Returns how long it ingested and how many acknowledgements it printed.
fn run_child(
    exe: &Path,
    dir: &Path,
    o: &Options,
    run: u64,
    delay: Duration,
) -> DemoResult<(Duration, u64)> {
    let policy = o.flush_policy();
    let mut child = Command::new(exe)
        .arg("--child")
        .arg(dir)
        .args(["--run", &run.to_string()])
        .args(["--producers", &o.producers.to_string()])
        .args(["--batch", &o.batch.to_string()])
        .args(["--flush-rows", &policy.rows.to_string()])
        .args(["--flush-secs", &policy.age.as_secs_f64().to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let stdout = child.stdout.take().ok_or("no stdout from the child")?;
    // Reads the child's stdout: `ready <rows replayed>`, then one line per acknowledged send.
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut acks = 0u64;
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(replayed) = line.strip_prefix("ready ") {
                let _ = ready_tx.send(replayed.to_owned());
            } else if parse_range(&line).is_some() {
                acks += 1;
            }
        }
        acks
    });
    let replayed = match ready_rx.recv_timeout(Duration::from_secs(60)) {
        Ok(replayed) => replayed,
        Err(_) => {
            let _ = child.kill();
            let status = child.wait()?;
            return Err(format!("the child did not start ingesting ({status})").into());
        }
    };
    let started = Instant::now();
    println!(
        "    child {} opened the store (its recovery replayed {replayed} rows) and ingests; \
         SIGKILL in {}",
        child.id(),
        ms(delay)
    );
    std::thread::sleep(delay);
    if let Some(status) = child.try_wait()? {
        return Err(format!("the child ended before the kill: {status}").into());
    }
    child.kill()?; // SIGKILL on unix
    let status = child.wait()?;
    let killed_after = started.elapsed();
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if status.signal() != Some(9) {
            return Err(format!("the child was not killed by SIGKILL: {status}").into());
        }
    }
    let printed = reader.join().map_err(|_| "the stdout reader panicked")?;
    Ok((killed_after, printed))
}

/// Reopens the store after a kill, prints what recovery did, checks every stored id against
/// the acknowledged ranges, closes the store.
async fn reopen_and_check(
    dir: &Path,
    o: &Options,
    run: u64,
    acked: &[(u64, u64)],
) -> DemoResult<Verification> {
    let t = Instant::now();
    let store = open_store(dir, TieredOptions::new().durability(Durability::Sync)).await?;
    let open_time = t.elapsed();
    print_recovery(store.recovery(), open_time);
    let stats = store.tiered_stats();
    println!(
        "    hot tier after recovery: {} rows, hot_bytes {}; log {} on disk; flushes so far: {}",
        thousands(stats.hot_rows),
        mib(stats.hot_bytes),
        mib(stats.wal_bytes),
        stats.flushes
    );
    let count = store.count().await?;
    let t = Instant::now();
    let ids = stored_ids(&store).await?;
    let ids_time = t.elapsed();
    let mut check = verify(&ids, acked, &(1..=run), o.producers, o.batch);
    if count != check.rows {
        check.count_differs = true;
        check.example(format!("count() {count} != {} rows loaded", check.rows));
    }
    println!(
        "    stored {} rows (count() {}), ids loaded in {}: {} of {} acknowledged rows present, \
         {} sent but not recorded as acknowledged, {} duplicates, {} never sent, {} torn sends",
        thousands(check.rows),
        thousands(count),
        ms(ids_time),
        thousands(check.acked - check.missing),
        thousands(check.acked),
        thousands(check.unrecorded),
        thousands(check.duplicates),
        thousands(check.foreign),
        check.torn
    );
    for example in &check.examples {
        println!("      {example}");
    }
    println!("    verdict: {}", if check.ok() { "OK" } else { "FAILED" });
    let hot = store.tiered_stats().hot_rows;
    let t = Instant::now();
    store.close().await?;
    if hot == 0 {
        println!("    close(): nothing left to flush (the flush policy already flushed the rows)");
    } else {
        println!(
            "    close(): {} hot rows flushed into the cold tier in {}",
            thousands(hot),
            ms(t.elapsed())
        );
    }
    Ok(check)
}

fn print_recovery(r: &RecoveryReport, open_time: Duration) {
    println!(
        "    reopen: the cold tier holds the log up to record {}; replayed {} records = {} rows \
         ({} of log read) in {}; queryable {} after the start of the open",
        thousands(r.cold_mark),
        thousands(r.records),
        thousands(r.rows),
        mib(r.log_bytes),
        ms(r.elapsed),
        ms(open_time)
    );
    if let Some((segment, offset)) = &r.torn_tail {
        println!(
            "    torn tail cut off: {} at byte {offset} (a record the kill interrupted)",
            segment.display()
        );
    }
    if let Some((segment, offset, why)) = &r.damage {
        println!("    DAMAGE: {} at byte {offset}: {why}", segment.display());
    }
}

// ---------------------------------------------------------------------------------------------
// --crash: the child

/// The crash test's child: ingests from `--producers` tasks with `Durability::Sync` until it
/// is killed; after each acknowledged send, appends `first count` to the acked file and
/// prints it. A line written after the acknowledgement may be lost with the kill: the file
/// under-reports, never over-reports.
async fn child(o: &Options, dir: &Path) -> DemoResult<bool> {
    let options = TieredOptions::new()
        .durability(Durability::Sync)
        .flush(o.flush_policy());
    let store = open_store(dir, options).await?;
    let acked = Arc::new(
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(ACKED_FILE))?,
    );
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "ready {}", store.recovery().rows)?;
        out.flush()?;
    }
    let deadline = Instant::now() + CHILD_MAX;
    let mut producers = Vec::with_capacity(o.producers);
    for p in 0..o.producers as u64 {
        let ingest = store.ingestor();
        let acked = Arc::clone(&acked);
        let (run, batch) = (o.run, o.batch);
        producers.push(tokio::spawn(async move {
            let mut generator = OrderGenerator::new();
            let mut k = 0;
            while Instant::now() < deadline {
                let first = row_id(run, p, k);
                let rows = orders_batch(&mut generator, first, batch);
                ingest.send_batch(&rows).await?;
                // One write per line (O_APPEND: lines of concurrent producers do not mix).
                let line = format!("{first} {batch}\n");
                (&*acked).write_all(line.as_bytes())?;
                // A closed stdout (the parent is gone) ends the child.
                std::io::stdout().lock().write_all(line.as_bytes())?;
                k += batch as u64;
            }
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        }));
    }
    for producer in producers {
        producer.await??;
    }
    store.close().await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_buckets_hold_their_values() {
        let mut v = 0u64;
        while v < u64::MAX / 3 {
            let i = Latencies::bucket(v);
            let upper = Latencies::upper(i);
            assert!(
                v <= upper && upper <= v + v / 32 + 1,
                "{v} in bucket {i} up to {upper}"
            );
            assert!(i < Latencies::new().buckets.len());
            v += v / 4 + 1;
        }
        assert_eq!(Latencies::upper(Latencies::bucket(u64::MAX)), u64::MAX);
        let l = Latencies::new();
        for us in 1..=100 {
            l.record(Duration::from_micros(us));
        }
        let p50 = l.quantile(0.5).as_micros();
        assert!((50..=52).contains(&p50), "{p50}");
        assert_eq!(l.quantile(1.0), Duration::from_micros(100));
        assert_eq!(l.count(), 100);
    }

    /// Producer 0 of run 1 recorded two sends of 10 rows; producer 1 none.
    fn acked() -> Vec<(u64, u64)> {
        vec![(row_id(1, 0, 0), 10), (row_id(1, 0, 10), 10)]
    }

    fn ids(runs: &[(u64, u64, std::ops::Range<u64>)]) -> Vec<u64> {
        let mut ids: Vec<u64> = runs
            .iter()
            .flat_map(|(run, p, ks)| ks.clone().map(|k| row_id(*run, *p, k)))
            .collect();
        ids.sort_unstable();
        ids
    }

    #[test]
    fn verify_accepts_acknowledged_rows_and_one_send_in_flight() {
        let v = verify(&ids(&[(1, 0, 0..20)]), &acked(), &(1..=1), 2, 10);
        assert!(v.ok() && v.unrecorded == 0, "{v:?}");
        let v = verify(
            &ids(&[(1, 0, 0..30), (1, 1, 0..10)]),
            &acked(),
            &(1..=1),
            2,
            10,
        );
        assert!(v.ok(), "{v:?}");
        assert_eq!((v.acked, v.unrecorded), (20, 20));
    }

    #[test]
    fn verify_finds_lost_duplicated_foreign_and_torn_rows() {
        let v = verify(&ids(&[(1, 0, 0..15)]), &acked(), &(1..=1), 2, 10);
        assert_eq!((v.missing, v.torn), (5, 1), "{v:?}");
        let mut twice = ids(&[(1, 0, 0..20)]);
        twice.push(row_id(1, 0, 3));
        twice.sort_unstable();
        let v = verify(&twice, &acked(), &(1..=1), 2, 10);
        assert_eq!(v.duplicates, 1, "{v:?}");
        // Two sends past the last recorded acknowledgement; another producer; another run.
        let v = verify(&ids(&[(1, 0, 0..40)]), &acked(), &(1..=1), 2, 10);
        assert_eq!((v.foreign, v.unrecorded), (10, 10), "{v:?}");
        let v = verify(
            &ids(&[(1, 0, 0..20), (1, 2, 0..10)]),
            &acked(),
            &(1..=1),
            2,
            10,
        );
        assert_eq!(v.foreign, 10, "{v:?}");
        let v = verify(
            &ids(&[(1, 0, 0..20), (2, 0, 0..10)]),
            &acked(),
            &(1..=1),
            2,
            10,
        );
        assert_eq!(v.foreign, 10, "{v:?}");
        assert!(!v.ok());
    }

    #[test]
    fn arguments() {
        let parse = |s: &str| parse_args(s.split_whitespace().map(str::to_owned));
        let Ok(Parsed::Run(o)) = parse("--producers 2 --batch 1_000 --durability interval:50")
        else {
            panic!("valid arguments refused");
        };
        assert_eq!((o.producers, o.batch), (2, 1000));
        assert_eq!(
            o.durability,
            Durability::Interval(Duration::from_millis(50))
        );
        assert!(matches!(parse("--help"), Ok(Parsed::Help)));
        for bad in [
            "--producers",
            "--producers x",
            "--producers 0",
            "--batch 0",
            "--seconds -1",
            "--durability fast",
            "--crash --durability none",
            "--crash --seconds 3",
            "--runs 0",
            "--what",
        ] {
            assert!(parse(bad).is_err(), "{bad} accepted");
        }
    }
}

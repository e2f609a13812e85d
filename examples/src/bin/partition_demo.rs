//! Partitioned `ParquetStore` demo: trades partitioned by UTC day in
//! `./partition_demo_data/orders/day=YYYY-MM-DD/` (Hive directories), each day's rows clustered
//! by symbol.
//!
//! ```text
//! cargo run --release --bin partition_demo [-- --rows N]     # default 10 000 000 rows
//! python -c "import polars as pl; print(pl.scan_parquet('./partition_demo_data/orders/**/*.parquet', hive_partitioning=True).select(pl.len()).collect())"
//! ```
//!
//! Generates deterministic trades, time-ordered over 30 days with random symbols out of 50,
//! appends them day by day (one commit per day, one file per day, its rows grouped by symbol),
//! lists the partitions, then runs three typed queries with `load_where_with_metrics`, each next
//! to a full `load()` followed by the same filter in Rust:
//!
//! - (a) one symbol on one day: `symbol.eq(..) & ts.ge(..) & ts.lt(..)`: every other partition is
//!   skipped by its directory values (the day is derived from the `ts` range), then the pages of
//!   other symbols by the page index (only the blocks holding the symbol's pages are read);
//! - (b) six hours of every symbol: the partition of one day is read, the pages outside the hours
//!   skipped;
//! - (c) an enum value and a price range: no partition can be skipped, every file is read.
//!
//! The `Trade` row type and its generator are the same as in `bench/src/bin/partition_report.rs`.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use soa_examples::{Side, bar, mib, ms, spinner, thousands as n};
use soa_fixtures::trades::{
    DAY, DAYS, HOUR, SYMBOLS, T0, Trade, TradeGenerator, TradeRef, TradeSoA, date,
};
use soa_runtime::predicate::Predicate;
use soa_runtime::prelude::*;
use soa_runtime::store::ScanReport;

type DemoResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

const DATA_DIR: &str = "partition_demo_data";
const STORE: &str = "partition_demo_data/orders";

/// The demo's only option, `--rows N` (default 10 000 000; `_` separators allowed).
fn parse_rows() -> DemoResult<usize> {
    let mut rows = 10_000_000;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--rows" => {
                let value = args.next().ok_or("--rows needs a number")?;
                rows = value.replace('_', "").parse()?;
            }
            "-h" | "--help" => {
                println!("usage: partition_demo [--rows N]   (default 10000000)");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?} (try --help)").into()),
        }
    }
    Ok(rows)
}

/// `HH:MM` of a UTC timestamp in microseconds.
fn time_of_day(micros: i64) -> String {
    let minutes = micros.rem_euclid(DAY) / 60_000_000;
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// Bytes in KiB below 1 MiB, else in MiB.
fn size(bytes: u64) -> String {
    if bytes < 1024 * 1024 {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    } else {
        mib(bytes)
    }
}

fn pct(part: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        part as f64 * 100.0 / total as f64
    }
}

/// One query: its text, the typed predicate, and the same filter as a Rust closure.
struct Query {
    label: String,
    predicate: Predicate<Trade>,
    keep: Box<dyn Fn(&TradeRef<'_>) -> bool>,
}

fn queries() -> Vec<Query> {
    let c = Trade::col();
    let day = T0 + 12 * DAY;
    let from = T0 + 17 * DAY + 9 * HOUR;
    let to = from + 6 * HOUR;
    vec![
        Query {
            label: format!("(a) symbol = \"NVDA\" on {}", date(day)),
            predicate: c.symbol.eq("NVDA") & c.ts.ge(day) & c.ts.lt(day + DAY),
            keep: Box::new(move |t| t.symbol == "NVDA" && *t.ts >= day && *t.ts < day + DAY),
        },
        Query {
            label: format!(
                "(b) every symbol, {} {}-{} (6 hours)",
                date(from),
                time_of_day(from),
                time_of_day(to)
            ),
            predicate: c.ts.ge(from) & c.ts.lt(to),
            keep: Box::new(move |t| *t.ts >= from && *t.ts < to),
        },
        Query {
            label: "(c) side = Buy and unit_price between 100.00 and 101.00".to_owned(),
            predicate: c.side.eq(Side::Buy) & c.unit_price.between(100.0, 101.0),
            keep: Box::new(|t| *t.side == Side::Buy && (100.0..=101.0).contains(t.unit_price)),
        },
    ]
}

fn pruning(r: &ScanReport) -> String {
    format!(
        "partitions skipped {}/{}, files {}/{}, row groups {}/{}, page ranges {}/{}, rows decoded {}; \
         read {} of {} ({:.2} %)",
        n(r.partitions_skipped),
        n(r.partitions_total),
        n(r.files_skipped),
        n(r.files_total),
        n(r.row_groups_skipped),
        n(r.row_groups_total),
        n(r.pages_skipped),
        n(r.pages_total),
        n(r.rows_scanned),
        size(r.bytes_read),
        size(r.bytes_stored),
        pct(r.bytes_read, r.bytes_stored)
    )
}

#[tokio::main]
async fn main() -> DemoResult {
    let rows = parse_rows()?;
    let started = Instant::now();
    println!(
        "soa partitioned ParquetStore demo: {} trades over {DAYS} days x {} symbols -> \
         ./{STORE}/day=YYYY-MM-DD/ (clustered by symbol)\n",
        n(rows as u64),
        SYMBOLS.len()
    );
    if Path::new(DATA_DIR).exists() {
        fs::remove_dir_all(DATA_DIR)?;
    }

    // 1. Generate and append, one day per commit
    println!("[1] generate the trades and append them day by day (one commit per day)");
    let store = ParquetStore::<Trade>::builder(STORE)
        .partition_by(["day(ts)"])
        .cluster_by(["symbol"])
        .create()
        .await?;
    println!(
        "    partitioned by {:?} (from #[soa(partition ..)] on Trade)",
        <TradeSoA as ToArrow>::PARTITION_BY
    );
    let progress = bar(
        rows as u64,
        "  [{bar:40}] {pos}/{len} rows  {msg} {elapsed}",
    );
    let mut generator = TradeGenerator::new(rows);
    let (mut gen_time, mut write_time) = (Duration::ZERO, Duration::ZERO);
    for day in 0..DAYS {
        let end = TradeGenerator::first_of_day(day + 1, rows as u64);
        let count = (end - TradeGenerator::first_of_day(day, rows as u64)) as usize;
        progress.set_message(format!("day {}/{DAYS}: generating", day + 1));
        let t = Instant::now();
        let mut part = TradeSoA::new();
        part.reserve(count);
        part.extend(generator.by_ref().take(count));
        gen_time += t.elapsed();
        progress.set_message(format!("day {}/{DAYS}: appending", day + 1));
        let t = Instant::now();
        store.append_owned(part).await?;
        write_time += t.elapsed();
        progress.inc(count as u64);
    }
    progress.finish_and_clear();
    println!(
        "    generated in {}, written in {} ({:.0} k rows/s, {DAYS} commits, fsync of every file)",
        ms(gen_time),
        ms(write_time),
        rows as f64 / write_time.as_secs_f64() / 1000.0
    );

    // 2. Partitions
    let parts = store.partitions().await?;
    let files: usize = parts.iter().map(|p| p.files).sum();
    let bytes: u64 = parts.iter().map(|p| p.bytes).sum();
    let (min, max) = parts.iter().fold((u64::MAX, 0), |(lo, hi), p| {
        (lo.min(p.rows), hi.max(p.rows))
    });
    println!(
        "\n[2] partitions(): {} partitions, {files} files, {} (from the manifest, no file read)",
        n(parts.len() as u64),
        mib(bytes)
    );
    println!(
        "    {} to {} rows per partition, e.g.",
        n(min.min(max)),
        n(max)
    );
    for p in parts.iter().take(2) {
        let rel = p.dir.strip_prefix(DATA_DIR).unwrap_or(&p.dir);
        println!(
            "      {}/  {} file, {} rows, {}",
            rel.display(),
            p.files,
            n(p.rows),
            size(p.bytes)
        );
    }
    if store.count().await? != rows as u64 {
        return Err("count() differs from the rows written".into());
    }

    // 3. The full load, once: the baseline of every query
    println!("\n[3] load() everything once (the baseline: load, then filter in Rust)");
    let spin = spinner("loading");
    let t = Instant::now();
    let all = store.load().await?;
    let load_time = t.elapsed();
    spin.finish_and_clear();
    println!(
        "    {} rows in {} ({:.0} k rows/s)",
        n(all.len() as u64),
        ms(load_time),
        all.len() as f64 / load_time.as_secs_f64() / 1000.0
    );
    if all.len() != rows {
        return Err("load() returned another number of rows".into());
    }

    // 4. Queries
    println!("\n[4] typed queries: load_where(predicate) vs load() + the same filter in Rust");
    for q in queries() {
        println!("\n  {}", q.label);
        let text = format!("{:?}", q.predicate);
        let t = Instant::now();
        let (got, report) = store.load_where_with_metrics(q.predicate).await?;
        let where_time = t.elapsed();
        let t = Instant::now();
        let mut expected: Vec<u64> = all
            .iter()
            .filter(|r| (q.keep)(r))
            .map(|r| *r.order_id)
            .collect();
        let filter_time = t.elapsed();
        println!("    predicate: {text}");
        println!(
            "    load_where:    {:>9} rows in {:>10}   {}",
            n(got.len() as u64),
            ms(where_time),
            pruning(&report)
        );
        let speedup = (load_time + filter_time).as_secs_f64() / where_time.as_secs_f64();
        println!(
            "    load()+filter: {:>9} rows in {:>10}   (load {} + filter {}): load_where {}",
            n(expected.len() as u64),
            ms(load_time + filter_time),
            ms(load_time),
            ms(filter_time),
            if speedup >= 1.0 {
                format!("{speedup:.1}x faster")
            } else {
                format!("{:.1}x slower", 1.0 / speedup)
            }
        );
        let mut ids = got.order_id.clone();
        ids.sort_unstable();
        expected.sort_unstable();
        if ids != expected {
            return Err(format!("{}: load_where and load()+filter differ", q.label).into());
        }
    }
    drop(all);

    println!("\n[5] the same dataset from other readers (Hive partitioning):");
    println!(
        "    python -c \"import polars as pl; print(pl.scan_parquet('./{STORE}/**/*.parquet', hive_partitioning=True).filter(pl.col('symbol') == 'NVDA').select(pl.len()).collect())\""
    );
    println!(
        "    duckdb -c \"SELECT day, count(*) FROM read_parquet('./{STORE}/**/*.parquet', hive_partitioning = true) GROUP BY day ORDER BY day LIMIT 3\"\n"
    );
    println!("done in {:.1} s.", started.elapsed().as_secs_f64());
    Ok(())
}

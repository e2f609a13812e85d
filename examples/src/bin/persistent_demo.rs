//! `cargo run --release --bin persistent_demo [-- --rows N --writers K --batch B --out FILE]`
//!
//! Generates orders deterministically, appends them to an [`ArrowStore`] from several tokio tasks
//! at once, prints the store's per-column memory statistics, times two computations on the
//! Structure-of-Arrays container against the same loop over `Vec<Order>`, then saves the store to
//! an Arrow IPC file (zstd), reloads it and verifies that nothing changed.

use std::error::Error;
use std::hint::black_box;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use soa_examples::{Order, OrderGenerator, OrderSoA, thousands};
use soa_runtime::StoreExt;
use soa_runtime::arrow::array::RecordBatch;
use soa_runtime::arrow::array::cast::AsArray;
use soa_runtime::arrow::array::types::{Float64Type, UInt32Type};
use soa_runtime::store::memory::IpcCompression;
use soa_runtime::{ArrowStore, Store, ToArrow};

type DemoResult<T> = Result<T, Box<dyn Error + Send + Sync>>;

const USAGE: &str = "usage: persistent_demo [--rows N] [--writers K] [--batch B] [--out FILE]
  --rows N      orders to generate (default 1_000_000)
  --writers K   concurrent appending tasks (default 4)
  --batch B     rows per appended batch (default 10_000)
  --out FILE    keep the Arrow IPC file here (default: a temporary file, deleted at the end)";

#[derive(Debug)]
struct Options {
    rows: usize,
    writers: usize,
    batch: usize,
    out: Option<PathBuf>,
}

fn parse_count(flag: &str, value: Option<String>) -> DemoResult<usize> {
    let value = value.ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
    let n: usize = value
        .replace('_', "")
        .parse()
        .map_err(|e| format!("{flag} {value:?}: {e}\n{USAGE}"))?;
    Ok(n)
}

fn parse_options() -> DemoResult<Options> {
    let mut options = Options {
        rows: 1_000_000,
        writers: 4,
        batch: 10_000,
        out: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--rows" => options.rows = parse_count("--rows", args.next())?,
            "--writers" => options.writers = parse_count("--writers", args.next())?.max(1),
            "--batch" => options.batch = parse_count("--batch", args.next())?.max(1),
            "--out" => {
                options.out = Some(args.next().ok_or("--out needs a path")?.into());
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}\n{USAGE}").into()),
        }
    }
    Ok(options)
}

// ---------------------------------------------------------------------------------------------
// Formatting

fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.2} {}", UNITS[unit])
    }
}

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1e3;
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn rate(rows: usize, d: Duration) -> String {
    format!(
        "{:.1} M rows/s",
        rows as f64 / d.as_secs_f64().max(1e-9) / 1e6
    )
}

fn step(n: usize, title: &str) {
    println!("\n[{n}/6] {title}");
}

fn bar(len: u64, prefix: &'static str) -> ProgressBar {
    let style = ProgressStyle::with_template(
        "      {prefix:<10} [{bar:40.cyan/blue}] {human_pos}/{human_len} ({per_sec}, {eta} left)",
    )
    .map(|s| s.progress_chars("=> "))
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    ProgressBar::new(len).with_style(style).with_prefix(prefix)
}

fn spinner(message: &'static str) -> ProgressBar {
    let spinner = ProgressBar::new_spinner().with_message(message);
    spinner.enable_steady_tick(Duration::from_millis(80));
    spinner
}

/// Runs `f` `runs` times and returns its result and the fastest time.
fn best_of<R>(runs: usize, mut f: impl FnMut() -> R) -> (R, Duration) {
    let mut best = Duration::MAX;
    let mut result = None;
    for _ in 0..runs {
        let start = Instant::now();
        let r = black_box(f());
        best = best.min(start.elapsed());
        result = Some(r);
    }
    (result.unwrap_or_else(f), best)
}

// ---------------------------------------------------------------------------------------------
// The three ways to compute

fn notional_aos(rows: &[Order]) -> f64 {
    rows.iter()
        .map(|o| f64::from(o.quantity) * o.unit_price)
        .sum()
}

fn notional_soa(soa: &OrderSoA) -> f64 {
    soa.quantity
        .iter()
        .zip(&soa.unit_price)
        .map(|(q, p)| f64::from(*q) * p)
        .sum()
}

fn notional_arrow(batches: &[RecordBatch]) -> f64 {
    let mut total = 0.0;
    for batch in batches {
        let (Some(q), Some(p)) = (
            batch.column_by_name("quantity"),
            batch.column_by_name("unit_price"),
        ) else {
            continue;
        };
        let (Some(q), Some(p)) = (
            q.as_primitive_opt::<UInt32Type>(),
            p.as_primitive_opt::<Float64Type>(),
        ) else {
            continue;
        };
        total += q
            .values()
            .iter()
            .zip(p.values().iter())
            .map(|(q, p)| f64::from(*q) * p)
            .sum::<f64>();
    }
    total
}

fn count_aos(rows: &[Order], symbol: &str) -> usize {
    rows.iter().filter(|o| o.symbol == symbol).count()
}

fn count_soa(soa: &OrderSoA, symbol: &str) -> usize {
    soa.symbol.iter().filter(|s| *s == symbol).count()
}

fn count_arrow(batches: &[RecordBatch], symbol: &str) -> usize {
    let needle = symbol.as_bytes();
    let mut count = 0;
    for batch in batches {
        let Some(strings) = batch
            .column_by_name("symbol")
            .and_then(|c| c.as_string_opt::<i32>())
        else {
            continue;
        };
        // Straight over the offsets and the value bytes: no per-row String.
        let offsets = strings.value_offsets();
        let data = strings.value_data();
        count += offsets
            .windows(2)
            .filter(|w| {
                let (start, end) = (w[0] as usize, w[1] as usize);
                end - start == needle.len() && &data[start..end] == needle
            })
            .count();
    }
    count
}

// ---------------------------------------------------------------------------------------------

#[tokio::main]
async fn main() -> DemoResult<()> {
    let options = parse_options()?;
    let total_start = Instant::now();
    let n = options.rows;
    println!(
        "soa persistent_demo: {} orders, {} writer tasks, batches of {} rows",
        thousands(n as u64),
        options.writers,
        thousands(options.batch as u64)
    );

    // 1. Generate.
    step(1, "generating orders (deterministic xorshift)");
    let start = Instant::now();
    let progress = bar(n as u64, "generate");
    let mut rows: Vec<Order> = Vec::with_capacity(n);
    let mut generator = OrderGenerator::new();
    while rows.len() < n {
        let chunk = (n - rows.len()).min(100_000);
        rows.extend(generator.by_ref().take(chunk));
        progress.inc(chunk as u64);
    }
    progress.finish_and_clear();
    let generate_time = start.elapsed();
    println!(
        "      {} rows as Vec<Order> in {} ({} bytes per Order struct, strings on the heap)",
        thousands(n as u64),
        ms(generate_time),
        std::mem::size_of::<Order>()
    );

    // 2. Append concurrently.
    step(
        2,
        "appending to ArrowStore<Order> from concurrent tokio tasks",
    );
    let store = ArrowStore::<Order>::new();
    let rows = Arc::new(rows);
    let ranges: Arc<Vec<Range<usize>>> = Arc::new(
        (0..n)
            .step_by(options.batch)
            .map(|s| s..(s + options.batch).min(n))
            .collect(),
    );
    let next = Arc::new(AtomicUsize::new(0));
    let progress = bar(n as u64, "append");
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..options.writers {
        let (store, rows, ranges, next, progress) = (
            store.clone(),
            Arc::clone(&rows),
            Arc::clone(&ranges),
            Arc::clone(&next),
            progress.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while let Some(range) = ranges.get(next.fetch_add(1, Ordering::Relaxed)).cloned() {
                let len = range.len();
                // Rows to columns (one pass), then a move into Arrow (no copy of fixed-width
                // columns), then into the store (no copy at all).
                let batch = rows[range]
                    .iter()
                    .cloned()
                    .collect::<OrderSoA>()
                    .into_record_batch()?;
                let t = Instant::now();
                store.append_batch(batch)?;
                latencies.push(t.elapsed());
                progress.inc(len as u64);
                tokio::task::yield_now().await;
            }
            Ok::<_, soa_runtime::Error>(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await??);
    }
    progress.finish_and_clear();
    let append_time = start.elapsed();
    latencies.sort_unstable();
    let percentile = |p: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or_default()
    };
    let count = store.count().await?;
    println!(
        "      {} rows in {} batches in {} ({}, including the row-to-column conversion)",
        thousands(count),
        thousands(store.stats().batches),
        ms(append_time),
        rate(n, append_time)
    );
    println!(
        "      append_batch latency (the store's part: schema check, sizes, slot): p50 {}, p99 {}, max {}",
        us(percentile(0.5)),
        us(percentile(0.99)),
        us(percentile(1.0))
    );
    if count != n as u64 {
        return Err(format!("store holds {count} rows, expected {n}").into());
    }

    // 3. Memory statistics.
    step(
        3,
        "memory statistics (ArrowStore::stats, maintained on every append)",
    );
    let stats = store.stats();
    let schema = OrderSoA::schema();
    println!(
        "      {:<12} {:<24} {:>12} {:>12} {:>10}",
        "column", "Arrow type", "bytes", "validity", "bytes/row"
    );
    println!("      {}", "-".repeat(74));
    for column in &stats.columns {
        let data_type = schema
            .field_with_name(&column.name)
            .map(|f| f.data_type().to_string())
            .unwrap_or_default();
        println!(
            "      {:<12} {:<24} {:>12} {:>12} {:>10.2}",
            column.name,
            data_type,
            bytes(column.bytes),
            bytes(column.validity_bytes),
            column.bytes as f64 / n.max(1) as f64
        );
    }
    println!("      {}", "-".repeat(74));
    println!(
        "      {:<12} {:<24} {:>12} {:>12} {:>10.2}",
        "total",
        format!("{} batches", stats.batches),
        bytes(stats.bytes),
        bytes(stats.columns.iter().map(|c| c.validity_bytes).sum()),
        stats.bytes as f64 / n.max(1) as f64
    );

    // 4. Columnar computations.
    step(
        4,
        "columnar computations: Vec<Order> vs OrderSoA vs Arrow batches (best of 5)",
    );
    let start = Instant::now();
    let mut soa: OrderSoA = store.load().await?;
    let load_time = start.elapsed();
    let start = Instant::now();
    // Batches arrived interleaved from the writers: restore id order so every loop below sums
    // the same values in the same order.
    soa.sort_by_key(|o| *o.order_id);
    let sort_time = start.elapsed();
    let same_rows = soa.len() == rows.len()
        && soa.iter().zip(rows.iter()).all(|(a, b)| {
            *a.order_id == b.order_id
                && *a.customer_id == b.customer_id
                && *a.symbol == b.symbol
                && *a.side == b.side
                && *a.quantity == b.quantity
                && a.unit_price.to_bits() == b.unit_price.to_bits()
                && *a.filled == b.filled
                && a.note == b.note.as_deref()
                && *a.ts_micros == b.ts_micros
        });
    println!(
        "      store.load() -> OrderSoA in {}, sort_by_key(order_id) in {}, equal to the generated rows: {}",
        ms(load_time),
        ms(sort_time),
        if same_rows { "yes" } else { "NO" }
    );
    if !same_rows {
        return Err("the loaded container differs from the generated rows".into());
    }
    let batches = store.snapshot();

    let (n_aos, t_n_aos) = best_of(5, || notional_aos(&rows));
    let (n_soa, t_n_soa) = best_of(5, || notional_soa(&soa));
    let (n_arrow, t_n_arrow) = best_of(5, || notional_arrow(&batches));
    let (c_aos, t_c_aos) = best_of(5, || count_aos(&rows, "AAPL"));
    let (c_soa, t_c_soa) = best_of(5, || count_soa(&soa, "AAPL"));
    let (c_arrow, t_c_arrow) = best_of(5, || count_arrow(&batches, "AAPL"));

    println!(
        "      {:<30} {:>20} {:>11} {:>11} {:>8} {:>11} {:>8}",
        "computation", "result", "Vec<Order>", "OrderSoA", "speedup", "Arrow", "speedup"
    );
    println!("      {}", "-".repeat(106));
    let speedup = |base: Duration, other: Duration| {
        format!(
            "{:.1}x",
            base.as_secs_f64() / other.as_secs_f64().max(1e-12)
        )
    };
    println!(
        "      {:<30} {:>20.2} {:>11} {:>11} {:>8} {:>11} {:>8}",
        "sum(quantity * unit_price)",
        n_soa,
        ms(t_n_aos),
        ms(t_n_soa),
        speedup(t_n_aos, t_n_soa),
        ms(t_n_arrow),
        speedup(t_n_aos, t_n_arrow)
    );
    println!(
        "      {:<30} {:>20} {:>11} {:>11} {:>8} {:>11} {:>8}",
        "count(symbol == \"AAPL\")",
        thousands(c_soa as u64),
        ms(t_c_aos),
        ms(t_c_soa),
        speedup(t_c_aos, t_c_soa),
        ms(t_c_arrow),
        speedup(t_c_aos, t_c_arrow)
    );
    // Same order of summation for Vec and SoA (bit-identical); Arrow sums in batch order.
    let close = (n_arrow - n_aos).abs() <= 1e-9 * n_aos.abs().max(1.0);
    if n_aos.to_bits() != n_soa.to_bits() || !close || c_aos != c_soa || c_aos != c_arrow {
        return Err(format!(
            "results differ: notional {n_aos} / {n_soa} / {n_arrow}, count {c_aos} / {c_soa} / {c_arrow}"
        )
        .into());
    }
    drop(soa);

    // 5. Arrow IPC.
    step(5, "Arrow IPC file (zstd): save, reload");
    let (path, temporary) = match &options.out {
        Some(path) => (path.clone(), false),
        None => (
            std::env::temp_dir().join(format!("soa_persistent_demo_{}.arrow", std::process::id())),
            true,
        ),
    };
    let spin = spinner("saving (zstd, atomic rename, fsync)...");
    let start = Instant::now();
    store.save_ipc(&path, IpcCompression::Zstd).await?;
    let save_time = start.elapsed();
    spin.finish_and_clear();
    let file_size = std::fs::metadata(&path)?.len();
    println!(
        "      saved {} in {} ({}): {} on disk, {:.1}x smaller than in memory ({})",
        path.display(),
        ms(save_time),
        rate(n, save_time),
        bytes(file_size),
        stats.bytes as f64 / file_size.max(1) as f64,
        bytes(stats.bytes)
    );

    let spin = spinner("loading...");
    let reloaded = ArrowStore::<Order>::new();
    let start = Instant::now();
    reloaded.load_ipc(&path).await?;
    let reload_time = start.elapsed();
    spin.finish_and_clear();
    println!(
        "      loaded {} rows in {} batches in {} ({})",
        thousands(reloaded.count().await?),
        thousands(reloaded.stats().batches),
        ms(reload_time),
        rate(n, reload_time)
    );

    // 6. Verify.
    step(6, "verifying the reloaded store");
    let start = Instant::now();
    let same_batches = reloaded.snapshot() == store.snapshot();
    let same_stats = reloaded.stats() == stats;
    let mut typed = reloaded.load().await?;
    typed.sort_by_key(|o| *o.order_id);
    let same_typed = typed.into_rows() == *rows;
    let verify_time = start.elapsed();
    println!(
        "      record batches equal: {}, statistics equal: {}, rows equal after load(): {} ({})",
        yes(same_batches),
        yes(same_stats),
        yes(same_typed),
        ms(verify_time)
    );
    if temporary {
        std::fs::remove_file(&path)?;
    }
    if !(same_batches && same_stats && same_typed) {
        return Err("the reloaded store differs from the original".into());
    }

    println!("\ndone in {}", ms(total_start.elapsed()));
    Ok(())
}

fn yes(ok: bool) -> &'static str {
    if ok { "yes" } else { "NO" }
}

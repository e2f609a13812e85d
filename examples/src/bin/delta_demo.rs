//! `DeltaStore` demo: a Delta Lake table of orders in `./delta_demo_data/orders`.
//!
//! ```text
//! cargo run --release --features delta --bin delta_demo [-- --rows N]     # default 1 000 000 rows
//! python -c "from deltalake import DeltaTable; print(DeltaTable('./delta_demo_data/orders').to_pyarrow_table().num_rows)"
//! ```
//!
//! Writes the orders in five commits (a `save` of the first 20 %, then four appends), prints the
//! table's history, reads version 1 back (time travel), compacts the small files into one,
//! counts from the log, loads everything and compares it with the generator value by value, then
//! prints one-liners that read the same table with deltalake, polars and DuckDB.
//!
//! Memory stays near one copy of the data: each commit's orders are generated and moved into the
//! store (`save_owned` / `append_owned`), and the check compares the loaded data with the
//! deterministic generator row by row instead of keeping a second copy.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use futures::StreamExt;
use soa_examples::{
    Order, OrderGenerator, OrderSoA, bar, is_generated, mib, ms, parse_rows, spinner,
};
use soa_runtime::prelude::*;

type DemoResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

const DATA_DIR: &str = "delta_demo_data";
const TABLE: &str = "delta_demo_data/orders";
/// Commits that write the rows: one `save`, then `COMMITS - 1` appends.
const COMMITS: usize = 5;

/// The next `n` orders of `generator`, as columns.
fn generate(generator: &mut OrderGenerator, n: usize) -> OrderSoA {
    let mut part = OrderSoA::new();
    part.reserve(n);
    part.extend(generator.by_ref().take(n));
    part
}

/// Data files (`*.parquet` outside `_delta_log`) in the table directory, and their bytes.
fn data_files(table: &Path) -> DemoResult<(usize, u64)> {
    let mut files = 0;
    let mut bytes = 0;
    for entry in fs::read_dir(table)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".parquet") && entry.file_type()?.is_file() {
            files += 1;
            bytes += entry.metadata()?.len();
        }
    }
    Ok((files, bytes))
}

/// Rows of each commit: the first 20 % saved, the rest in `COMMITS - 1` appends.
fn commit_sizes(rows: usize) -> Vec<usize> {
    let first = rows / COMMITS;
    let rest = rows - first;
    let appends = COMMITS - 1;
    let mut sizes = vec![first];
    sizes.extend((0..appends).map(|i| rest / appends + usize::from(i < rest % appends)));
    sizes
}

#[tokio::main]
async fn main() -> DemoResult {
    let rows = parse_rows("delta_demo")?;
    let started = Instant::now();
    println!("soa DeltaStore demo: {rows} orders -> ./{TABLE}/ (a Delta Lake table)\n");
    if Path::new(DATA_DIR).exists() {
        fs::remove_dir_all(DATA_DIR)?;
    }
    let table = Path::new(TABLE);

    // 1. Create, save, append
    let sizes = commit_sizes(rows);
    println!(
        "[1] create the table, save the first {} orders, append {} more in {} commits",
        sizes[0],
        rows - sizes[0],
        COMMITS - 1
    );
    let t = Instant::now();
    let store = DeltaStore::<Order>::create(TABLE).await?;
    let create_time = t.elapsed();
    let progress = bar(
        rows as u64,
        "  [{bar:40}] {pos}/{len} rows  {msg} {elapsed}",
    );
    let mut generator = OrderGenerator::new();
    let mut write_time = Duration::ZERO;
    for (i, &n) in sizes.iter().enumerate() {
        progress.set_message(format!("commit {}/{COMMITS}: generating", i + 1));
        let part = generate(&mut generator, n);
        progress.set_message(format!(
            "commit {}/{COMMITS}: {}",
            i + 1,
            if i == 0 { "save" } else { "append" }
        ));
        let t = Instant::now();
        if i == 0 {
            store.save_owned(part).await?; // moves the columns into Arrow: no copy
        } else {
            store.append_owned(part).await?;
        }
        write_time += t.elapsed();
        progress.inc(n as u64);
    }
    progress.finish_and_clear();
    let (files, bytes) = data_files(table)?;
    println!(
        "    created (version 0) in {}; {COMMITS} commits of data in {} ({:.0} k rows/s)",
        ms(create_time),
        ms(write_time),
        rows as f64 / write_time.as_secs_f64() / 1000.0
    );
    println!(
        "    now at version {}: {files} data files, {} (Parquet, ZSTD(1)) + _delta_log/\n",
        store.version().await?,
        mib(bytes)
    );

    // 2. History
    println!("[2] history(): every commit of the log");
    println!(
        "    {:>7}  {:<14} {:<10} {:>12} {:>11} {:>13}",
        "version", "operation", "mode", "rows added", "files added", "files removed"
    );
    for commit in store.history().await? {
        println!(
            "    {:>7}  {:<14} {:<10} {:>12} {:>11} {:>13}",
            commit.version,
            commit.operation,
            commit.parameters.get("mode").map_or("", String::as_str),
            commit.rows_added,
            commit.files_added,
            commit.files_removed
        );
    }
    println!();

    // 3. Time travel
    println!("[3] time travel: at_version(1), the table after the first save");
    let t = Instant::now();
    let v1 = store.at_version(1).await?;
    let v1_count = v1.count().await?;
    let travel_time = t.elapsed();
    let mut stream = v1.scan_with(ScanOptions::new().batch_size(1)).await?;
    let first = match stream.next().await {
        Some(batch) => OrderSoA::try_from_record_batch(batch?)?.into_rows().pop(),
        None => None,
    };
    drop(stream);
    println!(
        "    version 1 holds {v1_count} rows (the latest: {}), opened and counted in {}",
        store.count().await?,
        ms(travel_time)
    );
    match &first {
        Some(order) => println!("    first row: {order:?}\n"),
        None => println!("    first row: (none: the table was empty at version 1)\n"),
    }
    if v1_count != sizes[0] as u64 || first.as_ref() != OrderGenerator::new().next().as_ref() {
        return Err("version 1 differs from the first save".into());
    }
    drop(v1);

    // 4. Compact
    println!("[4] compact(): merge the small files into files of up to 128 MiB");
    let before = store.stats().batches;
    let spin = spinner("compacting");
    let t = Instant::now();
    let report = store.compact().await?;
    let compact_time = t.elapsed();
    spin.finish_and_clear();
    let after = store.stats().batches;
    match report.version {
        Some(version) => println!(
            "    version {version} (OPTIMIZE, dataChange = false) in {}: {} files rewritten into {}",
            ms(compact_time),
            report.files_removed,
            report.files_added
        ),
        None => println!("    nothing to compact (no commit)"),
    }
    let (on_disk, disk_bytes) = data_files(table)?;
    println!(
        "    files of the latest version: {before} before, {after} after; on disk: {on_disk} \
         files, {} (old files stay for time travel until vacuum)\n",
        mib(disk_bytes)
    );

    // 5. Count from the log (a fresh instance: no cached state)
    println!("[5] restart: open a new instance, count() from the log (no data file is read)");
    drop(store);
    let t = Instant::now();
    let store = DeltaStore::<Order>::open(TABLE).await?;
    let open_time = t.elapsed();
    let t = Instant::now();
    let count = store.count().await?;
    let count_time = t.elapsed();
    println!(
        "    open() in {} (version {}), count() = {count} in {}\n",
        ms(open_time),
        store.version().await?,
        ms(count_time)
    );
    if count != rows as u64 {
        return Err(format!("count() says {count} rows, {rows} were written").into());
    }

    // 6. Load and compare
    println!("[6] load() everything and compare with what was written, value by value");
    let spin = spinner("loading");
    let t = Instant::now();
    let loaded = store.load().await?;
    let load_time = t.elapsed();
    spin.finish_and_clear();
    let spin = spinner("comparing");
    let equal = loaded.len() == rows && is_generated(&loaded);
    spin.finish_and_clear();
    println!(
        "    loaded {} rows in {} ({:.0} k rows/s, CRC32 of every file verified); equal to the \
         written data: {}\n",
        loaded.len(),
        ms(load_time),
        loaded.len() as f64 / load_time.as_secs_f64() / 1000.0,
        if equal { "yes" } else { "NO" }
    );
    if !equal {
        return Err("the loaded data differs from what was written".into());
    }
    drop(loaded);

    // 7. Other readers
    println!("[7] the same table from other Delta readers (pip install deltalake polars duckdb):");
    println!(
        "    python -c \"from deltalake import DeltaTable; print(DeltaTable('./{TABLE}').to_pyarrow_table().num_rows)\""
    );
    println!(
        "    python -c \"import polars as pl; print(pl.scan_delta('./{TABLE}').select(pl.len()).collect())\""
    );
    println!(
        "    python -c \"import duckdb; print(duckdb.sql(\\\"INSTALL delta; LOAD delta; SELECT count(*) FROM delta_scan('./{TABLE}')\\\").fetchall())\""
    );
    println!(
        "    duckdb -c \"INSTALL delta; LOAD delta; SELECT count(*) FROM delta_scan('./{TABLE}')\"\n"
    );
    println!("done in {:.1} s.", started.elapsed().as_secs_f64());
    Ok(())
}

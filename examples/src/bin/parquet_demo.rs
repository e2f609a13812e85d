//! `ParquetStore` demo: durable orders in `./parquet_demo_data/`.
//!
//! ```text
//! cargo run --release --bin parquet_demo [-- --rows N]     # default 1 000 000 rows
//! python3 -c "import pandas; print(pandas.read_parquet('./parquet_demo_data/data.parquet'))"
//! ```
//!
//! Writes the orders, simulates a restart and checks every value, appends without rewriting,
//! counts from the manifest and from the Parquet footers, compares the codecs, reads a
//! projection, and compacts so that `./parquet_demo_data/data.parquet` holds every row at the end.
//!
//! Memory stays near one copy of the data: the orders move into the store (`save_owned`), every
//! check compares the loaded data with the deterministic generator row by row instead of keeping
//! a second copy, and the codec table uses the first 1M rows.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use soa_examples::{
    Order, OrderGenerator, OrderSoA, bar, is_generated, mib, ms, parse_rows, spinner,
};
use soa_runtime::StoreExt;
use soa_runtime::store::parquet::{Codec, ParquetStore};
use soa_runtime::{Store, ToArrow};

type DemoResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

const DATA_DIR: &str = "parquet_demo_data";
const APPEND_ROWS: usize = 10_000;
/// Rows of the codec comparison (the ratios do not depend on the row count).
const CODEC_ROWS: usize = 1_000_000;

/// Prints the data files of the store directory with size, inode and modification time.
fn show_files(dir: &Path) -> DemoResult {
    let mut entries: Vec<_> = fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let meta = entry.metadata()?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let note = if name.starts_with('_') {
            "  (manifest: skipped by dataset readers)"
        } else {
            ""
        };
        println!(
            "    {name:<22} {:>12}  inode {:<10} mtime {}{note}",
            mib(meta.len()),
            inode(&meta),
            mtime(&meta)
        );
    }
    Ok(())
}

#[cfg(unix)]
fn inode(meta: &fs::Metadata) -> u64 {
    std::os::unix::fs::MetadataExt::ino(meta)
}
#[cfg(not(unix))]
fn inode(_: &fs::Metadata) -> u64 {
    0
}

fn mtime(meta: &fs::Metadata) -> String {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or_else(
            || "?".into(),
            |d| format!("{}.{:09}", d.as_secs(), d.subsec_nanos()),
        )
}

fn file_identity(path: &Path) -> DemoResult<(u64, String, u64)> {
    let meta = fs::metadata(path)?;
    Ok((inode(&meta), mtime(&meta), meta.len()))
}

#[tokio::main]
async fn main() -> DemoResult {
    let rows = parse_rows("parquet_demo")?;
    let dir = PathBuf::from(DATA_DIR);
    let started = Instant::now();
    println!("soa ParquetStore demo: {rows} orders -> ./{DATA_DIR}/\n");

    // 1. Generate
    println!("[1] generate {rows} orders (deterministic)");
    if dir.exists() {
        fs::remove_dir_all(&dir)?;
    }
    let progress = bar(rows as u64, "  [{bar:40}] {pos}/{len} rows {elapsed}");
    let mut orders = OrderSoA::new();
    let mut generator = OrderGenerator::new();
    let chunk = 100_000;
    let mut made = 0;
    while made < rows {
        let n = chunk.min(rows - made);
        orders.extend(generator.by_ref().take(n));
        made += n;
        progress.inc(n as u64);
    }
    progress.finish_and_clear();
    // Measured by moving the columns into Arrow and back: no copy of the data is made. (Growth
    // slack is trimmed first so that the figure is the data, not the capacity.)
    orders.shrink_to_fit();
    let batch = orders.into_record_batch()?;
    let arrow_bytes = batch.get_array_memory_size() as u64;
    let orders = OrderSoA::try_from_record_batch(batch)?;
    println!(
        "    {} rows, {} as Arrow arrays in memory\n",
        orders.len(),
        mib(arrow_bytes)
    );

    // 2. Save
    println!("[2] save (ZSTD(1), row groups of 1Mi rows, dictionary, page statistics)");
    let store = ParquetStore::<Order>::create(&dir).await?;
    let spin = spinner("writing data.parquet");
    let t = Instant::now();
    store.save_owned(orders).await?; // moves the columns into Arrow: no copy
    let write_time = t.elapsed();
    spin.finish_and_clear();
    let saved_bytes = store.stats().bytes;
    println!(
        "    wrote {} in {} ({:.0} k rows/s)",
        mib(saved_bytes),
        ms(write_time),
        rows as f64 / write_time.as_secs_f64() / 1000.0
    );
    show_files(&dir)?;
    println!();

    // 3. Restart
    println!("[3] restart: drop the store, open a new instance, load, compare every value");
    drop(store);
    let store = ParquetStore::<Order>::open(&dir).await?;
    let spin = spinner("loading");
    let t = Instant::now();
    let loaded = store.load().await?;
    let load_time = t.elapsed();
    spin.finish_and_clear();
    if loaded.len() != rows || !is_generated(&loaded) {
        return Err("the loaded data differs from what was written".into());
    }
    println!(
        "    loaded {} rows in {} (checksum verified); equal to the written data: yes",
        loaded.len(),
        ms(load_time)
    );
    drop(loaded);
    let unchecked = ParquetStore::<Order>::builder(&dir)
        .verify_checksums(false)
        .open()
        .await?;
    let t = Instant::now();
    let loaded = unchecked.load().await?;
    let unchecked_time = t.elapsed();
    // Dropped first: the demo's peak memory is the load's, not the load plus this copy.
    drop((loaded, unchecked));
    let bytes = fs::read(dir.join("data.parquet"))?;
    let t = Instant::now();
    let crc = crc32fast::hash(&bytes); // what the store computes and records
    let crc_time = t.elapsed();
    println!(
        "    without checksum verification: {} (the CRC32 pass alone: {} for {}, {crc:08x})\n",
        ms(unchecked_time),
        ms(crc_time),
        mib(bytes.len() as u64)
    );
    drop(bytes);

    // 4. Append
    println!("[4] append {APPEND_ROWS} new orders (existing files are never rewritten)");
    let data_file = dir.join("data.parquet");
    let before = file_identity(&data_file)?;
    let more: OrderSoA = generator.by_ref().take(APPEND_ROWS).collect();
    let t = Instant::now();
    store.append(&more).await?;
    println!("    appended in {}", ms(t.elapsed()));
    show_files(&dir)?;
    let after = file_identity(&data_file)?;
    println!(
        "    data.parquet unchanged (same inode, mtime and size): {}\n",
        if before == after { "yes" } else { "NO" }
    );
    if before != after {
        return Err("append rewrote data.parquet".into());
    }
    let total = rows + APPEND_ROWS;

    // 5. Count
    println!("[5] count without reading column data");
    let t = Instant::now();
    let from_manifest = store.count().await?;
    let manifest_time = t.elapsed();
    let t = Instant::now();
    let footers = store.count_from_footers().await?;
    let footer_time = t.elapsed();
    println!(
        "    from the manifest: {from_manifest} rows in {} (no file read)",
        ms(manifest_time)
    );
    println!(
        "    from the footers:  {} rows in {}, read {} bytes of {} ({:.4} % of {} files)\n",
        footers.rows,
        ms(footer_time),
        footers.bytes_read,
        footers.file_bytes,
        footers.bytes_read as f64 * 100.0 / footers.file_bytes.max(1) as f64,
        footers.files
    );
    if from_manifest != total as u64 || footers.rows != total as u64 {
        return Err("row counts disagree".into());
    }

    // 6. Projection
    println!("[6] projection: read two of nine columns");
    let t = Instant::now();
    let full = store.load().await?;
    let full_time = t.elapsed();
    let full_rows = full.len();
    drop(full);
    let t = Instant::now();
    let before_bytes = store.bytes_read();
    let projected = store.load_columns(&["symbol", "unit_price"]).await?;
    let projected_time = t.elapsed();
    let projected_read = store.bytes_read() - before_bytes;
    let unchecked = ParquetStore::<Order>::builder(&dir)
        .verify_checksums(false)
        .open()
        .await?;
    let t = Instant::now();
    let projected_unchecked = unchecked.load_columns(&["symbol", "unit_price"]).await?;
    let unchecked_time = t.elapsed();
    println!(
        "    full load:                       {full_rows} rows x 9 columns in {}",
        ms(full_time)
    );
    println!(
        "    load_columns(symbol, unit_price): {} rows x {} columns in {} (read {} with checksums)",
        projected.num_rows(),
        projected.num_columns(),
        ms(projected_time),
        mib(projected_read)
    );
    println!(
        "    same without checksum verification: {} rows in {} (read {} of {})\n",
        projected_unchecked.num_rows(),
        ms(unchecked_time),
        mib(unchecked.bytes_read()),
        mib(store.stats().bytes)
    );
    drop((projected, projected_unchecked, unchecked));

    // 7. Codecs
    let codec_rows = rows.min(CODEC_ROWS);
    let sample: OrderSoA = OrderGenerator::new().take(codec_rows).collect();
    let batch = sample.into_record_batch()?;
    let sample_bytes = batch.get_array_memory_size() as u64;
    let sample = OrderSoA::try_from_record_batch(batch)?;
    println!(
        "[7] codecs: the first {codec_rows} rows, one file each (Arrow in memory: {})",
        mib(sample_bytes)
    );
    let scratch = std::env::temp_dir().join(format!("soa-parquet-demo-{}", std::process::id()));
    let progress = bar(
        Codec::ALL.len() as u64,
        "  [{bar:40}] {pos}/{len} codecs {msg} {elapsed}",
    );
    let mut table = Vec::new();
    for (i, &codec) in Codec::ALL.iter().enumerate() {
        progress.set_message(codec.to_string());
        let codec_dir = scratch.join(format!("{i}"));
        let store = ParquetStore::<Order>::builder(&codec_dir)
            .compression(codec)
            .create()
            .await?;
        let t = Instant::now();
        store.save(&sample).await?;
        let write = t.elapsed();
        let size = store.stats().bytes;
        let reader = ParquetStore::<Order>::open(&codec_dir).await?;
        let t = Instant::now();
        let back = reader.load().await?;
        let read = t.elapsed();
        if back.len() != codec_rows {
            return Err(format!("{codec}: read {} rows", back.len()).into());
        }
        table.push((codec, size, write, read));
        progress.inc(1);
    }
    progress.finish_and_clear();
    let _ = fs::remove_dir_all(&scratch);
    println!(
        "    {:<14} {:>12} {:>14} {:>12} {:>12}",
        "codec", "file size", "Arrow / file", "write", "read"
    );
    for (codec, size, write, read) in &table {
        let marker = if *codec == Codec::Zstd(1) {
            "  <- default"
        } else {
            ""
        };
        println!(
            "    {:<14} {:>12} {:>13.2}x {:>12} {:>12}{marker}",
            codec.to_string(),
            mib(*size),
            sample_bytes as f64 / *size as f64,
            ms(*write),
            ms(*read)
        );
    }
    println!("    (read = load into OrderSoA with CRC32 verification, new store instance)\n");

    // 8. Compact
    println!("[8] compact: merge all files into one data.parquet");
    let spin = spinner("compacting");
    let t = Instant::now();
    store.compact().await?;
    let compact_time = t.elapsed();
    spin.finish_and_clear();
    println!("    compacted in {}", ms(compact_time));
    show_files(&dir)?;
    let reopened = ParquetStore::<Order>::open(&dir).await?;
    let footers = reopened.count_from_footers().await?;
    drop(sample);
    let all = reopened.load().await?;
    if footers.rows != total as u64
        || footers.files != 1
        || all.len() != total
        || !is_generated(&all)
    {
        return Err("the compacted store differs".into());
    }
    println!("    ./{DATA_DIR}/data.parquet holds all {total} rows (checked value by value)\n");
    // The process's peak resident memory (Linux), against the data's size in Arrow.
    if let Some(kib) = fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
    {
        println!(
            "peak memory: {} ({:.2}x the {} of Arrow data)",
            mib(kib * 1024),
            (kib * 1024) as f64 / arrow_bytes as f64,
            mib(arrow_bytes)
        );
    }
    println!(
        "done in {:.1} s. Try: python3 -c \"import pandas; print(pandas.read_parquet('./{DATA_DIR}/data.parquet'))\"",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

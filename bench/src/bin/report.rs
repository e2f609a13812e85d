//! Runs every workload of the benchmark suite N times on the same data, computes medians and
//! ratios (ours / theirs), runs the Python references and writes `BENCHMARKS.md` at the repo root.
//!
//! ```text
//! cargo run --release --bin report -- [--rows 1000000] [--large 10000000] [--reps 7]
//!     [--large-reps 3] [--python PATH|none] [--only 1,2,3] [--out ../BENCHMARKS.md]
//! ```

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use arrow_array::RecordBatch;
use soa_bench::competitors::{
    arrow_convert_impl as ac, handwritten as hw, parquet_derive_impl as pd, serde_arrow_impl as sa,
    soa_derive_impl as sd, typed_arrow_impl as ta,
};
use soa_bench::fixed::{OrderFixedSoA, fixed_soa};
use soa_bench::plain::{OrderPlainSoA, plain_soa};
use soa_bench::report::{Report, fmt_dur, fmt_mib, fmt_rows};
use soa_bench::timing::{Rep, fixed_mmap_threshold, measure, measure_interleaved, rep, sh};
use soa_bench::{Order, OrderSoA, orders, parquet_io, scan};
use soa_runtime::ToArrow;

struct Args {
    rows: usize,
    large: usize,
    reps: usize,
    large_reps: usize,
    python: Option<PathBuf>,
    only: Option<BTreeSet<String>>,
    out: PathBuf,
    data: PathBuf,
    peak_rss: Option<String>,
}

fn parse_args() -> Args {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut args = Args {
        rows: soa_bench::ROWS_1M,
        large: soa_bench::ROWS_10M,
        reps: 7,
        large_reps: 3,
        python: default_python(&root),
        only: None,
        out: root.join("../BENCHMARKS.md"),
        data: root.join("data"),
        peak_rss: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut val = || it.next().unwrap_or_else(|| panic!("{a} needs a value"));
        match a.as_str() {
            "--rows" => args.rows = val().parse().expect("--rows N"),
            "--large" => args.large = val().parse().expect("--large N"),
            "--reps" => args.reps = val().parse().expect("--reps N"),
            "--large-reps" => args.large_reps = val().parse().expect("--large-reps N"),
            "--python" => {
                let v = val();
                args.python = (v != "none").then(|| PathBuf::from(v));
            }
            "--only" => args.only = Some(val().split(',').map(str::to_owned).collect()),
            "--out" => args.out = PathBuf::from(val()),
            "--data" => args.data = PathBuf::from(val()),
            "--peak-rss" => args.peak_rss = Some(val()),
            "-h" | "--help" => {
                eprintln!(
                    "{}",
                    include_str!("report.rs")
                        .lines()
                        .take(8)
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

fn default_python(root: &Path) -> Option<PathBuf> {
    [
        root.join(".venv/bin/python"),
        PathBuf::from("/tmp/venv-bench/bin/python"),
    ]
    .into_iter()
    .find(|p| p.exists())
}

impl Args {
    fn wants(&self, workload: &str) -> bool {
        self.only.as_ref().is_none_or(|o| o.contains(workload))
    }
}

const T1: &str = "Vec<Order> -> RecordBatch";
const T2: &str = "OrderSoA -> RecordBatch (by move)";
const T2F: &str = "fixed-width SoA -> RecordBatch (by move)";
const T3: &str = "RecordBatch -> typed rows / SoA";
const T3F: &str = "fixed-width RecordBatch -> SoA (consuming)";
const T4Z: &str = "Parquet write ZSTD(1) + fsync";
const T4S: &str = "Parquet write SNAPPY + fsync";
const T5: &str = "Parquet read, whole file";
const T6: &str = "count()";
const T7: &str = "scan: sum(quantity*unit_price) + count(symbol==\"AAPL\")";
const T7N: &str = "scan: sum(quantity*unit_price) only";
const T7C: &str = "scan: count(symbol==\"AAPL\") only";

/// typed-arrow's line of workload 1: its borrowed-rows API (like ours, `OrderSoA::from(&rows[..])`).
const TYPED_ARROW_1: &str = "typed-arrow 0.8 append_rows_ref (borrowed rows, presized)";
const ARROW_WRITER_DEFAULT: &str = "arrow-rs 60 ArrowWriter, default properties (uncompressed)";
/// The RecordBatch -> `Vec<Order>` lines of workload 3 (goal 3, rows).
const ROWS_3: &str = "ours: from_record_batch(&batch)?.into_rows() -> Vec<Order>";
const DIRECT_ROWS_3: &str = "ours: OrderSoA::rows_from_record_batch(&batch) -> Vec<Order> (direct)";
const HW_ROWS_3: &str = "hand-written arrow-rs 60 downcast + index -> Vec<Order>";
const SA_ROWS_3: &str = "serde_arrow 0.15 from_record_batch -> Vec<SOrder>";

fn main() {
    fixed_mmap_threshold();
    let args = parse_args();
    fs::create_dir_all(&args.data).expect("data dir");
    let mut report = Report::default();
    let started = std::time::Instant::now();

    let mut sizes: Vec<usize> = vec![args.rows];
    if args.large > 0 && args.large != args.rows {
        sizes.push(args.large);
    }

    // The Parquet file every reader reads, per size (see `read_file`).
    let mut read_files: Vec<ReadFile> = Vec::new();
    let parquet = args.wants("4") || args.wants("5") || args.wants("6");
    // Every workload runs at both sizes: each goal is judged at both.
    for &n in &sizes {
        let large = n != args.rows;
        let reps = if large { args.large_reps } else { args.reps };
        eprintln!("== {} rows, {reps} repetitions", fmt_rows(n));
        let rows: Vec<Order> = orders(n);
        let soa: OrderSoA = rows.clone().into();
        let batch: RecordBatch = soa.clone().into_record_batch().expect("batch");
        let plain: OrderPlainSoA = plain_soa(&rows);

        if args.wants("1") {
            workload_1(&mut report, &rows, reps);
        }
        if args.wants("7") {
            workload_7(&mut report, &rows, &soa, &plain, &batch, reps);
        }
        if args.wants("2") {
            workload_2(&mut report, &rows, &soa, &plain, reps);
        }
        if args.wants("3") {
            workload_3(&mut report, &rows, &soa, &batch, reps);
        }
        // Written once, before any read workload, and read by every reader (ours, arrow-rs,
        // pyarrow, polars).
        let read = (args.wants("5") || args.wants("6")).then(|| read_file(&args, &soa));
        if parquet {
            workload_parquet(&mut report, &args, &rows, &batch, read.as_ref(), reps);
        }
        #[cfg(feature = "arrow-store")]
        {
            let store = read.as_ref().and_then(|r| r.store.as_deref());
            soa_bench::stores::run(&mut report, &args.data, &soa, store, reps, large, |w| {
                args.wants(w)
            });
        }
        if parquet {
            // The dataset for the Python references, as an Arrow IPC file they load before timing.
            let ipc = args.data.join(format!("orders_{n}.arrow"));
            write_ipc(&ipc, &batch);
        }
        read_files.extend(read);
        drop((rows, soa, plain, batch));
    }

    #[cfg(not(feature = "arrow-store"))]
    report
        .skipped
        .push("ArrowStore workload 8: built without the `arrow-store` feature".to_owned());
    #[cfg(not(feature = "parquet-store"))]
    report.skipped.push(
        "ParquetStore workloads (4, 5, 6 with our store): built without the `parquet-store` feature"
            .to_owned(),
    );

    if let Some(python) = &args.python {
        if args.wants("4") || args.wants("5") || args.wants("6") {
            run_python(&mut report, python, &args, &sizes);
        }
    } else {
        report
            .skipped
            .push("Python references: no venv found (pass --python PATH)".to_owned());
    }

    let mut md = render(&report, &args, &read_files, started.elapsed());
    // Sections written by other report binaries (`delta_report`) are kept as they are.
    if let Ok(old) = fs::read_to_string(&args.out) {
        md = keep_sections(
            &old,
            md,
            &[
                "## Delta store",
                "## Partitioned datasets",
                "## Tiered store and streaming ingestion",
            ],
        );
    }
    fs::write(&args.out, &md).expect("write BENCHMARKS.md");
    println!("{md}");
    eprintln!("wrote {}", args.out.display());
}

fn workload_1(report: &mut Report, rows: &[Order], reps: usize) {
    let n = rows.len();
    eprintln!("-- 1 {T1} (interleaved)");
    let fields = sa::fields();
    let srows: Vec<sa::SOrder> = rows.iter().map(sa::SOrder::from).collect();
    let crows: Vec<ac::COrder> = rows.iter().map(ac::COrder::from).collect();
    let trows: Vec<ta::TOrder> = rows.iter().map(ta::TOrder::from).collect();
    let lines: Vec<Line<'_>> = vec![
        (
            "ours: OrderSoA::from(&rows[..]).into_record_batch()",
            true,
            true,
            "rows borrowed".to_owned(),
            rep(
                || (),
                |()| OrderSoA::from(rows).into_record_batch().expect("batch"),
            ),
        ),
        (
            "ours, transpose only: OrderSoA::from(&rows[..])",
            true,
            false,
            "part of the line above".to_owned(),
            rep(|| (), |()| OrderSoA::from(rows)),
        ),
        (
            "ours: OrderSoA::from(rows: Vec<Order>).into_record_batch()",
            true,
            false,
            "rows moved in: includes freeing their Strings".to_owned(),
            rep(
                || rows.to_vec(),
                |r| OrderSoA::from(r).into_record_batch().expect("batch"),
            ),
        ),
        (
            "hand-written arrow-rs 60 builders, presized",
            false,
            false,
            "rows borrowed".to_owned(),
            rep(|| (), |()| hw::rows_to_batch(rows)),
        ),
        (
            "serde_arrow 0.15 to_record_batch",
            false,
            false,
            "rows borrowed".to_owned(),
            rep(|| (), |()| sa::to_batch(&fields, &srows)),
        ),
        (
            "arrow_convert 0.12 try_into_arrow",
            false,
            false,
            "rows borrowed; side as dense Union".to_owned(),
            rep(|| (), |()| ac::to_batch(&crows)),
        ),
        (
            TYPED_ARROW_1,
            false,
            false,
            "rows borrowed; side as Dictionary<i8,String>".to_owned(),
            rep(|| (), |()| ta::to_batch_ref(&trows)),
        ),
        (
            "soa_derive 0.14: rows -> DOrderVec (no Arrow)",
            false,
            false,
            "transpose only, for reference".to_owned(),
            rep(|| rows.to_vec(), sd::from_rows),
        ),
    ];
    add_interleaved(report, "1", T1, n, reps, lines);
}

/// One line of an interleaved workload: (name, ours, primary, note, repetition).
type Line<'a> = (&'a str, bool, bool, String, Rep<'a>);

/// Measures `lines` interleaved (see `measure_interleaved`) and adds them to the report.
fn add_interleaved(
    report: &mut Report,
    workload: &str,
    title: &str,
    n: usize,
    reps: usize,
    lines: Vec<Line<'_>>,
) {
    let (meta, mut runs): (Vec<_>, Vec<Rep<'_>>) = lines
        .into_iter()
        .map(|(name, ours, primary, note, run)| ((name, ours, primary, note), run))
        .unzip();
    let samples = measure_interleaved(reps, &mut runs);
    drop(runs);
    for ((name, ours, primary, note), s) in meta.into_iter().zip(&samples) {
        report.add(workload, title, n, name, ours, primary, s, note);
    }
}

fn workload_2(
    report: &mut Report,
    rows: &[Order],
    soa: &OrderSoA,
    plain: &OrderPlainSoA,
    reps: usize,
) {
    let n = soa.len();
    eprintln!("-- 2 {T2}");
    let s = measure(
        reps,
        true,
        || soa.clone(),
        |s| s.into_record_batch().expect("batch"),
    );
    report.add(
        "2",
        T2,
        n,
        "ours: into_record_batch() (arrow_layout strings)",
        true,
        true,
        &s,
        "",
    );
    let s = measure(
        reps,
        true,
        || plain.clone(),
        |s| s.into_record_batch().expect("batch"),
    );
    report.add(
        "2",
        T2,
        n,
        "ours without arrow_layout: Vec<String> columns",
        true,
        false,
        &s,
        "one pass + one free per string",
    );
    let s = measure(
        reps,
        true,
        || (),
        |()| soa.to_record_batch().expect("batch"),
    );
    report.add(
        "2",
        T2,
        n,
        "ours: to_record_batch() (borrowed)",
        true,
        false,
        &s,
        "",
    );
    let s = measure(reps, true, || plain.clone(), hw::soa_to_batch);
    report.add(
        "2",
        T2,
        n,
        "hand-written arrow-rs 60 From<Vec<_>> (move)",
        false,
        false,
        &s,
        "",
    );
    {
        let fields = sa::fields();
        let srows: Vec<sa::SOrder> = rows.iter().map(sa::SOrder::from).collect();
        let s = measure(reps, true, || (), |()| sa::to_batch(&fields, &srows));
        report.add(
            "2",
            T2,
            n,
            "serde_arrow 0.15 to_record_batch (same rows)",
            false,
            false,
            &s,
            "",
        );
    }
    eprintln!("-- 2f {T2F}");
    let fixed = fixed_soa(soa);
    let s = measure(
        reps,
        true,
        || fixed.clone(),
        |s: OrderFixedSoA| s.into_record_batch().expect("batch"),
    );
    report.add(
        "2f",
        T2F,
        n,
        "ours: into_record_batch() (5 fixed-width columns)",
        true,
        true,
        &s,
        "",
    );
    let s = measure(
        reps,
        true,
        || (),
        |()| fixed.to_record_batch().expect("batch"),
    );
    report.add(
        "2f",
        T2F,
        n,
        "ours: to_record_batch() (borrowed, memcpy)",
        true,
        false,
        &s,
        "",
    );
}

fn workload_3(
    report: &mut Report,
    rows: &[Order],
    soa: &OrderSoA,
    batch: &RecordBatch,
    reps: usize,
) {
    let n = soa.len();
    // Interleaved like workloads 1 and 7: the row conversions (~80-200 ms at 1M) allocate millions
    // of Strings, so whichever ran first would pay for the allocator's and the kernel's state.
    eprintln!("-- 3 {T3} (interleaved)");
    let cbatch = {
        let crows: Vec<ac::COrder> = rows.iter().map(ac::COrder::from).collect();
        ac::to_batch(&crows)
    };
    let tbatch = {
        let trows: Vec<ta::TOrder> = rows.iter().map(ta::TOrder::from).collect();
        ta::to_batch_ref(&trows)
    };
    let lines: Vec<Line<'_>> = vec![
        (
            "ours: from_record_batch(&batch) -> OrderSoA",
            true,
            true,
            String::new(),
            rep(|| (), |()| OrderSoA::from_record_batch(batch).expect("soa")),
        ),
        (
            "ours: try_from_record_batch(batch) (consuming)",
            true,
            false,
            String::new(),
            rep(
                || soa.clone().into_record_batch().expect("batch"),
                |b| OrderSoA::try_from_record_batch(b).expect("soa"),
            ),
        ),
        (
            ROWS_3,
            true,
            false,
            "batch borrowed, rows owned (Strings allocated)".to_owned(),
            rep(
                || (),
                |()| OrderSoA::from_record_batch(batch).expect("soa").into_rows(),
            ),
        ),
        (
            DIRECT_ROWS_3,
            true,
            false,
            "batch borrowed, rows owned (Strings allocated)".to_owned(),
            rep(
                || (),
                |()| OrderSoA::rows_from_record_batch(batch).expect("rows"),
            ),
        ),
        (
            HW_ROWS_3,
            false,
            false,
            String::new(),
            rep(|| (), |()| hw::batch_to_rows(batch)),
        ),
        (
            SA_ROWS_3,
            false,
            false,
            String::new(),
            rep(|| (), |()| sa::from_batch(batch)),
        ),
        (
            "arrow_convert 0.12 try_into_collection -> Vec<COrder>",
            false,
            false,
            String::new(),
            rep(|| (), |()| ac::from_batch(&cbatch)),
        ),
        (
            "typed-arrow 0.8 iter_views + TryFrom -> Vec<TOrder>",
            false,
            false,
            String::new(),
            rep(|| (), |()| ta::from_batch(&tbatch)),
        ),
    ];
    add_interleaved(report, "3", T3, n, reps, lines);
    drop((cbatch, tbatch));
    eprintln!("-- 3f {T3F}");
    let fixed = fixed_soa(soa);
    let s = measure(
        reps,
        true,
        || fixed.clone().into_record_batch().expect("batch"),
        |b| OrderFixedSoA::try_from_record_batch(b).expect("soa"),
    );
    report.add(
        "3f",
        T3F,
        n,
        "ours: try_from_record_batch(batch) (reclaims buffers)",
        true,
        true,
        &s,
        "",
    );
    let fbatch = fixed.clone().into_record_batch().expect("batch");
    let s = measure(
        reps,
        true,
        || (),
        |()| OrderFixedSoA::from_record_batch(&fbatch).expect("soa"),
    );
    report.add(
        "3f",
        T3F,
        n,
        "ours: from_record_batch(&batch) (copies)",
        true,
        false,
        &s,
        "",
    );
}

/// The Parquet file that every reader of workloads 5 and 6 reads at one size.
struct ReadFile {
    rows: usize,
    /// `data/read_<n>.parquet`: what arrow-rs, pyarrow and polars open.
    path: PathBuf,
    bytes: u64,
    /// Who wrote it.
    writer: &'static str,
    /// Our store whose one data file `path` is a hard link to (same inode): what ours opens.
    store: Option<PathBuf>,
}

/// Writes the file every reader reads at this size, once, before the read workloads. With the
/// `parquet-store` feature: our `ParquetStore` ZSTD(1) (`data/store_<n>`), its one data file
/// hard-linked as `data/read_<n>.parquet`, so ours and the peers read the same inode. Without:
/// arrow-rs `ArrowWriter` ZSTD(1) of the same batch.
fn read_file(args: &Args, soa: &OrderSoA) -> ReadFile {
    let n = soa.len();
    let path = args.data.join(format!("read_{n}.parquet"));
    let _ = fs::remove_file(&path);
    #[cfg(feature = "parquet-store")]
    let (writer, store) = {
        let (dir, file) = soa_bench::stores::write_read_store(&args.data, soa);
        fs::hard_link(&file, &path)
            .unwrap_or_else(|e| panic!("hard link {} -> {}: {e}", path.display(), file.display()));
        ("our ParquetStore save, ZSTD(1)", Some(dir))
    };
    #[cfg(not(feature = "parquet-store"))]
    let (writer, store) = {
        let batch = soa.to_record_batch().expect("batch");
        parquet_io::write(
            &path,
            std::slice::from_ref(&batch),
            parquet_io::zstd1_props(),
        );
        ("arrow-rs 60 ArrowWriter ZSTD(1)", None)
    };
    let bytes = fs::metadata(&path).expect("read file").len();
    eprintln!(
        "-- read file {}: {} ({writer})",
        path.display(),
        fmt_mib(bytes)
    );
    ReadFile {
        rows: n,
        path,
        bytes,
        writer,
        store,
    }
}

/// Workloads 4, 5 and 6 with the arrow-rs and parquet_derive baselines. Every writer writes into
/// a fresh directory per repetition (setup, untimed) and the directory is removed when the output
/// is dropped, after the timing: the same as our `ParquetStore` lines. Every reader reads `read`.
fn workload_parquet(
    report: &mut Report,
    args: &Args,
    rows: &[Order],
    batch: &RecordBatch,
    read: Option<&ReadFile>,
    reps: usize,
) {
    let n = batch.num_rows();
    let batches = std::slice::from_ref(batch);
    let fresh = || tempfile::tempdir_in(&args.data).expect("tempdir");
    if args.wants("4") {
        eprintln!("-- 4 Parquet write");
        type Props = fn() -> parquet::file::properties::WriterProperties;
        let arrow_rs: [(&str, &str, &str, Props); 3] = [
            (
                "4z",
                T4Z,
                "arrow-rs 60 ArrowWriter ZSTD(1) (from a RecordBatch)",
                parquet_io::zstd1_props,
            ),
            ("4z", T4Z, ARROW_WRITER_DEFAULT, parquet_io::default_props),
            (
                "4s",
                T4S,
                "arrow-rs 60 ArrowWriter SNAPPY (from a RecordBatch)",
                parquet_io::snappy_props,
            ),
        ];
        for (w, title, name, props) in arrow_rs {
            let mut size = 0;
            let s = measure(reps, true, fresh, |dir| {
                size = parquet_io::write(&dir.path().join("arrow_rs.parquet"), batches, props());
                dir
            });
            report.add(w, title, n, name, false, false, &s, fmt_mib(size));
        }
        let prows: Vec<pd::POrder> = rows.iter().map(pd::POrder::from).collect();
        let parquet_derive: [(&str, &str, &str, Props); 2] = [
            (
                "4z",
                T4Z,
                "parquet_derive 60 RecordWriter ZSTD(1)",
                parquet_io::zstd1_props,
            ),
            (
                "4s",
                T4S,
                "parquet_derive 60 RecordWriter SNAPPY",
                parquet_io::snappy_props,
            ),
        ];
        for (w, title, name, props) in parquet_derive {
            let mut size = 0;
            let s = measure(reps, true, fresh, |dir| {
                size = pd::write(&dir.path().join("parquet_derive.parquet"), &prows, props());
                dir
            });
            report.add(w, title, n, name, false, false, &s, fmt_mib(size));
        }
        drop(prows);
    }
    let Some(read) = read else {
        return;
    };
    let read_path = &read.path;
    let size = fmt_mib(read.bytes);
    if args.wants("5") {
        let s = measure(reps, true, || (), |()| parquet_io::read(read_path, None));
        report.add(
            "5",
            T5,
            n,
            "arrow-rs 60 ParquetRecordBatchReader (batch 1024)",
            false,
            false,
            &s,
            &size,
        );
        let s = measure(reps, true, || (), |()| parquet_io::read(read_path, Some(n)));
        report.add(
            "5",
            T5,
            n,
            "arrow-rs 60 ParquetRecordBatchReader (one batch)",
            false,
            false,
            &s,
            &size,
        );
        let s = measure(
            reps,
            true,
            || (),
            |()| {
                let batches = parquet_io::read(read_path, Some(n));
                let mut out = OrderSoA::with_capacity(n);
                for b in &batches {
                    let mut part = OrderSoA::from_record_batch(b).expect("soa");
                    out.append(&mut part);
                }
                out
            },
        );
        report.add(
            "5",
            T5,
            n,
            "arrow-rs reader + ours from_record_batch -> OrderSoA",
            true,
            !cfg!(feature = "parquet-store"),
            &s,
            &size,
        );
    }
    if args.wants("6") {
        let s = measure(reps.max(5), true, || (), |()| parquet_io::count(read_path));
        report.add(
            "6",
            T6,
            n,
            "arrow-rs 60 footer num_rows (one file)",
            false,
            false,
            &s,
            "",
        );
    }
}

fn workload_7(
    report: &mut Report,
    rows: &[Order],
    soa: &OrderSoA,
    plain: &OrderPlainSoA,
    batch: &RecordBatch,
    reps: usize,
) {
    let n = soa.len();
    let reps = reps * 3;
    eprintln!("-- 7 scan");
    let expected = scan::soa(soa);
    assert_eq!(scan::rows(rows), expected);
    assert_eq!(scan::plain(plain), expected);
    assert_eq!(scan::soa_same_loop(soa), expected);
    let dvec = sd::from_rows(rows.to_vec());
    let lines: Vec<Line<'_>> = vec![
        (
            "ours: OrderSoA columns (arrow_layout strings; count: StringColumn::count_eq)",
            true,
            true,
            format!("count={}", expected.1),
            rep(|| (), |()| scan::soa(soa)),
        ),
        (
            "ours: OrderSoA columns, the iterator loop (iter().filter(==)) for the count",
            true,
            false,
            String::new(),
            rep(|| (), |()| scan::soa_same_loop(soa)),
        ),
        (
            "ours without arrow_layout: Vec<String> symbol column",
            true,
            false,
            String::new(),
            rep(|| (), |()| scan::plain(plain)),
        ),
        (
            "Vec<Order> (same loop)",
            false,
            false,
            String::new(),
            rep(|| (), |()| scan::rows(rows)),
        ),
        (
            "soa_derive 0.14 DOrderVec",
            false,
            false,
            String::new(),
            rep(|| (), |()| scan::soa_derive(&dvec)),
        ),
        (
            "Arrow RecordBatch arrays (same loop)",
            false,
            false,
            String::new(),
            rep(|| (), |()| scan::arrow(batch)),
        ),
    ];
    add_interleaved(report, "7", T7, n, reps, lines);
    drop(dvec);
    let s = measure(reps, true, || (), |()| scan::soa_notional(soa));
    report.add("7n", T7N, n, "ours: OrderSoA columns", true, true, &s, "");
    let s = measure(reps, true, || (), |()| scan::rows_notional(rows));
    report.add("7n", T7N, n, "Vec<Order> (same loop)", false, false, &s, "");
    let s = measure(reps, true, || (), |()| scan::soa_count(soa));
    report.add(
        "7c",
        T7C,
        n,
        "ours: OrderSoA columns (arrow_layout strings; count: StringColumn::count_eq)",
        true,
        true,
        &s,
        "",
    );
    let s = measure(reps, true, || (), |()| scan::soa_count_loop(soa));
    report.add(
        "7c",
        T7C,
        n,
        "ours: OrderSoA columns, the iterator loop (iter().filter(==))",
        true,
        false,
        &s,
        "",
    );
    let s = measure(reps, true, || (), |()| scan::plain_count(plain));
    report.add(
        "7c",
        T7C,
        n,
        "ours without arrow_layout: Vec<String>",
        true,
        false,
        &s,
        "",
    );
    let s = measure(reps, true, || (), |()| scan::rows_count(rows));
    report.add("7c", T7C, n, "Vec<Order> (same loop)", false, false, &s, "");
}

fn write_ipc(path: &Path, batch: &RecordBatch) {
    let file = fs::File::create(path).expect("create ipc");
    let mut w = soa_runtime::arrow::ipc::writer::FileWriter::try_new(file, &batch.schema())
        .expect("ipc writer");
    w.write(batch).expect("ipc write");
    w.finish().expect("ipc finish");
}

fn run_python(report: &mut Report, python: &Path, args: &Args, sizes: &[usize]) {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("python/reference.py");
    let json = args.data.join("python_results.json");
    let mut cmd = Command::new(python);
    cmd.arg(&script)
        .arg("--data")
        .arg(&args.data)
        .arg("--rows")
        .arg(args.rows.to_string())
        .arg("--reps")
        .arg(args.reps.to_string())
        .arg("--json")
        .arg(&json);
    if let Some(&large) = sizes.get(1) {
        cmd.arg("--large")
            .arg(large.to_string())
            .arg("--large-reps")
            .arg(args.large_reps.to_string());
    }
    if let Some(only) = &args.only {
        cmd.arg("--only")
            .arg(only.iter().cloned().collect::<Vec<_>>().join(","));
    }
    eprintln!("== Python references: {cmd:?}");
    let status = cmd.status();
    match status {
        Ok(s) if s.success() => {}
        other => {
            report
                .skipped
                .push(format!("Python references failed: {other:?}"));
            return;
        }
    }
    let text = fs::read_to_string(&json).expect("python json");
    let value: serde_json::Value = serde_json::from_str(&text).expect("python json");
    for e in value["entries"].as_array().expect("entries") {
        let runs: Vec<Duration> = e["runs_s"]
            .as_array()
            .expect("runs")
            .iter()
            .map(|v| Duration::from_secs_f64(v.as_f64().expect("f64")))
            .collect();
        let sample = soa_bench::timing::Sample { runs };
        report.add(
            e["workload"].as_str().expect("workload"),
            e["title"].as_str().expect("title"),
            e["rows"].as_u64().expect("rows") as usize,
            e["name"].as_str().expect("name"),
            false,
            false,
            &sample,
            e["note"].as_str().unwrap_or(""),
        );
    }
    if let Some(v) = value["versions"].as_str() {
        report.skipped.push(format!("(info) Python: {v}"));
    }
}

/// `new` followed by each of `headings`' sections (up to the next `## ` heading) found in `old`.
fn keep_sections(old: &str, mut new: String, headings: &[&str]) -> String {
    for heading in headings {
        let Some(start) = old.find(&format!("\n{heading}\n")).map(|i| i + 1) else {
            continue;
        };
        let rest = &old[start + heading.len()..];
        let end = rest
            .find("\n## ")
            .map_or(old.len(), |i| start + heading.len() + i + 1);
        new = format!("{}\n\n{}\n", new.trim_end(), old[start..end].trim_end());
    }
    new
}

fn machine() -> String {
    let cpu = sh("lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1");
    let nproc = sh("nproc");
    let mem = sh("free -h | awk '/^Mem:/ {print $2}'");
    let rustc = sh("rustc --version");
    let kernel = sh("uname -sr");
    let date = sh("date -u '+%Y-%m-%d %H:%M UTC'");
    let load = sh("cut -d' ' -f1-3 /proc/loadavg");
    format!(
        "- Date: {date}\n- CPU: {cpu}, {nproc} cores (`nproc`)\n- Memory: {mem}\n- OS: {kernel}\n- {rustc}, release profile\n- Load average at the end of the run: {load}\n"
    )
}

/// A goal: met, missed, or not measured.
fn goal(
    out: &mut String,
    name: &str,
    value: Option<f64>,
    limit: f64,
    lower_is_better: bool,
    show: &str,
) {
    let status = match value {
        None => "not measured".to_owned(),
        Some(v) if (lower_is_better && v <= limit) || (!lower_is_better && v >= limit) => {
            "**met**".to_owned()
        }
        Some(_) => "**missed**".to_owned(),
    };
    let shown = value.map_or_else(|| "-".to_owned(), |_| show.to_owned());
    out.push_str(&format!("| {name} | {shown} | {status} |\n"));
}

fn ratio(r: &Report, w: &str, rows: usize, ours: &str, theirs: &str) -> Option<f64> {
    Some(r.median(w, rows, ours)?.as_secs_f64() / r.median(w, rows, theirs)?.as_secs_f64())
}

/// A row without a limit (an anchor): reported, not judged.
fn info(out: &mut String, name: &str, shown: Option<String>) {
    let (shown, status) = match shown {
        Some(s) => (s, "informational"),
        None => ("-".to_owned(), "not measured"),
    };
    out.push_str(&format!("| {name} | {shown} | {status} |\n"));
}

/// `time(big) / time(n)` of one line (`None` with one size only).
fn growth(r: &Report, w: &str, n: usize, big: usize, name: &str) -> Option<f64> {
    if big == n {
        return None;
    }
    Some(r.median(w, big, name)?.as_secs_f64() / r.median(w, n, name)?.as_secs_f64())
}

const OURS_1: &str = "ours: OrderSoA::from(&rows[..]).into_record_batch()";
const OURS_4Z: &str = "ours: ParquetStore save ZSTD(1)";
const OURS_5: &str = "ours: ParquetStore load() -> OrderSoA";
const OURS_6: &str = "ours: ParquetStore::open(dir) + count() (cold open)";
const POLARS_4Z: &str = "polars write_parquet zstd level 1";
const PYARROW_4Z1: &str = "pyarrow write_table zstd level 1";
const PYARROW_4Z: &str = "pyarrow write_table zstd (default level)";
const POLARS_5: &str = "polars read_parquet";
const PYARROW_5: &str = "pyarrow read_table";

#[allow(clippy::too_many_lines)]
fn render(r: &Report, args: &Args, files: &[ReadFile], elapsed: Duration) -> String {
    let n = args.rows;
    let big = if args.large > 0 { args.large } else { n };
    let sizes: Vec<usize> = if big == n { vec![n] } else { vec![n, big] };
    // "time(10M) <= 2x time(1M)", "10M/1M = 1.03".
    let (bn, sn) = (fmt_rows(big), fmt_rows(n));
    let per = |v: Option<f64>| format!("{bn}/{sn} = {:.2}", v.unwrap_or(0.0));
    let times = |v: Option<f64>| format!("{:.3}x", v.unwrap_or(0.0));
    let mut g = String::new();
    g.push_str("| goal | measured | status |\n|---|---|---|\n");
    for (theirs, limit, label) in [
        (
            "hand-written arrow-rs 60 builders, presized",
            1.0 / 1.5,
            "(1) >= 1.5x faster than presized hand-written builders",
        ),
        (
            TYPED_ARROW_1,
            0.5,
            "(1) >= 2x faster than typed-arrow (append_rows_ref, borrowed rows)",
        ),
        (
            "arrow_convert 0.12 try_into_arrow",
            0.5,
            "(1) >= 2x faster than arrow_convert",
        ),
        (
            "serde_arrow 0.15 to_record_batch",
            1.0 / 8.0,
            "(1) >= 8x faster than serde_arrow",
        ),
    ] {
        for &rows in &sizes {
            let v = ratio(r, "1", rows, OURS_1, theirs);
            let label = format!("{label}, {}", fmt_rows(rows));
            goal(&mut g, &label, v, limit, true, &speed(v));
        }
    }
    let fx = "ours: into_record_batch() (5 fixed-width columns)";
    let v = growth(r, "2f", n, big, fx);
    goal(
        &mut g,
        &format!("(2) fixed-width SoA -> RecordBatch: time({bn}) <= 2x time({sn})"),
        v,
        2.0,
        true,
        &per(v),
    );
    for &rows in &sizes {
        let v = ratio(
            r,
            "2",
            rows,
            "ours: into_record_batch() (arrow_layout strings)",
            "serde_arrow 0.15 to_record_batch (same rows)",
        );
        goal(
            &mut g,
            &format!(
                "(2) full Order SoA -> RecordBatch >= 100x faster than serde_arrow, {}",
                fmt_rows(rows)
            ),
            v,
            0.01,
            true,
            &speed(v),
        );
        let v = r
            .median("2f", rows, fx)
            .zip(r.median("2", rows, "serde_arrow 0.15 to_record_batch (same rows)"))
            .map(|(a, b)| a.as_secs_f64() / b.as_secs_f64());
        goal(
            &mut g,
            &format!(
                "(2) fixed-width columns vs serde_arrow (all columns), {}",
                fmt_rows(rows)
            ),
            v,
            0.01,
            true,
            &speed(v),
        );
    }
    for (ours, theirs, limit, label) in [
        (
            "ours: from_record_batch(&batch) -> OrderSoA",
            SA_ROWS_3,
            0.2,
            "(3) RecordBatch -> OrderSoA >= 5x faster than serde_arrow from_record_batch",
        ),
        (
            ROWS_3,
            HW_ROWS_3,
            1.0,
            "(3) RecordBatch -> Vec<Order> rows at least as fast as hand-written downcast + index",
        ),
        (
            ROWS_3,
            SA_ROWS_3,
            0.2,
            "(3) RecordBatch -> Vec<Order> rows >= 5x faster than serde_arrow from_record_batch",
        ),
        (
            DIRECT_ROWS_3,
            HW_ROWS_3,
            1.0,
            "(3) RecordBatch -> Vec<Order>, direct path, at least as fast as hand-written downcast + index",
        ),
        (
            DIRECT_ROWS_3,
            SA_ROWS_3,
            0.2,
            "(3) RecordBatch -> Vec<Order>, direct path, >= 5x faster than serde_arrow from_record_batch",
        ),
    ] {
        for &rows in &sizes {
            let v = ratio(r, "3", rows, ours, theirs);
            let label = format!("{label}, {}", fmt_rows(rows));
            goal(&mut g, &label, v, limit, true, &speed(v));
        }
    }
    let rc = "ours: try_from_record_batch(batch) (reclaims buffers)";
    let v = growth(r, "3f", n, big, rc);
    goal(
        &mut g,
        &format!("(3) reclaiming unique fixed-width buffers: time({bn}) <= 2x time({sn})"),
        v,
        2.0,
        true,
        &per(v),
    );
    for &rows in &sizes {
        let at = fmt_rows(rows);
        let v = ratio(r, "4z", rows, OURS_4Z, POLARS_4Z);
        goal(
            &mut g,
            &format!("(4) ZSTD(1) write + fsync <= 0.7x polars write_parquet(zstd, level 1), {at}"),
            v,
            0.7,
            true,
            &times(v),
        );
    }
    for &rows in &sizes {
        let at = fmt_rows(rows);
        let v = ratio(r, "4z", rows, OURS_4Z, ARROW_WRITER_DEFAULT);
        goal(
            &mut g,
            &format!(
                "(4) ZSTD(1) write + fsync <= 0.6x arrow-rs ArrowWriter default properties, {at}"
            ),
            v,
            0.6,
            true,
            &times(v),
        );
    }
    for &rows in &sizes {
        let at = fmt_rows(rows);
        let v = ratio(r, "4z", rows, OURS_4Z, PYARROW_4Z1);
        info(
            &mut g,
            &format!(
                "(4) anchor: ZSTD(1) write + fsync vs pyarrow write_table(zstd, level 1), {at}"
            ),
            v.map(|_| times(v)),
        );
    }
    for &rows in &sizes {
        let size = |name: &str| r.note("4z", rows, name).and_then(parse_mib);
        let ours = size(OURS_4Z);
        let peers: Vec<(&str, f64)> = [
            ("pyarrow zstd(1)", PYARROW_4Z1),
            ("pyarrow zstd default", PYARROW_4Z),
            ("polars zstd(1)", POLARS_4Z),
        ]
        .into_iter()
        .filter_map(|(label, name)| Some((label, size(name)?)))
        .collect();
        let smallest = peers.iter().map(|p| p.1).reduce(f64::min);
        let v = ours.zip(smallest).map(|(a, b)| a / b);
        let shown = format!(
            "ours {:.1} MiB; {}",
            ours.unwrap_or(0.0),
            peers
                .iter()
                .map(|(l, s)| format!("{l} {s:.1} MiB"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        goal(
            &mut g,
            &format!(
                "(4) ZSTD(1) file the smallest (vs pyarrow's and polars' ZSTD files), {}",
                fmt_rows(rows)
            ),
            v,
            1.0,
            true,
            &shown,
        );
    }
    for &rows in &sizes {
        let ours = r.median("5", rows, OURS_5);
        let fastest = [PYARROW_5, POLARS_5]
            .into_iter()
            .map(|name| Some((name, r.median("5", rows, name)?)))
            .collect::<Option<Vec<_>>>()
            .and_then(|v| v.into_iter().min_by_key(|p| p.1));
        let v = ours
            .zip(fastest)
            .map(|(a, (_, b))| a.as_secs_f64() / b.as_secs_f64());
        let shown = match (ours, fastest) {
            (Some(a), Some((name, b))) => format!(
                "{} (ours {} vs {name} {})",
                times(v),
                fmt_dur(a),
                fmt_dur(b)
            ),
            _ => String::new(),
        };
        goal(
            &mut g,
            &format!(
                "(5) load() <= 0.8x the faster of pyarrow read_table and polars read_parquet (same file), {}",
                fmt_rows(rows)
            ),
            v,
            0.8,
            true,
            &shown,
        );
    }
    let v = growth(r, "5", n, big, OURS_5);
    goal(
        &mut g,
        &format!("(5) load() of the whole file: time({bn}) <= 10.5x time({sn})"),
        v,
        10.5,
        true,
        &per(v),
    );
    for &rows in &sizes {
        let v = r.median("6", rows, OURS_6).map(|d| d.as_secs_f64() * 1e3);
        goal(
            &mut g,
            &format!(
                "(6) count() from a cold ParquetStore::open(dir) < 1 ms (single-file store), {}",
                fmt_rows(rows)
            ),
            v,
            1.0,
            true,
            &r.median("6", rows, OURS_6).map(fmt_dur).unwrap_or_default(),
        );
    }
    let v = growth(r, "6", n, big, OURS_6);
    goal(
        &mut g,
        &format!("(6) open() + count() independent of rows: time({bn}) <= 2x time({sn})"),
        v,
        2.0,
        true,
        &per(v),
    );
    for &rows in &sizes {
        let v = ratio(
            r,
            "7",
            rows,
            "ours: OrderSoA columns (arrow_layout strings; count: StringColumn::count_eq)",
            "Vec<Order> (same loop)",
        );
        goal(
            &mut g,
            &format!(
                "(7) SoA scan >= 4x faster than the loop over Vec<Order>, {}",
                fmt_rows(rows)
            ),
            v,
            0.25,
            true,
            &speed(v),
        );
    }
    // Goal 8 appends 100-row batches to an empty store: it does not depend on the data size.
    let v = r
        .median("8r-p99", 100, "ours: ArrowStore::append_owned(soa)")
        .map(|d| d.as_secs_f64() * 1e6);
    goal(
        &mut g,
        "(8) ArrowStore append p99 < 10 µs (100-row batch, 2 readers), by move: append_owned",
        v,
        10.0,
        true,
        &format!("{:.2} µs", v.unwrap_or(0.0)),
    );
    let v = r
        .median("8r-p99", 100, "ours: ArrowStore::append(&soa)")
        .map(|d| d.as_secs_f64() * 1e6);
    goal(
        &mut g,
        "(8) same, borrowed: append(&soa) (copies the 100 rows)",
        v,
        10.0,
        true,
        &format!("{:.2} µs", v.unwrap_or(0.0)),
    );
    match &args.peak_rss {
        Some(s) => g.push_str(&format!(
            "| parquet_demo peak RSS at 10M rows <= 1.5x Arrow size | {s} | see text |\n"
        )),
        None => g.push_str(
            "| parquet_demo peak RSS at 10M rows <= 1.5x Arrow size | - | not measured |\n",
        ),
    }

    let mut out = String::new();
    out.push_str("# Benchmarks\n\n");
    out.push_str("Generated by `cd bench && cargo run --release --features stores --bin report` (see [bench/README.md](bench/README.md)); \
        every number below comes from one run on one machine, on the same deterministic `orders(n)` data \
        (the `Order` model of the demos and tests). Times are medians of the repetitions; \
        **ours / this** is our primary implementation's median divided by that line's median \
        (below 1: we are faster; 0.25 = 4x faster).\n\n");
    out.push_str(
        "SQL (DuckDB over our stores vs DuckDB's Python client): [BENCH_SQL.md](BENCH_SQL.md).\n\n",
    );
    out.push_str("## Machine\n\n");
    out.push_str(&machine());
    out.push_str(&format!(
        "- Run time of the whole report: {}\n",
        fmt_dur(elapsed)
    ));
    out.push_str("- Shared 2-core machine: other builds may have run concurrently, so the numbers are noisy (compare ratios of the same run, not across runs).\n\n");
    out.push_str("## Goals\n\n");
    out.push_str(&g);
    out.push_str("\n## Results\n\n");
    out.push_str(&files_text(r, files));
    out.push_str(&r.table());
    if !r.skipped.is_empty() {
        out.push_str("\n## Not run / notes\n\n");
        for s in &r.skipped {
            out.push_str(&format!("- {s}\n"));
        }
    }
    out.push_str(&format!("\n{}\n", include_str!("../../NOTES.md")));
    out
}

/// The method text of workloads 4 to 6, from this run: which file every reader read, and its size.
/// Checks that every line of workload 5 notes that size (the table and this text agree).
fn files_text(r: &Report, files: &[ReadFile]) -> String {
    let mut out = String::new();
    out.push_str(
        "Workload 4: every writer (ours, arrow-rs, parquet_derive, pyarrow, polars) writes to a fresh \
         path in each repetition (created before the timing); the output is removed after the \
         timing, and each write ends with `fsync`.\n\n",
    );
    if files.is_empty() {
        return out;
    }
    out.push_str(
        "Workloads 5 and 6: every reader (ours, arrow-rs, pyarrow, polars) reads the same Parquet file \
         of each size, written once before the read workloads. arrow-rs, pyarrow and polars open \
         the path below; with our store, that path is a hard link to the store's one data file (the \
         same inode), and ours opens the store directory holding it:\n\n",
    );
    // Paths relative to the repository when they are inside it.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let root = root.canonicalize().unwrap_or(root);
    let shown = |p: &Path| {
        let p = p.canonicalize().unwrap_or_else(|_| p.to_owned());
        p.strip_prefix(&root).unwrap_or(&p).display().to_string()
    };
    for f in files {
        let store = f
            .store
            .as_deref()
            .map(|d| format!(" (ours: the store `{}`)", shown(d)))
            .unwrap_or_default();
        out.push_str(&format!(
            "- {} rows: `{}`, {} ({} bytes), written by {}{store}\n",
            fmt_rows(f.rows),
            shown(&f.path),
            fmt_mib(f.bytes),
            f.bytes,
            f.writer
        ));
        let mib = fmt_mib(f.bytes);
        for e in r.entries.iter().filter(|e| {
            e.workload == "5" && e.rows == f.rows && e.note.contains(" MiB") && e.note != mib
        }) {
            out.push_str(&format!(
                "  - **inconsistent**: the line \"{}\" notes {}, not {mib}\n",
                e.name, e.note
            ));
        }
    }
    out.push('\n');
    out
}

fn parse_mib(note: &str) -> Option<f64> {
    note.split(" MiB").next()?.rsplit(' ').next()?.parse().ok()
}

/// "ours/theirs = 0.25 (4.00x faster)" or "... (1.50x slower)".
fn speed(v: Option<f64>) -> String {
    let v = v.unwrap_or(1.0);
    if v <= 1.0 {
        format!("ours/theirs = {v:.3} ({:.2}x faster)", 1.0 / v)
    } else {
        format!("ours/theirs = {v:.3} ({v:.2}x slower)")
    }
}

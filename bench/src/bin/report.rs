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

    for &n in &sizes {
        let large = n != args.rows;
        let reps = if large { args.large_reps } else { args.reps };
        eprintln!("== {} rows, {reps} repetitions", fmt_rows(n));
        let rows: Vec<Order> = orders(n);
        let soa: OrderSoA = rows.clone().into();
        let batch: RecordBatch = soa.clone().into_record_batch().expect("batch");
        let plain: OrderPlainSoA = plain_soa(&rows);

        if !large {
            if args.wants("1") {
                workload_1(&mut report, &rows, reps);
            }
            if args.wants("7") {
                workload_7(&mut report, &rows, &soa, &plain, &batch, reps);
            }
        }
        if args.wants("2") {
            workload_2(&mut report, &rows, &soa, &plain, reps, large);
        }
        if args.wants("3") {
            workload_3(&mut report, &rows, &soa, &batch, reps, large);
        }
        if args.wants("4") || args.wants("5") || args.wants("6") {
            workload_parquet(&mut report, &args, &rows, &soa, &batch, reps, large);
        }
        #[cfg(feature = "arrow-store")]
        {
            soa_bench::stores::run(&mut report, &args.data, &soa, reps, large, |w| {
                args.wants(w)
            });
        }
        if !large {
            // The dataset for the Python references, as an Arrow IPC file they load before timing.
            let ipc = args.data.join(format!("orders_{n}.arrow"));
            write_ipc(&ipc, &batch);
        }
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

    let mut md = render(&report, &args, started.elapsed());
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
            "typed-arrow 0.8 BuildRows (presized)",
            false,
            false,
            "rows moved in; side as Dictionary<i8,String>".to_owned(),
            rep(|| trows.clone(), ta::to_batch),
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
    large: bool,
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
    if !large {
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
    }
    {
        let fields = sa::fields();
        let srows: Vec<sa::SOrder> = rows.iter().map(sa::SOrder::from).collect();
        let s = measure(reps, !large, || (), |()| sa::to_batch(&fields, &srows));
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
    large: bool,
) {
    let n = soa.len();
    eprintln!("-- 3 {T3}");
    if !large {
        let s = measure(
            reps,
            true,
            || (),
            |()| OrderSoA::from_record_batch(batch).expect("soa"),
        );
        report.add(
            "3",
            T3,
            n,
            "ours: from_record_batch(&batch) -> OrderSoA",
            true,
            true,
            &s,
            "",
        );
        let s = measure(
            reps,
            true,
            || soa.clone().into_record_batch().expect("batch"),
            |b| OrderSoA::try_from_record_batch(b).expect("soa"),
        );
        report.add(
            "3",
            T3,
            n,
            "ours: try_from_record_batch(batch) (consuming)",
            true,
            false,
            &s,
            "",
        );
        let s = measure(
            reps,
            true,
            || (),
            |()| OrderSoA::from_record_batch(batch).expect("soa").into_rows(),
        );
        report.add(
            "3",
            T3,
            n,
            "ours: from_record_batch(&batch)?.into_rows() -> Vec<Order>",
            true,
            false,
            &s,
            "",
        );
        let s = measure(reps, true, || (), |()| hw::batch_to_rows(batch));
        report.add(
            "3",
            T3,
            n,
            "hand-written arrow-rs 60 downcast + index -> Vec<Order>",
            false,
            false,
            &s,
            "",
        );
        let s = measure(reps, true, || (), |()| sa::from_batch(batch));
        report.add(
            "3",
            T3,
            n,
            "serde_arrow 0.15 from_record_batch -> Vec<SOrder>",
            false,
            false,
            &s,
            "",
        );
        {
            let crows: Vec<ac::COrder> = rows.iter().map(ac::COrder::from).collect();
            let cbatch = ac::to_batch(&crows);
            drop(crows);
            let s = measure(reps, true, || (), |()| ac::from_batch(&cbatch));
            report.add(
                "3",
                T3,
                n,
                "arrow_convert 0.12 try_into_collection -> Vec<COrder>",
                false,
                false,
                &s,
                "",
            );
        }
        {
            let trows: Vec<ta::TOrder> = rows.iter().map(ta::TOrder::from).collect();
            let tbatch = ta::to_batch(trows);
            let s = measure(reps, true, || (), |()| ta::from_batch(&tbatch));
            report.add(
                "3",
                T3,
                n,
                "typed-arrow 0.8 iter_views + TryFrom -> Vec<TOrder>",
                false,
                false,
                &s,
                "",
            );
        }
    }
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

#[allow(clippy::too_many_arguments)]
fn workload_parquet(
    report: &mut Report,
    args: &Args,
    rows: &[Order],
    soa: &OrderSoA,
    batch: &RecordBatch,
    reps: usize,
    large: bool,
) {
    let n = soa.len();
    let dir = tempfile::tempdir_in(&args.data).expect("tempdir");
    let path = dir.path().join("arrow_rs.parquet");
    let batches = std::slice::from_ref(batch);
    let mut size = 0;
    if !large && args.wants("4") {
        eprintln!("-- 4 Parquet write");
        let s = measure(
            reps,
            true,
            || (),
            |()| size = parquet_io::write(&path, batches, parquet_io::zstd1_props()),
        );
        report.add(
            "4z",
            T4Z,
            n,
            "arrow-rs 60 ArrowWriter ZSTD(1) (from a RecordBatch)",
            false,
            false,
            &s,
            fmt_mib(size),
        );
        let s = measure(
            reps,
            true,
            || (),
            |()| size = parquet_io::write(&path, batches, parquet_io::default_props()),
        );
        report.add(
            "4z",
            T4Z,
            n,
            "arrow-rs 60 ArrowWriter, default properties (uncompressed)",
            false,
            false,
            &s,
            fmt_mib(size),
        );
        let s = measure(
            reps,
            true,
            || (),
            |()| size = parquet_io::write(&path, batches, parquet_io::snappy_props()),
        );
        report.add(
            "4s",
            T4S,
            n,
            "arrow-rs 60 ArrowWriter SNAPPY (from a RecordBatch)",
            false,
            false,
            &s,
            fmt_mib(size),
        );
        let prows: Vec<pd::POrder> = rows.iter().map(pd::POrder::from).collect();
        let ppath = dir.path().join("parquet_derive.parquet");
        let s = measure(
            reps,
            true,
            || (),
            |()| size = pd::write(&ppath, &prows, parquet_io::zstd1_props()),
        );
        report.add(
            "4z",
            T4Z,
            n,
            "parquet_derive 60 RecordWriter ZSTD(1)",
            false,
            false,
            &s,
            fmt_mib(size),
        );
        let s = measure(
            reps,
            true,
            || (),
            |()| size = pd::write(&ppath, &prows, parquet_io::snappy_props()),
        );
        report.add(
            "4s",
            T4S,
            n,
            "parquet_derive 60 RecordWriter SNAPPY",
            false,
            false,
            &s,
            fmt_mib(size),
        );
        drop(prows);
    }
    // The file every reader reads: arrow-rs ZSTD(1) of our batch (same bytes our store writes
    // unless it lands with other properties; then the store's own file is used in stores.rs).
    let read_path = args.data.join(format!("read_{n}.parquet"));
    let size = parquet_io::write(&read_path, batches, parquet_io::zstd1_props());
    if !large && args.wants("5") {
        let s = measure(reps, true, || (), |()| parquet_io::read(&read_path, None));
        report.add(
            "5",
            T5,
            n,
            "arrow-rs 60 ParquetRecordBatchReader (batch 1024)",
            false,
            false,
            &s,
            fmt_mib(size),
        );
        let s = measure(
            reps,
            true,
            || (),
            |()| parquet_io::read(&read_path, Some(n)),
        );
        report.add(
            "5",
            T5,
            n,
            "arrow-rs 60 ParquetRecordBatchReader (one batch)",
            false,
            false,
            &s,
            fmt_mib(size),
        );
        let s = measure(
            reps,
            true,
            || (),
            |()| {
                let batches = parquet_io::read(&read_path, Some(n));
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
            "",
        );
    }
    if args.wants("6") {
        let s = measure(reps.max(5), true, || (), |()| parquet_io::count(&read_path));
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
    let dvec = sd::from_rows(rows.to_vec());
    let lines: Vec<Line<'_>> = vec![
        (
            "ours: OrderSoA columns (arrow_layout strings)",
            true,
            true,
            format!("count={}", expected.1),
            rep(|| (), |()| scan::soa(soa)),
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
        "ours: OrderSoA columns (arrow_layout strings)",
        true,
        true,
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
        cmd.arg("--count-rows").arg(large.to_string());
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

fn render(r: &Report, args: &Args, elapsed: Duration) -> String {
    let n = args.rows;
    let big = args.large;
    let mut g = String::new();
    g.push_str("| goal | measured | status |\n|---|---|---|\n");
    let ours1 = "ours: OrderSoA::from(&rows[..]).into_record_batch()";
    for (theirs, limit, label) in [
        (
            "hand-written arrow-rs 60 builders, presized",
            1.0 / 1.5,
            "(1) >= 1.5x faster than presized hand-written builders",
        ),
        (
            "typed-arrow 0.8 BuildRows (presized)",
            0.5,
            "(1) >= 2x faster than typed-arrow",
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
        let v = ratio(r, "1", n, ours1, theirs);
        goal(&mut g, label, v, limit, true, &speed(v));
    }
    let fx = "ours: into_record_batch() (5 fixed-width columns)";
    let v = ratio(r, "2f", big, fx, fx).and_then(|_| {
        Some(r.median("2f", big, fx)?.as_secs_f64() / r.median("2f", n, fx)?.as_secs_f64())
    });
    goal(
        &mut g,
        "(2) fixed-width SoA -> RecordBatch: time(10M) <= 2x time(1M)",
        v,
        2.0,
        true,
        &format!("10M/1M = {:.2}", v.unwrap_or(0.0)),
    );
    for rows in [n, big] {
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
    let v = ratio(
        r,
        "3",
        n,
        "ours: from_record_batch(&batch) -> OrderSoA",
        "serde_arrow 0.15 from_record_batch -> Vec<SOrder>",
    );
    goal(
        &mut g,
        "(3) >= 5x faster than serde_arrow from_record_batch",
        v,
        0.2,
        true,
        &speed(v),
    );
    let v = ratio(
        r,
        "3",
        n,
        "ours: from_record_batch(&batch)?.into_rows() -> Vec<Order>",
        "serde_arrow 0.15 from_record_batch -> Vec<SOrder>",
    );
    goal(
        &mut g,
        "(3) same, ours to Vec<Order> rows",
        v,
        0.2,
        true,
        &speed(v),
    );
    let rc = "ours: try_from_record_batch(batch) (reclaims buffers)";
    let v = r
        .median("3f", big, rc)
        .zip(r.median("3f", n, rc))
        .map(|(a, b)| a.as_secs_f64() / b.as_secs_f64());
    goal(
        &mut g,
        "(3) reclaiming unique fixed-width buffers: time(10M) <= 2x time(1M)",
        v,
        2.0,
        true,
        &format!("10M/1M = {:.2}", v.unwrap_or(0.0)),
    );
    let oz = "ours: ParquetStore save ZSTD(1)";
    let v = ratio(r, "4z", n, oz, "polars write_parquet zstd level 1");
    goal(
        &mut g,
        "(4) ZSTD(1) write <= 0.7x polars write_parquet(zstd, level 1)",
        v,
        0.7,
        true,
        &format!("{:.3}x", v.unwrap_or(0.0)),
    );
    let v = ratio(
        r,
        "4z",
        n,
        oz,
        "arrow-rs 60 ArrowWriter, default properties (uncompressed)",
    );
    goal(
        &mut g,
        "(4) ZSTD(1) write <= 0.6x arrow-rs ArrowWriter default properties",
        v,
        0.6,
        true,
        &format!("{:.3}x", v.unwrap_or(0.0)),
    );
    let ours_size = r.note("4z", n, oz).and_then(parse_mib);
    let py_size = r
        .note("4z", n, "pyarrow write_table zstd (default level)")
        .and_then(parse_mib);
    let v = ours_size.zip(py_size).map(|(a, b)| a / b);
    goal(
        &mut g,
        "(4) ZSTD(1) file no larger than pyarrow's default ZSTD file",
        v,
        1.0,
        true,
        &format!(
            "{:.1} MiB vs {:.1} MiB",
            ours_size.unwrap_or(0.0),
            py_size.unwrap_or(0.0)
        ),
    );
    let v = ratio(
        r,
        "5",
        n,
        "ours: ParquetStore load() -> OrderSoA",
        "polars read_parquet",
    );
    goal(
        &mut g,
        "(5) full read <= 1.0x polars read_parquet (same file)",
        v,
        1.0,
        true,
        &format!("{:.3}x", v.unwrap_or(0.0)),
    );
    let c = "ours: ParquetStore count()";
    let v = r.median("6", big, c).map(|d| d.as_secs_f64() * 1e3);
    goal(
        &mut g,
        "(6) count() < 1 ms on a 10M-row single-file store",
        v,
        1.0,
        true,
        &format!("{}", r.median("6", big, c).map(fmt_dur).unwrap_or_default()),
    );
    let v = r
        .median("6", big, c)
        .zip(r.median("6", n, c))
        .map(|(a, b)| a.as_secs_f64() / b.as_secs_f64());
    goal(
        &mut g,
        "(6) count() independent of rows: time(10M) <= 2x time(1M)",
        v,
        2.0,
        true,
        &format!("10M/1M = {:.2}", v.unwrap_or(0.0)),
    );
    let v = ratio(
        r,
        "7",
        n,
        "ours: OrderSoA columns (arrow_layout strings)",
        "Vec<Order> (same loop)",
    );
    goal(
        &mut g,
        "(7) SoA scan >= 4x faster than the loop over Vec<Order>",
        v,
        0.25,
        true,
        &speed(v),
    );
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

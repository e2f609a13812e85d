//! SQL benchmark: register an `ArrowStore` of N orders (default 10 000 000) with embedded DuckDB
//! and run the issue's GROUP BY, against DuckDB's Python client on the same data as one Parquet
//! file (and, for reference, as a pyarrow table registered in memory).
//!
//! ```text
//! cargo run --release --features duckdb --bin sql_bench [-- --rows N --runs R --python PATH]
//! ```
//!
//! Python: `--python`, else `$SOA_PYTHON`, else `.venv/bin/python` (made by scripts/test.sh; it
//! needs `duckdb` and `pyarrow`). Prints a Markdown report (saved as BENCH_SQL.md at the repository root).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use soa_examples::{Order, OrderGenerator, OrderSoA, Side};
use soa_runtime::StoreExt;
use soa_runtime::sql::SqlEngine;
use soa_runtime::store::parquet::ParquetStore;
use soa_runtime::{ArrowStore, Soa, ToArrow};

type BenchResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

const QUERY: &str = "SELECT side, sum(quantity * unit_price) AS total, count(*) AS n \
                     FROM orders GROUP BY side ORDER BY side";
const DATA_DIR: &str = "sql_bench_data";
const CHUNK: usize = 1 << 20;

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
pub struct Revenue {
    pub side: Side,
    pub total: f64,
    pub n: i64,
}

struct Args {
    rows: usize,
    runs: usize,
    python: PathBuf,
}

fn parse_args() -> BenchResult<Args> {
    let mut args = Args {
        rows: 10_000_000,
        runs: 5,
        python: std::env::var_os("SOA_PYTHON")
            .map_or_else(|| PathBuf::from(".venv/bin/python"), PathBuf::from),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--rows" => args.rows = value()?.replace('_', "").parse()?,
            "--runs" => args.runs = value()?.parse()?,
            "--python" => args.python = PathBuf::from(value()?),
            "-h" | "--help" => {
                println!("usage: sql_bench [--rows N] [--runs R] [--python PATH]");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?} (try --help)").into()),
        }
    }
    Ok(args)
}

/// First run and best of the rest (the first includes DuckDB's cold start and page faults).
#[derive(Debug, Clone, Copy)]
struct Timing {
    first: Duration,
    best: Duration,
}

fn time<T>(runs: usize, mut f: impl FnMut() -> BenchResult<T>) -> BenchResult<(Timing, T)> {
    let t = Instant::now();
    let mut last = f()?;
    let first = t.elapsed();
    let mut best = first;
    for _ in 1..runs {
        let t = Instant::now();
        last = f()?;
        best = best.min(t.elapsed());
    }
    Ok((Timing { first, best }, last))
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

const PYTHON: &str = r#"
import sys, time, duckdb, pyarrow.parquet as pq
path, runs, query = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def bench(con, q):
    times = []
    for _ in range(runs):
        t = time.perf_counter(); rows = con.execute(q).fetchall(); times.append(time.perf_counter() - t)
    return times[0], min(times[1:] or times), rows
con = duckdb.connect()
pf = bench(con, query.replace("FROM orders", f"FROM read_parquet('{path}')"))
con2 = duckdb.connect()
t = time.perf_counter(); tbl = pq.read_table(path); load = time.perf_counter() - t
times = []
for _ in range(runs):
    t = time.perf_counter(); con2.register("orders", tbl); rows = con2.execute(query).fetchall(); times.append(time.perf_counter() - t)
print(f"parquet {pf[0]*1e3:.1f} {pf[1]*1e3:.1f}")
print(f"arrow {times[0]*1e3:.1f} {min(times[1:] or times)*1e3:.1f} {load*1e3:.1f}")
print("rows", pf[2])
print("version", duckdb.__version__)
"#;

struct PythonTimes {
    parquet: Timing,
    arrow: Timing,
    arrow_load: Duration,
    rows: String,
    version: String,
}

fn run_python(python: &Path, file: &Path, runs: usize) -> BenchResult<PythonTimes> {
    let out = Command::new(python)
        .arg("-c")
        .arg(PYTHON)
        .arg(file)
        .arg(runs.to_string())
        .arg(QUERY)
        .output()
        .map_err(|e| format!("running {}: {e}", python.display()))?;
    if !out.status.success() {
        return Err(format!("python failed: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    let text = String::from_utf8(out.stdout)?;
    let mut parquet = None;
    let mut arrow = None;
    let mut load = Duration::ZERO;
    let mut rows = String::new();
    let mut version = String::new();
    let millis = |s: &str| -> BenchResult<Duration> {
        Ok(Duration::from_secs_f64(s.parse::<f64>()? / 1000.0))
    };
    for line in text.lines() {
        let parts: Vec<&str> = line.split_whitespace().collect();
        match parts.as_slice() {
            ["parquet", a, b] => {
                parquet = Some(Timing {
                    first: millis(a)?,
                    best: millis(b)?,
                });
            }
            ["arrow", a, b, c] => {
                arrow = Some(Timing {
                    first: millis(a)?,
                    best: millis(b)?,
                });
                load = millis(c)?;
            }
            ["version", v] => version = (*v).to_owned(),
            _ if line.starts_with("rows ") => rows = line[5..].to_owned(),
            _ => {}
        }
    }
    Ok(PythonTimes {
        parquet: parquet.ok_or("no parquet timing from python")?,
        arrow: arrow.ok_or("no arrow timing from python")?,
        arrow_load: load,
        rows,
        version,
    })
}

fn main() -> BenchResult {
    let args = parse_args()?;
    let runtime = tokio::runtime::Runtime::new()?;
    eprintln!("generating {} orders ...", args.rows);
    let dir = std::env::current_dir()?.join(DATA_DIR);
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    let store = ArrowStore::<Order>::new();
    let archive = runtime.block_on(ParquetStore::<Order>::create(&dir))?;
    let mut generator = OrderGenerator::new();
    let mut left = args.rows;
    while left > 0 {
        let n = left.min(CHUNK);
        let chunk: OrderSoA = generator.by_ref().take(n).collect();
        runtime.block_on(archive.append(&chunk))?;
        runtime.block_on(store.append_owned(chunk))?;
        left -= n;
    }
    runtime.block_on(archive.compact())?;
    let file = dir.join("data.parquet");
    eprintln!("running DuckDB from Rust ...");

    // Register (a new engine each time, so the view is created from scratch) and query.
    let (register, sql) = time(args.runs, || {
        let sql = SqlEngine::in_memory()?;
        sql.register("orders", &store)?;
        Ok(sql)
    })?;
    let (query, revenue) = time(args.runs, || Ok(sql.query::<RevenueSoA>(QUERY)?))?;
    let (both, _) = time(args.runs, || {
        let sql = SqlEngine::in_memory()?;
        sql.register("orders", &store)?;
        Ok(sql.query::<RevenueSoA>(QUERY)?)
    })?;
    // As Python's registered-pyarrow line: one connection, then register + query each run.
    let shared = SqlEngine::in_memory()?;
    let (registered, _) = time(args.runs, || {
        shared.register("orders", &store)?;
        Ok(shared.query::<RevenueSoA>(QUERY)?)
    })?;
    let parquet_sql = SqlEngine::in_memory()?;
    parquet_sql.register("orders", &archive)?;
    let (parquet_query, parquet_revenue) =
        time(args.runs, || Ok(parquet_sql.query::<RevenueSoA>(QUERY)?))?;
    assert_eq!(revenue.n, parquet_revenue.n);
    // Materialised once in DuckDB's own storage, for comparison.
    let (materialise, _) = time(1, || {
        Ok(sql.execute("CREATE OR REPLACE TABLE orders_copy AS SELECT * FROM orders")?)
    })?;
    let copy_query_text = QUERY.replace("FROM orders", "FROM orders_copy");
    let (copy_query, _) = time(args.runs, || Ok(sql.query::<RevenueSoA>(&copy_query_text)?))?;

    eprintln!("running DuckDB from Python ({}) ...", args.python.display());
    let py = run_python(&args.python, &file, args.runs)?;

    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let file_mib = std::fs::metadata(&file)?.len() as f64 / (1024.0 * 1024.0);
    println!("## SQL over an ArrowStore vs DuckDB's Python client\n");
    println!(
        "{} orders (`Order` of the demos, 9 columns), {} CPU threads, DuckDB {} (Rust, bundled) / \
         Python duckdb {}; Parquet file {:.1} MiB (ZSTD(1), written by ParquetStore). \
         {} runs each: first run, best run.\n",
        args.rows,
        threads,
        sql.query_arrow("SELECT version()")
            .ok()
            .and_then(|b| {
                b.first().map(|b| {
                    soa_runtime::arrow::array::cast::AsArray::as_string::<i32>(b.column(0))
                        .value(0)
                        .to_owned()
                })
            })
            .unwrap_or_default(),
        py.version,
        file_mib,
        args.runs
    );
    println!("Query: `{QUERY}`\n");
    println!("| what | first (ms) | best (ms) |");
    println!("|---|---:|---:|");
    let row = |what: &str, t: Timing| println!("| {what} | {} | {} |", ms(t.first), ms(t.best));
    row(
        "Rust: `SqlEngine::in_memory` + `register(ArrowStore)`",
        register,
    );
    row(
        "Rust: GROUP BY on the ArrowStore view, typed `RevenueSoA`",
        query,
    );
    row(
        "**Rust: new engine + register + GROUP BY (ArrowStore)**",
        both,
    );
    row(
        "**Rust: register + GROUP BY on one engine (as the pyarrow line)**",
        registered,
    );
    row(
        "Rust: GROUP BY on the ParquetStore view (read_parquet)",
        parquet_query,
    );
    row(
        "Rust: materialise the view as a DuckDB table (once)",
        materialise,
    );
    row(
        "Rust: GROUP BY on the materialised DuckDB table",
        copy_query,
    );
    row("**Python: GROUP BY on read_parquet(file)**", py.parquet);
    row("**Python: register pyarrow table + GROUP BY**", py.arrow);
    println!(
        "\n(Python's `pq.read_table` of the file before that: {} ms.)\n",
        ms(py.arrow_load)
    );
    let ratio = both.best.as_secs_f64() / py.parquet.best.as_secs_f64();
    let ratio_parquet = parquet_query.best.as_secs_f64() / py.parquet.best.as_secs_f64();
    let ratio_arrow = registered.best.as_secs_f64() / py.arrow.best.as_secs_f64();
    println!(
        "Ratio, best runs: Rust register+query on the ArrowStore / Python on the Parquet file = \
         **{ratio:.2}** (< 1: Rust faster); Rust on the ParquetStore view / Python on the same \
         file = {ratio_parquet:.2}; Rust register + query on one engine / Python register + query on one connection (a \
         registered pyarrow table) = **{ratio_arrow:.2}**.\n"
    );
    println!("Result (Rust): {:?}", revenue.into_rows());
    println!("Result (Python): {}", py.rows);
    Ok(())
}

//! SQL demo: the demo orders in an `ArrowStore` (hot) and a `ParquetStore` (cold), queried with
//! embedded DuckDB, results back as typed Rust.
//!
//! ```text
//! cargo run --release --features duckdb --bin sql_demo [-- --rows N]   # default 1 000 000 rows
//! ```
//!
//! The first build compiles DuckDB's C++ sources (tens of minutes on two cores, once per target
//! directory and profile).

use std::time::Instant;

use soa_examples::{Order, OrderGenerator, OrderSoA, Side, ms, parse_rows};
use soa_runtime::StoreExt;
use soa_runtime::sql::SqlEngine;
use soa_runtime::sql::duckdb::arrow::util::pretty::pretty_format_batches;
use soa_runtime::store::parquet::ParquetStore;
use soa_runtime::{ArrowStore, Soa, Store, ToArrow};

type DemoResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

const DATA_DIR: &str = "sql_demo_data";
const CHUNK: usize = 100_000;

/// Revenue per side: the issue's example query.
#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
pub struct Revenue {
    pub side: Side,
    pub total: f64,
    pub n: i64,
}

/// Notional per symbol.
#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
pub struct SymbolStats {
    pub symbol: String,
    pub orders: u64,
    pub quantity: i64,
    pub notional: f64,
    pub fill_rate: f64,
}

/// The best customers.
#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
pub struct Customer {
    pub customer_id: u32,
    pub orders: u32,
    pub notional: f64,
    pub biggest_order: f64,
    pub favourite_side: Side,
}

fn main() -> DemoResult {
    let rows = parse_rows("sql_demo")?;
    let started = Instant::now();
    println!("soa SQL demo: {rows} orders, embedded DuckDB\n");

    println!("[1] load the orders: 90% into an ArrowStore (hot), 10% into a ParquetStore (cold)");
    let t = Instant::now();
    let cold_rows = rows / 10;
    let hot = ArrowStore::<Order>::new();
    let mut generator = OrderGenerator::new();
    let cold: OrderSoA = generator.by_ref().take(cold_rows).collect();
    let mut left = rows - cold_rows;
    while left > 0 {
        let n = left.min(CHUNK);
        let chunk: OrderSoA = generator.by_ref().take(n).collect();
        hot.append_batch(chunk.into_record_batch()?)?; // moves the columns
        left -= n;
    }
    let dir = std::env::current_dir()?.join(DATA_DIR);
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    let runtime = tokio::runtime::Runtime::new()?;
    let archive = runtime.block_on(async {
        let archive = ParquetStore::<Order>::create(&dir).await?;
        archive.save_owned(cold).await?;
        Ok::<_, soa_runtime::Error>(archive)
    })?;
    println!(
        "    {} hot rows in {} batches, {} cold rows in ./{DATA_DIR}/ ({})",
        hot.stats().rows,
        hot.stats().batches,
        archive.stats().rows,
        ms(t.elapsed())
    );

    println!("\n[2] register both stores (no data is copied or loaded)");
    let t = Instant::now();
    let sql = SqlEngine::in_memory()?;
    sql.register("hot", &hot)?;
    sql.register("cold", &archive)?;
    sql.execute("CREATE VIEW orders AS SELECT * FROM hot UNION ALL SELECT * FROM cold")?;
    println!(
        "    views hot, cold and orders (hot UNION ALL cold) in {}",
        ms(t.elapsed())
    );

    println!("\n[3] revenue per side (typed: RevenueSoA)");
    let query = "SELECT side, sum(quantity * unit_price) AS total, count(*) AS n \
                 FROM orders GROUP BY side ORDER BY side";
    let t = Instant::now();
    let revenue: RevenueSoA = sql.query(query)?;
    let took = t.elapsed();
    println!("    {query}");
    println!("    {:<6} {:>22} {:>12}", "side", "total", "n");
    for r in revenue.iter() {
        println!(
            "    {:<6} {:>22.2} {:>12}",
            format!("{:?}", r.side),
            r.total,
            r.n
        );
    }
    println!("    {} rows in {}", revenue.len(), ms(took));
    let check: f64 = revenue.total.iter().sum();
    println!("    (side is a Rust enum again: {:?})", revenue.side);

    println!("\n[4] symbols by notional, with fill rate (typed: SymbolStatsSoA)");
    let t = Instant::now();
    let symbols: SymbolStatsSoA = sql.query(
        "SELECT symbol, count(*) AS orders, sum(quantity) AS quantity,
                sum(quantity * unit_price) AS notional, avg(filled::INTEGER) AS fill_rate
         FROM orders GROUP BY symbol ORDER BY notional DESC",
    )?;
    let took = t.elapsed();
    println!(
        "    {:<10} {:>9} {:>12} {:>20} {:>9}",
        "symbol", "orders", "quantity", "notional", "filled"
    );
    for s in symbols.iter() {
        println!(
            "    {:<10} {:>9} {:>12} {:>20.2} {:>8.1}%",
            s.symbol,
            s.orders,
            s.quantity,
            s.notional,
            s.fill_rate * 100.0
        );
    }
    let total: f64 = symbols.notional.iter().sum();
    println!(
        "    {} rows in {} (notional adds up to the revenue: {})",
        symbols.len(),
        ms(took),
        ((total - check) / check).abs() < 1e-9
    );

    println!("\n[5] top 5 customers (typed: CustomerSoA; sum of u32 is HUGEINT, read as u32)");
    let t = Instant::now();
    let customers: CustomerSoA = sql.query(
        "SELECT customer_id, count(*) AS orders, sum(quantity * unit_price) AS notional,
                max(quantity * unit_price) AS biggest_order, mode(side) AS favourite_side
         FROM orders GROUP BY customer_id ORDER BY notional DESC LIMIT 5",
    )?;
    let took = t.elapsed();
    println!(
        "    {:>8} {:>7} {:>16} {:>14} {:>6}",
        "customer", "orders", "notional", "biggest", "mostly"
    );
    for c in customers.iter() {
        println!(
            "    {:>8} {:>7} {:>16.2} {:>14.2} {:>6}",
            c.customer_id,
            c.orders,
            c.notional,
            c.biggest_order,
            format!("{:?}", c.favourite_side)
        );
    }
    println!("    {} rows in {}", customers.len(), ms(took));

    println!("\n[6] order flow per minute of the last 5 minutes (raw Arrow: query_arrow)");
    let t = Instant::now();
    let batches = sql.query_arrow(
        "SELECT date_trunc('minute', make_timestamp(ts_micros)) AS minute,
                count(*) FILTER (WHERE side = 'Buy') AS buys,
                count(*) FILTER (WHERE side = 'Sell') AS sells,
                round(sum(quantity * unit_price) / 1e6, 3) AS notional_millions
         FROM orders GROUP BY minute ORDER BY minute DESC LIMIT 5",
    )?;
    let took = t.elapsed();
    for line in pretty_format_batches(&batches)?.to_string().lines() {
        println!("    {line}");
    }
    println!("    in {}", ms(took));

    println!("\n[7] the cold archive alone: DuckDB reads the Parquet files (filter pushed down)");
    let t = Instant::now();
    let batches = sql.query_arrow(
        "SELECT symbol, count(*) AS rush_orders FROM cold
         WHERE note = 'rush 🚀' AND quantity > 900 GROUP BY symbol ORDER BY rush_orders DESC",
    )?;
    let took = t.elapsed();
    for line in pretty_format_batches(&batches)?.to_string().lines() {
        println!("    {line}");
    }
    println!("    in {}", ms(took));

    println!("\n[8] the views are live: append 1 000 orders to the hot store, count again");
    let before: CountSoA = sql.query("SELECT count(*) AS n FROM orders")?;
    let more: OrderSoA = generator.by_ref().take(1_000).collect();
    hot.append_batch(more.into_record_batch()?)?;
    let t = Instant::now();
    let after: CountSoA = sql.query("SELECT count(*) AS n FROM orders")?;
    println!(
        "    {} -> {} rows ({})",
        before.n.first().copied().unwrap_or_default(),
        after.n.first().copied().unwrap_or_default(),
        ms(t.elapsed())
    );

    println!("\n[9] errors are typed and carry DuckDB's message");
    for bad in [
        "SELECT side, count(* FROM orders",
        "SELECT * FROM nowhere",
        "SELECT side, 'lots' AS total, 1 AS n FROM orders LIMIT 1",
    ] {
        match sql.query::<RevenueSoA>(bad) {
            Ok(_) => println!("    unexpectedly fine: {bad}"),
            Err(e) => println!("    {e}"),
        }
    }

    println!("\ndone in {}", ms(started.elapsed()));
    Ok(())
}

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
pub struct Count {
    pub n: u64,
}

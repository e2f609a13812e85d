//! Shared code of the demos: the domain model, an `Order` with `#[derive(Soa, ToArrow)]`, and its
//! deterministic generator (defined once in `soa-fixtures`, re-exported here: the same type and
//! rows as the tests and benchmarks), the `--rows` option and a duration format.
//!
//! ```
//! let first: Vec<_> = soa_examples::OrderGenerator::new().take(3).collect();
//! assert_eq!(first[2].order_id, 2);
//! ```

pub use soa_fixtures::{Order, OrderGenerator, OrderRef, OrderSoA, Side, orders};

/// Parses the demos' only option, `--rows N` (default 1 000 000; `_` separators allowed).
///
/// # Errors
/// On an unknown argument or a value that is not a number.
pub fn parse_rows(bin: &str) -> Result<usize, Box<dyn std::error::Error>> {
    let mut rows = 1_000_000;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--rows" => {
                let value = args.next().ok_or("--rows needs a number")?;
                rows = value.replace('_', "").parse()?;
            }
            "-h" | "--help" => {
                println!("usage: {bin} [--rows N]   (default 1000000)");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?} (try --help)").into()),
        }
    }
    Ok(rows)
}

/// A duration in milliseconds, one decimal.
#[must_use]
pub fn ms(d: std::time::Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

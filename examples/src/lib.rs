//! The domain model of the demos: an `Order` with `#[derive(Soa, ToArrow)]` and a deterministic
//! generator (the same rows as the `soa-tests` fixtures, defined again here because the demo
//! package must not depend on the test package).

use soa_runtime::{Soa, ToArrow};

/// Side of an order.
#[derive(Soa, ToArrow, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// Buy.
    Buy,
    /// Sell.
    Sell,
}

/// One order: the row type. `#[derive(Soa)]` generates `OrderSoA` (one column per field),
/// `#[derive(ToArrow)]` its Arrow schema and record batch conversion.
#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
pub struct Order {
    /// Unique id.
    pub order_id: u64,
    /// Customer.
    pub customer_id: u32,
    /// Instrument. Stored Arrow-shaped in `OrderSoA` (one byte buffer + offsets): moving the
    /// column into a record batch copies nothing, and scans read contiguous bytes.
    #[soa(arrow_layout)]
    pub symbol: String,
    /// Buy or sell.
    pub side: Side,
    /// Quantity.
    pub quantity: u32,
    /// Price per unit.
    pub unit_price: f64,
    /// Whether the order was filled.
    pub filled: bool,
    /// Free text, Arrow-shaped too (bytes + offsets + validity bits).
    #[soa(arrow_layout)]
    pub note: Option<String>,
    /// Timestamp in microseconds since the epoch.
    pub ts_micros: i64,
}

const SYMBOLS: &[&str] = &[
    "AAPL",
    "MSFT",
    "GOOG",
    "AMZN",
    "NVDA",
    "TSLA",
    "Société",
    "日本株",
];

/// A deterministic stream of orders (a small xorshift generator; same seed, same rows).
///
/// ```
/// let first: Vec<_> = soa_examples::OrderGenerator::new().take(3).collect();
/// assert_eq!(first[2].order_id, 2);
/// ```
#[derive(Debug, Clone)]
pub struct OrderGenerator {
    state: u64,
    next_id: u64,
}

impl OrderGenerator {
    /// Starts at order id 0.
    #[must_use]
    pub fn new() -> Self {
        OrderGenerator {
            state: 0x9E37_79B9_7F4A_7C15,
            next_id: 0,
        }
    }
}

impl Default for OrderGenerator {
    fn default() -> Self {
        Self::new()
    }
}

impl Iterator for OrderGenerator {
    type Item = Order;

    fn next(&mut self) -> Option<Order> {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        let r = self.state;
        let i = self.next_id;
        self.next_id += 1;
        Some(Order {
            order_id: i,
            customer_id: (r % 10_000) as u32,
            symbol: SYMBOLS[(r >> 16) as usize % SYMBOLS.len()].to_owned(),
            side: if r & 1 == 0 { Side::Buy } else { Side::Sell },
            quantity: 1 + (r >> 24) as u32 % 1000,
            unit_price: ((r >> 34) % 100_000) as f64 / 100.0,
            filled: r & 2 == 0,
            note: match (r >> 40) % 4 {
                0 => None,
                1 => Some(String::new()),
                2 => Some("rush 🚀".to_owned()),
                _ => Some(format!("note {i}")),
            },
            ts_micros: 1_700_000_000_000_000 + i as i64 * 1_000,
        })
    }
}

/// The first `n` orders of [`OrderGenerator`].
#[must_use]
pub fn orders(n: usize) -> Vec<Order> {
    OrderGenerator::new().take(n).collect()
}

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

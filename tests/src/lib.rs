//! Shared fixtures for the cross-crate tests: the `Order` model of the README and demos, and a
//! deterministic generator.

use soa_runtime::{Soa, ToArrow};

pub mod conformance;

/// Side of an order.
#[derive(Soa, ToArrow, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// Buy.
    Buy,
    /// Sell.
    Sell,
}

/// The order model used across tests, demos and benchmarks.
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

/// `n` deterministic orders (a small xorshift generator; same input, same rows).
#[must_use]
pub fn orders(n: usize) -> Vec<Order> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..n)
        .map(|i| {
            let r = next();
            Order {
                order_id: i as u64,
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
            }
        })
        .collect()
}

/// Renders a schema as stable text for snapshots (arrow's `Debug` output changes between
/// versions; this format is ours): one line per field, `name: Type [nullable] {metadata}`.
#[must_use]
pub fn render_schema(schema: &soa_runtime::arrow::datatypes::Schema) -> String {
    fn meta<'a>(m: impl IntoIterator<Item = (&'a String, &'a String)>) -> String {
        let mut pairs: Vec<_> = m.into_iter().map(|(k, v)| format!("{k}={v:?}")).collect();
        if pairs.is_empty() {
            return String::new();
        }
        pairs.sort();
        format!(" {{{}}}", pairs.join(", "))
    }
    let mut out = String::new();
    for field in schema.fields() {
        out.push_str(&format!(
            "{}: {}{}{}\n",
            field.name(),
            field.data_type(),
            if field.is_nullable() { " nullable" } else { "" },
            meta(field.metadata()),
        ));
    }
    if !schema.metadata().is_empty() {
        out.push_str(&format!("schema metadata:{}\n", meta(schema.metadata())));
    }
    out
}

//! The demos' `Order` without `#[soa(arrow_layout)]`: the same fields with `Vec<String>` columns.
//!
//! Used for the lines that show what the Arrow-shaped string columns change, and by the
//! hand-written baseline of workload 2, which moves plain `Vec`s into arrow-rs arrays.

use soa_runtime::{Soa, ToArrow};

use crate::{Order, Side};

/// `Order` with every column a `Vec` (`symbol: Vec<String>`, `note: Vec<Option<String>>`).
#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
pub struct OrderPlain {
    /// Unique id.
    pub order_id: u64,
    /// Customer.
    pub customer_id: u32,
    /// Instrument.
    pub symbol: String,
    /// Buy or sell.
    pub side: Side,
    /// Quantity.
    pub quantity: u32,
    /// Price per unit.
    pub unit_price: f64,
    /// Filled.
    pub filled: bool,
    /// Free text.
    pub note: Option<String>,
    /// Timestamp.
    pub ts_micros: i64,
}

impl From<&Order> for OrderPlain {
    fn from(o: &Order) -> Self {
        OrderPlain {
            order_id: o.order_id,
            customer_id: o.customer_id,
            symbol: o.symbol.clone(),
            side: o.side,
            quantity: o.quantity,
            unit_price: o.unit_price,
            filled: o.filled,
            note: o.note.clone(),
            ts_micros: o.ts_micros,
        }
    }
}

/// The plain container of the same rows.
#[must_use]
pub fn plain_soa(rows: &[Order]) -> OrderPlainSoA {
    rows.iter().map(OrderPlain::from).collect()
}

//! soa_derive 0.14: a Structure-of-Arrays container without Arrow conversion. Used for the scan
//! and for building a SoA from rows.

use soa_derive::StructOfArray;

use crate::{Order, Side};

/// The order model as a soa_derive user writes it (`DOrderVec` is generated).
#[derive(StructOfArray, Debug, Clone, PartialEq)]
pub struct DOrder {
    pub order_id: u64,
    pub customer_id: u32,
    pub symbol: String,
    pub side: Side,
    pub quantity: u32,
    pub unit_price: f64,
    pub filled: bool,
    pub note: Option<String>,
    pub ts_micros: i64,
}

impl From<Order> for DOrder {
    fn from(o: Order) -> Self {
        Self {
            order_id: o.order_id,
            customer_id: o.customer_id,
            symbol: o.symbol,
            side: o.side,
            quantity: o.quantity,
            unit_price: o.unit_price,
            filled: o.filled,
            note: o.note,
            ts_micros: o.ts_micros,
        }
    }
}

/// Rows -> soa_derive container (by move).
#[must_use]
pub fn from_rows(rows: Vec<Order>) -> DOrderVec {
    let mut v = DOrderVec::with_capacity(rows.len());
    for r in rows {
        v.push(DOrder::from(r));
    }
    v
}

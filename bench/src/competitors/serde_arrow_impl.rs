//! serde_arrow 0.15 (arrow 60 feature): serde-derived rows, schema taken from ours so the batches
//! are identical.

use arrow_array::RecordBatch;
use arrow_schema::FieldRef;
use serde::{Deserialize, Serialize};
use soa_runtime::ToArrow;

use crate::{Order, OrderSoA, Side};

/// Side, serde style.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum SSide {
    /// Buy.
    Buy,
    /// Sell.
    Sell,
}

/// The order model as a serde_arrow user writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SOrder {
    pub order_id: u64,
    pub customer_id: u32,
    pub symbol: String,
    pub side: SSide,
    pub quantity: u32,
    pub unit_price: f64,
    pub filled: bool,
    pub note: Option<String>,
    pub ts_micros: i64,
}

impl From<&Order> for SOrder {
    fn from(o: &Order) -> Self {
        Self {
            order_id: o.order_id,
            customer_id: o.customer_id,
            symbol: o.symbol.clone(),
            side: match o.side {
                Side::Buy => SSide::Buy,
                Side::Sell => SSide::Sell,
            },
            quantity: o.quantity,
            unit_price: o.unit_price,
            filled: o.filled,
            note: o.note.clone(),
            ts_micros: o.ts_micros,
        }
    }
}

/// Our schema's fields (Dictionary(Int8, Utf8) for the enum).
#[must_use]
pub fn fields() -> Vec<FieldRef> {
    OrderSoA::schema().fields().iter().cloned().collect()
}

/// Rows -> batch.
///
/// # Panics
/// On a serde_arrow error.
#[must_use]
pub fn to_batch(fields: &[FieldRef], rows: &[SOrder]) -> RecordBatch {
    serde_arrow::to_record_batch(fields, &rows).expect("serde_arrow::to_record_batch")
}

/// Batch -> rows.
///
/// # Panics
/// On a serde_arrow error.
#[must_use]
pub fn from_batch(batch: &RecordBatch) -> Vec<SOrder> {
    serde_arrow::from_record_batch(batch).expect("serde_arrow::from_record_batch")
}

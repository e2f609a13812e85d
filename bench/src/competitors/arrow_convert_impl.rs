//! arrow_convert 0.12 (arrow 59). Its derive maps a unit enum to a dense Union (its only enum
//! layout), so the batch differs from ours in that one column.

#[allow(unused_imports)] // the enum derive calls `ArrayBuilder::len` unqualified
use arrow::array::ArrayBuilder;
use arrow_array_59::{Array, ArrayRef, RecordBatch, StructArray};
use arrow_convert::deserialize::TryIntoCollection;
use arrow_convert::serialize::TryIntoArrow;
use arrow_convert::{ArrowDeserialize, ArrowField, ArrowSerialize};

use crate::{Order, Side};

/// Side, arrow_convert style.
#[derive(Debug, Clone, Copy, PartialEq, ArrowField, ArrowSerialize, ArrowDeserialize)]
#[arrow_field(type = "dense")]
pub enum CSide {
    /// Buy.
    Buy,
    /// Sell.
    Sell,
}

/// The order model as an arrow_convert user writes it.
#[derive(Debug, Clone, PartialEq, ArrowField, ArrowSerialize, ArrowDeserialize)]
pub struct COrder {
    pub order_id: u64,
    pub customer_id: u32,
    pub symbol: String,
    pub side: CSide,
    pub quantity: u32,
    pub unit_price: f64,
    pub filled: bool,
    pub note: Option<String>,
    pub ts_micros: i64,
}

impl From<&Order> for COrder {
    fn from(o: &Order) -> Self {
        Self {
            order_id: o.order_id,
            customer_id: o.customer_id,
            symbol: o.symbol.clone(),
            side: match o.side {
                Side::Buy => CSide::Buy,
                Side::Sell => CSide::Sell,
            },
            quantity: o.quantity,
            unit_price: o.unit_price,
            filled: o.filled,
            note: o.note.clone(),
            ts_micros: o.ts_micros,
        }
    }
}

/// Rows -> batch (serialize to a StructArray, then flatten it into a batch: free).
///
/// # Panics
/// On an arrow_convert error.
#[must_use]
pub fn to_batch(rows: &[COrder]) -> RecordBatch {
    let array: ArrayRef = rows.try_into_arrow().expect("try_into_arrow");
    let structs = array
        .as_any()
        .downcast_ref::<StructArray>()
        .expect("struct")
        .clone();
    RecordBatch::from(structs)
}

/// Batch -> rows.
///
/// # Panics
/// On an arrow_convert error.
#[must_use]
pub fn from_batch(batch: &RecordBatch) -> Vec<COrder> {
    let array: ArrayRef = std::sync::Arc::new(StructArray::from(batch.clone()));
    array.try_into_collection().expect("try_into_collection")
}

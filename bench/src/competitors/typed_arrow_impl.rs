//! typed-arrow 0.8 (arrow 59). It has no unit-enum mapping: its documented way is
//! `Dictionary<i8, String>`, one owned `String` per row in the model.

use arrow_array_59::RecordBatch;
use typed_arrow::Dictionary;
use typed_arrow::prelude::*;

use crate::{Order, Side};

/// The order model as a typed-arrow user writes it.
#[derive(Record, Debug, Clone, PartialEq)]
pub struct TOrder {
    pub order_id: u64,
    pub customer_id: u32,
    pub symbol: String,
    pub side: Dictionary<i8, String>,
    pub quantity: u32,
    pub unit_price: f64,
    pub filled: bool,
    pub note: Option<String>,
    pub ts_micros: i64,
}

impl From<&Order> for TOrder {
    fn from(o: &Order) -> Self {
        Self {
            order_id: o.order_id,
            customer_id: o.customer_id,
            symbol: o.symbol.clone(),
            side: Dictionary::new(match o.side {
                Side::Buy => "Buy".to_owned(),
                Side::Sell => "Sell".to_owned(),
            }),
            quantity: o.quantity,
            unit_price: o.unit_price,
            filled: o.filled,
            note: o.note.clone(),
            ts_micros: o.ts_micros,
        }
    }
}

/// Rows (by value) -> batch through the derived presized builders.
#[must_use]
pub fn to_batch(rows: Vec<TOrder>) -> RecordBatch {
    let mut b = <TOrder as BuildRows>::new_builders(rows.len());
    b.append_rows(rows);
    b.finish().into_record_batch()
}

/// Batch -> owned rows through the derived views.
///
/// # Panics
/// On a typed-arrow error.
#[must_use]
pub fn from_batch(batch: &RecordBatch) -> Vec<TOrder> {
    let views = batch.iter_views::<TOrder>().expect("schema");
    views
        .try_flatten()
        .expect("views")
        .into_iter()
        .map(|v| TOrder::try_from(v).expect("owned"))
        .collect()
}

/// Borrowed rows -> batch through the derived presized builders (`append_rows_ref`, the
/// borrowed-rows API of the derived builders): the rows stay with the caller, nothing is freed.
#[must_use]
pub fn to_batch_ref(rows: &[TOrder]) -> RecordBatch {
    let mut b = <TOrder as BuildRows>::new_builders(rows.len());
    b.append_rows_ref(rows);
    b.finish().into_record_batch()
}

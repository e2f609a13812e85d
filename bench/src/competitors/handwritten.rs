//! Hand-written arrow-rs 60 code: what a careful user writes without any derive.

use std::sync::Arc;

use arrow_array::builder::{BooleanBuilder, Int8Builder, PrimitiveBuilder, StringBuilder};
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int8Type, Int64Type, UInt32Type, UInt64Type};
use arrow_array::{
    Array, ArrayRef, BooleanArray, DictionaryArray, Float64Array, Int8Array, Int64Array,
    RecordBatch, StringArray, UInt32Array, UInt64Array,
};
use soa_runtime::ToArrow;

use crate::{Order, OrderSoA, Side};

fn side_dictionary(keys: Int8Array) -> ArrayRef {
    let values: ArrayRef = Arc::new(StringArray::from(vec!["Buy", "Sell"]));
    Arc::new(DictionaryArray::<Int8Type>::try_new(keys, values).expect("valid keys"))
}

fn side_key(side: Side) -> i8 {
    match side {
        Side::Buy => 0,
        Side::Sell => 1,
    }
}

/// `&[Order]` -> `RecordBatch` with builders presized to the exact row count and string bytes.
#[must_use]
pub fn rows_to_batch(rows: &[Order]) -> RecordBatch {
    let n = rows.len();
    let symbol_bytes: usize = rows.iter().map(|r| r.symbol.len()).sum();
    let note_bytes: usize = rows
        .iter()
        .filter_map(|r| r.note.as_ref())
        .map(String::len)
        .sum();
    let mut order_id = PrimitiveBuilder::<UInt64Type>::with_capacity(n);
    let mut customer_id = PrimitiveBuilder::<UInt32Type>::with_capacity(n);
    let mut symbol = StringBuilder::with_capacity(n, symbol_bytes);
    let mut side = Int8Builder::with_capacity(n);
    let mut quantity = PrimitiveBuilder::<UInt32Type>::with_capacity(n);
    let mut unit_price = PrimitiveBuilder::<Float64Type>::with_capacity(n);
    let mut filled = BooleanBuilder::with_capacity(n);
    let mut note = StringBuilder::with_capacity(n, note_bytes);
    let mut ts = PrimitiveBuilder::<Int64Type>::with_capacity(n);
    for r in rows {
        order_id.append_value(r.order_id);
        customer_id.append_value(r.customer_id);
        symbol.append_value(&r.symbol);
        side.append_value(side_key(r.side));
        quantity.append_value(r.quantity);
        unit_price.append_value(r.unit_price);
        filled.append_value(r.filled);
        note.append_option(r.note.as_deref());
        ts.append_value(r.ts_micros);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(order_id.finish()),
        Arc::new(customer_id.finish()),
        Arc::new(symbol.finish()),
        side_dictionary(side.finish()),
        Arc::new(quantity.finish()),
        Arc::new(unit_price.finish()),
        Arc::new(filled.finish()),
        Arc::new(note.finish()),
        Arc::new(ts.finish()),
    ];
    RecordBatch::try_new(OrderSoA::schema(), columns).expect("schema matches")
}

/// SoA columns (plain `Vec`s, as a hand-written SoA has them) -> `RecordBatch` by move with the
/// plain arrow-rs `From` impls.
#[must_use]
pub fn soa_to_batch(soa: crate::plain::OrderPlainSoA) -> RecordBatch {
    let side = Int8Array::from_iter_values(soa.side.iter().map(|s| side_key(*s)));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(UInt64Array::from(soa.order_id)),
        Arc::new(UInt32Array::from(soa.customer_id)),
        Arc::new(StringArray::from(soa.symbol)),
        side_dictionary(side),
        Arc::new(UInt32Array::from(soa.quantity)),
        Arc::new(Float64Array::from(soa.unit_price)),
        Arc::new(BooleanArray::from(soa.filled)),
        Arc::new(StringArray::from(soa.note)),
        Arc::new(Int64Array::from(soa.ts_micros)),
    ];
    RecordBatch::try_new(OrderSoA::schema(), columns).expect("schema matches")
}

/// `RecordBatch` -> `Vec<Order>` by downcasting each column and indexing row by row.
#[must_use]
pub fn batch_to_rows(batch: &RecordBatch) -> Vec<Order> {
    let col = |name: &str| batch.column_by_name(name).expect("column");
    let order_id = col("order_id").as_primitive::<UInt64Type>();
    let customer_id = col("customer_id").as_primitive::<UInt32Type>();
    let symbol = col("symbol").as_string::<i32>();
    let side = col("side").as_dictionary::<Int8Type>();
    let side_names = side.values().as_string::<i32>();
    let side_map: Vec<Side> = side_names
        .iter()
        .map(|s| {
            if s == Some("Buy") {
                Side::Buy
            } else {
                Side::Sell
            }
        })
        .collect();
    let side_keys = side.keys();
    let quantity = col("quantity").as_primitive::<UInt32Type>();
    let unit_price = col("unit_price").as_primitive::<Float64Type>();
    let filled = col("filled").as_boolean();
    let note = col("note").as_string::<i32>();
    let ts = col("ts_micros").as_primitive::<Int64Type>();
    (0..batch.num_rows())
        .map(|i| Order {
            order_id: order_id.value(i),
            customer_id: customer_id.value(i),
            symbol: symbol.value(i).to_owned(),
            side: side_map[side_keys.value(i) as usize],
            quantity: quantity.value(i),
            unit_price: unit_price.value(i),
            filled: filled.value(i),
            note: note.is_valid(i).then(|| note.value(i).to_owned()),
            ts_micros: ts.value(i),
        })
        .collect()
}

//! Round trips SoA -> RecordBatch -> SoA for the `Order` model.

use soa_runtime::ToArrow;
use soa_tests::{Order, OrderSoA, Side, orders};

fn round_trip(rows: Vec<Order>) {
    let soa: OrderSoA = rows.clone().into_iter().collect();
    assert_eq!(soa.len(), rows.len());

    let batch = soa.to_record_batch().unwrap();
    assert_eq!(batch.num_rows(), rows.len());
    assert_eq!(
        OrderSoA::from_record_batch(&batch).unwrap().into_rows(),
        rows
    );
    assert_eq!(
        OrderSoA::try_from_record_batch(batch.clone())
            .unwrap()
            .into_rows(),
        rows
    );

    // The direct path: the same rows, from the whole batch and from a slice of it.
    assert_eq!(OrderSoA::rows_from_record_batch(&batch).unwrap(), rows);
    if rows.len() > 3 {
        let (from, len) = (1, rows.len() - 2);
        assert_eq!(
            OrderSoA::rows_from_record_batch(&batch.slice(from, len)).unwrap(),
            rows[from..from + len]
        );
    }
    let moved = soa.into_record_batch().unwrap();
    let back = OrderSoA::try_from_record_batch(moved).unwrap();
    assert_eq!(back.into_rows(), rows);
}

#[test]
fn zero_rows() {
    round_trip(Vec::new());
}

#[test]
fn one_row() {
    round_trip(orders(1));
}

#[test]
fn hundred_thousand_rows() {
    round_trip(orders(100_000));
}

#[test]
fn unicode_empty_strings_and_nulls() {
    let rows = vec![
        Order {
            order_id: u64::MAX,
            customer_id: 0,
            symbol: String::new(),
            side: Side::Sell,
            quantity: u32::MAX,
            unit_price: f64::NEG_INFINITY,
            filled: true,
            note: None,
            ts_micros: i64::MIN,
        },
        Order {
            order_id: 0,
            customer_id: u32::MAX,
            symbol: "Ünïcødé 🚀 日本".into(),
            side: Side::Buy,
            quantity: 0,
            unit_price: -0.0,
            filled: false,
            note: Some(String::new()),
            ts_micros: -1,
        },
        Order {
            order_id: 7,
            customer_id: 1,
            symbol: "\0nul\u{10FFFF}".into(),
            side: Side::Buy,
            quantity: 3,
            unit_price: f64::MAX,
            filled: true,
            note: Some("ß".repeat(1000)),
            ts_micros: i64::MAX,
        },
    ];
    round_trip(rows);
}

/// `rows_from_record_batch` reads in slices of `ROWS_CHUNK` rows: an error in a later slice
/// names the row as the whole batch counts it.
#[test]
fn direct_rows_errors_count_rows_from_the_batch_start() {
    use soa_runtime::arrow::array::{ArrayRef, UInt32Array};
    use soa_runtime::convert::ROWS_CHUNK;
    use soa_runtime::{Error, FieldError};
    use std::sync::Arc;
    let rows = orders(ROWS_CHUNK * 2 + 10);
    let batch = OrderSoA::from(rows.clone()).to_record_batch().unwrap();
    assert_eq!(OrderSoA::rows_from_record_batch(&batch).unwrap(), rows);
    let bad_row = ROWS_CHUNK * 2 + 3;
    let quantity: ArrayRef = Arc::new(UInt32Array::from(
        (0..rows.len())
            .map(|i| (i != bad_row).then_some(7))
            .collect::<Vec<_>>(),
    ));
    let schema = batch.schema();
    let index = schema.index_of("quantity").unwrap();
    let mut columns = batch.columns().to_vec();
    columns[index] = quantity;
    let fields: Vec<_> = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| {
            if i == index {
                Arc::new(f.as_ref().clone().with_nullable(true))
            } else {
                Arc::clone(f)
            }
        })
        .collect();
    let bad = soa_runtime::arrow::array::RecordBatch::try_new(
        Arc::new(soa_runtime::arrow::datatypes::Schema::new(fields)),
        columns,
    )
    .unwrap();
    let err = OrderSoA::rows_from_record_batch(&bad).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Column {
                field: "quantity",
                source: FieldError::UnexpectedNull { row, .. },
                ..
            } if row == bad_row
        ),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        OrderSoA::from_record_batch(&bad).unwrap_err().to_string()
    );
}

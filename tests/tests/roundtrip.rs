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
        OrderSoA::try_from_record_batch(batch).unwrap().into_rows(),
        rows
    );

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

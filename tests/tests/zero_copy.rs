//! Proves the zero-copy claims: fixed-width non-null columns move into Arrow without a copy, and
//! `try_from_record_batch` reclaims uniquely owned buffers without a copy.

use soa_runtime::ToArrow;
use soa_runtime::arrow::array::cast::AsArray;
use soa_runtime::arrow::array::types::{Float64Type, Int64Type, UInt64Type};
use soa_tests::{OrderSoA, orders};

#[test]
fn fixed_width_columns_move_into_arrow_without_copy() {
    let soa: OrderSoA = orders(10_000).into_iter().collect();
    let id_ptr = soa.order_id.as_ptr() as usize;
    let price_ptr = soa.unit_price.as_ptr() as usize;
    let ts_ptr = soa.ts_micros.as_ptr() as usize;

    let batch = soa.into_record_batch().unwrap();
    let ids = batch
        .column_by_name("order_id")
        .unwrap()
        .as_primitive::<UInt64Type>();
    let prices = batch
        .column_by_name("unit_price")
        .unwrap()
        .as_primitive::<Float64Type>();
    let ts = batch
        .column_by_name("ts_micros")
        .unwrap()
        .as_primitive::<Int64Type>();
    assert_eq!(ids.values().as_ptr() as usize, id_ptr);
    assert_eq!(prices.values().as_ptr() as usize, price_ptr);
    assert_eq!(ts.values().as_ptr() as usize, ts_ptr);
    assert_eq!(ids.len(), 10_000);
}

#[test]
fn unique_buffers_are_reclaimed_without_copy() {
    let soa: OrderSoA = orders(10_000).into_iter().collect();
    let batch = soa.into_record_batch().unwrap();
    let id_ptr = batch
        .column_by_name("order_id")
        .unwrap()
        .as_primitive::<UInt64Type>()
        .values()
        .as_ptr() as usize;
    let back = OrderSoA::try_from_record_batch(batch).unwrap();
    assert_eq!(back.order_id.as_ptr() as usize, id_ptr);
    assert_eq!(back.order_id, (0..10_000).collect::<Vec<u64>>());
}

#[test]
fn shared_buffers_are_copied_not_stolen() {
    let soa: OrderSoA = orders(100).into_iter().collect();
    let batch = soa.into_record_batch().unwrap();
    let keep = batch.clone(); // a second owner: reclaiming must copy
    let back = OrderSoA::try_from_record_batch(batch).unwrap();
    let kept_ptr = keep
        .column_by_name("order_id")
        .unwrap()
        .as_primitive::<UInt64Type>()
        .values()
        .as_ptr() as usize;
    assert_ne!(back.order_id.as_ptr() as usize, kept_ptr);
    assert_eq!(OrderSoA::from_record_batch(&keep).unwrap(), back);
}

#[test]
fn sliced_batches_convert_correctly() {
    let soa: OrderSoA = orders(100).into_iter().collect();
    let batch = soa.clone().into_record_batch().unwrap();
    let sliced = batch.slice(10, 20);
    let back = OrderSoA::try_from_record_batch(sliced).unwrap();
    assert_eq!(back.into_rows(), soa.slice(10..30).into_rows());
}

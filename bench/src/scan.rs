//! Workload 7: the same two loops over a SoA container, a `Vec<Order>` and other layouts.
//!
//! `sum(quantity * unit_price)` and `count(symbol == "AAPL")`, written as plain iterator loops (no
//! SIMD intrinsics, no arrow compute kernels) so only the memory layout differs.

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, UInt32Type};
use arrow_array::{Array, RecordBatch};

use crate::competitors::soa_derive_impl::DOrderVec;
use crate::plain::OrderPlainSoA;
use crate::{Order, OrderSoA};

/// The symbol counted by the string-equality scan.
pub const SYMBOL: &str = "AAPL";

/// Result of one scan: the notional sum and the symbol count.
pub type ScanResult = (f64, usize);

/// `sum(quantity * unit_price)` over two columns: the numeric half of every columnar scan below.
#[must_use]
pub fn notional(quantity: &[u32], unit_price: &[f64]) -> f64 {
    quantity
        .iter()
        .zip(unit_price)
        .map(|(q, p)| f64::from(*q) * p)
        .sum()
}

/// Over our SoA columns: the notional loop, and the symbol count through the column's
/// `StringColumn::count_eq` (lengths from the offsets, one word compare per value).
#[must_use]
pub fn soa(orders: &OrderSoA) -> ScanResult {
    (soa_notional(orders), soa_count(orders))
}

/// Over our SoA columns with the same iterator loop as the other layouts.
#[must_use]
pub fn soa_same_loop(orders: &OrderSoA) -> ScanResult {
    (soa_notional(orders), soa_count_loop(orders))
}

/// Over the plain container (`Vec<String>` symbol column).
#[must_use]
pub fn plain(orders: &OrderPlainSoA) -> ScanResult {
    (
        notional(&orders.quantity, &orders.unit_price),
        plain_count(orders),
    )
}

/// Symbol count only, plain container.
#[must_use]
pub fn plain_count(orders: &OrderPlainSoA) -> usize {
    orders
        .symbol
        .iter()
        .filter(|s| s.as_str() == SYMBOL)
        .count()
}

/// Notional only, SoA.
#[must_use]
pub fn soa_notional(orders: &OrderSoA) -> f64 {
    notional(&orders.quantity, &orders.unit_price)
}

/// Symbol count only, SoA (`StringColumn::count_eq`).
#[must_use]
pub fn soa_count(orders: &OrderSoA) -> usize {
    orders.symbol.count_eq(SYMBOL)
}

/// Symbol count only, SoA, the iterator loop.
#[must_use]
pub fn soa_count_loop(orders: &OrderSoA) -> usize {
    orders.symbol.iter().filter(|s| *s == SYMBOL).count()
}

/// Over a `Vec<Order>`.
#[must_use]
pub fn rows(orders: &[Order]) -> ScanResult {
    let notional: f64 = orders
        .iter()
        .map(|o| f64::from(o.quantity) * o.unit_price)
        .sum();
    let count = orders
        .iter()
        .filter(|o| o.symbol.as_str() == SYMBOL)
        .count();
    (notional, count)
}

/// Notional only, rows.
#[must_use]
pub fn rows_notional(orders: &[Order]) -> f64 {
    orders
        .iter()
        .map(|o| f64::from(o.quantity) * o.unit_price)
        .sum()
}

/// Symbol count only, rows.
#[must_use]
pub fn rows_count(orders: &[Order]) -> usize {
    orders
        .iter()
        .filter(|o| o.symbol.as_str() == SYMBOL)
        .count()
}

/// Over soa_derive's container.
#[must_use]
pub fn soa_derive(orders: &DOrderVec) -> ScanResult {
    let count = orders
        .symbol
        .iter()
        .filter(|s| s.as_str() == SYMBOL)
        .count();
    (notional(&orders.quantity, &orders.unit_price), count)
}

/// Over an Arrow record batch (same loops on the arrays).
#[must_use]
pub fn arrow(batch: &RecordBatch) -> ScanResult {
    let q = batch
        .column_by_name("quantity")
        .expect("quantity")
        .as_primitive::<UInt32Type>();
    let p = batch
        .column_by_name("unit_price")
        .expect("unit_price")
        .as_primitive::<Float64Type>();
    let notional = notional(q.values(), p.values());
    let s = batch
        .column_by_name("symbol")
        .expect("symbol")
        .as_string::<i32>();
    let count = (0..s.len()).filter(|&i| s.value(i) == SYMBOL).count();
    (notional, count)
}

//! A model with the fixed-width columns of `Order` only, for the O(columns) goals: moving such a
//! container into Arrow and back must not depend on the row count.

use soa_runtime::{Soa, ToArrow};

/// The fixed-width fields of [`crate::Order`].
#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
pub struct OrderFixed {
    /// Unique id.
    pub order_id: u64,
    /// Customer.
    pub customer_id: u32,
    /// Quantity.
    pub quantity: u32,
    /// Price per unit.
    pub unit_price: f64,
    /// Timestamp in microseconds.
    pub ts_micros: i64,
}

/// The fixed-width columns of `orders`, copied (setup, not timed).
#[must_use]
pub fn fixed_soa(orders: &crate::OrderSoA) -> OrderFixedSoA {
    let mut soa = OrderFixedSoA::new();
    soa.order_id = orders.order_id.clone();
    soa.customer_id = orders.customer_id.clone();
    soa.quantity = orders.quantity.clone();
    soa.unit_price = orders.unit_price.clone();
    soa.ts_micros = orders.ts_micros.clone();
    soa
}

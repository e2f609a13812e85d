//! Pins the Arrow schema generated for `Order` (names, types, nullability, metadata).

use soa_runtime::ToArrow;
use soa_tests::{OrderSoA, render_schema};

#[test]
fn order_schema() {
    insta::assert_snapshot!(render_schema(&OrderSoA::schema()));
}

#[test]
fn schema_is_cached() {
    assert!(std::sync::Arc::ptr_eq(
        &OrderSoA::schema(),
        &OrderSoA::schema()
    ));
}

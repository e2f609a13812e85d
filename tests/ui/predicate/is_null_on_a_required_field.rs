// `is_null` exists on `Option` handles only: a required field is never null.
use soa_runtime::{Soa, ToArrow};

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
struct Order {
    quantity: u32,
}

fn main() {
    let _ = Order::col().quantity.is_null();
}

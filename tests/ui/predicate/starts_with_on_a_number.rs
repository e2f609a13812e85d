// `starts_with` exists on string handles only.
use soa_runtime::{Soa, ToArrow};

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
struct Order {
    quantity: u32,
}

fn main() {
    let _ = Order::col().quantity.starts_with("1");
}

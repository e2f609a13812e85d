// A comparison with a value of another type than the field's does not compile.
use soa_runtime::{Soa, ToArrow};

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
struct Order {
    quantity: u32,
    symbol: String,
}

fn main() {
    let c = Order::col();
    let _ = c.quantity.eq("ten");
}

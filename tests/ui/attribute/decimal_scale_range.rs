use soa_runtime::{Soa, ToArrow};

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
struct Order {
    #[soa(decimal(precision = 10, scale = 200))]
    amount: i128,
}

fn main() {}

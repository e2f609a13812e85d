use soa_runtime::{Soa, ToArrow};

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
struct Order {
    #[soa(timestamp = "ms")]
    symbol: String,
}

fn main() {}

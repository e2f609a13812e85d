use soa_runtime::{Soa, ToArrow};

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
struct Order {
    #[soa(timestamp = "minutes")]
    a: i64,
    #[soa(decimal(precision = 40, scale = 2))]
    b: i128,
    #[soa(decimal(precision = 5))]
    c: i128,
    #[soa(decimal(precision = 4, scale = 6))]
    d: i128,
    #[soa(decimal(precision = 4, scale = 2, rounding = "up"))]
    e: i128,
}

fn main() {}

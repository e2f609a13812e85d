use soa_runtime::{Soa, ToArrow};

#[derive(Soa, ToArrow, Debug, Clone, Copy, PartialEq)]
enum Side {
    Buy,
    #[soa(rename = "Buy")]
    Sell,
}

fn main() {}

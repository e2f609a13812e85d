use soa_runtime::{Soa, ToArrow};

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
struct Order {
    #[soa(metadata(desk::owner = "fx"))]
    id: u64,
}

fn main() {}

use soa_runtime::{Soa, ToArrow};

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
#[soa(crate = "soa runtime")]
struct Order {
    id: u64,
}

fn main() {}

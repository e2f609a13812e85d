use soa_runtime::{Soa, ToArrow};

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
#[soa(colour = "blue")]
struct Order {
    #[soa(renamed = "x")]
    id: u64,
}

fn main() {}

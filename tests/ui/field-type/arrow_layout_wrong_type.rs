use soa_runtime::{Soa, ToArrow};

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
struct Order {
    #[soa(arrow_layout)]
    quantity: u32,
}

fn main() {}

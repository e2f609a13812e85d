use soa_runtime::{Soa, ToArrow};

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
#[soa(rename_all = "camelCase", rename_all = "snake_case")]
struct Order {
    order_id: u64,
}

fn main() {}

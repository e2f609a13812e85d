use soa_runtime::{Soa, ToArrow};

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
struct Order {
    #[soa(rename = "id")]
    #[soa(rename = "order_id")]
    id: u64,
}

fn main() {}

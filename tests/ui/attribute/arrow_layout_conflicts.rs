use soa_runtime::{Soa, ToArrow};

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
struct Order {
    #[soa(arrow_layout, dictionary)]
    symbol: String,
    #[soa(skip, arrow_layout)]
    cache: String,
    #[soa(arrow_layout = "yes")]
    note: String,
}

fn main() {}

use soa_runtime::{Soa, ToArrow};

#[derive(Soa, ToArrow, Debug, Clone, PartialEq, Default)]
struct Venue {
    mic: String,
}

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
struct Order {
    #[soa(large, dictionary)]
    symbol: String,
    #[soa(skip, rename = "x")]
    cache: Vec<u64>,
    #[soa(flatten, large)]
    venue: Venue,
    #[soa(skip = true)]
    other: u8,
}

fn main() {}

use soa_runtime::{Soa, ToArrow};

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
#[soa(rename_all = "Title Case", metadata(owner = "a", owner = "b"))]
struct Order {
    #[soa(metadata(1 = "x"))]
    id: u64,
}

#[derive(Soa, ToArrow, Debug, Clone, Copy, PartialEq)]
enum Side {
    #[soa(alias = "B")]
    Buy,
}

fn main() {}

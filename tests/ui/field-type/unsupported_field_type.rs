use soa_runtime::{Soa, ToArrow};

struct Opaque;

#[derive(Soa, ToArrow)]
#[soa(derive())]
struct Order {
    id: u64,
    payload: Opaque,
}

fn main() {}

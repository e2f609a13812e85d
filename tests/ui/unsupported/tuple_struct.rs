use soa_runtime::{Soa, ToArrow};

#[derive(Soa, ToArrow)]
struct Pair(u32, f64);

fn main() {}

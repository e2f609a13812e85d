use soa_runtime::{Soa, ToArrow};

#[derive(Soa, ToArrow)]
enum Shape {
    Point,
    Circle { radius: f64 },
}

fn main() {}

use soa_runtime::{Soa, ToArrow};

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
struct Reading {
    sensor: u32,
    value: Option<Option<f64>>,
    history: Vec<Option<Option<u8>>>,
    #[soa(skip)]
    scratch: Option<Option<u8>>,
}

#[derive(ToArrow, Debug, Clone, PartialEq)]
enum Event {
    Idle,
    Sample { level: std::option::Option<Option<i32>> },
}

fn main() {}

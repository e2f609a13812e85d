use soa_runtime::{Soa, ToArrow};

#[derive(Soa, ToArrow, Debug, Clone, PartialEq, Default)]
struct Geo {
    lat: f64,
    lon: f64,
}

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
struct Leg {
    #[soa(flatten)]
    origin: Geo,
    #[soa(flatten, rename = "origin")]
    start: Geo,
    #[soa(rename = "origin_x")]
    x: f64,
    origin_x: f64,
}

fn main() {}

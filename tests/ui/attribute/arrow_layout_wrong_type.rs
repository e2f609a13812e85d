use soa_runtime::{Soa, ToArrow};

type Symbol = String;

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
struct Shipment {
    #[soa(arrow_layout)]
    pieces: u32,
    #[soa(arrow_layout)]
    labels: Vec<String>,
    #[soa(arrow_layout)]
    carrier: Symbol,
    #[soa(arrow_layout)]
    depot: std::string::String,
    #[soa(arrow_layout)]
    note: Option<String>,
}

fn main() {}

use soa_runtime::Soa;

#[derive(Soa, Debug, Clone, PartialEq)]
#[soa(crate = 42)]
struct Order {
    #[soa(rename)]
    id: u64,
    #[soa(rename = "")]
    other: u64,
}

fn main() {}

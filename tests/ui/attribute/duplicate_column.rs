use soa_runtime::Soa;

#[derive(Soa, Debug, Clone, PartialEq)]
struct Order {
    id: u64,
    #[soa(rename = "id")]
    other_id: u64,
}

fn main() {}

// One misuse, one error: `arrow_layout` on the struct instead of a field is an unknown
// container attribute; the derives still generate `OrderSoA`, so `main` reports nothing more.
use soa_runtime::{Soa, ToArrow};

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
#[soa(arrow_layout)]
struct Order {
    id: u64,
    symbol: String,
}

fn main() {
    let soa: OrderSoA = vec![Order { id: 1, symbol: "A".to_owned() }].into();
    let batch = soa.to_record_batch().unwrap();
    assert_eq!(OrderSoA::from_record_batch(&batch).unwrap(), soa);
}

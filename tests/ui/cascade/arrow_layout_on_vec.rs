// One misuse, one error: the derives still generate `OrderSoA` and its `ToArrow` impl, so
// the uses in `main` compile and report nothing more.
use soa_runtime::{Soa, ToArrow};

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
struct Order {
    id: u64,
    #[soa(arrow_layout)]
    symbol: String,
    #[soa(arrow_layout)]
    quantity: Vec<String>,
}

fn main() {
    let mut soa = OrderSoA::new();
    soa.push(Order {
        id: 1,
        symbol: "A".to_owned(),
        quantity: vec!["a".to_owned()],
    });
    let row = soa.get(0).map(|r| r.to_owned_row());
    let batch = soa.to_record_batch().unwrap();
    let back = OrderSoA::from_record_batch(&batch).unwrap();
    assert_eq!(back.into_rows().first(), row.as_ref());
}

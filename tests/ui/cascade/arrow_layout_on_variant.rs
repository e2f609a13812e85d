// One misuse, one error: `arrow_layout` on an enum variant is an unknown variant attribute; the
// enum is still a column type, so the struct using it reports nothing more.
use soa_runtime::{Soa, ToArrow};

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
enum Note {
    Empty,
    #[soa(arrow_layout)]
    Text(String),
}

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
struct Order {
    id: u64,
    note: Note,
}

fn main() {
    let soa: OrderSoA = vec![Order { id: 1, note: Note::Text("a".to_owned()) }].into();
    let batch = soa.to_record_batch().unwrap();
    assert_eq!(OrderSoA::from_record_batch(&batch).unwrap(), soa);
}

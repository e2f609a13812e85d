use soa_runtime::ToArrow;

#[derive(ToArrow, Debug, Clone, Copy, PartialEq)]
enum Never {}

fn main() {}

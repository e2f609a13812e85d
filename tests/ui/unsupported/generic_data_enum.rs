use soa_runtime::ToArrow;

#[derive(ToArrow, Debug, Clone, PartialEq)]
enum Wrapper<T> {
    Empty,
    Value(T),
}

fn main() {}

use soa_runtime::Soa;

#[derive(Soa)]
struct Nothing;

fn main() {}

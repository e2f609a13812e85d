use soa_runtime::{Soa, ToArrow};

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
struct Inner {
    a: i32,
}

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
struct Row {
    #[soa(timestamp = "us", partition = "week")]
    ts: i64,
    #[soa(partition = "bucket(0)")]
    id: u64,
    #[soa(skip, partition)]
    cache: u32,
    #[soa(flatten, partition)]
    inner: Inner,
    #[soa(partition, partition = "day")]
    twice: i64,
}

fn main() {}

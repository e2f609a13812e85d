//! Criterion suite: the workloads of the report binary, one group each.
//!
//! `cargo bench` (1M rows); `SOA_BENCH_ROWS=100000 cargo bench -- scan` for a quick subset.
//! The single table with ratios and the Python references comes from `cargo run --release --bin report`.

use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use soa_bench::competitors::{
    arrow_convert_impl as ac, handwritten as hw, parquet_derive_impl as pd, serde_arrow_impl as sa,
    soa_derive_impl as sd, typed_arrow_impl as ta,
};
use soa_bench::fixed::{OrderFixedSoA, fixed_soa};
use soa_bench::plain::plain_soa;
use soa_bench::{Order, OrderSoA, orders, parquet_io, scan};
use soa_runtime::ToArrow;

fn rows() -> usize {
    std::env::var("SOA_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(soa_bench::ROWS_1M)
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(std::time::Duration::from_secs(1))
}

fn to_arrow(c: &mut Criterion) {
    let data: Vec<Order> = orders(rows());
    let soa: OrderSoA = data.clone().into();
    let mut g = c.benchmark_group("1_rows_to_batch");
    g.bench_function("ours_move", |b| {
        b.iter_batched(
            || data.clone(),
            |r| OrderSoA::from(r).into_record_batch().unwrap(),
            BatchSize::PerIteration,
        )
    });
    g.bench_function("handwritten_presized", |b| {
        b.iter(|| hw::rows_to_batch(black_box(&data)))
    });
    let fields = sa::fields();
    let srows: Vec<sa::SOrder> = data.iter().map(sa::SOrder::from).collect();
    g.bench_function("serde_arrow", |b| {
        b.iter(|| sa::to_batch(&fields, black_box(&srows)))
    });
    drop(srows);
    let crows: Vec<ac::COrder> = data.iter().map(ac::COrder::from).collect();
    g.bench_function("arrow_convert", |b| {
        b.iter(|| ac::to_batch(black_box(&crows)))
    });
    drop(crows);
    let trows: Vec<ta::TOrder> = data.iter().map(ta::TOrder::from).collect();
    g.bench_function("typed_arrow", |b| {
        b.iter_batched(|| trows.clone(), ta::to_batch, BatchSize::PerIteration)
    });
    drop(trows);
    g.finish();

    let mut g = c.benchmark_group("2_soa_to_batch");
    g.bench_function("ours_into_record_batch", |b| {
        b.iter_batched(
            || soa.clone(),
            |s| s.into_record_batch().unwrap(),
            BatchSize::PerIteration,
        )
    });
    g.bench_function("ours_to_record_batch", |b| {
        b.iter(|| soa.to_record_batch().unwrap())
    });
    // The hand-written baseline moves plain `Vec<String>` columns (no Arrow-shaped strings).
    let plain = plain_soa(&data);
    g.bench_function("handwritten_from_vec", |b| {
        b.iter_batched(|| plain.clone(), hw::soa_to_batch, BatchSize::PerIteration)
    });
    drop(plain);
    let fixed = fixed_soa(&soa);
    g.bench_function("ours_fixed_width_into_record_batch", |b| {
        b.iter_batched(
            || fixed.clone(),
            |s: OrderFixedSoA| s.into_record_batch().unwrap(),
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

fn from_arrow(c: &mut Criterion) {
    let data: Vec<Order> = orders(rows());
    let soa: OrderSoA = data.clone().into();
    let batch = soa.clone().into_record_batch().unwrap();
    let mut g = c.benchmark_group("3_batch_to_typed");
    g.bench_function("ours_from_record_batch", |b| {
        b.iter(|| OrderSoA::from_record_batch(black_box(&batch)).unwrap())
    });
    g.bench_function("ours_try_from_record_batch", |b| {
        b.iter_batched(
            || soa.clone().into_record_batch().unwrap(),
            |b| OrderSoA::try_from_record_batch(b).unwrap(),
            BatchSize::PerIteration,
        )
    });
    g.bench_function("handwritten_rows", |b| {
        b.iter(|| hw::batch_to_rows(black_box(&batch)))
    });
    g.bench_function("serde_arrow", |b| {
        b.iter(|| sa::from_batch(black_box(&batch)))
    });
    let cbatch = ac::to_batch(&data.iter().map(ac::COrder::from).collect::<Vec<_>>());
    g.bench_function("arrow_convert", |b| {
        b.iter(|| ac::from_batch(black_box(&cbatch)))
    });
    let tbatch = ta::to_batch(data.iter().map(ta::TOrder::from).collect());
    g.bench_function("typed_arrow_views", |b| {
        b.iter(|| ta::from_batch(black_box(&tbatch)))
    });
    g.finish();
}

fn parquet(c: &mut Criterion) {
    let data: Vec<Order> = orders(rows());
    let batch = OrderSoA::from(data.clone()).into_record_batch().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.parquet");
    let batches = std::slice::from_ref(&batch);
    let mut g = c.benchmark_group("4_parquet_write_fsync");
    g.bench_function("arrow_rs_zstd1", |b| {
        b.iter(|| parquet_io::write(&path, batches, parquet_io::zstd1_props()))
    });
    g.bench_function("arrow_rs_snappy", |b| {
        b.iter(|| parquet_io::write(&path, batches, parquet_io::snappy_props()))
    });
    g.bench_function("arrow_rs_default", |b| {
        b.iter(|| parquet_io::write(&path, batches, parquet_io::default_props()))
    });
    let prows: Vec<pd::POrder> = data.iter().map(pd::POrder::from).collect();
    let ppath = dir.path().join("p.parquet");
    g.bench_function("parquet_derive_zstd1", |b| {
        b.iter(|| pd::write(&ppath, &prows, parquet_io::zstd1_props()))
    });
    g.finish();
    parquet_io::write(&path, batches, parquet_io::zstd1_props());
    let mut g = c.benchmark_group("5_parquet_read");
    g.bench_function("arrow_rs", |b| b.iter(|| parquet_io::read(&path, None)));
    g.finish();
    let mut g = c.benchmark_group("6_count");
    g.bench_function("arrow_rs_footer", |b| b.iter(|| parquet_io::count(&path)));
    g.finish();
}

fn scans(c: &mut Criterion) {
    let data: Vec<Order> = orders(rows());
    let soa: OrderSoA = data.clone().into();
    let dvec = sd::from_rows(data.clone());
    let mut g = c.benchmark_group("7_scan");
    g.bench_function("ours_soa", |b| b.iter(|| scan::soa(black_box(&soa))));
    g.bench_function("vec_of_orders", |b| b.iter(|| scan::rows(black_box(&data))));
    g.bench_function("soa_derive", |b| {
        b.iter(|| scan::soa_derive(black_box(&dvec)))
    });
    g.finish();
}

#[cfg(feature = "arrow-store")]
fn stores(c: &mut Criterion) {
    soa_bench::stores::criterion(c, rows());
}
#[cfg(not(feature = "arrow-store"))]
fn stores(_: &mut Criterion) {}

criterion_group! { name = benches; config = config(); targets = to_arrow, from_arrow, parquet, scans, stores }
criterion_main!(benches);

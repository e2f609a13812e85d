//! Runs one of our workloads in a loop, for `perf record` / callgrind:
//! `perf record -g target/release/profile into 20` (workloads: rows, batchrows, directrows, hwrows, builders, transpose, borrowed, into, to, from, append, save, load, breakdown).

use std::hint::black_box;

use soa_bench::{OrderSoA, orders};
use soa_runtime::ToArrow;

fn main() {
    // As the report does: glibc's mmap threshold fixed (see `timing::fixed_mmap_threshold`).
    soa_bench::timing::fixed_mmap_threshold();
    let mut args = std::env::args().skip(1);
    let what = args.next().unwrap_or_else(|| "into".to_owned());
    let iters: usize = args.next().and_then(|v| v.parse().ok()).unwrap_or(10);
    // `SOA_PROFILE_ROWS` (default 1M) rows.
    let n = std::env::var("SOA_PROFILE_ROWS")
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(1_000_000);
    let rows = orders(n);
    let soa: OrderSoA = rows.clone().into();
    let batch = soa.clone().into_record_batch().expect("batch");
    match what.as_str() {
        "rows" => (0..iters)
            .for_each(|_| drop(black_box(OrderSoA::from(rows.clone()).into_record_batch()))),
        "builders" => (0..iters).for_each(|_| {
            drop(black_box(
                soa_bench::competitors::handwritten::rows_to_batch(&rows),
            ))
        }),
        "transpose" => (0..iters).for_each(|_| drop(black_box(OrderSoA::from(&rows[..])))),
        "borrowed" => {
            (0..iters).for_each(|_| drop(black_box(OrderSoA::from(&rows[..]).into_record_batch())))
        }
        "into" => (0..iters).for_each(|_| drop(black_box(soa.clone().into_record_batch()))),
        "to" => (0..iters).for_each(|_| drop(black_box(soa.to_record_batch()))),
        "from" => (0..iters).for_each(|_| drop(black_box(OrderSoA::from_record_batch(&batch)))),
        "batchrows" => (0..iters).for_each(|_| {
            drop(black_box(
                OrderSoA::from_record_batch(&batch).map(OrderSoA::into_rows),
            ))
        }),
        "directrows" => {
            (0..iters).for_each(|_| drop(black_box(OrderSoA::rows_from_record_batch(&batch))))
        }
        "hwrows" => (0..iters).for_each(|_| {
            drop(black_box(
                soa_bench::competitors::handwritten::batch_to_rows(&batch),
            ))
        }),
        "append" => {
            let chunk = soa.slice(0..100);
            let store = soa_runtime::ArrowStore::<soa_bench::Order>::new();
            let rt = tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("rt");
            for _ in 0..iters * 10_000 {
                rt.block_on(soa_runtime::StoreExt::append(&store, &chunk))
                    .expect("append");
            }
        }
        "save" => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .build()
                .expect("rt");
            let dir = tempfile::tempdir().expect("tmp");
            // `SOA_PROFILE_SAVE`: comma-separated options (`nodict`, `chunkstats`, `noindex`,
            // `v1`) on top of the defaults; each save timed, with the file size.
            let opts = std::env::var("SOA_PROFILE_SAVE").unwrap_or_default();
            for i in 0..iters {
                let path = dir.path().join(i.to_string());
                let mut builder = soa_runtime::ParquetStore::<soa_bench::Order>::builder(&path);
                for opt in opts.split(',').filter(|o| !o.is_empty()) {
                    builder = match opt {
                        "nodict" => builder.dictionary(false),
                        "chunkstats" => {
                            builder.statistics(soa_runtime::store::parquet::Statistics::Chunk)
                        }
                        "noindex" => builder.page_index(false),
                        "v1" => builder.parquet_v2(false),
                        other => panic!("unknown save option {other}"),
                    };
                }
                let store = rt.block_on(builder.create()).expect("create");
                let t = std::time::Instant::now();
                rt.block_on(soa_runtime::StoreExt::save(&store, &soa))
                    .expect("save");
                eprintln!(
                    "{:?} {} bytes",
                    t.elapsed(),
                    soa_runtime::Store::stats(&store).bytes
                );
            }
        }
        "load" => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .build()
                .expect("rt");
            let dir = tempfile::tempdir().expect("tmp");
            let store = rt
                .block_on(soa_runtime::ParquetStore::<soa_bench::Order>::create(
                    dir.path().join("load"),
                ))
                .expect("create");
            rt.block_on(soa_runtime::StoreExt::save(&store, &soa))
                .expect("save");
            let mode = std::env::var("SOA_PROFILE_LOAD").unwrap_or_default();
            for _ in 0..iters {
                let t = std::time::Instant::now();
                if mode.is_empty() {
                    drop(black_box(
                        rt.block_on(soa_runtime::StoreExt::load(&store))
                            .expect("load"),
                    ));
                } else {
                    // `SOA_PROFILE_LOAD=<batch rows>`: the scan alone, batches dropped.
                    let rows: usize = mode.parse().expect("SOA_PROFILE_LOAD rows");
                    rt.block_on(async {
                        use futures::StreamExt;
                        let mut stream = soa_runtime::Store::scan_with(
                            &store,
                            soa_runtime::store::ScanOptions::new().batch_size(rows),
                        )
                        .await
                        .expect("scan");
                        while let Some(b) = stream.next().await {
                            drop(black_box(b.expect("batch")));
                        }
                    });
                }
                eprintln!("{:?}", t.elapsed());
            }
        }
        "breakdown" => breakdown(&soa, iters),
        other => panic!("unknown workload {other}"),
    }
}

/// Median time of each column's conversion at 1M rows (setup untimed), to attribute the cost of
/// `into_record_batch` / `to_record_batch` to columns.
fn breakdown(soa: &OrderSoA, reps: usize) {
    let soa = &soa_bench::plain::plain_soa(&soa.clone().into_rows());
    use soa_bench::report::fmt_dur;
    use soa_bench::timing::measure;
    use soa_runtime::ArrowField;
    let reps = reps.max(5);
    let show = |name: &str, s: soa_bench::timing::Sample| {
        println!("{name:<55} {:>12}", fmt_dur(s.median()))
    };
    show(
        "u64 order_id into_array (move)",
        measure(reps, true, || soa.order_id.clone(), u64::into_array),
    );
    show(
        "String symbol to_array (borrowed)",
        measure(reps, true, || (), |()| String::to_array(&soa.symbol)),
    );
    show(
        "String symbol into_array (move: + drop of the Strings)",
        measure(reps, true, || soa.symbol.clone(), String::into_array),
    );
    show(
        "drop Vec<String> symbol alone",
        measure(reps, true, || soa.symbol.clone(), drop),
    );
    show(
        "Option<String> note to_array",
        measure(
            reps,
            true,
            || (),
            |()| <Option<String>>::to_array(&soa.note),
        ),
    );
    show(
        "Option<String> note into_array (move)",
        measure(
            reps,
            true,
            || soa.note.clone(),
            <Option<String>>::into_array,
        ),
    );
    show(
        "drop Vec<Option<String>> note alone",
        measure(reps, true, || soa.note.clone(), drop),
    );
    show(
        "Side enum to_array",
        measure(reps, true, || (), |()| soa_bench::Side::to_array(&soa.side)),
    );
    show(
        "bool filled to_array",
        measure(reps, true, || (), |()| bool::to_array(&soa.filled)),
    );
    show(
        "whole into_record_batch",
        measure(reps, true, || soa.clone(), |s| s.into_record_batch()),
    );
    show(
        "whole to_record_batch",
        measure(reps, true, || (), |()| soa.to_record_batch()),
    );
    // Alternatives a fix could use.
    show(
        "alt: StringArray::from_iter_values(symbol) (no re-validation)",
        measure(
            reps,
            true,
            || (),
            |()| arrow_array::StringArray::from_iter_values(soa.symbol.iter()),
        ),
    );
    show(
        "alt: StringBuilder presized, append_option(note)",
        measure(
            reps,
            true,
            || (),
            |()| {
                let bytes: usize = soa.note.iter().flatten().map(String::len).sum();
                let mut b =
                    arrow_array::builder::StringBuilder::with_capacity(soa.note.len(), bytes);
                for v in &soa.note {
                    b.append_option(v.as_deref());
                }
                b.finish()
            },
        ),
    );
    show(
        "alt: BooleanBuffer::collect_bool(filled)",
        measure(
            reps,
            true,
            || (),
            |()| arrow_buffer::BooleanBuffer::collect_bool(soa.filled.len(), |i| soa.filled[i]),
        ),
    );
    show(
        "alt: enum keys Vec<i8> only",
        measure(
            reps,
            true,
            || (),
            |()| soa.side.iter().map(|s| *s as i8).collect::<Vec<i8>>(),
        ),
    );
    let rows = soa.clone().into_rows();
    show(
        "transpose Vec<Order> -> OrderSoA (From)",
        measure(
            reps,
            true,
            || rows.clone(),
            soa_bench::plain::OrderPlainSoA::from,
        ),
    );
    show(
        "drop Vec<Order>",
        measure(reps, true, || rows.clone(), drop),
    );
}

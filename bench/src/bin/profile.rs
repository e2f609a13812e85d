//! Runs one of our workloads in a loop, for `perf record` / callgrind:
//! `perf record -g target/release/profile into 20` (workloads: rows, batchrows, directrows, hwrows, rawfixed, split (workload 1's parts, interleaved), split3 (workload 3's parts, interleaved), save2 (row-group-parallel ceiling of the write), builders, transpose, borrowed, into, to, from, append, save, load, breakdown).

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
            let (rt, _dir, store) = saved_store(&soa);
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
        "rawfixed" => {
            // Experiment: the fixed-width columns decoded (a) by the arrow reader in 64 Ki-row
            // batches then appended to Vecs reserved for every row (what `load()` does), (b) by
            // parquet's typed column readers straight into those Vecs.
            let (_rt, dir, _store) = saved_store(&soa);
            let file = std::fs::read_dir(dir.path().join("load"))
                .expect("dir")
                .filter_map(Result::ok)
                .map(|e| e.path())
                .find(|p| p.extension().is_some_and(|x| x == "parquet"))
                .expect("file");
            let open = || std::fs::File::open(&file).expect("open");
            let names = [
                "order_id",
                "customer_id",
                "quantity",
                "unit_price",
                "ts_micros",
            ];
            for _ in 0..iters {
                let t = std::time::Instant::now();
                {
                    use arrow_array::cast::AsArray;
                    let builder =
                        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
                            open(),
                        )
                        .expect("builder");
                    let rows = builder.metadata().file_metadata().num_rows() as usize;
                    let leaves: Vec<usize> = names
                        .iter()
                        .map(|n| builder.schema().index_of(n).expect("col"))
                        .collect();
                    let mask =
                        parquet::arrow::ProjectionMask::roots(builder.parquet_schema(), leaves);
                    let reader = builder
                        .with_projection(mask)
                        .with_batch_size(65536)
                        .build()
                        .expect("reader");
                    let mut a: Vec<u64> = Vec::with_capacity(rows);
                    let mut b: Vec<u32> = Vec::with_capacity(rows);
                    let mut c: Vec<u32> = Vec::with_capacity(rows);
                    let mut d: Vec<f64> = Vec::with_capacity(rows);
                    let mut e: Vec<i64> = Vec::with_capacity(rows);
                    for batch in reader {
                        let batch = batch.expect("batch");
                        a.extend_from_slice(
                            batch
                                .column(0)
                                .as_primitive::<arrow_array::types::UInt64Type>()
                                .values(),
                        );
                        b.extend_from_slice(
                            batch
                                .column(1)
                                .as_primitive::<arrow_array::types::UInt32Type>()
                                .values(),
                        );
                        c.extend_from_slice(
                            batch
                                .column(2)
                                .as_primitive::<arrow_array::types::UInt32Type>()
                                .values(),
                        );
                        d.extend_from_slice(
                            batch
                                .column(3)
                                .as_primitive::<arrow_array::types::Float64Type>()
                                .values(),
                        );
                        e.extend_from_slice(
                            batch
                                .column(4)
                                .as_primitive::<arrow_array::types::Int64Type>()
                                .values(),
                        );
                    }
                    black_box((a, b, c, d, e));
                }
                let arrow_path = t.elapsed();
                let t = std::time::Instant::now();
                {
                    use parquet::file::reader::FileReader;
                    let reader =
                        parquet::file::serialized_reader::SerializedFileReader::new(open())
                            .expect("reader");
                    let meta = reader.metadata();
                    let rows = meta.file_metadata().num_rows() as usize;
                    let descr = meta.file_metadata().schema_descr();
                    let leaf = |n: &str| {
                        (0..descr.num_columns())
                            .find(|&i| descr.column(i).name() == n)
                            .expect("leaf")
                    };
                    let idx: Vec<usize> = names.iter().map(|n| leaf(n)).collect();
                    let mut a: Vec<i64> = Vec::with_capacity(rows);
                    let mut b: Vec<i32> = Vec::with_capacity(rows);
                    let mut c: Vec<i32> = Vec::with_capacity(rows);
                    let mut d: Vec<f64> = Vec::with_capacity(rows);
                    let mut e: Vec<i64> = Vec::with_capacity(rows);
                    for g in 0..meta.num_row_groups() {
                        let rg = reader.get_row_group(g).expect("rg");
                        let n = rg.metadata().num_rows() as usize;
                        macro_rules! col {
                            ($i:expr, $t:ty, $v:expr) => {{
                                let mut r = parquet::column::reader::get_typed_column_reader::<$t>(
                                    rg.get_column_reader(idx[$i]).expect("col"),
                                );
                                let mut left = n;
                                while left > 0 {
                                    let (recs, _, _) =
                                        r.read_records(left, None, None, $v).expect("read");
                                    if recs == 0 {
                                        break;
                                    }
                                    left -= recs;
                                }
                            }};
                        }
                        col!(0, parquet::data_type::Int64Type, &mut a);
                        col!(1, parquet::data_type::Int32Type, &mut b);
                        col!(2, parquet::data_type::Int32Type, &mut c);
                        col!(3, parquet::data_type::DoubleType, &mut d);
                        col!(4, parquet::data_type::Int64Type, &mut e);
                    }
                    assert_eq!(a.len(), rows);
                    assert_eq!(e.len(), rows);
                    black_box((a, b, c, d, e));
                }
                let direct = t.elapsed();
                eprintln!(
                    "arrow reader + append {arrow_path:?}   typed column readers into Vecs {direct:?}"
                );
            }
        }
        "breakdown" => breakdown(&soa, iters),
        "save2" => {
            // The ceiling of encoding row groups in parallel: one save with `threads(t)` against
            // two single-threaded saves of half the rows each, run at the same time.
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .build()
                .expect("rt");
            let dir = tempfile::tempdir().expect("tmp");
            let half = soa.len() / 2;
            let (a, b) = (soa.slice(0..half), soa.slice(half..soa.len()));
            for i in 0..iters {
                for threads in [1, 2] {
                    let path = dir.path().join(format!("one{i}_{threads}"));
                    let store = rt
                        .block_on(
                            soa_runtime::ParquetStore::<soa_bench::Order>::builder(&path)
                                .threads(threads)
                                .create(),
                        )
                        .expect("create");
                    let t = std::time::Instant::now();
                    rt.block_on(soa_runtime::StoreExt::save(&store, &soa))
                        .expect("save");
                    eprintln!("one save, threads({threads}): {:?}", t.elapsed());
                }
                let stores: Vec<_> = ["a", "b"]
                    .iter()
                    .map(|h| {
                        rt.block_on(
                            soa_runtime::ParquetStore::<soa_bench::Order>::builder(
                                dir.path().join(format!("{h}{i}")),
                            )
                            .threads(1)
                            .create(),
                        )
                        .expect("create")
                    })
                    .collect();
                let t = std::time::Instant::now();
                std::thread::scope(|scope| {
                    for (store, part) in stores.iter().zip([&a, &b]) {
                        let rt = &rt;
                        scope.spawn(move || {
                            rt.block_on(soa_runtime::StoreExt::save(store, part))
                                .expect("save")
                        });
                    }
                });
                eprintln!("two half saves at once, threads(1) each: {:?}", t.elapsed());
            }
        }
        "split3" => {
            use soa_bench::timing::{measure_interleaved, rep};
            let mut runs = vec![
                rep(|| (), |()| OrderSoA::from_record_batch(&batch)),
                rep(
                    || (),
                    |()| OrderSoA::from_record_batch(&batch).map(OrderSoA::into_rows),
                ),
                rep(
                    || OrderSoA::from_record_batch(&batch).expect("soa"),
                    OrderSoA::into_rows,
                ),
                rep(|| (), |()| OrderSoA::rows_from_record_batch(&batch)),
                rep(
                    || (),
                    |()| soa_bench::competitors::handwritten::batch_to_rows(&batch),
                ),
            ];
            let s = measure_interleaved(iters, &mut runs);
            for (name, s) in [
                "from",
                "from+into_rows",
                "into_rows (fresh soa)",
                "direct",
                "hand-written",
            ]
            .iter()
            .zip(s)
            {
                eprintln!("{name:<22} {:?}", s.median());
            }
        }
        "split" => {
            use soa_bench::timing::{measure_interleaved, rep};
            let mut runs = vec![
                rep(|| (), |()| OrderSoA::from(&rows[..])),
                rep(|| (), |()| OrderSoA::from(&rows[..]).into_record_batch()),
                rep(|| OrderSoA::from(&rows[..]), |s| s.into_record_batch()),
                rep(
                    || (),
                    |()| soa_bench::competitors::handwritten::rows_to_batch(&rows),
                ),
                rep(|| rows.to_vec(), |r| OrderSoA::from(r).into_record_batch()),
            ];
            let s = measure_interleaved(iters, &mut runs);
            for (name, s) in [
                "transpose",
                "transpose+into",
                "into (fresh soa)",
                "builders",
                "by move",
            ]
            .iter()
            .zip(s)
            {
                eprintln!("{name:<20} {:?}", s.median());
            }
        }
        other => panic!("unknown workload {other}"),
    }
}

/// A two-worker runtime and a `ParquetStore` (in a temporary directory, under `load/`) holding
/// `soa`: the setup of the `load` and `rawfixed` workloads, untimed.
fn saved_store(
    soa: &OrderSoA,
) -> (
    tokio::runtime::Runtime,
    tempfile::TempDir,
    soa_runtime::ParquetStore<soa_bench::Order>,
) {
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
    rt.block_on(soa_runtime::StoreExt::save(&store, soa))
        .expect("save");
    (rt, dir, store)
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

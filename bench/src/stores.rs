//! Workloads with our stores: ParquetStore write / read / count (4, 5, 6) and ArrowStore append
//! latency under concurrent readers (8).

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use arrow_array::RecordBatch;
use futures::StreamExt;
use soa_runtime::{ArrowStore, Store, StoreExt, ToArrow};

use crate::report::{Report, fmt_dur};
use crate::timing::Sample;
use crate::{Order, OrderSoA};

const T8: &str = "ArrowStore append of a 100-row batch";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Runs the store workloads for one row count. `read_store` is the store written by
/// [`write_read_store`] for this row count: workloads 5 and 6 read and count it (every reader of
/// the report reads its one data file). It is removed at the end.
pub fn run(
    report: &mut Report,
    data: &Path,
    soa: &OrderSoA,
    read_store: Option<&Path>,
    reps: usize,
    large: bool,
    wants: impl Fn(&str) -> bool,
) {
    #[cfg(feature = "parquet-store")]
    parquet_store(report, data, soa, read_store, reps, &wants);
    #[cfg(not(feature = "parquet-store"))]
    let _ = (data, read_store, reps);
    // Appends of 100-row batches to an empty store: independent of the row count (the chunks
    // are the first 200k rows at every size), so measured once.
    if !large && wants("8") {
        arrow_store(report, soa);
    }
}

/// Writes the file every Parquet reader of the report reads (workloads 5 and 6): a
/// `ParquetStore` in `data/store_<n>` saved with ZSTD(1), one data file. Returns the store
/// directory and the path of its data file.
///
/// # Panics
/// On a store error, or if the store wrote more than one data file.
#[cfg(feature = "parquet-store")]
#[must_use]
pub fn write_read_store(data: &Path, soa: &OrderSoA) -> (std::path::PathBuf, std::path::PathBuf) {
    use soa_runtime::ParquetStore;
    use soa_runtime::store::parquet::Codec;

    let rt = runtime();
    let dir = data.join(format!("store_{}", soa.len()));
    let _ = std::fs::remove_dir_all(&dir);
    let files = rt.block_on(async {
        let store = ParquetStore::<Order>::builder(&dir)
            .compression(Codec::Zstd(1))
            .create()
            .await
            .expect("create");
        store.save(soa).await.expect("save");
        store.files().await
    });
    let [file] = files.as_slice() else {
        panic!(
            "the read store {} holds {} data files, expected one",
            dir.display(),
            files.len()
        );
    };
    let path = dir.join(&file.name);
    (dir, path)
}

#[cfg(feature = "parquet-store")]
fn parquet_store(
    report: &mut Report,
    data: &Path,
    soa: &OrderSoA,
    read_store: Option<&Path>,
    reps: usize,
    wants: &dyn Fn(&str) -> bool,
) {
    use soa_runtime::ParquetStore;
    use soa_runtime::store::parquet::Codec;

    use crate::report::fmt_mib;
    use crate::timing::measure;

    const T4Z: &str = "Parquet write ZSTD(1) + fsync";
    const T4S: &str = "Parquet write SNAPPY + fsync";
    const T5: &str = "Parquet read, whole file";
    const T6: &str = "count()";

    let rt = runtime();
    let n = soa.len();
    let dir_size = |dir: &Path| -> u64 {
        std::fs::read_dir(dir)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .filter(|e| e.file_name().to_string_lossy().ends_with(".parquet"))
                    .map(|e| e.metadata().map(|m| m.len()).unwrap_or(0))
                    .sum()
            })
            .unwrap_or(0)
    };
    if wants("4") {
        eprintln!("-- 4 ParquetStore write");
        // Each repetition writes into a fresh directory (setup, untimed); the directory is
        // removed when the output is dropped, after the timing. The peers do the same.
        for (w, title, codec) in [("4z", T4Z, Codec::Zstd(1)), ("4s", T4S, Codec::Snappy)] {
            let mut size = 0;
            let s = measure(
                reps,
                true,
                || tempfile::tempdir_in(data).expect("tempdir"),
                |dir| {
                    rt.block_on(async {
                        let store = ParquetStore::<Order>::builder(dir.path())
                            .compression(codec)
                            .create()
                            .await
                            .expect("create");
                        store.save(soa).await.expect("save");
                    });
                    size = dir_size(dir.path());
                    dir
                },
            );
            let name = if w == "4z" {
                "ours: ParquetStore save ZSTD(1)"
            } else {
                "ours: ParquetStore save SNAPPY"
            };
            report.add(w, title, n, name, true, true, &s, fmt_mib(size));
            let s = measure(
                reps,
                true,
                || (tempfile::tempdir_in(data).expect("tempdir"), soa.clone()),
                |(dir, soa)| {
                    rt.block_on(async {
                        let store = ParquetStore::<Order>::builder(dir.path())
                            .compression(codec)
                            .create()
                            .await
                            .expect("create");
                        store.save_owned(soa).await.expect("save");
                    });
                    dir
                },
            );
            report.add(
                w,
                title,
                n,
                &format!("{name} (save_owned, by move)"),
                true,
                false,
                &s,
                "",
            );
        }
    }
    // The store of the file every reader reads (written before any read workload, see
    // `write_read_store`).
    let Some(dir) = read_store else {
        return;
    };
    let store = rt.block_on(ParquetStore::<Order>::open(dir)).expect("open");
    if wants("5") {
        eprintln!("-- 5 ParquetStore read");
        let s = measure(
            reps,
            true,
            || (),
            |()| rt.block_on(store.load()).expect("load"),
        );
        report.add(
            "5",
            T5,
            n,
            "ours: ParquetStore load() -> OrderSoA",
            true,
            true,
            &s,
            fmt_mib(dir_size(dir)),
        );
        let s = measure(
            reps,
            true,
            || (),
            |()| {
                rt.block_on(async {
                    let mut stream = store.scan().await.expect("scan");
                    let mut rows = 0;
                    while let Some(b) = stream.next().await {
                        rows += b.expect("batch").num_rows();
                    }
                    rows
                })
            },
        );
        report.add(
            "5",
            T5,
            n,
            "ours: ParquetStore scan() (batches, not kept)",
            true,
            false,
            &s,
            "",
        );
    }
    if wants("6") {
        // Like the peers (which open the file and read its footer), ours starts from the
        // directory: a cold `open()` (manifest read and checked) inside the timing.
        let s = measure(
            reps.max(9),
            true,
            || (),
            |()| {
                rt.block_on(async {
                    ParquetStore::<Order>::open(dir)
                        .await
                        .expect("open")
                        .count()
                        .await
                        .expect("count")
                })
            },
        );
        report.add(
            "6",
            T6,
            n,
            "ours: ParquetStore::open(dir) + count() (cold open)",
            true,
            true,
            &s,
            "",
        );
        let s = measure(
            reps.max(9),
            true,
            || (),
            |()| rt.block_on(store.count()).expect("count"),
        );
        report.add(
            "6",
            T6,
            n,
            "ours: count() on an already open ParquetStore",
            true,
            false,
            &s,
            "number held in memory, no I/O: not comparable",
        );
    }
    drop(store);
    let _ = std::fs::remove_dir_all(dir);
}

/// Latency percentiles of one append run.
struct Latencies {
    p50: Duration,
    p99: Duration,
    max: Duration,
    rows_per_s: f64,
    reader_scans: u64,
}

fn percentiles(mut lat: Vec<Duration>, total: Duration, rows: usize, scans: u64) -> Latencies {
    lat.sort();
    let pick = |q: f64| lat[((lat.len() as f64 - 1.0) * q).round() as usize];
    Latencies {
        p50: pick(0.50),
        p99: pick(0.99),
        max: *lat.last().expect("latencies"),
        rows_per_s: rows as f64 / total.as_secs_f64(),
        reader_scans: scans,
    }
}

/// A naive shared store for reference: `RwLock<Vec<RecordBatch>>`, readers clone the list.
#[derive(Default, Clone)]
struct NaiveStore(Arc<RwLock<Vec<RecordBatch>>>);

enum Target {
    Ours(ArrowStore<Order>),
    OursOwned(ArrowStore<Order>),
    Naive(NaiveStore),
}

/// Appends every chunk, timing each append, while `readers` threads scan the store in a loop.
fn append_run(
    target: &Target,
    chunks: &[OrderSoA],
    readers: usize,
    pause: Option<Duration>,
) -> Latencies {
    let stop = Arc::new(AtomicBool::new(false));
    let scans = Arc::new(AtomicU64::new(0));
    let mut handles = Vec::new();
    for _ in 0..readers {
        let stop = Arc::clone(&stop);
        let scans = Arc::clone(&scans);
        let reader: Box<dyn Fn() -> usize + Send> = match target {
            Target::Ours(s) | Target::OursOwned(s) => {
                let s = s.clone();
                let rt = tokio::runtime::Builder::new_current_thread()
                    .build()
                    .expect("rt");
                Box::new(move || {
                    rt.block_on(async {
                        let mut stream = s.scan().await.expect("scan");
                        let mut rows = 0;
                        while let Some(b) = stream.next().await {
                            rows += b.expect("batch").num_rows();
                        }
                        rows
                    })
                })
            }
            Target::Naive(s) => {
                let s = s.clone();
                Box::new(move || {
                    let batches = s.0.read().expect("lock").clone();
                    batches.iter().map(RecordBatch::num_rows).sum()
                })
            }
        };
        handles.push(std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::hint::black_box(reader());
                scans.fetch_add(1, Ordering::Relaxed);
                if let Some(p) = pause {
                    std::thread::sleep(p);
                }
            }
        }));
    }
    // Let the readers start.
    std::thread::sleep(Duration::from_millis(20));
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("rt");
    let mut lat = Vec::with_capacity(chunks.len());
    rt.block_on(async {
        for c in chunks {
            match target {
                Target::Ours(s) => {
                    let t = Instant::now();
                    s.append(c).await.expect("append");
                    lat.push(t.elapsed());
                }
                Target::OursOwned(s) => {
                    let c = c.clone();
                    let t = Instant::now();
                    s.append_owned(c).await.expect("append");
                    lat.push(t.elapsed());
                }
                Target::Naive(s) => {
                    let t = Instant::now();
                    let b = c.to_record_batch().expect("batch");
                    s.0.write().expect("lock").push(b);
                    lat.push(t.elapsed());
                }
            }
        }
    });
    let total: Duration = lat.iter().sum();
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        h.join().expect("reader");
    }
    percentiles(
        lat,
        total,
        chunks.len() * 100,
        scans.load(Ordering::Relaxed),
    )
}

fn arrow_store(report: &mut Report, soa: &OrderSoA) {
    eprintln!("-- 8 {T8}");
    // 2,000 batches of 100 rows (200k rows) per run.
    let batches = 2_000.min(soa.len() / 100);
    let chunks: Vec<OrderSoA> = (0..batches)
        .map(|i| soa.slice(i * 100..(i + 1) * 100))
        .collect();
    let one = |d: Duration| Sample { runs: vec![d] };
    for (readers, pause, label) in [
        (0, None, "no readers"),
        (2, None, "2 concurrent readers scanning in a loop"),
        (
            2,
            Some(Duration::from_micros(200)),
            "2 concurrent readers, 200 µs pause between scans",
        ),
    ] {
        for (kind, name) in [
            (0, "ours: ArrowStore::append(&soa)"),
            (1, "ours: ArrowStore::append_owned(soa)"),
            (
                2,
                "reference: RwLock<Vec<RecordBatch>>, readers clone the list",
            ),
        ] {
            let fresh = || match kind {
                0 => Target::Ours(ArrowStore::new()),
                1 => Target::OursOwned(ArrowStore::new()),
                _ => Target::Naive(NaiveStore::default()),
            };
            // Median over 3 runs of each percentile.
            let runs: Vec<Latencies> = (0..3)
                .map(|_| append_run(&fresh(), &chunks, readers, pause))
                .collect();
            let med = |f: &dyn Fn(&Latencies) -> Duration| {
                let mut v: Vec<Duration> = runs.iter().map(f).collect();
                v.sort();
                v[1]
            };
            let thr = {
                let mut v: Vec<f64> = runs.iter().map(|l| l.rows_per_s).collect();
                v.sort_by(f64::total_cmp);
                v[1]
            };
            let scans: u64 = runs.iter().map(|l| l.reader_scans).sum::<u64>() / 3;
            let ours = !name.starts_with("reference");
            let primary = name == "ours: ArrowStore::append(&soa)";
            let note = format!(
                "{label}; max {}; {:.2} M rows/s while appending; {scans} reader scans",
                fmt_dur(med(&|l| l.max)),
                thr / 1e6
            );
            let w = match readers {
                0 => "8",
                _ if pause.is_none() => "8r",
                _ => "8p",
            };
            report.add(
                &format!("{w}-p50"),
                &format!("{T8}, p50, {label}"),
                100,
                name,
                ours,
                primary,
                &one(med(&|l| l.p50)),
                note.clone(),
            );
            report.add(
                &format!("{w}-p99"),
                &format!("{T8}, p99, {label}"),
                100,
                name,
                ours,
                primary,
                &one(med(&|l| l.p99)),
                note,
            );
        }
    }
}

/// Criterion benches of the store workloads.
pub fn criterion(c: &mut criterion::Criterion, rows: usize) {
    let soa: OrderSoA = crate::orders(rows).into();
    let chunk = soa.slice(0..100);
    let store = ArrowStore::<Order>::new();
    let rt = runtime();
    let mut g = c.benchmark_group("8_arrow_store_append");
    g.bench_function("append_100_rows", |b| {
        b.iter(|| rt.block_on(store.append(&chunk)).expect("append"))
    });
    g.finish();
    #[cfg(feature = "parquet-store")]
    {
        use soa_runtime::ParquetStore;
        let mut g = c.benchmark_group("4_parquet_store");
        g.bench_function("save_zstd1", |b| {
            b.iter_batched(
                || tempfile::tempdir().expect("tempdir"),
                |dir| {
                    rt.block_on(async {
                        let s = ParquetStore::<Order>::builder(dir.path())
                            .create()
                            .await
                            .expect("create");
                        s.save(&soa).await.expect("save");
                    });
                    dir
                },
                criterion::BatchSize::PerIteration,
            )
        });
        g.finish();
    }
}

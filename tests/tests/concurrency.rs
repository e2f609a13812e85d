//! Concurrency: 8 tasks append 100 000 rows each to one `ArrowStore` (in batches of varying size,
//! through `append`, `append_owned` and `append_batch`) while 2 tasks scan and load in a loop.
//! Every batch a reader sees is whole (all rows of one append, contiguous ids, the advertised
//! length); row counts seen only grow; the final count and the multiset of ids are exact.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use futures::StreamExt;
use soa_runtime::StoreExt;
use soa_runtime::arrow::array::{Array, RecordBatch, UInt32Array, UInt64Array};
use soa_runtime::{ArrowStore, Soa, Store, ToArrow};

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
pub struct Item {
    pub id: u64,
    pub writer: u32,
    /// Number of the append within its writer.
    pub batch: u32,
    /// Rows in that append.
    pub batch_len: u32,
    pub note: Option<String>,
}

const WRITERS: u64 = 8;
const ROWS_PER_WRITER: u64 = 100_000;

fn column<'a, A: 'static>(batch: &'a RecordBatch, name: &str) -> &'a A {
    batch
        .column_by_name(name)
        .unwrap()
        .as_any()
        .downcast_ref::<A>()
        .unwrap()
}

/// Checks that `batch` is one whole append; returns its row count.
fn check_whole(batch: &RecordBatch) -> usize {
    let ids = column::<UInt64Array>(batch, "id");
    let writer = column::<UInt32Array>(batch, "writer");
    let number = column::<UInt32Array>(batch, "batch");
    let len = column::<UInt32Array>(batch, "batch_len");
    let n = batch.num_rows();
    assert!(n > 0, "an empty batch is visible");
    assert_eq!(len.value(0) as usize, n, "a partial batch is visible");
    for i in 0..n {
        assert_eq!(
            writer.value(i),
            writer.value(0),
            "rows of two writers in one batch"
        );
        assert_eq!(
            number.value(i),
            number.value(0),
            "rows of two appends in one batch"
        );
        assert_eq!(ids.value(i), ids.value(0) + i as u64, "ids not contiguous");
    }
    n
}

/// Rows `from..to` of writer `w` (append number `batch`).
fn items(w: u64, batch: u32, from: u64, to: u64) -> ItemSoA {
    (from..to)
        .map(|i| Item {
            id: w * ROWS_PER_WRITER + i,
            writer: w as u32,
            batch,
            batch_len: (to - from) as u32,
            note: (i % 3 == 0).then(|| format!("w{w} r{i}")),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_writers_two_scanners_exact_counts_and_whole_batches() {
    let started = Instant::now();
    let store = ArrowStore::<Item>::new();
    let done = Arc::new(AtomicBool::new(false));
    let scans = Arc::new(AtomicUsize::new(0));
    let batches_checked = Arc::new(AtomicUsize::new(0));

    let mut readers = Vec::new();
    for r in 0..2 {
        let (store, done, scans, checked) = (
            store.clone(),
            Arc::clone(&done),
            Arc::clone(&scans),
            Arc::clone(&batches_checked),
        );
        readers.push(tokio::spawn(async move {
            let mut last = 0usize;
            loop {
                let finished = done.load(Ordering::Acquire);
                let mut total = 0;
                if r == 0 || scans.load(Ordering::Relaxed) % 8 != 0 {
                    let mut stream = store.scan().await.unwrap();
                    while let Some(batch) = stream.next().await {
                        total += check_whole(&batch.unwrap());
                        checked.fetch_add(1, Ordering::Relaxed);
                    }
                } else {
                    // load() converts a snapshot: whole appends only, in per-writer order.
                    let all = store.load().await.unwrap();
                    let mut i = 0;
                    while i < all.len() {
                        let n = all.batch_len[i] as usize;
                        assert!(i + n <= all.len(), "a partial append in load()");
                        assert!(all.batch[i..i + n].iter().all(|b| *b == all.batch[i]));
                        i += n;
                    }
                    total = all.len();
                }
                assert!(
                    total >= last,
                    "a later snapshot has fewer rows ({total} < {last})"
                );
                last = total;
                scans.fetch_add(1, Ordering::Relaxed);
                if finished {
                    return last;
                }
                tokio::task::yield_now().await;
            }
        }));
    }

    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let store = store.clone();
        writers.push(tokio::spawn(async move {
            let mut from = 0;
            let mut batch = 0u32;
            while from < ROWS_PER_WRITER {
                // 1 .. 2 500 rows per append, varying per writer and append.
                let size = 1 + (w * 7919 + u64::from(batch) * 104_729) % 2500;
                let to = (from + size).min(ROWS_PER_WRITER);
                let data = items(w, batch, from, to);
                match batch % 3 {
                    0 => store.append(&data).await.unwrap(),
                    1 => store.append_owned(data).await.unwrap(),
                    _ => store
                        .append_batch(data.into_record_batch().unwrap())
                        .unwrap(),
                }
                from = to;
                batch += 1;
                tokio::task::yield_now().await;
            }
            batch
        }));
    }
    let mut appends = 0;
    for w in writers {
        appends += w.await.unwrap();
    }
    done.store(true, Ordering::Release);
    for r in readers {
        let last = r.await.unwrap();
        assert_eq!(
            last as u64,
            WRITERS * ROWS_PER_WRITER,
            "the last scan sees everything"
        );
    }

    let total = WRITERS * ROWS_PER_WRITER;
    assert_eq!(store.count().await.unwrap(), total);
    assert_eq!(store.stats().rows, total);
    assert_eq!(store.stats().batches, u64::from(appends));
    let all = store.load().await.unwrap();
    let mut ids = all.id.clone();
    ids.sort_unstable();
    assert!(
        ids.iter().copied().eq(0..total),
        "the multiset of ids is not exactly 0..{total}"
    );
    println!(
        "{WRITERS} writers x {ROWS_PER_WRITER} rows in {appends} appends, {} scans/loads, {} \
         batches checked whole, in {:.1?}",
        scans.load(Ordering::Relaxed),
        batches_checked.load(Ordering::Relaxed),
        started.elapsed()
    );
}

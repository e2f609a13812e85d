//! `cluster_by`: the rows of each file written grouped by value (stable), so that a predicate on
//! the cluster column reads one page range of a partition; and verified partial reads: a file's
//! footer lists a CRC32 per 16 KiB block, so a pruned or projected read checks only the blocks
//! it reads (damage elsewhere cannot change its answer; damage it reads is `Error::Corrupt`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::TimestampMicrosecondType;
use soa_runtime::Error;
use soa_runtime::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use soa_runtime::prelude::*;
use soa_runtime::store::parquet::ParquetStore;

const DAY: i64 = 86_400_000_000;
/// 2026-01-05 00:00:00 UTC in microseconds.
const T0: i64 = 1_767_571_200_000_000;

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
struct Fill {
    id: u64,
    #[soa(timestamp = "us")]
    ts: i64,
    venue: String,
    size: Option<u32>,
    px: f64,
}

/// `n` fills in time order over `days` days, venues pseudo-random (some unicode, some null
/// sizes).
fn fills(n: usize, days: i64) -> Vec<Fill> {
    let venues = ["XNYS", "XNAS", "BATS", "ÉDGX", "IEX", "ARCA", "MEMX"];
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    (0..n)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            Fill {
                id: i as u64,
                ts: T0 + (i as i64) * (days * DAY / n as i64),
                venue: venues[(x % venues.len() as u64) as usize].to_owned(),
                size: (!x.is_multiple_of(5)).then_some((x % 1000) as u32),
                px: (x % 10_000) as f64 / 100.0,
            }
        })
        .collect()
}

fn parquet_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "parquet") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// `(venue, ts)` of every row of one data file, in file order.
fn file_rows(path: &Path) -> Vec<(String, i64)> {
    let file = std::fs::File::open(path).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch.unwrap();
        let venue = batch.column_by_name("venue").unwrap().as_string::<i32>();
        let ts = batch
            .column_by_name("ts")
            .unwrap()
            .as_primitive::<TimestampMicrosecondType>();
        for i in 0..batch.num_rows() {
            out.push((venue.value(i).to_owned(), ts.value(i)));
        }
    }
    out
}

fn by_id(mut rows: Vec<Fill>) -> Vec<Fill> {
    rows.sort_by_key(|f| f.id);
    rows
}

#[tokio::test]
async fn files_are_clustered_stably_and_queries_read_one_page_range() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("fills");
    let store = ParquetStore::<Fill>::builder(&root)
        .partition_by(["day(ts)"])
        .cluster_by(["venue"])
        .create()
        .await
        .unwrap();
    let rows = fills(300_000, 3);
    // Two appends: each file is clustered on its own.
    store
        .append(&FillSoA::from(&rows[..200_000]))
        .await
        .unwrap();
    store
        .append(&FillSoA::from(&rows[200_000..]))
        .await
        .unwrap();
    let files = parquet_files(&root);
    assert_eq!(files.len(), 3, "{files:?}");
    for file in &files {
        let in_file = file_rows(file);
        for pair in in_file.windows(2) {
            // Venues ascending (byte order); equal venues keep their time order.
            assert!(pair[0] <= pair[1], "{}: {pair:?}", file.display());
        }
    }
    // Every row is there, once.
    assert_eq!(by_id(store.load().await.unwrap().into_rows()), rows);

    // One venue on one day: the partition, then the page range of the venue.
    let c = Fill::col();
    let day = T0 + DAY;
    let pred = c.venue.eq("ÉDGX") & c.ts.ge(day) & c.ts.lt(day + DAY);
    let (got, report) = store.load_where_with_metrics(pred).await.unwrap();
    let expected: Vec<Fill> = rows
        .iter()
        .filter(|f| f.venue == "ÉDGX" && f.ts >= day && f.ts < day + DAY)
        .cloned()
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(by_id(got.into_rows()), expected);
    assert!(report.pages_skipped > 0, "{report:?}");
    assert!(report.rows_scanned < 60_000, "{report:?}");
    let day_bytes = report.bytes_stored / 3;
    assert!(
        report.bytes_read * 2 < day_bytes,
        "verified read of one venue took {} of the day's {day_bytes} bytes: {report:?}",
        report.bytes_read
    );

    // Clustering an unpartitioned store: one file, venues grouped.
    let flat = dir.path().join("flat");
    let store = ParquetStore::<Fill>::builder(&flat)
        .cluster_by(["venue", "px"])
        .create()
        .await
        .unwrap();
    store.append(&FillSoA::from(&rows[..50_000])).await.unwrap();
    let in_file = file_rows(&parquet_files(&flat)[0]);
    let mut firsts: BTreeMap<String, usize> = BTreeMap::new();
    let mut runs = 0;
    for (i, (venue, _)) in in_file.iter().enumerate() {
        if i == 0 || in_file[i - 1].0 != *venue {
            runs += 1;
            firsts.insert(venue.clone(), i);
        }
    }
    assert_eq!(runs, firsts.len(), "one run per venue");
    let got = store.load().await.unwrap().into_rows();
    for pair in got.windows(2) {
        assert!(
            (&pair[0].venue, pair[0].px) <= (&pair[1].venue, pair[1].px),
            "{pair:?}"
        );
    }
    assert_eq!(by_id(got), rows[..50_000].to_vec());

    // One row and no rows.
    let one = dir.path().join("one");
    let store = ParquetStore::<Fill>::builder(&one)
        .partition_by(["day(ts)"])
        .cluster_by(["size"])
        .create()
        .await
        .unwrap();
    store.append(&FillSoA::from(&rows[..1])).await.unwrap();
    store.append(&FillSoA::from(&rows[..0])).await.unwrap();
    assert_eq!(store.load().await.unwrap().into_rows(), rows[..1].to_vec());
}

#[tokio::test]
async fn bad_cluster_columns_are_typed_errors() {
    #[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
    struct Tagged {
        id: u64,
        tags: Vec<String>,
    }
    let dir = tempfile::tempdir().unwrap();
    let err = ParquetStore::<Fill>::builder(dir.path().join("a"))
        .cluster_by(["venu"])
        .create()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::UnknownColumn { type_name: "Fill", column, .. } if column == "venu"),
        "{err}"
    );
    let err = ParquetStore::<Tagged>::builder(dir.path().join("b"))
        .cluster_by(["tags"])
        .create()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::UnsupportedType { type_name: "Tagged", column, .. } if column == "tags"),
        "{err}"
    );
    let err = ParquetStore::<Fill>::builder(dir.path().join("c"))
        .cluster_by(["venue", "venue"])
        .create()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidOption { .. }), "{err}");
}

/// Flips one byte of `path` at `offset`.
fn flip(path: &Path, offset: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[offset] ^= 0x40;
    std::fs::write(path, bytes).unwrap();
}

#[tokio::test]
async fn verified_partial_reads_check_the_blocks_they_read() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("fills");
    let store = ParquetStore::<Fill>::builder(&root)
        .cluster_by(["venue"])
        .create()
        .await
        .unwrap();
    let rows = fills(400_000, 1);
    store.append(&FillSoA::from(&rows[..])).await.unwrap();
    let file = parquet_files(&root)
        .into_iter()
        .find(|p| p.file_name().is_some_and(|n| n != "data.parquet"))
        .unwrap();
    let len = std::fs::metadata(&file).unwrap().len() as usize;
    let c = Fill::col();
    let pred = c.venue.eq("IEX");
    let expected: Vec<Fill> = rows.iter().filter(|f| f.venue == "IEX").cloned().collect();
    let (got, report) = store.load_where_with_metrics(pred.clone()).await.unwrap();
    assert_eq!(by_id(got.into_rows()), expected);
    assert!(report.bytes_read * 2 < report.bytes_stored, "{report:?}");

    let original = std::fs::read(&file).unwrap();
    // Damage in the tail (page index and footer): every read of the file is `Corrupt`.
    flip(&file, len - 20);
    for result in [
        store.load_where(pred.clone()).await.map(|_| ()),
        store.load_columns(&["px"]).await.map(|_| ()),
        store.load().await.map(|_| ()),
    ] {
        assert!(matches!(result, Err(Error::Corrupt { .. })), "{result:?}");
    }
    std::fs::write(&file, &original).unwrap();

    // Damage anywhere: a pruned read is exact or `Corrupt`, never other rows (a streaming scan
    // too); damage in blocks the query does not read leaves its answer exact; a full load or a
    // projection of every column is `Corrupt` whatever the place.
    let (mut exact, mut corrupt) = (0, 0);
    for k in 1..40 {
        let offset = 4 + k * (len - 12) / 40;
        flip(&file, offset);
        match store.load_where(pred.clone()).await {
            Ok(got) => {
                assert_eq!(by_id(got.into_rows()), expected, "flip at {offset}");
                exact += 1;
            }
            Err(Error::Corrupt { path, .. }) => {
                assert_eq!(path, file);
                corrupt += 1;
            }
            Err(other) => panic!("flip at {offset}: {other}"),
        }
        for result in [
            store.load().await.map(|_| ()),
            store
                .load_columns(&["id", "ts", "venue", "size", "px"])
                .await
                .map(|_| ()),
        ] {
            match result {
                Err(Error::Corrupt { path, .. }) => assert_eq!(path, file),
                other => panic!("flip at {offset}: expected Corrupt, got {other:?}"),
            }
        }
        let options = ScanOptions::new().batch_size(4096).predicate(&pred);
        let mut stream = store.scan_with(options).await.unwrap();
        let mut ids = Vec::new();
        let mut failed = false;
        while let Some(batch) = futures::StreamExt::next(&mut stream).await {
            match batch {
                Ok(batch) => {
                    let id = batch.column_by_name("id").unwrap();
                    let id = id.as_primitive::<arrow_array::types::UInt64Type>();
                    ids.extend(id.values().iter().copied());
                }
                Err(Error::Corrupt { .. }) => failed = true,
                Err(other) => panic!("flip at {offset}: {other}"),
            }
        }
        if !failed {
            ids.sort_unstable();
            let want: Vec<u64> = expected.iter().map(|f| f.id).collect();
            assert_eq!(ids, want, "flip at {offset}");
        }
        std::fs::write(&file, &original).unwrap();
    }
    assert!(
        exact >= 10 && corrupt >= 2,
        "{exact} exact, {corrupt} corrupt"
    );
}

/// Verified reads of a column chunk larger than the checked-block cache (4 MiB), columns decoded
/// on two threads sharing it: every block comes back whole (the first block of a run was once
/// looked up again in the cache after the run went in, and a cache cleared meanwhile, by the
/// run itself or by another thread, returned an empty block: a decoder panic).
#[tokio::test]
async fn verified_reads_of_chunks_larger_than_the_block_cache() {
    let dir = tempfile::tempdir().unwrap();
    let store = ParquetStore::<Fill>::create(dir.path().join("big"))
        .await
        .unwrap();
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let rows: Vec<Fill> = (0..700_000u64)
        .map(|id| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            Fill {
                id,
                ts: T0 + id as i64,
                venue: "XNYS".into(),
                size: None,
                px: f64::from_bits(x >> 2),
            }
        })
        .collect();
    store.append(&FillSoA::from(&rows[..])).await.unwrap();
    let batch = store.load_columns(&["px"]).await.unwrap();
    let px = batch
        .column(0)
        .as_primitive::<arrow_array::types::Float64Type>();
    assert_eq!(px.len(), rows.len());
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(px.value(i).to_bits(), r.px.to_bits());
    }
    let c = Fill::col();
    let got = store.load_where(c.id.ge(100)).await.unwrap();
    assert_eq!(got.len(), rows.len() - 100);
}

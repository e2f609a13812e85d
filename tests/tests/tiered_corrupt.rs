//! A damaged write-ahead log under a `TieredStore`: truncations at every offset and bit flips at
//! every region of a segment. Opening gives a typed error (`Error::Corrupt` naming the segment
//! and offset) or recovers the records before the damage (a torn tail is cut cleanly); never a
//! panic, never a row that was not written (the CRC32C of every record is checked).

use std::path::Path;
use std::time::Duration;

use soa_runtime::store::tiered::{FlushPolicy, TieredOptions, TieredStore};
use soa_runtime::store::wal::Recovery;
use soa_runtime::{Error, ParquetStore, Soa, StoreExt, ToArrow};

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
struct Entry {
    id: u64,
    text: String,
}

fn batch(k: u64) -> EntrySoA {
    (0..1 + k % 7)
        .map(|i| Entry {
            id: k * 100 + i,
            text: format!("record {k} row {i} {}", "é".repeat(i as usize)),
        })
        .collect()
}

fn options(recovery: Recovery) -> TieredOptions {
    TieredOptions::new().recovery(recovery).flush(
        FlushPolicy::new()
            .rows(u64::MAX)
            .bytes(u64::MAX)
            .age(Duration::from_secs(3600)),
    )
}

async fn open(
    dir: &Path,
    recovery: Recovery,
) -> soa_runtime::Result<TieredStore<Entry, ParquetStore<Entry>>> {
    let cold = ParquetStore::<Entry>::open_or_create(dir.join("cold")).await?;
    TieredStore::open(dir.join("wal"), cold, options(recovery)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damaged_logs_recover_a_prefix_or_fail_typed() {
    const RECORDS: u64 = 12;
    let root = tempfile::tempdir().unwrap();
    let pristine = root.path().join("pristine");
    {
        let store = open(&pristine, Recovery::Strict).await.unwrap();
        let ingest = store.ingestor();
        for k in 0..RECORDS {
            ingest.send_batch(&batch(k)).await.unwrap();
        }
    }
    let segment = std::fs::read_dir(pristine.join("wal"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "seg"))
        .unwrap();
    let original = std::fs::read(&segment).unwrap();
    // The rows of the first `n` records, in order.
    let prefix = |n: u64| -> Vec<Entry> { (0..n).flat_map(|k| batch(k).into_rows()).collect() };
    let all = prefix(RECORDS);
    let mut outcomes = [0usize; 4]; // whole, prefix, torn tail cut, corrupt error
    let mut cases = 0;
    let step = (original.len() / 150).max(1);
    let mut damaged: Vec<(String, Vec<u8>)> = Vec::new();
    for cut in (0..original.len()).step_by(step) {
        damaged.push((format!("cut at {cut}"), original[..cut].to_vec()));
    }
    for at in (0..original.len()).step_by(step) {
        let mut bytes = original.clone();
        bytes[at] ^= 1 << (at % 8);
        damaged.push((format!("bit flip at {at}"), bytes));
    }
    let mut zeroed = original.clone();
    let n = zeroed.len();
    zeroed[n - 100..].fill(0);
    damaged.push(("zeroed tail".into(), zeroed));
    for (case, bytes) in damaged {
        for recovery in [Recovery::Strict, Recovery::UpToDamage] {
            cases += 1;
            let dir = root.path().join(format!("case{cases}"));
            std::fs::create_dir_all(dir.join("wal")).unwrap();
            std::fs::write(dir.join("wal").join(segment.file_name().unwrap()), &bytes).unwrap();
            match open(&dir, recovery).await {
                Ok(store) => {
                    let rows = store.load().await.unwrap().into_rows();
                    // Exactly the first records, whole: never a changed or invented row.
                    let records = (0..=RECORDS)
                        .find(|n| prefix(*n) == rows)
                        .unwrap_or_else(|| panic!("{case} ({recovery:?}): not a prefix"));
                    let report = store.recovery();
                    outcomes[if records == RECORDS {
                        0
                    } else if report.torn_tail.is_some() {
                        2
                    } else {
                        1
                    }] += 1;
                    assert_eq!(report.rows as usize, rows.len(), "{case}");
                    // The store goes on: a new send after the recovered records.
                    store.ingestor().send_batch(&batch(99)).await.unwrap();
                    drop(store);
                    let again = open(&dir, Recovery::Strict)
                        .await
                        .unwrap_or_else(|e| panic!("{case} ({recovery:?}): reopen: {e}"));
                    let n = again.load().await.unwrap().len();
                    assert_eq!(n, rows.len() + batch(99).len(), "{case}");
                }
                Err(Error::Corrupt { path, reason }) => {
                    assert_eq!(recovery, Recovery::Strict, "{case}: {reason}");
                    assert!(path.to_string_lossy().contains("wal-"), "{case}: {path:?}");
                    outcomes[3] += 1;
                }
                Err(other) => panic!("{case} ({recovery:?}): untyped {other}"),
            }
        }
    }
    println!(
        "{cases} damaged logs: {} whole, {} a prefix, {} torn tail cut, {} Error::Corrupt",
        outcomes[0], outcomes[1], outcomes[2], outcomes[3]
    );
    assert!(outcomes[3] > 0 && outcomes[2] > 0);
    assert_eq!(prefix(RECORDS), all);
}

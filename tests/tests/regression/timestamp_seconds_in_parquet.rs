//! `#[soa(timestamp = "s")]` was not a timestamp in Parquet: Parquet has no seconds unit, and
//! parquet-rs writes an Arrow `Timestamp(Second)` as a bare `INT64`, which pyarrow, pandas, DuckDB
//! and Spark read as integers (only polars, from the embedded `ARROW:schema`, restored a
//! datetime). Now the Parquet store writes such columns as `TIMESTAMP(MILLIS)` (same time zone),
//! at any depth, and converts them back to seconds when it reads (parquet-rs keeps the file's
//! unit). A seconds value whose millisecond count overflows `i64` is refused with
//! `Error::OutOfRange` instead of being written as something else. The Python readers are checked
//! by tests/interop.rs (columns `ts_s`, `at_s`, `stamps`).

use chrono::{DateTime, TimeZone, Utc};
use futures::TryStreamExt;
use soa_runtime::StoreExt;
use soa_runtime::parquet::basic::{LogicalType, TimeUnit};
use soa_runtime::parquet::file::reader::{FileReader, SerializedFileReader};
use soa_runtime::{Error, ParquetStore, Soa, Store, ToArrow};

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
pub struct Stamped {
    #[soa(timestamp = "s")]
    pub at: DateTime<Utc>,
    pub label: String,
}

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
pub struct Seconds {
    #[soa(timestamp = "s")]
    pub ts: i64,
    #[soa(timestamp = "s")]
    pub when: DateTime<Utc>,
    #[soa(timestamp = "s")]
    pub maybe: Option<DateTime<Utc>>,
    pub nested: Vec<Stamped>,
}

fn rows() -> Vec<Seconds> {
    let t = |s: i64| Utc.timestamp_opt(s, 0).unwrap();
    vec![
        Seconds {
            ts: -1,
            when: t(-86_400 * 365 * 300),
            maybe: None,
            nested: vec![],
        },
        Seconds {
            ts: 1_700_000_000,
            when: t(0),
            maybe: Some(t(253_402_300_799)), // 9999-12-31 23:59:59
            nested: vec![
                Stamped {
                    at: t(-1),
                    label: "a".into(),
                },
                Stamped {
                    at: t(1_700_000_001),
                    label: String::new(),
                },
            ],
        },
        Seconds {
            // The largest seconds value whose milliseconds fit i64.
            ts: i64::MAX / 1000,
            when: t(1),
            maybe: Some(t(-1)),
            nested: vec![Stamped {
                at: t(42),
                label: "b".into(),
            }],
        },
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn timestamp_seconds_are_millisecond_timestamps_in_parquet_and_seconds_again_on_load() {
    let dir = tempfile::tempdir().unwrap();
    let store = ParquetStore::<Seconds>::open_or_create(dir.path())
        .await
        .unwrap();
    let rows = rows();
    let soa: SecondsSoA = rows.iter().cloned().collect();
    store.save(&soa).await.unwrap();
    store.append(&soa.slice(1..2)).await.unwrap();
    let mut expected = rows.clone();
    expected.push(rows[1].clone());
    assert_eq!(store.load().await.unwrap().into_rows(), expected);

    // load_columns and scan give the row type's types (seconds), not the file's.
    let schema = SecondsSoA::schema();
    let projected = store.load_columns(&["nested", "ts"]).await.unwrap();
    assert_eq!(projected.schema().field(0), schema.field(3));
    assert_eq!(projected.schema().field(1), schema.field(0));
    let batches: Vec<_> = store.scan().await.unwrap().try_collect().await.unwrap();
    for batch in &batches {
        assert_eq!(batch.schema().fields(), schema.fields());
    }
    // compact re-reads and re-writes: same values.
    store.compact().await.unwrap();
    assert_eq!(store.load().await.unwrap().into_rows(), expected);

    // In the file: TIMESTAMP(MILLIS), UTC-adjusted exactly where the Rust type has a zone.
    let file = std::fs::File::open(dir.path().join("data.parquet")).unwrap();
    let reader = SerializedFileReader::new(file).unwrap();
    let descr = reader.metadata().file_metadata().schema_descr_ptr();
    let mut seen = Vec::new();
    for leaf in descr.columns() {
        let path = leaf.path().string();
        if path.ends_with("label") {
            continue;
        }
        match leaf.logical_type_ref() {
            Some(LogicalType::Timestamp(t)) if t.unit == TimeUnit::MILLIS => {
                seen.push((path, t.is_adjusted_to_u_t_c));
            }
            other => panic!("{path}: logical type {other:?}, expected TIMESTAMP(MILLIS)"),
        }
    }
    assert_eq!(
        seen,
        [
            ("ts".to_owned(), false),
            ("when".to_owned(), true),
            ("maybe".to_owned(), true),
            ("nested.list.item.at".to_owned(), true),
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_seconds_value_beyond_the_millisecond_range_is_an_error_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let store = ParquetStore::<Seconds>::open_or_create(dir.path())
        .await
        .unwrap();
    let mut rows = rows();
    rows[2].ts = i64::MAX / 1000 + 1;
    let soa: SecondsSoA = rows.iter().cloned().collect();
    let e = store.save(&soa).await.unwrap_err();
    let Error::OutOfRange {
        type_name, column, ..
    } = &e
    else {
        panic!("expected OutOfRange, got {e:?}");
    };
    assert_eq!((*type_name, column.as_str()), ("Seconds", "ts"), "{e}");
    assert!(e.to_string().contains("does not fit"), "{e}");
    // Nothing was committed.
    assert_eq!(store.count().await.unwrap(), 0);
}

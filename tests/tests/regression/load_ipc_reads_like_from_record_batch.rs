//! Bug: `ArrowStore::load_ipc` was stricter than `from_record_batch` and the README: a pyarrow
//! file with `large_string` where the struct has `String` was rejected (the README lists
//! Utf8 <-> LargeUtf8 and the other widenings as accepted on load), and a wrong type reported
//! `column "px": expected Float64, found Utf8` without naming `Trade.px`.
//!
//! `load_ipc` now reads by `from_record_batch`'s rules (extra columns, any order, widenings,
//! missing `Option` / `#[soa(default)]` columns), stores batches with the struct's exact schema,
//! and reports the same `Type.field` errors.

use std::path::Path;
use std::sync::Arc;

use arrow_array::types::Int32Type;
use arrow_array::{
    ArrayRef, DictionaryArray, Float32Array, Float64Array, Int32Array, Int64Array,
    LargeStringArray, RecordBatch, StringArray, StringViewArray, UInt32Array,
};
use arrow_schema::{Field, Schema};
use soa_runtime::StoreExt;
use soa_runtime::arrow::ipc::writer::FileWriter;
use soa_runtime::{ArrowStore, Error, FieldError, Soa, ToArrow};

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
pub struct Trade {
    pub venue: String,
    pub qty: i64,
    pub px: f64,
    pub note: Option<String>,
    #[soa(default)]
    pub flags: u32,
}

fn trade(venue: &str, qty: i64, px: f64, note: Option<&str>, flags: u32) -> Trade {
    Trade {
        venue: venue.into(),
        qty,
        px,
        note: note.map(Into::into),
        flags,
    }
}

/// Writes `batches` (all of the first one's schema) as an Arrow IPC file with arrow-rs.
fn write_ipc(path: &Path, batches: &[RecordBatch]) {
    let file = std::fs::File::create(path).unwrap();
    let mut writer = FileWriter::try_new(file, batches[0].schema_ref()).unwrap();
    for batch in batches {
        writer.write(batch).unwrap();
    }
    writer.finish().unwrap();
}

fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(name, c)| Field::new(*name, c.data_type().clone(), true))
        .collect();
    RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns.into_iter().map(|(_, c)| c).collect(),
    )
    .unwrap()
}

/// A store holding one known row, to check that failed loads leave it unchanged.
async fn store_with_one_row() -> ArrowStore<Trade> {
    let store = ArrowStore::<Trade>::new();
    store
        .append(&TradeSoA::from(vec![trade("XETR", 1, 1.0, None, 1)]))
        .await
        .unwrap();
    store
}

async fn rows(store: &ArrowStore<Trade>) -> Vec<Trade> {
    store.load().await.unwrap().into_rows()
}

#[tokio::test]
async fn widened_reordered_extra_and_missing_columns_load() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("evolved.arrow");
    // What pyarrow or an older version of the struct writes: large strings, Int32 quantities,
    // Float32 prices, columns in another order, an extra column, no `note` (Option) and no
    // `flags` (#[soa(default)]). Two batches, the second with other widenings of `venue`.
    let first = batch(vec![
        ("desk", Arc::new(StringArray::from(vec!["fx", "eq"]))),
        ("px", Arc::new(Float32Array::from(vec![1.5, -2.25]))),
        ("qty", Arc::new(Int32Array::from(vec![7, -3]))),
        (
            "venue",
            Arc::new(LargeStringArray::from(vec!["XLON", "ÄÖÜ"])),
        ),
    ]);
    write_ipc(&path, &[first]);
    let store = store_with_one_row().await;
    store.load_ipc(&path).await.unwrap();
    assert_eq!(
        rows(&store).await,
        vec![
            trade("XLON", 7, 1.5, None, 0),
            trade("ÄÖÜ", -3, -2.25, None, 0)
        ]
    );
    // Stored with the struct's exact schema: what save_ipc writes and snapshot returns.
    let snapshot = store.snapshot();
    assert_eq!(snapshot.len(), 1);
    assert_eq!(snapshot[0].schema(), TradeSoA::schema());

    for venue in [
        Arc::new(StringViewArray::from(vec!["XPAR"])) as ArrayRef,
        Arc::new(DictionaryArray::<Int32Type>::from_iter(["XPAR"])) as ArrayRef,
    ] {
        let path = dir.path().join("venue.arrow");
        write_ipc(
            &path,
            &[batch(vec![
                ("venue", venue),
                ("qty", Arc::new(Int64Array::from(vec![2]))),
                ("px", Arc::new(Float64Array::from(vec![3.0]))),
                ("note", Arc::new(LargeStringArray::from(vec![Some("n")]))),
                ("flags", Arc::new(UInt32Array::from(vec![9]))),
            ])],
        );
        store.load_ipc(&path).await.unwrap();
        assert_eq!(
            rows(&store).await,
            vec![trade("XPAR", 2, 3.0, Some("n"), 9)]
        );
        assert_eq!(store.snapshot()[0].schema(), TradeSoA::schema());
    }
}

#[tokio::test]
async fn a_wrong_type_is_a_schema_mismatch_naming_type_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wrong.arrow");
    write_ipc(
        &path,
        &[batch(vec![
            ("venue", Arc::new(StringArray::from(vec!["XLON"]))),
            ("qty", Arc::new(Int64Array::from(vec![1]))),
            ("px", Arc::new(StringArray::from(vec!["1.5"]))),
        ])],
    );
    let store = store_with_one_row().await;
    match store.load_ipc(&path).await {
        Err(Error::SchemaMismatch { path: p, reason }) => {
            assert_eq!(p.as_deref(), Some(path.as_path()));
            assert_eq!(reason, "Trade.px: expected Arrow type Float64, found Utf8");
        }
        other => panic!("expected SchemaMismatch, got {other:?}"),
    }
    let err = store.load_ipc(&path).await.unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "schema mismatch in {}: Trade.px: expected Arrow type Float64, found Utf8",
            path.display()
        )
    );
    assert_eq!(rows(&store).await, vec![trade("XETR", 1, 1.0, None, 1)]);

    // A missing column that is neither an Option nor #[soa(default)].
    write_ipc(
        &path,
        &[batch(vec![
            ("venue", Arc::new(StringArray::from(vec!["XLON"]))),
            ("px", Arc::new(Float64Array::from(vec![1.5]))),
        ])],
    );
    match store.load_ipc(&path).await {
        Err(Error::SchemaMismatch { reason, .. }) => assert_eq!(
            reason,
            "Trade.qty: column \"qty\" is missing (expected Arrow type Int64, found no such column)"
        ),
        other => panic!("expected SchemaMismatch, got {other:?}"),
    }
    // Int64 does not narrow into an i32 field either, and Float64 does not become an integer.
    write_ipc(
        &path,
        &[batch(vec![
            ("venue", Arc::new(StringArray::from(vec!["XLON"]))),
            ("qty", Arc::new(Float64Array::from(vec![1.0]))),
            ("px", Arc::new(Float64Array::from(vec![1.5]))),
        ])],
    );
    match store.load_ipc(&path).await {
        Err(Error::SchemaMismatch { reason, .. }) => {
            assert_eq!(
                reason,
                "Trade.qty: expected Arrow type Int64, found Float64"
            )
        }
        other => panic!("expected SchemaMismatch, got {other:?}"),
    }
    assert_eq!(rows(&store).await, vec![trade("XETR", 1, 1.0, None, 1)]);
}

#[tokio::test]
async fn a_null_in_a_required_field_names_the_file_the_field_and_the_file_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nulls.arrow");
    let part = |venues: Vec<Option<&str>>| {
        let n = venues.len();
        batch(vec![
            ("venue", Arc::new(StringArray::from(venues))),
            ("qty", Arc::new(Int64Array::from(vec![1; n]))),
            ("px", Arc::new(Float64Array::from(vec![1.0; n]))),
        ])
    };
    // The null is row 1 of the second batch: row 4 of the file.
    write_ipc(
        &path,
        &[
            part(vec![Some("a"), Some("b"), Some("c")]),
            part(vec![Some("d"), None]),
        ],
    );
    let store = store_with_one_row().await;
    let err = store.load_ipc(&path).await.unwrap_err();
    assert_eq!(
        err.full_message(),
        format!(
            "in {}: Trade.venue: found a null at row 4, but the field is not an Option \
             (expected non-null Utf8)",
            path.display()
        )
    );
    match err {
        Error::InFile { path: p, source } => {
            assert_eq!(p, path);
            assert!(
                matches!(
                    *source,
                    Error::Column {
                        struct_name: "Trade",
                        field: "venue",
                        source: FieldError::UnexpectedNull { row: 4, .. },
                    }
                ),
                "{source:?}"
            );
        }
        other => panic!("expected InFile, got {other:?}"),
    }
    assert_eq!(rows(&store).await, vec![trade("XETR", 1, 1.0, None, 1)]);
}

//! `[u8; N]` fields (FixedSizeBinary(N)) did not load from Binary, LargeBinary or BinaryView
//! columns whose values are all N bytes long, which is how polars (LargeBinary in Parquet,
//! BinaryView in IPC) and DuckDB (Binary) write fixed-size binary columns. `uuid::Uuid` accepts
//! those layouts; `[u8; N]` should too (and fail with `OutOfRange` naming the row for a value of
//! another length). Found by tests/interop.rs (`rust_reads_files_written_by_pyarrow_polars_and_duckdb`).

use std::sync::Arc;

use soa_runtime::arrow::array::{
    ArrayRef, BinaryArray, BinaryViewArray, LargeBinaryArray, RecordBatch,
};
use soa_runtime::arrow::datatypes::{Field, Schema};
use soa_runtime::{Error, FieldError, Soa, ToArrow};

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
pub struct Tagged {
    pub tag: [u8; 4],
    pub maybe_tag: Option<[u8; 4]>,
}

fn batch(tag: ArrayRef, maybe_tag: ArrayRef) -> RecordBatch {
    let schema = Schema::new(vec![
        Field::new("tag", tag.data_type().clone(), false),
        Field::new("maybe_tag", maybe_tag.data_type().clone(), true),
    ]);
    RecordBatch::try_new(Arc::new(schema), vec![tag, maybe_tag]).unwrap()
}

#[test]
fn fixed_bytes_load_from_binary_large_binary_and_binary_view() {
    let expected = vec![
        Tagged {
            tag: *b"PAR1",
            maybe_tag: None,
        },
        Tagged {
            tag: [0, 255, 1, 2],
            maybe_tag: Some(*b"abcd"),
        },
    ];
    let values: [&[u8]; 2] = [b"PAR1", &[0, 255, 1, 2]];
    let maybe: [Option<&[u8]>; 2] = [None, Some(b"abcd")];
    let batches = [
        batch(
            Arc::new(BinaryArray::from_iter_values(values)),
            Arc::new(BinaryArray::from_iter(maybe)),
        ),
        batch(
            Arc::new(LargeBinaryArray::from_iter_values(values)),
            Arc::new(LargeBinaryArray::from_iter(maybe)),
        ),
        batch(
            Arc::new(BinaryViewArray::from_iter_values(values)),
            Arc::new(BinaryViewArray::from_iter(maybe)),
        ),
    ];
    for b in &batches {
        let got = TaggedSoA::from_record_batch(b)
            .unwrap_or_else(|e| panic!("{}: {e}", b.column(0).data_type()));
        assert_eq!(got.into_rows(), expected);
    }
}

#[test]
fn a_value_of_another_length_is_out_of_range() {
    let b = batch(
        Arc::new(BinaryArray::from_iter_values([b"PAR1".as_slice(), b"abc"])),
        Arc::new(BinaryArray::from_iter([None::<&[u8]>, None])),
    );
    match TaggedSoA::from_record_batch(&b) {
        Err(Error::Column {
            field: "tag",
            source: FieldError::ValueOutOfRange { row: 1, .. },
            ..
        }) => {}
        other => panic!("expected OutOfRange for Tagged.tag, got {other:?}"),
    }
}

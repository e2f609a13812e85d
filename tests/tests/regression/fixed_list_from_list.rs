//! `[T; N]` fields (FixedSizeList(N)) did not load from List columns whose rows all hold N
//! items, which is how DuckDB writes its fixed-size ARRAY type to Parquet (`COPY ... TO`).
//! Found by tests/interop.rs (`rust_reads_files_written_by_pyarrow_polars_and_duckdb`).

use std::sync::Arc;

use soa_runtime::arrow::array::{ArrayRef, ListArray, RecordBatch, types::Int16Type};
use soa_runtime::arrow::datatypes::{Field, Schema};
use soa_runtime::{Soa, ToArrow};

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
pub struct Triple {
    pub xyz: [i16; 3],
}

#[test]
fn fixed_size_list_loads_from_list_of_n_items() {
    let list = ListArray::from_iter_primitive::<Int16Type, _, _>([
        Some(vec![Some(1), Some(-1), Some(0)]),
        Some(vec![Some(i16::MIN), Some(0), Some(i16::MAX)]),
    ]);
    let column: ArrayRef = Arc::new(list);
    let schema = Schema::new(vec![Field::new("xyz", column.data_type().clone(), false)]);
    let batch = RecordBatch::try_new(Arc::new(schema), vec![column]).unwrap();
    let got = TripleSoA::from_record_batch(&batch).unwrap();
    assert_eq!(got.xyz, [[1, -1, 0], [i16::MIN, 0, i16::MAX]]);
}

//! Schema conformance, shared by every store: a record batch with the row type's columns (by
//! name, any order) becomes a batch with exactly the row type's schema, without copying column
//! data (nested field names and nullability relabelled where the shapes agree).

use std::path::Path;
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, RecordBatch, RecordBatchOptions};
use arrow_data::ArrayData;
use arrow_schema::{ArrowError, DataType, Schema, SchemaRef};

use crate::error::{Error, Result};
use crate::store::retype;

/// Checks `batch` against `expected` and returns it with `expected` as its schema and columns in
/// schema order. Cheap: no column data is copied.
pub(crate) fn conform(
    expected: &SchemaRef,
    batch: RecordBatch,
    path: Option<&Path>,
) -> Result<RecordBatch> {
    if Arc::ptr_eq(expected, batch.schema_ref()) {
        return Ok(batch);
    }
    let indices =
        column_indices(expected, batch.schema_ref()).map_err(|reason| mismatch(path, reason))?;
    project(expected, &batch, &indices).map_err(|reason| mismatch(path, reason))
}

pub(crate) fn mismatch(path: Option<&Path>, reason: String) -> Error {
    Error::SchemaMismatch {
        path: path.map(Path::to_path_buf),
        reason,
    }
}

/// For each field of `expected`, the index of the column of the same name in `found`, after
/// checking types and that `found` has no other columns.
fn column_indices(expected: &Schema, found: &Schema) -> std::result::Result<Vec<usize>, String> {
    let mut indices = Vec::with_capacity(expected.fields().len());
    for field in expected.fields() {
        let Ok(index) = found.index_of(field.name()) else {
            return Err(format!(
                "column {:?} is missing (expected Arrow type {}); found columns {:?}",
                field.name(),
                field.data_type(),
                column_names(found)
            ));
        };
        let found_type = found.field(index).data_type();
        // Nested field names and nullability differ between writers (pyarrow names map entries
        // key/value, nullable): compare structure and leaf types; `project` relabels the column,
        // and the conversion on `load` still rejects a null where the field has no Option. A
        // timestamp in another unit (pyarrow reads our seconds from Parquet as milliseconds) is
        // converted exactly by `project`.
        if !same_shape(found_type, field.data_type())
            && !retype::same_but_units(found_type, field.data_type())
        {
            return Err(format!(
                "column {:?}: expected Arrow type {}, found {}",
                field.name(),
                field.data_type(),
                found_type
            ));
        }
        indices.push(index);
    }
    if let Some(extra) = found
        .fields()
        .iter()
        .find(|f| expected.index_of(f.name()).is_err())
    {
        return Err(format!(
            "unexpected column {:?} ({}); expected exactly the columns {:?}",
            extra.name(),
            extra.data_type(),
            column_names(expected)
        ));
    }
    if found.fields().len() != expected.fields().len() {
        return Err(format!(
            "expected {} columns {:?}, found {} columns {:?} (duplicate names?)",
            expected.fields().len(),
            column_names(expected),
            found.fields().len(),
            column_names(found)
        ));
    }
    Ok(indices)
}

fn column_names(schema: &Schema) -> Vec<&str> {
    schema.fields().iter().map(|f| f.name().as_str()).collect()
}

/// Rebuilds `batch` with `expected`'s schema from the columns at `indices` (same types, checked).
fn project(
    expected: &SchemaRef,
    batch: &RecordBatch,
    indices: &[usize],
) -> std::result::Result<RecordBatch, String> {
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(indices.len());
    for (field, &index) in expected.fields().iter().zip(indices) {
        let Some(column) = batch.columns().get(index) else {
            return Err(format!(
                "column {:?} is missing from the batch",
                field.name()
            ));
        };
        if !field.is_nullable() && column.null_count() > 0 {
            return Err(format!(
                "column {:?} holds {} nulls but is not nullable (the field is not an Option)",
                field.name(),
                column.null_count()
            ));
        }
        if column.data_type() == field.data_type() {
            columns.push(Arc::clone(column));
        } else if !same_shape(column.data_type(), field.data_type()) {
            let converted = retype::convert(column, field.data_type())
                .map_err(|e| format!("column {:?}: {e}", field.name()))?;
            columns.push(converted);
        } else {
            let data = relabel(column.to_data(), field.data_type())
                .map_err(|e| format!("column {:?}: {e}", field.name()))?;
            columns.push(arrow_array::make_array(data));
        }
    }
    let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
    RecordBatch::try_new_with_options(Arc::clone(expected), columns, &options)
        .map_err(|e| e.to_string())
}

/// Whether two types have the same structure and leaf types, ignoring nested field names,
/// nested nullability and a map's `keys_sorted` flag.
fn same_shape(a: &DataType, b: &DataType) -> bool {
    use DataType::*;
    match (a, b) {
        (List(x), List(y))
        | (LargeList(x), LargeList(y))
        | (ListView(x), ListView(y))
        | (LargeListView(x), LargeListView(y))
        | (Map(x, _), Map(y, _)) => same_shape(x.data_type(), y.data_type()),
        (FixedSizeList(x, n), FixedSizeList(y, m)) => {
            n == m && same_shape(x.data_type(), y.data_type())
        }
        (Struct(x), Struct(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y.iter())
                    .all(|(f, g)| same_shape(f.data_type(), g.data_type()))
        }
        _ => a == b,
    }
}

/// Gives `data` the type `to`, which differs from its own only in nested field names and
/// nullability (checked by `same_shape` beforehand). Buffers are shared, nothing is copied.
fn relabel(data: ArrayData, to: &DataType) -> std::result::Result<ArrayData, ArrowError> {
    if data.data_type() == to {
        return Ok(data);
    }
    let child_types: Vec<&DataType> = match to {
        DataType::List(f)
        | DataType::LargeList(f)
        | DataType::ListView(f)
        | DataType::LargeListView(f)
        | DataType::FixedSizeList(f, _)
        | DataType::Map(f, _) => vec![f.data_type()],
        DataType::Struct(fields) => fields.iter().map(|f| f.data_type()).collect(),
        other => {
            return Err(ArrowError::SchemaError(format!(
                "cannot relabel a column of type {} as {other}",
                data.data_type()
            )));
        }
    };
    if child_types.len() != data.child_data().len() {
        return Err(ArrowError::SchemaError(format!(
            "expected {} child arrays, found {}",
            child_types.len(),
            data.child_data().len()
        )));
    }
    let children = data
        .child_data()
        .iter()
        .zip(child_types)
        .map(|(child, ty)| relabel(child.clone(), ty))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    data.into_builder()
        .data_type(to.clone())
        .child_data(children)
        .build()
}

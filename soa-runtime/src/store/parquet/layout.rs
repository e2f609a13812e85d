//! Column types in the file where they differ from the row type's Arrow types, and the exact
//! conversions both ways.
//!
//! * **Timestamps in seconds** (`#[soa(timestamp = "s")]`) are written as milliseconds: Parquet
//!   has no seconds unit, and parquet-rs would write a bare `INT64` that pyarrow, pandas, DuckDB
//!   and Spark read as integers. As `TIMESTAMP(MILLIS)` every reader sees a timestamp. A value
//!   whose millisecond count overflows `i64` cannot be written ([`Error::OutOfRange`]).
//! * Under [`spark_compatible`](super::ParquetStoreBuilder::spark_compatible), **nanosecond
//!   timestamps** are written as microseconds (Spark refuses `TIMESTAMP(NANOS)`); a value with
//!   sub-microsecond digits cannot be written ([`Error::OutOfRange`]: never a silent truncation).
//!   **Times of day** (`Time32`/`Time64`, Spark refuses the whole file) are written as `Int64`
//!   microseconds since midnight (Spark: `bigint`).
//!
//! The conversions apply at any depth (inside lists, structs, maps and dictionaries). On read, a
//! column whose type in the file is what [`file_type`] makes of the row type's type (under either
//! profile) is converted back, so a store reads the same typed values whatever profile wrote it.
//! Parquet-rs does not do this from the embedded `ARROW:schema` (it keeps the file's unit), so it
//! happens here.

use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, RecordBatchOptions};
use arrow_schema::{DataType, FieldRef, Schema, SchemaRef, TimeUnit};

use crate::error::{Error, Result};
use crate::store::retype::convert;

/// Which readers the files are written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Profile {
    /// pyarrow, polars, pandas, DuckDB (and Spark, except for the types the Spark profile maps).
    Plain,
    /// Spark as well: no nanosecond timestamps, no times of day.
    Spark,
}

/// The Arrow type a column of type `data_type` has in a file written under `profile`.
pub(crate) fn file_type(data_type: &DataType, profile: Profile) -> DataType {
    let spark = profile == Profile::Spark;
    let field = |f: &FieldRef| -> FieldRef {
        Arc::new(
            f.as_ref()
                .clone()
                .with_data_type(file_type(f.data_type(), profile)),
        )
    };
    match data_type {
        DataType::Timestamp(TimeUnit::Second, tz) => {
            DataType::Timestamp(TimeUnit::Millisecond, tz.clone())
        }
        DataType::Timestamp(TimeUnit::Nanosecond, tz) if spark => {
            DataType::Timestamp(TimeUnit::Microsecond, tz.clone())
        }
        DataType::Time32(_) | DataType::Time64(_) if spark => DataType::Int64,
        DataType::List(f) => DataType::List(field(f)),
        DataType::LargeList(f) => DataType::LargeList(field(f)),
        DataType::FixedSizeList(f, n) => DataType::FixedSizeList(field(f), *n),
        DataType::Struct(fields) => DataType::Struct(fields.iter().map(field).collect()),
        DataType::Map(f, sorted) => DataType::Map(field(f), *sorted),
        DataType::Dictionary(key, value) => {
            DataType::Dictionary(key.clone(), Box::new(file_type(value, profile)))
        }
        other => other.clone(),
    }
}

/// The schema of files written for `schema` under `profile` (the same `Arc` when nothing changes).
pub(crate) fn file_schema(schema: &SchemaRef, profile: Profile) -> SchemaRef {
    let fields: Vec<FieldRef> = schema
        .fields()
        .iter()
        .map(|f| {
            let to = file_type(f.data_type(), profile);
            if &to == f.data_type() {
                Arc::clone(f)
            } else {
                Arc::new(f.as_ref().clone().with_data_type(to))
            }
        })
        .collect();
    if fields
        .iter()
        .zip(schema.fields())
        .all(|(a, b)| Arc::ptr_eq(a, b))
    {
        return Arc::clone(schema);
    }
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// Converts a batch of the row type into the file's types (`file_schema`). A value the file type
/// cannot hold exactly is an [`Error::OutOfRange`] naming `type_name.column`.
pub(crate) fn to_file(
    batch: RecordBatch,
    file_schema: &SchemaRef,
    type_name: &'static str,
) -> Result<RecordBatch> {
    let changed = batch
        .columns()
        .iter()
        .zip(file_schema.fields())
        .any(|(c, f)| c.data_type() != f.data_type());
    if !changed {
        return Ok(batch);
    }
    let mut columns = Vec::with_capacity(batch.num_columns());
    for (column, field) in batch.columns().iter().zip(file_schema.fields()) {
        let converted = convert(column, field.data_type()).map_err(|reason| Error::OutOfRange {
            type_name,
            column: field.name().clone(),
            reason,
        })?;
        columns.push(converted);
    }
    let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
    RecordBatch::try_new_with_options(Arc::clone(file_schema), columns, &options)
        .map_err(|e| Error::arrow("converting a batch to the file's column types", e))
}

/// Converts the columns of a batch read from `path` back to the row type's types (`row_schema`,
/// matched by name) where the file holds them in a form [`file_type`] made; other columns are
/// left as they are.
pub(crate) fn from_file(
    batch: RecordBatch,
    row_schema: &Schema,
    path: &std::path::Path,
) -> Result<RecordBatch> {
    let schema = batch.schema();
    let mut fields: Option<Vec<FieldRef>> = None;
    let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
    for (i, field) in schema.fields().iter().enumerate() {
        let Ok(target) = row_schema.field_with_name(field.name()) else {
            continue;
        };
        let found = field.data_type();
        if found == target.data_type() {
            continue;
        }
        let written = [Profile::Plain, Profile::Spark]
            .iter()
            .any(|p| file_type(target.data_type(), *p).equals_datatype(found));
        if !written {
            continue;
        }
        columns[i] = convert(&columns[i], target.data_type()).map_err(|reason| Error::Corrupt {
            path: path.to_owned(),
            reason: format!("column {:?}: {reason}", field.name()),
        })?;
        fields.get_or_insert_with(|| schema.fields().to_vec())[i] = Arc::new(target.clone());
    }
    let Some(fields) = fields else {
        return Ok(batch);
    };
    let schema = Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()));
    let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
    RecordBatch::try_new_with_options(schema, columns, &options).map_err(|e| {
        Error::arrow(
            format!("restoring the column types of {}", path.display()),
            e,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::PrimitiveArray;
    use arrow_array::types::TimestampSecondType;
    use arrow_schema::Field;

    #[test]
    fn file_types_and_back_under_both_profiles() {
        let ts = |unit| DataType::Timestamp(unit, Some("UTC".into()));
        let inner = DataType::Struct(
            vec![
                Field::new("s", ts(TimeUnit::Second), true),
                Field::new("n", ts(TimeUnit::Nanosecond), true),
                Field::new("t", DataType::Time64(TimeUnit::Microsecond), true),
            ]
            .into(),
        );
        assert_eq!(
            file_type(&inner, Profile::Plain),
            DataType::Struct(
                vec![
                    Field::new("s", ts(TimeUnit::Millisecond), true),
                    Field::new("n", ts(TimeUnit::Nanosecond), true),
                    Field::new("t", DataType::Time64(TimeUnit::Microsecond), true),
                ]
                .into()
            )
        );
        assert_eq!(
            file_type(&inner, Profile::Spark),
            DataType::Struct(
                vec![
                    Field::new("s", ts(TimeUnit::Millisecond), true),
                    Field::new("n", ts(TimeUnit::Microsecond), true),
                    Field::new("t", DataType::Int64, true),
                ]
                .into()
            )
        );
        let schema = Arc::new(Schema::new(vec![Field::new(
            "x",
            ts(TimeUnit::Second),
            false,
        )]));
        let column: ArrayRef =
            Arc::new(PrimitiveArray::<TimestampSecondType>::from(vec![-1, 7]).with_timezone("UTC"));
        let batch = RecordBatch::try_new(Arc::clone(&schema), vec![column]).unwrap();
        let file = file_schema(&schema, Profile::Plain);
        let written = to_file(batch.clone(), &file, "Row").unwrap();
        assert_eq!(written.schema(), file);
        let back = from_file(written, &schema, std::path::Path::new("f")).unwrap();
        assert_eq!(back, batch);
        // A schema with nothing to change is the same Arc.
        let plain = Arc::new(Schema::new(vec![Field::new("i", DataType::Int64, false)]));
        assert!(Arc::ptr_eq(&file_schema(&plain, Profile::Spark), &plain));
    }
}

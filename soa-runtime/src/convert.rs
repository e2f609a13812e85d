//! Conversion between a Structure-of-Arrays container and an Arrow [`RecordBatch`].

use arrow_array::{ArrayRef, RecordBatch, RecordBatchOptions};
use arrow_schema::SchemaRef;

use crate::error::{Error, Result};
use crate::field::ArrowField;
use crate::soa::SoaColumns;

/// Arrow conversion of a generated container, implemented by `#[derive(ToArrow)]` on `OrderSoA`.
///
/// Columns are matched **by name**: extra columns in a batch are ignored and their order does not
/// matter. Every error names `Struct.field`, the expected and the found type.
///
/// ```
/// use soa_runtime::{Soa, ToArrow};
///
/// #[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
/// struct Tick { symbol: String, price: f64, size: Option<u32> }
///
/// let ticks: TickSoA = vec![
///     Tick { symbol: "EURUSD".into(), price: 1.08, size: Some(5) },
///     Tick { symbol: "ÄÖÜ".into(), price: 2.5, size: None },
/// ].into();
/// let batch = ticks.to_record_batch()?;
/// assert_eq!(batch.num_rows(), 2);
/// let back = TickSoA::from_record_batch(&batch)?;
/// assert_eq!(back, ticks);
/// # Ok::<(), soa_runtime::Error>(())
/// ```
pub trait ToArrow: SoaColumns {
    /// The Rust name of the row type (`"Order"`), used in errors and file metadata.
    const TYPE_NAME: &'static str;

    /// The Arrow schema: one field per struct field, in declaration order. Built once and cached
    /// (for generic structs, built on each call).
    fn schema() -> SchemaRef;

    /// Builds a record batch from a borrowed container (copies every column once).
    ///
    /// # Errors
    /// When a column does not fit its Arrow layout (for example over 2 GiB of string bytes).
    fn to_record_batch(&self) -> Result<RecordBatch>;

    /// Builds a record batch by moving the columns: fixed-width non-null columns become Arrow
    /// buffers without a copy.
    ///
    /// # Errors
    /// As [`ToArrow::to_record_batch`].
    fn into_record_batch(self) -> Result<RecordBatch>;

    /// Reads a record batch, matching columns by name and checking types.
    ///
    /// # Errors
    /// [`Error::MissingColumn`] and [`Error::Column`] naming `Struct.field`.
    fn from_record_batch(batch: &RecordBatch) -> Result<Self>;

    /// Reads a record batch by value, reclaiming uniquely owned fixed-width buffers without a copy.
    ///
    /// # Errors
    /// As [`ToArrow::from_record_batch`].
    fn try_from_record_batch(batch: RecordBatch) -> Result<Self>;
}

/// Helpers called by the generated code. Not public API.
#[doc(hidden)]
pub mod helpers {
    use super::*;

    /// Assembles a batch, allowing zero columns (row count given explicitly).
    pub fn make_batch(
        schema: SchemaRef,
        columns: Vec<ArrayRef>,
        rows: usize,
    ) -> Result<RecordBatch> {
        let options = RecordBatchOptions::new().with_row_count(Some(rows));
        RecordBatch::try_new_with_options(schema, columns, &options)
            .map_err(|e| Error::arrow("assembling a record batch", e))
    }

    /// Converts one borrowed column, adding the struct and field to any error.
    pub fn column_to_array<T: ArrowField>(
        values: &[T],
        struct_name: &'static str,
        field: &'static str,
    ) -> Result<ArrayRef> {
        T::to_array(values).map_err(|e| Error::column(struct_name, field, e))
    }

    /// Converts one owned column, adding the struct and field to any error.
    pub fn column_into_array<T: ArrowField>(
        values: Vec<T>,
        struct_name: &'static str,
        field: &'static str,
    ) -> Result<ArrayRef> {
        T::into_array(values).map_err(|e| Error::column(struct_name, field, e))
    }

    /// Checks that a column has the length of the first one.
    pub fn check_len(
        struct_name: &'static str,
        field: &'static str,
        expected: usize,
        found: usize,
    ) -> Result<()> {
        if expected == found {
            Ok(())
        } else {
            Err(Error::LengthMismatch {
                struct_name,
                field,
                expected,
                found,
            })
        }
    }

    /// Reads the column named `column` of a borrowed batch into a `Vec<T>`.
    pub fn read_column<T: ArrowField>(
        batch: &RecordBatch,
        struct_name: &'static str,
        field: &'static str,
        column: &'static str,
    ) -> Result<Vec<T>> {
        let Some(array) = batch.column_by_name(column) else {
            return Err(Error::MissingColumn {
                struct_name,
                field,
                column,
                expected: T::data_type(),
            });
        };
        T::from_array(array.as_ref()).map_err(|e| Error::column(struct_name, field, e))
    }

    /// The columns of an owned batch, each taken at most once by [`take_column`].
    #[derive(Debug)]
    pub struct OwnedColumns {
        schema: SchemaRef,
        columns: Vec<Option<ArrayRef>>,
    }

    /// Splits an owned batch into its columns (drops the batch's own references).
    pub fn owned_columns(batch: RecordBatch) -> OwnedColumns {
        let (schema, columns, _) = batch.into_parts();
        OwnedColumns {
            schema,
            columns: columns.into_iter().map(Some).collect(),
        }
    }

    /// Moves the column named `column` out of an owned batch into a `Vec<T>`.
    pub fn take_column<T: ArrowField>(
        columns: &mut OwnedColumns,
        struct_name: &'static str,
        field: &'static str,
        column: &'static str,
    ) -> Result<Vec<T>> {
        let array = columns
            .schema
            .index_of(column)
            .ok()
            .and_then(|i| columns.columns.get_mut(i))
            .and_then(Option::take);
        let Some(array) = array else {
            return Err(Error::MissingColumn {
                struct_name,
                field,
                column,
                expected: T::data_type(),
            });
        };
        T::from_array_owned(array).map_err(|e| Error::column(struct_name, field, e))
    }
}

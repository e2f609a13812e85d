//! Conversion between a Structure-of-Arrays container and an Arrow [`RecordBatch`].

use arrow_array::{ArrayRef, RecordBatch, RecordBatchOptions};
use arrow_schema::SchemaRef;

use crate::error::{Error, Result};
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

    /// How stores partition rows of this type unless their builder says otherwise: one entry per
    /// level, in the text form of [`Partition`](crate::store::partition::Partition) (`"symbol"`,
    /// `"day(ts)"`, `"bucket(16, id)"`), from `#[soa(partition)]` and
    /// `#[soa(partition = "day")]` on fields, in field order. Empty: not partitioned.
    const PARTITION_BY: &'static [&'static str] = &[];

    /// The Arrow schema: one field per struct field, in declaration order. Built once and cached
    /// (for generic structs, built on each call).
    ///
    /// Infallible: a schema whose column names collide (a `#[soa(flatten)]` prefix plus a column
    /// of the flattened struct equal to another column) is returned as built, and every
    /// conversion below refuses it with [`Error::DuplicateColumn`].
    fn schema() -> SchemaRef;

    /// Builds a record batch from a borrowed container (copies every column once).
    ///
    /// # Errors
    /// When a column does not fit its Arrow layout (for example over 2 GiB of string bytes);
    /// [`Error::DuplicateColumn`] when two columns of the schema have the same name.
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
    /// [`Error::MissingColumn`] and [`Error::Column`] naming `Struct.field`;
    /// [`Error::DuplicateColumn`] when two columns of the schema have the same name.
    fn from_record_batch(batch: &RecordBatch) -> Result<Self>;

    /// Reads a record batch by value, reclaiming uniquely owned fixed-width buffers without a copy.
    ///
    /// # Errors
    /// As [`ToArrow::from_record_batch`].
    fn try_from_record_batch(batch: RecordBatch) -> Result<Self>;

    /// Reads a record batch straight into rows: the rows of
    /// `from_record_batch(batch)?.into_rows()` without a container between. The derived
    /// implementation reads each column in place, one value per row
    /// ([`ArrowField::values`](crate::ArrowField::values): integers, floats, `bool` and strings
    /// straight from the Arrow buffers; other types through their column), like hand-written
    /// downcast-and-index code, so the peak memory is the rows' and the time that code's. This
    /// provided method (for hand-written `ToArrow` implementations) reads the batch in slices of
    /// [`ROWS_CHUNK`] rows, each into a small container whose rows are moved onto the result.
    ///
    /// ```
    /// use soa_runtime::{Soa, ToArrow};
    ///
    /// #[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
    /// struct Tick { symbol: String, price: f64 }
    ///
    /// let ticks = vec![Tick { symbol: "EURUSD".into(), price: 1.08 }];
    /// let batch = TickSoA::from(ticks.clone()).into_record_batch()?;
    /// assert_eq!(TickSoA::rows_from_record_batch(&batch)?, ticks);
    /// # Ok::<(), soa_runtime::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`ToArrow::from_record_batch`], with the same error (row numbers count from the
    /// batch's first row).
    fn rows_from_record_batch(batch: &RecordBatch) -> Result<Vec<Self::Row>> {
        let rows = batch.num_rows();
        if rows <= ROWS_CHUNK {
            return Ok(Self::from_record_batch(batch)?.into_rows());
        }
        let mut out = Vec::with_capacity(rows);
        for offset in (0..rows).step_by(ROWS_CHUNK) {
            let part = batch.slice(offset, ROWS_CHUNK.min(rows - offset));
            match Self::from_record_batch(&part) {
                Ok(columns) => columns.move_rows_into(&mut out),
                // The error as the whole batch reports it (its row numbers), read again.
                Err(e) => return Err(Self::from_record_batch(batch).err().unwrap_or(e)),
            }
        }
        Ok(out)
    }
}

/// Rows per slice of [`ToArrow::rows_from_record_batch`].
pub const ROWS_CHUNK: usize = 4 * 1024;

/// Helpers called by the generated code. Not public API.
#[doc(hidden)]
pub mod helpers {
    use super::*;
    use crate::error::FieldError;
    use arrow_array::cast::AsArray;
    use arrow_array::{Array, BooleanArray, StructArray, UInt32Array};
    use arrow_schema::{DataType, Schema};
    use std::sync::Arc;

    fn nested(error: Error) -> FieldError {
        FieldError::Nested(Box::new(error))
    }

    /// The index of the `i`-th `true` in `flags` (`i` itself if there is none).
    fn nth_true(flags: &[bool], i: usize) -> usize {
        flags
            .iter()
            .enumerate()
            .filter(|(_, flag)| **flag)
            .nth(i)
            .map_or(i, |(index, _)| index)
    }

    /// `Struct` type of a nested derived struct: its schema's fields.
    pub fn struct_data_type<C: ToArrow>() -> DataType {
        DataType::Struct(C::schema().fields().clone())
    }

    /// A nested struct column from its (moved) container.
    pub fn struct_into_array<C: ToArrow>(columns: C) -> Result<ArrayRef, FieldError> {
        let batch = columns.into_record_batch().map_err(nested)?;
        Ok(Arc::new(StructArray::from(batch)))
    }

    /// A nullable nested struct column: `compact` holds the non-null rows in order; `valid` tells
    /// which rows are present.
    pub fn struct_into_array_opt<C: ToArrow>(
        valid: &[bool],
        compact: C,
    ) -> Result<ArrayRef, FieldError> {
        // Row `i` of `compact` is the `i`-th present row.
        let dense =
            struct_into_array(compact).map_err(|e| e.relocate(&|i| (nth_true(valid, i), None)))?;
        let nulls = arrow_buffer::NullBuffer::from(valid.to_vec());
        if dense.is_empty() {
            // Every row is null and there is no value to stand in: a null struct of that length.
            return Ok(arrow_array::new_null_array(dense.data_type(), valid.len()));
        }
        // Null rows repeat the first present row, so non-nullable children never hold nulls
        // (pyarrow's Parquet writer rejects those); the struct's validity masks them.
        let mut next = 0u32;
        let indices: UInt32Array = valid
            .iter()
            .map(|&v| {
                if v {
                    next += 1;
                    Some(next - 1)
                } else {
                    Some(0)
                }
            })
            .collect();
        let spread = arrow_select::take::take(dense.as_ref(), &indices, None)?;
        let (fields, columns, _) = spread.as_struct().clone().into_parts();
        let nulls = (nulls.null_count() > 0).then_some(nulls);
        Ok(Arc::new(StructArray::try_new(fields, columns, nulls)?))
    }

    fn read_struct<C: ToArrow>(array: &StructArray) -> Result<Vec<C::Row>, FieldError> {
        let (fields, columns, _) = array.clone().into_parts();
        let options = RecordBatchOptions::new().with_row_count(Some(array.len()));
        let batch =
            RecordBatch::try_new_with_options(Arc::new(Schema::new(fields)), columns, &options)?;
        Ok(C::from_record_batch(&batch).map_err(nested)?.into_rows())
    }

    fn expect_struct<C: ToArrow>(array: &dyn Array) -> Result<&StructArray, FieldError> {
        array
            .as_struct_opt()
            .ok_or_else(|| FieldError::TypeMismatch {
                expected: struct_data_type::<C>(),
                found: array.data_type().clone(),
            })
    }

    /// Reads a non-null nested struct column.
    pub fn struct_from_array<C: ToArrow>(array: &dyn Array) -> Result<Vec<C::Row>, FieldError> {
        let structs = expect_struct::<C>(array)?;
        crate::field::reject_nulls(array, struct_data_type::<C>())?;
        read_struct::<C>(structs)
    }

    /// Reads a nullable nested struct column (children under null rows are ignored).
    pub fn struct_from_array_opt<C: ToArrow>(
        array: &dyn Array,
    ) -> Result<Vec<Option<C::Row>>, FieldError> {
        let structs = expect_struct::<C>(array)?;
        let Some(nulls) = structs.nulls().filter(|n| n.null_count() > 0) else {
            return Ok(read_struct::<C>(structs)?.into_iter().map(Some).collect());
        };
        let mask = BooleanArray::new(nulls.inner().clone(), None);
        let valid = arrow_select::filter::filter(array, &mask)?;
        // Row `i` of the filtered array is the `i`-th present row.
        let present = |i: usize| (nulls.valid_indices().nth(i).unwrap_or(i), None);
        let mut rows = read_struct::<C>(valid.as_struct())
            .map_err(|e| e.relocate(&present))?
            .into_iter();
        Ok(nulls
            .iter()
            .map(|v| if v { rows.next() } else { None })
            .collect())
    }

    /// A row type's schema with the first column name it repeats, if any, computed once so the
    /// conversions can check it on every call for the price of a load.
    #[derive(Debug)]
    pub struct CheckedSchema {
        /// The schema as built.
        pub schema: SchemaRef,
        duplicate: Option<String>,
    }

    impl CheckedSchema {
        /// Finds the first repeated top-level column name of `schema`.
        pub fn new(schema: SchemaRef) -> Self {
            let mut seen = std::collections::HashSet::new();
            let duplicate = schema
                .fields()
                .iter()
                .map(|f| f.name())
                .find(|name| !seen.insert(name.as_str()))
                .cloned();
            Self { schema, duplicate }
        }

        /// [`Error::DuplicateColumn`] when a column name repeats.
        pub fn check(&self, struct_name: &'static str) -> Result<()> {
            match &self.duplicate {
                None => Ok(()),
                Some(column) => Err(Error::DuplicateColumn {
                    struct_name,
                    column: column.clone(),
                }),
            }
        }
    }

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

    /// How one field converts: chosen by the macro (the type's `ArrowField` impl, an adapter, or
    /// an Arrow-shaped column). `C` is what the container holds (`[T]` borrowed, `Vec<T>` owned,
    /// or the `#[soa(arrow_layout)]` column type).
    pub type ToArrayFn<C> = fn(&C) -> Result<ArrayRef, FieldError>;
    /// Owned variant of [`ToArrayFn`].
    pub type IntoArrayFn<C> = fn(C) -> Result<ArrayRef, FieldError>;
    /// Reads a borrowed column.
    pub type FromArrayFn<C> = fn(&dyn Array) -> Result<C, FieldError>;
    /// Reads an owned column.
    pub type FromArrayOwnedFn<C> = fn(ArrayRef) -> Result<C, FieldError>;
    /// The column used when the batch lacks it (`None`: the column is required).
    pub type AbsentFn<C> = fn(usize) -> Option<C>;

    /// Converts one borrowed column, adding the struct and field to any error.
    pub fn column_to_array<C: ?Sized>(
        values: &C,
        to: ToArrayFn<C>,
        struct_name: &'static str,
        field: &'static str,
    ) -> Result<ArrayRef> {
        to(values).map_err(|e| Error::column(struct_name, field, e))
    }

    /// Converts one owned column, adding the struct and field to any error.
    pub fn column_into_array<C>(
        values: C,
        into: IntoArrayFn<C>,
        struct_name: &'static str,
        field: &'static str,
    ) -> Result<ArrayRef> {
        into(values).map_err(|e| Error::column(struct_name, field, e))
    }

    /// `into_array` through a borrowed conversion (adapters have no owned variant).
    pub fn via_ref<T>(values: Vec<T>, to: ToArrayFn<[T]>) -> Result<ArrayRef, FieldError> {
        to(&values)
    }

    /// A required column: absent means error.
    pub fn required_column<T>(_: usize) -> Option<Vec<T>> {
        None
    }

    /// A column of `Default` values (for `#[soa(default)]` fields missing from a batch).
    pub fn default_column<T: Default, C: FromIterator<T>>(len: usize) -> Option<C> {
        Some((0..len).map(|_| T::default()).collect())
    }

    /// A column of `None` (an `Option` field missing from a batch).
    pub fn none_column<T>(len: usize) -> Option<Vec<Option<T>>> {
        Some((0..len).map(|_| None).collect())
    }

    /// `Default` values for a skipped field.
    pub fn skipped_column<T: Default>(len: usize) -> Vec<T> {
        (0..len).map(|_| T::default()).collect()
    }

    /// The fields of a nested container flattened into the parent with a name prefix.
    pub fn flatten_fields<C: ToArrow>(prefix: &str) -> Vec<arrow_schema::FieldRef> {
        C::schema()
            .fields()
            .iter()
            .map(|f| {
                Arc::new(
                    f.as_ref()
                        .clone()
                        .with_name(format!("{prefix}{}", f.name())),
                )
            })
            .collect()
    }

    /// The columns of a flattened nested container.
    pub fn flatten_arrays<C: ToArrow>(
        columns: C,
        struct_name: &'static str,
        field: &'static str,
    ) -> Result<Vec<ArrayRef>> {
        let batch = columns
            .into_record_batch()
            .map_err(|e| Error::column(struct_name, field, nested(e)))?;
        Ok(batch.columns().to_vec())
    }

    /// Reads a flattened nested container from the parent batch's prefixed columns.
    pub fn flatten_read<C: ToArrow>(
        batch: &RecordBatch,
        prefix: &str,
        struct_name: &'static str,
        field: &'static str,
    ) -> Result<Vec<C::Row>> {
        let schema = batch.schema();
        let mut fields = Vec::new();
        let mut columns = Vec::new();
        for (f, column) in schema.fields().iter().zip(batch.columns()) {
            if let Some(inner) = f.name().strip_prefix(prefix) {
                fields.push(f.as_ref().clone().with_name(inner));
                columns.push(column.clone());
            }
        }
        let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
        let inner =
            RecordBatch::try_new_with_options(Arc::new(Schema::new(fields)), columns, &options)
                .map_err(|e| Error::column(struct_name, field, FieldError::Arrow(e)))?;
        let rows = C::from_record_batch(&inner)
            .map_err(|e| Error::column(struct_name, field, nested(e)))?;
        Ok(rows.into_rows())
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

    /// Reads the column named `column` of a borrowed batch into a column `C`.
    #[allow(clippy::too_many_arguments)]
    pub fn read_column<C>(
        batch: &RecordBatch,
        struct_name: &'static str,
        field: &'static str,
        column: &'static str,
        expected: fn() -> DataType,
        from: FromArrayFn<C>,
        absent: AbsentFn<C>,
    ) -> Result<C> {
        let Some(array) = batch.column_by_name(column) else {
            return absent(batch.num_rows()).ok_or_else(|| Error::MissingColumn {
                struct_name,
                field,
                column,
                expected: expected(),
            });
        };
        from(array.as_ref()).map_err(|e| Error::column(struct_name, field, e))
    }

    /// One column of a batch as values for a derived `rows_from_record_batch`: read in place
    /// through `values` (the field type's [`ArrowField::values`](crate::ArrowField::values)), or
    /// the field's absent column; errors name the struct and field as [`read_column`]'s do.
    #[allow(clippy::too_many_arguments)]
    pub fn read_values<'a, T, I, C>(
        batch: &'a RecordBatch,
        struct_name: &'static str,
        field: &'static str,
        column: &'static str,
        expected: fn() -> DataType,
        values: impl FnOnce(&'a dyn Array) -> Result<I, FieldError>,
        absent: AbsentFn<C>,
    ) -> Result<crate::field::Values<I, C::IntoIter>>
    where
        I: Iterator<Item = T>,
        C: IntoIterator<Item = T>,
    {
        use crate::field::Values;
        let Some(array) = batch.column_by_name(column) else {
            return absent(batch.num_rows())
                .map(|c| Values::Converted(c.into_iter()))
                .ok_or_else(|| Error::MissingColumn {
                    struct_name,
                    field,
                    column,
                    expected: expected(),
                });
        };
        values(array.as_ref())
            .map(Values::Direct)
            .map_err(|e| Error::column(struct_name, field, e))
    }

    /// A column that gave fewer values than its batch has rows (an array shorter than the batch;
    /// `RecordBatch` rules that out).
    #[cold]
    pub fn short_column(
        struct_name: &'static str,
        field: &'static str,
        expected: usize,
        found: usize,
    ) -> Error {
        Error::LengthMismatch {
            struct_name,
            field,
            expected,
            found,
        }
    }

    /// The columns of an owned batch, each taken at most once by [`take_column`].
    #[derive(Debug)]
    pub struct OwnedColumns {
        schema: SchemaRef,
        columns: Vec<Option<ArrayRef>>,
        rows: usize,
    }

    /// Splits an owned batch into its columns (drops the batch's own references).
    pub fn owned_columns(batch: RecordBatch) -> OwnedColumns {
        let (schema, columns, rows) = batch.into_parts();
        OwnedColumns {
            schema,
            columns: columns.into_iter().map(Some).collect(),
            rows,
        }
    }

    /// The number of rows of an owned batch.
    pub fn owned_rows(columns: &OwnedColumns) -> usize {
        columns.rows
    }

    /// A plain borrowed batch view of what is left, for flattened fields.
    pub fn owned_batch(columns: &OwnedColumns) -> Result<RecordBatch> {
        let mut fields = Vec::new();
        let mut arrays = Vec::new();
        for (f, c) in columns.schema.fields().iter().zip(&columns.columns) {
            if let Some(c) = c {
                fields.push(f.clone());
                arrays.push(c.clone());
            }
        }
        let options = RecordBatchOptions::new().with_row_count(Some(columns.rows));
        RecordBatch::try_new_with_options(Arc::new(Schema::new(fields)), arrays, &options)
            .map_err(|e| Error::arrow("reading flattened columns", e))
    }

    /// Moves the column named `column` out of an owned batch into a column `C`.
    #[allow(clippy::too_many_arguments)]
    pub fn take_column<C>(
        columns: &mut OwnedColumns,
        struct_name: &'static str,
        field: &'static str,
        column: &'static str,
        expected: fn() -> DataType,
        from: FromArrayOwnedFn<C>,
        absent: AbsentFn<C>,
    ) -> Result<C> {
        let array = columns
            .schema
            .index_of(column)
            .ok()
            .and_then(|i| columns.columns.get_mut(i))
            .and_then(Option::take);
        let Some(array) = array else {
            return absent(columns.rows).ok_or_else(|| Error::MissingColumn {
                struct_name,
                field,
                column,
                expected: expected(),
            });
        };
        from(array).map_err(|e| Error::column(struct_name, field, e))
    }
}

//! Adapters: alternative Arrow layouts for a field, chosen with an attribute.
//!
//! A field's default layout comes from its type's [`ArrowField`] impl. An attribute picks an
//! adapter instead, a marker type implementing [`Adapter<T>`] for the field's type:
//!
//! | attribute | adapter | layouts |
//! |---|---|---|
//! | `#[soa(large)]` | [`Large`] | `String` -> `LargeUtf8`, `Vec<u8>` -> `LargeBinary`, `Vec<T>` -> `LargeList<T>` |
//! | `#[soa(dictionary)]` | [`Dictionary`] | `String` -> `Dictionary(Int32, Utf8)` |
//! | `#[soa(timestamp = "s" \| "ms" \| "us" \| "ns")]` | [`Timestamp<U>`] | `i64` (and the chrono types, feature `chrono`) -> `Timestamp(U)` |
//! | `#[soa(decimal(precision = P, scale = S))]` | [`Decimal<P, S>`] | `rust_decimal::Decimal` (feature `rust_decimal`), `i128` -> `Decimal128(P, S)` |
//!
//! On an `Option<T>` field the macro uses the adapter's `*_opt` methods for `T`.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::Arc;

use arrow_array::types::Int32Type;
use arrow_array::{
    Array, ArrayRef, DictionaryArray, GenericListArray, LargeBinaryArray, LargeStringArray,
    PrimitiveArray,
};
use arrow_buffer::{NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::{DataType, TimeUnit};

use super::{ArrowField, FieldError, for_each_str, item_field, list};

/// An alternative Arrow layout for values of type `T` (see the [module docs](self)).
#[diagnostic::on_unimplemented(
    message = "the soa layout attribute `{Self}` does not apply to a field of type `{T}`",
    label = "this layout attribute does not fit the field's type",
    note = "see the table in the `soa_runtime::field::adapt` docs for which attribute fits which type"
)]
pub trait Adapter<T> {
    /// The Arrow type of the column.
    fn data_type() -> DataType;
    /// Metadata of the Arrow field.
    fn field_metadata() -> HashMap<String, String> {
        HashMap::new()
    }
    /// Builds a non-null column.
    ///
    /// # Errors
    /// When a value does not fit the layout.
    fn to_array(values: &[T]) -> Result<ArrayRef, FieldError>;
    /// Reads a non-null column.
    ///
    /// # Errors
    /// On a type mismatch or a null.
    fn from_array(array: &dyn Array) -> Result<Vec<T>, FieldError>;
    /// Builds a nullable column.
    ///
    /// # Errors
    /// When a value does not fit the layout.
    fn to_array_opt(values: &[Option<T>]) -> Result<ArrayRef, FieldError>;
    /// Reads a nullable column.
    ///
    /// # Errors
    /// On a type mismatch.
    fn from_array_opt(array: &dyn Array) -> Result<Vec<Option<T>>, FieldError>;
}

/// `#[soa(large)]`: 64-bit offsets (`LargeUtf8`, `LargeBinary`, `LargeList`).
#[derive(Debug, Clone, Copy)]
pub struct Large;

/// `#[soa(dictionary)]`: dictionary-encoded strings, `Dictionary(Int32, Utf8)`.
#[derive(Debug, Clone, Copy)]
pub struct Dictionary;

/// `#[soa(timestamp = "..")]`: a timestamp column in unit `U` ([`Second`], [`Millisecond`],
/// [`Microsecond`], [`Nanosecond`]), no time zone for `i64` and naive types, `"UTC"` for `DateTime<Utc>`.
#[derive(Debug, Clone, Copy)]
pub struct Timestamp<U>(PhantomData<U>);

/// `#[soa(decimal(precision = P, scale = S))]`: `Decimal128(P, S)`.
#[derive(Debug, Clone, Copy)]
pub struct Decimal<const P: u8, const S: i8>;

/// A timestamp unit.
pub trait Unit {
    /// The Arrow unit.
    const UNIT: TimeUnit;
    /// Units per second.
    const PER_SECOND: i64;
}

macro_rules! unit {
    ($($name:ident => $unit:ident, $per:expr;)*) => {$(
        #[doc = concat!("Timestamp unit: ", stringify!($unit), ".")]
        #[derive(Debug, Clone, Copy)]
        pub struct $name;
        impl Unit for $name {
            const UNIT: TimeUnit = TimeUnit::$unit;
            const PER_SECOND: i64 = $per;
        }
    )*};
}

unit! {
    Second => Second, 1;
    Millisecond => Millisecond, 1_000;
    Microsecond => Microsecond, 1_000_000;
    Nanosecond => Nanosecond, 1_000_000_000;
}

fn mismatch(expected: DataType, array: &dyn Array) -> FieldError {
    FieldError::TypeMismatch {
        expected,
        found: array.data_type().clone(),
    }
}

/// Reads optional values of a non-null column, failing on the first null.
pub fn require<T>(rows: Vec<Option<T>>, expected: DataType) -> Result<Vec<T>, FieldError> {
    list::required(rows, expected)
}

fn nulls_of<T>(rows: &[Option<T>]) -> Option<NullBuffer> {
    let nulls: NullBuffer = rows.iter().map(Option::is_some).collect();
    (nulls.null_count() > 0).then_some(nulls)
}

// ---- Large -------------------------------------------------------------------------------

fn large_strings<'a>(strs: impl Iterator<Item = Option<&'a str>>) -> Result<ArrayRef, FieldError> {
    Ok(Arc::new(strs.collect::<LargeStringArray>()))
}

impl Adapter<String> for Large {
    fn data_type() -> DataType {
        DataType::LargeUtf8
    }
    fn to_array(values: &[String]) -> Result<ArrayRef, FieldError> {
        large_strings(values.iter().map(|s| Some(s.as_str())))
    }
    fn from_array(array: &dyn Array) -> Result<Vec<String>, FieldError> {
        require(Self::from_array_opt(array)?, DataType::LargeUtf8)
    }
    fn to_array_opt(values: &[Option<String>]) -> Result<ArrayRef, FieldError> {
        large_strings(values.iter().map(|s| s.as_deref()))
    }
    fn from_array_opt(array: &dyn Array) -> Result<Vec<Option<String>>, FieldError> {
        String::from_array_opt(array).map_err(|_| mismatch(DataType::LargeUtf8, array))
    }
}

impl Adapter<Vec<u8>> for Large {
    fn data_type() -> DataType {
        DataType::LargeBinary
    }
    fn to_array(values: &[Vec<u8>]) -> Result<ArrayRef, FieldError> {
        Ok(Arc::new(
            values
                .iter()
                .map(|b| Some(b.as_slice()))
                .collect::<LargeBinaryArray>(),
        ))
    }
    fn from_array(array: &dyn Array) -> Result<Vec<Vec<u8>>, FieldError> {
        require(Self::from_array_opt(array)?, DataType::LargeBinary)
    }
    fn to_array_opt(values: &[Option<Vec<u8>>]) -> Result<ArrayRef, FieldError> {
        Ok(Arc::new(
            values
                .iter()
                .map(|b| b.as_deref())
                .collect::<LargeBinaryArray>(),
        ))
    }
    fn from_array_opt(array: &dyn Array) -> Result<Vec<Option<Vec<u8>>>, FieldError> {
        list::binary_from_array(array).map_err(|_| mismatch(DataType::LargeBinary, array))
    }
}

/// `Vec<T>` as `LargeList<T>` (for `T` other than `u8`, whose `Vec` is bytes).
#[derive(Debug, Clone, Copy)]
pub struct LargeList;

fn large_list<T: ArrowField + Clone>(rows: &[Option<&[T]>]) -> Result<ArrayRef, FieldError> {
    let mut offsets: Vec<i64> = Vec::with_capacity(rows.len() + 1);
    let mut flat: Vec<T> = Vec::new();
    offsets.push(0);
    for row in rows {
        if let Some(values) = row {
            flat.extend_from_slice(values);
        }
        offsets.push(flat.len() as i64);
    }
    let child =
        T::into_array(flat).map_err(|e| e.relocate(&|i| list::list_position(&offsets, i)))?;
    let array = GenericListArray::<i64>::try_new(
        Arc::new(item_field::<T>()),
        OffsetBuffer::new(ScalarBuffer::from(offsets)),
        child,
        nulls_of(rows),
    )?;
    Ok(Arc::new(array))
}

impl<T: ArrowField + Clone> Adapter<Vec<T>> for LargeList {
    fn data_type() -> DataType {
        DataType::LargeList(Arc::new(item_field::<T>()))
    }
    fn to_array(values: &[Vec<T>]) -> Result<ArrayRef, FieldError> {
        large_list(
            &values
                .iter()
                .map(|v| Some(v.as_slice()))
                .collect::<Vec<_>>(),
        )
    }
    fn from_array(array: &dyn Array) -> Result<Vec<Vec<T>>, FieldError> {
        require(
            Self::from_array_opt(array)?,
            <Self as Adapter<Vec<T>>>::data_type(),
        )
    }
    fn to_array_opt(values: &[Option<Vec<T>>]) -> Result<ArrayRef, FieldError> {
        large_list(&values.iter().map(|v| v.as_deref()).collect::<Vec<_>>())
    }
    fn from_array_opt(array: &dyn Array) -> Result<Vec<Option<Vec<T>>>, FieldError> {
        list::from_list::<T>(array).map_err(|e| match e {
            FieldError::TypeMismatch { .. } => {
                mismatch(<Self as Adapter<Vec<T>>>::data_type(), array)
            }
            other => other,
        })
    }
}

// ---- Dictionary --------------------------------------------------------------------------

fn dictionary_strings<'a>(
    strs: impl Iterator<Item = Option<&'a str>>,
) -> Result<ArrayRef, FieldError> {
    Ok(Arc::new(strs.collect::<DictionaryArray<Int32Type>>()))
}

fn dict_type() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
}

impl Adapter<String> for Dictionary {
    fn data_type() -> DataType {
        dict_type()
    }
    fn to_array(values: &[String]) -> Result<ArrayRef, FieldError> {
        dictionary_strings(values.iter().map(|s| Some(s.as_str())))
    }
    fn from_array(array: &dyn Array) -> Result<Vec<String>, FieldError> {
        require(Self::from_array_opt(array)?, dict_type())
    }
    fn to_array_opt(values: &[Option<String>]) -> Result<ArrayRef, FieldError> {
        dictionary_strings(values.iter().map(|s| s.as_deref()))
    }
    fn from_array_opt(array: &dyn Array) -> Result<Vec<Option<String>>, FieldError> {
        let mut out = Vec::with_capacity(array.len());
        for_each_str(array, dict_type(), |_, s| {
            out.push(s.map(str::to_owned));
            Ok(())
        })?;
        Ok(out)
    }
}

// ---- Timestamp on i64 --------------------------------------------------------------------

/// The Arrow type of a timestamp column in unit `U`, with an optional time zone.
pub fn timestamp_type<U: Unit>(tz: Option<&str>) -> DataType {
    DataType::Timestamp(U::UNIT, tz.map(Arc::from))
}

/// Builds a timestamp column from raw values in unit `U`.
///
/// # Errors
/// Never in practice (Arrow accepts any i64).
pub fn timestamp_array<U: Unit>(
    values: Vec<i64>,
    nulls: Option<NullBuffer>,
    tz: Option<&str>,
) -> Result<ArrayRef, FieldError> {
    let array =
        PrimitiveArray::<arrow_array::types::Int64Type>::new(ScalarBuffer::from(values), nulls);
    let array: ArrayRef = Arc::new(array);
    arrow_cast_reinterpret(array, timestamp_type::<U>(tz))
}

fn arrow_cast_reinterpret(array: ArrayRef, to: DataType) -> Result<ArrayRef, FieldError> {
    // Int64 and Timestamp share one layout: rebuild the array data with the new type.
    let data = array.to_data().into_builder().data_type(to).build()?;
    Ok(arrow_array::make_array(data))
}

/// Reads a timestamp column (any unit, any time zone) as raw values in unit `U`. A column in
/// another unit is converted (coarser to finer multiplies and fails on overflow; finer to coarser
/// fails if precision would be lost).
///
/// # Errors
/// [`FieldError::TypeMismatch`] for non-timestamp columns, [`FieldError::ValueOutOfRange`] on overflow
/// or precision loss.
pub fn timestamp_values<U: Unit>(array: &dyn Array) -> Result<Vec<Option<i64>>, FieldError> {
    let DataType::Timestamp(unit, _) = array.data_type() else {
        return Err(mismatch(timestamp_type::<U>(None), array));
    };
    let per = |u: &TimeUnit| match u {
        TimeUnit::Second => 1i64,
        TimeUnit::Millisecond => 1_000,
        TimeUnit::Microsecond => 1_000_000,
        TimeUnit::Nanosecond => 1_000_000_000,
    };
    let (from, to) = (per(unit), U::PER_SECOND);
    let data = array.to_data();
    let ints = PrimitiveArray::<arrow_array::types::Int64Type>::from(
        data.into_builder().data_type(DataType::Int64).build()?,
    );
    ints.iter()
        .enumerate()
        .map(|(row, v)| match v {
            None => Ok(None),
            Some(v) if from == to => Ok(Some(v)),
            Some(v) if from < to => v.checked_mul(to / from).map(Some).ok_or_else(|| {
                FieldError::out_of_range_at(
                    row,
                    format!(
                        "timestamp {v} in {unit:?} overflows a 64-bit count of {:?}",
                        U::UNIT
                    ),
                )
            }),
            Some(v) => {
                let f = from / to;
                if v % f == 0 {
                    Ok(Some(v / f))
                } else {
                    Err(FieldError::out_of_range_at(
                        row,
                        format!("timestamp {v} in {unit:?} loses precision in {:?}", U::UNIT),
                    ))
                }
            }
        })
        .collect()
}

impl<U: Unit> Adapter<i64> for Timestamp<U> {
    fn data_type() -> DataType {
        timestamp_type::<U>(None)
    }
    fn to_array(values: &[i64]) -> Result<ArrayRef, FieldError> {
        timestamp_array::<U>(values.to_vec(), None, None)
    }
    fn from_array(array: &dyn Array) -> Result<Vec<i64>, FieldError> {
        require(
            timestamp_values::<U>(array)?,
            <Self as Adapter<i64>>::data_type(),
        )
    }
    fn to_array_opt(values: &[Option<i64>]) -> Result<ArrayRef, FieldError> {
        let raw = values.iter().map(|v| v.unwrap_or(0)).collect();
        timestamp_array::<U>(raw, nulls_of(values), None)
    }
    fn from_array_opt(array: &dyn Array) -> Result<Vec<Option<i64>>, FieldError> {
        timestamp_values::<U>(array)
    }
}

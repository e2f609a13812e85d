//! Type mapping: how one Rust field type becomes one Arrow column and back.
//!
//! The derive macros never look at type names. For a field `price: f64` they emit calls to
//! `<f64 as ArrowField>::...`, so any type that implements [`ArrowField`] can be a field, and a type
//! that does not is a compile error pointing at the field's type.
//!
//! # Which conversions copy
//!
//! | column (`Vec<T>` in the SoA)            | `into_array` (by move)          | `to_array` (borrowed) |
//! |------------------------------------------|----------------------------------|-----------------------|
//! | integers, floats                         | **no copy**: the `Vec` becomes the Arrow buffer | one `memcpy` |
//! | `bool`                                   | one pass (Arrow packs bools into bits)           | one pass |
//! | `String`                                 | one pass (Arrow wants one byte buffer + offsets) | one pass |
//! | `Option<T>`                              | one pass (values + validity bitmap)              | one pass |
//! | unit enums                               | one pass (variant index -> dictionary key)       | one pass |
//!
//! Back from Arrow, `from_array_owned` (used by `try_from_record_batch`) reclaims a uniquely owned,
//! unsliced buffer that was allocated as a `Vec` (for example one made by `into_array`) without
//! copying; every other case copies once.
//!
//! # Implementing `ArrowField` for your own type
//!
//! A newtype usually delegates to its inner type:
//!
//! ```
//! use soa_runtime::{ArrowField, FieldError};
//! use soa_runtime::arrow::{array::{Array, ArrayRef}, datatypes::DataType};
//!
//! #[derive(Debug, Clone, Copy, PartialEq)]
//! pub struct Cents(pub i64);
//!
//! impl ArrowField for Cents {
//!     fn data_type() -> DataType { i64::data_type() }
//!     fn to_array(values: &[Self]) -> Result<ArrayRef, FieldError> {
//!         i64::into_array(values.iter().map(|c| c.0).collect())
//!     }
//!     fn from_array(array: &dyn Array) -> Result<Vec<Self>, FieldError> {
//!         Ok(i64::from_array(array)?.into_iter().map(Cents).collect())
//!     }
//!     fn to_array_opt(values: &[Option<Self>]) -> Result<ArrayRef, FieldError> {
//!         i64::to_array_opt(&values.iter().map(|c| c.map(|c| c.0)).collect::<Vec<_>>())
//!     }
//!     fn from_array_opt(array: &dyn Array) -> Result<Vec<Option<Self>>, FieldError> {
//!         Ok(i64::from_array_opt(array)?.into_iter().map(|c| c.map(Cents)).collect())
//!     }
//! }
//! let array = Cents::to_array(&[Cents(5), Cents(-7)]).unwrap();
//! assert_eq!(Cents::from_array(&array).unwrap(), vec![Cents(5), Cents(-7)]);
//! ```

use std::collections::HashMap;
use std::sync::Arc;

pub mod adapt;
#[cfg(feature = "chrono")]
pub mod chrono;
#[doc(hidden)]
pub mod data_enum;
pub mod decimal;
mod list;
pub mod map;
pub mod scalar;
mod unit_enum;
#[cfg(feature = "uuid")]
pub mod uuid;

pub use unit_enum::{
    UnitEnum, enum_data_type, enum_from_array, enum_from_array_opt, enum_names_array,
    enum_to_array, enum_to_array_opt,
};

use arrow_array::cast::AsArray;
use arrow_array::types::{
    ArrowPrimitiveType, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type,
    UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrayRef, BooleanArray, PrimitiveArray, StringArray};
use arrow_buffer::{BooleanBuffer, Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::DataType;

use crate::error::FieldError;

/// Maps a Rust type to an Arrow column.
///
/// A column of a Structure-of-Arrays container is a `Vec<Self>`; this trait turns such a slice into
/// an Arrow array and back. It is implemented for integers, floats, `bool`, `String`, `Option<T>`,
/// and, by `#[derive(ToArrow)]`, for unit enums. See the [module docs](self) for an example.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a soa column: it does not implement `ArrowField`",
    label = "this field's type has no Arrow mapping",
    note = "derive `ToArrow` on it (structs and unit enums), use a supported type, or implement `soa_runtime::ArrowField` for it (see the `soa_runtime::field` docs)"
)]
pub trait ArrowField: Sized {
    /// The Arrow type of a column of this type.
    fn data_type() -> DataType;

    /// Whether the column may hold nulls (`true` only for `Option<T>`).
    const NULLABLE: bool = false;

    /// Builds an Arrow array from a borrowed column.
    ///
    /// # Errors
    /// When the values do not fit the Arrow layout (for example more than 2 GiB of string bytes).
    fn to_array(values: &[Self]) -> Result<ArrayRef, FieldError>;

    /// Builds an Arrow array from an owned column, reusing its allocation where the layouts agree.
    ///
    /// # Errors
    /// As [`ArrowField::to_array`].
    fn into_array(values: Vec<Self>) -> Result<ArrayRef, FieldError> {
        Self::to_array(&values)
    }

    /// Reads a column back. Fails on a type this field cannot be read from and on nulls.
    ///
    /// # Errors
    /// [`FieldError::TypeMismatch`], [`FieldError::UnexpectedNull`] and, for enums,
    /// [`FieldError::UnknownVariant`].
    fn from_array(array: &dyn Array) -> Result<Vec<Self>, FieldError>;

    /// Reads an owned column back, reclaiming its buffer without a copy where possible.
    ///
    /// # Errors
    /// As [`ArrowField::from_array`].
    fn from_array_owned(array: ArrayRef) -> Result<Vec<Self>, FieldError> {
        Self::from_array(array.as_ref())
    }

    /// Builds a nullable Arrow array (used by `Option<Self>`).
    ///
    /// # Errors
    /// As [`ArrowField::to_array`].
    fn to_array_opt(values: &[Option<Self>]) -> Result<ArrayRef, FieldError>;

    /// Reads a nullable column (used by `Option<Self>`).
    ///
    /// # Errors
    /// [`FieldError::TypeMismatch`] and, for enums, [`FieldError::UnknownVariant`].
    fn from_array_opt(array: &dyn Array) -> Result<Vec<Option<Self>>, FieldError>;

    /// Metadata of the Arrow field (for example an extension type name). Default: none.
    fn field_metadata() -> HashMap<String, String> {
        HashMap::new()
    }

    /// The column to use when a batch has no column for this field (schema evolution): `Some`
    /// only for types with a natural "absent" value, `Option<T>` (all `None`).
    fn absent(len: usize) -> Option<Vec<Self>> {
        let _ = len;
        None
    }

    /// Arrow type of a `Vec<Self>` column: `List<Self>` by default, `Binary` for `u8`.
    fn vec_data_type() -> DataType {
        list::list_type(item_field::<Self>())
    }

    /// Builds a `Vec<Self>` column (`rows[i] = None` is a null list).
    ///
    /// # Errors
    /// When offsets overflow or a child does not fit.
    fn vec_to_array(rows: &[Option<&[Self]>]) -> Result<ArrayRef, FieldError>
    where
        Self: Clone,
    {
        list::to_list::<Self>(rows)
    }

    /// Reads a `Vec<Self>` column (`None` for null lists).
    ///
    /// # Errors
    /// [`FieldError::TypeMismatch`] and the child's errors.
    fn vec_from_array(array: &dyn Array) -> Result<Vec<Option<Vec<Self>>>, FieldError> {
        list::from_list::<Self>(array)
    }

    /// Arrow type of a `[Self; n]` column: `FixedSizeList<Self, n>`, `FixedSizeBinary(n)` for `u8`.
    fn fixed_data_type(n: usize) -> DataType {
        list::fixed_type(item_field::<Self>(), n)
    }

    /// Builds a `[Self; n]` column (`rows[i] = None` is null).
    ///
    /// # Errors
    /// When the child does not fit.
    fn fixed_to_array(rows: &[Option<&[Self]>], n: usize) -> Result<ArrayRef, FieldError>
    where
        Self: Clone,
    {
        list::to_fixed::<Self>(rows, n)
    }

    /// Reads a `[Self; n]` column as rows of exactly `n` values (`None` for nulls).
    ///
    /// # Errors
    /// [`FieldError::TypeMismatch`] (including a different `n`) and the child's errors.
    fn fixed_from_array(array: &dyn Array, n: usize) -> Result<Vec<Option<Vec<Self>>>, FieldError> {
        list::from_fixed::<Self>(array, n)
    }
}

/// The Arrow field of a list item (`"item"`, nullable when `T` is an `Option`).
pub fn item_field<T: ArrowField>() -> arrow_schema::Field {
    arrow_schema::Field::new_list_field(T::data_type(), T::NULLABLE)
        .with_metadata(T::field_metadata())
}

/// Checks an array's type, returning [`FieldError::TypeMismatch`] on a difference.
pub(crate) fn expect_type(array: &dyn Array, expected: DataType) -> Result<(), FieldError> {
    if array.data_type() == &expected {
        Ok(())
    } else {
        Err(FieldError::TypeMismatch {
            expected,
            found: array.data_type().clone(),
        })
    }
}

/// Fails with [`FieldError::UnexpectedNull`] naming the first null row, if any.
#[doc(hidden)]
pub fn reject_nulls(array: &dyn Array, expected: DataType) -> Result<(), FieldError> {
    match array.logical_nulls() {
        Some(nulls) if nulls.null_count() > 0 => {
            let row = nulls.iter().position(|valid| !valid).unwrap_or(0);
            Err(FieldError::unexpected_null(row, expected))
        }
        _ => Ok(()),
    }
}

fn validity<T>(values: &[Option<T>]) -> Option<NullBuffer> {
    // `collect_bool` packs 64 bits per step; collecting an iterator of bools goes bit by bit.
    let bits = BooleanBuffer::collect_bool(values.len(), |i| values[i].is_some());
    let nulls = NullBuffer::new(bits);
    (nulls.null_count() > 0).then_some(nulls)
}

fn primitive_to_vec<P: ArrowPrimitiveType>(array: PrimitiveArray<P>) -> Vec<P::Native> {
    let (_, values, _) = array.into_parts();
    let len = values.len();
    match values.into_inner().into_vec::<P::Native>() {
        Ok(vec) if vec.len() == len => vec,
        Ok(vec) => vec[..len.min(vec.len())].to_vec(),
        Err(buffer) => ScalarBuffer::<P::Native>::new(buffer, 0, len).to_vec(),
    }
}

macro_rules! primitive_field {
    ($($rust:ty => $arrow:ty, $dt:expr, [$($src:ty),*] $(, { $($extra:tt)* })?;)*) => {$(
        impl ArrowField for $rust {
            fn data_type() -> DataType {
                $dt
            }

            fn to_array(values: &[Self]) -> Result<ArrayRef, FieldError> {
                Self::into_array(values.to_vec())
            }

            fn into_array(values: Vec<Self>) -> Result<ArrayRef, FieldError> {
                // `ScalarBuffer::from(Vec)` takes the allocation over: no copy.
                Ok(Arc::new(PrimitiveArray::<$arrow>::new(ScalarBuffer::from(values), None)))
            }

            fn from_array(array: &dyn Array) -> Result<Vec<Self>, FieldError> {
                if array.data_type() != &$dt {
                    return list::required(Self::from_array_opt(array)?, $dt);
                }
                reject_nulls(array, $dt)?;
                Ok(array.as_primitive::<$arrow>().values().to_vec())
            }

            fn from_array_owned(array: ArrayRef) -> Result<Vec<Self>, FieldError> {
                if array.data_type() != &$dt {
                    return Self::from_array(array.as_ref());
                }
                reject_nulls(array.as_ref(), $dt)?;
                let typed = array.as_primitive::<$arrow>().clone();
                // Drop our handle first so the buffer can be uniquely owned by `typed`.
                drop(array);
                Ok(primitive_to_vec(typed))
            }

            fn to_array_opt(values: &[Option<Self>]) -> Result<ArrayRef, FieldError> {
                let nulls = validity(values);
                let data: Vec<Self> = values.iter().map(|v| v.unwrap_or_default()).collect();
                Ok(Arc::new(PrimitiveArray::<$arrow>::new(ScalarBuffer::from(data), nulls)))
            }

            fn from_array_opt(array: &dyn Array) -> Result<Vec<Option<Self>>, FieldError> {
                if array.data_type() == &$dt {
                    return Ok(array.as_primitive::<$arrow>().iter().collect());
                }
                // Schema evolution: a column written with a narrower type widens losslessly.
                $(
                    if array.data_type() == &<$src as ArrowPrimitiveType>::DATA_TYPE {
                        return Ok(array
                            .as_primitive::<$src>()
                            .iter()
                            .map(|v| v.map(<$rust>::from))
                            .collect());
                    }
                )*
                expect_type(array, $dt)?;
                Ok(Vec::new())
            }

            $($($extra)*)?
        }
    )*};
}

primitive_field! {
    i8 => Int8Type, DataType::Int8, [];
    i16 => Int16Type, DataType::Int16, [Int8Type, UInt8Type];
    i32 => Int32Type, DataType::Int32, [Int8Type, Int16Type, UInt8Type, UInt16Type];
    i64 => Int64Type, DataType::Int64, [Int8Type, Int16Type, Int32Type, UInt8Type, UInt16Type, UInt32Type];
    u8 => UInt8Type, DataType::UInt8, [], {
        // Bytes are Binary / FixedSizeBinary, not lists of UInt8.
        fn vec_data_type() -> DataType {
            DataType::Binary
        }
        fn vec_to_array(rows: &[Option<&[u8]>]) -> Result<ArrayRef, FieldError> {
            list::binary_to_array(rows)
        }
        fn vec_from_array(array: &dyn Array) -> Result<Vec<Option<Vec<u8>>>, FieldError> {
            list::binary_from_array(array)
        }
        fn fixed_data_type(n: usize) -> DataType {
            DataType::FixedSizeBinary(i32::try_from(n).unwrap_or(i32::MAX))
        }
        fn fixed_to_array(rows: &[Option<&[u8]>], n: usize) -> Result<ArrayRef, FieldError> {
            list::fixed_binary_to_array(rows, n)
        }
        fn fixed_from_array(array: &dyn Array, n: usize) -> Result<Vec<Option<Vec<u8>>>, FieldError> {
            list::fixed_binary_from_array(array, n)
        }
    };
    u16 => UInt16Type, DataType::UInt16, [UInt8Type];
    u32 => UInt32Type, DataType::UInt32, [UInt8Type, UInt16Type];
    u64 => UInt64Type, DataType::UInt64, [UInt8Type, UInt16Type, UInt32Type];
    f32 => Float32Type, DataType::Float32, [];
    f64 => Float64Type, DataType::Float64, [Float32Type];
}

impl ArrowField for bool {
    fn data_type() -> DataType {
        DataType::Boolean
    }

    fn to_array(values: &[Self]) -> Result<ArrayRef, FieldError> {
        let bits = BooleanBuffer::collect_bool(values.len(), |i| values[i]);
        Ok(Arc::new(BooleanArray::new(bits, None)))
    }

    fn from_array(array: &dyn Array) -> Result<Vec<Self>, FieldError> {
        expect_type(array, DataType::Boolean)?;
        reject_nulls(array, DataType::Boolean)?;
        Ok(array.as_boolean().values().iter().collect())
    }

    fn to_array_opt(values: &[Option<Self>]) -> Result<ArrayRef, FieldError> {
        let bits = BooleanBuffer::collect_bool(values.len(), |i| values[i].unwrap_or(false));
        Ok(Arc::new(BooleanArray::new(bits, validity(values))))
    }

    fn from_array_opt(array: &dyn Array) -> Result<Vec<Option<Self>>, FieldError> {
        expect_type(array, DataType::Boolean)?;
        Ok(array.as_boolean().iter().collect())
    }
}

/// Builds a Utf8 array from string slices in one pass (offsets and bytes sized up front).
pub(crate) fn utf8_array<'a, I>(
    strings: I,
    total_bytes: usize,
    nulls: Option<NullBuffer>,
) -> Result<ArrayRef, FieldError>
where
    I: ExactSizeIterator<Item = &'a str>,
{
    if i32::try_from(total_bytes).is_err() {
        return Err(FieldError::OutOfRange(format!(
            "{total_bytes} bytes of strings exceed the 2 GiB limit of Arrow Utf8 offsets"
        )));
    }
    let mut offsets: Vec<i32> = Vec::with_capacity(strings.len() + 1);
    let mut bytes: Vec<u8> = Vec::with_capacity(total_bytes);
    offsets.push(0);
    for s in strings {
        bytes.extend_from_slice(s.as_bytes());
        // Cannot overflow: the total was checked against i32::MAX above.
        offsets.push(bytes.len() as i32);
    }
    if i32::try_from(bytes.len()).is_err()
        || nulls.as_ref().is_some_and(|n| n.len() + 1 != offsets.len())
    {
        return Err(FieldError::OutOfRange(format!(
            "{} bytes of strings exceed the 2 GiB limit of Arrow Utf8 offsets (or the validity length differs)",
            bytes.len()
        )));
    }
    let offsets = OffsetBuffer::new(ScalarBuffer::from(offsets));
    // SAFETY: `bytes` is a concatenation of `&str`s, so it is valid UTF-8 and every offset (the end
    // of one `&str`) is a char boundary; offsets start at 0, never decrease and end at
    // `bytes.len()`, which fits i32 (checked above, so the `as i32` casts were exact); the
    // validity, if any, has one bit per string (checked above). Skipping `try_new`'s re-validation
    // of every byte halves the cost of a string column.
    #[allow(unsafe_code)]
    let array = unsafe { StringArray::new_unchecked(offsets, Buffer::from_vec(bytes), nulls) };
    Ok(Arc::new(array))
}

/// Reads any Arrow string column (Utf8, LargeUtf8, Utf8View) as optional `&str`s.
pub(crate) fn for_each_str<'a>(
    array: &'a dyn Array,
    expected: DataType,
    mut f: impl FnMut(usize, Option<&'a str>) -> Result<(), FieldError>,
) -> Result<(), FieldError> {
    match array.data_type() {
        DataType::Utf8 => {
            for (i, s) in array.as_string::<i32>().iter().enumerate() {
                f(i, s)?;
            }
        }
        DataType::LargeUtf8 => {
            for (i, s) in array.as_string::<i64>().iter().enumerate() {
                f(i, s)?;
            }
        }
        DataType::Utf8View => {
            for (i, s) in array.as_string_view().iter().enumerate() {
                f(i, s)?;
            }
        }
        DataType::Dictionary(_, value) if value.is_string() => {
            // Dictionary-encoded strings (as pandas/polars categoricals arrive) read value by value.
            let Some(dict) = array.as_any_dictionary_opt() else {
                return Err(FieldError::TypeMismatch {
                    expected,
                    found: array.data_type().clone(),
                });
            };
            let dict_values = dict.values().as_ref();
            let values: Vec<Option<&'a str>> = match dict_values.data_type() {
                DataType::Utf8 => dict_values.as_string::<i32>().iter().collect(),
                DataType::LargeUtf8 => dict_values.as_string::<i64>().iter().collect(),
                DataType::Utf8View => dict_values.as_string_view().iter().collect(),
                _ => {
                    return Err(FieldError::TypeMismatch {
                        expected,
                        found: array.data_type().clone(),
                    });
                }
            };
            let nulls = array.logical_nulls();
            let keys = if values.is_empty() {
                vec![0; array.len()]
            } else {
                dict.normalized_keys()
            };
            for (i, key) in keys.into_iter().enumerate() {
                let valid = nulls.as_ref().is_none_or(|n| n.is_valid(i));
                f(
                    i,
                    if valid {
                        values.get(key).copied().flatten()
                    } else {
                        None
                    },
                )?;
            }
        }
        found => {
            return Err(FieldError::TypeMismatch {
                expected,
                found: found.clone(),
            });
        }
    }
    Ok(())
}

impl ArrowField for String {
    fn data_type() -> DataType {
        DataType::Utf8
    }

    fn to_array(values: &[Self]) -> Result<ArrayRef, FieldError> {
        let total = values.iter().map(String::len).sum();
        utf8_array(values.iter().map(String::as_str), total, None)
    }

    fn from_array(array: &dyn Array) -> Result<Vec<Self>, FieldError> {
        let mut out = Vec::with_capacity(array.len());
        for_each_str(array, DataType::Utf8, |row, s| match s {
            Some(s) => {
                out.push(s.to_owned());
                Ok(())
            }
            None => Err(FieldError::unexpected_null(row, DataType::Utf8)),
        })?;
        Ok(out)
    }

    fn to_array_opt(values: &[Option<Self>]) -> Result<ArrayRef, FieldError> {
        let total = values.iter().flatten().map(String::len).sum();
        let strs = values.iter().map(|v| v.as_deref().unwrap_or(""));
        utf8_array(strs, total, validity(values))
    }

    fn from_array_opt(array: &dyn Array) -> Result<Vec<Option<Self>>, FieldError> {
        let mut out = Vec::with_capacity(array.len());
        for_each_str(array, DataType::Utf8, |_, s| {
            out.push(s.map(str::to_owned));
            Ok(())
        })?;
        Ok(out)
    }
}

impl<T: ArrowField> ArrowField for Option<T> {
    fn data_type() -> DataType {
        T::data_type()
    }

    const NULLABLE: bool = true;

    fn to_array(values: &[Self]) -> Result<ArrayRef, FieldError> {
        T::to_array_opt(values)
    }

    fn from_array(array: &dyn Array) -> Result<Vec<Self>, FieldError> {
        T::from_array_opt(array)
    }

    fn to_array_opt(_: &[Option<Self>]) -> Result<ArrayRef, FieldError> {
        Err(FieldError::Unsupported(
            "Option<Option<T>> has no Arrow layout: Arrow has a single level of nulls per column"
                .into(),
        ))
    }

    fn field_metadata() -> HashMap<String, String> {
        T::field_metadata()
    }

    fn absent(len: usize) -> Option<Vec<Self>> {
        Some((0..len).map(|_| None).collect())
    }

    fn from_array_opt(_: &dyn Array) -> Result<Vec<Option<Self>>, FieldError> {
        Err(FieldError::Unsupported(
            "Option<Option<T>> has no Arrow layout: Arrow has a single level of nulls per column"
                .into(),
        ))
    }
}

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
//!
//! # Where each mapping lives
//!
//! | module | types |
//! |--------|-------|
//! | `primitive` | integers, floats, `bool` |
//! | `string` | `String`, and the Utf8 helpers the other string-like mappings share |
//! | `option` | `Option<T>` |
//! | [`scalar`] | `i128`, `u128`, `char`, `Box<T>`, `Arc<T>`, `Box<str>`, `Arc<str>`, `Cow<str>`, `&str` |
//! | `list` | `Vec<T>`, `[T; N]`, `Vec<u8>`, `[u8; N]` |
//! | [`map`] | `HashMap<K, V>`, `BTreeMap<K, V>` |
//! | [`decimal`] | `i128` through `#[soa(decimal(..))]`, `rust_decimal::Decimal` (feature `rust_decimal`) |
//! | `chrono` | `chrono` dates, times, timestamps and durations (feature `chrono`) |
//! | `uuid` | `uuid::Uuid` (feature `uuid`) |
//! | [`adapt`] | alternative layouts chosen by attribute: `large`, `dictionary`, `timestamp`, `decimal` |
//! | `unit_enum` | [`UnitEnum`]: fieldless enums, as a dictionary of variant names |
//! | `data_enum` | enums with data, as a struct of a tag plus one child per variant (for the derive) |

use std::collections::HashMap;

pub mod adapt;
#[cfg(feature = "chrono")]
pub mod chrono;
#[doc(hidden)]
pub mod data_enum;
pub mod decimal;
mod list;
pub mod map;
mod option;
mod primitive;
pub mod scalar;
mod string;
pub(crate) mod time_unit;
mod unit_enum;
#[cfg(feature = "uuid")]
pub mod uuid;

pub use unit_enum::{
    UnitEnum, enum_data_type, enum_from_array, enum_from_array_opt, enum_names_array,
    enum_to_array, enum_to_array_opt,
};

// Helpers the field modules share.
use primitive::primitive_to_vec;
pub(crate) use string::{for_each_str, utf8_array};

use arrow_array::{Array, ArrayRef};
use arrow_buffer::{BooleanBuffer, NullBuffer};
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

    /// The values of a column one at a time, in row order: what a derived
    /// [`ToArrow::rows_from_record_batch`](crate::ToArrow::rows_from_record_batch) reads each
    /// row's field from, without a column between. Accepts the types [`ArrowField::from_array`]
    /// accepts, with its errors, reported before the first value. Default: `from_array`'s values;
    /// integers, floats, `bool` and `String` read the Arrow buffers in place.
    ///
    /// # Errors
    /// As [`ArrowField::from_array`].
    fn values(array: &dyn Array) -> Result<impl Iterator<Item = Self>, FieldError> {
        Ok(Self::from_array(array)?.into_iter())
    }

    /// The values of a nullable column one at a time (used by `Option<Self>`'s
    /// [`ArrowField::values`]). Default: `from_array_opt`'s values.
    ///
    /// # Errors
    /// As [`ArrowField::from_array_opt`].
    fn values_opt(array: &dyn Array) -> Result<impl Iterator<Item = Option<Self>>, FieldError> {
        Ok(Self::from_array_opt(array)?.into_iter())
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
/// One of two iterators over the same items: a column read in place, or converted first (another
/// Arrow type, schema evolution). Returned by [`ArrowField::values`] implementations.
#[derive(Debug, Clone)]
pub enum Values<A, B> {
    /// Read in place.
    Direct(A),
    /// Converted first.
    Converted(B),
}

impl<T, A: Iterator<Item = T>, B: Iterator<Item = T>> Iterator for Values<A, B> {
    type Item = T;

    #[inline]
    fn next(&mut self) -> Option<T> {
        match self {
            Self::Direct(a) => a.next(),
            Self::Converted(b) => b.next(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            Self::Direct(a) => a.size_hint(),
            Self::Converted(b) => b.size_hint(),
        }
    }
}

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

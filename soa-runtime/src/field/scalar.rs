//! Scalars beyond the primitives: 128-bit integers, `char`, smart pointers and shared or borrowed
//! strings.
//!
//! | Rust | Arrow | notes |
//! |---|---|---|
//! | `i128` | `Decimal128(38, 0)` | writing a value beyond ±(10^38 - 1) fails |
//! | `u128` | `Decimal128(38, 0)` | writing a value above 10^38 - 1 fails |
//! | `char` | `Utf8` | one character per value |
//! | `Box<T>`, `Arc<T>` | as `T` | transparent (`T: Clone`, to build a column from a borrowed slice) |
//! | `Box<str>`, `Arc<str>`, `Cow<'a, str>` | `Utf8` | read back as owned strings (`Cow::Owned`) |
//! | `&'a str` | `Utf8` | **write only**: reading fails with [`FieldError::Unsupported`] |
//!
//! # 128-bit integers
//!
//! Arrow has no 128-bit integer type, and Parquet, pyarrow, polars and DuckDB all read
//! `Decimal128(38, 0)` as an exact integer-valued decimal, so that is the column type. Its range is
//! 38 decimal digits, ±(10^38 - 1), slightly less than `i128` (±1.7 × 10^38) and `u128`
//! (3.4 × 10^38): writing a value outside it fails with [`FieldError::ValueOutOfRange`] naming the row
//! rather than writing a column that other readers reject. Reading accepts `Decimal128(p, 0)` of any
//! precision and, widening, every Arrow integer type (`Int8`..`Int64`, `UInt8`..`UInt64`); reading a
//! negative value into a `u128` fails with [`FieldError::ValueOutOfRange`]. A raw unscaled `i128` with
//! another precision and scale is the `#[soa(decimal(precision = P, scale = S))]` adapter.
//!
//! # `char`
//!
//! A `char` column is a `Utf8` column of one-character strings. Reading a string that is not exactly
//! one Unicode scalar value (empty, or longer) fails with [`FieldError::ValueOutOfRange`] naming the row.
//!
//! # Borrowed strings
//!
//! A `&'a str` field can be written to Arrow (a container of borrowed rows is cheap to build and to
//! export), but a column read from Arrow cannot lend its bytes to rows that outlive it, so reading
//! fails with [`FieldError::Unsupported`]. Use `String`, `Cow<'static, str>` or `Arc<str>` for rows
//! that are read back.

use std::borrow::Cow;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Decimal128Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type, UInt32Type,
    UInt64Type,
};
use arrow_array::{Array, ArrayRef, StringArray};
use arrow_buffer::{Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::DataType;

use super::decimal::{MAX_PRECISION, decimal128_array, fits_precision, precision_error};
use super::{ArrowField, FieldError, for_each_str, list, primitive_to_vec, utf8_array, validity};

// ---- i128 / u128 -------------------------------------------------------------------------

/// `Decimal128(38, 0)`, the column type of `i128` and `u128`.
const INT128: DataType = DataType::Decimal128(MAX_PRECISION, 0);

fn check_i128(row: usize, value: i128) -> Result<i128, FieldError> {
    if fits_precision(value, MAX_PRECISION) {
        Ok(value)
    } else {
        Err(precision_error(row, value, MAX_PRECISION, 0))
    }
}

fn check_u128(row: usize, value: u128) -> Result<i128, FieldError> {
    match i128::try_from(value) {
        Ok(v) if fits_precision(v, MAX_PRECISION) => Ok(v),
        _ => Err(precision_error(row, value, MAX_PRECISION, 0)),
    }
}

/// Reads `Decimal128(p, 0)` or any Arrow integer column as `i128`s.
fn read_int128(array: &dyn Array, expected: DataType) -> Result<Vec<Option<i128>>, FieldError> {
    macro_rules! widen {
        ($t:ty) => {
            array
                .as_primitive::<$t>()
                .iter()
                .map(|v| v.map(i128::from))
                .collect()
        };
    }
    Ok(match array.data_type() {
        DataType::Decimal128(_, 0) => array.as_primitive::<Decimal128Type>().iter().collect(),
        DataType::Int8 => widen!(Int8Type),
        DataType::Int16 => widen!(Int16Type),
        DataType::Int32 => widen!(Int32Type),
        DataType::Int64 => widen!(Int64Type),
        DataType::UInt8 => widen!(UInt8Type),
        DataType::UInt16 => widen!(UInt16Type),
        DataType::UInt32 => widen!(UInt32Type),
        DataType::UInt64 => widen!(UInt64Type),
        found => {
            return Err(FieldError::TypeMismatch {
                expected,
                found: found.clone(),
            });
        }
    })
}

fn to_u128(row: usize, value: i128) -> Result<u128, FieldError> {
    u128::try_from(value).map_err(|_| {
        FieldError::out_of_range_at(row, format!("{value} is negative and does not fit u128"))
    })
}

/// `i128` as `Decimal128(38, 0)` (see the [module docs](self) for the range).
impl ArrowField for i128 {
    fn data_type() -> DataType {
        INT128
    }

    fn to_array(values: &[Self]) -> Result<ArrayRef, FieldError> {
        Self::into_array(values.to_vec())
    }

    fn into_array(values: Vec<Self>) -> Result<ArrayRef, FieldError> {
        for (row, v) in values.iter().enumerate() {
            check_i128(row, *v)?;
        }
        // The Vec becomes the Arrow buffer: no copy.
        decimal128_array(values, None, MAX_PRECISION, 0)
    }

    fn from_array(array: &dyn Array) -> Result<Vec<Self>, FieldError> {
        list::required(read_int128(array, INT128)?, INT128)
    }

    fn from_array_owned(array: ArrayRef) -> Result<Vec<Self>, FieldError> {
        if matches!(array.data_type(), DataType::Decimal128(_, 0)) && array.null_count() == 0 {
            let typed = array.as_primitive::<Decimal128Type>().clone();
            // Drop our handle first so the buffer can be uniquely owned by `typed`.
            drop(array);
            return Ok(primitive_to_vec(typed));
        }
        Self::from_array(array.as_ref())
    }

    fn to_array_opt(values: &[Option<Self>]) -> Result<ArrayRef, FieldError> {
        let mut raw = Vec::with_capacity(values.len());
        for (row, v) in values.iter().enumerate() {
            raw.push(v.map(|v| check_i128(row, v)).transpose()?.unwrap_or(0));
        }
        decimal128_array(raw, validity(values), MAX_PRECISION, 0)
    }

    fn from_array_opt(array: &dyn Array) -> Result<Vec<Option<Self>>, FieldError> {
        read_int128(array, INT128)
    }
}

/// `u128` as `Decimal128(38, 0)` (see the [module docs](self) for the range).
impl ArrowField for u128 {
    fn data_type() -> DataType {
        INT128
    }

    fn to_array(values: &[Self]) -> Result<ArrayRef, FieldError> {
        let mut raw = Vec::with_capacity(values.len());
        for (row, v) in values.iter().enumerate() {
            raw.push(check_u128(row, *v)?);
        }
        decimal128_array(raw, None, MAX_PRECISION, 0)
    }

    fn from_array(array: &dyn Array) -> Result<Vec<Self>, FieldError> {
        list::required(Self::from_array_opt(array)?, INT128)
    }

    fn to_array_opt(values: &[Option<Self>]) -> Result<ArrayRef, FieldError> {
        let mut raw = Vec::with_capacity(values.len());
        for (row, v) in values.iter().enumerate() {
            raw.push(v.map(|v| check_u128(row, v)).transpose()?.unwrap_or(0));
        }
        decimal128_array(raw, validity(values), MAX_PRECISION, 0)
    }

    fn from_array_opt(array: &dyn Array) -> Result<Vec<Option<Self>>, FieldError> {
        read_int128(array, INT128)?
            .into_iter()
            .enumerate()
            .map(|(row, v)| v.map(|v| to_u128(row, v)).transpose())
            .collect()
    }
}

// ---- char --------------------------------------------------------------------------------

fn chars_to_array(
    values: impl ExactSizeIterator<Item = Option<char>>,
) -> Result<ArrayRef, FieldError> {
    let len = values.len();
    // At most 4 bytes per char: check the i32 offsets once, up front.
    if len
        .checked_mul(4)
        .is_none_or(|bytes| i32::try_from(bytes).is_err())
    {
        return Err(FieldError::OutOfRange(format!(
            "{len} chars may exceed the 2 GiB limit of Arrow Utf8 offsets"
        )));
    }
    let mut text = String::with_capacity(len);
    let mut offsets: Vec<i32> = Vec::with_capacity(len + 1);
    let mut valid: Vec<bool> = Vec::with_capacity(len);
    offsets.push(0);
    for c in values {
        if let Some(c) = c {
            text.push(c);
        }
        valid.push(c.is_some());
        // Cannot truncate: the total was checked against i32::MAX above.
        offsets.push(text.len() as i32);
    }
    let nulls = NullBuffer::from(valid);
    let nulls = (nulls.null_count() > 0).then_some(nulls);
    let array = StringArray::try_new(
        OffsetBuffer::new(ScalarBuffer::from(offsets)),
        Buffer::from_vec(text.into_bytes()),
        nulls,
    )?;
    Ok(Arc::new(array))
}

fn one_char(row: usize, s: &str) -> Result<char, FieldError> {
    let mut chars = s.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => Ok(c),
        _ => {
            let count = s.chars().count();
            let shown: String = s.chars().take(16).collect();
            let more = if count > 16 { "..." } else { "" };
            Err(FieldError::out_of_range_at(
                row,
                format!(
                    "a char column needs exactly one character, found {count} in {shown:?}{more}"
                ),
            ))
        }
    }
}

/// `char` as a `Utf8` column of one-character strings.
impl ArrowField for char {
    fn data_type() -> DataType {
        DataType::Utf8
    }

    fn to_array(values: &[Self]) -> Result<ArrayRef, FieldError> {
        chars_to_array(values.iter().map(|c| Some(*c)))
    }

    fn from_array(array: &dyn Array) -> Result<Vec<Self>, FieldError> {
        list::required(Self::from_array_opt(array)?, DataType::Utf8)
    }

    fn to_array_opt(values: &[Option<Self>]) -> Result<ArrayRef, FieldError> {
        chars_to_array(values.iter().copied())
    }

    fn from_array_opt(array: &dyn Array) -> Result<Vec<Option<Self>>, FieldError> {
        let mut out = Vec::with_capacity(array.len());
        for_each_str(array, DataType::Utf8, |row, s| {
            out.push(s.map(|s| one_char(row, s)).transpose()?);
            Ok(())
        })?;
        Ok(out)
    }
}

// ---- Box<T>, Arc<T> ----------------------------------------------------------------------

macro_rules! pointer_field {
    ($($ptr:ident, $unwrap:expr, $doc:literal;)*) => {$(
        #[doc = $doc]
        impl<T: ArrowField + Clone> ArrowField for $ptr<T> {
            fn data_type() -> DataType {
                T::data_type()
            }

            const NULLABLE: bool = T::NULLABLE;

            fn to_array(values: &[Self]) -> Result<ArrayRef, FieldError> {
                T::into_array(values.iter().map(|v| T::clone(v)).collect())
            }

            fn into_array(values: Vec<Self>) -> Result<ArrayRef, FieldError> {
                T::into_array(values.into_iter().map($unwrap).collect())
            }

            fn from_array(array: &dyn Array) -> Result<Vec<Self>, FieldError> {
                Ok(T::from_array(array)?.into_iter().map($ptr::new).collect())
            }

            fn from_array_owned(array: ArrayRef) -> Result<Vec<Self>, FieldError> {
                Ok(T::from_array_owned(array)?.into_iter().map($ptr::new).collect())
            }

            fn to_array_opt(values: &[Option<Self>]) -> Result<ArrayRef, FieldError> {
                let inner: Vec<Option<T>> =
                    values.iter().map(|v| v.as_deref().cloned()).collect();
                T::to_array_opt(&inner)
            }

            fn from_array_opt(array: &dyn Array) -> Result<Vec<Option<Self>>, FieldError> {
                Ok(T::from_array_opt(array)?
                    .into_iter()
                    .map(|v| v.map($ptr::new))
                    .collect())
            }

            fn field_metadata() -> std::collections::HashMap<String, String> {
                T::field_metadata()
            }

            fn absent(len: usize) -> Option<Vec<Self>> {
                T::absent(len).map(|v| v.into_iter().map($ptr::new).collect())
            }
        }
    )*};
}

pointer_field! {
    Box, |b: Box<T>| *b, "`Box<T>` maps exactly as `T` (the box is not visible in Arrow).";
    Arc, Arc::unwrap_or_clone, "`Arc<T>` maps exactly as `T`; reading gives one `Arc` per value.";
}

// ---- shared and borrowed strings ---------------------------------------------------------

fn read_strings<T>(
    array: &dyn Array,
    mut make: impl FnMut(&str) -> T,
) -> Result<Vec<Option<T>>, FieldError> {
    let mut out = Vec::with_capacity(array.len());
    for_each_str(array, DataType::Utf8, |_, s| {
        out.push(s.map(&mut make));
        Ok(())
    })?;
    Ok(out)
}

fn strs_to_array<'a>(
    strs: impl ExactSizeIterator<Item = Option<&'a str>> + Clone,
) -> Result<ArrayRef, FieldError> {
    let total = strs.clone().flatten().map(str::len).sum();
    let nulls = NullBuffer::from_iter(strs.clone().map(|s| s.is_some()));
    let nulls = (nulls.null_count() > 0).then_some(nulls);
    utf8_array(strs.map(|s| s.unwrap_or("")), total, nulls)
}

macro_rules! string_field {
    ($($(#[$meta:meta])* [$($lt:lifetime)?] $ty:ty => $make:expr;)*) => {$(
        $(#[$meta])*
        impl<$($lt)?> ArrowField for $ty {
            fn data_type() -> DataType {
                DataType::Utf8
            }

            fn to_array(values: &[Self]) -> Result<ArrayRef, FieldError> {
                strs_to_array(values.iter().map(|s| Some(&**s)))
            }

            fn from_array(array: &dyn Array) -> Result<Vec<Self>, FieldError> {
                list::required(Self::from_array_opt(array)?, DataType::Utf8)
            }

            fn to_array_opt(values: &[Option<Self>]) -> Result<ArrayRef, FieldError> {
                strs_to_array(values.iter().map(|s| s.as_deref()))
            }

            fn from_array_opt(array: &dyn Array) -> Result<Vec<Option<Self>>, FieldError> {
                read_strings(array, $make)
            }
        }
    )*};
}

string_field! {
    /// `Box<str>` as `Utf8`.
    [] Box<str> => |s: &str| Box::<str>::from(s);
    /// `Arc<str>` as `Utf8`; reading allocates one `Arc<str>` per value.
    [] Arc<str> => |s: &str| Arc::<str>::from(s);
    /// `Cow<'a, str>` as `Utf8`; reading gives `Cow::Owned`.
    ['a] Cow<'a, str> => |s: &str| Cow::Owned(s.to_owned());
}

/// The error of reading into a `&str` field.
fn borrowed_str_error() -> FieldError {
    FieldError::Unsupported(
        "a &str field cannot own data read from Arrow; use String, Cow<str> or Arc<str>".into(),
    )
}

/// `&str` as `Utf8`, **to Arrow only**: reading returns [`FieldError::Unsupported`] (see the
/// [module docs](self)).
impl ArrowField for &str {
    fn data_type() -> DataType {
        DataType::Utf8
    }

    fn to_array(values: &[Self]) -> Result<ArrayRef, FieldError> {
        strs_to_array(values.iter().map(|s| Some(*s)))
    }

    fn from_array(_: &dyn Array) -> Result<Vec<Self>, FieldError> {
        Err(borrowed_str_error())
    }

    fn to_array_opt(values: &[Option<Self>]) -> Result<ArrayRef, FieldError> {
        strs_to_array(values.iter().copied())
    }

    fn from_array_opt(_: &dyn Array) -> Result<Vec<Option<Self>>, FieldError> {
        Err(borrowed_str_error())
    }
}

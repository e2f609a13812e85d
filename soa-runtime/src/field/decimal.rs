//! Decimals: `Decimal128` columns for `i128` (raw unscaled values, through [`adapt::Decimal`]) and,
//! with the `rust_decimal` feature, for `rust_decimal::Decimal`.
//!
//! | Rust | attribute | Arrow | notes |
//! |---|---|---|---|
//! | `rust_decimal::Decimal` | none | `Decimal128(38, 9)` | values are rescaled to 9 fractional digits |
//! | `rust_decimal::Decimal` | `#[soa(decimal(precision = P, scale = S))]` | `Decimal128(P, S)` | rescaled to `S` digits |
//! | `i128` | `#[soa(decimal(precision = P, scale = S))]` | `Decimal128(P, S)` | the value is the unscaled integer |
//!
//! # Why `Decimal128(38, 9)` by default
//!
//! Arrow, Parquet, pyarrow, polars and DuckDB all need one precision and scale per column, while a
//! `rust_decimal::Decimal` carries its own scale (0 to 28) per value and holds at most 29 integer
//! digits (`Decimal::MAX` is about 7.9 × 10^28). A scale of 9 is the largest for which every integer
//! part fits in 38 digits (29 + 9 = 38, the widest `Decimal128`), so the full range of
//! `rust_decimal` round-trips, with nanosecond-like precision (9 fractional digits) for fractions.
//!
//! # Errors instead of silent rounding
//!
//! * Writing a value with more fractional digits than the column's scale fails with
//!   [`FieldError::ValueOutOfRange`] **unless the extra digits are zeros** (`1.50000000000` with scale 11
//!   fits scale 9; `0.0000000001` does not). Nothing is ever rounded.
//! * Writing a value with more than `P` significant digits at scale `S` fails the same way.
//! * Reading accepts `Decimal128` of any precision and scale. A `rust_decimal::Decimal` keeps the
//!   column's scale when it can (so `1.5` written at scale 9 reads back as `1.500000000`, which is
//!   `==` to `1.5`); a scale above 28 or a mantissa beyond 96 bits is reduced by dropping trailing
//!   zeros, and fails with [`FieldError::ValueOutOfRange`] (naming the row) when that is not exact.
//! * Reading an `i128` through [`adapt::Decimal<P, S>`] rescales a column of another scale to `S`
//!   when that is exact, and fails with [`FieldError::ValueOutOfRange`] naming the row otherwise.
//!
//! [`adapt::Decimal`]: super::adapt::Decimal
//! [`adapt::Decimal<P, S>`]: super::adapt::Decimal

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Decimal128Type;
use arrow_array::{Array, ArrayRef, PrimitiveArray};
use arrow_buffer::{NullBuffer, ScalarBuffer};
use arrow_schema::DataType;

use super::adapt::{self, Adapter};
use super::{FieldError, list, validity};

/// The widest precision of a `Decimal128`.
pub(crate) const MAX_PRECISION: u8 = 38;

/// `10^n`, or `None` past `10^38`.
fn pow10(n: u32) -> Option<i128> {
    10i128.checked_pow(n)
}

/// Whether `value` has at most `precision` decimal digits.
pub(crate) fn fits_precision(value: i128, precision: u8) -> bool {
    match pow10(u32::from(precision)) {
        Some(limit) => value.unsigned_abs() < limit.unsigned_abs(),
        // 10^39 and beyond exceed every i128.
        None => true,
    }
}

/// Rescales an unscaled value from scale `from` to scale `to`, only if that is exact and fits `i128`.
pub(crate) fn rescale(value: i128, from: i32, to: i32) -> Option<i128> {
    if value == 0 || from == to {
        return Some(value);
    }
    let diff = to.abs_diff(from);
    if to > from {
        value.checked_mul(pow10(diff)?)
    } else {
        match pow10(diff) {
            Some(factor) => (value % factor == 0).then_some(value / factor),
            // Dividing a non-zero i128 by more than 10^38 is never exact.
            None => None,
        }
    }
}

/// Builds a `Decimal128(precision, scale)` array from unscaled values (no copy of `values`).
///
/// # Errors
/// When Arrow rejects the precision/scale pair (precision must be 1..=38, scale at most precision).
pub(crate) fn decimal128_array(
    values: Vec<i128>,
    nulls: Option<NullBuffer>,
    precision: u8,
    scale: i8,
) -> Result<ArrayRef, FieldError> {
    let array = PrimitiveArray::<Decimal128Type>::new(ScalarBuffer::from(values), nulls)
        .with_precision_and_scale(precision, scale)?;
    Ok(Arc::new(array))
}

/// The range error for an unscaled value that does not fit `Decimal128(precision, scale)`.
pub(crate) fn precision_error(
    row: usize,
    value: impl std::fmt::Display,
    precision: u8,
    scale: i8,
) -> FieldError {
    FieldError::out_of_range_at(
        row,
        format!(
            "{value} does not fit Decimal128({precision}, {scale}) (at most {precision} digits)"
        ),
    )
}

/// Reads the unscaled values and the scale of a `Decimal128` column of any precision.
///
/// # Errors
/// [`FieldError::TypeMismatch`] (naming `expected`) for any other type.
pub(crate) fn decimal128_values(
    array: &dyn Array,
    expected: DataType,
) -> Result<(Vec<Option<i128>>, i8), FieldError> {
    match array.data_type() {
        DataType::Decimal128(_, scale) => Ok((
            array.as_primitive::<Decimal128Type>().iter().collect(),
            *scale,
        )),
        found => Err(FieldError::TypeMismatch {
            expected,
            found: found.clone(),
        }),
    }
}

// ---- i128 through #[soa(decimal(precision = P, scale = S))] ----------------------------------

fn checked_unscaled<const P: u8, const S: i8>(row: usize, value: i128) -> Result<i128, FieldError> {
    if fits_precision(value, P) {
        Ok(value)
    } else {
        Err(precision_error(row, value, P, S))
    }
}

fn i128_column<const P: u8, const S: i8>(
    array: &dyn Array,
) -> Result<Vec<Option<i128>>, FieldError> {
    let (values, scale) = decimal128_values(array, DataType::Decimal128(P, S))?;
    values
        .into_iter()
        .enumerate()
        .map(|(row, v)| {
            v.map(|v| {
                rescale(v, i32::from(scale), i32::from(S)).ok_or_else(|| {
                    FieldError::out_of_range_at(
                        row,
                        format!("unscaled value {v} at scale {scale} is not exact at scale {S}"),
                    )
                })
            })
            .transpose()
        })
        .collect()
}

/// `i128` as the raw unscaled integer of a `Decimal128(P, S)` column: `12345` with `S = 2` is 123.45.
impl<const P: u8, const S: i8> Adapter<i128> for adapt::Decimal<P, S> {
    fn data_type() -> DataType {
        DataType::Decimal128(P, S)
    }
    fn to_array(values: &[i128]) -> Result<ArrayRef, FieldError> {
        for (row, v) in values.iter().enumerate() {
            checked_unscaled::<P, S>(row, *v)?;
        }
        decimal128_array(values.to_vec(), None, P, S)
    }
    fn from_array(array: &dyn Array) -> Result<Vec<i128>, FieldError> {
        list::required(i128_column::<P, S>(array)?, DataType::Decimal128(P, S))
    }
    fn to_array_opt(values: &[Option<i128>]) -> Result<ArrayRef, FieldError> {
        let mut raw = Vec::with_capacity(values.len());
        for (row, v) in values.iter().enumerate() {
            raw.push(match v {
                Some(v) => checked_unscaled::<P, S>(row, *v)?,
                None => 0,
            });
        }
        decimal128_array(raw, validity(values), P, S)
    }
    fn from_array_opt(array: &dyn Array) -> Result<Vec<Option<i128>>, FieldError> {
        i128_column::<P, S>(array)
    }
}

// ---- rust_decimal ------------------------------------------------------------------------

#[cfg(feature = "rust_decimal")]
mod rust {
    use arrow_array::{Array, ArrayRef};
    use arrow_schema::DataType;
    use rust_decimal::Decimal as RustDecimal;

    use super::{MAX_PRECISION, decimal128_array, decimal128_values, fits_precision, rescale};
    use crate::field::adapt::{self, Adapter};
    use crate::field::{ArrowField, FieldError, list, validity};

    /// The default scale of a `rust_decimal::Decimal` column (see the module docs).
    const DEFAULT_SCALE: i8 = 9;

    /// The largest mantissa of a `rust_decimal::Decimal`: 2^96 - 1.
    const MAX_MANTISSA: u128 = (1u128 << 96) - 1;

    /// The largest scale of a `rust_decimal::Decimal`.
    const MAX_SCALE: i32 = 28;

    /// `value` as an unscaled integer at `scale` with at most `precision` digits.
    fn unscaled(
        row: usize,
        value: &RustDecimal,
        precision: u8,
        scale: i8,
    ) -> Result<i128, FieldError> {
        // A rust_decimal scale is 0..=28, so it always fits i32.
        let from = i32::try_from(value.scale()).unwrap_or(i32::MAX);
        let Some(v) = rescale(value.mantissa(), from, i32::from(scale)) else {
            return Err(FieldError::out_of_range_at(
                row,
                format!(
                    "{value} has more than {scale} fractional digits (Decimal128({precision}, \
                 {scale}) would round it); choose a larger scale with #[soa(decimal(precision = P, scale = S))]"
                ),
            ));
        };
        if fits_precision(v, precision) {
            Ok(v)
        } else {
            Err(FieldError::out_of_range_at(
                row,
                format!(
                    "{value} has more than {precision} digits at scale {scale}, the limit of \
                 Decimal128({precision}, {scale})"
                ),
            ))
        }
    }

    fn write(
        values: &[Option<RustDecimal>],
        precision: u8,
        scale: i8,
    ) -> Result<ArrayRef, FieldError> {
        let mut raw = Vec::with_capacity(values.len());
        for (row, v) in values.iter().enumerate() {
            raw.push(match v {
                Some(v) => unscaled(row, v, precision, scale)?,
                None => 0,
            });
        }
        decimal128_array(raw, validity(values), precision, scale)
    }

    fn write_required(
        values: &[RustDecimal],
        precision: u8,
        scale: i8,
    ) -> Result<ArrayRef, FieldError> {
        let mut raw = Vec::with_capacity(values.len());
        for (row, v) in values.iter().enumerate() {
            raw.push(unscaled(row, v, precision, scale)?);
        }
        decimal128_array(raw, None, precision, scale)
    }

    /// One unscaled value at `scale` as a `rust_decimal::Decimal`, exactly or not at all.
    fn to_rust(row: usize, value: i128, scale: i8) -> Result<RustDecimal, FieldError> {
        let out_of_range = || {
            FieldError::out_of_range_at(
                row,
                format!(
                    "unscaled value {value} at scale {scale} does not fit rust_decimal::Decimal \
                 (96-bit mantissa, at most 28 fractional digits)"
                ),
            )
        };
        let (mut m, mut s) = (value, i32::from(scale));
        if s < 0 {
            m = rescale(m, s, 0).ok_or_else(out_of_range)?;
            s = 0;
        }
        while (s > MAX_SCALE || m.unsigned_abs() > MAX_MANTISSA) && s > 0 && m % 10 == 0 {
            m /= 10;
            s -= 1;
        }
        let s = u32::try_from(s).map_err(|_| out_of_range())?;
        RustDecimal::try_from_i128_with_scale(m, s).map_err(|_| out_of_range())
    }

    fn read(array: &dyn Array, expected: DataType) -> Result<Vec<Option<RustDecimal>>, FieldError> {
        let (values, scale) = decimal128_values(array, expected)?;
        values
            .into_iter()
            .enumerate()
            .map(|(row, v)| v.map(|v| to_rust(row, v, scale)).transpose())
            .collect()
    }

    /// `rust_decimal::Decimal` as `Decimal128(38, 9)`: see the module docs for the choice and the
    /// errors.
    impl ArrowField for RustDecimal {
        fn data_type() -> DataType {
            DataType::Decimal128(MAX_PRECISION, DEFAULT_SCALE)
        }
        fn to_array(values: &[Self]) -> Result<ArrayRef, FieldError> {
            write_required(values, MAX_PRECISION, DEFAULT_SCALE)
        }
        fn from_array(array: &dyn Array) -> Result<Vec<Self>, FieldError> {
            list::required(read(array, Self::data_type())?, Self::data_type())
        }
        fn to_array_opt(values: &[Option<Self>]) -> Result<ArrayRef, FieldError> {
            write(values, MAX_PRECISION, DEFAULT_SCALE)
        }
        fn from_array_opt(array: &dyn Array) -> Result<Vec<Option<Self>>, FieldError> {
            read(array, Self::data_type())
        }
    }

    /// `#[soa(decimal(precision = P, scale = S))]` on a `rust_decimal::Decimal`: `Decimal128(P, S)`.
    impl<const P: u8, const S: i8> Adapter<RustDecimal> for adapt::Decimal<P, S> {
        fn data_type() -> DataType {
            DataType::Decimal128(P, S)
        }
        fn to_array(values: &[RustDecimal]) -> Result<ArrayRef, FieldError> {
            write_required(values, P, S)
        }
        fn from_array(array: &dyn Array) -> Result<Vec<RustDecimal>, FieldError> {
            let expected = <Self as Adapter<RustDecimal>>::data_type();
            list::required(read(array, expected.clone())?, expected)
        }
        fn to_array_opt(values: &[Option<RustDecimal>]) -> Result<ArrayRef, FieldError> {
            write(values, P, S)
        }
        fn from_array_opt(array: &dyn Array) -> Result<Vec<Option<RustDecimal>>, FieldError> {
            read(array, <Self as Adapter<RustDecimal>>::data_type())
        }
    }
}

//! Unit enums: the [`UnitEnum`] trait and the helpers `#[derive(ToArrow)]` implements `ArrowField`
//! with. They store a fieldless enum as a `Dictionary(Int8, Utf8)` of its variant names (`Int16`
//! keys past 128 variants) and read it back by name from any string or dictionary column.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int8Type, Int16Type, Int32Type};
use arrow_array::{Array, ArrayRef, PrimitiveArray};
use arrow_buffer::{NullBuffer, ScalarBuffer};
use arrow_schema::DataType;

use super::{for_each_str, utf8_array, validity};
use crate::error::FieldError;

/// A fieldless enum stored as an Arrow dictionary of its variant names.
///
/// `#[derive(ToArrow)]` on a unit-only enum implements this trait and
/// [`ArrowField`](super::ArrowField) (through the `enum_*` helpers below). The column is
/// `Dictionary(Int8, Utf8)` (`Int16` past 128 variants) whose dictionary lists every variant name in
/// declaration order, so DuckDB reads it as an `ENUM`, pyarrow and polars as a categorical, and
/// Parquet stores it as dictionary-encoded strings.
pub trait UnitEnum: Sized + 'static {
    /// The Rust name of the enum (for error messages).
    const NAME: &'static str;
    /// Variant names in declaration order (after any rename).
    const VARIANTS: &'static [&'static str];
    /// The position of this variant in [`UnitEnum::VARIANTS`].
    fn variant_index(&self) -> usize;
    /// The variant at a position in [`UnitEnum::VARIANTS`], if in range.
    fn from_variant_index(index: usize) -> Option<Self>;

    /// The dictionary of variant names as a Utf8 array, cached by the derive (built once per
    /// enum, shared by every column). `None` means "build it on each call".
    fn names_array() -> Option<ArrayRef> {
        None
    }
}

/// The Utf8 array of an enum's variant names.
#[doc(hidden)]
pub fn enum_names_array(variants: &[&str]) -> Result<ArrayRef, FieldError> {
    let total = variants.iter().map(|v| v.len()).sum();
    utf8_array(variants.iter().copied(), total, None)
}

/// The Arrow type of a unit enum column with `variants` variants.
pub fn enum_data_type(variants: usize) -> DataType {
    let key = if variants <= i8::MAX as usize + 1 {
        DataType::Int8
    } else if variants <= i16::MAX as usize + 1 {
        DataType::Int16
    } else {
        DataType::Int32
    };
    DataType::Dictionary(Box::new(key), Box::new(DataType::Utf8))
}

fn enum_dictionary<E: UnitEnum>(
    keys: impl Iterator<Item = usize>,
    nulls: Option<NullBuffer>,
) -> Result<ArrayRef, FieldError> {
    use arrow_array::DictionaryArray;
    let names = match E::names_array() {
        Some(names) => names,
        None => enum_names_array(E::VARIANTS)?,
    };
    // Keys are variant indexes, always below VARIANTS.len(), so the narrowing casts are exact.
    let array: ArrayRef = match enum_data_type(E::VARIANTS.len()) {
        DataType::Dictionary(k, _) if *k == DataType::Int8 => {
            let keys: Vec<i8> = keys.map(|k| k as i8).collect();
            let keys = PrimitiveArray::<Int8Type>::new(ScalarBuffer::from(keys), nulls);
            Arc::new(DictionaryArray::try_new(keys, names)?)
        }
        DataType::Dictionary(k, _) if *k == DataType::Int16 => {
            let keys: Vec<i16> = keys.map(|k| k as i16).collect();
            let keys = PrimitiveArray::<Int16Type>::new(ScalarBuffer::from(keys), nulls);
            Arc::new(DictionaryArray::try_new(keys, names)?)
        }
        _ => {
            let keys: Vec<i32> = keys.map(|k| k as i32).collect();
            let keys = PrimitiveArray::<Int32Type>::new(ScalarBuffer::from(keys), nulls);
            Arc::new(DictionaryArray::try_new(keys, names)?)
        }
    };
    Ok(array)
}

/// `ArrowField::to_array` for a unit enum.
///
/// # Errors
/// Only if Arrow rejects the dictionary (it cannot for valid variant indexes).
pub fn enum_to_array<E: UnitEnum>(values: &[E]) -> Result<ArrayRef, FieldError> {
    enum_dictionary::<E>(values.iter().map(UnitEnum::variant_index), None)
}

/// `ArrowField::to_array_opt` for a unit enum.
///
/// # Errors
/// As [`enum_to_array`].
pub fn enum_to_array_opt<E: UnitEnum>(values: &[Option<E>]) -> Result<ArrayRef, FieldError> {
    let keys = values
        .iter()
        .map(|v| v.as_ref().map_or(0, UnitEnum::variant_index));
    enum_dictionary::<E>(keys, validity(values))
}

/// Reads an enum column: a dictionary of strings (any key width, any dictionary order) or a plain
/// string column. Values are matched to variants by name.
///
/// # Errors
/// [`FieldError::TypeMismatch`] for other types, [`FieldError::UnknownVariant`] for a name that is
/// not a variant.
pub fn enum_from_array_opt<E: UnitEnum>(array: &dyn Array) -> Result<Vec<Option<E>>, FieldError> {
    let expected = enum_data_type(E::VARIANTS.len());
    let lookup = |name: &str| E::VARIANTS.iter().position(|v| *v == name);
    if let Some(dict) = array.as_any_dictionary_opt() {
        // Map each dictionary entry to a variant once, then map keys.
        let mut mapping: Vec<Option<usize>> = Vec::with_capacity(dict.values().len());
        let mut names: Vec<Option<String>> = Vec::with_capacity(dict.values().len());
        for_each_str(dict.values().as_ref(), expected.clone(), |_, s| {
            mapping.push(s.and_then(lookup));
            names.push(s.map(str::to_owned));
            Ok(())
        })
        .map_err(|_| FieldError::TypeMismatch {
            expected: expected.clone(),
            found: array.data_type().clone(),
        })?;
        let nulls = array.logical_nulls();
        let keys = if mapping.is_empty() {
            vec![0; array.len()]
        } else {
            dict.normalized_keys()
        };
        let mut out = Vec::with_capacity(array.len());
        for (row, key) in keys.into_iter().enumerate() {
            if nulls.as_ref().is_some_and(|n| n.is_null(row)) {
                out.push(None);
                continue;
            }
            match mapping.get(key).copied().flatten() {
                Some(index) => out.push(E::from_variant_index(index)),
                None => {
                    return Err(FieldError::UnknownVariant {
                        enum_name: E::NAME,
                        expected: E::VARIANTS,
                        found: names.get(key).cloned().flatten().unwrap_or_default(),
                        row,
                        items: Vec::new(),
                    });
                }
            }
        }
        return Ok(out);
    }
    let mut out = Vec::with_capacity(array.len());
    for_each_str(array, expected, |row, s| {
        match s {
            None => out.push(None),
            Some(name) => match lookup(name) {
                Some(index) => out.push(E::from_variant_index(index)),
                None => {
                    return Err(FieldError::UnknownVariant {
                        enum_name: E::NAME,
                        expected: E::VARIANTS,
                        found: name.to_owned(),
                        row,
                        items: Vec::new(),
                    });
                }
            },
        }
        Ok(())
    })?;
    Ok(out)
}

/// Reads a non-null enum column (see [`enum_from_array_opt`]).
///
/// # Errors
/// As [`enum_from_array_opt`], plus [`FieldError::UnexpectedNull`].
pub fn enum_from_array<E: UnitEnum>(array: &dyn Array) -> Result<Vec<E>, FieldError> {
    let expected = enum_data_type(E::VARIANTS.len());
    // Fast path, the layout we write: Int8 keys, no nulls. One lookup per dictionary entry, then
    // one pass over the keys.
    if let Some(dict) = array.as_dictionary_opt::<Int8Type>()
        && dict.null_count() == 0
        && dict.values().data_type() == &DataType::Utf8
    {
        let names = dict.values().as_string::<i32>();
        let mapping: Vec<Option<usize>> = names
            .iter()
            .map(|n| n.and_then(|n| E::VARIANTS.iter().position(|v| *v == n)))
            .collect();
        let mut out = Vec::with_capacity(array.len());
        for (row, &key) in dict.keys().values().iter().enumerate() {
            let variant = usize::try_from(key)
                .ok()
                .and_then(|k| mapping.get(k).copied().flatten())
                .and_then(E::from_variant_index);
            match variant {
                Some(v) => out.push(v),
                None => {
                    let found = usize::try_from(key)
                        .ok()
                        .filter(|&k| k < names.len())
                        .map(|k| names.value(k).to_owned())
                        .unwrap_or_default();
                    return Err(FieldError::UnknownVariant {
                        enum_name: E::NAME,
                        expected: E::VARIANTS,
                        found,
                        row,
                        items: Vec::new(),
                    });
                }
            }
        }
        return Ok(out);
    }
    let values = enum_from_array_opt::<E>(array)?;
    let mut out = Vec::with_capacity(values.len());
    for (row, v) in values.into_iter().enumerate() {
        match v {
            Some(v) => out.push(v),
            None => {
                return Err(FieldError::unexpected_null(row, expected.clone()));
            }
        }
    }
    Ok(out)
}

//! `String` as `Utf8`, and the string helpers every string-like mapping shares: building a Utf8
//! array in one pass, reading any Arrow string column (Utf8, LargeUtf8, Utf8View, dictionaries).

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, StringArray};
use arrow_buffer::{Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::DataType;

use super::{ArrowField, Values, reject_nulls, validity};
use crate::error::FieldError;

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

    fn values(array: &dyn Array) -> Result<impl Iterator<Item = Self>, FieldError> {
        if array.data_type() == &DataType::Utf8 {
            reject_nulls(array, DataType::Utf8)?;
            let strings = array.as_string::<i32>();
            return Ok(Values::Direct(
                (0..strings.len()).map(move |i| strings.value(i).to_owned()),
            ));
        }
        Ok(Values::Converted(Self::from_array(array)?.into_iter()))
    }

    fn values_opt(array: &dyn Array) -> Result<impl Iterator<Item = Option<Self>>, FieldError> {
        if array.data_type() == &DataType::Utf8 {
            let strings = array.as_string::<i32>();
            return Ok(Values::Direct((0..strings.len()).map(move |i| {
                strings.is_valid(i).then(|| strings.value(i).to_owned())
            })));
        }
        Ok(Values::Converted(Self::from_array_opt(array)?.into_iter()))
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

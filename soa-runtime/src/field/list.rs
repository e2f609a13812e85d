//! Lists: `Vec<T>` -> `List<T>`, `[T; N]` -> `FixedSizeList<T, N>`, and the byte special cases
//! `Vec<u8>` -> `Binary`, `[u8; N]` -> `FixedSizeBinary(N)`.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{
    Array, ArrayRef, BinaryArray, FixedSizeBinaryArray, FixedSizeListArray, GenericListArray,
    ListArray, OffsetSizeTrait,
};
use arrow_buffer::{Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::{DataType, Field, FieldRef};

use super::{ArrowField, FieldError};

fn nulls_of<T>(rows: &[Option<T>]) -> Option<NullBuffer> {
    let nulls: NullBuffer = rows.iter().map(Option::is_some).collect();
    (nulls.null_count() > 0).then_some(nulls)
}

fn offset(len: usize) -> Result<i32, FieldError> {
    i32::try_from(len).map_err(|_| {
        FieldError::OutOfRange(format!(
            "{len} list elements or bytes exceed the i32 offsets of Arrow List/Binary; use #[soa(large)]"
        ))
    })
}

fn mismatch(expected: DataType, array: &dyn Array) -> FieldError {
    FieldError::TypeMismatch {
        expected,
        found: array.data_type().clone(),
    }
}

/// `List<item>`.
pub fn list_type(item: Field) -> DataType {
    DataType::List(Arc::new(item))
}

/// `FixedSizeList<item, n>`.
pub fn fixed_type(item: Field, n: usize) -> DataType {
    DataType::FixedSizeList(Arc::new(item), i32::try_from(n).unwrap_or(i32::MAX))
}

fn item_ref<T: ArrowField>() -> FieldRef {
    Arc::new(super::item_field::<T>())
}

/// The row of a list (given its offsets) holding child value `index`, and the value's index in
/// that row: the position an error in the child array names. A binary search, run on the error
/// path only.
pub(crate) fn list_position<O: OffsetSizeTrait>(
    offsets: &[O],
    index: usize,
) -> (usize, Option<usize>) {
    // The last row starting at or before `index`: empty rows before it start there too.
    let row = offsets
        .partition_point(|o| o.as_usize() <= index)
        .saturating_sub(1);
    let start = offsets.get(row).map_or(0, |o| o.as_usize());
    (row, Some(index.saturating_sub(start)))
}

/// The row of a fixed-size list of `n` values holding child value `index`, and its index there.
fn fixed_position(n: usize, index: usize) -> (usize, Option<usize>) {
    (index / n.max(1), Some(index % n.max(1)))
}

/// Builds a `List<T>` array: the values of every row are gathered into one child column.
pub fn to_list<T: ArrowField + Clone>(rows: &[Option<&[T]>]) -> Result<ArrayRef, FieldError> {
    let total: usize = rows.iter().flatten().map(|r| r.len()).sum();
    let mut offsets: Vec<i32> = Vec::with_capacity(rows.len() + 1);
    let mut flat: Vec<T> = Vec::with_capacity(total);
    offsets.push(0);
    for row in rows {
        if let Some(values) = row {
            flat.extend_from_slice(values);
        }
        offsets.push(offset(flat.len())?);
    }
    let child = T::into_array(flat).map_err(|e| e.relocate(&|i| list_position(&offsets, i)))?;
    let array = ListArray::try_new(
        item_ref::<T>(),
        OffsetBuffer::new(ScalarBuffer::from(offsets)),
        child,
        nulls_of(rows),
    )?;
    Ok(Arc::new(array))
}

fn split_rows<T, O: OffsetSizeTrait>(
    list: &GenericListArray<O>,
) -> Result<Vec<Option<Vec<T>>>, FieldError>
where
    T: ArrowField,
{
    let offsets = list.value_offsets();
    let first = offsets.first().map_or(0, |o| o.as_usize());
    let last = offsets.last().map_or(0, |o| o.as_usize());
    let child = list.values().slice(first, last - first);
    let mut items = T::from_array(child.as_ref())
        .map_err(|e| e.relocate(&|i| list_position(offsets, first + i)))?
        .into_iter();
    let mut out = Vec::with_capacity(list.len());
    for (row, window) in offsets.windows(2).enumerate() {
        let n = window[1].as_usize() - window[0].as_usize();
        let values: Vec<T> = items.by_ref().take(n).collect();
        out.push(list.is_valid(row).then_some(values));
    }
    Ok(out)
}

/// Reads a `List<T>` or `LargeList<T>` array.
pub fn from_list<T: ArrowField>(array: &dyn Array) -> Result<Vec<Option<Vec<T>>>, FieldError> {
    match array.data_type() {
        DataType::List(_) => split_rows::<T, i32>(array.as_list::<i32>()),
        DataType::LargeList(_) => split_rows::<T, i64>(array.as_list::<i64>()),
        _ => Err(mismatch(T::vec_data_type(), array)),
    }
}

/// Builds a `FixedSizeList<T, n>`; null rows hold `n` copies of the first value so the child keeps
/// its fixed stride (they are masked by the list's validity).
pub fn to_fixed<T: ArrowField + Clone>(
    rows: &[Option<&[T]>],
    n: usize,
) -> Result<ArrayRef, FieldError> {
    let filler = rows.iter().flatten().find_map(|r| r.first().cloned());
    let mut flat: Vec<T> = Vec::with_capacity(rows.len() * n);
    for row in rows {
        match (row, &filler) {
            (Some(values), _) => flat.extend_from_slice(values),
            (None, Some(fill)) => flat.extend(std::iter::repeat_n(fill.clone(), n)),
            (None, None) => {}
        }
    }
    let size = i32::try_from(n).map_err(|_| FieldError::OutOfRange(format!("array length {n}")))?;
    let nulls = nulls_of(rows);
    if flat.len() != rows.len() * n {
        // Every row is null and there is no value to fill with: an all-null child of the right length.
        let child = arrow_array::new_null_array(&T::data_type(), rows.len() * n);
        let field = Arc::new(Field::new_list_field(T::data_type(), true));
        return Ok(Arc::new(FixedSizeListArray::try_new(
            field, size, child, nulls,
        )?));
    }
    let child = T::into_array(flat).map_err(|e| e.relocate(&|i| fixed_position(n, i)))?;
    Ok(Arc::new(FixedSizeListArray::try_new(
        item_ref::<T>(),
        size,
        child,
        nulls,
    )?))
}

/// Reads a `FixedSizeList<T, n>` array.
pub fn from_fixed<T: ArrowField>(
    array: &dyn Array,
    n: usize,
) -> Result<Vec<Option<Vec<T>>>, FieldError> {
    let expected = T::fixed_data_type(n);
    if matches!(
        array.data_type(),
        DataType::List(_) | DataType::LargeList(_)
    ) {
        // DuckDB writes its fixed-size ARRAY type as a plain List: accept rows of exactly `n`.
        return exact_lengths(from_list::<T>(array)?, n);
    }
    let Some(list) = array.as_fixed_size_list_opt() else {
        return Err(mismatch(expected, array));
    };
    if list.value_length() as usize != n {
        return Err(mismatch(expected, array));
    }
    let start = list.offset() * n;
    let child = list.values().slice(start, list.len() * n);
    // Null rows may hold nulls in a non-nullable child: read them as optional, then check valid rows.
    let child_valid: Vec<bool> = (0..child.len()).map(|i| child.is_valid(i)).collect();
    let items = if child.null_count() == 0 {
        T::from_array(child.as_ref())
            .map_err(|e| e.relocate(&|i| fixed_position(n, i)))?
            .into_iter()
            .map(Some)
            .collect::<Vec<_>>()
    } else {
        let filtered = arrow_select::filter::filter(
            child.as_ref(),
            &arrow_array::BooleanArray::from(child_valid.clone()),
        )?;
        // Value `i` of the filtered child is the `i`-th valid value of the child.
        let unfiltered = |i: usize| {
            let index = child_valid
                .iter()
                .enumerate()
                .filter(|(_, valid)| **valid)
                .nth(i)
                .map_or(i, |(index, _)| index);
            fixed_position(n, index)
        };
        let mut values = T::from_array(filtered.as_ref())
            .map_err(|e| e.relocate(&unfiltered))?
            .into_iter();
        child_valid
            .iter()
            .map(|&v| if v { values.next() } else { None })
            .collect()
    };
    let mut items = items.into_iter();
    let mut out = Vec::with_capacity(list.len());
    for row in 0..list.len() {
        let values: Vec<Option<T>> = items.by_ref().take(n).collect();
        if list.is_valid(row) {
            let mut full = Vec::with_capacity(n);
            for (i, v) in values.into_iter().enumerate() {
                match v {
                    Some(v) => full.push(v),
                    None => {
                        return Err(FieldError::UnexpectedNull {
                            row,
                            items: vec![i],
                            expected: T::data_type(),
                        });
                    }
                }
            }
            out.push(Some(full));
        } else {
            out.push(None);
        }
    }
    Ok(out)
}

/// `Vec<u8>` rows as `Binary`.
pub fn binary_to_array(rows: &[Option<&[u8]>]) -> Result<ArrayRef, FieldError> {
    let total: usize = rows.iter().flatten().map(|r| r.len()).sum();
    offset(total)?;
    let mut offsets: Vec<i32> = Vec::with_capacity(rows.len() + 1);
    let mut bytes: Vec<u8> = Vec::with_capacity(total);
    offsets.push(0);
    for row in rows {
        if let Some(b) = row {
            bytes.extend_from_slice(b);
        }
        offsets.push(offset(bytes.len())?);
    }
    let array = BinaryArray::try_new(
        OffsetBuffer::new(ScalarBuffer::from(offsets)),
        Buffer::from_vec(bytes),
        nulls_of(rows),
    )?;
    Ok(Arc::new(array))
}

/// Reads `Binary`, `LargeBinary`, `BinaryView` or `FixedSizeBinary` as byte vectors.
pub fn binary_from_array(array: &dyn Array) -> Result<Vec<Option<Vec<u8>>>, FieldError> {
    let out = match array.data_type() {
        DataType::Binary => array
            .as_binary::<i32>()
            .iter()
            .map(|b| b.map(<[u8]>::to_vec))
            .collect(),
        DataType::LargeBinary => array
            .as_binary::<i64>()
            .iter()
            .map(|b| b.map(<[u8]>::to_vec))
            .collect(),
        DataType::BinaryView => array
            .as_binary_view()
            .iter()
            .map(|b| b.map(<[u8]>::to_vec))
            .collect(),
        DataType::FixedSizeBinary(_) => array
            .as_fixed_size_binary()
            .iter()
            .map(|b| b.map(<[u8]>::to_vec))
            .collect(),
        _ => return Err(mismatch(DataType::Binary, array)),
    };
    Ok(out)
}

/// `[u8; n]` rows as `FixedSizeBinary(n)`.
pub fn fixed_binary_to_array(rows: &[Option<&[u8]>], n: usize) -> Result<ArrayRef, FieldError> {
    let size = i32::try_from(n).map_err(|_| FieldError::OutOfRange(format!("array length {n}")))?;
    let mut bytes: Vec<u8> = Vec::with_capacity(rows.len() * n);
    for row in rows {
        match row {
            Some(b) => bytes.extend_from_slice(b),
            None => bytes.extend(std::iter::repeat_n(0u8, n)),
        }
    }
    let array = FixedSizeBinaryArray::try_new(size, Buffer::from_vec(bytes), nulls_of(rows))?;
    Ok(Arc::new(array))
}

/// Reads `FixedSizeBinary(n)`, or variable binary (`Binary`, `LargeBinary`, `BinaryView`, as
/// polars and DuckDB write fixed-size bytes) whose every value has exactly `n` bytes.
pub fn fixed_binary_from_array(
    array: &dyn Array,
    n: usize,
) -> Result<Vec<Option<Vec<u8>>>, FieldError> {
    match array.data_type() {
        DataType::FixedSizeBinary(size) if *size as usize == n => Ok(array
            .as_fixed_size_binary()
            .iter()
            .map(|b| b.map(<[u8]>::to_vec))
            .collect()),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => {
            let rows = binary_from_array(array)?;
            exact_lengths(rows, n)
        }
        _ => Err(mismatch(DataType::FixedSizeBinary(n as i32), array)),
    }
}

/// Checks that every present row has exactly `n` values.
fn exact_lengths<T>(
    rows: Vec<Option<Vec<T>>>,
    n: usize,
) -> Result<Vec<Option<Vec<T>>>, FieldError> {
    for (row, value) in rows.iter().enumerate() {
        if let Some(v) = value
            && v.len() != n
        {
            return Err(FieldError::out_of_range_at(
                row,
                format!("a fixed-size field needs {n} values, found {}", v.len()),
            ));
        }
    }
    Ok(rows)
}

/// Turns optional rows into required rows, failing on the first null.
pub fn required<T>(rows: Vec<Option<T>>, expected: DataType) -> Result<Vec<T>, FieldError> {
    let mut out = Vec::with_capacity(rows.len());
    for (row, value) in rows.into_iter().enumerate() {
        match value {
            Some(v) => out.push(v),
            None => return Err(FieldError::unexpected_null(row, expected)),
        }
    }
    Ok(out)
}

impl<T: ArrowField + Clone> ArrowField for Vec<T> {
    fn data_type() -> DataType {
        T::vec_data_type()
    }

    fn to_array(values: &[Self]) -> Result<ArrayRef, FieldError> {
        let rows: Vec<Option<&[T]>> = values.iter().map(|v| Some(v.as_slice())).collect();
        T::vec_to_array(&rows)
    }

    fn from_array(array: &dyn Array) -> Result<Vec<Self>, FieldError> {
        required(T::vec_from_array(array)?, Self::data_type())
    }

    fn to_array_opt(values: &[Option<Self>]) -> Result<ArrayRef, FieldError> {
        let rows: Vec<Option<&[T]>> = values.iter().map(|v| v.as_deref()).collect();
        T::vec_to_array(&rows)
    }

    fn from_array_opt(array: &dyn Array) -> Result<Vec<Option<Self>>, FieldError> {
        T::vec_from_array(array)
    }
}

fn into_fixed<T, const N: usize>(
    rows: Vec<Option<Vec<T>>>,
) -> Result<Vec<Option<[T; N]>>, FieldError> {
    rows.into_iter()
        .enumerate()
        .map(|(row, value)| match value {
            None => Ok(None),
            Some(v) => {
                let len = v.len();
                <[T; N]>::try_from(v).map(Some).map_err(|_| {
                    FieldError::out_of_range_at(
                        row,
                        format!("a fixed-size field needs {N} values, found {len}"),
                    )
                })
            }
        })
        .collect()
}

impl<T: ArrowField + Clone, const N: usize> ArrowField for [T; N] {
    fn data_type() -> DataType {
        T::fixed_data_type(N)
    }

    fn to_array(values: &[Self]) -> Result<ArrayRef, FieldError> {
        let rows: Vec<Option<&[T]>> = values.iter().map(|v| Some(v.as_slice())).collect();
        T::fixed_to_array(&rows, N)
    }

    fn from_array(array: &dyn Array) -> Result<Vec<Self>, FieldError> {
        required(
            into_fixed::<T, N>(T::fixed_from_array(array, N)?)?,
            Self::data_type(),
        )
    }

    fn to_array_opt(values: &[Option<Self>]) -> Result<ArrayRef, FieldError> {
        let rows: Vec<Option<&[T]>> = values
            .iter()
            .map(|v| v.as_ref().map(|a| a.as_slice()))
            .collect();
        T::fixed_to_array(&rows, N)
    }

    fn from_array_opt(array: &dyn Array) -> Result<Vec<Option<Self>>, FieldError> {
        into_fixed::<T, N>(T::fixed_from_array(array, N)?)
    }
}

//! Maps: `HashMap<K, V>` and `BTreeMap<K, V>` as Arrow `Map` columns.
//!
//! The column type is the one arrow-rs's `MapBuilder` makes and Parquet, pyarrow, polars and DuckDB
//! read as a map:
//!
//! ```text
//! Map(entries: Struct { keys: K (non-null), values: V (nullable iff V is an Option) }, keys_sorted = false)
//! ```
//!
//! * Keys cannot be null in Arrow, so an `Option` key type fails with [`FieldError::Unsupported`].
//! * `keys_sorted` is `false` for both maps: a `BTreeMap` does write its entries in key order, but
//!   Arrow's order of a key type (for example strings as bytes) need not be Rust's `Ord`.
//! * A `HashMap` writes its entries in its (arbitrary) iteration order.
//! * Reading accepts any `Map` column whatever its field names (pyarrow names them `key`/`value`),
//!   and a key that occurs twice in one row keeps its last value.
//! * `Option<HashMap<..>>` is a nullable map column; an empty map is a valid, empty row.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hash};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, MapArray, StructArray};
use arrow_buffer::{NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::{DataType, Field, FieldRef, Fields};

use super::{ArrowField, FieldError, list};

/// The `entries` field of a map column: `Struct { keys: K, values: V }`.
fn entries_field<K: ArrowField, V: ArrowField>() -> FieldRef {
    let keys = Field::new("keys", K::data_type(), false).with_metadata(K::field_metadata());
    let values =
        Field::new("values", V::data_type(), V::NULLABLE).with_metadata(V::field_metadata());
    Arc::new(Field::new(
        "entries",
        DataType::Struct(Fields::from(vec![keys, values])),
        false,
    ))
}

/// The Arrow type of a map column with keys `K` and values `V`.
pub fn map_type<K: ArrowField, V: ArrowField>() -> DataType {
    DataType::Map(entries_field::<K, V>(), false)
}

/// Builds a map column from rows of `(key, value)` pairs (`None` is a null map).
fn to_map<'a, K, V, M>(
    rows: impl ExactSizeIterator<Item = Option<M>>,
) -> Result<ArrayRef, FieldError>
where
    K: ArrowField + Clone + 'a,
    V: ArrowField + Clone + 'a,
    M: IntoIterator<Item = (&'a K, &'a V)>,
{
    if K::NULLABLE {
        return Err(FieldError::Unsupported(format!(
            "map keys cannot be null in Arrow, so a map column cannot have keys of the nullable type {}",
            K::data_type()
        )));
    }
    let mut offsets: Vec<i32> = Vec::with_capacity(rows.len() + 1);
    let mut valid: Vec<bool> = Vec::with_capacity(rows.len());
    let mut keys: Vec<K> = Vec::new();
    let mut values: Vec<V> = Vec::new();
    offsets.push(0);
    for row in rows {
        valid.push(row.is_some());
        for (k, v) in row.into_iter().flatten() {
            keys.push(k.clone());
            values.push(v.clone());
        }
        offsets.push(i32::try_from(keys.len()).map_err(|_| {
            FieldError::OutOfRange(format!(
                "{} map entries exceed the i32 offsets of an Arrow Map column",
                keys.len()
            ))
        })?);
    }
    let entries_field = entries_field::<K, V>();
    let DataType::Struct(fields) = entries_field.data_type() else {
        return Err(FieldError::Unsupported(
            "map entries must be a struct".into(),
        ));
    };
    let position = |e: FieldError| e.relocate(&|i| list::list_position(&offsets, i));
    let entries = StructArray::try_new(
        fields.clone(),
        vec![
            K::into_array(keys).map_err(position)?,
            V::into_array(values).map_err(position)?,
        ],
        None,
    )?;
    let nulls = NullBuffer::from(valid);
    let nulls = (nulls.null_count() > 0).then_some(nulls);
    let array = MapArray::try_new(
        entries_field,
        OffsetBuffer::new(ScalarBuffer::from(offsets)),
        entries,
        nulls,
        false,
    )?;
    Ok(Arc::new(array))
}

/// The entries of one map row, in column order.
type Entries<K, V> = Vec<(K, V)>;

/// Reads a map column as rows of `(key, value)` pairs (`None` for null maps).
fn from_map<K: ArrowField, V: ArrowField>(
    array: &dyn Array,
) -> Result<Vec<Option<Entries<K, V>>>, FieldError> {
    let mismatch = || FieldError::TypeMismatch {
        expected: map_type::<K, V>(),
        found: array.data_type().clone(),
    };
    let map = array.as_map_opt().ok_or_else(mismatch)?;
    let entries = map.entries();
    if entries.num_columns() != 2 {
        return Err(mismatch());
    }
    let offsets = map.value_offsets();
    let first = offsets.first().map_or(0, |o| *o as usize);
    let last = offsets.last().map_or(0, |o| *o as usize);
    let len = last.saturating_sub(first);
    let position = |e: FieldError| e.relocate(&|i| list::list_position(offsets, first + i));
    let keys = K::from_array(entries.column(0).slice(first, len).as_ref()).map_err(position)?;
    let values = V::from_array(entries.column(1).slice(first, len).as_ref()).map_err(position)?;
    let mut pairs = keys.into_iter().zip(values);
    let mut out = Vec::with_capacity(map.len());
    for (row, window) in offsets.windows(2).enumerate() {
        let n = (window[1] - window[0]).max(0) as usize;
        let row_pairs: Vec<(K, V)> = pairs.by_ref().take(n).collect();
        out.push(map.is_valid(row).then_some(row_pairs));
    }
    Ok(out)
}

macro_rules! map_field {
    ($($(#[$meta:meta])* $map:ident<K, V $(, $s:ident: $sbound:path)?> where K: $($kbound:path),+;)*) => {$(
        $(#[$meta])*
        impl<K, V $(, $s)?> ArrowField for $map<K, V $(, $s)?>
        where
            K: ArrowField + Clone $(+ $kbound)+,
            V: ArrowField + Clone,
            $($s: $sbound + Default,)?
        {
            fn data_type() -> DataType {
                map_type::<K, V>()
            }

            fn to_array(values: &[Self]) -> Result<ArrayRef, FieldError> {
                to_map::<K, V, _>(values.iter().map(Some))
            }

            fn from_array(array: &dyn Array) -> Result<Vec<Self>, FieldError> {
                list::required(Self::from_array_opt(array)?, Self::data_type())
            }

            fn to_array_opt(values: &[Option<Self>]) -> Result<ArrayRef, FieldError> {
                to_map::<K, V, _>(values.iter().map(Option::as_ref))
            }

            fn from_array_opt(array: &dyn Array) -> Result<Vec<Option<Self>>, FieldError> {
                Ok(from_map::<K, V>(array)?
                    .into_iter()
                    .map(|row| row.map(|pairs| pairs.into_iter().collect()))
                    .collect())
            }
        }
    )*};
}

map_field! {
    /// `HashMap<K, V>` as an Arrow `Map` (see the [module docs](self)).
    HashMap<K, V, S: BuildHasher> where K: Eq, Hash;
    /// `BTreeMap<K, V>` as an Arrow `Map` (see the [module docs](self)).
    BTreeMap<K, V> where K: Ord;
}

//! Exact conversions of Arrow arrays between types that differ in time units (timestamps of
//! any unit, times of day and `Int64` microseconds), at any depth of lists, structs, maps and
//! dictionaries; nested field names are taken from the target type. Used by the Parquet store
//! (column types Parquet or Spark cannot hold, see `parquet/layout.rs`) and by
//! `ArrowStore::load_ipc` (a timestamp column in another unit, as pyarrow writes after reading
//! our Parquet).

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, Int64Type};
use arrow_array::{
    Array, ArrayRef, FixedSizeListArray, LargeListArray, ListArray, MapArray, PrimitiveArray,
    StructArray, make_array,
};
use arrow_schema::{ArrowError, DataType, FieldRef, TimeUnit};

use crate::field::time_unit::{per_second, unit_name};

/// `array` converted to `to`, exactly; the reason when a value does not convert (an overflow,
/// digits the target unit cannot hold, or a pair of types with no conversion).
pub(crate) fn convert(array: &ArrayRef, to: &DataType) -> std::result::Result<ArrayRef, String> {
    convert_with(array, to, false)
}

/// Like [`convert`], and where the two types differ in more than units, Arrow's checked cast
/// (`safe: false`: a value that does not fit is an error, never a null): integers of other widths
/// and signedness, `UInt64` and `Decimal128(20, 0)`, dictionaries and their values, fixed-size and
/// variable-size binary, large and small strings, lists of other kinds. Used by the Delta store,
/// whose column types are a subset of Arrow's.
#[cfg(feature = "delta")]
pub(crate) fn convert_cast(
    array: &ArrayRef,
    to: &DataType,
) -> std::result::Result<ArrayRef, String> {
    convert_with(array, to, true)
}

fn convert_with(
    array: &ArrayRef,
    to: &DataType,
    cast: bool,
) -> std::result::Result<ArrayRef, String> {
    if array.data_type() == to {
        return Ok(Arc::clone(array));
    }
    let arrow = |e: ArrowError| e.to_string();
    let child = |f: &FieldRef, values: &ArrayRef| convert_with(values, f.data_type(), cast);
    match (array.data_type(), to) {
        (DataType::Timestamp(from, _), DataType::Timestamp(unit, _)) => {
            let what = |v: i64| format!("timestamp {v} {}", unit_name(*from));
            rescale(
                array,
                per_second(*from),
                per_second(*unit),
                to,
                what,
                unit_name(*unit),
            )
        }
        (DataType::Time32(from) | DataType::Time64(from), DataType::Int64) => {
            let what = |v: i64| format!("time of day {v} {}", unit_name(*from));
            let per = per_second(TimeUnit::Microsecond);
            rescale(array, per_second(*from), per, to, what, "microseconds")
        }
        (DataType::Int64, DataType::Time32(unit) | DataType::Time64(unit)) => {
            let what = |v: i64| format!("time of day {v} microseconds");
            let per = per_second(TimeUnit::Microsecond);
            rescale(array, per, per_second(*unit), to, what, unit_name(*unit))
        }
        (DataType::List(_), DataType::List(f)) => {
            let list = array.as_list::<i32>();
            let values = child(f, list.values())?;
            let out = ListArray::try_new(
                Arc::clone(f),
                list.offsets().clone(),
                values,
                list.nulls().cloned(),
            );
            Ok(Arc::new(out.map_err(arrow)?))
        }
        (DataType::LargeList(_), DataType::LargeList(f)) => {
            let list = array.as_list::<i64>();
            let values = child(f, list.values())?;
            let out = LargeListArray::try_new(
                Arc::clone(f),
                list.offsets().clone(),
                values,
                list.nulls().cloned(),
            );
            Ok(Arc::new(out.map_err(arrow)?))
        }
        (DataType::FixedSizeList(_, _), DataType::FixedSizeList(f, n)) => {
            let list = array.as_fixed_size_list();
            let values = child(f, list.values())?;
            let out = FixedSizeListArray::try_new(Arc::clone(f), *n, values, list.nulls().cloned());
            Ok(Arc::new(out.map_err(arrow)?))
        }
        (DataType::Struct(_), DataType::Struct(fields)) => {
            let array = array.as_struct();
            let children = fields
                .iter()
                .zip(array.columns())
                .map(|(f, c)| child(f, c))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            let out = StructArray::try_new_with_length(
                fields.clone(),
                children,
                array.nulls().cloned(),
                array.len(),
            );
            Ok(Arc::new(out.map_err(arrow)?))
        }
        (DataType::Map(_, _), DataType::Map(f, sorted)) => {
            let map = array.as_map();
            let entries: ArrayRef = Arc::new(map.entries().clone());
            let entries = child(f, &entries)?;
            let out = MapArray::try_new(
                Arc::clone(f),
                map.offsets().clone(),
                entries.as_struct().clone(),
                map.nulls().cloned(),
                *sorted,
            );
            Ok(Arc::new(out.map_err(arrow)?))
        }
        (DataType::Dictionary(_, _), DataType::Dictionary(_, value)) => {
            let dictionary = array
                .as_any_dictionary_opt()
                .ok_or_else(|| format!("{} is not a dictionary", array.data_type()))?;
            let values = convert_with(dictionary.values(), value, cast)?;
            Ok(dictionary.with_values(values))
        }
        (from, to) if cast => cast_checked(array, from, to),
        (from, to) => Err(format!("no conversion from {from} to {to}")),
    }
}

/// Arrow's cast with overflow checks; for containers of another kind (a large list into a
/// list, a dictionary into its values), the children are converted first with [`convert_with`]
/// so that time units inside them are rescaled exactly, then the container is cast.
fn cast_checked(
    array: &ArrayRef,
    from: &DataType,
    to: &DataType,
) -> std::result::Result<ArrayRef, String> {
    use arrow_cast::{CastOptions, cast_with_options};
    let options = CastOptions {
        safe: false,
        ..CastOptions::default()
    };
    let list_child = |t: &DataType| match t {
        DataType::List(f)
        | DataType::LargeList(f)
        | DataType::FixedSizeList(f, _)
        | DataType::ListView(f)
        | DataType::LargeListView(f) => Some(Arc::clone(f)),
        _ => None,
    };
    // A list of another kind: first the values into the target's value type, as a list of the
    // source kind; then the container.
    if let (Some(_), Some(target)) = (list_child(from), list_child(to)) {
        let same_kind = match from {
            DataType::List(_) => DataType::List(Arc::clone(&target)),
            DataType::LargeList(_) => DataType::LargeList(Arc::clone(&target)),
            DataType::FixedSizeList(_, n) => DataType::FixedSizeList(Arc::clone(&target), *n),
            _ => return Err(format!("no conversion from {from} to {to}")),
        };
        let inner = convert_with(array, &same_kind, true)?;
        return cast_with_options(&inner, to, &options).map_err(|e| strip(&e));
    }
    // A dictionary into something else: its values first.
    if let DataType::Dictionary(_, value) = from
        && !matches!(to, DataType::Dictionary(_, _))
    {
        let plain = cast_with_options(array, value, &options).map_err(|e| strip(&e))?;
        return convert_with(&plain, to, true);
    }
    // Something into a dictionary: into its value type first.
    if let DataType::Dictionary(_, value) = to
        && !matches!(from, DataType::Dictionary(_, _))
    {
        let values = convert_with(array, value, true)?;
        return cast_with_options(&values, to, &options).map_err(|e| strip(&e));
    }
    if let Some(same_width) = reinterpret_integers(array, from, to) {
        return same_width;
    }
    if !arrow_cast::can_cast_types(from, to) {
        return Err(format!("no conversion from {from} to {to}"));
    }
    cast_with_options(array, to, &options).map_err(|e| strip(&e))
}

/// Signed and unsigned integers of one width: the same bits when every value is in range (one
/// min or max pass), so the buffers are shared instead of copied. `None`: not such a pair.
fn reinterpret_integers(
    array: &ArrayRef,
    from: &DataType,
    to: &DataType,
) -> Option<std::result::Result<ArrayRef, String>> {
    use arrow_arith::aggregate::{max, min};
    use arrow_array::types::{Int8Type, Int16Type, UInt8Type, UInt16Type, UInt32Type, UInt64Type};
    macro_rules! in_range {
        ($signed:ty, $unsigned:ty) => {
            match (from, to) {
                (f, t)
                    if f == &<$signed as arrow_array::ArrowPrimitiveType>::DATA_TYPE
                        && t == &<$unsigned as arrow_array::ArrowPrimitiveType>::DATA_TYPE =>
                {
                    Some(min(array.as_primitive::<$signed>()).is_none_or(|m| m >= 0))
                }
                (f, t)
                    if f == &<$unsigned as arrow_array::ArrowPrimitiveType>::DATA_TYPE
                        && t == &<$signed as arrow_array::ArrowPrimitiveType>::DATA_TYPE =>
                {
                    let limit = <$signed as arrow_array::ArrowPrimitiveType>::Native::MAX;
                    Some(
                        max(array.as_primitive::<$unsigned>())
                            .is_none_or(|m| m as u128 <= limit as u128),
                    )
                }
                _ => None,
            }
        };
    }
    let ok = in_range!(Int64Type, UInt64Type)
        .or_else(|| in_range!(Int32Type, UInt32Type))
        .or_else(|| in_range!(Int16Type, UInt16Type))
        .or_else(|| in_range!(Int8Type, UInt8Type))?;
    if !ok {
        // Out of range: the checked cast reports the value.
        return None;
    }
    let data = array.to_data().into_builder().data_type(to.clone()).build();
    Some(data.map(make_array).map_err(|e| strip(&e)))
}

/// Rescales the 32- or 64-bit integers under `array` from `from` to `to` counts per second,
/// exactly (multiplying checks overflow, dividing checks the remainder), into type `to_type`.
fn rescale(
    array: &ArrayRef,
    from: i64,
    to: i64,
    to_type: &DataType,
    what: impl Fn(i64) -> String,
    to_unit: &str,
) -> std::result::Result<ArrayRef, String> {
    let data = array.to_data();
    let ints: PrimitiveArray<Int64Type> = if data.data_type().primitive_width() == Some(4) {
        let narrow = PrimitiveArray::<Int32Type>::from(
            data.into_builder()
                .data_type(DataType::Int32)
                .build()
                .map_err(|e| e.to_string())?,
        );
        narrow.unary(i64::from)
    } else {
        PrimitiveArray::from(
            data.into_builder()
                .data_type(DataType::Int64)
                .build()
                .map_err(|e| e.to_string())?,
        )
    };
    let scaled: PrimitiveArray<Int64Type> = if from == to {
        ints
    } else if from < to {
        let factor = to / from;
        ints.try_unary(|v| {
            v.checked_mul(factor).ok_or_else(|| {
                ArrowError::ComputeError(format!(
                    "{} does not fit a 64-bit count of {to_unit}",
                    what(v)
                ))
            })
        })
        .map_err(|e| strip(&e))?
    } else {
        let factor = from / to;
        ints.try_unary(|v| {
            if v % factor == 0 {
                Ok(v / factor)
            } else {
                Err(ArrowError::ComputeError(format!(
                    "{} has digits below {to_unit}, which the file cannot hold (no value is \
                     truncated)",
                    what(v)
                )))
            }
        })
        .map_err(|e| strip(&e))?
    };
    let data = scaled.into_data();
    let out = if to_type.primitive_width() == Some(4) {
        let narrow = PrimitiveArray::<Int64Type>::from(data).try_unary::<_, Int32Type, _>(|v| {
            i32::try_from(v).map_err(|_| {
                ArrowError::ComputeError(format!("{v} {to_unit} does not fit 32 bits"))
            })
        });
        narrow.map_err(|e| strip(&e))?.into_data()
    } else {
        data
    };
    let out = out
        .into_builder()
        .data_type(to_type.clone())
        .build()
        .map_err(|e| e.to_string())?;
    Ok(make_array(out))
}

/// The message of an error raised by the closures above (without arrow's prefix).
fn strip(e: &ArrowError) -> String {
    match e {
        ArrowError::ComputeError(message) => message.clone(),
        other => other.to_string(),
    }
}

/// Whether `from` converts to `to` by [`convert`] with only time units changing (nested field
/// names and nullability aside): timestamps of the same time zone in another unit.
pub(crate) fn same_but_units(from: &DataType, to: &DataType) -> bool {
    use DataType::{FixedSizeList, LargeList, List, Map, Struct, Timestamp};
    match (from, to) {
        (Timestamp(_, a), Timestamp(_, b)) => a == b,
        (List(x), List(y)) | (LargeList(x), LargeList(y)) | (Map(x, _), Map(y, _)) => {
            same_but_units(x.data_type(), y.data_type())
        }
        (FixedSizeList(x, n), FixedSizeList(y, m)) => {
            n == m && same_but_units(x.data_type(), y.data_type())
        }
        (Struct(x), Struct(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y.iter())
                    .all(|(f, g)| same_but_units(f.data_type(), g.data_type()))
        }
        _ => from == to,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::types::{TimestampMillisecondType, TimestampSecondType};
    use arrow_array::{Int64Array, TimestampNanosecondArray};
    use arrow_schema::Field;

    #[test]
    fn seconds_become_milliseconds_and_back_at_any_depth() {
        let ts = DataType::Timestamp(TimeUnit::Second, Some("UTC".into()));
        let item = Arc::new(Field::new("item", ts.clone(), true));
        let list_type = DataType::List(Arc::clone(&item));
        let values: ArrayRef = Arc::new(
            PrimitiveArray::<TimestampSecondType>::from(vec![Some(-1), None, Some(1_700_000_000)])
                .with_timezone("UTC"),
        );
        let list: ArrayRef = Arc::new(
            ListArray::try_new(
                item,
                arrow_buffer::OffsetBuffer::from_lengths([2, 1]),
                values,
                None,
            )
            .unwrap(),
        );
        let file = DataType::List(Arc::new(Field::new(
            "element",
            DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            true,
        )));
        let written = convert(&list, &file).unwrap();
        let inner = written.as_list::<i32>().values().clone();
        assert_eq!(
            inner.as_primitive::<TimestampMillisecondType>().values(),
            &[-1000, 0, 1_700_000_000_000]
        );
        let back = convert(&written, &list_type).unwrap();
        assert_eq!(&back, &list);
    }

    #[test]
    fn lossy_or_overflowing_values_are_errors() {
        let seconds: ArrayRef =
            Arc::new(PrimitiveArray::<TimestampSecondType>::from(vec![i64::MAX]));
        let e = convert(&seconds, &DataType::Timestamp(TimeUnit::Millisecond, None)).unwrap_err();
        assert!(e.contains("does not fit"), "{e}");
        let nanos: ArrayRef = Arc::new(TimestampNanosecondArray::from(vec![1_001]));
        let e = convert(&nanos, &DataType::Timestamp(TimeUnit::Microsecond, None)).unwrap_err();
        assert!(e.contains("digits below microseconds"), "{e}");
        let times: ArrayRef = Arc::new(Int64Array::from(vec![86_399_999_999]));
        let t = convert(&times, &DataType::Time64(TimeUnit::Nanosecond)).unwrap();
        assert_eq!(t.data_type(), &DataType::Time64(TimeUnit::Nanosecond));
    }
}

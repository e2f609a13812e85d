//! Per-file statistics of an `add` action (`numRecords`, `minValues`, `maxValues`,
//! `nullCount`), computed from the batches of the file as written (Delta column types), so that
//! readers can skip files. Only what is exact is written: top-level columns; minimum and maximum
//! of numbers, decimals, dates, timestamps (to the millisecond, rounded outwards) and strings of at
//! most 32 characters; no minimum or maximum for a float column with a NaN. Null counts for every
//! top-level column that is not a struct, list or map.

use arrow_arith::aggregate::{max, max_string, min, min_string};
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Decimal128Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type,
    Int64Type, TimestampMicrosecondType,
};
use arrow_array::{Array, ArrowPrimitiveType, PrimitiveArray, RecordBatch};
use arrow_schema::DataType;

/// Strings longer than this get no minimum/maximum (Delta writers truncate; we leave them out).
const MAX_STRING_STAT: usize = 32;

/// One column's running statistics.
#[derive(Debug, Clone, Default)]
struct Column {
    nulls: u64,
    /// JSON tokens, `None` once a value makes the bound unusable.
    min: Option<Bound>,
    max: Option<Bound>,
    usable: bool,
}

#[derive(Debug, Clone, PartialEq, PartialOrd)]
enum Bound {
    Int(i128),
    Float(f64),
    Text(String),
}

/// Statistics of one file, built batch by batch.
#[derive(Debug)]
pub(crate) struct FileStats {
    rows: u64,
    names: Vec<String>,
    types: Vec<DataType>,
    columns: Vec<Column>,
}

impl FileStats {
    pub fn new(schema: &arrow_schema::Schema) -> Self {
        FileStats {
            rows: 0,
            names: schema.fields().iter().map(|f| f.name().clone()).collect(),
            types: schema
                .fields()
                .iter()
                .map(|f| f.data_type().clone())
                .collect(),
            columns: schema
                .fields()
                .iter()
                .map(|f| Column {
                    usable: has_bounds(f.data_type()),
                    ..Column::default()
                })
                .collect(),
        }
    }

    pub fn add(&mut self, batch: &RecordBatch) {
        self.rows += batch.num_rows() as u64;
        for (column, array) in self.columns.iter_mut().zip(batch.columns()) {
            column.nulls += array.null_count() as u64;
            if !column.usable || array.null_count() == array.len() {
                continue;
            }
            match bounds(array.as_ref()) {
                Some((lo, hi)) => {
                    if column.min.as_ref().is_none_or(|m| lo < *m) {
                        column.min = Some(lo);
                    }
                    if column.max.as_ref().is_none_or(|m| hi > *m) {
                        column.max = Some(hi);
                    }
                }
                None => {
                    column.usable = false;
                    column.min = None;
                    column.max = None;
                }
            }
        }
    }

    /// The `stats` JSON string of the `add` action.
    pub fn to_json(&self) -> String {
        let mut mins = Vec::new();
        let mut maxs = Vec::new();
        let mut nulls = Vec::new();
        for ((name, data_type), column) in self.names.iter().zip(&self.types).zip(&self.columns) {
            let key = serde_json::Value::from(name.as_str()).to_string();
            // Readers expect a struct's null counts per leaf, nested: none are written for
            // structs, lists and maps (a reader then assumes nothing about them).
            if !data_type.is_nested() {
                nulls.push(format!("{key}:{}", column.nulls));
            }
            if !column.usable {
                continue;
            }
            if let (Some(lo), Some(hi)) = (&column.min, &column.max)
                && let (Some(lo), Some(hi)) =
                    (token(lo, data_type, false), token(hi, data_type, true))
            {
                mins.push(format!("{key}:{lo}"));
                maxs.push(format!("{key}:{hi}"));
            }
        }
        format!(
            "{{\"numRecords\":{},\"minValues\":{{{}}},\"maxValues\":{{{}}},\"nullCount\":{{{}}}}}",
            self.rows,
            mins.join(","),
            maxs.join(","),
            nulls.join(",")
        )
    }
}

fn has_bounds(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::Float32
            | DataType::Float64
            | DataType::Decimal128(_, _)
            | DataType::Date32
            | DataType::Timestamp(arrow_schema::TimeUnit::Microsecond, _)
            | DataType::Utf8
    )
}

fn int_bounds<T>(array: &dyn Array) -> Option<(Bound, Bound)>
where
    T: ArrowPrimitiveType,
    T::Native: Into<i128>,
{
    let array: &PrimitiveArray<T> = array.as_primitive_opt()?;
    Some((
        Bound::Int(min(array)?.into()),
        Bound::Int(max(array)?.into()),
    ))
}

fn float_bounds<T>(array: &dyn Array) -> Option<(Bound, Bound)>
where
    T: ArrowPrimitiveType,
    T::Native: Into<f64>,
{
    let array: &PrimitiveArray<T> = array.as_primitive_opt()?;
    if array.iter().flatten().any(|v| v.into().is_nan()) {
        return None;
    }
    let values = array.iter().flatten().map(Into::into);
    let lo = values.clone().fold(f64::INFINITY, f64::min);
    let hi = values.fold(f64::NEG_INFINITY, f64::max);
    Some((Bound::Float(lo), Bound::Float(hi)))
}

fn bounds(array: &dyn Array) -> Option<(Bound, Bound)> {
    match array.data_type() {
        DataType::Int8 => int_bounds::<Int8Type>(array),
        DataType::Int16 => int_bounds::<Int16Type>(array),
        DataType::Int32 => int_bounds::<Int32Type>(array),
        DataType::Int64 => int_bounds::<Int64Type>(array),
        DataType::Date32 => int_bounds::<Date32Type>(array),
        DataType::Timestamp(_, _) => int_bounds::<TimestampMicrosecondType>(array),
        DataType::Decimal128(_, _) => {
            let array = array.as_primitive_opt::<Decimal128Type>()?;
            Some((Bound::Int(min(array)?), Bound::Int(max(array)?)))
        }
        DataType::Float32 => float_bounds::<Float32Type>(array),
        DataType::Float64 => float_bounds::<Float64Type>(array),
        DataType::Utf8 => {
            let array = array.as_string_opt::<i32>()?;
            let (lo, hi) = (min_string(array)?, max_string(array)?);
            if lo.chars().count() > MAX_STRING_STAT || hi.chars().count() > MAX_STRING_STAT {
                return None;
            }
            Some((Bound::Text(lo.to_owned()), Bound::Text(hi.to_owned())))
        }
        _ => None,
    }
}

/// The JSON token of a bound; `upper` rounds outwards where the JSON form is coarser.
fn token(bound: &Bound, data_type: &DataType, upper: bool) -> Option<String> {
    match (bound, data_type) {
        (Bound::Int(v), DataType::Date32) => {
            let days = i32::try_from(*v).ok()?;
            let date = arrow_array::temporal_conversions::date32_to_datetime(days)?;
            Some(format!("\"{}\"", date.format("%Y-%m-%d")))
        }
        (Bound::Int(v), DataType::Timestamp(_, _)) => {
            let micros = i64::try_from(*v).ok()?;
            let mut millis = micros.div_euclid(1000);
            if upper && micros.rem_euclid(1000) != 0 {
                millis = millis.checked_add(1)?;
            }
            let at = arrow_array::temporal_conversions::timestamp_ms_to_datetime(millis)?;
            Some(format!("\"{}\"", at.format("%Y-%m-%dT%H:%M:%S%.3fZ")))
        }
        (Bound::Int(v), DataType::Decimal128(_, scale)) => Some(decimal_text(*v, *scale)),
        (Bound::Int(v), _) => Some(v.to_string()),
        (Bound::Float(v), _) if v.is_finite() => Some(serde_json::Value::from(*v).to_string()),
        (Bound::Float(_), _) => None,
        (Bound::Text(s), _) => Some(serde_json::Value::from(s.as_str()).to_string()),
    }
}

/// A decimal's unscaled value as a JSON number with `scale` digits after the point.
fn decimal_text(unscaled: i128, scale: i8) -> String {
    if scale <= 0 {
        return unscaled.to_string();
    }
    let scale = scale as usize;
    let digits = unscaled.unsigned_abs().to_string();
    let digits = format!("{digits:0>width$}", width = scale + 1);
    let (int, frac) = digits.split_at(digits.len() - scale);
    let sign = if unscaled < 0 { "-" } else { "" };
    format!("{sign}{int}.{frac}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use arrow_array::{Decimal128Array, Int32Array, StringArray, TimestampMicrosecondArray};
    use arrow_schema::{Field, Schema, TimeUnit};

    #[test]
    fn stats_are_exact_or_absent() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("i", DataType::Int32, true),
            Field::new("s", DataType::Utf8, true),
            Field::new("d", DataType::Decimal128(20, 2), false),
            Field::new(
                "t",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                false,
            ),
        ]));
        let batch = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![
                Arc::new(Int32Array::from(vec![Some(3), None, Some(-7)])),
                Arc::new(StringArray::from(vec![Some("b"), Some("é"), None])),
                Arc::new(
                    Decimal128Array::from(vec![-5, 12345, 7])
                        .with_precision_and_scale(20, 2)
                        .unwrap(),
                ),
                Arc::new(
                    TimestampMicrosecondArray::from(vec![1_500, 2_000_001, 0]).with_timezone("UTC"),
                ),
            ],
        )
        .unwrap();
        let mut stats = FileStats::new(&schema);
        stats.add(&batch);
        let json: serde_json::Value = serde_json::from_str(&stats.to_json()).unwrap();
        assert_eq!(json["numRecords"], 3);
        assert_eq!(json["minValues"]["i"], -7);
        assert_eq!(json["maxValues"]["s"], "é");
        assert_eq!(json["nullCount"]["i"], 1);
        assert_eq!(json["minValues"]["d"].to_string(), "-0.05");
        assert_eq!(json["maxValues"]["d"].to_string(), "123.45");
        assert_eq!(json["minValues"]["t"], "1970-01-01T00:00:00.000Z");
        assert_eq!(json["maxValues"]["t"], "1970-01-01T00:00:02.001Z");
    }
}

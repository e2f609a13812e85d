//! Per-file statistics of an `add` action (`numRecords`, `minValues`, `maxValues`,
//! `nullCount`), taken from the statistics the Parquet writer already computed for the file's
//! footer (no second pass over the data), so that readers can skip files. Only what is exact is
//! written: top-level columns; minimum and maximum of integers, decimals, dates, timestamps (to the
//! millisecond, rounded outwards) and strings of at most 32 bytes (the writer truncates longer
//! bounds); none for floats (the footer leaves NaN out) or booleans. Null counts for every
//! top-level column that is not a struct, list or map.

use arrow_array::Array;
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Decimal128Type, Int8Type, Int16Type, Int32Type, Int64Type, TimestampMicrosecondType,
};
use arrow_schema::DataType;

/// Strings longer than this (in bytes) get no minimum/maximum: the Parquet writer truncates
/// bounds past 64 bytes, and Delta readers expect short ones.
const MAX_STRING_STAT: usize = 32;

/// One column's running statistics.
#[derive(Debug, Clone)]
struct Column {
    nulls: u64,
    known_nulls: bool,
    min: Option<Bound>,
    max: Option<Bound>,
    usable: bool,
}

impl Default for Column {
    fn default() -> Self {
        Column {
            nulls: 0,
            known_nulls: true,
            min: None,
            max: None,
            usable: false,
        }
    }
}

impl Column {
    /// Folds the row groups' bounds; a row group with values but no bound makes the column's
    /// bounds unknown.
    fn merge(
        &mut self,
        mins: &dyn Array,
        maxes: &dyn Array,
        nulls: &arrow_array::UInt64Array,
        groups: &[parquet::file::metadata::RowGroupMetaData],
    ) {
        for (i, group) in groups.iter().enumerate() {
            let rows = u64::try_from(group.num_rows()).unwrap_or(0);
            if nulls.value(i) >= rows {
                continue; // only nulls: no bound needed
            }
            let (Some(lo), Some(hi)) = (bound_at(mins, i), bound_at(maxes, i)) else {
                self.usable = false;
                self.min = None;
                self.max = None;
                return;
            };
            if self.min.as_ref().is_none_or(|m| lo < *m) {
                self.min = Some(lo);
            }
            if self.max.as_ref().is_none_or(|m| hi > *m) {
                self.max = Some(hi);
            }
        }
    }
}

/// The type whose values the statistics hold (a dictionary's values).
fn value_type(data_type: &DataType) -> &DataType {
    match data_type {
        DataType::Dictionary(_, v) => v.as_ref(),
        other => other,
    }
}

/// Element `i` of a statistics array as a bound.
fn bound_at(array: &dyn Array, i: usize) -> Option<Bound> {
    if array.is_null(i) {
        return None;
    }
    match array.data_type() {
        DataType::Int8 => Some(Bound::Int(array.as_primitive::<Int8Type>().value(i).into())),
        DataType::Int16 => Some(Bound::Int(
            array.as_primitive::<Int16Type>().value(i).into(),
        )),
        DataType::Int32 => Some(Bound::Int(
            array.as_primitive::<Int32Type>().value(i).into(),
        )),
        DataType::Int64 => Some(Bound::Int(
            array.as_primitive::<Int64Type>().value(i).into(),
        )),
        DataType::Date32 => Some(Bound::Int(
            array.as_primitive::<Date32Type>().value(i).into(),
        )),
        DataType::Timestamp(_, _) => Some(Bound::Int(
            array
                .as_primitive::<TimestampMicrosecondType>()
                .value(i)
                .into(),
        )),
        DataType::Decimal128(_, _) => {
            Some(Bound::Int(array.as_primitive::<Decimal128Type>().value(i)))
        }
        DataType::Utf8 => {
            let v = array.as_string::<i32>().value(i);
            // Longer bounds may be truncated by the writer: not exact.
            (v.len() <= MAX_STRING_STAT).then(|| Bound::Text(v.to_owned()))
        }
        DataType::Dictionary(_, _) => {
            let plain = arrow_cast::cast(&array.slice(i, 1), &DataType::Utf8).ok()?;
            bound_at(plain.as_ref(), 0)
        }
        _ => None,
    }
}

#[derive(Debug, Clone, PartialEq, PartialOrd)]
enum Bound {
    Int(i128),
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
    /// The statistics of a file from its footer, whose schema is `schema` (the file's Arrow
    /// schema).
    pub fn from_parquet(
        metadata: &parquet::file::metadata::ParquetMetaData,
        schema: &arrow_schema::Schema,
    ) -> Self {
        use parquet::arrow::arrow_reader::statistics::StatisticsConverter;
        let groups = metadata.row_groups();
        let rows: u64 = groups
            .iter()
            .map(|g| u64::try_from(g.num_rows()).unwrap_or(0))
            .sum();
        let mut columns = Vec::with_capacity(schema.fields().len());
        for field in schema.fields() {
            let mut column = Column::default();
            let converter = StatisticsConverter::try_new(
                field.name(),
                schema,
                metadata.file_metadata().schema_descr(),
            )
            .ok();
            let nulls = converter
                .as_ref()
                .and_then(|c| c.row_group_null_counts(groups.iter()).ok());
            match &nulls {
                Some(n) if n.null_count() == 0 => column.nulls = n.values().iter().sum(),
                _ => column.known_nulls = false,
            }
            column.usable = has_bounds(field.data_type());
            if column.usable
                && let Some(converter) = &converter
            {
                let bounds = converter
                    .row_group_mins(groups.iter())
                    .ok()
                    .zip(converter.row_group_maxes(groups.iter()).ok());
                match (bounds, &nulls) {
                    (Some((mins, maxes)), Some(nulls)) => {
                        column.merge(&mins, &maxes, nulls, groups);
                    }
                    _ => column.usable = false,
                }
            }
            columns.push(column);
        }
        FileStats {
            rows,
            names: schema.fields().iter().map(|f| f.name().clone()).collect(),
            types: schema
                .fields()
                .iter()
                .map(|f| value_type(f.data_type()).clone())
                .collect(),
            columns,
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
            if !data_type.is_nested() && column.known_nulls {
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
        value_type(data_type),
        DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::Decimal128(_, _)
            | DataType::Date32
            | DataType::Timestamp(arrow_schema::TimeUnit::Microsecond, _)
            | DataType::Utf8
    )
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

    use arrow_array::{
        Decimal128Array, Float64Array, Int32Array, RecordBatch, StringArray,
        TimestampMicrosecondArray,
    };
    use arrow_schema::{Field, Schema, TimeUnit};
    use parquet::arrow::ArrowWriter;
    use parquet::file::properties::WriterProperties;

    #[test]
    fn stats_from_the_footer_are_exact_or_absent() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("i", DataType::Int32, true),
            Field::new("s", DataType::Utf8, true),
            Field::new("d", DataType::Decimal128(20, 2), false),
            Field::new(
                "t",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                false,
            ),
            Field::new("f", DataType::Float64, false),
            Field::new("long", DataType::Utf8, false),
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
                Arc::new(Float64Array::from(vec![f64::NAN, 1.0, 2.0])),
                Arc::new(StringArray::from(vec![
                    "x".repeat(40),
                    "y".into(),
                    "z".into(),
                ])),
            ],
        )
        .unwrap();
        let mut bytes = Vec::new();
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(2))
            .build();
        let mut writer =
            ArrowWriter::try_new(&mut bytes, Arc::clone(&schema), Some(props)).unwrap();
        writer.write(&batch).unwrap();
        let metadata = writer.close().unwrap();
        let stats = FileStats::from_parquet(&metadata, &schema);
        let json: serde_json::Value = serde_json::from_str(&stats.to_json()).unwrap();
        assert_eq!(json["numRecords"], 3);
        assert_eq!(json["minValues"]["i"], -7);
        assert_eq!(json["maxValues"]["i"], 3);
        assert_eq!(json["maxValues"]["s"], "é");
        assert_eq!(json["nullCount"]["i"], 1);
        assert_eq!(json["nullCount"]["s"], 1);
        assert_eq!(json["minValues"]["d"].to_string(), "-0.05");
        assert_eq!(json["maxValues"]["d"].to_string(), "123.45");
        assert_eq!(json["minValues"]["t"], "1970-01-01T00:00:00.000Z");
        assert_eq!(json["maxValues"]["t"], "1970-01-01T00:00:02.001Z");
        assert!(json["minValues"].get("f").is_none());
        assert!(json["minValues"].get("long").is_none());
    }
}

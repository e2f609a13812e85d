//! Column types of a Delta table: the row type's Arrow types mapped onto Delta's (a subset), the
//! table schema as Delta's JSON (`schemaString`), and the exact conversions both ways.
//!
//! | Arrow (row type) | Delta | in the data files |
//! |---|---|---|
//! | `Boolean` | `boolean` | same |
//! | `Int8`/`Int16`/`Int32`/`Int64` | `byte`/`short`/`integer`/`long` | same |
//! | `UInt8`/`UInt16`/`UInt32` | `short`/`integer`/`long` | widened (always fits) |
//! | `UInt64` | `long`, or `decimal(20,0)` (`u64_as_decimal`) | `long`: values above `i64::MAX` refused |
//! | `Float16`/`Float32`/`Float64` | `float`/`float`/`double` | `Float16` widened |
//! | `Utf8`/`LargeUtf8`/`Utf8View` | `string` | `Utf8` |
//! | unit enums, `#[soa(dictionary)]` (`Dictionary`) | `string` | dictionary-encoded strings |
//! | `Binary`/`LargeBinary`/`BinaryView`/`FixedSizeBinary` (`Uuid`) | `binary` | variable-size |
//! | `Date32`/`Date64` | `date` | `Date32` |
//! | `Timestamp` (any unit, with or without zone) | `timestamp` | µs UTC; finer digits refused |
//! | `Time32`/`Time64` | `long` | µs since midnight |
//! | `Duration` | `long` | count of the field's unit |
//! | `Decimal32/64/128` (≤ 38 digits) | `decimal(p,s)` | `Decimal128` |
//! | `List`/`LargeList`/`FixedSizeList` | `array` | `List` |
//! | `Struct`, `Map` | `struct`, `map` | same, children mapped |
//!
//! Refused when the store is created (an error naming `Type.field`): `Null`, intervals, unions,
//! run-end encoded arrays, `Decimal256` wider than 38 digits, and field names Delta cannot hold
//! without column mapping (` ,;{}()\n\t=`).

use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, RecordBatchOptions};
use arrow_schema::{DataType, Field, FieldRef, Fields, Schema, SchemaRef, TimeUnit};
use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::store::retype::convert_cast;

/// Characters Delta refuses in column names unless the table uses column mapping.
const INVALID_NAME_CHARS: &[char] = &[' ', ',', ';', '{', '}', '(', ')', '\n', '\t', '='];

/// The table's column types: the row type's schema, the schema of the data files (Delta types as
/// Arrow types) and the Delta schema JSON.
#[derive(Debug, Clone)]
pub(crate) struct TableTypes {
    pub row: SchemaRef,
    pub file: SchemaRef,
    /// `file` without the identity partition columns: what the data files hold.
    pub data_file: SchemaRef,
    pub schema_string: String,
}

impl TableTypes {
    /// Maps every column of `row`; the first column Delta cannot hold is an error naming it.
    pub fn new(row: &SchemaRef, type_name: &'static str, u64_as_decimal: bool) -> Result<Self> {
        let mut file_fields = Vec::with_capacity(row.fields().len());
        let mut json_fields = Vec::with_capacity(row.fields().len());
        for field in row.fields() {
            let (file_field, json_field) =
                map_field(field, u64_as_decimal).map_err(|reason| Error::UnsupportedType {
                    store: "DeltaStore",
                    type_name,
                    column: field.name().clone(),
                    data_type: field.data_type().to_string(),
                    reason,
                })?;
            file_fields.push(file_field);
            json_fields.push(json_field);
        }
        let schema_string = json!({"type": "struct", "fields": json_fields}).to_string();
        let file = Arc::new(Schema::new(file_fields).with_metadata(row.metadata().clone()));
        Ok(TableTypes {
            row: Arc::clone(row),
            data_file: Arc::clone(&file),
            file,
            schema_string,
        })
    }

    /// The table's types under a partition spec: the data files without the identity partition
    /// columns, and the table schema with a column per transform partition (`day` as `date`,
    /// `year` and `bucket` as `integer`, `month` and `hour` as `string`), which Delta readers
    /// fill from the partition values.
    pub fn with_partitions(mut self, spec: &crate::store::partition::PartitionSpec) -> Self {
        use crate::store::partition::Transform;
        self.data_file = spec.data_schema(&self.file);
        let extra: Vec<Value> = spec
            .fields
            .iter()
            .filter_map(|f| {
                let ty = match f.partition.transform() {
                    Transform::Identity => return None,
                    Transform::Day => "date",
                    Transform::Year | Transform::Bucket(_) => "integer",
                    _ => "string",
                };
                Some(json!({"name": f.partition.key(), "type": ty, "nullable": true, "metadata": {}}))
            })
            .collect();
        if !extra.is_empty()
            && let Ok(mut schema) = serde_json::from_str::<Value>(&self.schema_string)
            && let Some(fields) = schema.get_mut("fields").and_then(Value::as_array_mut)
        {
            fields.extend(extra);
            self.schema_string = schema.to_string();
        }
        self
    }

    /// A batch of the row type as the data files hold it (exact: a value the Delta type cannot
    /// hold is [`Error::OutOfRange`] naming the column).
    pub fn to_file(&self, batch: &RecordBatch, type_name: &'static str) -> Result<RecordBatch> {
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(batch.num_columns());
        for (column, field) in batch.columns().iter().zip(self.file.fields()) {
            let converted =
                convert_cast(column, field.data_type()).map_err(|reason| Error::OutOfRange {
                    type_name,
                    column: field.name().clone(),
                    reason: if column.data_type() == &DataType::UInt64 {
                        format!(
                            "{reason} (the column is a Delta `long`: u64 values above \
                             i64::MAX need a table created with `u64_as_decimal(true)`)"
                        )
                    } else {
                        reason
                    },
                })?;
            columns.push(converted);
        }
        let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
        RecordBatch::try_new_with_options(Arc::clone(&self.file), columns, &options)
            .map_err(|e| Error::arrow("converting a batch to the Delta column types", e))
    }

    /// A batch read from a data file (ours or another writer's) with the row type's column types
    /// again, for the columns it has (any order; a column the row type does not have is dropped).
    /// `location` names the file in errors.
    pub fn read_back(&self, batch: RecordBatch, location: &str) -> Result<RecordBatch> {
        let schema = batch.schema();
        let mut fields = Vec::with_capacity(schema.fields().len());
        let mut columns = Vec::with_capacity(schema.fields().len());
        for (field, column) in schema.fields().iter().zip(batch.columns()) {
            let Ok(row_field) = self.row.field_with_name(field.name()) else {
                continue;
            };
            let converted = convert_cast(column, row_field.data_type()).map_err(|reason| {
                Error::SchemaMismatch {
                    path: Some(location.into()),
                    reason: format!(
                        "column {}: {} does not read as {}: {reason}",
                        field.name(),
                        field.data_type(),
                        row_field.data_type()
                    ),
                }
            })?;
            fields.push(Arc::new(row_field.clone().with_nullable(
                row_field.is_nullable() || converted.null_count() > 0,
            )));
            columns.push(converted);
        }
        let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
        let schema = Schema::new(fields).with_metadata(schema.metadata().clone());
        RecordBatch::try_new_with_options(Arc::new(schema), columns, &options)
            .map_err(|e| Error::arrow(format!("reading {location}"), e))
    }
}

fn map_field(field: &FieldRef, wide: bool) -> std::result::Result<(FieldRef, Value), String> {
    let name = field.name();
    if name.is_empty() {
        return Err("Delta columns need a name".into());
    }
    if let Some(c) = name.chars().find(|c| INVALID_NAME_CHARS.contains(c)) {
        return Err(format!(
            "the column name {name:?} has {c:?}, which Delta does not allow in column names \
             (rename the field with #[soa(rename = ...)])"
        ));
    }
    let (data_type, json_type) = map_type(field.data_type(), wide)
        .map_err(|reason| format!("{reason} (in column {name:?})"))?;
    // An Arrow extension type (`arrow.uuid` over 16 bytes) does not describe the Delta column
    // (variable-size binary): readers reject the pair, so it stays on the row type only.
    let metadata = if &data_type == field.data_type() {
        field.metadata().clone()
    } else {
        field
            .metadata()
            .iter()
            .filter(|(k, _)| !k.starts_with("ARROW:extension:"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    let file_field =
        Arc::new(Field::new(name, data_type, field.is_nullable()).with_metadata(metadata));
    let json_field = json!({
        "name": name,
        "type": json_type,
        "nullable": field.is_nullable(),
        "metadata": {},
    });
    Ok((file_field, json_field))
}

fn map_child(field: &FieldRef, wide: bool) -> std::result::Result<(FieldRef, Value), String> {
    let (data_type, json_type) = map_type(field.data_type(), wide)?;
    Ok((
        Arc::new(Field::new(field.name(), data_type, field.is_nullable())),
        json_type,
    ))
}

/// The Arrow type of the data files and the Delta type of one column type.
fn map_type(data_type: &DataType, wide: bool) -> std::result::Result<(DataType, Value), String> {
    let same = |name: &str| Ok((data_type.clone(), Value::from(name)));
    let to = |t: DataType, name: &str| Ok((t, Value::from(name)));
    match data_type {
        DataType::Boolean => same("boolean"),
        DataType::Int8 => same("byte"),
        DataType::Int16 => same("short"),
        DataType::Int32 => same("integer"),
        DataType::Int64 => same("long"),
        DataType::UInt8 => to(DataType::Int16, "short"),
        DataType::UInt16 => to(DataType::Int32, "integer"),
        DataType::UInt32 => to(DataType::Int64, "long"),
        DataType::UInt64 if wide => to(DataType::Decimal128(20, 0), "decimal(20,0)"),
        DataType::UInt64 => to(DataType::Int64, "long"),
        DataType::Float16 | DataType::Float32 => to(DataType::Float32, "float"),
        DataType::Float64 => same("double"),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => to(DataType::Utf8, "string"),
        DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView
        | DataType::FixedSizeBinary(_) => to(DataType::Binary, "binary"),
        DataType::Date32 | DataType::Date64 => to(DataType::Date32, "date"),
        DataType::Timestamp(_, _) => to(
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            "timestamp",
        ),
        DataType::Time32(_) | DataType::Time64(_) | DataType::Duration(_) => {
            to(DataType::Int64, "long")
        }
        DataType::Decimal32(p, s) | DataType::Decimal64(p, s) => {
            let (p, s) = (*p, *s);
            decimal(p, s)
        }
        DataType::Decimal128(p, s) | DataType::Decimal256(p, s) => decimal(*p, *s),
        DataType::List(f)
        | DataType::LargeList(f)
        | DataType::FixedSizeList(f, _)
        | DataType::ListView(f)
        | DataType::LargeListView(f) => {
            let (child, element) = map_child(f, wide)?;
            let json = json!({
                "type": "array",
                "elementType": element,
                "containsNull": f.is_nullable(),
            });
            Ok((DataType::List(child), json))
        }
        DataType::Struct(fields) => {
            let mut children = Vec::with_capacity(fields.len());
            let mut json_fields = Vec::with_capacity(fields.len());
            for f in fields {
                let (child, json_field) = map_field(f, wide)?;
                children.push(child);
                json_fields.push(json_field);
            }
            Ok((
                DataType::Struct(Fields::from(children)),
                json!({"type": "struct", "fields": json_fields}),
            ))
        }
        DataType::Map(entries, sorted) => {
            let DataType::Struct(kv) = entries.data_type() else {
                return Err("a map whose entries are not a struct".into());
            };
            let (Some(key), Some(value)) = (kv.first(), kv.get(1)) else {
                return Err("a map without key and value fields".into());
            };
            let (key_field, key_json) = map_child(key, wide)?;
            let (value_field, value_json) = map_child(value, wide)?;
            // Parquet's standard map layout (`key_value` of `key`, `value`), which Delta readers
            // match by name.
            let key_field = Arc::new(Field::new("key", key_field.data_type().clone(), false));
            let value_field = Arc::new(Field::new(
                "value",
                value_field.data_type().clone(),
                value_field.is_nullable(),
            ));
            let entries = Field::new(
                "key_value",
                DataType::Struct(Fields::from(vec![key_field, value_field])),
                false,
            );
            let json = json!({
                "type": "map",
                "keyType": key_json,
                "valueType": value_json,
                "valueContainsNull": value.is_nullable(),
            });
            Ok((DataType::Map(Arc::new(entries), *sorted), json))
        }
        // The data files keep the dictionary (the Parquet column is a dictionary-encoded string
        // either way; only the embedded Arrow schema says so): nothing to convert on write or
        // read. Delta readers see the column's Delta type.
        DataType::Dictionary(key, value) => {
            let (value_type, json) = map_type(value, wide)?;
            Ok((
                DataType::Dictionary(key.clone(), Box::new(value_type)),
                json,
            ))
        }
        other => Err(format!("Delta has no type for Arrow {other}")),
    }
}

fn decimal(p: u8, s: i8) -> std::result::Result<(DataType, Value), String> {
    if p > 38 {
        return Err(format!(
            "decimal({p},{s}) has more than the 38 digits of Delta's widest decimal"
        ));
    }
    if s < 0 {
        return Err(format!(
            "decimal({p},{s}) has a negative scale, which Delta does not allow"
        ));
    }
    Ok((
        DataType::Decimal128(p, s),
        Value::from(format!("decimal({p},{s})")),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mapped_type_is_a_delta_type() {
        let row = Arc::new(Schema::new(vec![
            Field::new("a", DataType::UInt64, false),
            Field::new("b", DataType::UInt8, true),
            Field::new(
                "c",
                DataType::Dictionary(Box::new(DataType::Int8), Box::new(DataType::Utf8)),
                false,
            ),
            Field::new("d", DataType::Timestamp(TimeUnit::Nanosecond, None), false),
        ]));
        let types = TableTypes::new(&row, "T", true).unwrap();
        let schema: Value = serde_json::from_str(&types.schema_string).unwrap();
        let fields = schema["fields"].as_array().unwrap();
        let names: Vec<&str> = fields.iter().map(|f| f["type"].as_str().unwrap()).collect();
        assert_eq!(names, ["decimal(20,0)", "short", "string", "timestamp"]);
    }

    #[test]
    fn refused_types_name_the_column() {
        let row = Arc::new(Schema::new(vec![Field::new(
            "gap",
            DataType::Interval(arrow_schema::IntervalUnit::DayTime),
            false,
        )]));
        let e = TableTypes::new(&row, "T", false).unwrap_err().to_string();
        assert!(e.contains("T.gap"), "{e}");
        let row = Arc::new(Schema::new(vec![Field::new("a b", DataType::Int8, false)]));
        let e = TableTypes::new(&row, "T", false).unwrap_err().to_string();
        assert!(e.contains("Delta does not allow"), "{e}");
    }
}

//! Typed results: DuckDB's result types normalised to the target's where no value can change.

use super::*;

/// Converts the columns of `batch` whose type differs from the target field's where no value can
/// change. A conversion that fails (a value out of range) leaves the column as it is, so the
/// target's own check reports the field, and explains why in the returned notes.
pub(super) fn fit_batch(batch: RecordBatch, target: &Schema) -> Result<(RecordBatch, Vec<String>)> {
    let (schema, mut columns, rows) = batch.into_parts();
    let mut fields: Vec<FieldRef> = schema.fields().iter().cloned().collect();
    let mut notes = Vec::new();
    for (field, column) in fields.iter_mut().zip(columns.iter_mut()) {
        let Ok(expected) = target.field_with_name(field.name()) else {
            continue;
        };
        match fit_column(column, expected.data_type()) {
            Ok(None) => {}
            Ok(Some(converted)) => {
                *field = Arc::new(
                    field
                        .as_ref()
                        .clone()
                        .with_data_type(converted.data_type().clone()),
                );
                *column = converted;
            }
            Err(note) => notes.push(format!("column {:?}: {note}", field.name())),
        }
    }
    let options = RecordBatchOptions::new().with_row_count(Some(rows));
    let batch = RecordBatch::try_new_with_options(Arc::new(Schema::new(fields)), columns, &options)
        .map_err(|e| Error::arrow("normalising a query result", e))?;
    Ok((batch, notes))
}

/// Largest integer magnitude an `f64` represents exactly (2^53).
pub(super) const F64_EXACT: i64 = 1 << 53;

/// The column converted to `to` when the conversion is exact, `None` when no conversion applies
/// (the target's own reader decides), or why an applicable conversion failed.
pub(super) fn fit_column(column: &ArrayRef, to: &DataType) -> Result<Option<ArrayRef>, String> {
    let from = column.data_type();
    if from == to {
        return Ok(None);
    }
    let applies = match (from, to) {
        (f, t) if f.is_integer() && t.is_integer() => true,
        (
            DataType::Decimal32(_, 0)
            | DataType::Decimal64(_, 0)
            | DataType::Decimal128(_, 0)
            | DataType::Decimal256(_, 0),
            t,
        ) if t.is_integer() => true,
        (
            DataType::Decimal32(_, s)
            | DataType::Decimal64(_, s)
            | DataType::Decimal128(_, s)
            | DataType::Decimal256(_, s),
            t,
        ) if t.is_integer() && *s != 0 => {
            return Err(format!(
                "{from} has a fractional part and is not converted to {t} implicitly; CAST it in SQL"
            ));
        }
        (
            DataType::Decimal32(..)
            | DataType::Decimal64(..)
            | DataType::Decimal128(..)
            | DataType::Decimal256(..)
            | DataType::Float16
            | DataType::Float32,
            DataType::Float64,
        ) => true,
        (f, DataType::Float64) if f.is_integer() => {
            exact_in_f64(column)?;
            true
        }
        (DataType::Float64, t) if t.is_integer() || *t == DataType::Float32 => {
            return Err(format!(
                "{from} is not narrowed to {t} implicitly (it could lose precision); CAST it in SQL"
            ));
        }
        _ => false,
    };
    if !applies {
        return Ok(None);
    }
    let options = CastOptions {
        safe: false,
        ..CastOptions::default()
    };
    cast_with_options(column, to, &options)
        .map(Some)
        .map_err(|e| format!("converting {from} to {to}: {e}"))
}

/// Checks that every value of a 64-bit integer column is exactly an `f64`.
pub(super) fn exact_in_f64(column: &ArrayRef) -> Result<(), String> {
    let too_large = match column.data_type() {
        DataType::Int64 => column
            .as_primitive::<Int64Type>()
            .iter()
            .flatten()
            .find(|v| v.unsigned_abs() > F64_EXACT as u64)
            .map(|v| v.to_string()),
        DataType::UInt64 => column
            .as_primitive::<UInt64Type>()
            .iter()
            .flatten()
            .find(|v| *v > F64_EXACT as u64)
            .map(|v| v.to_string()),
        _ => None,
    };
    match too_large {
        Some(v) => Err(format!("{v} is not exactly representable as Float64")),
        None => Ok(()),
    }
}

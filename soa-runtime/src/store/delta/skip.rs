//! File skipping: which data files of a snapshot a predicate may match, from the `stats` of their
//! `add` actions (`minValues`, `maxValues`, `nullCount`, `numRecords`), evaluated with the same
//! rules as row-group pruning (`store::prune`).
//!
//! Only statistics this crate wrote are used (files with our `soa.crc32` tag): other writers
//! truncate string bounds and round timestamp bounds, which could skip a matching file. The
//! statistics hold Delta types (`u64` as `decimal(20,0)`, enums as strings); the predicate's
//! values are converted to them exactly, or the column is not used.

use std::io::Cursor;
use std::sync::Arc;

use arrow_array::{ArrayRef, UInt64Array};
use arrow_schema::{Field, Schema};
use serde_json::Value;

use super::state::DataFile;
use super::types::TableTypes;
use crate::predicate::Expr;
use crate::store::prune::{ColumnStats, may_match};

/// One flag per file: `false` when its statistics prove no row matches.
pub(crate) fn files_may_match(files: &[DataFile], expr: &Expr, types: &TableTypes) -> Vec<bool> {
    let parsed: Vec<Option<Value>> = files
        .iter()
        .map(|f| {
            f.crc32?;
            serde_json::from_str(f.stats.as_deref()?).ok()
        })
        .collect();
    may_match(expr, files.len(), &mut |column| {
        column_stats(&parsed, column, types)
    })
}

fn column_stats(parsed: &[Option<Value>], column: &str, types: &TableTypes) -> Option<ColumnStats> {
    let field = types.file.field_with_name(column).ok()?;
    if field.data_type().is_nested() {
        return None;
    }
    let bound = |key: &str| -> Option<ArrayRef> {
        let mut text = String::new();
        for stats in parsed {
            let value = stats
                .as_ref()
                .and_then(|s| s.get(key))
                .and_then(|m| m.get(column))
                .cloned()
                .unwrap_or(Value::Null);
            text.push_str(&serde_json::json!({ "v": value }).to_string());
            text.push('\n');
        }
        let schema = Arc::new(Schema::new(vec![Field::new(
            "v",
            field.data_type().clone(),
            true,
        )]));
        let mut reader = arrow_json::ReaderBuilder::new(schema)
            .with_batch_size(parsed.len().max(1))
            .build(Cursor::new(text.into_bytes()))
            .ok()?;
        let batch = reader.next()?.ok()?;
        (batch.num_rows() == parsed.len()).then(|| Arc::clone(batch.column(0)))
    };
    let counts = |get: &dyn Fn(&Value) -> Option<u64>| -> UInt64Array {
        parsed.iter().map(|s| s.as_ref().and_then(get)).collect()
    };
    if parsed.is_empty() {
        return None;
    }
    Some(ColumnStats {
        mins: bound("minValues")?,
        maxes: bound("maxValues")?,
        null_counts: Some(counts(&|s| s.get("nullCount")?.get(column)?.as_u64())),
        row_counts: Some(counts(&|s| s.get("numRecords")?.as_u64())),
    })
}

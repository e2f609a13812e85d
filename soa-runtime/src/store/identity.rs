//! File identity, one rule for every store and format: a file written by this crate names its
//! row type in the key-value metadata [`ROW_TYPE_KEY`] (Parquet footer, Arrow IPC schema
//! metadata). A file that names another row type is [`Error::SchemaMismatch`]; a file that names
//! none (pyarrow, polars, Spark, ...) is judged by its columns, as `from_record_batch` judges.

use std::path::Path;

use crate::error::{Error, Result};

/// Key of the metadata entry holding the Rust row type's name.
pub const ROW_TYPE_KEY: &str = "soa.rust_type";

/// The key earlier versions wrote into Arrow IPC files; read, never written.
const LEGACY_IPC_KEY: &str = "soa.type";

/// Checks the row type a file names (`written_for`, the value of [`ROW_TYPE_KEY`] or the legacy
/// IPC key) against `expected`.
pub(crate) fn check(path: &Path, written_for: Option<&str>, expected: &str) -> Result<()> {
    match written_for {
        Some(found) if found != expected => Err(Error::SchemaMismatch {
            path: Some(path.to_owned()),
            reason: format!("the file was written for type `{found}`, expected `{expected}`"),
        }),
        _ => Ok(()),
    }
}

/// The row type named in key-value metadata given as `(key, value)` pairs.
pub(crate) fn written_for<'a>(
    entries: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Option<&'a str> {
    entries
        .into_iter()
        .find(|(k, _)| *k == ROW_TYPE_KEY || *k == LEGACY_IPC_KEY)
        .map(|(_, v)| v)
}

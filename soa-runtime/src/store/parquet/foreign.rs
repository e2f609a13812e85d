//! Reading one Parquet file that any writer produced (pyarrow, polars, Spark, DuckDB, this
//! crate): the `PAR1` guard, the row-type check for files written by this crate, and
//! panic-guarded decoding.

use std::path::Path;

use arrow_array::RecordBatch;
use arrow_schema::Schema;
use bytes::Bytes;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};

use crate::convert::ToArrow;
use crate::error::{Error, Result};

use super::decode::{self, Columns};
use super::encode::{self, WriteSettings};
use super::fsio::check_magic;
use super::layout;
use super::options::{ParquetOptions, RUST_TYPE_KEY};
use crate::store::{durable, identity};

/// Rows per decoded batch.
const BATCH_ROWS: usize = 64 * 1024;

/// Decodes every batch of the Parquet file at `path`, with the file's own column types. A file
/// that this crate wrote for another row type than `type_name` is [`Error::SchemaMismatch`];
/// files without our metadata are taken as they are (their columns decide).
pub(crate) fn read_batches(
    path: &Path,
    type_name: &str,
    row_schema: &Schema,
) -> Result<Vec<RecordBatch>> {
    let bytes = Bytes::from(std::fs::read(path).map_err(|e| Error::io(path, e))?);
    check_magic(&bytes, path)?;
    let metadata = decode::guarded(path, || {
        ArrowReaderMetadata::load(&bytes, ArrowReaderOptions::new()).map_err(|source| {
            Error::Parquet {
                path: path.to_owned(),
                source,
            }
        })
    })?;
    let written_for = metadata
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .and_then(|kv| kv.iter().find(|kv| kv.key == RUST_TYPE_KEY))
        .and_then(|kv| kv.value.as_deref());
    identity::check(path, written_for, type_name)?;
    let reader = decode::batch_reader(
        bytes,
        metadata,
        path,
        BATCH_ROWS,
        Columns::All,
        decode::Pick::default(),
    )?;
    decode::all_batches(reader, path)?
        .into_iter()
        // Columns a store profile wrote in another form get the row type's types back.
        .map(|batch| layout::from_file(batch, row_schema, path))
        .collect()
}

/// Reads the Parquet file at `path` into a container: every batch converted as
/// `from_record_batch` converts it, errors in the context of the file.
pub(crate) fn read_container<C: ToArrow>(path: &Path) -> Result<C> {
    let mut out = C::default();
    for batch in read_batches(path, C::TYPE_NAME, &C::schema())? {
        let mut part = C::try_from_record_batch(batch).map_err(|e| Error::InFile {
            path: path.to_owned(),
            source: Box::new(e),
        })?;
        if out.is_empty() {
            out = part;
        } else {
            out.append(&mut part);
        }
    }
    Ok(out)
}

/// Writes `batch` as the Parquet file `path` with `options`, atomically: a temporary file next
/// to it, fsynced, renamed over `path`, directory fsynced. A crash leaves the old file or the new
/// one (and possibly a `.<name>.<pid>.<n>.soa.tmp` file).
pub(crate) fn write_atomic(
    path: &Path,
    batch: RecordBatch,
    options: &ParquetOptions,
    type_name: &'static str,
) -> Result<()> {
    let schema = batch.schema();
    let props = options.writer_properties(&schema, type_name)?;
    let file_schema = layout::file_schema(&schema, options.profile());
    durable::replace(path, |temp| {
        let settings = WriteSettings {
            schema: &schema,
            file_schema: &file_schema,
            type_name,
            props: &props,
            row_group_size: options.row_group_size,
            threads: options.threads,
        };
        encode::write_file(temp, settings, [Ok(batch)]).map(|_| ())
    })
}

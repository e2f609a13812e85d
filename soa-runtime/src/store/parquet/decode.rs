//! Reading committed files: size and checksum checks, the `PAR1` guard, the type check and
//! panic-guarded decoding.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use arrow_array::{ArrayRef, RecordBatch, RecordBatchOptions};
use arrow_schema::Schema;
use bytes::Bytes;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReader,
    ParquetRecordBatchReaderBuilder, RowSelection,
};
use parquet::errors::ParquetError;
use parquet::file::metadata::ParquetMetaData;
use parquet::file::reader::ChunkReader;

use crate::error::{Error, Result};
use crate::store::{guard, identity};

use super::fsio::{CountingFile, check_magic};
use super::manifest::StoredFile;
use super::options::RUST_TYPE_KEY;
use super::parallel::parallel;

/// A committed file opened for reading. The open handle pins the file's content: a later commit
/// that replaces or removes the name does not affect a reader holding it.
#[derive(Debug, Clone)]
pub(crate) struct OpenFile {
    pub path: PathBuf,
    pub entry: StoredFile,
    pub file: CountingFile,
}

/// Opens a file listed in the manifest and checks its size (cheap: one `fstat`). `staged` is the
/// file's staging name while a committed rename is pending: the file is looked for under the
/// staging name first (until the rename, the final name may still hold the file it replaces),
/// then under its name (the rename is atomic: once the staged name is gone, the final name has
/// the new content). `Ok(None)` if it is under neither name (a later commit removed it, or it
/// is lost).
pub(crate) fn open_listed(
    dir: &Path,
    entry: &StoredFile,
    staged: Option<&str>,
    counter: &Arc<AtomicU64>,
) -> Result<Option<OpenFile>> {
    let mut candidates = Vec::with_capacity(2);
    if let Some(staged) = staged {
        candidates.push(dir.join(staged));
    }
    candidates.push(dir.join(&entry.name));
    for path in candidates {
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io(path, e)),
        };
        let len = file.metadata().map_err(|e| Error::io(&path, e))?.len();
        if len != entry.size {
            return Err(Error::Corrupt {
                path,
                reason: format!(
                    "the file has {len} bytes, the manifest recorded {} (truncated or overwritten)",
                    entry.size
                ),
            });
        }
        return Ok(Some(OpenFile {
            path,
            entry: entry.clone(),
            file: CountingFile::new(Arc::new(file), len, Arc::clone(counter)),
        }));
    }
    Ok(None)
}

fn checksum_error(path: &Path, actual: u32, expected: u32) -> Error {
    Error::Corrupt {
        path: path.to_owned(),
        reason: format!(
            "CRC32 is {actual:08x}, the manifest recorded {expected:08x} (the bytes changed after the commit)"
        ),
    }
}

/// Reads the whole file into memory, verifying its CRC32 against the manifest if `verify`.
pub(crate) fn read_verified(file: &OpenFile, verify: bool) -> Result<Bytes> {
    let bytes = file.file.read_all(&file.path)?;
    if verify {
        let actual = crc32fast::hash(&bytes);
        if actual != file.entry.crc32 {
            return Err(checksum_error(&file.path, actual, file.entry.crc32));
        }
    }
    Ok(bytes)
}

/// Streams the file once to verify its CRC32 (used before reading it in place).
pub(crate) fn verify_in_place(file: &OpenFile) -> Result<()> {
    let actual = file.file.crc32(&file.path)?;
    if actual != file.entry.crc32 {
        return Err(checksum_error(&file.path, actual, file.entry.crc32));
    }
    Ok(())
}

/// Runs a decoding step, turning a panic inside the parquet/arrow decoders into
/// [`Error::Corrupt`] naming the file. (With `panic = "abort"` the process aborts instead.)
pub(crate) fn guarded<R>(path: &Path, f: impl FnOnce() -> Result<R>) -> Result<R> {
    guard::decoding(path, "Parquet", f)
}

fn parquet_error(path: &Path) -> impl Fn(ParquetError) -> Error + '_ {
    move |source| Error::Parquet {
        path: path.to_owned(),
        source,
    }
}

/// Checks the `soa.rust_type` key of a file's metadata.
pub(crate) fn check_type(metadata: &ParquetMetaData, path: &Path, expected: &str) -> Result<()> {
    let found = metadata
        .file_metadata()
        .key_value_metadata()
        .and_then(|kv| kv.iter().find(|kv| kv.key == RUST_TYPE_KEY))
        .and_then(|kv| kv.value.as_deref());
    identity::check(path, found, expected)
}

/// Parses the footer of a file after the cheap guard, and checks the row type.
pub(crate) fn read_metadata<R: ChunkReader + 'static>(
    reader: &R,
    path: &Path,
    type_name: &str,
) -> Result<ArrowReaderMetadata> {
    check_magic(reader, path)?;
    guarded(path, || {
        let metadata = ArrowReaderMetadata::load(reader, ArrowReaderOptions::new())
            .map_err(parquet_error(path))?;
        check_type(metadata.metadata(), path, type_name)?;
        let rows = metadata.metadata().file_metadata().num_rows();
        if rows < 0 {
            return Err(Error::Corrupt {
                path: path.to_owned(),
                reason: format!("negative row count {rows} in the footer"),
            });
        }
        Ok(metadata)
    })
}

/// Which rows of a file to decode: some row groups (`None`: all) and, within them, a page-level
/// row selection (`None`: every row).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Pick<'a> {
    pub groups: Option<&'a [usize]>,
    pub selection: Option<&'a RowSelection>,
}

impl Pick<'_> {
    /// Rows picked out of a file of `metadata`.
    pub fn rows(&self, metadata: &ArrowReaderMetadata) -> usize {
        if let Some(selection) = self.selection {
            return selection.row_count();
        }
        match self.groups {
            None => usize::try_from(metadata.metadata().file_metadata().num_rows()).unwrap_or(0),
            Some(groups) => groups
                .iter()
                .filter_map(|g| metadata.metadata().row_groups().get(*g))
                .map(|g| usize::try_from(g.num_rows()).unwrap_or(0))
                .sum(),
        }
    }
}

/// Parses the footer and the page index (column and offset indexes, if the file has them)
/// after the cheap guard, and checks the row type.
pub(crate) fn read_metadata_with_page_index<R: ChunkReader + 'static>(
    reader: &R,
    path: &Path,
    type_name: &str,
) -> Result<ArrowReaderMetadata> {
    check_magic(reader, path)?;
    guarded(path, || {
        let options = ArrowReaderOptions::new()
            .with_page_index_policy(parquet::file::metadata::PageIndexPolicy::Optional);
        let metadata = ArrowReaderMetadata::load(reader, options).map_err(parquet_error(path))?;
        check_type(metadata.metadata(), path, type_name)?;
        Ok(metadata)
    })
}

/// Which columns to decode.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Columns<'a> {
    All,
    /// Top-level columns by name (already checked against the row type).
    Named(&'a [String]),
}

/// Builds a batch reader over `reader` with already parsed metadata.
pub(crate) fn batch_reader<R: ChunkReader + 'static>(
    reader: R,
    metadata: ArrowReaderMetadata,
    path: &Path,
    batch_size: usize,
    columns: Columns<'_>,
    pick: Pick<'_>,
) -> Result<ParquetRecordBatchReader> {
    guarded(path, || {
        let mut builder = ParquetRecordBatchReaderBuilder::new_with_metadata(reader, metadata)
            .with_batch_size(batch_size.max(1));
        if let Some(groups) = pick.groups {
            builder = builder.with_row_groups(groups.to_vec());
        }
        if let Some(selection) = pick.selection {
            builder = builder.with_row_selection(selection.clone());
        }
        if let Columns::Named(names) = columns {
            let schema = builder.schema().clone();
            let mut roots = Vec::with_capacity(names.len());
            for name in names {
                let index = schema.index_of(name).map_err(|_| Error::SchemaMismatch {
                    path: Some(path.to_owned()),
                    reason: format!("the file has no column {name:?}"),
                })?;
                roots.push(index);
            }
            let mask = ProjectionMask::roots(builder.parquet_schema(), roots);
            builder = builder.with_projection(mask);
        }
        builder.build().map_err(parquet_error(path))
    })
}

/// The next batch of a reader, panic-guarded.
pub(crate) fn next_batch(
    reader: &mut ParquetRecordBatchReader,
    path: &Path,
) -> Result<Option<RecordBatch>> {
    guarded(path, || {
        reader
            .next()
            .transpose()
            .map_err(|e| Error::arrow(format!("decoding {}", path.display()), e))
    })
}

/// Decodes every batch of a reader.
pub(crate) fn all_batches(
    mut reader: ParquetRecordBatchReader,
    path: &Path,
) -> Result<Vec<RecordBatch>> {
    let mut out = Vec::new();
    while let Some(batch) = next_batch(&mut reader, path)? {
        out.push(batch);
    }
    Ok(out)
}

/// Decodes the named top-level columns of a file, one column per job on up to `threads`
/// threads, each job with its own reader over the shared bytes (projection pushdown: the other
/// column chunks are not touched). Returns batches of at most `batch_size` rows whose columns are
/// in `names` order, with the file's field types. Every job reads the same row ranges, so the
/// i-th arrays of all columns line up.
pub(crate) fn decode_columns<R>(
    reader: &R,
    metadata: &ArrowReaderMetadata,
    path: &Path,
    names: &[String],
    batch_size: usize,
    threads: usize,
    pick: Pick<'_>,
) -> Result<Vec<RecordBatch>>
where
    R: ChunkReader + Clone + 'static,
{
    let file_schema = metadata.schema();
    let mut fields = Vec::with_capacity(names.len());
    let mut roots = Vec::with_capacity(names.len());
    for name in names {
        let index = file_schema
            .index_of(name)
            .map_err(|_| Error::SchemaMismatch {
                path: Some(path.to_owned()),
                reason: format!("the file has no column {name:?}"),
            })?;
        roots.push(index);
        fields.push(file_schema.field(index).clone());
    }
    let schema = Arc::new(Schema::new(fields));
    let rows = pick.rows(metadata);
    if names.is_empty() {
        let options = RecordBatchOptions::new().with_row_count(Some(rows));
        let batch = RecordBatch::try_new_with_options(schema, Vec::new(), &options)
            .map_err(|e| Error::arrow(format!("reading {}", path.display()), e))?;
        return Ok(vec![batch]);
    }

    // Cost of a column: its uncompressed bytes over all row groups.
    let descr = metadata.parquet_schema();
    let mut costs = vec![0usize; names.len()];
    for row_group in metadata.metadata().row_groups() {
        for (leaf, chunk) in row_group.columns().iter().enumerate() {
            let root = descr.get_column_root_idx(leaf);
            if let Some(position) = roots.iter().position(|r| *r == root)
                && let Some(cost) = costs.get_mut(position)
            {
                *cost += usize::try_from(chunk.uncompressed_size()).unwrap_or(0);
            }
        }
    }
    let jobs: Vec<(&String, usize)> = names.iter().zip(costs).collect();
    let columns: Vec<Vec<ArrayRef>> = parallel(jobs, threads, |name| {
        let reader = batch_reader(
            reader.clone(),
            metadata.clone(),
            path,
            batch_size,
            Columns::Named(std::slice::from_ref(name)),
            pick,
        )?;
        let batches = all_batches(reader, path)?;
        batches
            .into_iter()
            .map(|b| {
                b.columns().first().cloned().ok_or_else(|| Error::Corrupt {
                    path: path.to_owned(),
                    reason: format!("column {name:?} decoded to nothing"),
                })
            })
            .collect()
    })?;

    let count = columns.first().map_or(0, Vec::len);
    if columns.iter().any(|c| c.len() != count) {
        return Err(Error::Corrupt {
            path: path.to_owned(),
            reason: "columns decoded into different numbers of batches".into(),
        });
    }
    let mut columns: Vec<std::vec::IntoIter<ArrayRef>> =
        columns.into_iter().map(Vec::into_iter).collect();
    let mut batches = Vec::with_capacity(count);
    for _ in 0..count {
        let arrays: Vec<ArrayRef> = columns.iter_mut().filter_map(Iterator::next).collect();
        let batch = RecordBatch::try_new(Arc::clone(&schema), arrays).map_err(|e| {
            Error::arrow(format!("assembling the columns of {}", path.display()), e)
        })?;
        batches.push(batch);
    }
    Ok(batches)
}

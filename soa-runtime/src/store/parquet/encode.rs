//! Writing one Parquet file, encoding the columns of each row group on several threads.
//!
//! `ArrowWriter` encodes column after column on one thread. Here the file is set up by
//! `ArrowWriter` (so the `ARROW:schema` and our key-value metadata are written exactly as it
//! does), then [`ArrowWriter::into_serialized_writer`] hands over the row-group plumbing: for each
//! row group we create one [`ArrowColumnWriter`] per leaf column, split the top-level columns into
//! `threads` groups of similar size (largest first onto the least loaded thread), compute leaves,
//! encode and compress each group on its own thread, close the chunks (also in parallel) and append
//! them to the row group in schema order. When a batch already in memory holds two or more whole
//! row groups, those go one to a thread instead (each thread encodes every column of its group;
//! the groups are appended in order), which splits the work evenly where a split by columns
//! cannot. Each column chunk is encoded exactly as `ArrowWriter` encodes it with the same
//! properties; only the work is spread over threads.

use std::collections::HashSet;
use std::io::Write;
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::{
    ArrowColumnChunk, ArrowColumnWriter, ArrowRowGroupWriterFactory, ArrowWriterOptions,
    compute_leaves,
};
use parquet::errors::ParquetError;
use parquet::file::metadata::{KeyValue, ParquetMetaData};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::ColumnPath;

use crate::error::{Error, Result};

use super::fsio::{CrcWriter, Tail};
use super::layout;
use super::parallel::parallel;

/// What [`write_file`] wrote.
#[derive(Debug)]
pub(crate) struct Written {
    pub size: u64,
    pub crc32: u32,
    /// Where the checksummed data blocks end, and the CRC32 of the rest (see `CrcWriter`).
    pub tail: Option<Tail>,
    pub rows: u64,
    pub column_bytes: Vec<u64>,
    /// The footer written (row groups, column statistics).
    #[cfg_attr(not(feature = "delta"), allow(dead_code))]
    pub metadata: ParquetMetaData,
}

/// Settings of one file write.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WriteSettings<'a> {
    /// The row type's schema (of the batches written).
    pub schema: &'a SchemaRef,
    /// The schema of the file (`layout::file_schema` of `schema`).
    pub file_schema: &'a SchemaRef,
    /// The row type's name (for errors naming `Type.field`).
    pub type_name: &'static str,
    pub props: &'a WriterProperties,
    pub row_group_size: usize,
    pub threads: usize,
}

/// Creates `path` (it must not exist), writes `batches` into it as Parquet, fsyncs it and
/// returns its size, CRC32, row count and per-column compressed sizes.
pub(crate) fn write_file<I>(path: &Path, settings: WriteSettings<'_>, batches: I) -> Result<Written>
where
    I: IntoIterator<Item = Result<RecordBatch>>,
{
    let (metadata, (size, crc32, tail)) = write_with(settings, batches, |settings, batches| {
        let mut writer = CrcWriter::create_new(path)?;
        let metadata = encode(&mut writer, path, settings, batches)?;
        Ok((metadata, writer.finish(path)?))
    })?;
    let mut written = written(metadata, settings.schema, size, crc32);
    written.tail = tail;
    Ok(written)
}

/// Like [`write_file`], into memory (for object stores): the file's bytes and what was written.
/// `path` names the file in errors.
#[cfg(feature = "delta")]
pub(crate) fn write_bytes<I>(
    path: &Path,
    settings: WriteSettings<'_>,
    batches: I,
) -> Result<(Vec<u8>, Written)>
where
    I: IntoIterator<Item = Result<RecordBatch>>,
{
    let (metadata, bytes) = write_with(settings, batches, |settings, batches| {
        let mut bytes = Vec::new();
        let metadata = encode(&mut bytes, path, settings, batches)?;
        Ok((metadata, bytes))
    })?;
    let size = bytes.len() as u64;
    let crc32 = crc32fast::hash(&bytes);
    let written = written(metadata, settings.schema, size, crc32);
    Ok((bytes, written))
}

/// Settles the writer properties for the batches (see `all_distinct_sample`), then runs `write`.
fn write_with<I, R>(
    settings: WriteSettings<'_>,
    batches: I,
    write: impl FnOnce(
        WriteSettings<'_>,
        &mut dyn Iterator<Item = Result<RecordBatch>>,
    ) -> Result<(ParquetMetaData, R)>,
) -> Result<(ParquetMetaData, R)>
where
    I: IntoIterator<Item = Result<RecordBatch>>,
{
    let mut batches = batches.into_iter();
    let first = batches.next();
    // Columns that would overflow a dictionary go without one (see `all_distinct_sample`).
    let mut props = None;
    if let Some(Ok(batch)) = &first {
        for (field, column) in settings.schema.fields().iter().zip(batch.columns()) {
            let path = ColumnPath::new(vec![field.name().clone()]);
            if settings.props.dictionary_enabled(&path) && all_distinct_sample(column.as_ref()) {
                let builder = props
                    .take()
                    .unwrap_or_else(|| settings.props.clone())
                    .into_builder();
                props = Some(builder.set_column_dictionary_enabled(path, false).build());
            }
        }
    }
    let settings = WriteSettings {
        props: props.as_ref().unwrap_or(settings.props),
        ..settings
    };
    let mut all = first.into_iter().chain(batches);
    write(settings, &mut all)
}

fn written(metadata: ParquetMetaData, schema: &SchemaRef, size: u64, crc32: u32) -> Written {
    let mut column_bytes = vec![0u64; schema.fields().len()];
    let mut rows = 0u64;
    for row_group in metadata.row_groups() {
        rows += u64::try_from(row_group.num_rows()).unwrap_or(0);
        for column in row_group.columns() {
            let root = column.column_path().parts().first();
            if let Some(index) = root.and_then(|r| schema.index_of(r).ok())
                && let Some(slot) = column_bytes.get_mut(index)
            {
                *slot += u64::try_from(column.compressed_size()).unwrap_or(0);
            }
        }
    }
    Written {
        size,
        crc32,
        tail: None,
        rows,
        column_bytes,
        metadata,
    }
}

fn encode<W, I>(
    sink: W,
    path: &Path,
    settings: WriteSettings<'_>,
    batches: I,
) -> Result<ParquetMetaData>
where
    W: Sink,
    I: IntoIterator<Item = Result<RecordBatch>>,
{
    let pq = |source: ParquetError| parquet_error(path, source);
    let WriteSettings {
        file_schema: schema,
        type_name,
        props,
        row_group_size,
        threads,
        ..
    } = settings;
    let options = ArrowWriterOptions::new().with_properties(props.clone());
    let writer = ArrowWriter::try_new_with_options(sink, schema.clone(), options).map_err(pq)?;
    let (mut file_writer, factory) = writer.into_serialized_writer().map_err(pq)?;

    // Number of leaf columns under each top-level column (more than one for nested types).
    let mut leaves_per_root = vec![0usize; schema.fields().len()];
    let descr = file_writer.schema_descr();
    for leaf in 0..descr.num_columns() {
        if let Some(n) = leaves_per_root.get_mut(descr.get_column_root_idx(leaf)) {
            *n += 1;
        }
    }

    let mut group: Option<Vec<ArrowColumnWriter>> = None;
    let mut group_rows = 0usize;
    let mut row_group_index = 0usize;
    let mut batches = batches.into_iter().peekable();
    while let Some(batch) = batches.next() {
        let batch = batch?;
        // The last batch's rows end the file: its last, shorter group is complete too.
        let last = batches.peek().is_none();
        if batch.num_columns() != schema.fields().len() {
            return Err(Error::SchemaMismatch {
                path: Some(path.to_owned()),
                reason: format!(
                    "a batch has {} columns, the schema {}",
                    batch.num_columns(),
                    schema.fields().len()
                ),
            });
        }
        // Columns Parquet cannot hold as they are (timestamps in seconds; under the Spark
        // profile nanoseconds and times of day) in the file's form, exactly or not at all.
        let batch = layout::to_file(batch, schema, type_name)?;
        let mut offset = 0usize;
        while offset < batch.num_rows() {
            // Whole row groups already in memory go one to a thread: each thread encodes every
            // column of its group, so the threads get equal work (split by columns, the string
            // columns dominate). Measured at 10M orders: 1.59-1.64 s by columns, 1.19-1.28 s for
            // two halves at once.
            let rest = batch.num_rows() - offset;
            let complete = if last {
                rest.div_ceil(row_group_size)
            } else {
                rest / row_group_size
            };
            if group.is_none() && threads > 1 && complete >= 2 {
                let count = complete.min(threads);
                let rows = (count * row_group_size).min(rest);
                encode_row_groups(
                    &mut file_writer,
                    &factory,
                    row_group_index,
                    &batch.slice(offset, rows),
                    (&leaves_per_root, schema, row_group_size, threads),
                    path,
                )?;
                row_group_index += count;
                offset += rows;
                continue;
            }
            let writers = match &mut group {
                Some(writers) => writers,
                None => group.insert(factory.create_column_writers(row_group_index).map_err(pq)?),
            };
            let take = (row_group_size - group_rows).min(batch.num_rows() - offset);
            let slice = batch.slice(offset, take);
            encode_columns(writers, &leaves_per_root, schema, &slice, threads, path)?;
            group_rows += take;
            offset += take;
            if group_rows >= row_group_size
                && let Some(writers) = group.take()
            {
                flush_row_group(&mut file_writer, writers, threads, path)?;
                row_group_index += 1;
                group_rows = 0;
            }
        }
    }
    if let Some(writers) = group.take()
        && group_rows > 0
    {
        flush_row_group(&mut file_writer, writers, threads, path)?;
    }
    // Every data page is written: their block checksums go into the footer.
    file_writer.flush().map_err(|e| Error::io(path, e))?;
    if let Some(blocks) = file_writer.inner_mut().seal() {
        file_writer.append_key_value_metadata(KeyValue::new(BLOCK_CRC32_KEY.to_owned(), blocks));
    }
    file_writer.finish().map_err(pq)
}

/// Footer key of the CRC32 per block of the data pages: `<block size> <crc><crc>...` (8 hex
/// digits each). With the CRC32 of the file's tail (page index and footer) in the manifest, a
/// read that needs a few pages checks only the blocks it reads.
pub(crate) const BLOCK_CRC32_KEY: &str = "soa.block_crc32";

/// Where a file is encoded: a plain sink, or one that checksums blocks ([`CrcWriter`]).
pub(crate) trait Sink: Write + Send {
    /// Called once the data pages are written: the `soa.block_crc32` text, if checksummed.
    fn seal(&mut self) -> Option<String> {
        None
    }
}

impl Sink for &mut Vec<u8> {}

impl Sink for &mut CrcWriter {
    fn seal(&mut self) -> Option<String> {
        Some(CrcWriter::seal(self))
    }
}

/// Rows a batch needs before [`all_distinct_sample`] judges a column.
const MIN_ROWS_FOR_SAMPLING: usize = 16 * 1024;
/// Values sampled per column.
const SAMPLES: usize = 1024;

/// `true` if `SAMPLES` evenly spaced values of a primitive, string or binary column are all
/// distinct. Then the column has (with high probability) far more distinct values than a
/// dictionary page holds (1 MiB), so parquet would build a dictionary, overflow it and fall back
/// to plain or delta encoding anyway: skipping the dictionary saves the hashing and usually
/// bytes (sequential ids and timestamps delta-encode to a few bits). With `D` distinct values,
/// 1024 samples collide with probability `1 - exp(-1024²/2D)`: above 99 % for `D` = 100 000.
fn all_distinct_sample(array: &dyn Array) -> bool {
    let len = array.len();
    if len < MIN_ROWS_FOR_SAMPLING {
        return false;
    }
    let data = array.to_data();
    let mut seen: HashSet<&[u8]> = HashSet::with_capacity(SAMPLES);
    let mut sampled = 0usize;
    for k in 0..SAMPLES {
        let i = k * len / SAMPLES;
        if array.is_null(i) {
            continue;
        }
        let value: Option<&[u8]> = match array.data_type() {
            DataType::Utf8 => Some(array.as_string::<i32>().value(i).as_bytes()),
            DataType::LargeUtf8 => Some(array.as_string::<i64>().value(i).as_bytes()),
            DataType::Binary => Some(array.as_binary::<i32>().value(i)),
            DataType::LargeBinary => Some(array.as_binary::<i64>().value(i)),
            dt if dt.is_primitive() => dt.primitive_width().and_then(|width| {
                let start = (data.offset() + i) * width;
                data.buffers().first()?.as_slice().get(start..start + width)
            }),
            _ => None,
        };
        let Some(value) = value else { return false };
        sampled += 1;
        if !seen.insert(value) {
            return false;
        }
    }
    sampled >= SAMPLES / 4
}

/// Encodes the columns of `batch` into the row group's column writers, one group of top-level
/// columns per thread.
fn encode_columns(
    writers: &mut [ArrowColumnWriter],
    leaves_per_root: &[usize],
    schema: &SchemaRef,
    batch: &RecordBatch,
    threads: usize,
    path: &Path,
) -> Result<()> {
    let mut jobs = Vec::with_capacity(batch.num_columns());
    let mut rest = writers;
    for ((field, column), &n) in schema
        .fields()
        .iter()
        .zip(batch.columns())
        .zip(leaves_per_root)
    {
        let Some((mine, tail)) = rest.split_at_mut_checked(n) else {
            return Err(Error::Task("column writers do not match the schema".into()));
        };
        rest = tail;
        jobs.push(((mine, field, column), column.get_array_memory_size()));
    }
    parallel(jobs, threads, |(writers, field, column)| {
        let pq = |source: ParquetError| parquet_error(path, source);
        let leaves = compute_leaves(field, column).map_err(pq)?;
        for (writer, leaf) in writers.iter_mut().zip(&leaves) {
            writer.write(leaf).map_err(pq)?;
        }
        Ok(())
    })?;
    Ok(())
}

/// Encodes `batch` as row groups of `row_group_size` rows (the last may be shorter), numbered
/// from `first`: each group on its own thread (all of its columns, then closed), then appended
/// to the file in order.
fn encode_row_groups<W: Write + Send>(
    file_writer: &mut SerializedFileWriter<W>,
    factory: &ArrowRowGroupWriterFactory,
    first: usize,
    batch: &RecordBatch,
    (leaves_per_root, schema, row_group_size, threads): (&[usize], &SchemaRef, usize, usize),
    path: &Path,
) -> Result<()> {
    let pq = |source: ParquetError| parquet_error(path, source);
    let mut jobs = Vec::new();
    let mut start = 0;
    while start < batch.num_rows() {
        let len = row_group_size.min(batch.num_rows() - start);
        let writers = factory
            .create_column_writers(first + jobs.len())
            .map_err(pq)?;
        jobs.push(((writers, batch.slice(start, len)), len));
        start += len;
    }
    let groups = parallel(jobs, threads, |(mut writers, slice)| {
        encode_columns(&mut writers, leaves_per_root, schema, &slice, 1, path)?;
        writers
            .into_iter()
            .map(|w| w.close().map_err(pq))
            .collect::<Result<Vec<_>>>()
    })?;
    for chunks in groups {
        append_row_group(file_writer, chunks, path)?;
    }
    Ok(())
}

/// Appends closed column chunks to a new row group, in schema order.
fn append_row_group<W: Write + Send>(
    file_writer: &mut SerializedFileWriter<W>,
    chunks: Vec<ArrowColumnChunk>,
    path: &Path,
) -> Result<()> {
    let pq = |source: ParquetError| parquet_error(path, source);
    let mut row_group = file_writer.next_row_group().map_err(pq)?;
    for chunk in chunks {
        chunk.append_to_row_group(&mut row_group).map_err(pq)?;
    }
    row_group.close().map_err(pq)?;
    Ok(())
}

/// Closes the column writers (in parallel: closing compresses the last pages and the
/// dictionary) and appends the chunks to a new row group in schema order.
fn flush_row_group<W: Write + Send>(
    file_writer: &mut SerializedFileWriter<W>,
    writers: Vec<ArrowColumnWriter>,
    threads: usize,
    path: &Path,
) -> Result<()> {
    let pq = |source: ParquetError| parquet_error(path, source);
    let jobs = writers
        .into_iter()
        .map(|w| {
            let cost = w.memory_size();
            (w, cost)
        })
        .collect();
    let chunks = parallel(jobs, threads, |w| w.close().map_err(pq))?;
    append_row_group(file_writer, chunks, path)
}

/// A Parquet error on `path`; an I/O failure underneath (disk full, permission denied) becomes
/// [`Error::Io`] so callers can match on its kind.
fn parquet_error(path: &Path, source: ParquetError) -> Error {
    match source {
        ParquetError::External(inner) => match inner.downcast::<std::io::Error>() {
            Ok(io) => Error::io(path, *io),
            Err(other) => Error::Parquet {
                path: path.to_owned(),
                source: ParquetError::External(other),
            },
        },
        other => Error::Parquet {
            path: path.to_owned(),
            source: other,
        },
    }
}

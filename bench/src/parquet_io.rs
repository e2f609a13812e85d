//! Raw arrow-rs 60 Parquet baselines: `ArrowWriter` (+ fsync) and `ParquetRecordBatchReader`.

use std::fs::File;
use std::path::Path;

use arrow_array::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::ParquetMetaDataReader;
use parquet::file::properties::WriterProperties;

/// `WriterProperties::default()` (arrow-rs defaults: no compression, dictionary on, 1M-row groups).
#[must_use]
pub fn default_props() -> WriterProperties {
    WriterProperties::default()
}

/// ZSTD level 1.
///
/// # Panics
/// Never (level 1 is valid).
#[must_use]
pub fn zstd1_props() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(1).expect("level 1")))
        .build()
}

/// Snappy.
#[must_use]
pub fn snappy_props() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build()
}

/// Writes `batches` with `ArrowWriter`, closes and fsyncs the file. Returns the file size.
///
/// # Panics
/// On an I/O or Parquet error.
pub fn write(path: &Path, batches: &[RecordBatch], props: WriterProperties) -> u64 {
    let file = File::create(path).expect("create");
    let mut writer =
        ArrowWriter::try_new(file, batches[0].schema(), Some(props)).expect("ArrowWriter");
    for b in batches {
        writer.write(b).expect("write");
    }
    let file = writer.into_inner().expect("close");
    file.sync_all().expect("fsync");
    file.metadata().expect("metadata").len()
}

/// Reads the whole file into record batches (default reader options, batch size 1024).
///
/// # Panics
/// On an I/O or Parquet error.
#[must_use]
pub fn read(path: &Path, batch_size: Option<usize>) -> Vec<RecordBatch> {
    let file = File::open(path).expect("open");
    let mut builder = ParquetRecordBatchReaderBuilder::try_new(file).expect("reader");
    if let Some(size) = batch_size {
        builder = builder.with_batch_size(size);
    }
    builder
        .build()
        .expect("build")
        .map(|b| b.expect("batch"))
        .collect()
}

/// Row count from the footer only.
///
/// # Panics
/// On an I/O or Parquet error.
#[must_use]
pub fn count(path: &Path) -> i64 {
    let file = File::open(path).expect("open");
    let meta = ParquetMetaDataReader::new()
        .parse_and_finish(&file)
        .expect("footer");
    meta.file_metadata().num_rows()
}

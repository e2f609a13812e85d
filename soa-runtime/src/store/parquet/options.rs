//! Options of the Parquet store and their translation into parquet `WriterProperties`.

use std::fmt;

use arrow_schema::SchemaRef;
use parquet::arrow::ArrowSchemaConverter;
use parquet::basic::{BrotliLevel, Compression, GzipLevel, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterVersion};

use crate::error::{Error, Result};

/// Metadata key holding the Rust row type a file was written for.
pub const RUST_TYPE_KEY: &str = crate::store::identity::ROW_TYPE_KEY;
/// Metadata key holding the version of `soa-runtime` that wrote a file.
pub const VERSION_KEY: &str = "soa.version";

/// A Parquet compression codec (with its level where the codec has one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Codec {
    /// No compression.
    Uncompressed,
    /// Snappy.
    Snappy,
    /// Gzip (deflate) at a level in `0..=9`.
    Gzip(u32),
    /// LZ4 raw block format (the non-deprecated LZ4 of Parquet).
    Lz4Raw,
    /// Brotli at a level in `0..=11`.
    Brotli(u32),
    /// Zstandard at a level in `-131072..=22` (negative levels are the fast modes). `Zstd(1)` is
    /// the store's default.
    Zstd(i32),
}

impl Codec {
    /// One codec of each kind at a typical level, for comparisons (the demo's table).
    pub const ALL: &'static [Codec] = &[
        Codec::Uncompressed,
        Codec::Snappy,
        Codec::Lz4Raw,
        Codec::Zstd(1),
        Codec::Zstd(3),
        Codec::Gzip(6),
        Codec::Brotli(1),
    ];

    /// The parquet compression, checking the level.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] when the level is out of the codec's range.
    pub fn to_parquet(self) -> Result<Compression> {
        let bad = |range: &str| Error::InvalidOption {
            option: "compression",
            reason: format!("{self} is out of range: levels are {range}"),
        };
        Ok(match self {
            Codec::Uncompressed => Compression::UNCOMPRESSED,
            Codec::Snappy => Compression::SNAPPY,
            Codec::Lz4Raw => Compression::LZ4_RAW,
            Codec::Gzip(level) => {
                Compression::GZIP(GzipLevel::try_new(level).map_err(|_| bad("0..=9"))?)
            }
            Codec::Brotli(level) => {
                Compression::BROTLI(BrotliLevel::try_new(level).map_err(|_| bad("0..=11"))?)
            }
            Codec::Zstd(level) => {
                Compression::ZSTD(ZstdLevel::try_new(level).map_err(|_| bad("-131072..=22"))?)
            }
        })
    }
}

impl fmt::Display for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Codec::Uncompressed => f.write_str("uncompressed"),
            Codec::Snappy => f.write_str("snappy"),
            Codec::Lz4Raw => f.write_str("lz4_raw"),
            Codec::Gzip(l) => write!(f, "gzip({l})"),
            Codec::Brotli(l) => write!(f, "brotli({l})"),
            Codec::Zstd(l) => write!(f, "zstd({l})"),
        }
    }
}

/// How much min/max/null-count statistics a file carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Statistics {
    /// None.
    None,
    /// One set per column chunk (row group).
    Chunk,
    /// Per column chunk and per page (the default): in the page index when
    /// [`page_index`](super::ParquetStoreBuilder::page_index) is on, in the page headers otherwise.
    #[default]
    Page,
}

/// The settings of a [`ParquetStore`](super::ParquetStore), set through its builder. Each
/// builder method sets exactly one field.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ParquetOptions {
    /// Codec of every column without a per-column codec. Default `Zstd(1)`.
    pub compression: Codec,
    /// Per-column codecs `(field name, codec)`, overriding `compression`.
    pub column_compression: Vec<(String, Codec)>,
    /// Maximum rows per row group. Default 1 048 576.
    pub row_group_size: usize,
    /// Dictionary encoding. Default on. Parquet falls back to plain (or delta) encoding when a
    /// column chunk's dictionary outgrows 1 MiB; a column whose sampled values (1024 rows of a
    /// batch of at least 16 Ki rows) are all distinct, such as ids and timestamps, is written
    /// without a dictionary from the start, which saves the hashing and usually bytes.
    pub dictionary: bool,
    /// Statistics level. Default [`Statistics::Page`].
    pub statistics: Statistics,
    /// Write the page index (column index + offset index). Default on.
    pub page_index: bool,
    /// Check each file's size and CRC32 against the manifest before decoding it. Default on.
    pub verify_checksums: bool,
    /// Rows per batch yielded by `scan`. Default 65 536.
    pub scan_batch_size: usize,
    /// Threads encoding in parallel (whole row groups one to a thread when a write holds two or
    /// more in memory, else the columns of a row group) and decoding on `load`. Default: 2, or 1
    /// on a single-core machine. The files are the same for any count.
    pub threads: usize,
    /// Write the Parquet 2 format: data pages v2, and delta encodings where a dictionary
    /// overflows (sequential ids and timestamps shrink to a few bits per value). pyarrow,
    /// polars, DuckDB and Spark read it; turn it off for readers that only know Parquet 1.0.
    /// Default on.
    pub parquet_v2: bool,
    /// Write files that Spark (tested: 4.3) reads in full: nanosecond timestamps as
    /// microseconds (a value with sub-microsecond digits is refused with
    /// [`Error::OutOfRange`], never truncated), times of day (`NaiveTime`) as `Int64`
    /// microseconds since midnight, and no Brotli (refused when the store is opened). This
    /// store reads the original types back either way. Default off.
    pub spark_compatible: bool,
    /// Columns whose values group the rows of each file written, in value order (stable:
    /// equal values keep their arrival order). Default none (rows as appended).
    pub cluster_by: Vec<String>,
}

impl Default for ParquetOptions {
    fn default() -> Self {
        ParquetOptions {
            compression: Codec::Zstd(1),
            column_compression: Vec::new(),
            row_group_size: 1 << 20,
            dictionary: true,
            statistics: Statistics::Page,
            page_index: true,
            verify_checksums: true,
            scan_batch_size: 64 * 1024,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get().min(2)),
            parquet_v2: true,
            spark_compatible: false,
            cluster_by: Vec::new(),
        }
    }
}

impl ParquetOptions {
    /// How columns are laid out in files under these options.
    pub(crate) fn profile(&self) -> super::layout::Profile {
        if self.spark_compatible {
            super::layout::Profile::Spark
        } else {
            super::layout::Profile::Plain
        }
    }

    /// Checks the options and builds the writer properties for files of `schema`.
    pub(crate) fn writer_properties(
        &self,
        schema: &SchemaRef,
        type_name: &'static str,
    ) -> Result<WriterProperties> {
        let positive = |option: &'static str, value: usize| {
            if value == 0 {
                Err(Error::InvalidOption {
                    option,
                    reason: "must be at least 1".into(),
                })
            } else {
                Ok(())
            }
        };
        positive("row_group_size", self.row_group_size)?;
        positive("scan_batch_size", self.scan_batch_size)?;
        positive("threads", self.threads)?;
        if self.spark_compatible {
            let codecs = std::iter::once(("compression", self.compression)).chain(
                self.column_compression
                    .iter()
                    .map(|(_, c)| ("column_compression", *c)),
            );
            for (option, codec) in codecs {
                if let Codec::Brotli(_) = codec {
                    return Err(Error::InvalidOption {
                        option,
                        reason: format!(
                            "{codec} with spark_compatible: Spark cannot read Brotli-compressed \
                             Parquet (its Brotli codec is not bundled); use zstd, snappy, gzip or \
                             lz4_raw"
                        ),
                    });
                }
            }
        }

        let (statistics, header_statistics) = match (self.statistics, self.page_index) {
            (Statistics::None, _) => (EnabledStatistics::None, false),
            (Statistics::Chunk, _) => (EnabledStatistics::Chunk, false),
            (Statistics::Page, true) => (EnabledStatistics::Page, false),
            // Page-level statistics without a page index go into the page headers.
            (Statistics::Page, false) => (EnabledStatistics::Chunk, true),
        };
        let mut builder = WriterProperties::builder()
            .set_writer_version(if self.parquet_v2 {
                WriterVersion::PARQUET_2_0
            } else {
                WriterVersion::PARQUET_1_0
            })
            .set_compression(self.compression.to_parquet()?)
            .set_max_row_group_row_count(Some(self.row_group_size))
            .set_dictionary_enabled(self.dictionary)
            .set_statistics_enabled(statistics)
            .set_write_page_header_statistics(header_statistics)
            .set_offset_index_disabled(!self.page_index)
            .set_key_value_metadata(Some(vec![
                KeyValue::new(RUST_TYPE_KEY.to_owned(), type_name.to_owned()),
                KeyValue::new(VERSION_KEY.to_owned(), env!("CARGO_PKG_VERSION").to_owned()),
            ]));

        if !self.column_compression.is_empty() {
            let descr =
                ArrowSchemaConverter::new()
                    .convert(schema)
                    .map_err(|e| Error::InvalidOption {
                        option: "column_compression",
                        reason: format!("the row type has no Parquet schema: {e}"),
                    })?;
            for (field, codec) in &self.column_compression {
                if schema.field_with_name(field).is_err() {
                    return Err(Error::UnknownColumn {
                        type_name,
                        column: field.clone(),
                        available: schema.fields().iter().map(|f| f.name().clone()).collect(),
                    });
                }
                let compression = codec.to_parquet()?;
                // A nested field has several leaf columns; the codec applies to all of them.
                for leaf in descr.columns() {
                    if leaf.path().parts().first() == Some(field) {
                        builder = builder.set_column_compression(leaf.path().clone(), compression);
                    }
                }
            }
        }
        Ok(builder.build())
    }
}

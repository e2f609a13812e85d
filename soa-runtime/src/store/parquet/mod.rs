//! [`ParquetStore`]: a directory of immutable Parquet files with atomic, durable commits.
//!
//! ```no_run
//! use soa_runtime::{Soa, ToArrow, Store, StoreExt};
//! use soa_runtime::store::parquet::{Codec, ParquetStore};
//!
//! #[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
//! struct Order { id: u64, symbol: String, price: f64 }
//!
//! # async fn demo(orders: OrderSoA, more: OrderSoA) -> soa_runtime::Result<()> {
//! let store = ParquetStore::<Order>::builder("./orders")
//!     .compression(Codec::Zstd(1))
//!     .open_or_create()
//!     .await?;
//! store.save(&orders).await?;           // ./orders/data.parquet
//! store.append(&more).await?;           // ./orders/part-000001.parquet, nothing rewritten
//! assert_eq!(store.count().await?, (orders.len() + more.len()) as u64);
//! let prices = store.load_columns(&["symbol", "price"]).await?; // reads two columns only
//! store.compact().await?;               // one data.parquet again
//! let all: OrderSoA = store.load().await?;
//! # Ok(()) }
//! ```
//!
//! # Layout
//!
//! ```text
//! dir/data.parquet           the data after `save` / `compact` (then the only data file; an
//!                            empty store has one with zero rows and the schema, so external
//!                            dataset readers see the columns)
//! dir/part-000001.parquet    files added by `append` and `import`, in commit order
//! dir/_soa_manifest          committed files with size, CRC32, rows; the commit sequence
//! dir/_soa_lock              the commit lock (an empty file; `flock`ed during every commit)
//! dir/_soa_writer            the writer lock (`flock`ed by the writing process; holds its pid)
//! dir/.soa-*.tmp             staging files of a commit in progress
//! ```
//!
//! Files are written in the Parquet 2 format (data pages v2; delta encodings where a dictionary
//! would not pay off) with ZSTD(1), row groups of 1 Mi rows, dictionaries, and page-level
//! statistics with a page index; the columns of a row group are encoded on two threads. Each of
//! these is a [builder](ParquetStoreBuilder) option.
//!
//! Dataset readers (pyarrow, polars, DuckDB, Spark) skip names starting with `_` or `.`, so
//! `pandas.read_parquet("dir")` or `dir/*.parquet` see only committed data files. Every file
//! carries the Arrow schema (`ARROW:schema`) and the key-value metadata `soa.rust_type`
//! (the row type's name) and `soa.version`.
//!
//! Column types are the row type's, except where Parquet (or a reader) has no equivalent:
//! timestamps in seconds are written as `TIMESTAMP(MILLIS)` (Parquet has no seconds), and with
//! [`spark_compatible`](ParquetStoreBuilder::spark_compatible) nanosecond timestamps as
//! microseconds and times of day as `Int64` microseconds since midnight. Every read of this
//! store (`load`, `scan`, `load_columns`, `compact`) gives the row type's types back, exactly;
//! a value the file type cannot hold is refused when written ([`Error::OutOfRange`]).
//!
//! A partitioned store (`#[soa(partition)]` fields or [`partition_by`](ParquetStoreBuilder::partition_by);
//! see [`crate::store::partition`]) puts its files in Hive directories, staged and renamed
//! inside them:
//!
//! ```text
//! dir/day=2026-01-05/symbol=AAPL/part-000001.parquet     one file per partition per commit
//! dir/day=__HIVE_DEFAULT_PARTITION__/symbol=__HIVE_DEFAULT_PARTITION__/data.parquet
//!                                                         an empty store's schema-only file
//! ```
//!
//! The manifest records the spec and each file's exact partition values; columns partitioned by
//! their value are not stored in the files and are restored on every read.
//!
//! # Commit protocol
//!
//! One process writes a store at a time: a store instance takes the *writer lock*
//! (`_soa_writer`, see `writer_lock`) before its first commit and its process holds it while the
//! instance lives; another process gets [`Error::Locked`] (or waits, with
//! [`wait_for_writer`](ParquetStoreBuilder::wait_for_writer)). Readers never take it.
//!
//! Every `save`, `append`, `import`, `compact` and `clear` is one commit. Every commit of every
//! process and store instance holds an exclusive advisory lock (`flock`) on `_soa_lock` from its
//! start to its end, so commits never interleave, whoever makes them; the kernel releases the
//! lock when its process dies (`kill -9` included). Under the lock, a commit first re-reads the
//! manifest (another process may have committed), finishes that commit if it was interrupted and
//! removes leftovers (no live commit can own them: it would hold the lock), then:
//!
//! 1. writes each new data file under a staging name `.soa-<seq>-<pid>-<n>-<final>.tmp`, fsyncs
//!    it, and records its size and CRC32 (computed while writing);
//! 2. fsyncs the directory (the staged files' entries are durable);
//! 3. checks that every staged file is there with the size it was written with (a manifest never
//!    names a file its commit does not have), writes the next manifest (sequence + 1, the new file list, and `pending` lines naming the
//!    staged → final renames) to a staging name, fsyncs it, **renames it over `_soa_manifest`**
//!    and fsyncs the directory. This rename is the commit point;
//! 4. applies the pending renames (`data.parquet` is replaced atomically), then deletes the data
//!    files the new manifest does not list, and fsyncs the directory.
//!
//! A crash before the manifest rename leaves the old manifest, whose files were never touched:
//! the old state, plus staging leftovers. A crash after it leaves the new manifest; its pending
//! renames say how to finish, and readers find the files under their staging names meanwhile.
//! The next commit, or [`ParquetStore::open`] when it can take the lock without waiting (no
//! commit is running), *rolls forward* (applies each pending rename whose staged file still
//! exists, after checking its size against the manifest) and *sweeps* staging leftovers and
//! `data.parquet`/`part-*.parquet` files the manifest does not list. An `open` that finds the lock
//! taken changes nothing: a reader never deletes what a live writer owns. Either way the store
//! holds the old or the new state, never a mix. Other files in the directory are left alone.
//!
//! # Readers in other processes
//!
//! Readers take no lock. Every read (`load`, `scan`, `load_columns`, `count`, `files`) first
//! compares the manifest file's identity (inode, size, change time: one `stat`) with the one it
//! last read, and re-reads it if another process or instance committed. A listed file that is
//! missing while the manifest changed was moved or replaced by that commit: the reader reads the
//! new manifest and starts again. A listed file missing from an unchanged manifest is lost (deleted
//! by hand, or by a disk): `open` leaves it out, rolling back to the files that are whole, and
//! reports it in [`ParquetStore::dropped_files`]; the next commit writes the repaired manifest.
//!
//! External readers that glob `dir/*.parquet` only ever see committed files (staging names start
//! with `.`, and files become visible after the commit point). Between the rename of step 4 and the
//! deletions right after it (a few system calls, no fsync in between), such a reader can see the
//! new `data.parquet` next to the old `part-*` files; that window is the only inconsistency an
//! external reader can observe. This crate's own readers always use the manifest and hold the
//! files of one committed state open while they read, so concurrent commits never affect them.
//!
//! # Integrity
//!
//! Parquet readers can decode a damaged file into different values without an error, and
//! parquet-rs writes no page checksums. So every read (`load`, `scan`, `load_columns`,
//! `compact`) first checks the file size against the manifest (always) and its CRC32 (unless
//! [`verify_checksums(false)`](ParquetStoreBuilder::verify_checksums); `compact` always
//! verifies: a rewrite must not give damaged values a fresh, valid checksum). `load` reads each file
//! into memory once, so the check costs one CRC pass over bytes already in memory: measured by
//! `parquet_demo`, 0.8 ms for the 7.35 MiB file of 1M `Order` rows (about 9 GB/s), well under 1 %
//! of the load. `scan` streams the file once more before decoding it (one extra sequential read);
//! `load_columns` reads the whole file when verifying, so a projection only saves I/O with
//! `verify_checksums(false)` (2 of 9 columns: 3.6 of 7.5 MiB read in the demo). Before
//! parsing, a cheap guard checks the leading and trailing `PAR1` magic and that the footer length
//! fits the file, and every decode runs under `catch_unwind`, so a decoder panic on damaged bytes
//! becomes [`Error::Corrupt`] naming the file (a `panic = "abort"` profile loses that guard).
//!
//! # Blocking work
//!
//! File I/O, Parquet encoding and decoding run in `tokio::task::spawn_blocking`. The one exception
//! is turning the borrowed container of `save`/`append` into Arrow arrays (one copy per column),
//! which happens on the calling task; [`StoreExt::save_owned`](crate::StoreExt::save_owned) and
//! [`StoreExt::append_owned`](crate::StoreExt::append_owned) move the columns instead (fixed-width
//! columns without a copy; on the blocking pool for large containers).

// Where things are:
//   builder      the builder, and what `open` does to a directory
//   commit       the commit protocol: staging, the manifest rename, settling, `compact`'s source
//   read         snapshots, whole-file decoding for `load`, streaming scans, footer counts
//   state        the committed state read from disk (refreshed after other processes' commits)
//   writer_lock  one writer process per directory
//   manifest     the manifest's line format
//   encode       writing one Parquet file, columns encoded on several threads
//   decode       checks and panic-guarded decoding of committed files
//   foreign      one Parquet file of any writer (single-file API, `import`)
//   layout       column types in files (seconds as milliseconds, the Spark profile)
//   fsio         file naming, positional reads with byte accounting, the `PAR1` guard, sweeps
//   options      `ParquetOptions`, codecs, writer properties
//   parallel     the small thread pool of encode and decode
mod blocks;
mod builder;
mod commit;
pub(crate) mod decode;
pub(crate) mod encode;
pub(crate) mod foreign;
mod fsio;
mod layout;
mod manifest;
mod options;
mod parallel;
mod read;
mod state;
pub(crate) mod writer_lock;

use std::fmt;
use std::io;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use parquet::arrow::arrow_reader::ParquetRecordBatchReader;
use parquet::file::metadata::ParquetMetaDataReader;
use parquet::file::properties::WriterProperties;

use crate::convert::ToArrow;
use crate::error::{Error, Result};
use crate::store::cluster::Cluster;
use crate::store::conform::conform;
use crate::store::partition::{Partition, PartitionSpec};
use crate::store::{
    BatchStream, ColumnStats, Record, ScanOptions, Store, StoreStats, WriteMode, blocking,
    filtered, project_columns,
};

use commit::{Conform, conform_to};
use decode::{Columns, OpenFile};
use encode::WriteSettings;
use manifest::{DATA_FILE, MANIFEST, Manifest};

pub use crate::store::partition::PartitionInfo;
pub use builder::ParquetStoreBuilder;
pub use manifest::StoredFile;
pub use options::{Codec, ParquetOptions, RUST_TYPE_KEY, Statistics, VERSION_KEY};

/// Points of the commit protocol where a test can inject an I/O failure (a testing hook, not
/// stable API).
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultPoint {
    /// Before creating a staged data file (as a read-only directory fails).
    CreateStaged,
    /// After the staged files are durable, before the manifest is renamed (crash before commit).
    BeforeCommit,
    /// After the manifest rename, before the pending renames (crash right after commit).
    AfterCommit,
}

/// A file to import, with the Hive `(key, value)`s of the directories above it.
type HiveFile = (PathBuf, Vec<(String, Option<String>)>);

/// Collects the Parquet files under `dir` with the Hive values of the directories above them.
fn dataset_files(
    dir: &Path,
    values: &mut Vec<(String, Option<String>)>,
    out: &mut Vec<HiveFile>,
) -> Result<()> {
    use crate::store::partition::{HIVE_NULL, unescape};
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        // Hidden files (`_SUCCESS`, `.crc`, staging) and directories (`_delta_log`, `.x`);
        // a `_key=value` directory is a partition (Spark reads it).
        let partition_dir = name.starts_with('_') && name.contains('=');
        if name.starts_with('.') || (name.starts_with('_') && !partition_dir) {
            continue;
        }
        let path = entry.path();
        let kind = entry.file_type().map_err(|e| Error::io(&path, e))?;
        if kind.is_dir() {
            let (key, value) = match name.split_once('=') {
                Some((k, v)) => (unescape(k), (v != HIVE_NULL).then(|| unescape(v))),
                None => continue,
            };
            values.push((key, value));
            let result = dataset_files(&path, values, out);
            values.pop();
            result?;
        } else if kind.is_file() && name.ends_with(".parquet") {
            out.push((path, values.clone()));
        }
    }
    Ok(())
}

/// Rows counted from the Parquet footers, with the bytes read to do it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FooterCount {
    /// Rows in all files.
    pub rows: u64,
    /// Files read.
    pub files: usize,
    /// Bytes read from the files (magic checks and footers; no column data).
    pub bytes_read: u64,
    /// Total size of the files.
    pub file_bytes: u64,
}

/// A durable store of `T` rows: a directory of immutable Parquet files plus a manifest, with
/// atomic commits (see the [module docs](self) for the protocol and the integrity checks).
///
/// Cheap to clone (clones share the state); `Send + Sync`.
pub struct ParquetStore<T> {
    inner: Arc<Inner>,
    _rows: PhantomData<fn() -> T>,
}

impl<T> Clone for ParquetStore<T> {
    fn clone(&self) -> Self {
        ParquetStore {
            inner: Arc::clone(&self.inner),
            _rows: PhantomData,
        }
    }
}

impl<T> fmt::Debug for ParquetStore<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParquetStore")
            .field("dir", &self.inner.dir)
            .field("type", &self.inner.type_name)
            .field("options", &self.inner.options)
            .finish_non_exhaustive()
    }
}

struct Inner {
    dir: PathBuf,
    options: ParquetOptions,
    props: WriterProperties,
    schema: SchemaRef,
    /// `schema` without the identity partition columns (their values are in the directory
    /// names and the manifest, not in the files); the same `Arc` if there are none.
    data_schema: SchemaRef,
    /// The schema of the files: `data_schema` with the column types Parquet (or Spark) cannot
    /// hold replaced (see `layout`); the same `Arc` for most row types.
    file_schema: SchemaRef,
    /// How rows are partitioned (empty: one directory).
    spec: PartitionSpec,
    /// How the rows of each file written are ordered (empty: as appended).
    cluster: Cluster,
    /// The position the commit in progress records (`append_marked`), set and cleared under
    /// the writer lock.
    mark_slot: std::sync::Mutex<Option<(String, u64)>>,
    type_name: &'static str,
    fault: Option<(FaultPoint, io::ErrorKind)>,
    /// Serializes commits; held (owned) by the blocking task so a cancelled caller cannot
    /// release it while the commit still runs.
    writer: Arc<tokio::sync::Mutex<()>>,
    /// The writer lock of this process, taken before the first commit (see `writer_lock`).
    writer_lock: std::sync::Mutex<Option<Arc<writer_lock::WriterLock>>>,
    wait_for_writer: bool,
    /// The committed state as last read or written; refreshed from disk before every read when
    /// another process or instance has committed since (see [`Inner::refresh`]).
    state: std::sync::RwLock<state::Committed>,
    stats: std::sync::Mutex<StoreStats>,
    bytes_read: Arc<AtomicU64>,
}

enum WriteOp {
    /// Commits an empty store unless another writer created one first.
    Init,
    /// Adds files written elsewhere, each checked by `conform` (batch -> batch of the row type).
    /// Each file with the Hive partition values of its directories (empty for plain files).
    Import(Vec<HiveFile>, Conform),
    Save(Vec<RecordBatch>),
    Append(Vec<RecordBatch>),
    /// An append that also records a position (`Manifest::marks`) in the same commit.
    AppendMarked(Vec<RecordBatch>, String, u64),
    Compact,
    Clear,
}

impl<T: Record> ParquetStore<T> {
    /// Opens the store in an existing directory with default options.
    ///
    /// # Errors
    /// See [`ParquetStoreBuilder::open`]; [`Error::MissingDirectory`] if `dir` does not exist.
    pub async fn open(dir: impl AsRef<Path>) -> Result<Self> {
        Self::builder(dir).open().await
    }

    /// Creates the directory and a new, empty store in it, with default options.
    ///
    /// # Errors
    /// See [`ParquetStoreBuilder::create`].
    pub async fn create(dir: impl AsRef<Path>) -> Result<Self> {
        Self::builder(dir).create().await
    }

    /// Opens the store, creating the directory if needed, with default options.
    ///
    /// # Errors
    /// See [`ParquetStoreBuilder::open_or_create`].
    pub async fn open_or_create(dir: impl AsRef<Path>) -> Result<Self> {
        Self::builder(dir).open_or_create().await
    }

    /// A builder with default options (ZSTD(1), row groups of 1 048 576 rows, dictionary on,
    /// page statistics and page index, checksums verified).
    pub fn builder(dir: impl AsRef<Path>) -> ParquetStoreBuilder<T> {
        ParquetStoreBuilder {
            dir: dir.as_ref().to_owned(),
            options: ParquetOptions::default(),
            lock_on_open: false,
            wait_for_writer: false,
            fault: None,
            partition_by: None,
            _rows: PhantomData,
        }
    }

    /// The store directory.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// The options the store was opened with.
    pub fn options(&self) -> &ParquetOptions {
        &self.inner.options
    }

    /// The committed data files, in row order (re-reading the manifest if another process or
    /// store instance committed since; if that read fails, the files last known).
    pub async fn files(&self) -> Vec<StoredFile> {
        let inner = Arc::clone(&self.inner);
        let refreshed = blocking({
            let inner = Arc::clone(&inner);
            move || inner.refresh()
        })
        .await;
        let _ = refreshed; // an error here surfaces on the next read; this call only reports
        inner.read_state().manifest.files.clone()
    }

    /// Files the manifest listed that were missing from the directory (neither the file nor its
    /// staged copy exists) when this instance last read the manifest: their rows are lost. The
    /// store still opens and reads: it rolls back to the files that are whole, and its next
    /// commit writes the repaired manifest. Empty for a healthy store.
    ///
    /// Files only go missing when something outside this crate deletes them (or a disk loses
    /// them): commits never publish a manifest naming a file they do not have, and opening or
    /// reading a store never deletes anything a live writer owns.
    pub fn dropped_files(&self) -> Vec<StoredFile> {
        self.inner.read_state().dropped.clone()
    }

    /// Adds Parquet files written elsewhere (pyarrow, polars, Spark, DuckDB, another store) to
    /// the store, in one commit, after them in row order.
    ///
    /// Every file is read whole and every batch converted as
    /// [`from_record_batch`](ToArrow::from_record_batch) converts it (columns by name, extra
    /// columns ignored, the widenings of schema evolution), then written again as a
    /// `part-NNNNNN.parquet` file of the store with its settings, schema, size and CRC32. The
    /// source files are not changed. Nothing is committed unless every file converts: a file
    /// that does not fit `T` is an error naming it and the field, and the store is unchanged.
    /// Files written by this crate for another row type are refused
    /// ([`Error::SchemaMismatch`]).
    ///
    /// # Errors
    /// [`Error::Io`] for a file that cannot be read, [`Error::Corrupt`] for one that is not
    /// Parquet, [`Error::SchemaMismatch`], and the conversion errors of `from_record_batch`
    /// ([`Error::Column`], [`Error::MissingColumn`], ...) in the context of the file's path.
    pub async fn import<P: AsRef<Path>>(&self, files: &[P]) -> Result<()> {
        let files: Vec<_> = files
            .iter()
            .map(|p| (p.as_ref().to_owned(), Vec::new()))
            .collect();
        if files.is_empty() {
            return Ok(());
        }
        self.write(WriteOp::Import(files, conform_to::<T::Columns>))
            .await
    }

    /// Adds a Hive-partitioned dataset written elsewhere (pyarrow `write_dataset`, polars
    /// `write_parquet(partition_by=..)`, Spark `partitionBy`, DuckDB `PARTITION_BY`): every
    /// `*.parquet` file under `root`, in path order, with the columns its `key=value`
    /// directories name restored (unescaped, `__HIVE_DEFAULT_PARTITION__` as null, the text
    /// parsed as the field's type, so `zip=007` is the string `"007"` for a `String` field),
    /// then as [`import`](Self::import). Files and directories whose names start with `_` or
    /// `.` are skipped (`_SUCCESS`, `_delta_log`, staging files), except `_key=value`
    /// partition directories.
    ///
    /// # Errors
    /// As [`import`](Self::import); [`Error::Io`] if `root` cannot be listed.
    pub async fn import_dataset(&self, root: impl AsRef<Path>) -> Result<()> {
        let root = root.as_ref().to_owned();
        let files = blocking(move || {
            let mut out = Vec::new();
            dataset_files(&root, &mut Vec::new(), &mut out)?;
            out.sort_by(|a, b| a.0.cmp(&b.0));
            Ok(out)
        })
        .await?;
        if files.is_empty() {
            return Ok(());
        }
        self.write(WriteOp::Import(files, conform_to::<T::Columns>))
            .await
    }

    /// The partitions of the store with their files, rows and bytes, from the manifest (no
    /// data file is read), in order of first appearance. An unpartitioned store is one
    /// partition with no values.
    ///
    /// # Errors
    /// As [`Store::count`].
    pub async fn partitions(&self) -> Result<Vec<PartitionInfo>> {
        let inner = Arc::clone(&self.inner);
        blocking(move || {
            inner.refresh()?;
            let state = inner.read_state();
            let files = state.manifest.files.iter().filter(|f| f.rows > 0);
            let files = files.map(|f| (f.partition.clone(), f.rows, f.size));
            Ok(inner.spec.infos(&inner.dir, files))
        })
        .await
    }

    /// How the store is partitioned (empty: not partitioned).
    pub fn partitioning(&self) -> Vec<Partition> {
        self.inner
            .spec
            .fields
            .iter()
            .map(|f| f.partition.clone())
            .collect()
    }

    /// Bytes this store instance has read from data files so far (byte accounting).
    pub fn bytes_read(&self) -> u64 {
        self.inner.bytes_read.load(Ordering::Relaxed)
    }

    /// Merges all files into one `data.parquet`, in row order (streaming: memory stays bounded by
    /// a row group). A store that is already one `data.parquet`, or empty, is left as it is.
    ///
    /// # Errors
    /// Read errors of any file ([`Error::Corrupt`], [`Error::SchemaMismatch`], ...) and write
    /// errors; the store is unchanged on error.
    pub async fn compact(&self) -> Result<()> {
        self.write(WriteOp::Compact).await
    }

    /// Counts rows by reading only the Parquet footers of the files (not the manifest's counts),
    /// and reports the bytes read. [`Store::count`] uses the manifest and reads nothing.
    ///
    /// # Errors
    /// [`Error::Corrupt`] for a file whose magic, footer or row count is wrong.
    pub async fn count_from_footers(&self) -> Result<FooterCount> {
        let inner = Arc::clone(&self.inner);
        blocking(move || inner.count_from_footers()).await
    }

    async fn write(&self, op: WriteOp) -> Result<()> {
        let guard = Arc::clone(&self.inner.writer).lock_owned().await;
        let inner = Arc::clone(&self.inner);
        blocking(move || {
            let _guard = guard;
            let large = match &op {
                WriteOp::Compact => true,
                WriteOp::Save(b) | WriteOp::Append(b) | WriteOp::AppendMarked(b, ..) => {
                    b.iter().map(RecordBatch::num_rows).sum::<usize>()
                        >= crate::store::core::RELEASE_MEMORY_ROWS
                }
                _ => false,
            };
            let written = inner.run_write(op);
            if large {
                // The encoders' buffers are freed: do not keep them resident.
                crate::store::core::release_free_memory();
            }
            written
        })
        .await
    }
}

impl<T: Record> ParquetStore<T> {
    /// Appends `batches` and records `position` under `name` in the same commit: after a crash,
    /// [`marked`](Self::marked) returns `position` exactly when the rows are stored. A stream
    /// writer (a `TieredStore` flushing its write-ahead log) uses it to know what is already
    /// stored, so nothing is written twice. An append without rows still records the position.
    ///
    /// # Errors
    /// As [`Store::write_batches`].
    pub async fn append_marked(
        &self,
        batches: Vec<RecordBatch>,
        name: &str,
        position: u64,
    ) -> Result<()> {
        let batches = batches
            .into_iter()
            .map(|batch| conform(&self.inner.schema, batch, None))
            .filter(|b| b.as_ref().map_or(true, |b| b.num_rows() > 0))
            .collect::<Result<Vec<_>>>()?;
        self.write(WriteOp::AppendMarked(batches, name.to_owned(), position))
            .await
    }

    /// [`Store::scan_with`], with the position recorded under `mark` in the commit the scan
    /// reads (so a reader knows exactly which stream positions its snapshot holds).
    pub(crate) async fn scan_marked(
        &self,
        options: ScanOptions,
        mark: Option<&str>,
    ) -> Result<(BatchStream, Option<u64>)> {
        let columns = match &options.columns {
            None => None,
            Some(names) => {
                project_columns::<T>(names)?;
                Some(names.clone())
            }
        };
        let batch_size = options
            .batch_size
            .unwrap_or(self.inner.options.scan_batch_size)
            .max(1);
        let inner = Arc::clone(&self.inner);
        let (expr, metrics) = (options.predicate.clone(), options.metrics.clone());
        // Partitions the predicate rules out are skipped by their manifest values: their files
        // are not even opened.
        let mark = mark.map(str::to_owned);
        let (files, position) = blocking({
            let inner = Arc::clone(&inner);
            let (expr, metrics) = (expr.clone(), metrics.clone());
            move || inner.snapshot_marked(expr.as_ref(), metrics.as_deref(), mark.as_deref())
        })
        .await?;
        if files.is_empty() {
            // Nothing to read (an empty store, or every partition pruned): no reader task.
            return Ok((Box::pin(futures::stream::empty()), position));
        }
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<RecordBatch>>(2);
        tokio::task::spawn_blocking(move || {
            let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let prune = read::Prune {
                    expr: expr.as_ref(),
                    metrics: metrics.as_deref(),
                };
                inner.scan_into(&files, columns.as_deref(), batch_size, prune, &tx);
            }));
            if run.is_err() {
                let _ = tx.blocking_send(Err(Error::Task("the scan task panicked".into())));
            }
        });
        let stream = futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        });
        Ok((filtered(Box::pin(stream), &options), position))
    }

    /// [`Store::count`], with the position recorded under `mark` in the same commit.
    pub(crate) fn count_marked(&self, mark: &str) -> Result<(u64, Option<u64>)> {
        self.inner.refresh()?;
        let state = self.inner.read_state();
        Ok((state.manifest.rows(), state.manifest.mark(mark)))
    }

    /// Every committed row, decoded on the calling thread (blocking; no runtime needed), and
    /// the position the same commit records under `name`.
    pub(crate) fn rows_marked(&self, name: &str) -> Result<(Vec<RecordBatch>, Option<u64>)> {
        self.inner.rows_marked(name)
    }

    /// The position last recorded under `name` by [`append_marked`](Self::append_marked) (in
    /// any process), reading the committed manifest.
    ///
    /// # Errors
    /// The store's I/O errors; [`Error::Corrupt`] for a damaged manifest.
    pub async fn marked(&self, name: &str) -> Result<Option<u64>> {
        let inner = Arc::clone(&self.inner);
        let name = name.to_owned();
        blocking(move || {
            inner.refresh()?;
            Ok(inner.read_state().manifest.mark(&name))
        })
        .await
    }
}

impl<T: Record> Store<T> for ParquetStore<T> {
    /// `Overwrite`: afterwards the directory holds exactly one data file, `data.parquet` (with
    /// zero rows and the schema if there are no rows). `Append`: the batches go into one new file
    /// `part-NNNNNN.parquet`; existing files are never rewritten; no rows, no commit.
    async fn write_batches(&self, batches: Vec<RecordBatch>, mode: WriteMode) -> Result<()> {
        let batches = batches
            .into_iter()
            .map(|batch| conform(&self.inner.schema, batch, None))
            .collect::<Result<Vec<_>>>()?;
        let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
        match mode {
            WriteMode::Overwrite if rows == 0 => self.write(WriteOp::Clear).await,
            WriteMode::Overwrite => self.write(WriteOp::Save(batches)).await,
            _ if rows == 0 => Ok(()),
            _ => self.write(WriteOp::Append(batches)).await,
        }
    }

    /// Streams the files of the current commit in order, from a blocking task through a channel
    /// of capacity 2. With the default batch size (`scan_batch_size`, 65,536 rows) memory stays
    /// bounded by a row group's column chunks plus a few batches, whatever the store size; with
    /// `usize::MAX` each file is read once, its checksum verified in memory, and its columns
    /// decoded in parallel into one batch (what `load` uses). A projection decodes only the
    /// named columns (with `verify_checksums(false)`, only their bytes are read).
    async fn scan_with(&self, options: ScanOptions) -> Result<BatchStream> {
        self.scan_marked(options, None)
            .await
            .map(|(stream, _)| stream)
    }

    /// From the manifest: no data file is read. One `stat` of the manifest tells whether another
    /// process or instance committed since (then the manifest is read again).
    async fn count(&self) -> Result<u64> {
        self.inner.refresh()?;
        Ok(self.inner.read_state().manifest.rows())
    }

    fn stats(&self) -> StoreStats {
        match self.inner.stats.lock() {
            Ok(stats) => stats.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

fn stats_of(manifest: &Manifest, schema: &SchemaRef, data_schema: &SchemaRef) -> StoreStats {
    let mut columns: Vec<ColumnStats> = schema
        .fields()
        .iter()
        .map(|f| ColumnStats {
            name: f.name().clone(),
            bytes: 0,
            validity_bytes: 0,
        })
        .collect();
    // The files hold the data schema's columns (partition columns are in the directory names).
    let slots: Vec<Option<usize>> = data_schema
        .fields()
        .iter()
        .map(|f| schema.index_of(f.name()).ok())
        .collect();
    // An empty store's placeholder file holds no rows: it counts as no data.
    let files = || manifest.files.iter().filter(|f| f.rows > 0);
    for file in files() {
        for (slot, bytes) in slots.iter().zip(&file.column_bytes) {
            if let Some(column) = slot.and_then(|i| columns.get_mut(i)) {
                column.bytes += bytes;
            }
        }
    }
    StoreStats {
        rows: manifest.rows(),
        batches: files().count() as u64,
        bytes: files().map(|f| f.size).sum(),
        columns,
    }
}

//! [`ParquetStore`]: a directory of immutable Parquet files with atomic, durable commits.
//!
//! ```no_run
//! use soa_runtime::{Soa, ToArrow, Store};
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
//! # Commit protocol
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
//! which happens on the calling task; [`ParquetStore::save_owned`] and
//! [`ParquetStore::append_owned`] move the container to the blocking pool instead (and convert
//! fixed-width columns without a copy).

mod decode;
mod encode;
pub(crate) mod foreign;
mod fsio;
mod manifest;
mod options;
mod parallel;
mod state;

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
use parquet::file::reader::ChunkReader;

use crate::convert::ToArrow;
use crate::error::{Error, Result};
use crate::soa::{Soa, SoaColumns};
use crate::store::{BatchStream, ColumnStats, Record, Store, StoreStats};

use decode::{Columns, OpenFile};
use encode::WriteSettings;
use manifest::{DATA_FILE, MANIFEST, Manifest};

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OpenMode {
    Existing,
    Create,
    OpenOrCreate,
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

/// Configures and opens a [`ParquetStore`]. Each method sets one option and leaves the others as
/// they are.
///
/// ```no_run
/// # use soa_runtime::{Soa, ToArrow};
/// # use soa_runtime::store::parquet::{Codec, ParquetStore, Statistics};
/// # #[derive(Soa, ToArrow, Debug, Clone, PartialEq)] struct Order { id: u64, note: String }
/// # async fn demo() -> soa_runtime::Result<()> {
/// let store = ParquetStore::<Order>::builder("./orders")
///     .compression(Codec::Zstd(3))
///     .column_compression("note", Codec::Brotli(5))
///     .row_group_size(256 * 1024)
///     .dictionary(true)
///     .statistics(Statistics::Page)
///     .page_index(true)
///     .verify_checksums(true)
///     .open_or_create()
///     .await?;
/// # Ok(()) }
/// ```
pub struct ParquetStoreBuilder<T> {
    dir: PathBuf,
    options: ParquetOptions,
    fault: Option<(FaultPoint, io::ErrorKind)>,
    _rows: PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for ParquetStoreBuilder<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParquetStoreBuilder")
            .field("dir", &self.dir)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl<T: Record> ParquetStoreBuilder<T> {
    /// Codec for every column without a per-column codec (default [`Codec::Zstd(1)`](Codec::Zstd)).
    #[must_use]
    pub fn compression(mut self, codec: Codec) -> Self {
        self.options.compression = codec;
        self
    }

    /// Codec for one top-level field (all its leaf columns if nested). Can be repeated.
    #[must_use]
    pub fn column_compression(mut self, field: impl Into<String>, codec: Codec) -> Self {
        let field = field.into();
        self.options.column_compression.retain(|(f, _)| *f != field);
        self.options.column_compression.push((field, codec));
        self
    }

    /// Maximum rows per row group (default 1 048 576).
    #[must_use]
    pub fn row_group_size(mut self, rows: usize) -> Self {
        self.options.row_group_size = rows;
        self
    }

    /// Dictionary encoding (default on; columns sampled as all distinct go without, see
    /// [`ParquetOptions::dictionary`]).
    #[must_use]
    pub fn dictionary(mut self, enabled: bool) -> Self {
        self.options.dictionary = enabled;
        self
    }

    /// Statistics level (default [`Statistics::Page`]).
    #[must_use]
    pub fn statistics(mut self, level: Statistics) -> Self {
        self.options.statistics = level;
        self
    }

    /// Write the page index: column index and offset index (default on).
    #[must_use]
    pub fn page_index(mut self, enabled: bool) -> Self {
        self.options.page_index = enabled;
        self
    }

    /// Verify each file's CRC32 against the manifest before decoding it (default on).
    #[must_use]
    pub fn verify_checksums(mut self, enabled: bool) -> Self {
        self.options.verify_checksums = enabled;
        self
    }

    /// Rows per batch yielded by `scan` (default 65 536).
    #[must_use]
    pub fn scan_batch_size(mut self, rows: usize) -> Self {
        self.options.scan_batch_size = rows;
        self
    }

    /// Threads encoding (and, on `load`, decoding) the columns of a row group in parallel
    /// (default 2, or 1 on a single core).
    #[must_use]
    pub fn threads(mut self, threads: usize) -> Self {
        self.options.threads = threads;
        self
    }

    /// Parquet 2 data pages and encodings (default on; see [`ParquetOptions::parquet_v2`]).
    #[must_use]
    pub fn parquet_v2(mut self, enabled: bool) -> Self {
        self.options.parquet_v2 = enabled;
        self
    }

    /// Makes one step of the commit protocol fail with an I/O error of `kind` (testing hook).
    #[doc(hidden)]
    #[must_use]
    pub fn inject_fault(mut self, point: FaultPoint, kind: io::ErrorKind) -> Self {
        self.fault = Some((point, kind));
        self
    }

    /// The options as set so far.
    pub fn options(&self) -> &ParquetOptions {
        &self.options
    }

    /// Opens the store in an existing directory (an empty directory is an empty store).
    ///
    /// Rolls a committed-but-unfinished commit forward and removes leftovers of interrupted
    /// writes (see the [module docs](self)).
    ///
    /// # Errors
    /// [`Error::MissingDirectory`]; [`Error::InvalidOption`] / [`Error::UnknownColumn`] for bad
    /// options; [`Error::SchemaMismatch`] if the store holds another row type;
    /// [`Error::Corrupt`] for a damaged manifest, or data files without a manifest;
    /// [`Error::Io`] (with its kind, for example `PermissionDenied`).
    pub async fn open(self) -> Result<ParquetStore<T>> {
        self.open_mode(OpenMode::Existing).await
    }

    /// Creates the directory (and its parents) and a new, empty store in it.
    ///
    /// # Errors
    /// As [`open`](Self::open), plus [`Error::Io`] of kind `AlreadyExists` if the directory
    /// already holds a store.
    pub async fn create(self) -> Result<ParquetStore<T>> {
        self.open_mode(OpenMode::Create).await
    }

    /// Opens the store, creating the directory if it does not exist.
    ///
    /// # Errors
    /// As [`open`](Self::open), except that a missing directory is created.
    pub async fn open_or_create(self) -> Result<ParquetStore<T>> {
        self.open_mode(OpenMode::OpenOrCreate).await
    }

    async fn open_mode(self, mode: OpenMode) -> Result<ParquetStore<T>> {
        let schema = <T::Columns as ToArrow>::schema();
        let type_name = <T::Columns as ToArrow>::TYPE_NAME;
        let props = self.options.writer_properties(&schema, type_name)?;
        let dir = self.dir;
        let (dir, committed) = blocking(move || {
            let committed = open_dir(&dir, mode, type_name)?;
            Ok((dir, committed))
        })
        .await?;
        let stats = stats_of(&committed.manifest, &schema);
        let initialize = committed.stamp.is_none() && mode != OpenMode::Existing;
        let store = ParquetStore {
            inner: Arc::new(Inner {
                dir,
                options: self.options,
                props,
                schema,
                type_name,
                fault: self.fault,
                writer: Arc::new(tokio::sync::Mutex::new(())),
                state: std::sync::RwLock::new(committed),
                stats: std::sync::Mutex::new(stats),
                bytes_read: Arc::new(AtomicU64::new(0)),
            }),
            _rows: PhantomData,
        };
        if initialize {
            // A new store is a dataset from the start: an empty `data.parquet` with the schema.
            store.write(WriteOp::Init).await?;
        }
        Ok(store)
    }
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
    type_name: &'static str,
    fault: Option<(FaultPoint, io::ErrorKind)>,
    /// Serializes commits; held (owned) by the blocking task so a cancelled caller cannot
    /// release it while the commit still runs.
    writer: Arc<tokio::sync::Mutex<()>>,
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
    Import(Vec<PathBuf>, Conform),
    Save(RecordBatch),
    SaveOwned(Box<dyn FnOnce() -> Result<RecordBatch> + Send>),
    Append(RecordBatch),
    AppendOwned(Box<dyn FnOnce() -> Result<RecordBatch> + Send>),
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
            fault: None,
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
        let files: Vec<PathBuf> = files.iter().map(|p| p.as_ref().to_owned()).collect();
        if files.is_empty() {
            return Ok(());
        }
        self.write(WriteOp::Import(files, conform_to::<T::Columns>))
            .await
    }

    /// Bytes this store instance has read from data files so far (byte accounting).
    pub fn bytes_read(&self) -> u64 {
        self.inner.bytes_read.load(Ordering::Relaxed)
    }

    /// Like [`Store::save`], taking the container by value: the conversion to Arrow (without a
    /// copy for fixed-width columns) runs on the blocking pool too.
    ///
    /// # Errors
    /// As [`Store::save`].
    pub async fn save_owned(&self, data: T::Columns) -> Result<()> {
        self.write(WriteOp::SaveOwned(Box::new(move || {
            data.into_record_batch()
        })))
        .await
    }

    /// Like [`Store::append`], taking the container by value (see [`save_owned`](Self::save_owned)).
    ///
    /// # Errors
    /// As [`Store::append`].
    pub async fn append_owned(&self, data: T::Columns) -> Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        self.write(WriteOp::AppendOwned(Box::new(move || {
            data.into_record_batch()
        })))
        .await
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

    /// Reads only the named top-level columns (projection pushdown: other column chunks are not
    /// decoded, and with `verify_checksums(false)` not even read).
    ///
    /// Returns one Arrow [`RecordBatch`] with the columns in the order asked, rather than a
    /// `T::Columns`: the container has a `Vec` for every field, and filling the missing ones with
    /// defaults would pass invented values off as stored ones.
    ///
    /// # Errors
    /// [`Error::UnknownColumn`] for a name that is not a field of `T`; read errors as
    /// [`Store::load`].
    pub async fn load_columns(&self, columns: &[&str]) -> Result<RecordBatch> {
        let mut indices = Vec::with_capacity(columns.len());
        for name in columns {
            let index = self
                .inner
                .schema
                .index_of(name)
                .map_err(|_| Error::UnknownColumn {
                    type_name: self.inner.type_name,
                    column: (*name).to_owned(),
                    available: self
                        .inner
                        .schema
                        .fields()
                        .iter()
                        .map(|f| f.name().clone())
                        .collect(),
                })?;
            indices.push(index);
        }
        let inner = Arc::clone(&self.inner);
        blocking(move || inner.load_columns(&indices)).await
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
            inner.run_write(op)
        })
        .await
    }
}

impl<T: Record> Store<T> for ParquetStore<T> {
    /// Replaces the content with `data`: afterwards the directory holds exactly one data file,
    /// `data.parquet` (with zero rows and the schema if `data` is empty).
    async fn save(&self, data: &T::Columns) -> Result<()> {
        let batch = data.to_record_batch()?;
        self.write(WriteOp::Save(batch)).await
    }

    /// Adds `data` as a new file `part-NNNNNN.parquet`; existing files are never rewritten.
    /// Appending zero rows does nothing.
    async fn append(&self, data: &T::Columns) -> Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        let batch = data.to_record_batch()?;
        self.write(WriteOp::Append(batch)).await
    }

    async fn load(&self) -> Result<T::Columns> {
        let inner = Arc::clone(&self.inner);
        blocking(move || inner.load::<<T as Soa>::Columns>()).await
    }

    /// From the manifest: no data file is read. One `stat` of the manifest tells whether another
    /// process or instance committed since (then the manifest is read again).
    async fn count(&self) -> Result<u64> {
        self.inner.refresh()?;
        Ok(self.inner.read_state().manifest.rows())
    }

    /// Streams batches of at most `scan_batch_size` rows, file after file, from a blocking task
    /// through a channel of capacity 2: memory stays bounded by a row group's column chunks plus
    /// a few batches, whatever the store size.
    async fn scan(&self) -> Result<BatchStream> {
        let inner = Arc::clone(&self.inner);
        let files = blocking({
            let inner = Arc::clone(&inner);
            move || inner.snapshot()
        })
        .await?;
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<RecordBatch>>(2);
        tokio::task::spawn_blocking(move || {
            let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                inner.scan_into(&files, &tx);
            }));
            if run.is_err() {
                let _ = tx.blocking_send(Err(Error::Task("the scan task panicked".into())));
            }
        });
        let stream = futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        });
        Ok(Box::pin(stream))
    }

    /// Removes every data file; the store keeps one empty `data.parquet` with the schema, so
    /// external dataset readers see zero rows with every column.
    async fn clear(&self) -> Result<()> {
        self.write(WriteOp::Clear).await
    }

    fn stats(&self) -> StoreStats {
        match self.inner.stats.lock() {
            Ok(stats) => stats.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

/// Runs blocking work on the blocking pool; a panic becomes [`Error::Task`].
async fn blocking<R, F>(f: F) -> Result<R>
where
    R: Send + 'static,
    F: FnOnce() -> Result<R> + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Task(format!("blocking task failed: {e}")))?
}

fn stats_of(manifest: &Manifest, schema: &SchemaRef) -> StoreStats {
    let mut columns: Vec<ColumnStats> = schema
        .fields()
        .iter()
        .map(|f| ColumnStats {
            name: f.name().clone(),
            bytes: 0,
            validity_bytes: 0,
        })
        .collect();
    // An empty store's placeholder file holds no rows: it counts as no data.
    let files = || manifest.files.iter().filter(|f| f.rows > 0);
    for file in files() {
        for (column, bytes) in columns.iter_mut().zip(&file.column_bytes) {
            column.bytes += bytes;
        }
    }
    StoreStats {
        rows: manifest.rows(),
        batches: files().count() as u64,
        bytes: files().map(|f| f.size).sum(),
        columns,
    }
}

/// Opens (or creates) the directory and reads the committed state. If no other process or
/// instance is committing, finishes an interrupted commit and removes its leftovers; otherwise
/// changes nothing (a reader never touches what a live writer owns).
fn open_dir(dir: &Path, mode: OpenMode, type_name: &str) -> Result<state::Committed> {
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => {
            return Err(Error::io(
                dir,
                io::Error::new(
                    io::ErrorKind::NotADirectory,
                    "the store path is not a directory",
                ),
            ));
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if mode == OpenMode::Existing {
                return Err(Error::MissingDirectory {
                    path: dir.to_owned(),
                });
            }
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
            if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
                fsio::sync_dir(parent)?;
            }
        }
        Err(e) => return Err(Error::io(dir, e)),
    }
    let path = fsio::manifest_path(dir);
    let committed = state::read_committed(dir, type_name)?;
    if committed.stamp.is_some() && mode == OpenMode::Create {
        return Err(Error::io(
            &path,
            io::Error::new(
                io::ErrorKind::AlreadyExists,
                "the directory already holds a store",
            ),
        ));
    }
    if committed.stamp.is_none() {
        let strays = fsio::data_files(dir)?;
        if let Some(first) = strays.first() {
            return Err(Error::Corrupt {
                path,
                reason: format!(
                    "no manifest, but {} data file(s) such as {} exist: the directory is not a \
                     soa store, or its manifest was lost (to add Parquet files written \
                     elsewhere, create a store in another directory and `import` them)",
                    strays.len(),
                    first.display()
                ),
            });
        }
    }
    // Only while nobody commits (we hold the lock) is a leftover provably abandoned. A failure
    // here (read-only directory) does not prevent reading: the next commit settles first.
    if let Some(_lock) = fsio::try_lock_commits(dir) {
        let again = state::read_committed(dir, type_name)?;
        let _ = settle(dir, &again.manifest);
        return Ok(again);
    }
    Ok(committed)
}

/// Finishes a commit: applies the pending renames, removes unlisted data files and staging
/// leftovers, and fsyncs the directory if anything changed. Idempotent. Only ever called with
/// the commit lock held: then no staging file belongs to a live commit.
fn settle(dir: &Path, manifest: &Manifest) -> Result<()> {
    let mut changed = false;
    for (staged, target) in &manifest.pending {
        let from = dir.join(staged);
        let to = dir.join(target);
        match std::fs::metadata(&from) {
            Ok(meta) => {
                let expected = manifest
                    .files
                    .iter()
                    .find(|f| f.name == *target)
                    .map(|f| f.size);
                if expected != Some(meta.len()) {
                    return Err(Error::Corrupt {
                        path: from,
                        reason: format!(
                            "staged file has {} bytes, the manifest recorded {expected:?}",
                            meta.len()
                        ),
                    });
                }
                std::fs::rename(&from, &to).map_err(|e| Error::io(&from, e))?;
                changed = true;
            }
            // Already renamed (or lost: `read_committed` reports that).
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(from, e)),
        }
    }
    let listed: Vec<&str> = manifest.files.iter().map(|f| f.name.as_str()).collect();
    changed |= fsio::sweep(dir, &listed)?;
    if changed {
        fsio::sync_dir(dir)?;
    }
    Ok(())
}

/// Checks a batch of a foreign file against the row type: `from_record_batch`, then back to a
/// batch with the row type's exact schema.
type Conform = fn(&RecordBatch) -> Result<RecordBatch>;

fn conform_to<C: ToArrow>(batch: &RecordBatch) -> Result<RecordBatch> {
    C::from_record_batch(batch)?.into_record_batch()
}

/// Where new files go in the next manifest.
#[derive(Debug, Clone, Copy)]
enum Placement {
    /// The new files replace all others.
    Replace,
    /// The new files follow the existing ones; `next_part` is the next part number.
    Append { next_part: u64 },
}

impl Inner {
    fn fault(&self, point: FaultPoint) -> Result<()> {
        match self.fault {
            Some((p, kind)) if p == point => Err(Error::io(
                &self.dir,
                io::Error::new(kind, format!("injected failure at {point:?}")),
            )),
            _ => Ok(()),
        }
    }

    fn settings(&self) -> WriteSettings<'_> {
        WriteSettings {
            schema: &self.schema,
            props: &self.props,
            row_group_size: self.options.row_group_size,
            threads: self.options.threads,
        }
    }

    fn read_state(&self) -> std::sync::RwLockReadGuard<'_, state::Committed> {
        self.state
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn set_state(&self, committed: state::Committed) {
        let stats = stats_of(&committed.manifest, &self.schema);
        *self
            .state
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = committed;
        match self.stats.lock() {
            Ok(mut s) => *s = stats,
            Err(poisoned) => *poisoned.into_inner() = stats,
        }
    }

    /// Re-reads the manifest if the file changed since this instance last read or wrote it
    /// (another process or instance committed): one `stat` when nothing changed.
    fn refresh(&self) -> Result<()> {
        let path = fsio::manifest_path(&self.dir);
        if fsio::stamp(&path)? == self.read_state().stamp {
            return Ok(());
        }
        self.set_state(state::read_committed(&self.dir, self.type_name)?);
        Ok(())
    }

    fn run_write(&self, op: WriteOp) -> Result<()> {
        // Every commit of every process and instance holds the lock from here to its end, so the
        // manifest read below stays the latest until we replace it, and every staging file that
        // exists now is a leftover of a dead commit.
        let _lock = fsio::lock_commits(&self.dir)?;
        self.set_state(state::read_committed(&self.dir, self.type_name)?);
        let (seq, next_part, files, exists) = {
            let state = self.read_state();
            let m = &state.manifest;
            settle(&self.dir, m)?;
            (
                m.seq + 1,
                m.next_part,
                m.files.clone(),
                state.stamp.is_some(),
            )
        };
        let append = Placement::Append {
            next_part: next_part + 1,
        };
        match op {
            WriteOp::Init if exists => Ok(()),
            WriteOp::Init => {
                let staged = self.stage(seq, DATA_FILE, std::iter::empty())?;
                self.commit(seq, vec![staged], Placement::Replace)
            }
            WriteOp::Clear => {
                let placeholder = self
                    .stage(seq, DATA_FILE, std::iter::empty())
                    .and_then(|staged| self.commit(seq, vec![staged], Placement::Replace));
                match placeholder {
                    Err(Error::Io { source, .. })
                        if source.kind() == io::ErrorKind::StorageFull
                            && self.read_state().manifest.seq < seq =>
                    {
                        // A full disk is when clearing matters most: free the space first (a
                        // manifest listing no file), then add the empty file if it fits now.
                        self.commit(seq, Vec::new(), Placement::Replace)?;
                        if let Ok(staged) = self.stage(seq + 1, DATA_FILE, std::iter::empty()) {
                            let _ = self.commit(seq + 1, vec![staged], Placement::Replace);
                        }
                        Ok(())
                    }
                    other => other,
                }
            }
            WriteOp::Save(batch) => {
                let staged = self.stage(seq, DATA_FILE, [Ok(batch)])?;
                self.commit(seq, vec![staged], Placement::Replace)
            }
            WriteOp::SaveOwned(convert) => {
                let staged = self.stage(seq, DATA_FILE, [convert()])?;
                self.commit(seq, vec![staged], Placement::Replace)
            }
            WriteOp::Append(batch) => {
                let staged = self.stage(seq, &fsio::part_name(next_part), [Ok(batch)])?;
                self.commit(seq, vec![staged], append)
            }
            WriteOp::AppendOwned(convert) => {
                let staged = self.stage(seq, &fsio::part_name(next_part), [convert()])?;
                self.commit(seq, vec![staged], append)
            }
            WriteOp::Import(paths, conform) => {
                let mut staged = Vec::with_capacity(paths.len());
                let mut part = next_part;
                let result = paths.iter().try_for_each(|path| {
                    let batches = foreign::read_batches(path, self.type_name)?;
                    let converted = batches.iter().map(|b| {
                        conform(b).map_err(|e| Error::InFile {
                            path: path.clone(),
                            source: Box::new(e),
                        })
                    });
                    staged.push(self.stage(seq, &fsio::part_name(part), converted)?);
                    part += 1;
                    Ok(())
                });
                if let Err(e) = result {
                    for (name, _) in &staged {
                        let _ = std::fs::remove_file(self.dir.join(name));
                    }
                    return Err(e);
                }
                self.commit(seq, staged, Placement::Append { next_part: part })
            }
            WriteOp::Compact => {
                match files.as_slice() {
                    [] => return Ok(()),
                    [only] if only.name == DATA_FILE => return Ok(()),
                    _ => {}
                }
                let snapshot = self.snapshot()?;
                let source = CompactSource {
                    inner: self,
                    files: snapshot.into_iter(),
                    current: None,
                    done: false,
                };
                let staged = self.stage(seq, DATA_FILE, source)?;
                self.commit(seq, vec![staged], Placement::Replace)
            }
        }
    }

    /// Step 1: writes a staged file that will become `target`.
    fn stage<I>(&self, seq: u64, target: &str, batches: I) -> Result<(String, StoredFile)>
    where
        I: IntoIterator<Item = Result<RecordBatch>>,
    {
        self.fault(FaultPoint::CreateStaged)?;
        let staged = fsio::staged_name(seq, target);
        let path = self.dir.join(&staged);
        match encode::write_file(&path, self.settings(), batches) {
            Ok(written) => Ok((
                staged,
                StoredFile {
                    name: target.to_owned(),
                    size: written.size,
                    crc32: written.crc32,
                    rows: written.rows,
                    column_bytes: written.column_bytes,
                },
            )),
            Err(e) => {
                // Best effort: a leftover would be swept on the next open anyway.
                let _ = std::fs::remove_file(&path);
                Err(e)
            }
        }
    }

    /// Steps 2-4: commits the staged files (see the module docs). Called with the commit lock.
    fn commit(
        &self,
        seq: u64,
        staged: Vec<(String, StoredFile)>,
        placement: Placement,
    ) -> Result<()> {
        let current = self.read_state().manifest.clone();
        let next = match self.commit_manifest(&current, seq, &staged, placement) {
            Ok(next) => next,
            Err(e) => {
                for (name, _) in &staged {
                    let _ = std::fs::remove_file(self.dir.join(name));
                }
                return Err(e);
            }
        };
        // Committed: from here on the new manifest is the store's state, whatever fails next.
        let stamp = fsio::stamp(&fsio::manifest_path(&self.dir)).ok().flatten();
        self.set_state(state::Committed {
            manifest: next,
            stamp,
            dropped: Vec::new(),
        });
        self.fault(FaultPoint::AfterCommit)?;
        // If the renames fail, readers find the files under their staging names, and the next
        // commit (or open) finishes them.
        settle(&self.dir, &self.read_state().manifest)
    }

    /// Steps 2 and 3: returns the committed manifest, or an error before the commit point.
    fn commit_manifest(
        &self,
        current: &Manifest,
        seq: u64,
        staged: &[(String, StoredFile)],
        placement: Placement,
    ) -> Result<Manifest> {
        let mut next = current.clone();
        next.seq = seq;
        env!("CARGO_PKG_VERSION").clone_into(&mut next.version);
        next.pending = staged
            .iter()
            .map(|(name, file)| (name.clone(), file.name.clone()))
            .collect();
        let new_files = staged.iter().map(|(_, file)| file.clone());
        match placement {
            Placement::Replace => next.files = new_files.collect(),
            Placement::Append { next_part } => {
                // An empty store's placeholder file gives way to the first rows.
                next.files.retain(|f| f.rows > 0);
                next.files.extend(new_files);
                next.next_part = next_part;
            }
        }
        // Never publish a manifest naming a file we do not have.
        for (name, file) in staged {
            let path = self.dir.join(name);
            let len = std::fs::metadata(&path)
                .map_err(|e| Error::io(&path, e))?
                .len();
            if len != file.size {
                return Err(Error::Corrupt {
                    path,
                    reason: format!(
                        "the staged file has {len} bytes, {} were written",
                        file.size
                    ),
                });
            }
        }
        fsio::sync_dir(&self.dir)?;
        self.fault(FaultPoint::BeforeCommit)?;
        let tmp = self.dir.join(fsio::staged_name(seq, MANIFEST));
        let target = fsio::manifest_path(&self.dir);
        let written = fsio::write_new_durable(&tmp, next.encode().as_bytes())
            .and_then(|()| std::fs::rename(&tmp, &target).map_err(|e| Error::io(&target, e)));
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        // If this fsync fails the rename may or may not survive a power loss; the process goes
        // on with the new state, as every later read of the directory will see it.
        let _ = fsio::sync_dir(&self.dir);
        Ok(next)
    }

    /// Opens every committed file (a consistent snapshot: the handles keep their content even if
    /// a later commit replaces or removes the names). A file that disappears while we open it
    /// was replaced by a commit of another process or instance: read the new manifest and start
    /// again.
    fn snapshot(&self) -> Result<Vec<OpenFile>> {
        let mut attempts = 0;
        loop {
            self.refresh()?;
            let state = self.read_state();
            let m = &state.manifest;
            let mut files = Vec::with_capacity(m.files.len());
            let mut missing = None;
            for entry in &m.files {
                let staged = state::staged_name_of(m, entry);
                match decode::open_listed(&self.dir, entry, staged, &self.bytes_read)? {
                    Some(file) => files.push(file),
                    None => {
                        missing = Some(self.dir.join(&entry.name));
                        break;
                    }
                }
            }
            let Some(path) = missing else {
                return Ok(files);
            };
            let stamp = state.stamp;
            drop(state);
            attempts += 1;
            if attempts >= 100 || fsio::stamp(&fsio::manifest_path(&self.dir))? == stamp {
                return Err(Error::Corrupt {
                    path,
                    reason: "the file is listed in the manifest but missing (reopen the store to \
                             roll back to the files that are whole: see `dropped_files`)"
                        .into(),
                });
            }
        }
    }

    fn check_rows(&self, file: &OpenFile, footer_rows: i64) -> Result<()> {
        if u64::try_from(footer_rows).ok() != Some(file.entry.rows) {
            return Err(Error::Corrupt {
                path: file.path.clone(),
                reason: format!(
                    "the footer says {footer_rows} rows, the manifest recorded {}",
                    file.entry.rows
                ),
            });
        }
        Ok(())
    }

    fn load<C: ToArrow + Send>(&self) -> Result<C> {
        let files = self.snapshot()?;
        let total: u64 = files.iter().map(|f| f.entry.rows).sum();
        let mut out: Option<C> = None;
        for file in &files {
            // Each part is dropped as soon as it is appended, and the result is reserved up front
            // (untouched capacity costs no memory): the peak stays near one copy of the data plus
            // one file's parts, instead of two copies.
            for mut part in self.load_file::<C>(file)? {
                match &mut out {
                    None => {
                        let rest = usize::try_from(total)
                            .unwrap_or(0)
                            .saturating_sub(part.len());
                        part.reserve(rest);
                        out = Some(part);
                    }
                    Some(all) => all.append(&mut part),
                }
            }
        }
        Ok(out.unwrap_or_default())
    }

    /// Decodes one file into containers, in row order: one read of the file, a CRC pass over the
    /// bytes in memory, columns decoded and rows converted on `threads` threads.
    fn load_file<C: ToArrow + Send>(&self, file: &OpenFile) -> Result<Vec<C>> {
        let bytes = decode::read_verified(file, self.options.verify_checksums)?;
        let metadata = decode::read_metadata(&bytes, &file.path, self.type_name)?;
        self.check_rows(file, metadata.metadata().file_metadata().num_rows())?;
        // The row type's columns that the file has; a missing one is reported by the conversion
        // (`Error::MissingColumn` naming the field, in the context of the file).
        let file_schema = Arc::clone(metadata.schema());
        let names: Vec<String> = self
            .schema
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .filter(|name| file_schema.index_of(name).is_ok())
            .collect();
        let threads = self.options.threads;
        // A file whose every column fits comfortably in one Arrow array (well under the 2 GiB of
        // Utf8 offsets) decodes as one batch, converted on this thread column by column, each
        // decoded column dropped as soon as it is copied: peak memory one copy of the data plus
        // one column, instead of decoded batches and converted parts side by side. Bigger files
        // go row group by row group, converted on `threads` threads.
        let rows = usize::try_from(metadata.metadata().file_metadata().num_rows()).unwrap_or(0);
        let batch_size = if rows > 0 && largest_column_bytes(&metadata) < ONE_BATCH_COLUMN_LIMIT {
            rows
        } else {
            largest_row_group(&metadata)
        };
        let batches =
            decode::decode_columns(&bytes, &metadata, &file.path, &names, batch_size, threads)?;
        drop(bytes);
        let convert_threads = if batches.len() == 1 { 1 } else { threads };
        let mut out = Vec::with_capacity(batches.len());
        for batch in batches {
            out.extend(decode::convert_batch::<C>(
                batch,
                &file.path,
                convert_threads,
            )?);
        }
        Ok(out)
    }

    fn load_columns(&self, indices: &[usize]) -> Result<RecordBatch> {
        let schema = Arc::new(
            self.schema
                .project(indices)
                .map_err(|e| Error::arrow("projecting the schema", e))?,
        );
        if indices.is_empty() {
            self.refresh()?;
            let rows = usize::try_from(self.read_state().manifest.rows()).unwrap_or(0);
            let options = arrow_array::RecordBatchOptions::new().with_row_count(Some(rows));
            return RecordBatch::try_new_with_options(schema, Vec::new(), &options)
                .map_err(|e| Error::arrow("an empty projection", e));
        }
        let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
        let files = self.snapshot()?;
        let mut batches = Vec::new();
        for file in &files {
            let decoded = if self.options.verify_checksums {
                let bytes = decode::read_verified(file, true)?;
                self.project_file(&bytes, file, &names)?
            } else {
                self.project_file(&file.file, file, &names)?
            };
            for batch in decoded {
                // Same columns, in the order asked; the schema is the row type's.
                let batch = RecordBatch::try_new(Arc::clone(&schema), batch.columns().to_vec())
                    .map_err(|e| {
                        Error::arrow(format!("projecting columns of {}", file.path.display()), e)
                    })?;
                batches.push(batch);
            }
        }
        match batches.len() {
            0 => Ok(RecordBatch::new_empty(schema)),
            1 => Ok(batches.swap_remove(0)),
            _ => arrow_select::concat::concat_batches(&schema, &batches)
                .map_err(|e| Error::arrow("concatenating projected batches", e)),
        }
    }

    fn project_file<R: ChunkReader + Clone + 'static>(
        &self,
        reader: &R,
        file: &OpenFile,
        names: &[String],
    ) -> Result<Vec<RecordBatch>> {
        let metadata = decode::read_metadata(reader, &file.path, self.type_name)?;
        self.check_rows(file, metadata.metadata().file_metadata().num_rows())?;
        let batch_size = largest_row_group(&metadata);
        let threads = self.options.threads;
        decode::decode_columns(reader, &metadata, &file.path, names, batch_size, threads)
    }

    fn count_from_footers(&self) -> Result<FooterCount> {
        let files = self.snapshot()?;
        let counter = Arc::new(AtomicU64::new(0));
        let mut count = FooterCount::default();
        for file in &files {
            let reader = file.file.with_counter(Arc::clone(&counter));
            fsio::check_magic(&reader, &file.path)?;
            let metadata = decode::guarded(&file.path, || {
                ParquetMetaDataReader::new()
                    .parse_and_finish(&reader)
                    .map_err(|source| Error::Parquet {
                        path: file.path.clone(),
                        source,
                    })
            })?;
            decode::check_type(&metadata, &file.path, self.type_name)?;
            let rows = metadata.file_metadata().num_rows();
            self.check_rows(file, rows)?;
            count.rows += file.entry.rows;
            count.files += 1;
            count.file_bytes += file.entry.size;
        }
        count.bytes_read = counter.load(Ordering::Relaxed);
        self.bytes_read
            .fetch_add(count.bytes_read, Ordering::Relaxed);
        Ok(count)
    }

    /// Opens a file for streaming: verify in place, then a batch reader over positional reads.
    fn stream_file(
        &self,
        file: &OpenFile,
        batch_size: usize,
        verify: bool,
    ) -> Result<ParquetRecordBatchReader> {
        if verify {
            decode::verify_in_place(file)?;
        }
        let metadata = decode::read_metadata(&file.file, &file.path, self.type_name)?;
        self.check_rows(file, metadata.metadata().file_metadata().num_rows())?;
        decode::batch_reader(
            file.file.clone(),
            metadata,
            &file.path,
            batch_size,
            Columns::All,
        )
    }

    fn scan_into(&self, files: &[OpenFile], tx: &tokio::sync::mpsc::Sender<Result<RecordBatch>>) {
        for file in files {
            let verify = self.options.verify_checksums;
            let mut reader = match self.stream_file(file, self.options.scan_batch_size, verify) {
                Ok(reader) => reader,
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    return;
                }
            };
            loop {
                match decode::next_batch(&mut reader, &file.path) {
                    Ok(Some(batch)) => {
                        if tx.blocking_send(Ok(batch)).is_err() {
                            return; // the stream was dropped
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        let _ = tx.blocking_send(Err(e));
                        return;
                    }
                }
            }
        }
    }
}

/// Uncompressed bytes above which a file's columns are not decoded into one array each.
const ONE_BATCH_COLUMN_LIMIT: u64 = 512 << 20;

/// The largest uncompressed size of one column over all row groups of a file.
fn largest_column_bytes(metadata: &parquet::arrow::arrow_reader::ArrowReaderMetadata) -> u64 {
    let mut sizes: Vec<u64> = Vec::new();
    for row_group in metadata.metadata().row_groups() {
        for (i, chunk) in row_group.columns().iter().enumerate() {
            if sizes.len() <= i {
                sizes.resize(i + 1, 0);
            }
            sizes[i] += u64::try_from(chunk.uncompressed_size()).unwrap_or(u64::MAX / 4);
        }
    }
    sizes.into_iter().max().unwrap_or(0)
}

fn largest_row_group(metadata: &parquet::arrow::arrow_reader::ArrowReaderMetadata) -> usize {
    metadata
        .metadata()
        .row_groups()
        .iter()
        .map(|rg| usize::try_from(rg.num_rows()).unwrap_or(0))
        .max()
        .unwrap_or(1)
        .max(1)
}

/// The batches of every file in order, for `compact` (one file open at a time).
struct CompactSource<'a> {
    inner: &'a Inner,
    files: std::vec::IntoIter<OpenFile>,
    current: Option<(ParquetRecordBatchReader, PathBuf)>,
    done: bool,
}

impl Iterator for CompactSource<'_> {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            if let Some((reader, path)) = &mut self.current {
                match decode::next_batch(reader, path) {
                    Ok(Some(batch)) => return Some(Ok(batch)),
                    Ok(None) => self.current = None,
                    Err(e) => {
                        self.done = true;
                        return Some(Err(e));
                    }
                }
            }
            let Some(file) = self.files.next() else {
                self.done = true;
                break;
            };
            // A rewrite always verifies (whatever `verify_checksums` says): it would give damaged
            // values a fresh, valid checksum.
            match self
                .inner
                .stream_file(&file, self.inner.options.scan_batch_size, true)
            {
                Ok(reader) => self.current = Some((reader, file.path)),
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
        None
    }
}

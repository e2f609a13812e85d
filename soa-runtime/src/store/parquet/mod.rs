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
//!                            empty store has no data file)
//! dir/part-000001.parquet    files added by `append`, in commit order
//! dir/_soa_manifest          committed files with size, CRC32, rows; the commit sequence
//! dir/.soa-*.tmp             staging files of a commit in progress (removed on open)
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
//! # Commit protocol
//!
//! Every `save`, `append`, `compact` and `clear` is one commit; commits of one store instance are
//! serialized. A commit:
//!
//! 1. writes each new data file under a staging name `.soa-<seq>-<pid>-<n>-<final>.tmp`, fsyncs
//!    it, and records its size and CRC32 (computed while writing);
//! 2. fsyncs the directory (the staged files' entries are durable);
//! 3. writes the next manifest (sequence + 1, the new file list, and `pending` lines naming the
//!    staged → final renames) to a staging name, fsyncs it, **renames it over `_soa_manifest`**
//!    and fsyncs the directory. This rename is the commit point;
//! 4. applies the pending renames (`data.parquet` is replaced atomically), then deletes the data
//!    files the new manifest does not list, and fsyncs the directory.
//!
//! A crash before the manifest rename leaves the old manifest, whose files were never touched:
//! the old state, plus staging leftovers. A crash after it leaves the new manifest; its pending
//! renames say how to finish. [`ParquetStore::open`] therefore *rolls forward* (applies each
//! pending rename whose staged file still exists, after checking its size against the manifest)
//! and *sweeps* staging leftovers and `data.parquet`/`part-*.parquet` files the manifest does not
//! list. Either way the store holds the old or the new state, never a mix. Other files in the
//! directory are left alone.
//!
//! External readers that glob `dir/*.parquet` only ever see committed files (staging names start
//! with `.`, and files become visible after the commit point). Between the rename of step 4 and the
//! deletions right after it (a few system calls, no fsync in between), such a reader can see the
//! new `data.parquet` next to the old `part-*` files; that window is the only inconsistency an
//! external reader can observe. This crate's own readers always use the manifest and hold the
//! files of one committed state open while they read, so concurrent commits never affect them.
//!
//! One writing process per directory: store instances do not lock the directory against other
//! processes (a second writer's `open` would sweep the first one's staging files).
//!
//! # Integrity
//!
//! Parquet readers can decode a damaged file into different values without an error, and
//! parquet-rs writes no page checksums. So every read (`load`, `scan`, `load_columns`,
//! `compact`) first checks the file size against the manifest (always) and its CRC32 (unless
//! [`verify_checksums(false)`](ParquetStoreBuilder::verify_checksums)). `load` reads each file
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
mod fsio;
mod layout;
mod manifest;
mod options;
mod parallel;

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

    /// Write files that Spark reads in full (default off; see
    /// [`ParquetOptions::spark_compatible`]): nanosecond timestamps as microseconds, times of day
    /// as `Int64` microseconds since midnight, and no Brotli. Loading gives back the original
    /// typed values.
    ///
    /// ```no_run
    /// # use soa_runtime::{Soa, ToArrow, Store};
    /// # use soa_runtime::store::parquet::ParquetStore;
    /// #[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
    /// struct Tick {
    ///     #[soa(timestamp = "ns")]
    ///     at: i64,
    ///     price: f64,
    /// }
    /// # async fn demo(ticks: TickSoA) -> soa_runtime::Result<()> {
    /// let store = ParquetStore::<Tick>::builder("./ticks")
    ///     .spark_compatible(true)
    ///     .open_or_create()
    ///     .await?;
    /// store.save(&ticks).await?; // `at` as TIMESTAMP(MICROS): an error if a value has sub-µs digits
    /// assert_eq!(store.load().await?, ticks); // nanosecond values again
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// Opening fails with [`Error::InvalidOption`] if a Brotli codec is set; `save`/`append`
    /// fail with [`Error::OutOfRange`] for a nanosecond timestamp with sub-microsecond digits.
    #[must_use]
    pub fn spark_compatible(mut self, enabled: bool) -> Self {
        self.options.spark_compatible = enabled;
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
        let profile = if self.options.spark_compatible {
            layout::Profile::Spark
        } else {
            layout::Profile::Plain
        };
        let file_schema = layout::file_schema(&schema, profile);
        let dir = self.dir;
        let (dir, manifest, unsettled) = blocking(move || {
            let (manifest, unsettled) = open_dir(&dir, mode, type_name)?;
            Ok((dir, manifest, unsettled))
        })
        .await?;
        let stats = stats_of(&manifest, &schema);
        Ok(ParquetStore {
            inner: Arc::new(Inner {
                dir,
                options: self.options,
                props,
                schema,
                file_schema,
                type_name,
                fault: self.fault,
                writer: Arc::new(tokio::sync::Mutex::new(())),
                state: tokio::sync::RwLock::new(State {
                    manifest,
                    unsettled,
                }),
                stats: std::sync::Mutex::new(stats),
                bytes_read: Arc::new(AtomicU64::new(0)),
            }),
            _rows: PhantomData,
        })
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
    /// The schema of the files: `schema` with the column types Parquet (or Spark) cannot hold
    /// replaced (see `layout`); the same `Arc` for most row types.
    file_schema: SchemaRef,
    type_name: &'static str,
    fault: Option<(FaultPoint, io::ErrorKind)>,
    /// Serializes commits; held (owned) by the blocking task so a cancelled caller cannot
    /// release it while the commit still runs.
    writer: Arc<tokio::sync::Mutex<()>>,
    /// The committed state; written only at the commit point, read while opening a snapshot.
    state: tokio::sync::RwLock<State>,
    stats: std::sync::Mutex<StoreStats>,
    bytes_read: Arc<AtomicU64>,
}

struct State {
    manifest: Manifest,
    /// A committed manifest's pending renames or sweep have not completed (an error after the
    /// commit point); the next commit finishes them, readers read staged files meanwhile.
    unsettled: bool,
}

enum WriteOp {
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

    /// The committed data files, in row order.
    pub async fn files(&self) -> Vec<StoredFile> {
        self.inner.state.read().await.manifest.files.clone()
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
    /// `data.parquet` (or none if `data` is empty: an empty store has no data file).
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

    /// From the manifest: no file is read.
    async fn count(&self) -> Result<u64> {
        Ok(self.inner.state.read().await.manifest.rows())
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

    /// Removes every data file (the manifest stays, listing none).
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
    for file in &manifest.files {
        for (column, bytes) in columns.iter_mut().zip(&file.column_bytes) {
            column.bytes += bytes;
        }
    }
    StoreStats {
        rows: manifest.rows(),
        batches: manifest.files.len() as u64,
        bytes: manifest.files.iter().map(|f| f.size).sum(),
        columns,
    }
}

/// Opens (or creates) the directory and reads, rolls forward and sweeps the store in it.
/// Returns the manifest and whether finishing the last commit failed (read-only directory).
fn open_dir(dir: &Path, mode: OpenMode, type_name: &str) -> Result<(Manifest, bool)> {
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
    let manifest = match std::fs::read(&path) {
        Ok(bytes) => {
            if mode == OpenMode::Create {
                return Err(Error::io(
                    &path,
                    io::Error::new(
                        io::ErrorKind::AlreadyExists,
                        "the directory already holds a store",
                    ),
                ));
            }
            let text = String::from_utf8(bytes).map_err(|_| Error::Corrupt {
                path: path.clone(),
                reason: "the manifest is not UTF-8 text".into(),
            })?;
            Manifest::decode(&text, &path)?
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let strays = fsio::data_files(dir)?;
            if let Some(first) = strays.first() {
                return Err(Error::Corrupt {
                    path,
                    reason: format!(
                        "no manifest, but {} data file(s) such as {} exist: the directory is \
                         not a soa store, or its manifest was lost",
                        strays.len(),
                        first.display()
                    ),
                });
            }
            Manifest::empty(type_name)
        }
        Err(e) => return Err(Error::io(path, e)),
    };
    if manifest.type_name != type_name {
        return Err(Error::SchemaMismatch {
            path,
            reason: format!(
                "the store holds rows of type `{}`, expected `{type_name}`",
                manifest.type_name
            ),
        });
    }
    // A failure here (read-only directory with leftovers) does not prevent reading: the store
    // opens unsettled and the next commit retries.
    let unsettled = settle(dir, &manifest).is_err();
    Ok((manifest, unsettled))
}

/// Finishes a commit: applies the pending renames, removes unlisted data files and staging
/// leftovers, and fsyncs the directory if anything changed. Idempotent.
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
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if let Err(e) = std::fs::symlink_metadata(&to) {
                    if e.kind() == io::ErrorKind::NotFound {
                        return Err(Error::Corrupt {
                            path: to,
                            reason: "a committed file is missing (neither it nor its staged copy \
                                     exists)"
                                .into(),
                        });
                    }
                    return Err(Error::io(to, e));
                }
            }
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
            file_schema: &self.file_schema,
            type_name: self.type_name,
            props: &self.props,
            row_group_size: self.options.row_group_size,
            threads: self.options.threads,
        }
    }

    fn run_write(&self, op: WriteOp) -> Result<()> {
        // Finish an earlier commit whose renames failed before building on it.
        {
            let mut state = self.state.blocking_write();
            if state.unsettled {
                settle(&self.dir, &state.manifest)?;
                state.unsettled = false;
            }
        }
        let (seq, next_part, files) = {
            let state = self.state.blocking_read();
            let m = &state.manifest;
            (m.seq + 1, m.next_part, m.files.clone())
        };
        match op {
            WriteOp::Clear => self.commit(seq, Vec::new(), Placement::Replace),
            // An empty store holds no data file (it has no rows to put in one).
            WriteOp::Save(batch) if batch.num_rows() == 0 => {
                self.commit(seq, Vec::new(), Placement::Replace)
            }
            WriteOp::Save(batch) => {
                let staged = self.stage(seq, DATA_FILE, [Ok(batch)])?;
                self.commit(seq, vec![staged], Placement::Replace)
            }
            WriteOp::SaveOwned(convert) => {
                let batch = convert()?;
                if batch.num_rows() == 0 {
                    return self.commit(seq, Vec::new(), Placement::Replace);
                }
                let staged = self.stage(seq, DATA_FILE, [Ok(batch)])?;
                self.commit(seq, vec![staged], Placement::Replace)
            }
            WriteOp::Append(batch) => {
                let staged = self.stage(seq, &fsio::part_name(next_part), [Ok(batch)])?;
                let placement = Placement::Append {
                    next_part: next_part + 1,
                };
                self.commit(seq, vec![staged], placement)
            }
            WriteOp::AppendOwned(convert) => {
                let staged = self.stage(seq, &fsio::part_name(next_part), [convert()])?;
                let placement = Placement::Append {
                    next_part: next_part + 1,
                };
                self.commit(seq, vec![staged], placement)
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

    /// Steps 2-4: commits the staged files (see the module docs).
    fn commit(
        &self,
        seq: u64,
        staged: Vec<(String, StoredFile)>,
        placement: Placement,
    ) -> Result<()> {
        let mut state = self.state.blocking_write();
        let next = match self.commit_manifest(&state.manifest, seq, &staged, placement) {
            Ok(next) => next,
            Err(e) => {
                for (name, _) in &staged {
                    let _ = std::fs::remove_file(self.dir.join(name));
                }
                return Err(e);
            }
        };
        // Committed: from here on the new manifest is the store's state, whatever fails next.
        state.manifest = next;
        let stats = stats_of(&state.manifest, &self.schema);
        match self.stats.lock() {
            Ok(mut s) => *s = stats,
            Err(poisoned) => *poisoned.into_inner() = stats,
        }
        let finish = self
            .fault(FaultPoint::AfterCommit)
            .and_then(|()| settle(&self.dir, &state.manifest));
        state.unsettled = finish.is_err();
        finish
    }

    /// Steps 2 and 3: returns the committed manifest, or an error before the commit point.
    fn commit_manifest(
        &self,
        current: &Manifest,
        seq: u64,
        staged: &[(String, StoredFile)],
        placement: Placement,
    ) -> Result<Manifest> {
        if current.seq + 1 != seq {
            return Err(Error::Task(format!(
                "commit {seq} raced another writer (the manifest is at {})",
                current.seq
            )));
        }
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
                next.files.extend(new_files);
                next.next_part = next_part;
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
    /// a later commit replaces or removes the names).
    fn snapshot(&self) -> Result<Vec<OpenFile>> {
        let state = self.state.blocking_read();
        let m = &state.manifest;
        m.files
            .iter()
            .map(|entry| {
                let staged = if state.unsettled {
                    m.pending
                        .iter()
                        .find(|(_, target)| *target == entry.name)
                        .map(|(staged, _)| staged.as_str())
                } else {
                    None
                };
                decode::open_listed(&self.dir, entry, staged, &self.bytes_read)
            })
            .collect()
    }

    /// A decoded batch with the row type's column types again where the file holds a column in
    /// another form (see `layout`), whichever profile wrote the file.
    fn restore(&self, batch: RecordBatch, path: &Path) -> Result<RecordBatch> {
        layout::from_file(batch, &self.schema, path)
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
            let batch = self.restore(batch, &file.path)?;
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
            let rows = usize::try_from(self.state.blocking_read().manifest.rows()).unwrap_or(0);
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
        decode::decode_columns(reader, &metadata, &file.path, names, batch_size, threads)?
            .into_iter()
            .map(|batch| self.restore(batch, &file.path))
            .collect()
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
    fn stream_file(&self, file: &OpenFile, batch_size: usize) -> Result<ParquetRecordBatchReader> {
        if self.options.verify_checksums {
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
            let mut reader = match self.stream_file(file, self.options.scan_batch_size) {
                Ok(reader) => reader,
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    return;
                }
            };
            loop {
                let next = decode::next_batch(&mut reader, &file.path)
                    .and_then(|b| b.map(|b| self.restore(b, &file.path)).transpose());
                match next {
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
                let next = decode::next_batch(reader, path)
                    .and_then(|b| b.map(|b| self.inner.restore(b, path)).transpose());
                match next {
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
            match self
                .inner
                .stream_file(&file, self.inner.options.scan_batch_size)
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

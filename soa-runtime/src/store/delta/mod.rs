//! Delta Lake tables on local disk, in memory and on object storage (S3, Azure Blob, GCS), one
//! table per row type, readable transactionally by every Delta reader (Spark, DuckDB, polars,
//! delta-rs, Trino).
//!
//! ```no_run
//! use soa_runtime::prelude::*;
//! use soa_runtime::store::delta::DeltaStore;
//! # #[derive(Soa, ToArrow, Debug, Clone, PartialEq)] struct Order { id: u64, symbol: String }
//! # async fn demo(orders: OrderSoA, more: OrderSoA) -> soa_runtime::Result<()> {
//! let store = DeltaStore::<Order>::open_or_create("./orders").await?;
//! store.save(&orders).await?;            // version 1: the table holds `orders`
//! store.append(&more).await?;            // version 2: one commit, any number of writers
//! assert_eq!(store.count().await?, (orders.len() + more.len()) as u64); // from the log
//! let then: OrderSoA = store.at_version(1).await?.load().await?;      // time travel
//! for commit in store.history().await? {
//!     println!("{} {} {}", commit.version, commit.operation, commit.rows_added);
//! }
//! # Ok(()) }
//! ```
//!
//! How it works: data files are Parquet, written by the same tuned encoder as
//! [`ParquetStore`](crate::ParquetStore), under the table root with random names; a commit is the
//! put-if-absent of the next `_delta_log/<version>.json` (actions: `commitInfo`, `add` with
//! statistics and tags, `remove`). A blind append that loses the race to another writer moves to
//! the next version (bounded, with backoff); an overwrite or compaction that conflicts with what
//! another writer committed fails with [`Error::CommitConflict`]. Reads replay the log from the
//! last checkpoint with the Delta kernel (`delta_kernel`), so readers see whole versions only.
//! Every `checkpoint_interval` commits (default 10) a checkpoint is written.
//!
//! Column types: see the mapping table in `types.rs` and the README (Delta has no unsigned
//! integers, nanoseconds, fixed-size binary or dictionaries: they are stored as the nearest
//! Delta type and converted back exactly on read).

mod location;
mod log;
mod skip;
mod state;
mod stats;
mod types;

use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use arrow_array::RecordBatch;
use bytes::Bytes;
use object_store::{ObjectStore, PutMode, PutOptions, PutPayload};
use parquet::file::properties::WriterProperties;
use serde_json::json;

use self::location::{Location, io};
use self::log::{AddFile, Commit, Operation, Publish, RemoveFile};
use self::state::{DataFile, Engine, TableState};
use self::stats::FileStats;
use self::types::TableTypes;
use crate::convert::ToArrow;
use crate::error::{Error, Result};
use crate::store::conform::conform;
use crate::store::core::OpenMode;
use crate::store::parquet::decode::{self, Columns};
use crate::store::parquet::encode::{WriteSettings, write_bytes, write_file};
use crate::store::parquet::{Codec, ParquetOptions};
use crate::store::partition::{Partition, PartitionSpec};
use crate::store::{
    BatchStream, ColumnStats, Record, SOURCE_FILE_KEY, ScanOptions, Store, StoreStats, WriteMode,
    blocking, filtered, project_columns,
};

pub use self::log::CommitInfo;

/// Options of a [`DeltaStore`] (see [`DeltaStoreBuilder`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DeltaOptions {
    /// Codec of the data files (default `Zstd(1)`).
    pub compression: Codec,
    /// Maximum rows per row group (default 1 048 576).
    pub row_group_size: usize,
    /// Threads encoding and decoding a file (default: up to 2).
    pub threads: usize,
    /// Verify each data file's CRC32 (from its `add` tags) when reading (default on).
    pub verify_checksums: bool,
    /// Rows per batch of a streaming scan (default 65 536).
    pub scan_batch_size: usize,
    /// A checkpoint after every this many commits (default 10; 0: never).
    pub checkpoint_interval: u64,
    /// Size `compact` aims for (default 128 MiB): files smaller than half of it are merged.
    pub target_file_size: u64,
    /// Attempts of a blind append that keeps losing the race for the next version (default 1000).
    pub max_commit_attempts: u32,
    /// Object-store options (`aws_endpoint`, `allow_http`, credentials, ...), as `object_store`
    /// names them; anything not given is read from the environment as `object_store` does.
    pub storage_options: HashMap<String, String>,
    /// `u64` columns of a new table as `decimal(20,0)` (every value) instead of `long` (values up
    /// to `i64::MAX`; faster). An existing table keeps the mapping it was created with.
    pub u64_as_decimal: bool,
}

impl Default for DeltaOptions {
    fn default() -> Self {
        let parquet = ParquetOptions::default();
        DeltaOptions {
            compression: parquet.compression,
            row_group_size: parquet.row_group_size,
            threads: parquet.threads,
            verify_checksums: true,
            scan_batch_size: parquet.scan_batch_size,
            checkpoint_interval: 10,
            target_file_size: 128 * 1024 * 1024,
            max_commit_attempts: 1000,
            storage_options: HashMap::new(),
            u64_as_decimal: false,
        }
    }
}

/// Configures and opens a [`DeltaStore`].
///
/// ```no_run
/// # use soa_runtime::{Soa, ToArrow};
/// # use soa_runtime::store::delta::DeltaStore;
/// # #[derive(Soa, ToArrow, Debug, Clone, PartialEq)] struct Order { id: u64 }
/// # async fn demo() -> soa_runtime::Result<()> {
/// // A local S3-compatible server (needs the `aws` feature).
/// let store = DeltaStore::<Order>::builder("s3://bucket/tables/orders")
///     .storage_option("aws_endpoint", "http://127.0.0.1:9000")
///     .allow_http(true)
///     .checkpoint_interval(100)
///     .open_or_create()
///     .await?;
/// # Ok(()) }
/// ```
pub struct DeltaStoreBuilder<T> {
    target: Target,
    options: DeltaOptions,
    /// `partition_by` as text (`None`: the row type's `#[soa(partition)]` fields).
    partition_by: Option<Vec<String>>,
    _rows: PhantomData<fn() -> T>,
}

enum Target {
    Url(String),
    Store(Arc<dyn ObjectStore>, String),
}

impl<T> fmt::Debug for DeltaStoreBuilder<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let target = match &self.target {
            Target::Url(url) => url.clone(),
            Target::Store(store, prefix) => format!("{store}/{prefix}"),
        };
        f.debug_struct("DeltaStoreBuilder")
            .field("target", &target)
            .field("options", &self.options)
            .finish()
    }
}

impl<T: Record> DeltaStoreBuilder<T> {
    /// Codec of the data files (default `Zstd(1)`).
    #[must_use]
    pub fn compression(mut self, codec: Codec) -> Self {
        self.options.compression = codec;
        self
    }

    /// Maximum rows per row group (default 1 048 576).
    #[must_use]
    pub fn row_group_size(mut self, rows: usize) -> Self {
        self.options.row_group_size = rows;
        self
    }

    /// Threads encoding and decoding one file (default: up to 2).
    #[must_use]
    pub fn threads(mut self, threads: usize) -> Self {
        self.options.threads = threads;
        self
    }

    /// Verify each data file's CRC32 when reading (default on).
    #[must_use]
    pub fn verify_checksums(mut self, verify: bool) -> Self {
        self.options.verify_checksums = verify;
        self
    }

    /// Rows per batch of a streaming scan (default 65 536).
    #[must_use]
    pub fn scan_batch_size(mut self, rows: usize) -> Self {
        self.options.scan_batch_size = rows;
        self
    }

    /// A checkpoint after every `commits` commits (default 10; 0: never).
    #[must_use]
    pub fn checkpoint_interval(mut self, commits: u64) -> Self {
        self.options.checkpoint_interval = commits;
        self
    }

    /// File size `compact` aims for (default 128 MiB).
    #[must_use]
    pub fn target_file_size(mut self, bytes: u64) -> Self {
        self.options.target_file_size = bytes;
        self
    }

    /// Attempts of a blind append that keeps losing the race for the next version (default 1000).
    #[must_use]
    pub fn max_commit_attempts(mut self, attempts: u32) -> Self {
        self.options.max_commit_attempts = attempts;
        self
    }

    /// One object-store option, named as `object_store` names it (`aws_endpoint`,
    /// `aws_region`, `azure_storage_account_name`, `google_service_account`, ...).
    #[must_use]
    pub fn storage_option(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.options
            .storage_options
            .insert(key.into(), value.into());
        self
    }

    /// Several object-store options.
    #[must_use]
    pub fn storage_options<K: Into<String>, V: Into<String>>(
        mut self,
        options: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        for (k, v) in options {
            self.options.storage_options.insert(k.into(), v.into());
        }
        self
    }

    /// `u64` columns of a new table as `decimal(20,0)`, which holds every `u64`, instead of the
    /// default `long`, which holds values up to `i64::MAX` (a larger value is
    /// `Error::OutOfRange` naming the field) and is faster to write and read. Opening an existing
    /// table uses the mapping it was created with, whatever this says.
    #[must_use]
    pub fn u64_as_decimal(mut self, decimal: bool) -> Self {
        self.options.u64_as_decimal = decimal;
        self
    }

    /// Allows plain `http://` endpoints (local S3 or Azurite servers).
    #[must_use]
    pub fn allow_http(self, allow: bool) -> Self {
        self.storage_option("allow_http", allow.to_string())
    }

    /// Opens the table; [`Error::TableNotFound`] if there is none.
    ///
    /// # Errors
    /// Also [`Error::SchemaMismatch`] if the table was written for another row type or its columns
    /// do not read as this type's, [`Error::Delta`] for a log this crate cannot read.
    /// Partitions a new table by these columns and transforms (the table's
    /// `partitionColumns`; see [`ParquetStoreBuilder::partition_by`](crate::store::parquet::ParquetStoreBuilder::partition_by)
    /// for the forms), replacing the row type's `#[soa(partition)]` fields. Files go to Hive
    /// directories `key=value/` under the table root. An identity partition column is not stored
    /// in the data files (Delta readers take it from `partitionValues`); a transform (`day(ts)`)
    /// adds its key as a column of the table schema (`day`: `date`; `year`, `bucket`:
    /// `integer`; `month`, `hour`: `string`) that Delta readers see and this store drops.
    ///
    /// An existing table keeps its partitioning (recorded in the table property
    /// `soa.partitionBy`, or its identity `partitionColumns` if another writer created it);
    /// opening it with a different one is an [`Error::InvalidOption`].
    #[must_use]
    pub fn partition_by<I>(mut self, partitions: I) -> Self
    where
        I: IntoIterator,
        I::Item: ToString,
    {
        self.partition_by = Some(partitions.into_iter().map(|p| p.to_string()).collect());
        self
    }

    pub async fn open(self) -> Result<DeltaStore<T>> {
        self.build(OpenMode::Existing).await
    }

    /// Creates the table (version 0: protocol and schema); [`Error::TableExists`] if there is one.
    ///
    /// # Errors
    /// Also [`Error::UnsupportedType`] naming a field whose type Delta cannot hold.
    pub async fn create(self) -> Result<DeltaStore<T>> {
        self.build(OpenMode::Create).await
    }

    /// Opens the table, creating it if there is none (also when several processes race to).
    ///
    /// # Errors
    /// As [`open`](Self::open) and [`create`](Self::create).
    pub async fn open_or_create(self) -> Result<DeltaStore<T>> {
        self.build(OpenMode::OpenOrCreate).await
    }

    async fn build(self, mode: OpenMode) -> Result<DeltaStore<T>> {
        let options = self.options;
        let location = match self.target {
            Target::Url(url) => Location::parse(&url, &options.storage_options)?,
            Target::Store(store, prefix) => Location::with_store(store, &prefix)?,
        };
        let type_name = <T::Columns as ToArrow>::TYPE_NAME;
        if options.target_file_size == 0 {
            return Err(Error::InvalidOption {
                option: "target_file_size",
                reason: "must be at least 1".into(),
            });
        }
        if options.max_commit_attempts == 0 {
            return Err(Error::InvalidOption {
                option: "max_commit_attempts",
                reason: "must be at least 1".into(),
            });
        }
        let engine = state::engine(&location)?;
        let schema = <T::Columns as ToArrow>::schema();
        let explicit = self.partition_by.is_some();
        let wanted: Vec<String> = match self.partition_by {
            Some(texts) => texts,
            None => <T::Columns as ToArrow>::PARTITION_BY
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
        };
        let make = |u64_as_decimal: bool, texts: &[String]| -> Result<Arc<Inner>> {
            let parts = texts
                .iter()
                .map(|t| t.parse::<Partition>())
                .collect::<Result<Vec<_>>>()?;
            let spec = PartitionSpec::resolve(&parts, &schema, type_name, "DeltaStore")?;
            let types = TableTypes::new(&schema, type_name, u64_as_decimal)?.with_partitions(&spec);
            let parquet = ParquetOptions {
                compression: options.compression,
                row_group_size: options.row_group_size,
                threads: options.threads,
                scan_batch_size: options.scan_batch_size,
                ..ParquetOptions::default()
            };
            let props = parquet.writer_properties(&types.file, type_name)?;
            Ok(Arc::new(Inner {
                location: location.clone(),
                engine: Arc::clone(&engine),
                types,
                type_name,
                props,
                options: options.clone(),
                state: Mutex::new(None),
                writer: tokio::sync::Mutex::new(()),
                spec,
            }))
        };
        let mut inner = make(options.u64_as_decimal, &wanted)?;
        let exists = {
            let inner = Arc::clone(&inner);
            io(async move { inner.has_log().await }).await?
        };
        match (mode, exists) {
            (OpenMode::Existing, false) => {
                return Err(Error::TableNotFound {
                    location: inner.location.display.clone(),
                });
            }
            (OpenMode::Create, true) => {
                return Err(Error::TableExists {
                    location: inner.location.display.clone(),
                });
            }
            (OpenMode::Create | OpenMode::OpenOrCreate, false) => {
                let created = {
                    let inner = Arc::clone(&inner);
                    io(async move { inner.create_table().await }).await?
                };
                if !created && mode == OpenMode::Create {
                    return Err(Error::TableExists {
                        location: inner.location.display.clone(),
                    });
                }
            }
            _ => {}
        }
        let state = {
            let inner = Arc::clone(&inner);
            blocking(move || inner.latest()).await?
        };
        // The table's own partitioning wins over the type's; an explicit different one is refused.
        let stored = stored_partitioning(&state, &schema);
        if stored != inner.spec.texts() {
            if explicit {
                return Err(Error::InvalidOption {
                    option: "partition_by",
                    reason: format!(
                        "the table at {} is partitioned by {stored:?}, not {wanted:?}",
                        inner.location.display
                    ),
                });
            }
            let again = make(inner.options.u64_as_decimal, &stored)?;
            if let Ok(mut slot) = again.state.lock() {
                *slot = Some(state.clone());
            }
            inner = again;
        }
        if let Err(e) = inner.check_table(&state) {
            // A table created with the other `u64` mapping (or by another writer that chose it)
            // is read and written with that mapping.
            let other = make(!inner.options.u64_as_decimal, &inner.spec.texts())?;
            if other.types.schema_string == inner.types.schema_string
                || other.check_table(&state).is_err()
            {
                return Err(e);
            }
            if let Ok(mut slot) = other.state.lock() {
                *slot = Some(state);
            }
            inner = other;
        }
        Ok(DeltaStore {
            inner,
            pinned: None,
            _rows: PhantomData,
        })
    }
}

/// A Delta table of `T` rows (see the [module documentation](self)). Cloning is cheap and
/// clones share state.
pub struct DeltaStore<T> {
    inner: Arc<Inner>,
    /// A time-travel view: the version it reads (writes are refused).
    pinned: Option<TableState>,
    _rows: PhantomData<fn() -> T>,
}

impl<T> Clone for DeltaStore<T> {
    fn clone(&self) -> Self {
        DeltaStore {
            inner: Arc::clone(&self.inner),
            pinned: self.pinned.clone(),
            _rows: PhantomData,
        }
    }
}

impl<T> fmt::Debug for DeltaStore<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeltaStore")
            .field("location", &self.inner.location.display)
            .field("version", &self.pinned.as_ref().map(TableState::version))
            .finish_non_exhaustive()
    }
}

/// What [`DeltaStore::vacuum`] deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct VacuumReport {
    /// Data files deleted (relative to the table root).
    pub deleted: Vec<String>,
    /// Their bytes.
    pub bytes: u64,
}

/// What [`DeltaStore::compact`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CompactReport {
    /// The version of the compaction commit (`None`: nothing to compact, no commit).
    pub version: Option<u64>,
    /// Files rewritten.
    pub files_removed: u64,
    /// Files written.
    pub files_added: u64,
}

struct Inner {
    location: Location,
    engine: Arc<Engine>,
    types: TableTypes,
    type_name: &'static str,
    props: WriterProperties,
    options: DeltaOptions,
    /// The latest state seen.
    state: Mutex<Option<TableState>>,
    /// One commit at a time per instance (other instances and processes race by put-if-absent).
    writer: tokio::sync::Mutex<()>,
    /// How rows are partitioned (empty: not partitioned).
    spec: PartitionSpec,
}

impl<T: Record> DeltaStore<T> {
    /// Opens the table at `url` (`./dir`, `file:///...`, `memory://name`, `s3://bucket/prefix`,
    /// `az://container/prefix`, `gs://bucket/prefix`). See [`DeltaStoreBuilder::open`].
    ///
    /// # Errors
    /// [`Error::TableNotFound`], [`Error::SchemaMismatch`], [`Error::Delta`], object-store errors.
    pub async fn open(url: impl AsRef<str>) -> Result<Self> {
        Self::builder(url).open().await
    }

    /// Creates a table at `url`. See [`DeltaStoreBuilder::create`].
    ///
    /// # Errors
    /// [`Error::TableExists`], [`Error::UnsupportedType`], object-store errors.
    pub async fn create(url: impl AsRef<str>) -> Result<Self> {
        Self::builder(url).create().await
    }

    /// Opens the table at `url`, creating it if there is none.
    ///
    /// # Errors
    /// As [`open`](Self::open) and [`create`](Self::create).
    pub async fn open_or_create(url: impl AsRef<str>) -> Result<Self> {
        Self::builder(url).open_or_create().await
    }

    /// A builder for the table at `url`, with options.
    pub fn builder(url: impl AsRef<str>) -> DeltaStoreBuilder<T> {
        DeltaStoreBuilder {
            target: Target::Url(url.as_ref().to_owned()),
            options: DeltaOptions::default(),
            partition_by: None,
            _rows: PhantomData,
        }
    }

    /// A builder for the table at `prefix` inside an object store the caller built (any
    /// `object_store` backend, with its own credentials, retries and wrappers).
    pub fn builder_with_store(
        store: Arc<dyn ObjectStore>,
        prefix: impl Into<String>,
    ) -> DeltaStoreBuilder<T> {
        DeltaStoreBuilder {
            target: Target::Store(store, prefix.into()),
            options: DeltaOptions::default(),
            partition_by: None,
            _rows: PhantomData,
        }
    }

    /// The table's location as given.
    pub fn location(&self) -> &str {
        &self.inner.location.display
    }

    /// The options the store was opened with.
    pub fn options(&self) -> &DeltaOptions {
        &self.inner.options
    }

    /// The table version this store reads: the pinned version of a time-travel view, else the
    /// latest (one listing of the log since the last version seen).
    ///
    /// # Errors
    /// Object-store and log errors.
    pub async fn version(&self) -> Result<u64> {
        Ok(self.state().await?.version())
    }

    /// Appends `batches` and records `position` for the application `name` in the same commit:
    /// a Delta `txn` action (`appId`, `version`), the protocol's way for a stream writer to know
    /// what a table already holds. Other Delta readers ignore it; writers that use it (Spark
    /// structured streaming, deltalake) read it the same way. An append without rows still
    /// records the position.
    ///
    /// # Errors
    /// As [`Store::write_batches`].
    pub async fn append_marked(
        &self,
        batches: Vec<RecordBatch>,
        name: &str,
        position: u64,
    ) -> Result<()> {
        self.writable()?;
        let batches = batches
            .into_iter()
            .map(|batch| conform(&self.inner.types.row, batch, None))
            .filter(|b| b.as_ref().map_or(true, |b| b.num_rows() > 0))
            .collect::<Result<Vec<_>>>()?;
        let version = i64::try_from(position).map_err(|_| Error::InvalidOption {
            option: "append_marked",
            reason: format!("position {position} does not fit a Delta txn version (i64)"),
        })?;
        let _guard = self.inner.writer.lock().await;
        let inner = Arc::clone(&self.inner);
        let files = blocking(move || {
            inner.latest()?;
            if batches.is_empty() {
                return Ok(Vec::new());
            }
            inner.encode_split(&batches)
        })
        .await?;
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let txn = json!({"txn": {"appId": name, "version": version, "lastUpdated": now}});
        let version = self
            .inner
            .commit(Operation::Append, files, Vec::new(), vec![txn])
            .await?;
        self.settle(version).await;
        Ok(())
    }

    /// The position last recorded for `name` by [`append_marked`](Self::append_marked) (its
    /// `txn` action), in the latest version (or the pinned one).
    ///
    /// # Errors
    /// Object-store and log errors.
    pub async fn marked(&self, name: &str) -> Result<Option<u64>> {
        let state = self.state().await?;
        self.marked_in(&state, name).await
    }

    /// A read-only view of the version the table is at now, and the position recorded for
    /// `name` in it: reads of the view and the position agree.
    pub(crate) async fn pinned_marked(&self, name: &str) -> Result<(DeltaStore<T>, Option<u64>)> {
        let state = self.state().await?;
        let position = self.marked_in(&state, name).await?;
        let view = DeltaStore {
            inner: Arc::clone(&self.inner),
            pinned: Some(state),
            _rows: PhantomData,
        };
        Ok((view, position))
    }

    /// Every row of the version the table is at now, and the position recorded for `name` in
    /// it, on the calling thread (blocking: the work runs on the store's I/O runtime).
    pub(crate) fn blocking_rows_marked(
        &self,
        name: &str,
    ) -> Result<(Vec<RecordBatch>, Option<u64>)> {
        let store = self.clone();
        let name = name.to_owned();
        let task = location::runtime()?.spawn(async move {
            use futures::StreamExt as _;
            let (view, position) = store.pinned_marked(&name).await?;
            let mut stream = view
                .scan_with(ScanOptions::new().batch_size(usize::MAX))
                .await?;
            let mut rows = Vec::new();
            while let Some(batch) = stream.next().await {
                rows.push(batch?);
            }
            Ok::<_, Error>((rows, position))
        });
        futures::executor::block_on(task)
            .map_err(|e| Error::Task(format!("reading a Delta table: {e}")))?
    }

    async fn marked_in(&self, state: &TableState, name: &str) -> Result<Option<u64>> {
        let inner = Arc::clone(&self.inner);
        let snapshot = state.snapshot.clone();
        let name = name.to_owned();
        blocking(move || {
            let version = snapshot
                .get_app_id_version(&name, inner.engine.as_ref())
                .map_err(|e| state::kernel_error(&inner.location, e))?;
            Ok(version.and_then(|v| u64::try_from(v).ok()))
        })
        .await
    }

    /// A read-only view of the table as of `version` (time travel): `load`, `scan`, `count`
    /// read that version; writes fail.
    ///
    /// # Errors
    /// [`Error::Delta`] if the version does not exist (or its log was cleaned up).
    pub async fn at_version(&self, version: u64) -> Result<DeltaStore<T>> {
        let inner = Arc::clone(&self.inner);
        let state =
            blocking(move || state::load(&inner.location, &inner.engine, Some(version))).await?;
        Ok(DeltaStore {
            inner: Arc::clone(&self.inner),
            pinned: Some(state),
            _rows: PhantomData,
        })
    }

    /// A read-only view of the table as it was at `time`: the latest version committed at or
    /// before it.
    ///
    /// # Errors
    /// [`Error::Delta`] if the table has no version that old.
    pub async fn at_timestamp(&self, time: SystemTime) -> Result<DeltaStore<T>> {
        let history = self.history().await?;
        let version = history
            .iter()
            .filter(|c| c.timestamp <= time)
            .map(|c| c.version)
            .max()
            .ok_or_else(|| Error::Delta {
                location: self.inner.location.display.clone(),
                reason: format!(
                    "no version was committed at or before {}",
                    humantime_ms(time)
                ),
            })?;
        self.at_version(version).await
    }

    /// Every commit of the table, oldest first (reads each commit file of the log).
    ///
    /// # Errors
    /// Object-store errors, [`Error::Delta`] for an unreadable commit file.
    pub async fn history(&self) -> Result<Vec<CommitInfo>> {
        let location = self.inner.location.clone();
        io(async move {
            use futures::StreamExt;
            let versions = log::list_commits(&location).await?;
            let reads = versions.into_iter().map(|(version, modified)| {
                let location = location.clone();
                async move {
                    let actions = log::read_commit(&location, version)
                        .await?
                        .unwrap_or_default();
                    Ok::<_, Error>(log::commit_info(version, &actions, modified))
                }
            });
            futures::stream::iter(reads)
                .buffered(16)
                .collect::<Vec<_>>()
                .await
                .into_iter()
                .collect()
        })
        .await
    }

    /// Rewrites runs of adjacent small files (under half of `target_file_size`) into files of
    /// about `target_file_size`, in one commit with `dataChange = false`: readers see the same
    /// rows in the same order. Every file read is checksum-verified. Old files stay (for time
    /// travel) until [`vacuum`](Self::vacuum).
    ///
    /// # Errors
    /// Read errors ([`Error::Corrupt`], ...), [`Error::CommitConflict`] if another writer removed
    /// a file being rewritten; the table is unchanged on error.
    pub async fn compact(&self) -> Result<CompactReport> {
        self.writable()?;
        let _guard = self.inner.writer.lock().await;
        let state = self.state().await?;
        let half = self.inner.options.target_file_size / 2;
        let mut runs: Vec<Vec<DataFile>> = Vec::new();
        let mut run: Vec<DataFile> = Vec::new();
        let mut run_bytes = 0u64;
        // Runs of adjacent small files of one partition (files grouped by partition, each
        // partition in the order of its first file).
        let mut files: Vec<&DataFile> = Vec::with_capacity(state.files.len());
        let mut seen: Vec<&[(String, Option<String>)]> = Vec::new();
        for file in state.files.iter() {
            if !seen.contains(&file.partition.as_slice()) {
                seen.push(&file.partition);
                files.extend(state.files.iter().filter(|f| f.partition == file.partition));
            }
        }
        for file in files {
            let small = file.size < half;
            let same = run.first().is_none_or(|f| f.partition == file.partition);
            if small && same && run_bytes + file.size <= self.inner.options.target_file_size {
                run_bytes += file.size;
                run.push(file.clone());
                continue;
            }
            if run.len() > 1 {
                runs.push(std::mem::take(&mut run));
            }
            run.clear();
            run_bytes = 0;
            if small {
                run_bytes = file.size;
                run.push(file.clone());
            }
        }
        if run.len() > 1 {
            runs.push(run);
        }
        if runs.is_empty() {
            return Ok(CompactReport::default());
        }
        let mut adds = Vec::with_capacity(runs.len());
        let mut removes = Vec::new();
        for run in &runs {
            let mut batches = Vec::new();
            for file in run {
                let bytes = self.inner.fetch(file, true).await?;
                let inner = Arc::clone(&self.inner);
                let file_copy = file.clone();
                let mut read =
                    blocking(move || inner.decode_whole(&bytes, &file_copy, None)).await?;
                batches.append(&mut read);
                removes.push(RemoveFile {
                    path: file.path.clone(),
                    size: file.size,
                    partition: file.partition.clone(),
                });
            }
            let inner = Arc::clone(&self.inner);
            let values = self.inner.values_of(&run[0]);
            let mut add = blocking(move || {
                let file_batches = batches
                    .iter()
                    .map(|b| {
                        // Without the file label: the new file's batches.
                        let schema =
                            Arc::new(arrow_schema::Schema::new(b.schema().fields().clone()));
                        let b = RecordBatch::try_new(schema, b.columns().to_vec())
                            .map_err(|e| Error::arrow("compacting", e))?;
                        let b = conform(&inner.types.row, b, None)?;
                        inner.types.to_file(&b, inner.type_name)
                    })
                    .collect::<Result<Vec<_>>>()?;
                inner.encode(file_batches, &values)
            })
            .await?;
            add.0.order = run.first().and_then(|f| f.order.clone());
            adds.push(add);
        }
        let version = self
            .inner
            .commit(Operation::Compact, adds, removes.clone(), Vec::new())
            .await?;
        self.settle(version).await;
        Ok(CompactReport {
            version: Some(version),
            files_removed: removes.len() as u64,
            files_added: runs.len() as u64,
        })
    }

    /// The partitions of the version read with their files, rows (from the `add` statistics)
    /// and bytes, from the log (no data file is read), in order of first appearance. An
    /// unpartitioned table is one partition with no values.
    ///
    /// # Errors
    /// As [`Store::count`].
    pub async fn partitions(&self) -> Result<Vec<crate::store::partition::PartitionInfo>> {
        let state = self.state().await?;
        let keys = self.inner.spec.keys();
        let files = state.files.iter().map(|file| {
            let values = keys
                .iter()
                .cloned()
                .zip(self.inner.values_of(file))
                .collect();
            (values, file.rows.unwrap_or(0), file.size)
        });
        Ok(self.inner.spec.infos(std::path::Path::new(""), files))
    }

    /// How the table is partitioned (empty: not partitioned).
    pub fn partitioning(&self) -> Vec<Partition> {
        self.inner
            .spec
            .fields
            .iter()
            .map(|f| f.partition.clone())
            .collect()
    }

    /// Deletes data files that the latest version does not reference and that are older than
    /// `retention` (by their modification time in the object store): files of versions older
    /// than the retention can no longer be read by time travel afterwards. Files whose commit
    /// failed (a writer killed between writing a file and committing it) are deleted here, and
    /// only here. The log is never touched.
    ///
    /// # Errors
    /// Object-store errors (what was deleted before the error stays deleted).
    pub async fn vacuum(&self, retention: Duration) -> Result<VacuumReport> {
        self.writable()?;
        let state = self.state().await?;
        let referenced: std::collections::HashSet<String> =
            state.files.iter().map(|f| f.path.clone()).collect();
        let location = self.inner.location.clone();
        let cutoff = SystemTime::now()
            .checked_sub(retention)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let report = io(async move {
            use futures::{StreamExt, TryStreamExt};
            let objects: Vec<object_store::ObjectMeta> = location
                .store
                .list(Some(&location.root))
                .try_collect()
                .await
                .map_err(|e| location.error("list", &location.root, e))?;
            let mut report = VacuumReport::default();
            for object in objects {
                let Some(parts) = object.location.prefix_match(&location.root) else {
                    continue;
                };
                let parts: Vec<String> = parts.map(|p| p.as_ref().to_owned()).collect();
                let hidden = parts
                    .iter()
                    .take(parts.len().saturating_sub(1))
                    .chain(parts.last())
                    .any(|p| p.starts_with('_') || p.starts_with('.'));
                let rel = parts.join("/");
                // A local listing names `k=a%2Fb` as `k=a%252Fb` (object_store's encoding of
                // `%`): a file is kept if either spelling is referenced.
                let decoded: Vec<String> = parts
                    .iter()
                    .map(|p| crate::store::partition::unescape(p))
                    .collect();
                if hidden
                    || referenced.contains(&rel)
                    || referenced.contains(&decoded.join("/"))
                    || SystemTime::from(object.last_modified) > cutoff
                {
                    continue;
                }
                let one = futures::stream::iter([Ok(object.location.clone())]).boxed();
                let deleted = location.store.delete_stream(one).next().await;
                match deleted {
                    None | Some(Ok(_) | Err(object_store::Error::NotFound { .. })) => {}
                    Some(Err(e)) => return Err(location.error("delete", &object.location, e)),
                }
                report.bytes += object.size;
                report.deleted.push(rel);
            }
            Ok(report)
        })
        .await?;
        // On local disk, `object_store` writes `<name>#<n>` and renames it into place; a writer
        // killed in between leaves it, unlisted by the store. Those go too.
        let mut report = report;
        if self.inner.location.url.scheme() == "file"
            && let Ok(root) = self.inner.location.url.to_file_path()
        {
            let staged = blocking(move || Ok(sweep_staging(&root, cutoff))).await?;
            for (rel, bytes) in staged {
                report.bytes += bytes;
                report.deleted.push(rel);
            }
        }
        Ok(report)
    }

    /// Writes a checkpoint of the latest version now (normally written every
    /// `checkpoint_interval` commits).
    ///
    /// # Errors
    /// Object-store and kernel errors.
    pub async fn checkpoint(&self) -> Result<u64> {
        self.writable()?;
        let inner = Arc::clone(&self.inner);
        blocking(move || {
            let state = inner.latest()?;
            inner.checkpoint(&state)?;
            Ok(state.version())
        })
        .await
    }

    fn writable(&self) -> Result<()> {
        match &self.pinned {
            Some(state) => Err(Error::Delta {
                location: self.inner.location.display.clone(),
                reason: format!(
                    "this view reads version {} (time travel) and cannot write",
                    state.version()
                ),
            }),
            None => Ok(()),
        }
    }

    /// After a commit: the state (and `stats`) brought up to date. The commit stands whatever
    /// happens here; a failed refresh is retried by the next read.
    /// Also writes the checkpoint when `version` (the commit just made) is due one, from the
    /// state just refreshed (a log replay only if another writer committed in between). A
    /// checkpoint failure does not undo the commit; the next interval tries again.
    async fn settle(&self, version: u64) {
        let inner = Arc::clone(&self.inner);
        let _ = blocking(move || {
            let latest = inner.latest()?;
            let interval = inner.options.checkpoint_interval;
            if interval > 0 && version.is_multiple_of(interval) {
                let state = if latest.version() == version {
                    latest
                } else {
                    state::load(&inner.location, &inner.engine, Some(version))?
                };
                inner.checkpoint(&state)?;
            }
            Ok(())
        })
        .await;
    }

    async fn state(&self) -> Result<TableState> {
        if let Some(state) = &self.pinned {
            return Ok(state.clone());
        }
        let inner = Arc::clone(&self.inner);
        blocking(move || inner.latest()).await
    }
}

/// Deletes `object_store`'s local staging files (`<name>#<digits>`) under `root` older than
/// `cutoff` (in `_delta_log` too: a staged commit file is never part of the log); returns what was
/// deleted, relative to `root`.
fn sweep_staging(root: &std::path::Path, cutoff: SystemTime) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = entry.metadata() else {
                continue;
            };
            if meta.is_dir() {
                stack.push(path);
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            let staged = name
                .rsplit_once('#')
                .is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
            let old = meta.modified().is_ok_and(|m| m <= cutoff);
            if staged && old && std::fs::remove_file(&path).is_ok() {
                let rel = path
                    .strip_prefix(root)
                    .map_or(name, |p| p.to_string_lossy().into_owned());
                out.push((rel, meta.len()));
            }
        }
    }
    out
}

fn humantime_ms(time: SystemTime) -> String {
    match time.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => format!("{} ms after the Unix epoch", d.as_millis()),
        Err(_) => "a time before the Unix epoch".into(),
    }
}

impl Inner {
    fn file_label(&self, file: &DataFile) -> PathBuf {
        PathBuf::from(self.location.describe(&self.location.child(&file.path)))
    }

    async fn has_log(&self) -> Result<bool> {
        use futures::StreamExt;
        let dir = self.location.log_dir();
        let mut list = self.location.store.list(Some(&dir));
        while let Some(object) = list.next().await {
            let object = object.map_err(|e| self.location.error("list", &dir, e))?;
            if let Some(name) = object.location.filename()
                && (name.ends_with(".json") || name.ends_with(".parquet"))
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Writes version 0 (protocol, metadata). `false` if another writer created the table first.
    async fn create_table(&self) -> Result<bool> {
        let now = log::now_ms();
        let mut configuration = serde_json::Map::new();
        configuration.insert(log::ROW_TYPE_PROPERTY.into(), json!(self.type_name));
        if self.options.checkpoint_interval > 0 {
            configuration.insert(
                "delta.checkpointInterval".into(),
                json!(self.options.checkpoint_interval.to_string()),
            );
        }
        if !self.spec.is_empty() {
            configuration.insert(
                PARTITION_PROPERTY.into(),
                json!(serde_json::to_string(&self.spec.texts()).unwrap_or_default()),
            );
        }
        let commit = Commit {
            id: log::random_id(),
            operation: Operation::Create,
            adds: Vec::new(),
            removes: Vec::new(),
            head: vec![
                json!({"protocol": {"minReaderVersion": 1, "minWriterVersion": 2}}),
                json!({"metaData": {
                    "id": log::random_id(),
                    "name": self.type_name,
                    "format": {"provider": "parquet", "options": {}},
                    "schemaString": self.types.schema_string,
                    "partitionColumns": self.spec.keys(),
                    "configuration": configuration,
                    "createdTime": now,
                }}),
            ],
        };
        let body = commit.to_json(0);
        match log::publish(&self.location, 0, &commit.id, body).await? {
            Publish::Committed => Ok(true),
            Publish::Taken => Ok(false),
        }
    }

    /// The latest state (cached; one incremental listing). Blocking.
    fn latest(&self) -> Result<TableState> {
        let previous = self
            .state
            .lock()
            .map(|s| s.clone())
            .unwrap_or_else(|p| p.into_inner().clone());
        let state = match previous {
            Some(previous) => state::refresh(&self.location, &self.engine, &previous)?,
            None => state::load(&self.location, &self.engine, None)?,
        };
        let mut slot = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if slot.as_ref().is_none_or(|s| s.version() <= state.version()) {
            *slot = Some(state.clone());
        }
        Ok(state)
    }

    /// Checks that the table holds this row type: its recorded type if any, and every column.
    fn check_table(&self, state: &TableState) -> Result<()> {
        let mismatch = |reason: String| Error::SchemaMismatch {
            path: Some(PathBuf::from(&self.location.display)),
            reason,
        };
        if let Some(found) = state.row_type()
            && found != self.type_name
        {
            return Err(mismatch(format!(
                "the table holds {found} rows, not {}",
                self.type_name
            )));
        }
        let table = state.snapshot.schema();
        let ours: delta_kernel::schema::StructType =
            serde_json::from_str(&self.types.schema_string).map_err(|e| {
                mismatch(format!("the row type's Delta schema does not parse: {e}"))
            })?;
        for field in ours.fields() {
            match table.field(field.name()) {
                Some(theirs) if same_shape(theirs.data_type(), field.data_type()) => {}
                Some(theirs) => {
                    return Err(mismatch(format!(
                        "column {}: the table has {:?}, {} needs {:?}",
                        field.name(),
                        theirs.data_type(),
                        self.type_name,
                        field.data_type()
                    )));
                }
                None if field.is_nullable() => {}
                None => {
                    return Err(mismatch(format!(
                        "the table has no column {} (a non-optional field of {})",
                        field.name(),
                        self.type_name
                    )));
                }
            }
        }
        Ok(())
    }

    /// Encodes file-typed batches into one data file's bytes and its `add`. Blocking.
    fn encode(
        &self,
        batches: Vec<RecordBatch>,
        partition: &[Option<String>],
    ) -> Result<(AddFile, Option<Bytes>)> {
        let file_name = format!(
            "part-{}.{}.parquet",
            log::random_id(),
            codec_suffix(self.options.compression)
        );
        let name = if self.spec.is_empty() {
            file_name
        } else {
            format!("{}/{file_name}", self.spec.dir(partition))
        };
        let batches = batches
            .iter()
            .map(|b| self.spec.data_batch(b))
            .collect::<Result<Vec<_>>>()?;
        let label = PathBuf::from(format!("{}/{name}", self.location.display));
        let settings = WriteSettings {
            schema: &self.types.data_file,
            file_schema: &self.types.data_file,
            type_name: self.type_name,
            props: &self.props,
            row_group_size: self.options.row_group_size,
            threads: self.options.threads,
        };
        let batches = batches.into_iter().map(Ok);
        // On local disk the file is written in place (a new name, fsynced, then its directory),
        // as `ParquetStore` writes; elsewhere it is built in memory and uploaded by `commit`.
        let (written, bytes) = match self.local_root() {
            Some(root) => {
                let path = root.join(&name);
                let dir = path
                    .parent()
                    .map_or_else(|| root.clone(), std::path::Path::to_path_buf);
                let created = !dir.exists();
                std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
                let written = write_file(&path, settings, batches)?;
                crate::store::durable::sync_dir(&dir)?;
                if created {
                    // New partition directories are durable before the commit names them.
                    let mut up = dir.parent();
                    while let Some(parent) = up {
                        crate::store::durable::sync_dir(parent)?;
                        if parent == root {
                            break;
                        }
                        up = parent.parent();
                    }
                }
                (written, None)
            }
            None => {
                let (bytes, written) = write_bytes(&label, settings, batches)?;
                (written, Some(Bytes::from(bytes)))
            }
        };
        let stats = FileStats::from_parquet(&written.metadata, &self.types.data_file);
        Ok((
            AddFile {
                path: name,
                size: written.size,
                stats: stats.to_json(),
                crc32: written.crc32,
                order: None,
                column_bytes: written.column_bytes,
                partition: self
                    .spec
                    .keys()
                    .into_iter()
                    .zip(partition.iter().cloned())
                    .collect(),
            },
            bytes,
        ))
    }

    /// A file's partition values in the order of the spec's keys.
    fn values_of(&self, file: &DataFile) -> Vec<Option<String>> {
        self.spec
            .keys()
            .iter()
            .map(|k| {
                file.partition
                    .iter()
                    .find(|(key, _)| key == k)
                    .and_then(|(_, v)| v.clone())
            })
            .collect()
    }

    /// Adds the identity partition columns a file does not hold (no-op when unpartitioned).
    fn complete(
        &self,
        batch: RecordBatch,
        partition: &[(String, Option<String>)],
        columns: Option<&[String]>,
    ) -> Result<RecordBatch> {
        if Arc::ptr_eq(&self.types.data_file, &self.types.file) {
            return Ok(batch);
        }
        let keys = self.spec.keys();
        let values: Vec<(String, Option<String>)> = keys
            .iter()
            .map(|k| {
                let v = partition
                    .iter()
                    .find(|(key, _)| key == k)
                    .and_then(|(_, v)| v.clone());
                (k.clone(), v)
            })
            .collect();
        self.spec.complete(batch, &self.types.row, &values, columns)
    }

    /// Which files the predicate may match by their partition values.
    fn partitions_may_match(&self, files: &[DataFile], expr: &crate::predicate::Expr) -> Vec<bool> {
        let values: Vec<Vec<Option<String>>> = files.iter().map(|f| self.values_of(f)).collect();
        let rows: Vec<u64> = files.iter().map(|f| f.rows.unwrap_or(0)).collect();
        let units: Vec<(&[Option<String>], u64)> = values
            .iter()
            .zip(&rows)
            .map(|(v, r)| (v.as_slice(), *r))
            .collect();
        let mut stats = self.spec.stats(&units);
        crate::store::prune::may_match(expr, files.len(), &mut stats)
    }

    /// Row-typed batches as data files: one file, or one per partition touched. Blocking.
    fn encode_split(&self, batches: &[RecordBatch]) -> Result<Vec<(AddFile, Option<Bytes>)>> {
        let to_file = |b: &RecordBatch| self.types.to_file(b, self.type_name);
        if self.spec.is_empty() {
            let file_batches = batches
                .iter()
                .filter(|b| b.num_rows() > 0)
                .map(to_file)
                .collect::<Result<Vec<_>>>()?;
            return Ok(vec![self.encode(file_batches, &[])?]);
        }
        let mut groups: Vec<(Vec<Option<String>>, Vec<RecordBatch>)> = Vec::new();
        for batch in batches.iter().filter(|b| b.num_rows() > 0) {
            let none = crate::store::cluster::Cluster::default();
            for (values, rows) in self.spec.split(batch, self.type_name, &none)? {
                let rows = to_file(&rows.materialize()?)?;
                match groups.iter_mut().find(|(v, _)| *v == values) {
                    Some((_, group)) => group.push(rows),
                    None => groups.push((values, vec![rows])),
                }
            }
        }
        groups
            .into_iter()
            .map(|(values, group)| self.encode(group, &values))
            .collect()
    }

    /// The table's directory when it is on local disk.
    fn local_root(&self) -> Option<PathBuf> {
        (self.location.url.scheme() == "file")
            .then(|| self.location.url.to_file_path().ok())
            .flatten()
    }

    /// Uploads the data files, then commits them (and the removes) at the next free version.
    async fn commit(
        &self,
        operation: Operation,
        files: Vec<(AddFile, Option<Bytes>)>,
        removes: Vec<RemoveFile>,
        head: Vec<serde_json::Value>,
    ) -> Result<u64> {
        let location = self.location.clone();
        let mut adds = Vec::with_capacity(files.len());
        for (add, bytes) in files {
            let Some(bytes) = bytes else {
                adds.push(add); // written in place already
                continue;
            };
            let path = location.child(&add.path);
            let location = location.clone();
            io(async move {
                let options = PutOptions {
                    mode: PutMode::Create,
                    ..PutOptions::default()
                };
                location
                    .store
                    .put_opts(&path, PutPayload::from_bytes(bytes), options)
                    .await
                    .map_err(|e| location.error("put", &path, e))?;
                Ok(())
            })
            .await?;
            adds.push(add);
        }
        let commit = Commit {
            id: log::random_id(),
            operation,
            adds,
            removes,
            head,
        };
        let read_version = {
            let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            state.as_ref().map(TableState::version)
        };
        let Some(read_version) = read_version else {
            return Err(Error::Delta {
                location: self.location.display.clone(),
                reason: "the table state was not loaded".into(),
            });
        };
        let max_attempts = self.options.max_commit_attempts;
        let version = io(async move {
            let mut version = read_version + 1;
            let mut attempts = 0u32;
            loop {
                attempts += 1;
                let body = commit.to_json(version);
                match log::publish(&location, version, &commit.id, body).await? {
                    Publish::Committed => return Ok(version),
                    Publish::Taken => {
                        let actions = log::read_commit(&location, version)
                            .await?
                            .unwrap_or_default();
                        if let Some(reason) = log::conflict(&commit, version, &actions) {
                            return Err(Error::CommitConflict {
                                path: PathBuf::from(&location.display),
                                reason,
                            });
                        }
                        if attempts >= max_attempts {
                            return Err(Error::CommitConflict {
                                path: PathBuf::from(&location.display),
                                reason: format!(
                                    "{attempts} attempts lost the race for the next version to \
                                     other writers (max_commit_attempts)"
                                ),
                            });
                        }
                        version += 1;
                        // Backoff grows with the attempts, jittered by the commit id.
                        let jitter = u64::from(commit.id.as_bytes()[attempts as usize % 8]) % 7;
                        let wait = (u64::from(attempts.min(10)) * 2 + jitter).min(50);
                        tokio::time::sleep(Duration::from_millis(wait)).await;
                    }
                }
            }
        })
        .await?;
        Ok(version)
    }

    fn checkpoint(&self, state: &TableState) -> Result<()> {
        state
            .snapshot
            .checkpoint(self.engine.as_ref(), None)
            .map_err(|e| state::kernel_error(&self.location, e))?;
        Ok(())
    }

    /// One data file's bytes, size- and (if `verify`) CRC32-checked.
    async fn fetch(&self, file: &DataFile, verify: bool) -> Result<Bytes> {
        let location = self.location.clone();
        let path = location.child(&file.path);
        let label = self.file_label(file);
        let (size, crc) = (file.size, file.crc32);
        io(async move {
            let result = location
                .store
                .get_opts(&path, object_store::GetOptions::default())
                .await;
            let bytes = match result {
                Ok(r) => r
                    .bytes()
                    .await
                    .map_err(|e| location.error("get", &path, e))?,
                Err(object_store::Error::NotFound { .. }) => {
                    return Err(Error::Corrupt {
                        path: label,
                        reason: "the file is referenced by the log but missing".into(),
                    });
                }
                Err(e) => return Err(location.error("get", &path, e)),
            };
            if bytes.len() as u64 != size {
                return Err(Error::Corrupt {
                    path: label,
                    reason: format!(
                        "the file has {} bytes, the log recorded {size} (truncated or overwritten)",
                        bytes.len()
                    ),
                });
            }
            if verify && let Some(expected) = crc {
                let actual = crc32fast::hash(&bytes);
                if actual != expected {
                    return Err(Error::Corrupt {
                        path: label,
                        reason: format!(
                            "checksum mismatch: CRC32 {actual:08x}, the log recorded {expected:08x}"
                        ),
                    });
                }
            }
            Ok(bytes)
        })
        .await
    }

    /// Decodes a whole file (the row type's columns it has, or `columns`), columns in parallel,
    /// with the row type's column types, labelled with the file. Blocking.
    fn decode_whole(
        &self,
        bytes: &Bytes,
        file: &DataFile,
        columns: Option<&[String]>,
    ) -> Result<Vec<RecordBatch>> {
        let label = self.file_label(file);
        let metadata = decode::read_metadata(bytes, &label, self.type_name)?;
        self.check_rows(file, &label, metadata.metadata().file_metadata().num_rows())?;
        let names = self.names_in(metadata.schema(), columns);
        let rows = usize::try_from(metadata.metadata().file_metadata().num_rows()).unwrap_or(0);
        let values = file.partition.clone();
        let batches = decode::decode_columns(
            bytes,
            &metadata,
            &label,
            &names,
            rows.max(1),
            self.options.threads,
            decode::Pick::default(),
        )?;
        batches
            .into_iter()
            .filter(|b| b.num_rows() > 0 || names.is_empty())
            .map(|b| self.restore(b, &label))
            .map(|b| b.and_then(|b| self.complete(b, &values, columns)))
            .collect()
    }

    /// The columns to decode: `columns`, or the row type's columns the file has.
    fn names_in(
        &self,
        file_schema: &arrow_schema::SchemaRef,
        columns: Option<&[String]>,
    ) -> Vec<String> {
        match columns {
            // Identity partition columns are not in the files (`complete` adds them).
            Some(names) => names
                .iter()
                .filter(|n| !self.spec.is_identity_column(n))
                .cloned()
                .collect(),
            None => self
                .types
                .row
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .filter(|n| file_schema.index_of(n).is_ok())
                .collect(),
        }
    }

    fn check_rows(&self, file: &DataFile, label: &std::path::Path, footer: i64) -> Result<()> {
        if let Some(rows) = file.rows
            && u64::try_from(footer).ok() != Some(rows)
        {
            return Err(Error::Corrupt {
                path: label.to_owned(),
                reason: format!("the footer says {footer} rows, the log recorded {rows}"),
            });
        }
        Ok(())
    }

    /// A decoded batch with the row type's types, labelled with its file.
    fn restore(&self, batch: RecordBatch, label: &std::path::Path) -> Result<RecordBatch> {
        let source = label.to_string_lossy().into_owned();
        let batch = self.types.read_back(batch, &source)?;
        let mut metadata = batch.schema().metadata().clone();
        metadata.insert(SOURCE_FILE_KEY.to_owned(), source);
        let schema = Arc::new(batch.schema().as_ref().clone().with_metadata(metadata));
        batch
            .with_schema(schema)
            .map_err(|e| Error::arrow("labelling a batch with its file", e))
    }

    /// Streams one file's batches of `batch_size` rows into `tx`. Blocking. `false` if the
    /// stream was dropped or an error was sent.
    fn stream_file(
        &self,
        bytes: Bytes,
        file: &DataFile,
        columns: Option<&[String]>,
        batch_size: usize,
        tx: &tokio::sync::mpsc::Sender<Result<RecordBatch>>,
    ) -> bool {
        let send = |item: Result<RecordBatch>| tx.blocking_send(item).is_ok();
        let only_partitions =
            columns.is_some_and(|c| self.names_in(&self.types.data_file, Some(c)).is_empty());
        if batch_size == usize::MAX || only_partitions {
            return match self.decode_whole(&bytes, file, columns) {
                Ok(batches) => batches.into_iter().all(|b| send(Ok(b))),
                Err(e) => {
                    send(Err(e));
                    false
                }
            };
        }
        let label = self.file_label(file);
        let reader = decode::read_metadata(&bytes, &label, self.type_name).and_then(|metadata| {
            self.check_rows(file, &label, metadata.metadata().file_metadata().num_rows())?;
            let names = self.names_in(metadata.schema(), columns);
            let reader = decode::batch_reader(
                bytes.clone(),
                metadata,
                &label,
                batch_size,
                Columns::Named(&names),
                decode::Pick::default(),
            )?;
            Ok((reader, names))
        });
        let (mut reader, names) = match reader {
            Ok(r) => r,
            Err(e) => {
                send(Err(e));
                return false;
            }
        };
        loop {
            let next = decode::next_batch(&mut reader, &label)
                .and_then(|b| b.map(|b| in_order(b, &names)).transpose())
                .and_then(|b| b.map(|b| self.restore(b, &label)).transpose())
                .and_then(|b| {
                    b.map(|b| self.complete(b, &file.partition, columns))
                        .transpose()
                });
            match next {
                Ok(Some(batch)) if batch.num_rows() == 0 => {}
                Ok(Some(batch)) => {
                    if !send(Ok(batch)) {
                        return false;
                    }
                }
                Ok(None) => return true,
                Err(e) => {
                    send(Err(e));
                    return false;
                }
            }
        }
    }
}

/// Table property holding the partition spec (JSON array of `Partition` texts).
const PARTITION_PROPERTY: &str = "soa.partitionBy";

/// The partitioning a table was created with: our property, else the identity partition
/// columns of its files (a table another writer partitioned), else none.
fn stored_partitioning(state: &TableState, schema: &arrow_schema::SchemaRef) -> Vec<String> {
    if let Some(text) = state
        .snapshot
        .table_properties()
        .unknown_properties
        .get(PARTITION_PROPERTY)
        && let Ok(texts) = serde_json::from_str::<Vec<String>>(text)
    {
        return texts;
    }
    let mut keys: Vec<&str> = Vec::new();
    for file in state.files.iter() {
        for (k, _) in &file.partition {
            if !keys.contains(&k.as_str()) {
                keys.push(k);
            }
        }
    }
    keys.sort_by_key(|k| schema.index_of(k).unwrap_or(usize::MAX));
    keys.into_iter().map(str::to_owned).collect()
}

/// The same Delta type, ignoring nullability at every depth (other writers mark nested fields
/// nullable where the row type does not; a null where the row type has none is an error when
/// the value is read).
fn same_shape(a: &delta_kernel::schema::DataType, b: &delta_kernel::schema::DataType) -> bool {
    use delta_kernel::schema::DataType as D;
    match (a, b) {
        (D::Array(x), D::Array(y)) => same_shape(x.element_type(), y.element_type()),
        (D::Map(x), D::Map(y)) => {
            same_shape(x.key_type(), y.key_type()) && same_shape(x.value_type(), y.value_type())
        }
        (D::Struct(x), D::Struct(y)) => {
            x.fields().count() == y.fields().count()
                && x.fields()
                    .zip(y.fields())
                    .all(|(f, g)| f.name() == g.name() && same_shape(f.data_type(), g.data_type()))
        }
        _ => a == b,
    }
}

/// A projected batch with its columns in `names` order (the Parquet reader yields file order).
fn in_order(batch: RecordBatch, names: &[String]) -> Result<RecordBatch> {
    let schema = batch.schema();
    let indices: Vec<usize> = names
        .iter()
        .filter_map(|n| schema.index_of(n).ok())
        .collect();
    batch
        .project(&indices)
        .map_err(|e| Error::arrow("ordering projected columns", e))
}

fn codec_suffix(codec: Codec) -> &'static str {
    match codec {
        Codec::Uncompressed => "uncompressed",
        Codec::Snappy => "snappy",
        Codec::Gzip(_) => "gz",
        Codec::Lz4Raw => "lz4raw",
        Codec::Zstd(_) => "zstd",
        Codec::Brotli(_) => "br",
    }
}

impl<T: Record> Store<T> for DeltaStore<T> {
    /// `Append`: the batches go into one new data file and one commit (no rows: no commit).
    /// `Overwrite`: one commit removing every file of the version read and adding the new one
    /// (no rows: only removes); [`Error::CommitConflict`] if another writer committed in between.
    async fn write_batches(&self, batches: Vec<RecordBatch>, mode: WriteMode) -> Result<()> {
        self.writable()?;
        let batches = batches
            .into_iter()
            .map(|batch| conform(&self.inner.types.row, batch, None))
            .collect::<Result<Vec<_>>>()?;
        let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
        let overwrite = mode == WriteMode::Overwrite;
        if rows == 0 && !overwrite {
            return Ok(());
        }
        let _guard = self.inner.writer.lock().await;
        let inner = Arc::clone(&self.inner);
        let (state, files) = blocking(move || {
            let state = inner.latest()?;
            if rows == 0 {
                return Ok((state, Vec::new()));
            }
            Ok((state, inner.encode_split(&batches)?))
        })
        .await?;
        let (operation, removes) = if overwrite {
            let removes = state
                .files
                .iter()
                .map(|f| RemoveFile {
                    path: f.path.clone(),
                    size: f.size,
                    partition: f.partition.clone(),
                })
                .collect();
            (Operation::Overwrite, removes)
        } else {
            (Operation::Append, Vec::new())
        };
        if overwrite && files.is_empty() && state.files.is_empty() {
            return Ok(());
        }
        let version = self
            .inner
            .commit(operation, files, removes, Vec::new())
            .await?;
        self.settle(version).await;
        Ok(())
    }

    /// The files of the version read (the latest, or the pinned version of a time-travel
    /// view), in commit order; each file is fetched whole, its size and CRC32 checked, then
    /// decoded (whole with `usize::MAX`, else in batches) on a blocking task; the next file is
    /// fetched while one is decoded.
    async fn scan_with(&self, options: ScanOptions) -> Result<BatchStream> {
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
        let state = self.state().await?;
        let inner = Arc::clone(&self.inner);
        let verify = inner.options.verify_checksums;
        let (expr, metrics) = (options.predicate.clone(), options.metrics.clone());
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<RecordBatch>>(2);
        tokio::task::spawn_blocking(move || {
            let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                // Files whose statistics rule the predicate out are not fetched.
                let mut keep = match &expr {
                    Some(expr) => skip::files_may_match(&state.files, expr, &inner.types),
                    None => vec![true; state.files.len()],
                };
                if let Some(expr) = &expr
                    && !inner.spec.is_empty()
                {
                    let by_partition = inner.partitions_may_match(&state.files, expr);
                    if let Some(m) = &metrics {
                        let mut seen: HashMap<&[(String, Option<String>)], bool> = HashMap::new();
                        for (f, k) in state.files.iter().zip(&by_partition) {
                            *seen.entry(f.partition.as_slice()).or_insert(false) |= *k;
                        }
                        let skipped = seen.values().filter(|k| !**k).count() as u64;
                        m.partitions(seen.len() as u64, skipped);
                    }
                    for (k, p) in keep.iter_mut().zip(by_partition) {
                        *k &= p;
                    }
                }
                let files: Vec<DataFile> = state
                    .files
                    .iter()
                    .zip(&keep)
                    .filter(|(_, k)| **k)
                    .map(|(f, _)| f.clone())
                    .collect();
                if let Some(m) = &metrics {
                    let total = state.files.len() as u64;
                    m.files(total, total - files.len() as u64);
                    let stored = state.files.iter().map(|f| f.size).sum();
                    m.bytes(files.iter().map(|f| f.size).sum(), stored);
                }
                let mut next = files.first().map(|file| {
                    let inner = Arc::clone(&inner);
                    let file = file.clone();
                    location::runtime()
                        .map(|rt| rt.spawn(async move { inner.fetch(&file, verify).await }))
                });
                for (i, file) in files.iter().enumerate() {
                    let current = next.take();
                    next = files.get(i + 1).map(|file| {
                        let inner = Arc::clone(&inner);
                        let file = file.clone();
                        location::runtime()
                            .map(|rt| rt.spawn(async move { inner.fetch(&file, verify).await }))
                    });
                    let bytes = match current {
                        Some(Ok(handle)) => futures::executor::block_on(handle)
                            .map_err(|e| Error::Task(format!("fetching a data file: {e}")))
                            .and_then(|r| r),
                        Some(Err(e)) => Err(e),
                        None => Err(Error::Task("no fetch for a data file".into())),
                    };
                    let bytes = match bytes {
                        Ok(bytes) => bytes,
                        Err(e) => {
                            let _ = tx.blocking_send(Err(e));
                            return;
                        }
                    };
                    if !inner.stream_file(bytes, file, columns.as_deref(), batch_size, &tx) {
                        return;
                    }
                }
            }));
            if run.is_err() {
                let _ = tx.blocking_send(Err(Error::Task("the scan task panicked".into())));
            }
        });
        let stream = futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        });
        Ok(filtered(Box::pin(stream), &options))
    }

    /// From the log (the `numRecords` statistics of the files' `add` actions): no data file is
    /// read, unless a file written by another writer has no statistics (its footer is read).
    async fn count(&self) -> Result<u64> {
        let state = self.state().await?;
        if let Some(rows) = state.rows() {
            return Ok(rows);
        }
        let mut total = 0u64;
        for file in state.files.iter() {
            match file.rows {
                Some(rows) => total += rows,
                None => {
                    let bytes = self.inner.fetch(file, false).await?;
                    let inner = Arc::clone(&self.inner);
                    let file = file.clone();
                    total += blocking(move || {
                        let label = inner.file_label(&file);
                        let metadata = decode::read_metadata(&bytes, &label, inner.type_name)?;
                        Ok(
                            u64::try_from(metadata.metadata().file_metadata().num_rows())
                                .unwrap_or(0),
                        )
                    })
                    .await?;
                }
            }
        }
        Ok(total)
    }

    /// From the last state seen (no I/O): rows, data files, their bytes; per-column bytes of
    /// the files this crate wrote.
    fn stats(&self) -> StoreStats {
        let state = match &self.pinned {
            Some(state) => Some(state.clone()),
            None => self
                .inner
                .state
                .lock()
                .map(|s| s.clone())
                .unwrap_or_else(|p| p.into_inner().clone()),
        };
        let schema = &self.inner.types.row;
        let mut columns: Vec<ColumnStats> = schema
            .fields()
            .iter()
            .map(|f| ColumnStats {
                name: f.name().clone(),
                bytes: 0,
                validity_bytes: 0,
            })
            .collect();
        let Some(state) = state else {
            return StoreStats {
                columns,
                ..StoreStats::default()
            };
        };
        let slots: Vec<Option<usize>> = self
            .inner
            .types
            .data_file
            .fields()
            .iter()
            .map(|f| schema.index_of(f.name()).ok())
            .collect();
        for file in state.files.iter() {
            for (slot, bytes) in slots.iter().zip(&file.column_bytes) {
                if let Some(column) = slot.and_then(|i| columns.get_mut(i)) {
                    column.bytes += bytes;
                }
            }
        }
        StoreStats {
            rows: state.rows().unwrap_or(0),
            batches: state.files.len() as u64,
            bytes: state.files.iter().map(|f| f.size).sum(),
            columns,
        }
    }
}

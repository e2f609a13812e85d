//! Configuring and opening a store: the builder, and what `open` does to a directory.

use super::commit::settle;
use super::*;

pub(super) use crate::store::core::OpenMode;

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
    pub(super) dir: PathBuf,
    pub(super) options: ParquetOptions,
    pub(super) lock_on_open: bool,
    pub(super) wait_for_writer: bool,
    pub(super) fault: Option<(FaultPoint, io::ErrorKind)>,
    /// `partition_by`, as text (`None`: the row type's `#[soa(partition)]` fields).
    pub(super) partition_by: Option<Vec<String>>,
    pub(super) _rows: PhantomData<fn() -> T>,
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

    /// Threads encoding (and, on `load`, decoding) in parallel (default 2, or 1 on a single
    /// core): whole row groups, one to a thread, when a write holds two or more of them in
    /// memory; otherwise the columns of a row group. The files are the same for any count.
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
    /// # use soa_runtime::{Soa, ToArrow, Store, StoreExt};
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

    /// Takes the writer lock when the store opens instead of before its first commit (default
    /// off): a process that means to write learns at once that another process writes the store
    /// ([`Error::Locked`]). See [`ParquetStore`] on writers and readers.
    #[must_use]
    pub fn lock_on_open(mut self, enabled: bool) -> Self {
        self.lock_on_open = enabled;
        self
    }

    /// Waits for the writer lock while another process holds it, instead of failing with
    /// [`Error::Locked`] (default off). The wait ends when the holder drops its store or dies.
    #[must_use]
    pub fn wait_for_writer(mut self, enabled: bool) -> Self {
        self.wait_for_writer = enabled;
        self
    }

    /// Makes one step of the commit protocol fail with an I/O error of `kind` (testing hook).
    #[doc(hidden)]
    #[must_use]
    pub fn inject_fault(mut self, point: FaultPoint, kind: io::ErrorKind) -> Self {
        self.fault = Some((point, kind));
        self
    }

    /// Partitions a new store into Hive directories `key=value/` by these columns and
    /// transforms ([`Partition`](crate::store::partition::Partition)s, or their text:
    /// `"symbol"`, `"day(ts)"`, `"bucket(16, id)"`), replacing the row type's
    /// `#[soa(partition)]` fields. An empty list: not partitioned.
    ///
    /// An existing store keeps the partitioning it was created with; opening it with a
    /// different one is an [`Error::InvalidOption`].
    ///
    /// ```no_run
    /// # use soa_runtime::{Soa, ToArrow};
    /// # use soa_runtime::store::parquet::ParquetStore;
    /// # use soa_runtime::store::partition::Partition;
    /// # #[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
    /// # struct Tick { #[soa(timestamp = "us")] ts: i64, symbol: String, price: f64 }
    /// # async fn demo() -> soa_runtime::Result<()> {
    /// let store = ParquetStore::<Tick>::builder("./ticks")
    ///     .partition_by([Partition::day("ts"), Partition::column("symbol")])
    ///     .open_or_create()
    ///     .await?; // ./ticks/day=2026-01-05/symbol=AAPL/part-000001.parquet
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn partition_by<I>(mut self, partitions: I) -> Self
    where
        I: IntoIterator,
        I::Item: ToString,
    {
        self.partition_by = Some(partitions.into_iter().map(|p| p.to_string()).collect());
        self
    }

    /// Groups the rows of every file written by the values of `columns` (in value order, nulls
    /// last; rows with equal values keep their arrival order). Within a partition of one day, a
    /// store clustered by `symbol` keeps each symbol's rows together, so the row-group and page
    /// statistics of `symbol` are narrow and `symbol = 'NVDA'` reads one page range of the day
    /// instead of all of it. Each `append` (and `save`) orders its own rows; `compact`
    /// concatenates files as they are. Not stored with the store: pass it to every writer.
    /// Columns: integers, floats, booleans, strings, unit enums, dates and timestamps (others:
    /// [`Error::UnsupportedType`]; unknown names: [`Error::UnknownColumn`]).
    ///
    /// ```no_run
    /// # use soa_runtime::{Soa, ToArrow};
    /// # use soa_runtime::store::parquet::ParquetStore;
    /// # #[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
    /// # struct Tick { #[soa(timestamp = "us")] ts: i64, symbol: String, price: f64 }
    /// # async fn demo() -> soa_runtime::Result<()> {
    /// let store = ParquetStore::<Tick>::builder("./ticks")
    ///     .partition_by(["day(ts)"])
    ///     .cluster_by(["symbol"])
    ///     .open_or_create()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn cluster_by<I>(mut self, columns: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.options.cluster_by = columns.into_iter().map(Into::into).collect();
        self
    }

    /// The options as set so far.
    pub fn options(&self) -> &ParquetOptions {
        &self.options
    }

    /// Opens the store in an existing directory (an empty directory is an empty store).
    ///
    /// Rolls a committed-but-unfinished commit forward and removes leftovers of interrupted
    /// writes when no other process is committing (see the [module docs](crate::store::parquet)).
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
        let wanted: Vec<String> = match &self.partition_by {
            Some(texts) => texts.clone(),
            None => <T::Columns as ToArrow>::PARTITION_BY
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
        };
        let parse = |texts: &[String]| -> Result<PartitionSpec> {
            let parts = texts
                .iter()
                .map(|t| t.parse::<Partition>())
                .collect::<Result<Vec<_>>>()?;
            PartitionSpec::resolve(&parts, &schema, type_name, "ParquetStore")
        };
        parse(&wanted)?;
        let cluster =
            Cluster::resolve(&self.options.cluster_by, &schema, type_name, "ParquetStore")?;
        let explicit = self.partition_by.is_some();
        let dir = self.dir;
        let wait = self.wait_for_writer;
        let lock_now = self.lock_on_open || mode == OpenMode::Create;
        let (dir, committed, writer_lock) = blocking(move || {
            let committed = open_dir(&dir, mode, type_name)?;
            let lock = if lock_now {
                Some(writer_lock::acquire(&dir, wait)?)
            } else {
                None
            };
            Ok((dir, committed, lock))
        })
        .await?;
        // An existing store keeps its partitioning; a new one takes the builder's or the type's.
        let texts = if committed.stamp.is_some() {
            let stored = committed.manifest.partitions.clone();
            if explicit && stored != wanted {
                return Err(Error::InvalidOption {
                    option: "partition_by",
                    reason: format!(
                        "the store at {} is partitioned by {stored:?}, not {wanted:?}",
                        dir.display()
                    ),
                });
            }
            stored
        } else {
            wanted
        };
        let spec = parse(&texts)?;
        let data_schema = spec.data_schema(&schema);
        let file_schema = layout::file_schema(&data_schema, self.options.profile());
        let stats = stats_of(&committed.manifest, &schema, &data_schema);
        let initialize = committed.stamp.is_none() && mode != OpenMode::Existing;
        let store = ParquetStore {
            inner: Arc::new(Inner {
                dir,
                options: self.options,
                props,
                schema,
                data_schema,
                file_schema,
                spec,
                cluster,
                mark_slot: std::sync::Mutex::new(None),
                type_name,
                fault: self.fault,
                writer: Arc::new(tokio::sync::Mutex::new(())),
                writer_lock: std::sync::Mutex::new(writer_lock),
                wait_for_writer: wait,
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

/// Opens (or creates) the directory and reads the committed state. If no other process or
/// instance is committing, finishes an interrupted commit and removes its leftovers; otherwise
/// changes nothing (a reader never touches what a live writer owns).
pub(super) fn open_dir(dir: &Path, mode: OpenMode, type_name: &str) -> Result<state::Committed> {
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

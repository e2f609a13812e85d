//! The store core: the small batch-level trait every backend implements ([`Store`]), and the typed
//! conveniences every backend gets from it ([`StoreExt`], implemented once for all).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use arrow_array::{BooleanArray, RecordBatch};
use futures::{Stream, StreamExt};

use crate::convert::ToArrow;
use crate::error::{Error, Result};
use crate::predicate::{Expr, Predicate};
use crate::soa::{Soa, SoaColumns};
use crate::store::prune::{ScanMetrics, ScanReport};

/// A row type every store accepts: `#[derive(Soa, ToArrow)]` on a `Send + Sync + 'static` struct.
/// Implemented automatically.
pub trait Record: Soa<Columns: ToArrow + Send + Sync + 'static> + Send + Sync + 'static {}

impl<T> Record for T
where
    T: Soa + Send + Sync + 'static,
    T::Columns: ToArrow + Send + Sync + 'static,
{
}

/// A stream of record batches returned by [`Store::scan_with`] and [`StoreExt::scan`].
pub type BatchStream = Pin<Box<dyn Stream<Item = Result<RecordBatch>> + Send + 'static>>;

/// Size of one column in a store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnStats {
    /// Arrow column name.
    pub name: String,
    /// Bytes of this column in total (values, offsets, dictionaries, validity).
    pub bytes: u64,
    /// Of `bytes`, the bytes of validity bitmaps.
    pub validity_bytes: u64,
}

/// Statistics of a store, kept up to date on every write (reading them does no I/O).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Rows stored.
    pub rows: u64,
    /// Batches in memory ([`ArrowStore`](crate::ArrowStore)) or data files on disk
    /// ([`ParquetStore`](crate::ParquetStore)).
    pub batches: u64,
    /// Bytes in total: Arrow memory for `ArrowStore`, file bytes on disk for `ParquetStore`.
    pub bytes: u64,
    /// Per-column sizes, in schema order. For `ParquetStore`, compressed bytes on disk.
    pub columns: Vec<ColumnStats>,
}

/// What a store builder's `open`, `create` and `open_or_create` ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpenMode {
    /// The store must exist.
    Existing,
    /// The store must not exist yet.
    Create,
    /// Either.
    OpenOrCreate,
}

/// How a commit combines with what is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WriteMode {
    /// The batches follow the stored rows; nothing stored is rewritten.
    Append,
    /// The batches replace everything stored.
    Overwrite,
}

/// A row filter: given a batch, which of its rows to keep. Applied by the store to every batch
/// of a scan before it is yielded (batches left without rows are skipped).
pub type RowFilter = Arc<dyn Fn(&RecordBatch) -> Result<BooleanArray> + Send + Sync>;

/// What a scan reads: which columns, how many rows per batch, which rows.
///
/// ```
/// use soa_runtime::store::ScanOptions;
/// let options = ScanOptions::new().columns(["symbol", "unit_price"]).batch_size(10_000);
/// ```
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct ScanOptions {
    /// Top-level columns to read, in this order (`None`: every column of the row type).
    pub columns: Option<Vec<String>>,
    /// Rows per batch at most (`None`: the store's default, chosen for bounded memory;
    /// `Some(usize::MAX)`: as large as the store can make them, e.g. one batch per file).
    pub batch_size: Option<usize>,
    /// Keeps only the rows it selects.
    pub filter: Option<RowFilter>,
    /// Keeps only the rows it holds for, and lets the store skip files, row groups and batches
    /// whose statistics prove they hold none ([`ScanOptions::predicate`]). Its columns must be
    /// among `columns` when a projection is given.
    pub predicate: Option<Expr>,
    /// Counters the store fills while the scan runs ([`ScanOptions::metrics`]).
    pub metrics: Option<Arc<ScanMetrics>>,
}

impl std::fmt::Debug for ScanOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScanOptions")
            .field("columns", &self.columns)
            .field("batch_size", &self.batch_size)
            .field("filter", &self.filter.as_ref().map(|_| "Fn(&RecordBatch)"))
            .field("predicate", &self.predicate)
            .field("metrics", &self.metrics.as_ref().map(|m| m.report()))
            .finish()
    }
}

impl ScanOptions {
    /// Every column, the store's batch size, every row.
    pub fn new() -> Self {
        ScanOptions::default()
    }

    /// Reads only these top-level columns, in this order.
    #[must_use]
    pub fn columns<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.columns = Some(names.into_iter().map(Into::into).collect());
        self
    }

    /// At most `rows` rows per batch.
    #[must_use]
    pub fn batch_size(mut self, rows: usize) -> Self {
        self.batch_size = Some(rows);
        self
    }

    /// Keeps only the rows for which `predicate` holds; the store skips what its statistics
    /// rule out (see [`crate::predicate`]).
    #[must_use]
    pub fn predicate<R>(mut self, predicate: &Predicate<R>) -> Self {
        self.predicate = Some(predicate.expr().clone());
        self
    }

    /// Counts what the scan reads and skips into `metrics` ([`ScanMetrics::report`]).
    #[must_use]
    pub fn metrics(mut self, metrics: Arc<ScanMetrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Keeps only the rows `filter` selects.
    #[must_use]
    pub fn filter(
        mut self,
        filter: impl Fn(&RecordBatch) -> Result<BooleanArray> + Send + Sync + 'static,
    ) -> Self {
        self.filter = Some(Arc::new(filter));
        self
    }
}

/// The core every backend implements: commits of record batches, scans, counts, statistics.
/// The typed operations (`save`, `append`, `load`, ...) come from [`StoreExt`], implemented once
/// for every `Store`. `use soa_runtime::prelude::*;` brings both traits.
///
/// ```no_run
/// use soa_runtime::prelude::*;
/// # #[derive(Soa, ToArrow, Debug, Clone, PartialEq)] struct Order { id: u64 }
/// # async fn demo(orders: OrderSoA) -> soa_runtime::Result<()> {
/// let store = ArrowStore::<Order>::new();
/// store.append(&orders).await?;                      // StoreExt
/// assert_eq!(store.count().await?, orders.len() as u64);
/// let all: OrderSoA = store.load().await?;          // StoreExt, over `scan_with`
/// # Ok(()) }
/// ```
///
/// Every backend runs the same conformance suite (`tests/src/conformance.rs`), one test per
/// clause of the contracts below.
pub trait Store<T: Record>: Send + Sync {
    /// Writes `batches` as one commit: after them (`Append`) or instead of everything stored
    /// (`Overwrite`). Each batch must have the row type's columns (by name; the store checks
    /// them and conforms nested field names and nullability to the row type's schema).
    ///
    /// # Contract
    /// - **Atomic:** a concurrent reader sees all of the commit or none of it, never some of its
    ///   batches; a reader that started before keeps its snapshot.
    /// - **Durable** for stores on disk: once the future returns `Ok`, the commit survives a
    ///   crash of the process.
    /// - **Errors leave the store unchanged:** a batch that does not fit the row type, an I/O
    ///   error or a full disk return `Err` and the stored content is what it was.
    /// - `Append` of zero batches (or of batches without rows) changes nothing; `Overwrite` with
    ///   zero rows empties the store.
    ///
    /// # Errors
    /// [`Error::SchemaMismatch`] for a batch of another schema; the store's I/O errors.
    fn write_batches(
        &self,
        batches: Vec<RecordBatch>,
        mode: WriteMode,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Streams the stored rows as record batches, in store order.
    ///
    /// # Contract
    /// - **Snapshot:** the stream reads the commit that was current when it was opened; later
    ///   commits do not change what it yields.
    /// - **Projection:** with [`ScanOptions::columns`], the batches have exactly those columns,
    ///   in that order, with the row type's field types; an unknown name is
    ///   [`Error::UnknownColumn`] before anything is read.
    /// - **Batch size:** no batch has more rows than [`ScanOptions::batch_size`], and none is
    ///   empty.
    /// - **Filter:** with [`ScanOptions::filter`], only the selected rows are yielded.
    /// - **Bounded memory** with the default batch size, whatever the store size.
    ///
    /// # Errors
    /// [`Error::UnknownColumn`]; damaged data ([`Error::Corrupt`]) as an item of the stream.
    fn scan_with(&self, options: ScanOptions) -> impl Future<Output = Result<BatchStream>> + Send;

    /// Number of rows stored, without reading column data.
    ///
    /// # Contract
    /// Equal to the rows a scan opened at the same moment yields; reflects every commit that
    /// returned before the call (in any process, for stores shared between processes).
    ///
    /// # Errors
    /// The store's I/O errors.
    fn count(&self) -> impl Future<Output = Result<u64>> + Send;

    /// Current statistics (no I/O).
    ///
    /// # Contract
    /// `rows` equals [`count`](Store::count) after this instance's own commits; an empty store
    /// reports zero rows, batches and bytes, with one (zero) entry per column.
    fn stats(&self) -> StoreStats;

    /// Removes every row, as one commit (an `Overwrite` with nothing).
    ///
    /// # Contract
    /// As [`write_batches`](Store::write_batches): atomic, durable, unchanged on error. The store
    /// stays usable and keeps its schema (a `ParquetStore` keeps an empty data file, so external
    /// readers still see the columns).
    ///
    /// # Errors
    /// The store's I/O errors.
    fn clear(&self) -> impl Future<Output = Result<()>> + Send {
        self.write_batches(Vec::new(), WriteMode::Overwrite)
    }
}

/// Typed operations for every [`Store`], implemented once over its batch-level core.
///
/// Conversions between containers and record batches run on tokio's blocking pool, never on
/// the async workers (except the one copy per column of the borrowed `save`/`append`, which is
/// the price of not taking the container).
pub trait StoreExt<T: Record>: Store<T> {
    /// Replaces the content with `data` (one commit).
    ///
    /// # Errors
    /// As [`Store::write_batches`].
    fn save(&self, data: &T::Columns) -> impl Future<Output = Result<()>> + Send {
        let batch = data.to_record_batch();
        async move { self.write_batches(vec![batch?], WriteMode::Overwrite).await }
    }

    /// Like [`save`](Self::save), taking the container by value: the conversion to Arrow moves
    /// fixed-width columns and `arrow_layout` strings without a copy (on the blocking pool for
    /// containers of more than 65,536 rows).
    ///
    /// # Errors
    /// As [`Store::write_batches`].
    fn save_owned(&self, data: T::Columns) -> impl Future<Output = Result<()>> + Send {
        async move {
            let batch = into_batch(data).await?;
            self.write_batches(vec![batch], WriteMode::Overwrite).await
        }
    }

    /// Adds `data` after the stored rows (one commit; nothing stored is rewritten). Appending
    /// zero rows does nothing.
    ///
    /// # Errors
    /// As [`Store::write_batches`].
    fn append(&self, data: &T::Columns) -> impl Future<Output = Result<()>> + Send {
        let batch = if data.is_empty() {
            Ok(None)
        } else {
            data.to_record_batch().map(Some)
        };
        async move {
            match batch? {
                Some(batch) => self.write_batches(vec![batch], WriteMode::Append).await,
                None => Ok(()),
            }
        }
    }

    /// Like [`append`](Self::append), taking the container by value (see
    /// [`save_owned`](Self::save_owned)).
    ///
    /// # Errors
    /// As [`Store::write_batches`].
    fn append_owned(&self, data: T::Columns) -> impl Future<Output = Result<()>> + Send {
        async move {
            if data.is_empty() {
                return Ok(());
            }
            let batch = into_batch(data).await?;
            self.write_batches(vec![batch], WriteMode::Append).await
        }
    }

    /// Appends one record batch of the row type's columns (checked by the store; any column
    /// order, extra columns are an error).
    ///
    /// # Errors
    /// As [`Store::write_batches`].
    fn append_batch(&self, batch: RecordBatch) -> impl Future<Output = Result<()>> + Send {
        self.write_batches(vec![batch], WriteMode::Append)
    }

    /// Reads everything into one container (converted on the blocking pool; fixed-width columns
    /// of uniquely owned batches are taken without a copy).
    ///
    /// # Errors
    /// The scan's errors ([`Error::Corrupt`], ...) and conversion errors naming `Type.field`.
    fn load(&self) -> impl Future<Output = Result<T::Columns>> + Send {
        async move {
            let rows = self.count().await?;
            // Small stores: one batch per file (a Parquet file's columns decode in parallel).
            // Large ones: the store's batches appended into the container reserved for every
            // row, never one huge intermediate batch (measured on 10M orders, one file: 0.46-0.64 s
            // instead of 0.87 s, and a lower peak; on 1M, 54-58 ms whole against 59-69 ms
            // streamed).
            let options = if rows >= STREAMED_LOAD_ROWS {
                ScanOptions::new()
            } else {
                ScanOptions::new().batch_size(usize::MAX)
            };
            let stream = self.scan_with(options).await?;
            blocking(move || collect_rows::<T::Columns>(stream, rows)).await
        }
    }

    /// Reads only the named top-level columns, as one record batch with the columns in the
    /// order asked (a `T::Columns` would have to invent values for the other fields).
    ///
    /// # Errors
    /// [`Error::UnknownColumn`] for a name that is not a column of `T`; the scan's errors.
    fn load_columns(&self, columns: &[&str]) -> impl Future<Output = Result<RecordBatch>> + Send {
        let names: Vec<String> = columns.iter().map(|c| (*c).to_owned()).collect();
        async move {
            let (schema, _) = project_columns::<T>(&names)?;
            let rows = self.count().await?;
            let options = ScanOptions::new()
                .columns(names.clone())
                .batch_size(usize::MAX);
            let stream = self.scan_with(options).await?;
            blocking(move || concat_stream(stream, &schema, rows)).await
        }
    }

    /// The rows for which `predicate` holds, in store order, into one container: the same rows
    /// as `load()` followed by keeping the matching ones (see [`crate::predicate`]).
    ///
    /// ```no_run
    /// # use soa_runtime::prelude::*;
    /// # #[derive(Soa, ToArrow, Debug, Clone, PartialEq)] struct Order { id: u64, symbol: String }
    /// # async fn demo(store: ParquetStore<Order>) -> soa_runtime::Result<()> {
    /// let c = Order::col();
    /// let apple: OrderSoA = store.load_where(c.symbol.eq("AAPL") & c.id.lt(1000)).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// The scan's errors; conversion errors naming `Type.field`.
    fn load_where(
        &self,
        predicate: Predicate<T>,
    ) -> impl Future<Output = Result<T::Columns>> + Send {
        async move {
            let options = ScanOptions::new()
                .batch_size(usize::MAX)
                .predicate(&predicate);
            let stream = self.scan_with(options).await?;
            blocking(move || collect_rows::<T::Columns>(stream, 0)).await
        }
    }

    /// Streams the rows for which `predicate` holds, as record batches of at most the store's
    /// default size (batches left without rows are skipped).
    ///
    /// # Errors
    /// As [`Store::scan_with`].
    fn scan_where(
        &self,
        predicate: Predicate<T>,
    ) -> impl Future<Output = Result<BatchStream>> + Send {
        self.scan_with(ScanOptions::new().predicate(&predicate))
    }

    /// The named columns of the rows for which `predicate` holds, as one record batch (the
    /// predicate may read other columns).
    ///
    /// # Errors
    /// [`Error::UnknownColumn`] for a name that is not a column of `T`; the scan's errors.
    fn load_columns_where(
        &self,
        columns: &[&str],
        predicate: Predicate<T>,
    ) -> impl Future<Output = Result<RecordBatch>> + Send {
        let names: Vec<String> = columns.iter().map(|c| (*c).to_owned()).collect();
        async move {
            let (schema, _) = project_columns::<T>(&names)?;
            let expr = predicate.expr().clone();
            // The predicate's columns are read too, then dropped.
            let mut read = names.clone();
            for column in expr.columns() {
                if !read.contains(&column) {
                    read.push(column);
                }
            }
            project_columns::<T>(&read)?;
            let options = ScanOptions::new()
                .columns(read)
                .batch_size(usize::MAX)
                .predicate(&predicate);
            let stream = self.scan_with(options).await?;
            let keep = names.len();
            let stream: BatchStream = Box::pin(stream.map(move |b| {
                b.and_then(|b| {
                    let indices: Vec<usize> = (0..keep).collect();
                    b.project(&indices)
                        .map_err(|e| Error::arrow("projecting filtered columns", e))
                })
            }));
            blocking(move || concat_stream(stream, &schema, 0)).await
        }
    }

    /// Like [`load_where`](StoreExt::load_where), with what the store read and skipped to
    /// answer (files, row groups or batches skipped by their statistics, rows scanned).
    ///
    /// # Errors
    /// As [`load_where`](StoreExt::load_where).
    fn load_where_with_metrics(
        &self,
        predicate: Predicate<T>,
    ) -> impl Future<Output = Result<(T::Columns, ScanReport)>> + Send {
        async move {
            let metrics = ScanMetrics::new();
            let options = ScanOptions::new()
                .batch_size(usize::MAX)
                .predicate(&predicate)
                .metrics(Arc::clone(&metrics));
            let stream = self.scan_with(options).await?;
            let rows = blocking(move || collect_rows::<T::Columns>(stream, 0)).await?;
            Ok((rows, metrics.report()))
        }
    }

    /// Streams every stored row as record batches of the store's default size (bounded memory).
    ///
    /// # Errors
    /// As [`Store::scan_with`].
    fn scan(&self) -> impl Future<Output = Result<BatchStream>> + Send {
        self.scan_with(ScanOptions::new())
    }

    /// Reads every stored batch (no column data is copied by stores that hold Arrow batches).
    ///
    /// # Errors
    /// As [`Store::scan_with`].
    fn load_batches(&self) -> impl Future<Output = Result<Vec<RecordBatch>>> + Send {
        async move {
            let stream = self
                .scan_with(ScanOptions::new().batch_size(usize::MAX))
                .await?;
            stream
                .collect::<Vec<_>>()
                .await
                .into_iter()
                .collect::<Result<Vec<_>>>()
        }
    }
}

impl<T: Record, S: Store<T> + ?Sized> StoreExt<T> for S {}

/// Runs blocking work on tokio's blocking pool; a panic there becomes [`Error::Task`].
pub(crate) async fn blocking<R, F>(f: F) -> Result<R>
where
    R: Send + 'static,
    F: FnOnce() -> Result<R> + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Task(format!("blocking task failed: {e}")))?
}

/// Gives the memory that the allocator holds free back to the operating system, after work that
/// allocated and freed hundreds of megabytes (a compaction, a large write). With glibc's
/// defaults, freed buffers below its dynamic mmap threshold (up to 32 MiB) stay resident in the
/// allocator's heaps: the next large read then peaks at that memory plus its own (measured on
/// `parquet_demo --rows 10000000`: the final load after a compaction began with 248 MB resident
/// and peaked at 1.4x its result). No-op on other platforms and allocators.
pub(crate) fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        #[allow(unsafe_code)]
        unsafe extern "C" {
            fn malloc_trim(pad: usize) -> i32;
        }
        // SAFETY: `malloc_trim` only returns free heap pages to the kernel; it takes glibc's
        // arena locks itself and is safe to call from any thread at any time.
        #[allow(unsafe_code)]
        unsafe {
            malloc_trim(0);
        }
    }
}

/// Rows from which a store's write releases the allocator's free memory afterwards.
pub(crate) const RELEASE_MEMORY_ROWS: usize = 4 * 1024 * 1024;

/// Applies a scan's predicate and row filter to every batch of `stream` (counting rows into its
/// metrics), dropping batches left without rows.
pub(crate) fn filtered(stream: BatchStream, options: &ScanOptions) -> BatchStream {
    if options.filter.is_none() && options.predicate.is_none() && options.metrics.is_none() {
        return stream;
    }
    let options = options.clone();
    Box::pin(stream.filter_map(move |item| {
        std::future::ready(
            item.and_then(|batch| filter_batch(batch, &options, true))
                .transpose(),
        )
    }))
}

/// One batch through a scan's predicate (unless `check` is false: its statistics show that
/// every row matches), its row filter and its metrics; `None` when no row is left.
pub(crate) fn filter_batch(
    batch: RecordBatch,
    options: &ScanOptions,
    check: bool,
) -> Result<Option<RecordBatch>> {
    let rows = batch.num_rows() as u64;
    let mut batch = batch;
    for mask in [
        options
            .predicate
            .as_ref()
            .filter(|_| check)
            .map(|p| p.evaluate(&batch)),
        options.filter.as_ref().map(|f| f(&batch)),
    ]
    .into_iter()
    .flatten()
    {
        let mask = mask?;
        batch = arrow_select::filter::filter_record_batch(&batch, &mask)
            .map_err(|e| Error::arrow("filtering a scanned batch", e))?;
    }
    if let Some(m) = &options.metrics {
        m.rows(rows, batch.num_rows() as u64);
    }
    Ok((batch.num_rows() > 0).then_some(batch))
}

/// Rows below which an owned container is converted on the calling task: moving the columns of
/// a small batch costs less than a trip to the blocking pool (appends of a hundred rows take a
/// few microseconds).
const INLINE_ROWS: usize = 64 * 1024;

/// Converts an owned container into a batch: inline when small, on the blocking pool otherwise.
async fn into_batch<C: ToArrow + Send + 'static>(data: C) -> Result<RecordBatch> {
    if data.len() <= INLINE_ROWS {
        data.into_record_batch()
    } else {
        blocking(move || data.into_record_batch()).await
    }
}

/// Schema metadata key a store may put on scanned batches: the file they come from, so that a
/// conversion error names it ([`Error::InFile`]).
pub(crate) const SOURCE_FILE_KEY: &str = "soa.source_file";

/// Drains a stream (on a blocking thread) into one container of about `rows` rows.
/// Rows from which `load` streams the store's batches into the container instead of reading
/// each file as one batch.
const STREAMED_LOAD_ROWS: u64 = 4 * 1024 * 1024;

fn collect_rows<C: ToArrow>(mut stream: BatchStream, rows: u64) -> Result<C> {
    let mut out: Option<C> = None;
    while let Some(batch) = futures::executor::block_on(stream.next()) {
        let batch = batch?;
        let source = batch.schema().metadata().get(SOURCE_FILE_KEY).cloned();
        let mut part = C::try_from_record_batch(batch).map_err(|e| match source {
            Some(path) => Error::InFile {
                path: path.into(),
                source: Box::new(e),
            },
            None => e,
        })?;
        match &mut out {
            None => {
                // Reserved once (untouched capacity costs no memory): the peak stays near one
                // copy of the data plus one batch.
                let rest = usize::try_from(rows)
                    .unwrap_or(0)
                    .saturating_sub(part.len());
                part.reserve(rest);
                out = Some(part);
            }
            Some(all) => all.append(&mut part),
        }
    }
    Ok(out.unwrap_or_default())
}

/// The row type's schema projected to `names` and the columns' indices, or
/// [`Error::UnknownColumn`] for a name the row type does not have. Every store's projection
/// checks names through this.
pub(crate) fn project_columns<T: Record>(
    names: &[String],
) -> Result<(arrow_schema::SchemaRef, Vec<usize>)> {
    let schema = <T::Columns as ToArrow>::schema();
    let mut indices = Vec::with_capacity(names.len());
    for name in names {
        let index = schema.index_of(name).map_err(|_| Error::UnknownColumn {
            type_name: <T::Columns as ToArrow>::TYPE_NAME,
            column: name.clone(),
            available: schema.fields().iter().map(|f| f.name().clone()).collect(),
        })?;
        indices.push(index);
    }
    let projected = schema
        .project(&indices)
        .map_err(|e| Error::arrow("projecting the schema", e))?;
    Ok((Arc::new(projected), indices))
}

/// Drains a stream (on a blocking thread) into one batch of `schema`.
fn concat_stream(
    mut stream: BatchStream,
    schema: &arrow_schema::SchemaRef,
    rows: u64,
) -> Result<RecordBatch> {
    if schema.fields().is_empty() {
        let rows = usize::try_from(rows).unwrap_or(0);
        let options = arrow_array::RecordBatchOptions::new().with_row_count(Some(rows));
        return RecordBatch::try_new_with_options(Arc::clone(schema), Vec::new(), &options)
            .map_err(|e| Error::arrow("an empty projection", e));
    }
    let mut batches = Vec::new();
    while let Some(batch) = futures::executor::block_on(stream.next()) {
        let batch = batch?;
        // Same columns, in the order asked, with the row type's field names and nullability.
        let batch = RecordBatch::try_new(Arc::clone(schema), batch.columns().to_vec())
            .map_err(|e| Error::arrow("projecting columns", e))?;
        batches.push(batch);
    }
    match batches.len() {
        0 => Ok(RecordBatch::new_empty(Arc::clone(schema))),
        1 => Ok(batches.swap_remove(0)),
        _ => arrow_select::concat::concat_batches(schema, &batches)
            .map_err(|e| Error::arrow("concatenating projected batches", e)),
    }
}

//! In-memory Arrow store: shared, append-only batches, snapshot reads, Arrow IPC files.
//!
//! # How concurrency works
//!
//! The stored record batches live in a linked list of fixed-size *chunks* of write-once slots.
//! The first and last chunk, the number of filled slots and the statistics sit behind one mutex
//! that is only ever held for a few pointer operations, whatever the size of the store:
//!
//! * an append computes the batch's sizes *before* taking the lock, then fills the next slot of
//!   the last chunk (and, once every [`CHUNK_SLOTS`] appends, links a new empty chunk). It never
//!   copies or touches the batches already stored: O(1) under the lock.
//! * a reader takes a *snapshot*: it clones the `Arc` of the first chunk and reads the number of
//!   filled slots (O(1) under the lock), then walks the chunks without the lock. Slots and links
//!   are written once and never change, so the snapshot is a consistent prefix of whole batches
//!   however long the reader takes, and writers are never blocked by it.
//! * `save`, `clear` and `load_ipc` swap in a new list; snapshots taken before keep the old one
//!   alive until they are dropped. The old data is dropped after the lock is released.

mod ipc;
mod sizes;
pub(crate) use sizes::batch_bytes;

use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::SchemaRef;

use crate::convert::ToArrow;
use crate::error::{Error, Result};
use crate::store::conform::conform;
use crate::store::prune::ColumnStats as Bounds;
use crate::store::{
    BatchStream, ColumnStats, Record, ScanOptions, Store, StoreStats, WriteMode, blocking,
    project_columns,
};

pub(crate) use ipc::{read_ipc_file, write_ipc_file};
use sizes::batch_sizes;

/// Number of batch slots per chunk of the append-only batch list (one allocation of a new chunk
/// every `CHUNK_SLOTS` appends).
pub const CHUNK_SLOTS: usize = 256;

/// Compression of the record batches in an Arrow IPC file written by [`ArrowStore::save_ipc`].
///
/// The schema and footer are never compressed; every reader of the Arrow IPC format version 5
/// (pyarrow, polars, DuckDB's arrow extension, arrow-rs) decodes all three.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IpcCompression {
    /// Buffers stored as they are in memory: fastest to write and read, largest file.
    #[default]
    None,
    /// LZ4 frame compression: fast, moderate ratio.
    Lz4,
    /// Zstandard compression: slower to write, best ratio.
    Zstd,
}

impl IpcCompression {
    fn codec(self) -> Option<arrow_ipc::CompressionType> {
        match self {
            IpcCompression::None => None,
            IpcCompression::Lz4 => Some(arrow_ipc::CompressionType::LZ4_FRAME),
            IpcCompression::Zstd => Some(arrow_ipc::CompressionType::ZSTD),
        }
    }
}

/// Bytes of one column of one batch (or of the whole store, summed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct ColumnSize {
    bytes: u64,
    validity: u64,
}

/// A chunk of write-once batch slots and the link to the next chunk. Slot `i` of the store is
/// slot `i % CHUNK_SLOTS` of the `i / CHUNK_SLOTS`-th chunk; it is filled under the store's lock
/// before the filled count covers it, and the link is set before the first slot of the next chunk.
struct Chunk {
    slots: Box<[OnceLock<RecordBatch>]>,
    next: OnceLock<Arc<Chunk>>,
}

impl Chunk {
    fn new() -> Self {
        Self::with_slots(CHUNK_SLOTS)
    }

    fn with_slots(slots: usize) -> Self {
        Chunk {
            slots: (0..slots).map(|_| OnceLock::new()).collect(),
            next: OnceLock::new(),
        }
    }
}

impl Drop for Chunk {
    /// Unlinks the chain iteratively: the default recursive drop of a long list of chunks could
    /// overflow the stack.
    fn drop(&mut self) {
        let mut next = self.next.take();
        while let Some(chunk) = next {
            next = match Arc::try_unwrap(chunk) {
                Ok(mut chunk) => chunk.next.take(),
                // Still referenced by a snapshot: it is dropped with that snapshot.
                Err(_) => None,
            };
        }
    }
}

/// Everything behind the store's lock.
#[derive(Default)]
struct State {
    /// First chunk (`None` while nothing was ever stored in this list).
    head: Option<Arc<Chunk>>,
    /// Last chunk, where the next batch goes.
    tail: Option<Arc<Chunk>>,
    /// Filled slots (= stored batches). Slots below it are set and never change.
    batches: usize,
    rows: u64,
    bytes: u64,
    /// Per schema column.
    columns: Vec<ColumnSize>,
}

impl State {
    fn empty(columns: usize) -> Self {
        State {
            columns: vec![ColumnSize::default(); columns],
            ..State::default()
        }
    }

    /// Stores `batch` (already conformed to the schema) in the next slot and adds its sizes.
    /// O(1) apart from summing the per-column sizes; never touches stored batches.
    fn push(&mut self, batch: RecordBatch, sizes: &[ColumnSize]) {
        let slot = self.batches % CHUNK_SLOTS;
        let tail = match &self.tail {
            Some(tail) if slot != 0 => Arc::clone(tail),
            _ => {
                let fresh = Arc::new(Chunk::new());
                match &self.tail {
                    // The tail's link is only ever set here, once, when it stops being the tail.
                    Some(tail) => {
                        let linked = tail.next.set(Arc::clone(&fresh)).is_ok();
                        debug_assert!(linked, "chunk linked twice");
                    }
                    None => self.head = Some(Arc::clone(&fresh)),
                }
                self.tail = Some(Arc::clone(&fresh));
                fresh
            }
        };
        let rows = batch.num_rows() as u64;
        // Slot `slot` of the tail is empty: slots are filled in order, each once.
        let stored = tail
            .slots
            .get(slot)
            .is_some_and(|cell| cell.set(batch).is_ok());
        debug_assert!(stored, "batch slot {} filled twice", self.batches);
        if !stored {
            return;
        }
        self.batches += 1;
        self.rows += rows;
        for (total, size) in self.columns.iter_mut().zip(sizes) {
            total.bytes += size.bytes;
            total.validity += size.validity;
            self.bytes += size.bytes;
        }
    }

    /// O(1): one reference count and the filled count.
    fn snapshot(&self) -> Snapshot {
        Snapshot {
            chunk: self.head.clone(),
            slot: 0,
            left: self.batches,
        }
    }
}

/// A consistent view of the stored batches: the first chunk and the number of batches at the
/// time it was taken. Iterating clones the batches (reference counts only, no column data).
struct Snapshot {
    chunk: Option<Arc<Chunk>>,
    /// Next slot to read in `chunk`.
    slot: usize,
    /// Batches still to return.
    left: usize,
}

impl Iterator for Snapshot {
    type Item = RecordBatch;

    fn next(&mut self) -> Option<RecordBatch> {
        if self.left == 0 {
            return None;
        }
        if self.slot == CHUNK_SLOTS {
            self.chunk = self.chunk.as_ref().and_then(|c| c.next.get().cloned());
            self.slot = 0;
        }
        let batch = self
            .chunk
            .as_ref()
            .and_then(|c| c.slots.get(self.slot))
            .and_then(OnceLock::get)
            .cloned();
        self.slot += 1;
        // Every slot below the count taken with the snapshot is filled and linked; stop rather
        // than loop should that ever not hold.
        self.left = if batch.is_some() { self.left - 1 } else { 0 };
        batch
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

struct Shared {
    state: Mutex<State>,
    /// Column statistics of stored batches, computed by the first scan with a predicate that
    /// needs them, keyed by the column array's address; the entry holds the array, so the
    /// address cannot be reused while the entry lives. Emptied when the content is replaced.
    stats: Mutex<HashMap<usize, (ArrayRef, Option<Bounds>)>>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing inside the critical sections can panic half-way through an update, so a poisoned
        // lock still guards a consistent state.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// An in-memory store of record batches of one row type `T`, shared between tasks and threads.
///
/// * Cheap to clone: clones share the same data (an `Arc` inside).
/// * Many readers and writers at once. A reader works on a snapshot of whole batches and never
///   blocks writers while it reads; an append stores the new batch without copying or revisiting
///   stored data (see the [module documentation](self)).
/// * [`stats`](Store::stats) are maintained on every write: rows, batches and the Arrow memory of
///   every column including validity bitmaps.
/// * [`save_ipc`](ArrowStore::save_ipc) / [`load_ipc`](ArrowStore::load_ipc) persist the content
///   as an Arrow IPC file (optionally LZ4 or Zstandard compressed) that pyarrow, polars and DuckDB
///   read.
///
/// ```
/// use soa_runtime::{ArrowStore, Soa, Store, StoreExt, ToArrow};
///
/// #[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
/// pub struct Trade { pub id: u64, pub price: f64, pub venue: Option<String> }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> soa_runtime::Result<()> {
/// let store = ArrowStore::<Trade>::new();
/// let trades: TradeSoA = vec![
///     Trade { id: 1, price: 10.5, venue: None },
///     Trade { id: 2, price: 11.0, venue: Some("XNYS".into()) },
/// ].into();
/// store.append(&trades).await?;            // copies once into Arrow
/// store.append_owned(trades.clone()).await?; // moves the columns, no copy
/// assert_eq!(store.count().await?, 4);
/// assert_eq!(store.stats().columns[0].bytes, 4 * 8); // `id`: four u64 values
///
/// let all: TradeSoA = store.load().await?;
/// assert_eq!(all.id, [1, 2, 1, 2]);
/// # Ok(()) }
/// ```
pub struct ArrowStore<T> {
    shared: Arc<Shared>,
    _rows: PhantomData<fn() -> T>,
}

impl<T> Clone for ArrowStore<T> {
    fn clone(&self) -> Self {
        ArrowStore {
            shared: Arc::clone(&self.shared),
            _rows: PhantomData,
        }
    }
}

impl<T: Record> Default for ArrowStore<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Record> fmt::Debug for ArrowStore<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (rows, batches) = {
            let state = self.shared.lock();
            (state.rows, state.batches)
        };
        f.debug_struct("ArrowStore")
            .field("type", &<T::Columns as ToArrow>::TYPE_NAME)
            .field("rows", &rows)
            .field("batches", &batches)
            .finish()
    }
}

impl<T: Record> ArrowStore<T> {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        let columns = schema::<T>().fields().len();
        ArrowStore {
            shared: Arc::new(Shared {
                state: Mutex::new(State::empty(columns)),
                stats: Mutex::new(HashMap::new()),
            }),
            _rows: PhantomData,
        }
    }

    /// Appends a record batch without copying its column data.
    ///
    /// The batch must have exactly the columns of `T`'s schema (by name, in any order) with the
    /// same Arrow types; it is stored with `T`'s schema and column order. A column whose field is
    /// not an `Option` may be declared nullable in the batch as long as it holds no nulls. An empty
    /// batch is accepted and not stored.
    ///
    /// # Errors
    /// [`Error::SchemaMismatch`] (without a path) naming the missing, unexpected or mistyped
    /// column, or a column with nulls whose field is not an `Option`.
    pub fn append_batch(&self, batch: RecordBatch) -> Result<()> {
        let batch = conform(&schema::<T>(), batch, None)?;
        self.push(batch);
        Ok(())
    }

    /// The stored batches at this instant, in append order. Only reference counts are copied,
    /// never column data; later writes do not change the returned batches.
    #[must_use]
    pub fn snapshot(&self) -> Vec<RecordBatch> {
        self.take_snapshot().collect()
    }

    /// Writes the whole content (a snapshot) to an Arrow IPC **file** at `path`, replacing it
    /// atomically: the data goes to a hidden temporary file (`.<name>.<pid>.<n>.tmp`) in the same
    /// directory, which is fsynced and renamed over `path`; then the directory is fsynced. A crash
    /// leaves either the old or the new file (and possibly a stale temporary file, which the next
    /// successful `save_ipc` to the same path removes once its process is gone).
    ///
    /// Encoding and I/O run on tokio's blocking thread pool. The file carries the row type name in
    /// its custom metadata (`soa.rust_type`, the key every store uses).
    ///
    /// # Errors
    /// [`Error::Io`] naming the file or directory (for example a missing directory or a full
    /// disk), [`Error::Arrow`] if Arrow cannot encode a batch, [`Error::Task`] if the blocking
    /// task was cancelled.
    pub async fn save_ipc(
        &self,
        path: impl AsRef<Path>,
        compression: IpcCompression,
    ) -> Result<()> {
        let path = path.as_ref().to_path_buf();
        let batches = self.snapshot();
        let schema = schema::<T>();
        let type_name = <T::Columns as ToArrow>::TYPE_NAME;
        blocking(move || write_ipc_file(&path, &schema, &batches, compression, type_name)).await
    }

    /// Replaces the content with the record batches of the Arrow IPC file at `path` (written by
    /// [`save_ipc`](Self::save_ipc) or any Arrow implementation: pyarrow, polars, arrow-rs).
    ///
    /// The file is read by the rules of [`ToArrow::from_record_batch`]: columns match by name in
    /// any order, extra columns are ignored, the schema-evolution widenings are accepted
    /// (`Int32` for an `i64`, `LargeUtf8` or `Utf8View` for a `String`, ...), a missing `Option`
    /// column loads as `None` and a missing `#[soa(default)]` column as `Default`. Each batch is
    /// converted and stored with `T`'s own schema, so [`snapshot`](Self::snapshot) and
    /// [`save_ipc`](Self::save_ipc) always see exactly that schema. The whole file is decoded and
    /// converted before the content is replaced: on error the store is unchanged. Decoding runs on tokio's blocking thread pool, inside
    /// [`std::panic::catch_unwind`] because the upstream reader panics on some
    /// corrupt inputs; such a panic becomes [`Error::Corrupt`] (the default panic hook still prints
    /// it to stderr). With `panic = "abort"` this guard is lost.
    ///
    /// Before decoding, every block must lie inside the file and every compressed buffer must
    /// declare an uncompressed size its codec and its column can produce: arrow-ipc allocates the
    /// declared size up front, and a failed allocation (one flipped high bit) would abort the
    /// process, which no `catch_unwind` stops.
    ///
    /// Compression is detected from the file. Integrity is only checked as far as the format
    /// allows (magic bytes, footer, buffer bounds, UTF-8 and offsets): a bit flip inside a value
    /// buffer decodes into different values.
    ///
    /// # Errors
    /// [`Error::Io`] with the path when the file cannot be opened or read (kind `NotFound` for a
    /// missing file); [`Error::Corrupt`] for a file that is not a complete Arrow IPC file
    /// (truncated, garbage, undecodable); [`Error::SchemaMismatch`] when the file's schema cannot
    /// be read into `T` (a missing column or a type that does not fit, checked before decoding
    /// any data; the reason is the `Struct.field` error of `from_record_batch`, for example
    /// `Trade.px: expected Arrow type Float64, found Utf8`); [`Error::InFile`] wrapping the
    /// [`Error::Column`] for a value `T` cannot hold (a null in a field that is not an `Option`,
    /// an unknown enum variant, ...; its row counts from the start of the file); [`Error::Task`] if
    /// the blocking task was cancelled.
    pub async fn load_ipc(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref().to_path_buf();
        // The rules of `from_record_batch`, then `T`'s exact schema for the stored batches.
        let convert = |batch: RecordBatch| {
            <T::Columns as ToArrow>::try_from_record_batch(batch)
                .and_then(ToArrow::into_record_batch)
        };
        let type_name = <T::Columns as ToArrow>::TYPE_NAME;
        let batches = blocking(move || read_ipc_file(&path, type_name, &convert)).await?;
        self.replace(batches);
        Ok(())
    }

    fn take_snapshot(&self) -> Snapshot {
        self.shared.lock().snapshot()
    }

    /// Stores a batch already conformed to the schema; sizes are computed before locking.
    fn push(&self, batch: RecordBatch) {
        if batch.num_rows() == 0 {
            return;
        }
        let sizes = batch_sizes(&batch);
        self.shared.lock().push(batch, &sizes);
    }

    /// Stores conformed batches as one step: readers see all of them or none.
    fn push_all(&self, batches: Vec<RecordBatch>) {
        let mut sized: Vec<_> = batches
            .into_iter()
            .filter(|b| b.num_rows() > 0)
            .map(|b| {
                let sizes = batch_sizes(&b);
                (b, sizes)
            })
            .collect();
        match sized.len() {
            0 => {}
            1 => {
                if let Some((batch, sizes)) = sized.pop() {
                    self.shared.lock().push(batch, &sizes);
                }
            }
            _ => {
                let mut state = self.shared.lock();
                for (batch, sizes) in sized {
                    state.push(batch, &sizes);
                }
            }
        }
    }

    /// Replaces the content with conformed batches; the old content is dropped outside the lock.
    fn replace(&self, batches: Vec<RecordBatch>) {
        let mut state = State::empty(schema::<T>().fields().len());
        for batch in batches {
            if batch.num_rows() > 0 {
                let sizes = batch_sizes(&batch);
                state.push(batch, &sizes);
            }
        }
        let old = std::mem::replace(&mut *self.shared.lock(), state);
        drop(old);
        self.shared
            .stats
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// Whether `batch` may hold a row `expr` matches, from its columns' (cached) statistics.
    fn batch_may_match(&self, batch: &RecordBatch, expr: &crate::predicate::Expr) -> bool {
        let mut cache = self
            .shared
            .stats
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let keep = crate::store::prune::may_match(expr, 1, &mut |column| {
            let array = batch.column_by_name(column)?;
            let key = Arc::as_ptr(array).cast::<()>() as usize;
            cache
                .entry(key)
                .or_insert_with(|| {
                    (
                        Arc::clone(array),
                        crate::store::prune::array_stats(array.as_ref()),
                    )
                })
                .1
                .clone()
        });
        keep.first().copied().unwrap_or(true)
    }
}

impl<T: Record> Store<T> for ArrowStore<T> {
    /// Conforms every batch to `T`'s schema (no column data copied), then stores them as one
    /// step under the lock: readers see all of them or none.
    async fn write_batches(&self, batches: Vec<RecordBatch>, mode: WriteMode) -> Result<()> {
        let schema = schema::<T>();
        let batches = batches
            .into_iter()
            .map(|batch| conform(&schema, batch, None))
            .collect::<Result<Vec<_>>>()?;
        match mode {
            WriteMode::Overwrite => self.replace(batches),
            _ => self.push_all(batches),
        }
        Ok(())
    }

    /// A stream of the batches of a snapshot taken now, in append order: no column data is
    /// copied (projection selects columns, a batch size slices batches).
    async fn scan_with(&self, options: ScanOptions) -> Result<BatchStream> {
        // Batches whose statistics rule the predicate out are skipped (counted as row groups).
        let all: Vec<RecordBatch> = self.take_snapshot().collect();
        let total = all.len() as u64;
        let kept = match &options.predicate {
            None => all,
            Some(expr) => all
                .into_iter()
                .filter(|b| self.batch_may_match(b, expr))
                .collect(),
        };
        scan_kept::<T>(
            kept.into_iter().map(|b| (b, true)).collect(),
            total,
            &options,
        )
    }

    async fn count(&self) -> Result<u64> {
        Ok(self.shared.lock().rows)
    }

    fn stats(&self) -> StoreStats {
        let (rows, batches, bytes, sizes) = {
            let state = self.shared.lock();
            (
                state.rows,
                state.batches,
                state.bytes,
                state.columns.clone(),
            )
        };
        let schema = schema::<T>();
        StoreStats {
            rows,
            batches: batches as u64,
            bytes,
            columns: schema
                .fields()
                .iter()
                .zip(sizes)
                .map(|(field, size)| ColumnStats {
                    name: field.name().clone(),
                    bytes: size.bytes,
                    validity_bytes: size.validity,
                })
                .collect(),
        }
    }
}

/// A stream of `kept` (the batches of a snapshot of `total` that pruning kept, each with whether
/// the predicate must be evaluated on it: `false` when statistics show every row matches),
/// projected, sliced to the batch size and filtered as `options` say: no column data is copied
/// before the filter.
pub(crate) fn scan_kept<T: Record>(
    kept: Vec<(RecordBatch, bool)>,
    total: u64,
    options: &ScanOptions,
) -> Result<BatchStream> {
    let projection = match &options.columns {
        None => None,
        Some(names) => Some(project_columns::<T>(names)?),
    };
    let max_rows = options.batch_size.unwrap_or(usize::MAX).max(1);
    if options.predicate.is_some()
        && let Some(m) = &options.metrics
    {
        m.row_groups(total, total - kept.len() as u64);
    }
    let options = options.clone();
    let batches = kept.into_iter().flat_map(move |(batch, check)| {
        let batch = match &projection {
            Some((projected, indices)) => {
                let columns = indices.iter().map(|&i| batch.column(i).clone()).collect();
                RecordBatch::try_new(Arc::clone(projected), columns)
                    .map_err(|e| Error::arrow("projecting a stored batch", e))
            }
            None => Ok(batch),
        };
        let pieces: Vec<Result<RecordBatch>> = match batch {
            Ok(batch) if batch.num_rows() > max_rows => (0..batch.num_rows())
                .step_by(max_rows)
                .map(|start| Ok(batch.slice(start, max_rows.min(batch.num_rows() - start))))
                .collect(),
            other => vec![other],
        };
        let options = options.clone();
        pieces.into_iter().filter_map(move |piece| {
            piece
                .and_then(|b| crate::store::core::filter_batch(b, &options, check))
                .transpose()
        })
    });
    Ok(Box::pin(futures::stream::iter(batches)))
}

fn schema<T: Record>() -> SchemaRef {
    <T::Columns as ToArrow>::schema()
}

#[cfg(test)]
mod tests {
    use super::sizes::{add_data_size, var_width_bytes};
    use super::*;
    use arrow_array::{Array, ArrayRef, Int32Array, StringArray, UInt64Array};

    #[test]
    fn sizes_of_sliced_arrays_count_only_the_slice() {
        let ints = UInt64Array::from_iter_values(0..100).slice(10, 10);
        let mut size = ColumnSize::default();
        add_data_size(&ints.to_data(), &mut size);
        assert_eq!(
            size,
            ColumnSize {
                bytes: 80,
                validity: 0
            }
        );

        let strings = StringArray::from(vec![Some("ab"), None, Some("cde"), Some("f")]).slice(1, 2);
        let mut size = ColumnSize::default();
        add_data_size(&strings.to_data(), &mut size);
        // 3 offsets + "cde" + one validity byte
        assert_eq!(
            size,
            ColumnSize {
                bytes: 12 + 3 + 1,
                validity: 1
            }
        );

        let nullable = Int32Array::from(vec![Some(1), None, Some(3)]);
        let mut size = ColumnSize::default();
        add_data_size(&nullable.to_data(), &mut size);
        assert_eq!(
            size,
            ColumnSize {
                bytes: 12 + 1,
                validity: 1
            }
        );
    }

    fn tiny_batch(id: u64) -> RecordBatch {
        let ids: ArrayRef = Arc::new(UInt64Array::from(vec![id]));
        RecordBatch::try_from_iter([("id", ids)]).unwrap()
    }

    fn ids(snapshot: Snapshot) -> Vec<u64> {
        snapshot
            .map(|b| {
                b.column(0)
                    .as_any()
                    .downcast_ref::<UInt64Array>()
                    .unwrap()
                    .value(0)
            })
            .collect()
    }

    #[test]
    fn snapshots_cross_chunks_and_ignore_later_pushes() {
        let mut state = State::empty(1);
        let size = [ColumnSize {
            bytes: 8,
            validity: 0,
        }];
        let n = CHUNK_SLOTS as u64 * 2 + 7;
        for id in 0..n {
            state.push(tiny_batch(id), &size);
        }
        let early = state.snapshot();
        assert_eq!(early.size_hint(), (n as usize, Some(n as usize)));
        for id in n..n + CHUNK_SLOTS as u64 {
            state.push(tiny_batch(id), &size);
        }
        assert_eq!(ids(early), (0..n).collect::<Vec<_>>());
        assert_eq!(
            ids(state.snapshot()),
            (0..n + CHUNK_SLOTS as u64).collect::<Vec<_>>()
        );
        assert_eq!(state.rows, n + CHUNK_SLOTS as u64);
        assert_eq!(state.columns[0].bytes, 8 * state.rows);
        assert_eq!(ids(State::empty(1).snapshot()), Vec::<u64>::new());
    }

    #[test]
    fn a_long_chain_of_chunks_drops_without_recursion() {
        let head = Arc::new(Chunk::with_slots(0));
        let mut tail = Arc::clone(&head);
        for _ in 0..1_000_000 {
            let next = Arc::new(Chunk::with_slots(0));
            assert!(tail.next.set(Arc::clone(&next)).is_ok());
            tail = next;
        }
        drop(tail);
        drop(head); // would overflow the test thread's stack with a recursive drop
    }

    #[test]
    fn var_width_never_panics_on_short_buffers() {
        assert_eq!(var_width_bytes(None, 0, 0, 4), 0);
        assert_eq!(var_width_bytes(Some(&[]), 0, 0, 4), 0);
        assert_eq!(var_width_bytes(Some(&[1, 2]), 3, 5, 4), 24);
    }
}

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

use std::fmt;
use std::fs::File;
use std::io::BufWriter;
use std::marker::PhantomData;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, RecordBatch, RecordBatchOptions};
use arrow_buffer::{Buffer, bit_util};
use arrow_data::ArrayData;
use arrow_ipc::reader::FileDecoder;
use arrow_ipc::writer::{FileWriter, IpcWriteOptions};
use arrow_ipc::{Block, MessageHeader};
use arrow_schema::{ArrowError, DataType, Schema, SchemaRef};

use crate::convert::ToArrow;
use crate::error::{Error, Result};
use crate::soa::SoaColumns;
use crate::store::{BatchStream, ColumnStats, Record, Store, StoreStats, retype};

/// Number of batch slots per chunk of the append-only batch list (one allocation of a new chunk
/// every `CHUNK_SLOTS` appends).
pub const CHUNK_SLOTS: usize = 256;

/// Key of the IPC file's custom metadata holding the Rust row type name.
const TYPE_METADATA_KEY: &str = "soa.type";

/// The magic bytes at both ends of an Arrow IPC file.
const ARROW_MAGIC: &[u8; 6] = b"ARROW1";

/// Marks an encapsulated IPC message that starts with its metadata length (format 0.15+).
const CONTINUATION_MARKER: [u8; 4] = [0xff; 4];

/// Path used in errors about a batch handed to [`ArrowStore::append_batch`].
const BATCH_PATH: &str = "<batch>";

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
/// use soa_runtime::{ArrowStore, Soa, Store, ToArrow};
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
/// store.append_owned(trades.clone())?;     // moves the columns, no copy
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
    /// [`Error::SchemaMismatch`] (path `<batch>`) naming the missing, unexpected or mistyped
    /// column, or a column with nulls whose field is not an `Option`.
    pub fn append_batch(&self, batch: RecordBatch) -> Result<()> {
        let batch = conform(&schema::<T>(), batch, Path::new(BATCH_PATH))?;
        self.push(batch);
        Ok(())
    }

    /// Appends a container by moving its columns into Arrow
    /// ([`ToArrow::into_record_batch`]): fixed-width columns are not copied.
    ///
    /// # Errors
    /// As [`ToArrow::into_record_batch`] (a column too large for its Arrow layout, or columns of
    /// different lengths).
    pub fn append_owned(&self, data: T::Columns) -> Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        self.append_batch(data.into_record_batch()?)
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
    /// its custom metadata (`soa.type`).
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
        tokio::task::spawn_blocking(move || {
            write_ipc_file(&path, &schema, &batches, compression, type_name)
        })
        .await
        .map_err(|e| Error::Task(format!("writing an Arrow IPC file: {e}")))?
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
        let batches = tokio::task::spawn_blocking(move || read_ipc_file(&path, &convert))
            .await
            .map_err(|e| Error::Task(format!("reading an Arrow IPC file: {e}")))??;
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
    }
}

impl<T: Record> Store<T> for ArrowStore<T> {
    /// Replaces the content with one batch converted from `data` (one copy of every column).
    async fn save(&self, data: &T::Columns) -> Result<()> {
        let batches = if data.is_empty() {
            Vec::new()
        } else {
            vec![conform(
                &schema::<T>(),
                data.to_record_batch()?,
                Path::new(BATCH_PATH),
            )?]
        };
        self.replace(batches);
        Ok(())
    }

    /// Appends one batch converted from `data` (one copy of every column; use
    /// [`ArrowStore::append_owned`] to move the columns instead). Empty containers are ignored.
    async fn append(&self, data: &T::Columns) -> Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        self.append_batch(data.to_record_batch()?)
    }

    /// Converts every batch of a snapshot ([`ToArrow::from_record_batch`]) and concatenates them.
    async fn load(&self) -> Result<T::Columns> {
        let mut all = T::Columns::default();
        for batch in self.take_snapshot() {
            let mut part = <T::Columns as ToArrow>::from_record_batch(&batch)?;
            if all.is_empty() {
                all = part;
            } else {
                all.append(&mut part);
            }
        }
        Ok(all)
    }

    async fn count(&self) -> Result<u64> {
        Ok(self.shared.lock().rows)
    }

    /// A stream of the batches of a snapshot taken now, in append order (no column data copied).
    async fn scan(&self) -> Result<BatchStream> {
        Ok(Box::pin(futures::stream::iter(
            self.take_snapshot().map(Ok),
        )))
    }

    async fn clear(&self) -> Result<()> {
        self.replace(Vec::new());
        Ok(())
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

fn schema<T: Record>() -> SchemaRef {
    <T::Columns as ToArrow>::schema()
}

// ---------------------------------------------------------------------------------------------
// Schema checks

/// Checks `batch` against `expected` and returns it with `expected` as its schema and columns in
/// schema order. Cheap: no column data is copied.
fn conform(expected: &SchemaRef, batch: RecordBatch, path: &Path) -> Result<RecordBatch> {
    if Arc::ptr_eq(expected, batch.schema_ref()) {
        return Ok(batch);
    }
    let indices =
        column_indices(expected, batch.schema_ref()).map_err(|reason| mismatch(path, reason))?;
    project(expected, &batch, &indices).map_err(|reason| mismatch(path, reason))
}

fn mismatch(path: &Path, reason: String) -> Error {
    Error::SchemaMismatch {
        path: path.to_path_buf(),
        reason,
    }
}

/// For each field of `expected`, the index of the column of the same name in `found`, after
/// checking types and that `found` has no other columns.
fn column_indices(expected: &Schema, found: &Schema) -> std::result::Result<Vec<usize>, String> {
    let mut indices = Vec::with_capacity(expected.fields().len());
    for field in expected.fields() {
        let Ok(index) = found.index_of(field.name()) else {
            return Err(format!(
                "column {:?} is missing (expected Arrow type {}); found columns {:?}",
                field.name(),
                field.data_type(),
                column_names(found)
            ));
        };
        let found_type = found.field(index).data_type();
        // Nested field names and nullability differ between writers (pyarrow names map entries
        // key/value, nullable): compare structure and leaf types; `project` relabels the column,
        // and the conversion on `load` still rejects a null where the field has no Option. A
        // timestamp in another unit (pyarrow reads our seconds from Parquet as milliseconds) is
        // converted exactly by `project`.
        if !same_shape(found_type, field.data_type())
            && !retype::same_but_units(found_type, field.data_type())
        {
            return Err(format!(
                "column {:?}: expected Arrow type {}, found {}",
                field.name(),
                field.data_type(),
                found_type
            ));
        }
        indices.push(index);
    }
    if let Some(extra) = found
        .fields()
        .iter()
        .find(|f| expected.index_of(f.name()).is_err())
    {
        return Err(format!(
            "unexpected column {:?} ({}); expected exactly the columns {:?}",
            extra.name(),
            extra.data_type(),
            column_names(expected)
        ));
    }
    if found.fields().len() != expected.fields().len() {
        return Err(format!(
            "expected {} columns {:?}, found {} columns {:?} (duplicate names?)",
            expected.fields().len(),
            column_names(expected),
            found.fields().len(),
            column_names(found)
        ));
    }
    Ok(indices)
}

fn column_names(schema: &Schema) -> Vec<&str> {
    schema.fields().iter().map(|f| f.name().as_str()).collect()
}

/// Rebuilds `batch` with `expected`'s schema from the columns at `indices` (same types, checked).
fn project(
    expected: &SchemaRef,
    batch: &RecordBatch,
    indices: &[usize],
) -> std::result::Result<RecordBatch, String> {
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(indices.len());
    for (field, &index) in expected.fields().iter().zip(indices) {
        let Some(column) = batch.columns().get(index) else {
            return Err(format!(
                "column {:?} is missing from the batch",
                field.name()
            ));
        };
        if !field.is_nullable() && column.null_count() > 0 {
            return Err(format!(
                "column {:?} holds {} nulls but is not nullable (the field is not an Option)",
                field.name(),
                column.null_count()
            ));
        }
        if column.data_type() == field.data_type() {
            columns.push(Arc::clone(column));
        } else if !same_shape(column.data_type(), field.data_type()) {
            let converted = retype::convert(column, field.data_type())
                .map_err(|e| format!("column {:?}: {e}", field.name()))?;
            columns.push(converted);
        } else {
            let data = relabel(column.to_data(), field.data_type())
                .map_err(|e| format!("column {:?}: {e}", field.name()))?;
            columns.push(arrow_array::make_array(data));
        }
    }
    let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
    RecordBatch::try_new_with_options(Arc::clone(expected), columns, &options)
        .map_err(|e| e.to_string())
}

/// Whether two types have the same structure and leaf types, ignoring nested field names,
/// nested nullability and a map's `keys_sorted` flag.
fn same_shape(a: &DataType, b: &DataType) -> bool {
    use DataType::*;
    match (a, b) {
        (List(x), List(y))
        | (LargeList(x), LargeList(y))
        | (ListView(x), ListView(y))
        | (LargeListView(x), LargeListView(y))
        | (Map(x, _), Map(y, _)) => same_shape(x.data_type(), y.data_type()),
        (FixedSizeList(x, n), FixedSizeList(y, m)) => {
            n == m && same_shape(x.data_type(), y.data_type())
        }
        (Struct(x), Struct(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y.iter())
                    .all(|(f, g)| same_shape(f.data_type(), g.data_type()))
        }
        _ => a == b,
    }
}

/// Gives `data` the type `to`, which differs from its own only in nested field names and
/// nullability (checked by `same_shape` beforehand). Buffers are shared, nothing is copied.
fn relabel(data: ArrayData, to: &DataType) -> std::result::Result<ArrayData, ArrowError> {
    if data.data_type() == to {
        return Ok(data);
    }
    let child_types: Vec<&DataType> = match to {
        DataType::List(f)
        | DataType::LargeList(f)
        | DataType::ListView(f)
        | DataType::LargeListView(f)
        | DataType::FixedSizeList(f, _)
        | DataType::Map(f, _) => vec![f.data_type()],
        DataType::Struct(fields) => fields.iter().map(|f| f.data_type()).collect(),
        other => {
            return Err(ArrowError::SchemaError(format!(
                "cannot relabel a column of type {} as {other}",
                data.data_type()
            )));
        }
    };
    if child_types.len() != data.child_data().len() {
        return Err(ArrowError::SchemaError(format!(
            "expected {} child arrays, found {}",
            child_types.len(),
            data.child_data().len()
        )));
    }
    let children = data
        .child_data()
        .iter()
        .zip(child_types)
        .map(|(child, ty)| relabel(child.clone(), ty))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    data.into_builder()
        .data_type(to.clone())
        .child_data(children)
        .build()
}

// ---------------------------------------------------------------------------------------------
// Memory accounting

/// Sizes of every column of a batch. O(columns), plus a walk of nested children.
fn batch_sizes(batch: &RecordBatch) -> Vec<ColumnSize> {
    batch
        .columns()
        .iter()
        .map(|column| {
            let mut size = ColumnSize::default();
            add_data_size(&column.to_data(), &mut size);
            size
        })
        .collect()
}

/// Adds the bytes an array's slice occupies: values and offsets of its own rows (not buffer
/// capacities), its validity bitmap, and its children (including dictionary values, which are
/// counted whole since every key may refer to any of them).
fn add_data_size(data: &ArrayData, size: &mut ColumnSize) {
    let len = data.len();
    let offset = data.offset();
    if data.nulls().is_some() {
        let validity = bit_util::ceil(len, 8) as u64;
        size.validity += validity;
        size.bytes += validity;
    }
    let buffers = data.buffers();
    let own = match data.data_type() {
        DataType::Null => 0,
        DataType::Boolean => bit_util::ceil(len, 8),
        DataType::Utf8 | DataType::Binary => {
            var_width_bytes(buffers.first().map(|b| b.as_slice()), offset, len, 4)
        }
        DataType::LargeUtf8 | DataType::LargeBinary => {
            var_width_bytes(buffers.first().map(|b| b.as_slice()), offset, len, 8)
        }
        DataType::List(_) | DataType::Map(..) => {
            offsets_bytes(buffers.first().map(|b| b.len()), len, 4)
        }
        DataType::LargeList(_) => offsets_bytes(buffers.first().map(|b| b.len()), len, 8),
        DataType::Dictionary(key, _) => len * key.primitive_width().unwrap_or(0),
        DataType::FixedSizeBinary(width) => len * usize::try_from(*width).unwrap_or(0),
        other => match other.primitive_width() {
            Some(width) => len * width,
            // Struct, unions, views...: whatever their buffers hold.
            None => buffers.iter().map(|b| b.len()).sum(),
        },
    };
    size.bytes += own as u64;
    for child in data.child_data() {
        add_data_size(child, size);
    }
}

/// Offsets of `len` rows: `len + 1` entries, or none for an empty array without offsets.
fn offsets_bytes(buffer_len: Option<usize>, len: usize, width: usize) -> usize {
    match buffer_len {
        Some(0) | None if len == 0 => 0,
        _ => (len + 1) * width,
    }
}

/// Offsets plus the value bytes between the first and last offset of the slice. Reads the two
/// offsets from raw bytes so that a short or misaligned buffer cannot panic.
fn var_width_bytes(offsets: Option<&[u8]>, offset: usize, len: usize, width: usize) -> usize {
    let read = |index: usize| -> Option<i64> {
        let start = index.checked_mul(width)?;
        let bytes = offsets?.get(start..start.checked_add(width)?)?;
        Some(match width {
            4 => i64::from(i32::from_le_bytes(bytes.try_into().ok()?)),
            _ => i64::from_le_bytes(bytes.try_into().ok()?),
        })
    };
    let values = match (read(offset), read(offset + len)) {
        (Some(first), Some(last)) => usize::try_from(last.saturating_sub(first)).unwrap_or(0),
        _ => 0,
    };
    offsets_bytes(offsets.map(<[u8]>::len), len, width) + values
}

// ---------------------------------------------------------------------------------------------
// Arrow IPC files

/// Distinguishes temporary files of concurrent saves in one process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

pub(crate) fn write_ipc_file(
    path: &Path,
    schema: &SchemaRef,
    batches: &[RecordBatch],
    compression: IpcCompression,
    type_name: &str,
) -> Result<()> {
    let Some(file_name) = path.file_name() else {
        return Err(Error::io(
            path,
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "the path has no file name",
            ),
        ));
    };
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let temp = dir.join(format!(
        ".{}.{}.{}.tmp",
        file_name.to_string_lossy(),
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let written = write_and_sync(&temp, schema, batches, compression, type_name);
    if let Err(e) = written {
        // Best effort: the error that matters is the one above.
        let _ = std::fs::remove_file(&temp);
        return Err(e);
    }
    if let Err(e) = std::fs::rename(&temp, path) {
        let _ = std::fs::remove_file(&temp);
        return Err(Error::io(path, e));
    }
    sync_dir(&dir)?;
    sweep_stale_temps(&dir, &file_name.to_string_lossy());
    Ok(())
}

/// Removes the temporary files that killed `save_ipc` calls of *dead* processes left next to
/// `file_name` (`.<name>.<pid>.<n>.tmp`). Best effort, and only where liveness can be checked
/// (a mounted `/proc`): a temporary file of a live process (this one included, or another process
/// saving to the same path right now) is never touched.
fn sweep_stale_temps(dir: &Path, file_name: &str) {
    let proc_root = Path::new("/proc");
    if !proc_root.join("self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let prefix = format!(".{file_name}.");
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name
            .to_str()
            .and_then(|n| n.strip_prefix(&prefix))
            .and_then(|n| n.strip_suffix(".tmp"))
        else {
            continue;
        };
        let Some((pid, counter)) = rest.split_once('.') else {
            continue;
        };
        let (Ok(pid), Ok(_)) = (pid.parse::<u32>(), counter.parse::<u64>()) else {
            continue;
        };
        if pid != std::process::id() && !proc_root.join(pid.to_string()).exists() {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

fn write_and_sync(
    temp: &Path,
    schema: &SchemaRef,
    batches: &[RecordBatch],
    compression: IpcCompression,
    type_name: &str,
) -> Result<()> {
    let file = File::create_new(temp).map_err(|e| Error::io(temp, e))?;
    let options = IpcWriteOptions::default()
        .try_with_compression(compression.codec())
        .map_err(|e| Error::arrow("configuring Arrow IPC compression", e))?;
    let write_error = |e: ArrowError| match e {
        ArrowError::IoError(_, source) => Error::io(temp, source),
        other => Error::arrow(format!("writing Arrow IPC file {}", temp.display()), other),
    };
    let mut writer = FileWriter::try_new_with_options(BufWriter::new(file), schema, options)
        .map_err(write_error)?;
    writer.write_metadata(TYPE_METADATA_KEY, type_name);
    // The IPC *file* format allows one dictionary per field: when batches carry different
    // dictionaries (a `#[soa(dictionary)]` column; enum dictionaries are always the same), the
    // snapshot is written as one batch whose dictionaries arrow-select merges.
    if batches.len() > 1 && dictionaries_differ(schema, batches) {
        let merged = arrow_select::concat::concat_batches(schema, batches)
            .map_err(|e| Error::arrow("merging dictionary batches for an Arrow IPC file", e))?;
        writer.write(&merged).map_err(write_error)?;
    } else {
        for batch in batches {
            writer.write(batch).map_err(write_error)?;
        }
    }
    let buffered = writer.into_inner().map_err(write_error)?;
    let file = buffered
        .into_inner()
        .map_err(|e| Error::io(temp, e.into_error()))?;
    file.sync_all().map_err(|e| Error::io(temp, e))
}

/// Whether any dictionary column has different dictionary values in two of the batches.
fn dictionaries_differ(schema: &SchemaRef, batches: &[RecordBatch]) -> bool {
    schema.fields().iter().enumerate().any(|(i, field)| {
        if !matches!(field.data_type(), DataType::Dictionary(..)) {
            return false;
        }
        let mut values = batches.iter().filter_map(|b| {
            b.column(i)
                .as_any_dictionary_opt()
                .map(|d| d.values().to_data())
        });
        let Some(first) = values.next() else {
            return false;
        };
        values.any(|v| v != first)
    })
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(dir, e))
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> Result<()> {
    // Directories cannot be opened for syncing on this platform; the rename is still atomic.
    Ok(())
}

fn corrupt(path: &Path, reason: impl Into<String>) -> Error {
    Error::Corrupt {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// Converts a decoded batch into one with the row type's schema (see `ArrowStore::load_ipc`).
type Convert<'a> = &'a dyn Fn(RecordBatch) -> Result<RecordBatch>;

/// Reads, checks and converts every batch of an IPC file (on a blocking thread).
///
/// The file is read into memory once; batches of an uncompressed file are slices of that buffer
/// until `convert` turns them into the row type's columns.
pub(crate) fn read_ipc_file(path: &Path, convert: Convert<'_>) -> Result<Vec<RecordBatch>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let bytes = Buffer::from_vec(bytes);
    let footer_start = check_ipc_framing(&bytes, path)?;
    // The conversion runs inside the guard too: decoded arrays of a damaged file may be
    // inconsistent in ways only a reader of their values trips over.
    match catch_unwind(AssertUnwindSafe(|| {
        decode_ipc(&bytes, footer_start, path, convert)
    })) {
        Ok(result) => result,
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned());
            Err(corrupt(
                path,
                format!("the Arrow IPC decoder panicked: {message}"),
            ))
        }
    }
}

/// Cheap guards before parsing: the leading and trailing magic, and a footer length that fits.
/// Returns where the footer starts (= where the data blocks end).
fn check_ipc_framing(bytes: &[u8], path: &Path) -> Result<usize> {
    let len = bytes.len();
    // Magic + padding to 8, then at least a footer length and the trailing magic.
    let minimum = 8 + 4 + ARROW_MAGIC.len();
    if len < minimum {
        return Err(corrupt(
            path,
            format!("{len} bytes is too short for an Arrow IPC file (at least {minimum})"),
        ));
    }
    if !bytes.starts_with(ARROW_MAGIC) {
        return Err(corrupt(
            path,
            "not an Arrow IPC file: it does not start with ARROW1",
        ));
    }
    if !bytes.ends_with(ARROW_MAGIC) {
        return Err(corrupt(
            path,
            "truncated or damaged Arrow IPC file: it does not end with ARROW1",
        ));
    }
    let footer_len = bytes
        .get(len - 10..len - 6)
        .and_then(|b| b.try_into().ok())
        .map_or(-1, i32::from_le_bytes);
    match usize::try_from(footer_len) {
        Ok(footer_len) if footer_len <= len - minimum => Ok(len - 10 - footer_len),
        _ => Err(corrupt(
            path,
            format!("footer length {footer_len} does not fit in a file of {len} bytes"),
        )),
    }
}

/// The file is in memory when it is decoded, so every decoder error (including the `IoError`s
/// the LZ4 and Zstandard decoders report) means damaged content.
fn decode_error(path: &Path, e: ArrowError) -> Error {
    corrupt(path, format!("cannot decode Arrow IPC data: {e}"))
}

/// Decodes the file with arrow-ipc's [`FileDecoder`], after checking each block's bounds and the
/// sizes its compressed buffers declare (see [`check_compressed_sizes`]), and converts each batch.
fn decode_ipc(
    bytes: &Buffer,
    footer_start: usize,
    path: &Path,
    convert: Convert<'_>,
) -> Result<Vec<RecordBatch>> {
    let footer_bytes = bytes
        .get(footer_start..bytes.len() - 10)
        .unwrap_or_default();
    let footer = arrow_ipc::root_as_footer(footer_bytes)
        .map_err(|e| corrupt(path, format!("unreadable footer: {e}")))?;
    let ipc_schema = footer
        .schema()
        .ok_or_else(|| corrupt(path, "the footer has no schema"))?;
    if !ipc_schema.endianness().equals_to_target_endianness() {
        return Err(corrupt(
            path,
            "the file was written with the other byte order",
        ));
    }
    let schema = Arc::new(
        arrow_ipc::convert::try_fb_to_schema(ipc_schema).map_err(|e| decode_error(path, e))?,
    );
    // Refuse a file for another type before decoding any data: converting an empty batch of the
    // file's schema checks every column's presence and type, by `from_record_batch`'s rules
    // (extra columns, any order, widenings, absent `Option` / `#[soa(default)]` columns).
    convert(RecordBatch::new_empty(Arc::clone(&schema)))
        .map_err(|e| mismatch(path, e.to_string()))?;

    let mut decoder = FileDecoder::new(Arc::clone(&schema), footer.version());
    for (number, block) in footer.dictionaries().into_iter().flatten().enumerate() {
        let what = || format!("dictionary block {number}");
        let buf = block_bytes(bytes, block, footer_start)
            .map_err(|r| corrupt(path, format!("{}: {r}", what())))?;
        check_compressed_sizes(&buf, block, &schema)
            .map_err(|r| corrupt(path, format!("{}: {r}", what())))?;
        decoder
            .read_dictionary(block, &buf)
            .map_err(|e| decode_error(path, e))?;
    }
    let blocks = footer
        .recordBatches()
        .ok_or_else(|| corrupt(path, "the footer lists no record batches"))?;
    let mut batches = Vec::with_capacity(blocks.len());
    let mut first_row = 0;
    for (number, block) in blocks.iter().enumerate() {
        let what = || format!("record batch {number}");
        let buf = block_bytes(bytes, block, footer_start)
            .map_err(|r| corrupt(path, format!("{}: {r}", what())))?;
        check_compressed_sizes(&buf, block, &schema)
            .map_err(|r| corrupt(path, format!("{}: {r}", what())))?;
        let Some(batch) = decoder
            .read_record_batch(block, &buf)
            .map_err(|e| decode_error(path, e))?
        else {
            continue;
        };
        // A value the row type cannot hold (a null in a field that is not an `Option`, an
        // unknown enum variant, ...): the column-level error, naming the file.
        let rows = batch.num_rows();
        let batch = convert(batch).map_err(|e| Error::InFile {
            path: path.to_path_buf(),
            source: Box::new(at_file_row(e, first_row)),
        })?;
        first_row += rows;
        batches.push(batch);
    }
    Ok(batches)
}

/// Counts the row an error names from the start of the file instead of its batch.
fn at_file_row(error: Error, first_row: usize) -> Error {
    match error {
        Error::Column {
            struct_name,
            field,
            source,
        } => Error::Column {
            struct_name,
            field,
            source: source.relocate(&|row| (first_row + row, None)),
        },
        other => other,
    }
}

/// The bytes of one block (message metadata + body), after checking that it lies between the
/// leading magic and the footer.
fn block_bytes(
    bytes: &Buffer,
    block: &Block,
    footer_start: usize,
) -> std::result::Result<Buffer, String> {
    let offset = usize::try_from(block.offset()).ok();
    let meta = usize::try_from(block.metaDataLength()).ok();
    let body = usize::try_from(block.bodyLength()).ok();
    let (Some(offset), Some(meta), Some(body)) = (offset, meta, body) else {
        return Err(format!(
            "negative offset or length (offset {}, metadata {}, body {})",
            block.offset(),
            block.metaDataLength(),
            block.bodyLength()
        ));
    };
    let end = offset.checked_add(meta).and_then(|e| e.checked_add(body));
    match end {
        Some(end) if offset >= 8 && meta >= 8 && end <= footer_start => {
            Ok(bytes.slice_with_length(offset, meta + body))
        }
        _ => Err(format!(
            "bytes {offset}+{meta}+{body} lie outside the data section (8..{footer_start})"
        )),
    }
}

/// Largest output of one compressed buffer of `compressed` bytes: LZ4 frames expand at most about
/// 255 times, Zstandard at most 32 768 times (an RLE block of 128 KiB in 4 bytes).
fn codec_bound(codec: arrow_ipc::CompressionType, compressed: u64) -> u64 {
    let ratio = if codec == arrow_ipc::CompressionType::LZ4_FRAME {
        256
    } else {
        32_768
    };
    compressed.saturating_mul(ratio).saturating_add(1 << 16)
}

/// arrow-ipc trusts the 8-byte uncompressed length in front of every compressed buffer and
/// allocates it up front; a damaged length (one flipped high bit) aborts the whole process on a
/// failed allocation, which `catch_unwind` cannot stop. So before decoding, every declared length
/// must fit both what the codec can produce from the compressed bytes and what the buffer's role
/// in the schema allows for the row count of its node (validity, offsets, fixed-width values;
/// `i32::MAX` for the values of `Utf8`/`Binary`).
fn check_compressed_sizes(
    buf: &Buffer,
    block: &Block,
    schema: &Schema,
) -> std::result::Result<(), String> {
    let meta_len = usize::try_from(block.metaDataLength()).unwrap_or(0);
    let Some(body) = buf.get(meta_len..) else {
        return Ok(());
    };
    // Parse exactly the bytes the decoder parses (the whole block, not only `metaDataLength`
    // of them): a damaged metadata length must not hide a message the decoder then reads.
    let flatbuffer = match buf.get(..4) {
        Some(marker) if marker == CONTINUATION_MARKER.as_slice() => buf.get(8..),
        _ => buf.get(4..),
    }
    .unwrap_or_default();
    // An unreadable message is left to the decoder, which fails on it the same way.
    let Ok(message) = arrow_ipc::root_as_message(flatbuffer) else {
        return Ok(());
    };
    let (batch, data_types): (_, Vec<DataType>) = match message.header_type() {
        MessageHeader::RecordBatch => (
            message.header_as_record_batch(),
            schema
                .fields()
                .iter()
                .map(|f| f.data_type().clone())
                .collect(),
        ),
        MessageHeader::DictionaryBatch => {
            let mut value_types = Vec::new();
            let top: Vec<&DataType> = schema.fields().iter().map(|f| f.data_type()).collect();
            dictionary_value_types(&top, &mut value_types);
            let batch = message.header_as_dictionary_batch().and_then(|d| d.data());
            // With several distinct dictionary types, the batch's type is unknown: only the codec
            // bound applies.
            (
                batch,
                if value_types.len() == 1 {
                    value_types
                } else {
                    Vec::new()
                },
            )
        }
        _ => return Ok(()),
    };
    let Some(batch) = batch else { return Ok(()) };
    let Some(compression) = batch.compression() else {
        // Uncompressed buffers are slices of the file: nothing is allocated from their lengths.
        return Ok(());
    };
    let codec = compression.codec();
    let mut nodes = batch
        .nodes()
        .map(|n| {
            n.iter()
                .map(|n| u64::try_from(n.length()).unwrap_or(u64::MAX))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default()
        .into_iter();
    let mut roles = Vec::new();
    for data_type in &data_types {
        if buffer_roles(data_type, &mut nodes, &mut roles).is_none() {
            break;
        }
    }
    for (index, buffer) in batch.buffers().into_iter().flatten().enumerate() {
        let (Ok(start), Ok(length)) = (
            usize::try_from(buffer.offset()),
            u64::try_from(buffer.length()),
        ) else {
            continue;
        };
        // Empty buffers have no prefix (the bytes at their offset belong to the next buffer);
        // shorter or out-of-range ones are rejected by the decoder.
        if length < 8 {
            continue;
        }
        let Some(prefix) = body.get(start..start.saturating_add(8)) else {
            continue;
        };
        let declared = prefix.try_into().map_or(0, i64::from_le_bytes);
        let Ok(declared) = u64::try_from(declared) else {
            continue; // -1: stored uncompressed
        };
        let mut limit = codec_bound(codec, length.saturating_sub(8));
        if let Some(Some(role)) = roles.get(index) {
            // Generous slack for writers that pad buffers.
            limit = limit.min(role.saturating_mul(2).saturating_add(1 << 16));
        }
        if declared > limit {
            return Err(format!(
                "buffer {index} declares {declared} uncompressed bytes, more than the {limit} \
                 its {length} compressed bytes and its column allow"
            ));
        }
    }
    Ok(())
}

fn dictionary_value_types(types: &[&DataType], out: &mut Vec<DataType>) {
    for data_type in types {
        match data_type {
            DataType::Dictionary(_, value) if !out.contains(value) => {
                out.push(value.as_ref().clone());
            }
            DataType::List(f)
            | DataType::LargeList(f)
            | DataType::FixedSizeList(f, _)
            | DataType::Map(f, _) => dictionary_value_types(&[f.data_type()], out),
            DataType::Struct(fields) => {
                let children: Vec<&DataType> = fields.iter().map(|f| f.data_type()).collect();
                dictionary_value_types(&children, out);
            }
            _ => {}
        }
    }
}

/// Appends the largest plausible byte size of each buffer of an array of `data_type`, in the
/// order arrow-ipc reads them, consuming one field node per array. `None` in `roles` means
/// unbounded; a `None` return means the layout is not modelled here (stop).
fn buffer_roles(
    data_type: &DataType,
    nodes: &mut impl Iterator<Item = u64>,
    roles: &mut Vec<Option<u64>>,
) -> Option<()> {
    let len = nodes.next()?;
    let validity = Some(len.div_ceil(8));
    let times = |width: usize| Some(len.saturating_mul(width as u64));
    let offsets = |width: u64| Some(len.saturating_add(1).saturating_mul(width));
    match data_type {
        DataType::Null => {}
        DataType::Boolean => roles.extend([validity, validity]),
        DataType::Utf8 | DataType::Binary => {
            roles.extend([validity, offsets(4), Some(i32::MAX as u64)]);
        }
        DataType::LargeUtf8 | DataType::LargeBinary => roles.extend([validity, offsets(8), None]),
        DataType::FixedSizeBinary(width) => {
            roles.extend([validity, times(usize::try_from(*width).unwrap_or(0))]);
        }
        DataType::List(field) | DataType::Map(field, _) => {
            roles.extend([validity, offsets(4)]);
            buffer_roles(field.data_type(), nodes, roles)?;
        }
        DataType::LargeList(field) => {
            roles.extend([validity, offsets(8)]);
            buffer_roles(field.data_type(), nodes, roles)?;
        }
        DataType::FixedSizeList(field, _) => {
            roles.push(validity);
            buffer_roles(field.data_type(), nodes, roles)?;
        }
        DataType::Struct(fields) => {
            roles.push(validity);
            for field in fields {
                buffer_roles(field.data_type(), nodes, roles)?;
            }
        }
        DataType::Dictionary(key, _) => roles.extend([validity, times(key.primitive_width()?)]),
        other => roles.extend([validity, times(other.primitive_width()?)]),
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Int32Array, StringArray, UInt64Array};

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

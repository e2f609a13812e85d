//! Persistence backends. Every backend accepts every type with `#[derive(Soa, ToArrow)]` and
//! implements the one async trait [`Store`].
//!
//! * [`ArrowStore`]: in memory, shared, snapshot reads, Arrow IPC files.
//! * [`ParquetStore`]: a directory of immutable Parquet files with atomic, durable commits.
//!
//! Blocking file I/O and encoding never run on tokio worker threads: they go through
//! `tokio::task::spawn_blocking`.

use std::future::Future;
use std::pin::Pin;

use arrow_array::RecordBatch;
use futures::Stream;

use crate::convert::ToArrow;
use crate::error::Result;
use crate::soa::Soa;

pub mod file;
pub mod memory;
pub mod parquet;
mod retype;

pub use file::SoaFile;
pub use memory::{ArrowStore, IpcCompression};
pub use parquet::ParquetStore;

/// A row type every store accepts: `#[derive(Soa, ToArrow)]` on a `Send + Sync + 'static` struct.
/// Implemented automatically.
pub trait Record: Soa<Columns: ToArrow + Send + Sync + 'static> + Send + Sync + 'static {}

impl<T> Record for T
where
    T: Soa + Send + Sync + 'static,
    T::Columns: ToArrow + Send + Sync + 'static,
{
}

/// A stream of record batches returned by [`Store::scan`].
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
    /// Batches in memory ([`ArrowStore`]) or files on disk ([`ParquetStore`]).
    pub batches: u64,
    /// Bytes in total: Arrow memory for [`ArrowStore`], file bytes on disk for [`ParquetStore`].
    pub bytes: u64,
    /// Per-column sizes, in schema order. For [`ParquetStore`], compressed bytes on disk.
    pub columns: Vec<ColumnStats>,
}

/// The operations every backend offers. `T` is the row type (`Order`); data moves as its
/// container (`OrderSoA`) or as Arrow record batches.
///
/// ```no_run
/// # use soa_runtime::{Soa, ToArrow, store::{Store, ArrowStore}};
/// # #[derive(Soa, ToArrow, Debug, Clone, PartialEq)] struct Order { id: u64 }
/// # async fn demo(orders: OrderSoA) -> soa_runtime::Result<()> {
/// let store = ArrowStore::<Order>::new();
/// store.append(&orders).await?;
/// assert_eq!(store.count().await?, orders.len() as u64);
/// let all: OrderSoA = store.load().await?;
/// # Ok(()) }
/// ```
pub trait Store<T: Record>: Send + Sync {
    /// Replaces the whole content with `data`.
    fn save(&self, data: &T::Columns) -> impl Future<Output = Result<()>> + Send;
    /// Adds `data` after what is stored; never rewrites stored data.
    fn append(&self, data: &T::Columns) -> impl Future<Output = Result<()>> + Send;
    /// Reads everything into one container.
    fn load(&self) -> impl Future<Output = Result<T::Columns>> + Send;
    /// Number of rows stored (cheap: no column data is read).
    fn count(&self) -> impl Future<Output = Result<u64>> + Send;
    /// Streams the stored data as record batches with bounded memory.
    fn scan(&self) -> impl Future<Output = Result<BatchStream>> + Send;
    /// Removes everything.
    fn clear(&self) -> impl Future<Output = Result<()>> + Send;
    /// Current statistics (no I/O).
    fn stats(&self) -> StoreStats;
}

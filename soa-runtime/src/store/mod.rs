//! Persistence backends, and the store core they implement.
//!
//! * [`Store`]: the batch-level core every backend implements (commits of record batches with
//!   append or overwrite semantics, scans with projection, batch size and a row filter, count,
//!   statistics), each method with its `# Contract`.
//! * [`StoreExt`]: the typed operations (`save`, `append`, `append_owned`, `load`,
//!   `load_columns`, `scan`, ...), implemented once for every `Store`.
//! * [`ArrowStore`]: in memory, shared, snapshot reads, Arrow IPC files.
//! * [`ParquetStore`]: a directory of immutable Parquet files with atomic, durable commits.
//! * `DeltaStore` (feature `delta`): Delta Lake tables on local disk, in memory and on object
//!   storage (S3, Azure, GCS), written by any number of processes.
//! * [`SoaFile`]: one Parquet or IPC file read or written as a typed container, no store.
//!
//! Blocking file I/O, encoding and conversions never run on tokio worker threads: they go
//! through `tokio::task::spawn_blocking`.

mod cluster;
mod conform;
mod core;
#[cfg(feature = "delta")]
pub mod delta;
pub(crate) mod durable;
pub mod file;
mod guard;
mod identity;
pub mod memory;
pub mod parquet;
pub mod partition;
pub(crate) mod prune;
mod retype;
pub mod tiered;
pub mod wal;

pub use self::core::{
    BatchStream, ColumnStats, Record, RowFilter, ScanOptions, Store, StoreExt, StoreStats,
    WriteMode,
};
pub(crate) use self::core::{SOURCE_FILE_KEY, blocking, filtered, project_columns};
#[cfg(feature = "delta")]
pub use delta::DeltaStore;
pub use file::SoaFile;
pub use identity::ROW_TYPE_KEY;
pub use memory::{ArrowStore, IpcCompression};
pub use parquet::ParquetStore;
pub use prune::{ScanMetrics, ScanReport};
pub use tiered::{Ack, Durability, FlushPolicy, Ingestor, Retention, TieredOptions, TieredStore};

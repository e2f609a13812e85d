//! One file, no store: read or write a single Parquet or Arrow IPC file as a typed container.
//!
//! ```no_run
//! use soa_runtime::{Soa, ToArrow, SoaFile};
//! use soa_runtime::store::IpcCompression;
//!
//! #[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
//! struct Trade { id: u64, symbol: String, px: f64 }
//!
//! # fn demo() -> soa_runtime::Result<()> {
//! let trades = TradeSoA::read_parquet("from_spark.parquet")?;  // any writer's file
//! trades.write_parquet("trades.parquet")?;                     // atomic, ZSTD(1)
//! trades.write_ipc("trades.arrow", IpcCompression::Lz4)?;
//! let again = TradeSoA::read_ipc("trades.arrow")?;
//! assert_eq!(again, trades);
//! # Ok(()) }
//! ```
//!
//! These calls block (file I/O and encoding on the calling thread): in async code, run them in
//! `tokio::task::spawn_blocking`, or use a store.

use std::path::Path;
use std::sync::Arc;

use arrow_array::RecordBatch;

use crate::convert::ToArrow;
#[cfg(doc)]
use crate::error::Error;
use crate::error::Result;
use crate::store::memory::{self, IpcCompression};
use crate::store::parquet::{ParquetOptions, foreign};

/// Reads and writes single files as typed containers; implemented for every `NameSoA` of a
/// `#[derive(Soa, ToArrow)]` struct.
///
/// Reading checks exactly what [`ToArrow::from_record_batch`] checks (columns by name, extra
/// columns ignored, any column order, the widenings of schema evolution), with the same
/// `Type.field` errors wrapped in [`Error::InFile`] naming the file. Damaged files are typed
/// errors ([`Error::Corrupt`], decoder panics caught), never a panic.
pub trait SoaFile: ToArrow {
    /// Reads a Parquet file written by any writer (pyarrow, polars, Spark, DuckDB, this crate).
    ///
    /// # Errors
    /// [`Error::Io`] (a missing file has kind `NotFound`), [`Error::Corrupt`] for a file that is
    /// not Parquet, [`Error::SchemaMismatch`] for a file this crate wrote for another row type,
    /// [`Error::InFile`] around a conversion error naming `Type.field`.
    fn read_parquet(path: impl AsRef<Path>) -> Result<Self> {
        foreign::read_container(path.as_ref())
    }

    /// Writes the rows as one Parquet file with the default options of
    /// [`ParquetStore`](crate::ParquetStore) (ZSTD(1), ...), atomically: a temporary file next
    /// to `path`, fsynced, then renamed over it. The file carries the Arrow schema and the
    /// row-type metadata, like a store's files.
    ///
    /// # Errors
    /// [`Error::Io`] naming the path, conversion errors of `to_record_batch`.
    fn write_parquet(&self, path: impl AsRef<Path>) -> Result<()> {
        self.write_parquet_with(path, &ParquetOptions::default())
    }

    /// [`write_parquet`](Self::write_parquet) with other options (codec, row-group size, ...).
    ///
    /// # Errors
    /// As `write_parquet`, plus [`Error::InvalidOption`] / [`Error::UnknownColumn`] for bad
    /// options.
    fn write_parquet_with(&self, path: impl AsRef<Path>, options: &ParquetOptions) -> Result<()> {
        foreign::write_atomic(
            path.as_ref(),
            self.to_record_batch()?,
            options,
            Self::TYPE_NAME,
        )
    }

    /// Reads an Arrow IPC *file* (written by [`write_ipc`](Self::write_ipc),
    /// [`ArrowStore::save_ipc`](crate::ArrowStore::save_ipc), pyarrow, polars, arrow-rs), with
    /// the safety checks of [`ArrowStore::load_ipc`](crate::ArrowStore::load_ipc).
    ///
    /// # Errors
    /// As [`read_parquet`](Self::read_parquet).
    fn read_ipc(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        // The reader checks the file's schema with an empty batch, then hands every decoded
        // batch over, inside its panic guard; the containers are collected here.
        let parts = std::cell::RefCell::new(Vec::new());
        let schema = Self::schema();
        let collect = |batch: RecordBatch| {
            let part = Self::try_from_record_batch(batch)?;
            if !part.is_empty() {
                parts.borrow_mut().push(part);
            }
            Ok(RecordBatch::new_empty(Arc::clone(&schema)))
        };
        memory::read_ipc_file(path, Self::TYPE_NAME, &collect)?;
        let mut parts = parts.into_inner().into_iter();
        let mut out = parts.next().unwrap_or_default();
        for mut part in parts {
            out.append(&mut part);
        }
        Ok(out)
    }

    /// Writes the rows as an Arrow IPC file, atomically, as
    /// [`ArrowStore::save_ipc`](crate::ArrowStore::save_ipc) does.
    ///
    /// # Errors
    /// [`Error::Io`] naming the path, conversion errors of `to_record_batch`.
    fn write_ipc(&self, path: impl AsRef<Path>, compression: IpcCompression) -> Result<()> {
        let batch = self.to_record_batch()?;
        let schema = batch.schema();
        let batches = if batch.num_rows() == 0 {
            Vec::new()
        } else {
            vec![batch]
        };
        memory::write_ipc_file(
            path.as_ref(),
            &schema,
            &batches,
            compression,
            Self::TYPE_NAME,
        )
    }
}

impl<C: ToArrow> SoaFile for C {}

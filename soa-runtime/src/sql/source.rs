//! What a store gives SQL: [`SqlSource`], the trait every store implements to be queryable, and
//! [`SqlView`], how its view reads it. The engine knows no store's layout: each store says.

use arrow_array::RecordBatch;

use crate::error::{Error, Result};
use crate::store::{ArrowStore, ParquetStore, Record};

/// How a view reads a store.
#[non_exhaustive]
pub enum SqlView {
    /// Record batches of a snapshot taken when each query starts, scanned by this crate's table
    /// function: nothing is copied at registration, later commits are seen by later queries.
    Snapshot(Box<dyn Fn() -> Vec<RecordBatch> + Send + Sync>),
    /// Parquet files that DuckDB reads itself, with projection and filter pushdown: a path or
    /// a glob, expanded by every query.
    ParquetFiles(String),
}

impl std::fmt::Debug for SqlView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SqlView::Snapshot(_) => f.write_str("SqlView::Snapshot(..)"),
            SqlView::ParquetFiles(glob) => {
                f.debug_tuple("SqlView::ParquetFiles").field(glob).finish()
            }
        }
    }
}

/// A store that [`SqlEngine::register`](super::SqlEngine::register) can make a view of.
/// `ArrowStore` and `ParquetStore` implement it; a new store becomes queryable by implementing it.
pub trait SqlSource<T: Record> {
    /// How a view of this store reads it.
    ///
    /// # Errors
    /// When the store cannot be exposed (for example a directory path DuckDB cannot take).
    fn sql_view(&self) -> Result<SqlView>;
}

impl<T: Record> SqlSource<T> for ArrowStore<T> {
    /// A live view over snapshots (no column data copied until a query reads it).
    fn sql_view(&self) -> Result<SqlView> {
        let store = self.clone();
        Ok(SqlView::Snapshot(Box::new(move || store.snapshot())))
    }
}

impl<T: Record> SqlSource<T> for ParquetStore<T> {
    /// `<dir>/*.parquet`: the committed data files (staging files start with `.`, the manifest
    /// and locks with `_`; an empty store has an empty `data.parquet` with the schema).
    fn sql_view(&self) -> Result<SqlView> {
        let glob = self.dir().join("*.parquet");
        let glob = glob.to_str().ok_or_else(|| Error::InvalidOption {
            option: "ParquetStore directory",
            reason: format!(
                "{} is not valid UTF-8, which DuckDB needs",
                self.dir().display()
            ),
        })?;
        Ok(SqlView::ParquetFiles(glob.to_owned()))
    }
}

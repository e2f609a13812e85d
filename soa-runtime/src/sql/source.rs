//! What a store gives SQL: [`SqlSource`], the trait every store implements to be queryable, and
//! [`SqlView`], how its view reads it. The engine knows no store's layout: each store says.

use arrow_array::RecordBatch;

use crate::error::{Error, Result};
use crate::store::tiered::{ColdTier, TieredStore};
use crate::store::{ArrowStore, ParquetStore, Record};

/// How a view reads a store.
#[non_exhaustive]
pub enum SqlView {
    /// Record batches of a snapshot taken when each query starts, scanned by this crate's table
    /// function: nothing is copied at registration, later commits are seen by later queries. An
    /// error taking the snapshot fails the query with its message.
    Snapshot(Box<dyn Fn() -> Result<Vec<RecordBatch>> + Send + Sync>),
    /// Parquet files that DuckDB reads itself, with projection and filter pushdown: a path or
    /// a glob, expanded by every query.
    ParquetFiles(String),
    /// Hive-partitioned Parquet files (a glob over `key=value/` directories) that DuckDB reads
    /// with `hive_partitioning`: the columns named here come from the directory names, with
    /// these DuckDB types (`VARCHAR`, `BIGINT`, ...).
    HiveFiles {
        /// The files.
        glob: String,
        /// `(column, DuckDB type)` of the partition columns the files do not hold.
        types: Vec<(String, String)>,
    },
}

impl std::fmt::Debug for SqlView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SqlView::Snapshot(_) => f.write_str("SqlView::Snapshot(..)"),
            SqlView::ParquetFiles(glob) => {
                f.debug_tuple("SqlView::ParquetFiles").field(glob).finish()
            }
            SqlView::HiveFiles { glob, types } => f
                .debug_struct("SqlView::HiveFiles")
                .field("glob", glob)
                .field("types", types)
                .finish(),
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
        Ok(SqlView::Snapshot(Box::new(move || Ok(store.snapshot()))))
    }
}

impl<T: Record> SqlSource<T> for ParquetStore<T> {
    /// `<dir>/*.parquet`: the committed data files (staging files start with `.`, the manifest
    /// and locks with `_`; an empty store has an empty `data.parquet` with the schema). A
    /// partitioned store: `<dir>/k=v/.../*.parquet` read with `hive_partitioning` and the
    /// partition columns' types (null and empty strings both read as NULL there: Hive writes
    /// both as `__HIVE_DEFAULT_PARTITION__`).
    fn sql_view(&self) -> Result<SqlView> {
        let partitions = self.partitioning();
        if !partitions.is_empty() {
            let mut glob = self.dir().to_path_buf();
            for _ in &partitions {
                glob.push("*");
            }
            glob.push("*.parquet");
            let glob = utf8(&glob, self.dir())?;
            let schema = <T::Columns as crate::ToArrow>::schema();
            let types = partitions
                .iter()
                .filter(|p| p.transform() == crate::store::partition::Transform::Identity)
                .filter_map(|p| {
                    let field = schema.field_with_name(p.source()).ok()?;
                    Some((
                        p.source().to_owned(),
                        duckdb_type(field.data_type())?.to_owned(),
                    ))
                })
                .collect();
            return Ok(SqlView::HiveFiles { glob, types });
        }
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

impl<T: Record, C: ColdTier<T>> SqlSource<T> for TieredStore<T, C> {
    /// A live view over both tiers: each query reads the hot batches, then the cold tier's
    /// committed files, and keeps the hot rows the cold snapshot does not hold (by their log
    /// sequence numbers and the snapshot's mark), so a query overlapping a flush sees every
    /// row once. The cold files are decoded by this crate (no DuckDB pushdown into them).
    fn sql_view(&self) -> Result<SqlView> {
        let store = self.clone();
        Ok(SqlView::Snapshot(Box::new(move || {
            store.blocking_snapshot()
        })))
    }
}

fn utf8(path: &std::path::Path, dir: &std::path::Path) -> Result<String> {
    path.to_str()
        .map(str::to_owned)
        .ok_or_else(|| Error::InvalidOption {
            option: "ParquetStore directory",
            reason: format!("{} is not valid UTF-8, which DuckDB needs", dir.display()),
        })
}

/// The DuckDB type of a partition column (the types a partition column can have).
fn duckdb_type(data_type: &arrow_schema::DataType) -> Option<&'static str> {
    use arrow_schema::DataType as D;
    Some(match data_type {
        D::Boolean => "BOOLEAN",
        D::Int8 => "TINYINT",
        D::Int16 => "SMALLINT",
        D::Int32 => "INTEGER",
        D::Int64 => "BIGINT",
        D::UInt8 => "UTINYINT",
        D::UInt16 => "USMALLINT",
        D::UInt32 => "UINTEGER",
        D::UInt64 => "UBIGINT",
        D::Date32 => "DATE",
        D::Utf8 | D::LargeUtf8 | D::Utf8View | D::Dictionary(_, _) => "VARCHAR",
        _ => return None,
    })
}

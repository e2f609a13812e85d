//! SQL over stored data with embedded DuckDB, results back as typed Rust (feature `duckdb`).
//!
//! ```
//! use soa_runtime::sql::SqlEngine;
//! use soa_runtime::{ArrowStore, Soa, ToArrow};
//!
//! #[derive(Soa, ToArrow, Debug, Clone, Copy, PartialEq)]
//! pub enum Side { Buy, Sell }
//!
//! #[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
//! pub struct Order { pub side: Side, pub quantity: u32, pub unit_price: f64 }
//!
//! #[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
//! pub struct Revenue { pub side: Side, pub total: f64, pub n: i64 }
//!
//! let store = ArrowStore::<Order>::new();
//! store.append_owned(OrderSoA::from(vec![
//!     Order { side: Side::Buy, quantity: 10, unit_price: 2.5 },
//!     Order { side: Side::Sell, quantity: 1, unit_price: 100.0 },
//!     Order { side: Side::Buy, quantity: 2, unit_price: 1.0 },
//! ]))?;
//!
//! let sql = SqlEngine::in_memory()?;      // embedded DuckDB, nothing to install
//! sql.register("orders", &store)?;        // a live view of the store, no copy up front
//! let rows: RevenueSoA = sql.query(
//!     "SELECT side, sum(quantity * unit_price) AS total, count(*) AS n
//!      FROM orders GROUP BY side ORDER BY side",
//! )?;
//! assert_eq!(rows.side, [Side::Buy, Side::Sell]);
//! assert_eq!(rows.total, [27.0, 100.0]);
//! assert_eq!(rows.n, [2, 1]);
//! # Ok::<(), soa_runtime::Error>(())
//! ```
//!
//! # What DuckDB sees
//!
//! * [`SqlEngine::register`] takes any store ([`SqlSource`]); it makes an
//!   [`ArrowStore`](crate::ArrowStore) a view. Every query on it starts from a
//!   snapshot of the store taken when the query is bound (reference counts only, never column
//!   data), so the view is live: rows appended later are visible to later queries. DuckDB scans
//!   the snapshot's Arrow batches through a table function, in parallel, reading only the columns
//!   the query uses (projection pushdown).
//! * [`SqlEngine::register`] makes a [`ParquetStore`](crate::ParquetStore) a view over DuckDB's own
//!   `read_parquet` of the store's `*.parquet` files: nothing is loaded up front, and DuckDB's
//!   projection, filter and row-group pruning apply. The file list is expanded per query, so
//!   appends and compactions are visible too.
//! * Unit enums (Arrow `Dictionary(Int8, Utf8)`) appear as DuckDB `ENUM`s of their variant
//!   names, in both kinds of view (the `ArrowStore` scan declares the `ENUM` and hands DuckDB the
//!   variant indexes as they are, no mapping per row; the Parquet view casts the file's strings): `WHERE side = 'Buy'` works, `ORDER BY side` follows the
//!   declaration order, and results come back as the Rust enum. (DuckDB compares an `ENUM` with a
//!   name that is no variant as unequal, so a typo matches no rows rather than failing.) Enums
//!   nested in structs or lists appear as `VARCHAR`.
//!
//! # Which paths copy, and why
//!
//! | Path | Copies |
//! |---|---|
//! | register an `ArrowStore` | nothing (the view holds the store handle; a query's snapshot clones `Arc`s) |
//! | scan of an `ArrowStore` view | DuckDB's execution works on its own vectors of 2048 rows, so each vector of the columns a query reads is copied out of the Arrow buffers once per query (a `memcpy` for fixed-width columns, one copy per value for strings); enum columns pass their dictionary keys as the `ENUM`'s codes (one byte per row; the key buffer itself when its width is the `ENUM`'s, as for up to 127 variants) |
//! | scan of a `ParquetStore` view | DuckDB decodes the pages it needs straight from the files |
//! | results ([`SqlEngine::query_arrow`]) | DuckDB converts its result vectors to Arrow once (its C API owns the result memory) |
//! | typed results ([`SqlEngine::query`]) | the Arrow result is read into the container like [`ToArrow::from_record_batch`]: fixed-width columns are copied once, converted columns (below) once more |
//!
//! DuckDB does not scan foreign Arrow memory in place through its C API, hence the copy per scan;
//! in exchange there is no load step and the view is never stale. To query a large store many
//! times, materialise it once in DuckDB: `sql.execute("CREATE TABLE t AS SELECT * FROM orders")`.
//!
//! # Typed results
//!
//! [`SqlEngine::query`] matches result columns **by name** to the fields of the target container,
//! with the checks and error messages of [`ToArrow::from_record_batch`]. Before that, DuckDB's
//! types are normalised where no value can change:
//!
//! * integers to another integer type (`count(*)` is `BIGINT`, for a `u32` field), each value
//!   checked to fit;
//! * `HUGEINT` (`sum` of integers; Arrow `Decimal128(38, 0)`) and other scale-0 decimals to an
//!   integer field, each value checked;
//! * integers and decimals (`1.5` is a `DECIMAL(2,1)` literal) and `FLOAT` to an `f64` field
//!   (integers only when exactly representable, below 2^53);
//! * `ENUM` and `VARCHAR` to a unit enum field by variant name; `VARCHAR` to `String`.
//!
//! Everything else must already match: a `DOUBLE` is not silently narrowed into an `f32` or
//! truncated into an integer. The error ([`Error::SqlResult`]) names `Struct.field`, the expected
//! and the found Arrow type, the statement, and why a conversion failed; `CAST` in SQL to fix it.
//!
//! # Errors
//!
//! DuckDB's errors become [`Error::Sql`] with a [`SqlErrorKind`] (syntax, unknown name,
//! binding, execution) and DuckDB's message in the typed `source`.
//!
//! # Blocking
//!
//! All calls are synchronous and run the query on the calling thread (DuckDB uses its own
//! worker threads inside a query). From async code, call them inside
//! `tokio::task::spawn_blocking`. A [`SqlEngine`] is `Send + Sync`; calls on one engine are
//! serialized, so give each thread its own engine with [`SqlEngine::try_clone`] (same database,
//! same views) to run queries concurrently.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, PoisonError};

use arrow_array::cast::AsArray;
use arrow_array::types::{Int64Type, UInt64Type};
use arrow_array::{Array, ArrayRef, Int64Array, RecordBatch, RecordBatchOptions, make_array};
use arrow_schema::{DataType, Field, FieldRef, Fields, Schema};
use duckdb::Connection;
use duckdb::arrow::compute::{CastOptions, cast_with_options};
use duckdb::core::{DataChunkHandle, LogicalTypeHandle, LogicalTypeId};
use duckdb::vtab::{
    BindInfo, InitInfo, TableFunctionInfo, VTab, record_batch_to_duckdb_data_chunk,
    to_duckdb_logical_type_for_field,
};

/// The `duckdb` crate this module is built on (for [`SqlEngine::from_connection`] and for
/// matching on the `source` of [`Error::Sql`]), re-exported so users need no version match.
pub use duckdb;

use crate::convert::ToArrow;
use crate::error::{Error, Result};
use crate::store::Record;

mod registry;
mod results;
mod source;
mod table_function;
mod text;

use registry::{ColumnPlan, NEXT_TOKEN, Source, Tables, sources};
use results::fit_batch;
use table_function::{StoreScan, plan_columns};
use text::{enum_type, ident, literal};

pub use source::{SqlSource, SqlView};

/// Name of the table function that scans registered `ArrowStore`s.
const SCAN_FUNCTION: &str = "soa_arrow_store_scan";

/// Rows per DuckDB vector (`STANDARD_VECTOR_SIZE` of the bundled build): a scan emits at most
/// this many rows per call.
const VECTOR_SIZE: usize = 2048;

/// The kind of a DuckDB error, from the class DuckDB puts in front of its message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SqlErrorKind {
    /// The statement does not parse (DuckDB "Parser Error").
    Syntax,
    /// A table, view, function or type that does not exist (DuckDB "Catalog Error").
    UnknownName,
    /// The statement parses but does not bind: an unknown column, wrong argument types
    /// (DuckDB "Binder Error").
    Binding,
    /// The statement failed while running or could not be run: a failed cast, a value out of
    /// range, invalid input, a missing file (DuckDB "Conversion Error", "Out of Range Error",
    /// "Invalid Input Error", "IO Error", ...).
    Execution,
}

impl SqlErrorKind {
    /// Classifies a DuckDB error by its message.
    #[must_use]
    pub fn of(error: &duckdb::Error) -> Self {
        let message = error.to_string();
        let message = message.trim_start();
        if message.starts_with("Parser Error") {
            SqlErrorKind::Syntax
        } else if message.starts_with("Catalog Error") {
            SqlErrorKind::UnknownName
        } else if message.starts_with("Binder Error") {
            SqlErrorKind::Binding
        } else {
            SqlErrorKind::Execution
        }
    }
}

impl fmt::Display for SqlErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SqlErrorKind::Syntax => "syntax",
            SqlErrorKind::UnknownName => "unknown name",
            SqlErrorKind::Binding => "binding",
            SqlErrorKind::Execution => "execution",
        })
    }
}

fn sql_error(sql: &str, source: duckdb::Error) -> Error {
    Error::Sql {
        kind: SqlErrorKind::of(&source),
        sql: sql.to_owned(),
        source: Box::new(source),
    }
}

/// An embedded DuckDB database with views of this crate's stores, answering SQL with Arrow
/// batches or typed containers. See the [module documentation](self).
pub struct SqlEngine {
    conn: Mutex<Connection>,
    tables: Arc<Tables>,
}

impl fmt::Debug for SqlEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut views: Vec<String> = self.tables.lock().keys().cloned().collect();
        views.sort();
        f.debug_struct("SqlEngine")
            .field("arrow_store_views", &views)
            .finish_non_exhaustive()
    }
}

impl SqlEngine {
    /// A new in-memory DuckDB database (nothing to install: DuckDB is compiled into the binary).
    ///
    /// # Errors
    /// [`Error::Sql`] if DuckDB cannot start (for example out of memory).
    pub fn in_memory() -> Result<Self> {
        let conn = Connection::open_in_memory()
            .map_err(|e| sql_error("<open an in-memory database>", e))?;
        Self::from_connection(conn)
    }

    /// Uses an open DuckDB connection (a database file, custom settings, extensions loaded by
    /// the caller) and registers this crate's table function on it.
    ///
    /// # Errors
    /// [`Error::Sql`] if the table function cannot be registered (for example a second engine
    /// on the same database).
    pub fn from_connection(conn: Connection) -> Result<Self> {
        conn.register_table_function::<StoreScan>(SCAN_FUNCTION)
            .map_err(|e| sql_error(&format!("<register table function {SCAN_FUNCTION}>"), e))?;
        Ok(SqlEngine {
            conn: Mutex::new(conn),
            tables: Arc::new(Tables::default()),
        })
    }

    /// Another engine on the same database, seeing the same views: for running queries from
    /// several threads at once (calls on one engine are serialized).
    ///
    /// # Errors
    /// [`Error::Sql`] if DuckDB cannot open another connection.
    pub fn try_clone(&self) -> Result<Self> {
        let conn = self
            .lock()
            .try_clone()
            .map_err(|e| sql_error("<open another connection>", e))?;
        Ok(SqlEngine {
            conn: Mutex::new(conn),
            tables: Arc::clone(&self.tables),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves DuckDB's connection as DuckDB left it; its state
        // is DuckDB's to keep consistent, so the lock is simply taken over.
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Makes `store` queryable as the view `name` (replacing any view or registration of that
    /// name), for any store ([`SqlSource`]: `ArrowStore`, `ParquetStore`, ...). Nothing is
    /// loaded at registration and the view is live: an `ArrowStore` view scans a snapshot taken
    /// when each query starts; a `ParquetStore` view is DuckDB's own `read_parquet` over the
    /// store's data files, with projection and filter pushdown, expanded per query (it follows
    /// appends and compactions). See the [module documentation](self) for what a scan copies.
    ///
    /// Unit enum columns appear as DuckDB `ENUM`s of their variant names.
    ///
    /// # Errors
    /// [`Error::SqlType`] for a column whose Arrow type DuckDB has no equivalent for;
    /// [`Error::Sql`] if DuckDB rejects the view (for example `name` is a table); the store's
    /// own error if it cannot be exposed ([`Error::InvalidOption`] for a directory path that is
    /// not UTF-8).
    pub fn register<T: Record, S: SqlSource<T>>(&self, name: &str, store: &S) -> Result<()> {
        let (plans, scan_fields) = plan_columns::<T>()?;
        match store.sql_view()? {
            SqlView::Snapshot(snapshot) => {
                self.register_snapshot(name, plans, scan_fields, snapshot)
            }
            SqlView::ParquetFiles(glob) => {
                self.register_files(name, &plans, &scan_fields, &literal(&glob))
            }
            SqlView::HiveFiles { glob, types } => {
                let types: Vec<String> = types
                    .iter()
                    .map(|(column, ty)| format!("{}: {}", literal(column), literal(ty)))
                    .collect();
                let source = format!(
                    "{}, hive_partitioning = true, hive_types = {{{}}}",
                    literal(&glob),
                    types.join(", ")
                );
                self.register_files(name, &plans, &scan_fields, &source)
            }
        }
    }

    fn register_snapshot(
        &self,
        name: &str,
        plans: Vec<ColumnPlan>,
        scan_fields: Vec<FieldRef>,
        snapshot: Box<dyn Fn() -> Result<Vec<RecordBatch>> + Send + Sync>,
    ) -> Result<()> {
        // Every column as the scan declares it (unit enums are `ENUM`s already).
        let columns: Vec<String> = scan_fields.iter().map(|f| ident(f.name())).collect();
        let source = Source {
            scan_fields,
            plans,
            snapshot,
        };
        let token = NEXT_TOKEN.fetch_add(1, Ordering::Relaxed);
        sources().insert(token, Arc::new(source));
        let sql = format!(
            "CREATE OR REPLACE VIEW {} AS SELECT {} FROM {SCAN_FUNCTION}({token}::UBIGINT)",
            ident(name),
            columns.join(", ")
        );
        if let Err(e) = self.execute(&sql) {
            let removed = sources().remove(&token);
            drop(removed);
            return Err(e);
        }
        self.tables.set(name, Some(token));
        Ok(())
    }

    /// Unit enums of up to this many variants are mapped to their `ENUM` by a `CASE` in a
    /// Parquet view, longer ones by a `CAST`.
    const ENUM_CASE_VARIANTS: usize = 8;

    fn register_files(
        &self,
        name: &str,
        plans: &[ColumnPlan],
        scan_fields: &[FieldRef],
        source: &str,
    ) -> Result<()> {
        let columns: Vec<String> = scan_fields
            .iter()
            .zip(plans)
            .map(|(field, plan)| {
                let column = ident(field.name());
                match plan {
                    ColumnPlan::EnumKeys { variants, .. } => {
                        let ty = enum_type(variants);
                        if variants.len() <= Self::ENUM_CASE_VARIANTS {
                            // Measured on 10M rows, 2 variants (Python duckdb 2.0.1, same file):
                            // GROUP BY 158 ms through `CAST`, 76 ms through this `CASE`, 46 ms on
                            // the plain strings; a `CASE` tests its arms in turn, so long enums
                            // keep the `CAST` (a hash lookup).
                            let arms: Vec<String> = variants
                                .iter()
                                .map(|v| format!("WHEN {} THEN {}::{ty}", literal(v), literal(v)))
                                .collect();
                            format!("CASE {column} {} END AS {column}", arms.join(" "))
                        } else {
                            format!("CAST({column} AS {ty}) AS {column}")
                        }
                    }
                    ColumnPlan::Plain | ColumnPlan::Decode(_) => column,
                }
            })
            .collect();
        let sql = format!(
            "CREATE OR REPLACE VIEW {} AS SELECT {} FROM read_parquet({source})",
            ident(name),
            columns.join(", "),
        );
        self.execute(&sql)?;
        self.tables.set(name, None);
        Ok(())
    }

    /// Runs statements that return no rows (`CREATE TABLE`, `INSERT`, `SET`, ...; several may
    /// be separated by `;`).
    ///
    /// # Errors
    /// [`Error::Sql`] with DuckDB's message.
    pub fn execute(&self, sql: &str) -> Result<()> {
        self.lock()
            .execute_batch(sql)
            .map_err(|e| sql_error(sql, e))
    }

    /// Runs a query and returns DuckDB's result as Arrow record batches (at least one: an empty
    /// result is one empty batch carrying the result schema). For results no Rust type fits.
    ///
    /// # Errors
    /// [`Error::Sql`] with a [`SqlErrorKind`] and DuckDB's message: bad SQL, an unknown table or
    /// column, or a failure while running.
    pub fn query_arrow(&self, sql: &str) -> Result<Vec<RecordBatch>> {
        let conn = self.lock();
        let mut statement = conn.prepare(sql).map_err(|e| sql_error(sql, e))?;
        let stream = statement.stream_arrow([]).map_err(|e| sql_error(sql, e))?;
        let schema = stream.get_schema();
        let mut batches = Vec::new();
        for batch in stream {
            batches.push(batch.map_err(|e| sql_error(sql, e))?);
        }
        if batches.is_empty() {
            batches.push(RecordBatch::new_empty(schema));
        }
        Ok(batches)
    }

    /// Runs a query and reads the result into the container `C` (`RevenueSoA` for
    /// `#[derive(Soa, ToArrow)] struct Revenue`), matching columns by name. DuckDB's types are
    /// normalised where no value changes (see [typed results](self#typed-results)).
    ///
    /// # Errors
    /// [`Error::Sql`] as [`query_arrow`](Self::query_arrow); [`Error::SqlResult`] when the
    /// result does not fit `C` (a missing column, a type that does not convert, a null in a
    /// non-`Option` field, a value out of range), naming `Struct.field`.
    pub fn query<C: ToArrow>(&self, sql: &str) -> Result<C> {
        let batches = self.query_arrow(sql)?;
        let target = C::schema();
        let mut out = C::default();
        for batch in batches {
            let (batch, notes) = fit_batch(batch, &target).map_err(|e| Error::SqlResult {
                target: C::TYPE_NAME,
                sql: sql.to_owned(),
                detail: None,
                source: Box::new(e),
            })?;
            let mut part = C::try_from_record_batch(batch).map_err(|e| Error::SqlResult {
                target: C::TYPE_NAME,
                sql: sql.to_owned(),
                detail: (!notes.is_empty()).then(|| notes.join("; ")),
                source: Box::new(e),
            })?;
            out.append(&mut part);
        }
        Ok(out)
    }
}

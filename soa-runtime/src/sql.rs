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
//! * [`SqlEngine::register`] makes an [`ArrowStore`] a view. Every query on it starts from a
//!   snapshot of the store taken when the query is bound (reference counts only, never column
//!   data), so the view is live: rows appended later are visible to later queries. DuckDB scans
//!   the snapshot's Arrow batches through a table function, in parallel, reading only the columns
//!   the query uses (projection pushdown).
//! * [`SqlEngine::register_parquet`] makes a [`ParquetStore`] a view over DuckDB's own
//!   `read_parquet` of the store's `*.parquet` files: nothing is loaded up front, and DuckDB's
//!   projection, filter and row-group pruning apply. The file list is expanded per query, so
//!   appends and compactions are visible too.
//! * Unit enums (Arrow `Dictionary(Int8, Utf8)`) appear as DuckDB `ENUM`s of their variant
//!   names, in both kinds of view: `WHERE side = 'Buy'` works, `ORDER BY side` follows the
//!   declaration order, and results come back as the Rust enum. (DuckDB compares an `ENUM` with a
//!   name that is no variant as unequal, so a typo matches no rows rather than failing.) Enums
//!   nested in structs or lists appear as `VARCHAR`.
//!
//! # Which paths copy, and why
//!
//! | Path | Copies |
//! |---|---|
//! | register an `ArrowStore` | nothing (the view holds the store handle; a query's snapshot clones `Arc`s) |
//! | scan of an `ArrowStore` view | DuckDB's execution works on its own vectors of 2048 rows, so each vector of the columns a query reads is copied out of the Arrow buffers once per query (a `memcpy` for fixed-width columns, one copy per value for strings); enum columns pass their dictionary keys (one byte per row) |
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
use crate::store::{ArrowStore, ParquetStore, Record};

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
        source,
    }
}

// ---- the registry of ArrowStore sources --------------------------------------------------------

/// How one column of a store is handed to DuckDB.
#[derive(Debug, Clone)]
enum ColumnPlan {
    /// As it is.
    Plain,
    /// A unit enum: DuckDB gets the variant index (the dictionary key) and the view maps it to
    /// an `ENUM` of the variant names.
    EnumKeys {
        key_type: DataType,
        variants: Arc<[String]>,
    },
    /// Dictionary-encoded data (possibly nested), decoded to this type first.
    Decode(DataType),
}

/// A registered `ArrowStore`, type-erased.
struct Source {
    /// The fields as DuckDB sees them (enum columns as their key type).
    scan_fields: Vec<FieldRef>,
    plans: Vec<ColumnPlan>,
    snapshot: Box<dyn Fn() -> Vec<RecordBatch> + Send + Sync>,
}

/// Registered sources by token. DuckDB's table functions take SQL values as arguments, so a
/// view names its store by a token; the owning engine removes its tokens when it is dropped.
static SOURCES: LazyLock<Mutex<HashMap<u64, Arc<Source>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));
static NEXT_TOKEN: AtomicU64 = AtomicU64::new(1);

fn sources() -> MutexGuard<'static, HashMap<u64, Arc<Source>>> {
    // Only inserts and removes happen under the lock: a poisoned map is still consistent.
    SOURCES.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The tokens of one engine (shared by its clones), removed from the registry on drop.
#[derive(Default)]
struct Tables {
    /// Lower-cased view name (DuckDB identifiers are case-insensitive) to token.
    tokens: Mutex<HashMap<String, u64>>,
}

impl Tables {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, u64>> {
        self.tokens.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records `token` (or none) as the source of view `name`, releasing the previous one.
    fn set(&self, name: &str, token: Option<u64>) {
        let key = name.to_lowercase();
        let old = match token {
            Some(token) => self.lock().insert(key, token),
            None => self.lock().remove(&key),
        };
        if let Some(old) = old {
            let removed = sources().remove(&old);
            drop(removed);
        }
    }
}

impl Drop for Tables {
    fn drop(&mut self) {
        let tokens: Vec<u64> = self.lock().drain().map(|(_, t)| t).collect();
        // Drop the sources (and the stores they hold) outside the registry lock.
        let removed: Vec<_> = {
            let mut sources = sources();
            tokens.iter().filter_map(|t| sources.remove(t)).collect()
        };
        drop(removed);
    }
}

// ---- the table function ------------------------------------------------------------------------

/// A window of rows of one batch: what one call of the scan emits.
#[derive(Debug, Clone, Copy)]
struct Window {
    batch: usize,
    offset: usize,
    len: usize,
    /// Row number of the window's first row in the snapshot.
    first_row: usize,
}

/// Bind data: the snapshot a query scans.
struct ScanBind {
    source: Arc<Source>,
    batches: Vec<RecordBatch>,
    windows: Vec<Window>,
}

/// Init data: the next window to emit and the projected columns.
struct ScanInit {
    next: AtomicUsize,
    columns: Vec<usize>,
}

/// Scans the snapshot of a registered `ArrowStore`: `soa_arrow_store_scan(token)`.
struct StoreScan;

impl VTab for StoreScan {
    type InitData = ScanInit;
    type BindData = ScanBind;

    fn bind(bind: &BindInfo) -> Result<ScanBind, Box<dyn std::error::Error>> {
        let token = bind.get_parameter(0).to_uint64();
        let source = sources().get(&token).cloned().ok_or_else(|| {
            format!(
                "no store is registered under {SCAN_FUNCTION}({token}) (its SqlEngine was dropped)"
            )
        })?;
        for field in &source.scan_fields {
            bind.add_result_column(field.name(), to_duckdb_logical_type_for_field(field)?);
        }
        let batches = (source.snapshot)();
        let mut windows = Vec::new();
        let mut rows = 0;
        for (index, batch) in batches.iter().enumerate() {
            let n = batch.num_rows();
            let mut offset = 0;
            while offset < n {
                let len = (n - offset).min(VECTOR_SIZE);
                windows.push(Window {
                    batch: index,
                    offset,
                    len,
                    first_row: rows + offset,
                });
                offset += len;
            }
            rows += n;
        }
        bind.set_cardinality(rows as u64, true);
        Ok(ScanBind {
            source,
            batches,
            windows,
        })
    }

    fn init(init: &InitInfo) -> Result<ScanInit, Box<dyn std::error::Error>> {
        let columns = init
            .get_column_indices()
            .into_iter()
            .map(|c| usize::try_from(c).unwrap_or(usize::MAX))
            .collect();
        // Windows are claimed with an atomic counter, so any number of DuckDB's threads can
        // scan at once; DuckDB caps this by its own thread count.
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        init.set_max_threads(threads as u64);
        Ok(ScanInit {
            next: AtomicUsize::new(0),
            columns,
        })
    }

    fn func(
        info: &TableFunctionInfo<Self>,
        output: &mut DataChunkHandle,
    ) -> Result<(), Box<dyn std::error::Error>> {
        let bind = info.get_bind_data();
        let init = info.get_init_data();
        let index = init.next.fetch_add(1, Ordering::Relaxed);
        let Some(window) = bind.windows.get(index).copied() else {
            output.set_len(0);
            return Ok(());
        };
        let batch = bind
            .batches
            .get(window.batch)
            .ok_or("scan window out of range")?
            .slice(window.offset, window.len);
        let mut fields = Vec::with_capacity(init.columns.len());
        let mut arrays = Vec::with_capacity(init.columns.len());
        for (position, &column) in init.columns.iter().enumerate() {
            match (
                bind.source.plans.get(column),
                bind.source.scan_fields.get(column),
            ) {
                (Some(plan), Some(field)) => {
                    arrays.push(scan_column(batch.column(column), plan)?);
                    fields.push(Arc::clone(field));
                }
                _ => {
                    // Not a column of the store: DuckDB's row id (it asks for one when a query
                    // reads no column, as in `count(*)`). Only ever written into a BIGINT vector.
                    if output.flat_vector(position).logical_type().id() != LogicalTypeId::Bigint {
                        return Err(
                            format!("unsupported column id {column} in a store scan").into()
                        );
                    }
                    let start = window.first_row as i64;
                    arrays.push(Arc::new(Int64Array::from_iter_values(
                        start..start + window.len as i64,
                    )));
                    fields.push(Arc::new(Field::new("rowid", DataType::Int64, false)));
                }
            }
        }
        let options = RecordBatchOptions::new().with_row_count(Some(window.len));
        let batch =
            RecordBatch::try_new_with_options(Arc::new(Schema::new(fields)), arrays, &options)?;
        record_batch_to_duckdb_data_chunk(&batch, output)?;
        Ok(())
    }

    fn supports_pushdown() -> bool {
        true
    }

    fn parameters() -> Option<Vec<LogicalTypeHandle>> {
        Some(vec![LogicalTypeHandle::from(LogicalTypeId::UBigint)])
    }
}

/// One column of a window, in the form DuckDB was told about at bind.
fn scan_column(
    array: &ArrayRef,
    plan: &ColumnPlan,
) -> Result<ArrayRef, Box<dyn std::error::Error>> {
    match plan {
        ColumnPlan::Plain => Ok(Arc::clone(array)),
        ColumnPlan::Decode(to) => Ok(cast_with_options(array, to, &CastOptions::default())?),
        ColumnPlan::EnumKeys { key_type, variants } => enum_keys(array, key_type, variants),
    }
}

/// The keys of a unit enum column as variant indexes. Batches built by this crate have the
/// variant names as their dictionary (keys are the indexes already); a batch from elsewhere may
/// order or subset them differently, and is remapped.
fn enum_keys(
    array: &ArrayRef,
    key_type: &DataType,
    variants: &[String],
) -> Result<ArrayRef, Box<dyn std::error::Error>> {
    let dict = array
        .as_any_dictionary_opt()
        .ok_or("an enum column is not dictionary-encoded")?;
    let names = string_values(dict.values().as_ref()).ok_or("enum dictionary is not strings")?;
    let canonical = names.len() <= variants.len()
        && names
            .iter()
            .zip(variants)
            .all(|(n, v)| n.as_deref() == Some(v.as_str()));
    if canonical {
        return Ok(make_array(dict.keys().to_data()));
    }
    let mapping = names
        .iter()
        .map(|name| {
            name.as_deref()
                .and_then(|n| variants.iter().position(|v| v == n))
                .map(|i| i as i64)
                .ok_or_else(|| format!("{name:?} is not a variant (expected one of {variants:?})"))
        })
        .collect::<Result<Vec<i64>, String>>()?;
    let keys = dict.normalized_keys();
    let remapped: Int64Array = (0..array.len())
        .map(|row| {
            if array.is_null(row) {
                None
            } else {
                keys.get(row).and_then(|k| mapping.get(*k)).copied()
            }
        })
        .collect();
    Ok(cast_with_options(
        &remapped,
        key_type,
        &CastOptions::default(),
    )?)
}

/// The values of a string array (Utf8, LargeUtf8, Utf8View), or `None` for another type.
fn string_values(array: &dyn Array) -> Option<Vec<Option<String>>> {
    fn collect<'a>(values: impl Iterator<Item = Option<&'a str>>) -> Vec<Option<String>> {
        values.map(|s| s.map(str::to_owned)).collect()
    }
    match array.data_type() {
        DataType::Utf8 => Some(collect(array.as_string::<i32>().iter())),
        DataType::LargeUtf8 => Some(collect(array.as_string::<i64>().iter())),
        DataType::Utf8View => Some(collect(array.as_string_view().iter())),
        _ => None,
    }
}

/// `data_type` with every dictionary replaced by its value type.
fn decoded(data_type: &DataType) -> DataType {
    let field = |f: &FieldRef| -> FieldRef {
        Arc::new(f.as_ref().clone().with_data_type(decoded(f.data_type())))
    };
    match data_type {
        DataType::Dictionary(_, value) => decoded(value),
        DataType::List(f) => DataType::List(field(f)),
        DataType::LargeList(f) => DataType::LargeList(field(f)),
        DataType::FixedSizeList(f, n) => DataType::FixedSizeList(field(f), *n),
        DataType::Struct(fields) => DataType::Struct(fields.iter().map(field).collect::<Fields>()),
        DataType::Map(f, sorted) => DataType::Map(field(f), *sorted),
        other => other.clone(),
    }
}

/// How each column of `T` is exposed to DuckDB, and the DuckDB-side fields.
fn plan_columns<T: Record>() -> Result<(Vec<ColumnPlan>, Vec<FieldRef>)> {
    let type_name = <T::Columns as ToArrow>::TYPE_NAME;
    let schema = <T::Columns as ToArrow>::schema();
    // An empty container converts to a batch whose enum columns carry every variant name in
    // their dictionary (the schema alone does not name them).
    let empty = <T::Columns as Default>::default().into_record_batch()?;
    let mut plans = Vec::with_capacity(schema.fields().len());
    let mut fields = Vec::with_capacity(schema.fields().len());
    for field in schema.fields() {
        let plan = match field.data_type() {
            DataType::Dictionary(key, _) => {
                let variants = empty
                    .column_by_name(field.name())
                    .and_then(|c| c.as_any_dictionary_opt())
                    .and_then(|d| string_values(d.values().as_ref()))
                    .and_then(|names| names.into_iter().collect::<Option<Vec<String>>>())
                    .filter(|names| !names.is_empty());
                match variants {
                    Some(variants) => ColumnPlan::EnumKeys {
                        key_type: key.as_ref().clone(),
                        variants: variants.into(),
                    },
                    None => ColumnPlan::Decode(decoded(field.data_type())),
                }
            }
            other => {
                let plain = decoded(other);
                if &plain == other {
                    ColumnPlan::Plain
                } else {
                    ColumnPlan::Decode(plain)
                }
            }
        };
        let scan_type = match &plan {
            ColumnPlan::Plain => field.data_type().clone(),
            ColumnPlan::EnumKeys { key_type, .. } => key_type.clone(),
            ColumnPlan::Decode(to) => to.clone(),
        };
        let scan_field = Arc::new(field.as_ref().clone().with_data_type(scan_type));
        if let Err(e) = to_duckdb_logical_type_for_field(&scan_field) {
            return Err(Error::SqlType {
                type_name,
                column: field.name().clone(),
                data_type: field.data_type().clone(),
                reason: e.to_string(),
            });
        }
        plans.push(plan);
        fields.push(scan_field);
    }
    Ok((plans, fields))
}

// ---- SQL text ----------------------------------------------------------------------------------

/// A double-quoted SQL identifier.
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A single-quoted SQL string literal.
fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// `ENUM('A', 'B')`.
fn enum_type(variants: &[String]) -> String {
    let names: Vec<String> = variants.iter().map(|v| literal(v)).collect();
    format!("ENUM({})", names.join(", "))
}

// ---- the engine --------------------------------------------------------------------------------

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
    /// name). The view is live: each query scans a snapshot of the store taken when the query
    /// starts, so later appends are visible to later queries. Nothing is copied at registration;
    /// see the [module documentation](self) for what a scan copies.
    ///
    /// Unit enum columns appear as DuckDB `ENUM`s of their variant names.
    ///
    /// # Errors
    /// [`Error::SqlType`] for a column whose Arrow type DuckDB has no equivalent for;
    /// [`Error::Sql`] if DuckDB rejects the view (for example `name` is a table).
    pub fn register<T: Record>(&self, name: &str, store: &ArrowStore<T>) -> Result<()> {
        let (plans, scan_fields) = plan_columns::<T>()?;
        let columns: Vec<String> = scan_fields
            .iter()
            .zip(&plans)
            .map(|(field, plan)| {
                let column = ident(field.name());
                match plan {
                    ColumnPlan::EnumKeys { variants, .. } => {
                        let ty = enum_type(variants);
                        let arms: Vec<String> = variants
                            .iter()
                            .enumerate()
                            .map(|(i, v)| format!("WHEN {i} THEN {}::{ty}", literal(v)))
                            .collect();
                        format!("CASE {column} {} END AS {column}", arms.join(" "))
                    }
                    ColumnPlan::Plain | ColumnPlan::Decode(_) => column,
                }
            })
            .collect();
        let store = store.clone();
        let source = Source {
            scan_fields,
            plans,
            snapshot: Box::new(move || store.snapshot()),
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

    /// Makes the Parquet files of `store` queryable as the view `name` (replacing any view or
    /// registration of that name): `read_parquet('<dir>/*.parquet')` with the columns of `T`,
    /// unit enums cast to `ENUM`s of their variant names. DuckDB reads the files itself, with
    /// projection and filter pushdown; nothing is loaded at registration. The glob is expanded
    /// per query, so the view follows appends and compactions (it sees committed files only:
    /// staging files start with `.`). Other `*.parquet` files put into the store's directory by
    /// hand would be read too.
    ///
    /// # Errors
    /// [`Error::Sql`] if DuckDB rejects the view, for example when the store has no data file
    /// yet (DuckDB: "No files found that match the pattern"); [`Error::InvalidOption`] if the
    /// directory path is not valid UTF-8; [`Error::SqlType`] as [`register`](Self::register).
    pub fn register_parquet<T: Record>(&self, name: &str, store: &ParquetStore<T>) -> Result<()> {
        let (plans, scan_fields) = plan_columns::<T>()?;
        let glob = store.dir().join("*.parquet");
        let glob = glob.to_str().ok_or_else(|| Error::InvalidOption {
            option: "ParquetStore directory",
            reason: format!(
                "{} is not valid UTF-8, which DuckDB needs",
                store.dir().display()
            ),
        })?;
        let columns: Vec<String> = scan_fields
            .iter()
            .zip(&plans)
            .map(|(field, plan)| {
                let column = ident(field.name());
                match plan {
                    ColumnPlan::EnumKeys { variants, .. } => {
                        format!("CAST({column} AS {}) AS {column}", enum_type(variants))
                    }
                    ColumnPlan::Plain | ColumnPlan::Decode(_) => column,
                }
            })
            .collect();
        let sql = format!(
            "CREATE OR REPLACE VIEW {} AS SELECT {} FROM read_parquet({})",
            ident(name),
            columns.join(", "),
            literal(glob)
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

// ---- result normalisation ----------------------------------------------------------------------

/// Converts the columns of `batch` whose type differs from the target field's where no value can
/// change. A conversion that fails (a value out of range) leaves the column as it is, so the
/// target's own check reports the field, and explains why in the returned notes.
fn fit_batch(batch: RecordBatch, target: &Schema) -> Result<(RecordBatch, Vec<String>)> {
    let (schema, mut columns, rows) = batch.into_parts();
    let mut fields: Vec<FieldRef> = schema.fields().iter().cloned().collect();
    let mut notes = Vec::new();
    for (field, column) in fields.iter_mut().zip(columns.iter_mut()) {
        let Ok(expected) = target.field_with_name(field.name()) else {
            continue;
        };
        match fit_column(column, expected.data_type()) {
            Ok(None) => {}
            Ok(Some(converted)) => {
                *field = Arc::new(
                    field
                        .as_ref()
                        .clone()
                        .with_data_type(converted.data_type().clone()),
                );
                *column = converted;
            }
            Err(note) => notes.push(format!("column {:?}: {note}", field.name())),
        }
    }
    let options = RecordBatchOptions::new().with_row_count(Some(rows));
    let batch = RecordBatch::try_new_with_options(Arc::new(Schema::new(fields)), columns, &options)
        .map_err(|e| Error::arrow("normalising a query result", e))?;
    Ok((batch, notes))
}

/// Largest integer magnitude an `f64` represents exactly (2^53).
const F64_EXACT: i64 = 1 << 53;

/// The column converted to `to` when the conversion is exact, `None` when no conversion applies
/// (the target's own reader decides), or why an applicable conversion failed.
fn fit_column(column: &ArrayRef, to: &DataType) -> Result<Option<ArrayRef>, String> {
    let from = column.data_type();
    if from == to {
        return Ok(None);
    }
    let applies = match (from, to) {
        (f, t) if f.is_integer() && t.is_integer() => true,
        (
            DataType::Decimal32(_, 0)
            | DataType::Decimal64(_, 0)
            | DataType::Decimal128(_, 0)
            | DataType::Decimal256(_, 0),
            t,
        ) if t.is_integer() => true,
        (
            DataType::Decimal32(_, s)
            | DataType::Decimal64(_, s)
            | DataType::Decimal128(_, s)
            | DataType::Decimal256(_, s),
            t,
        ) if t.is_integer() && *s != 0 => {
            return Err(format!(
                "{from} has a fractional part and is not converted to {t} implicitly; CAST it in SQL"
            ));
        }
        (
            DataType::Decimal32(..)
            | DataType::Decimal64(..)
            | DataType::Decimal128(..)
            | DataType::Decimal256(..)
            | DataType::Float16
            | DataType::Float32,
            DataType::Float64,
        ) => true,
        (f, DataType::Float64) if f.is_integer() => {
            exact_in_f64(column)?;
            true
        }
        (DataType::Float64, t) if t.is_integer() || *t == DataType::Float32 => {
            return Err(format!(
                "{from} is not narrowed to {t} implicitly (it could lose precision); CAST it in SQL"
            ));
        }
        _ => false,
    };
    if !applies {
        return Ok(None);
    }
    let options = CastOptions {
        safe: false,
        ..CastOptions::default()
    };
    cast_with_options(column, to, &options)
        .map(Some)
        .map_err(|e| format!("converting {from} to {to}: {e}"))
}

/// Checks that every value of a 64-bit integer column is exactly an `f64`.
fn exact_in_f64(column: &ArrayRef) -> Result<(), String> {
    let too_large = match column.data_type() {
        DataType::Int64 => column
            .as_primitive::<Int64Type>()
            .iter()
            .flatten()
            .find(|v| v.unsigned_abs() > F64_EXACT as u64)
            .map(|v| v.to_string()),
        DataType::UInt64 => column
            .as_primitive::<UInt64Type>()
            .iter()
            .flatten()
            .find(|v| *v > F64_EXACT as u64)
            .map(|v| v.to_string()),
        _ => None,
    };
    match too_large {
        Some(v) => Err(format!("{v} is not exactly representable as Float64")),
        None => Ok(()),
    }
}

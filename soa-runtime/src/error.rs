//! The one error type of the crate.
//!
//! Every error carries the context a user needs to act on it: the Rust struct and field for
//! conversion errors, the file path for I/O and format errors. Upstream errors (arrow, parquet,
//! io) are kept as [`std::error::Error::source`], never flattened into strings.

use std::fmt;
use std::path::PathBuf;

use arrow_schema::{ArrowError, DataType};

/// `Result` with [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong converting one Arrow column into one Rust field (or back).
///
/// It carries no struct or field name; [`Error::Column`] adds them.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FieldError {
    /// The column has an Arrow type this field cannot be read from.
    #[error("expected Arrow type {expected}, found {found}")]
    TypeMismatch {
        /// The Arrow type the field maps to.
        expected: DataType,
        /// The Arrow type of the column in the batch.
        found: DataType,
    },
    /// A null value in a column whose field is not an `Option`.
    #[error(
        "found a null at {}, but the field is not an Option (expected non-null {expected})",
        At(*row, items)
    )]
    UnexpectedNull {
        /// Row index (within the batch) of the first null.
        row: usize,
        /// Where in that row, for a value inside a list, map or fixed-size list: its index there,
        /// outermost first (empty for the row's own value). See [`FieldError::items`].
        items: Vec<usize>,
        /// The Arrow type the field maps to.
        expected: DataType,
    },
    /// A string that names no variant of a unit enum.
    #[error(
        "unknown variant {found:?} of enum {enum_name} at {} (expected one of {expected:?})",
        At(*row, items)
    )]
    UnknownVariant {
        /// The enum's Rust name.
        enum_name: &'static str,
        /// The variant names the enum has.
        expected: &'static [&'static str],
        /// The value found in the column.
        found: String,
        /// Row index (within the batch).
        row: usize,
        /// Where in that row (see [`FieldError::items`]).
        items: Vec<usize>,
    },
    /// A column that does not fit its layout as a whole (for example more string bytes than `i32`
    /// offsets allow). A single value out of range is [`FieldError::ValueOutOfRange`].
    #[error("value out of range: {0}")]
    OutOfRange(String),
    /// A value that does not fit the Rust type or the Arrow column (for example a timestamp
    /// outside chrono's range, or a date-time past 2262 in a nanosecond column).
    #[error("value out of range: {}: {reason}", At(*row, items))]
    ValueOutOfRange {
        /// Row index (within the batch).
        row: usize,
        /// Where in that row (see [`FieldError::items`]).
        items: Vec<usize>,
        /// What does not fit where.
        reason: String,
    },
    /// A combination of types this crate does not map (for example `Option<Option<T>>`).
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// Arrow refused to build or read an array.
    #[error("arrow error")]
    Arrow(#[from] ArrowError),
    /// An error inside a nested struct (names the inner `Struct.field`).
    #[error("{0}")]
    Nested(Box<Error>),
}

/// The error type of every fallible operation in `soa_runtime`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A column the struct needs is not in the record batch.
    #[error(
        "{struct_name}.{field}: column {column:?} is missing (expected Arrow type {expected}, found no such column)"
    )]
    MissingColumn {
        /// Rust struct name.
        struct_name: &'static str,
        /// Rust field name.
        field: &'static str,
        /// Column name looked up in the batch.
        column: &'static str,
        /// The Arrow type the field maps to.
        expected: DataType,
    },
    /// A column was found but could not be converted into the field.
    #[error("{struct_name}.{field}: {source}")]
    Column {
        /// Rust struct name.
        struct_name: &'static str,
        /// Rust field name.
        field: &'static str,
        /// What went wrong.
        #[source]
        source: FieldError,
    },
    /// Two columns of a row type's schema have the same name, so a batch could not tell them
    /// apart. The derive rejects the collisions it can see at compile time; this one comes from a
    /// `#[soa(flatten)]` prefix plus a column of the flattened struct (another item) equal to
    /// another column. Every conversion of the type ([`crate::ToArrow`]) returns it, before
    /// touching any column, so no value is ever read from the wrong column.
    #[error(
        "{struct_name}: column {column:?} appears twice in the schema (a #[soa(flatten)] prefix plus a column of the flattened struct equals another column); rename one with #[soa(rename = \"...\")]"
    )]
    DuplicateColumn {
        /// Rust struct name.
        struct_name: &'static str,
        /// The column name that appears more than once.
        column: String,
    },
    /// The columns of a container have different lengths (a row was half-pushed by hand).
    #[error("{struct_name}: column {field} has {found} rows, expected {expected}")]
    LengthMismatch {
        /// Rust struct name.
        struct_name: &'static str,
        /// Rust field name of the first column whose length differs.
        field: &'static str,
        /// Length of the first column.
        expected: usize,
        /// Length of this column.
        found: usize,
    },
    /// Arrow failed while assembling or reading batches.
    #[error("arrow error while {context}")]
    Arrow {
        /// What we were doing.
        context: String,
        /// The arrow error.
        #[source]
        source: ArrowError,
    },
    /// Parquet failed while reading or writing a file.
    #[error("parquet error in {path}")]
    Parquet {
        /// The file.
        path: PathBuf,
        /// The parquet error.
        #[source]
        source: parquet::errors::ParquetError,
    },
    /// An I/O error on a path.
    #[error("I/O error on {path}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error (its kind tells `NotFound`, `PermissionDenied`, `StorageFull`...).
        #[source]
        source: std::io::Error,
    },
    /// A store directory does not exist.
    #[error("store directory {path} does not exist")]
    MissingDirectory {
        /// The directory.
        path: PathBuf,
    },
    /// A file is corrupt or truncated (checksum mismatch, bad magic, or a decoder failure).
    #[error("corrupt file {path}: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// A file or batch was written for another type or an incompatible schema.
    #[error(
        "schema mismatch{}: {reason}",
        path.as_ref().map(|p| format!(" in {}", p.display())).unwrap_or_default()
    )]
    SchemaMismatch {
        /// The file; `None` for a record batch handed to a store.
        path: Option<PathBuf>,
        /// What differs.
        reason: String,
    },
    /// A background task failed (panicked or was cancelled).
    #[error("background task failed: {0}")]
    Task(String),
    /// An error that happened while reading one file (for example a column-level
    /// [`Error::MissingColumn`] or [`Error::Column`] from converting a file's batches).
    #[error("in {path}")]
    InFile {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: Box<Error>,
    },
    /// A column name that the row type does not have (projection, per-column options).
    #[error("{type_name} has no column {column:?} (columns: {available:?})")]
    UnknownColumn {
        /// Rust name of the row type.
        type_name: &'static str,
        /// The name asked for.
        column: String,
        /// The columns the type has.
        available: Vec<String>,
    },
    /// A value that the files of a store cannot hold exactly, so it is not written: a timestamp
    /// in seconds whose millisecond count overflows `i64` (Parquet has no seconds unit), or under
    /// `spark_compatible` a nanosecond timestamp with sub-microsecond digits. Nothing is
    /// truncated silently.
    #[error("{type_name}.{column}: {reason}")]
    OutOfRange {
        /// Rust name of the row type.
        type_name: &'static str,
        /// The top-level field (column) holding the value.
        column: String,
        /// The value and why it does not fit.
        reason: String,
    },
    /// A store option with an invalid value (for example a compression level out of range).
    #[error("invalid option {option}: {reason}")]
    InvalidOption {
        /// The option.
        option: &'static str,
        /// Why it is invalid.
        reason: String,
    },
    /// Another process writes this store: a store has one writer process at a time (any number
    /// of readers). Retry later, or open with
    /// [`wait_for_writer(true)`](crate::store::parquet::ParquetStoreBuilder::wait_for_writer).
    #[error(
        "the store is locked by another writer process{}: {path}",
        holder.map(|pid| format!(" (pid {pid})")).unwrap_or_default()
    )]
    Locked {
        /// The lock file.
        path: PathBuf,
        /// Process id of the holder, when it could be read.
        holder: Option<u32>,
    },
    /// A commit lost a race with another writer's commit and could not be retried (its
    /// changes conflict with what the other commit did); nothing of it was committed.
    #[error("commit conflict on {path}: {reason}")]
    CommitConflict {
        /// The store (directory or table URL).
        path: PathBuf,
        /// What the other commit changed.
        reason: String,
    },
    /// A column type a store cannot hold, refused when the store is created or opened (for
    /// example an interval column in a `DeltaStore`).
    #[error("{type_name}.{column}: {store} cannot hold Arrow type {data_type}: {reason}")]
    UnsupportedType {
        /// The store kind.
        store: &'static str,
        /// Rust name of the row type.
        type_name: &'static str,
        /// The top-level field (column).
        column: String,
        /// The column's Arrow type.
        data_type: String,
        /// Why, and what to do instead.
        reason: String,
    },
    /// An object store request failed (network, permissions, a server error that retries did
    /// not cure). The source is the `object_store` error.
    #[error("object store error: {operation} {location}")]
    ObjectStore {
        /// What was being done (`get`, `put`, `list`, `delete`, `head`).
        operation: &'static str,
        /// The object (URL or path).
        location: String,
        /// The underlying error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A commit whose outcome is unknown: the request publishing version `version` failed in a
    /// way that does not say whether it was written (a lost response), and reading the version
    /// back failed too. The table is whole either way; look at its history (or count) before
    /// writing the same data again, or it may be there twice.
    #[error(
        "commit outcome unknown on {location}: version {version} may or may not hold this commit"
    )]
    CommitUnknown {
        /// The table's URL.
        location: String,
        /// The version the commit was published as.
        version: u64,
        /// The failure of the publishing request.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// No table at a location (`DeltaStore::open`).
    #[error("no Delta table at {location}")]
    TableNotFound {
        /// The table's URL.
        location: String,
    },
    /// A table already exists where one was to be created
    /// (`DeltaStore::create`).
    #[error("a Delta table already exists at {location}")]
    TableExists {
        /// The table's URL.
        location: String,
    },
    /// A Delta table this crate cannot read or write as asked: a damaged or unreadable log, a
    /// protocol version or table feature it does not support, a version that does not exist.
    #[error("Delta table {location}: {reason}")]
    Delta {
        /// The table's URL.
        location: String,
        /// What is wrong.
        reason: String,
    },
    /// DuckDB rejected or failed a statement ([`crate::sql`]): bad syntax, an unknown table,
    /// column or function, or an error while running it. `source` carries DuckDB's message.
    #[cfg(feature = "duckdb")]
    #[error("SQL {kind} error in `{sql}`")]
    Sql {
        /// What kind of error DuckDB reported.
        kind: crate::sql::SqlErrorKind,
        /// The statement.
        sql: String,
        /// DuckDB's error (boxed: it is large, and every `Result` of the crate would carry its
        /// size).
        #[source]
        source: Box<duckdb::Error>,
    },
    /// The result of a query does not fit the Rust type asked for ([`crate::sql::SqlEngine::query`]).
    /// `source` is the [`Error::MissingColumn`] or [`Error::Column`] naming `Struct.field`.
    #[cfg(feature = "duckdb")]
    #[error(
        "the result of `{sql}` does not fit {target}{}",
        detail.as_deref().map(|d| format!(" ({d})")).unwrap_or_default()
    )]
    SqlResult {
        /// Rust name of the target row type.
        target: &'static str,
        /// The statement.
        sql: String,
        /// Why a column could not be converted to the field's type, when a conversion was tried
        /// (for example a sum that does not fit `i32`).
        detail: Option<String>,
        /// The conversion error naming `Struct.field`.
        #[source]
        source: Box<Error>,
    },
    /// A column whose Arrow type DuckDB has no equivalent for ([`crate::sql::SqlEngine::register`]).
    #[cfg(feature = "duckdb")]
    #[error("{type_name}.{column}: Arrow type {data_type} cannot be exposed to DuckDB: {reason}")]
    SqlType {
        /// Rust name of the row type.
        type_name: &'static str,
        /// The column.
        column: String,
        /// Its Arrow type.
        data_type: DataType,
        /// DuckDB's reason.
        reason: String,
    },
}

/// Displays a position: `row 2`, `row 2 (item 1)`, `row 2 (item 1, then item 0)`.
struct At<'a>(usize, &'a [usize]);

impl fmt::Display for At<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "row {}", self.0)?;
        for (depth, item) in self.1.iter().enumerate() {
            let sep = if depth == 0 { " (" } else { ", then " };
            write!(f, "{sep}item {item}")?;
        }
        if !self.1.is_empty() {
            f.write_str(")")?;
        }
        Ok(())
    }
}

impl Error {
    /// The message of this error and of every cause after it (`source()`), joined by `": "`:
    /// `in data/part-000002.parquet: Order.quantity: expected Arrow type UInt32, found Utf8`.
    /// Each error's own message carries only its context; the cause lives in `source()` (what
    /// `anyhow`'s `{:#}` and `eyre` print too).
    pub fn full_message(&self) -> String {
        let mut message = self.to_string();
        let mut cause = std::error::Error::source(self);
        while let Some(error) = cause {
            let text = error.to_string();
            // A cause whose message its wrapper already shows (a field error) is not repeated.
            if !message.ends_with(&text) {
                message.push_str(": ");
                message.push_str(&text);
            }
            cause = error.source();
        }
        message
    }
}

impl FieldError {
    /// [`FieldError::UnexpectedNull`] at `row` (a value of the row itself, not inside a list).
    pub fn unexpected_null(row: usize, expected: DataType) -> Self {
        FieldError::UnexpectedNull {
            row,
            items: Vec::new(),
            expected,
        }
    }

    /// [`FieldError::ValueOutOfRange`] at `row` (a value of the row itself, not inside a list).
    pub fn out_of_range_at(row: usize, reason: impl Into<String>) -> Self {
        FieldError::ValueOutOfRange {
            row,
            items: Vec::new(),
            reason: reason.into(),
        }
    }

    /// The row index this error names, if it names one.
    pub fn row(&self) -> Option<usize> {
        match self {
            FieldError::UnexpectedNull { row, .. }
            | FieldError::UnknownVariant { row, .. }
            | FieldError::ValueOutOfRange { row, .. } => Some(*row),
            FieldError::Nested(error) => match error.as_ref() {
                Error::Column { source, .. } => source.row(),
                _ => None,
            },
            _ => None,
        }
    }

    /// The positions inside the row (list item, map entry, fixed-size list element), outermost
    /// first; empty when the error names a row's own value or no row at all.
    pub fn items(&self) -> &[usize] {
        match self {
            FieldError::UnexpectedNull { items, .. }
            | FieldError::UnknownVariant { items, .. }
            | FieldError::ValueOutOfRange { items, .. } => items,
            FieldError::Nested(error) => match error.as_ref() {
                Error::Column { source, .. } => source.items(),
                _ => &[],
            },
            _ => &[],
        }
    }

    /// Moves the position of an error raised on a child array (the values of a list or map, the
    /// present rows of a nullable struct) to the parent array: `parent(i)` is the parent row
    /// holding child value `i` and, for a list or map, the value's index in that row. Called on
    /// the error path only, so the happy path never builds the mapping.
    #[must_use]
    pub(crate) fn relocate(self, parent: &dyn Fn(usize) -> (usize, Option<usize>)) -> Self {
        let moved = |row: &mut usize, items: &mut Vec<usize>| {
            let (to, item) = parent(*row);
            *row = to;
            if let Some(item) = item {
                items.insert(0, item);
            }
        };
        match self {
            FieldError::UnexpectedNull {
                mut row,
                mut items,
                expected,
            } => {
                moved(&mut row, &mut items);
                FieldError::UnexpectedNull {
                    row,
                    items,
                    expected,
                }
            }
            FieldError::UnknownVariant {
                enum_name,
                expected,
                found,
                mut row,
                mut items,
            } => {
                moved(&mut row, &mut items);
                FieldError::UnknownVariant {
                    enum_name,
                    expected,
                    found,
                    row,
                    items,
                }
            }
            FieldError::ValueOutOfRange {
                mut row,
                mut items,
                reason,
            } => {
                moved(&mut row, &mut items);
                FieldError::ValueOutOfRange { row, items, reason }
            }
            FieldError::Nested(error) => match *error {
                Error::Column {
                    struct_name,
                    field,
                    source,
                } => FieldError::Nested(Box::new(Error::Column {
                    struct_name,
                    field,
                    source: source.relocate(parent),
                })),
                other => FieldError::Nested(Box::new(other)),
            },
            other => other,
        }
    }
}

impl Error {
    /// Wraps a [`FieldError`] with the struct and field it happened in.
    pub fn column(struct_name: &'static str, field: &'static str, source: FieldError) -> Self {
        Error::Column {
            struct_name,
            field,
            source,
        }
    }

    /// Wraps an [`ArrowError`] with what we were doing.
    pub fn arrow(context: impl Into<String>, source: ArrowError) -> Self {
        Error::Arrow {
            context: context.into(),
            source,
        }
    }

    /// Wraps an I/O error with the path it happened on.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

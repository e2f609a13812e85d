//! The one error type of the crate.
//!
//! Every error carries the context a user needs to act on it: the Rust struct and field for
//! conversion errors, the file path for I/O and format errors. Upstream errors (arrow, parquet,
//! io) are kept as [`std::error::Error::source`], never flattened into strings.

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
        "found a null at row {row}, but the field is not an Option (expected non-null {expected})"
    )]
    UnexpectedNull {
        /// Row index (within the batch) of the first null.
        row: usize,
        /// The Arrow type the field maps to.
        expected: DataType,
    },
    /// A string that names no variant of a unit enum.
    #[error(
        "unknown variant {found:?} of enum {enum_name} at row {row} (expected one of {expected:?})"
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
    },
    /// A value that does not fit the Rust type (for example a string longer than `i32` offsets allow).
    #[error("value out of range: {0}")]
    OutOfRange(String),
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
    #[error("I/O error on {path}: {source}")]
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
    #[error("schema mismatch in {path}: {reason}")]
    SchemaMismatch {
        /// The file (or `<batch>`).
        path: PathBuf,
        /// What differs.
        reason: String,
    },
    /// A background task failed (panicked or was cancelled).
    #[error("background task failed: {0}")]
    Task(String),
    /// An error that happened while reading one file (for example a column-level
    /// [`Error::MissingColumn`] or [`Error::Column`] from converting a file's batches).
    #[error("in {path}: {source}")]
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
    /// A store option with an invalid value (for example a compression level out of range).
    #[error("invalid option {option}: {reason}")]
    InvalidOption {
        /// The option.
        option: &'static str,
        /// Why it is invalid.
        reason: String,
    },
    /// DuckDB rejected or failed a statement ([`crate::sql`]): bad syntax, an unknown table,
    /// column or function, or an error while running it. `source` carries DuckDB's message.
    #[cfg(feature = "duckdb")]
    #[error("SQL {kind} error: {source} (in `{sql}`)")]
    Sql {
        /// What kind of error DuckDB reported.
        kind: crate::sql::SqlErrorKind,
        /// The statement.
        sql: String,
        /// DuckDB's error.
        #[source]
        source: duckdb::Error,
    },
    /// The result of a query does not fit the Rust type asked for ([`crate::sql::SqlEngine::query`]).
    /// `source` is the [`Error::MissingColumn`] or [`Error::Column`] naming `Struct.field`.
    #[cfg(feature = "duckdb")]
    #[error(
        "the result of `{sql}` does not fit {target}: {source}{}",
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

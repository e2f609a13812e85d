//! # soa: data-oriented domain models on Arrow and Parquet
//!
//! Annotate a plain struct with `#[derive(Soa, ToArrow)]` and get
//!
//! * a Structure-of-Arrays container (`OrderSoA`, one `Vec` per field, or an Arrow-shaped
//!   [`StringColumn`] for `#[soa(arrow_layout)]` string fields) with `push`, `extend`,
//!   `sort_by`, `retain`, `iter` and friends ([`Soa`], [`SoaColumns`]);
//! * an Arrow schema and [`RecordBatch`](arrow::array::RecordBatch) conversion in both
//!   directions, by column name, type-checked, zero-copy for fixed-width columns ([`ToArrow`]);
//! * the field type mapping as a trait you can implement for your own types ([`ArrowField`]);
//! * stores that accept any derived type ([`store`]): [`ArrowStore`] in memory (Arrow IPC
//!   files), [`ParquetStore`] on disk (a directory of Parquet files with atomic commits, one
//!   writer and any number of reader processes), all implementing one batch-level core
//!   ([`Store`]) with the typed operations in [`StoreExt`]; single files through [`SoaFile`];
//! * SQL over any store with embedded DuckDB (`sql::SqlEngine`, feature `duckdb`).
//!
//! `use soa_runtime::prelude::*;` brings the derives, the traits and the stores.
//!
//! ## Quick start
//!
//! ```
//! use soa_runtime::{Soa, ToArrow};
//!
//! #[derive(Soa, ToArrow, Debug, Clone, Copy, PartialEq)]
//! pub enum Side { Buy, Sell }
//!
//! #[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
//! pub struct Order {
//!     pub order_id: u64,
//!     pub symbol: String,
//!     pub side: Side,
//!     pub quantity: u32,
//!     pub unit_price: f64,
//!     pub note: Option<String>,
//! }
//!
//! let rows = vec![
//!     Order { order_id: 1, symbol: "AAPL".into(), side: Side::Buy, quantity: 10, unit_price: 189.5, note: None },
//!     Order { order_id: 2, symbol: "MSFT".into(), side: Side::Sell, quantity: 5, unit_price: 410.0, note: Some("ü".into()) },
//! ];
//! let soa: OrderSoA = rows.clone().into_iter().collect();
//! let notional: f64 = soa.quantity.iter().zip(&soa.unit_price).map(|(q, p)| *q as f64 * p).sum();
//! assert_eq!(notional, 3945.0);
//!
//! let batch = soa.into_record_batch()?;              // moves the columns into Arrow
//! let back = OrderSoA::from_record_batch(&batch)?;   // by column name, type-checked
//! assert_eq!(back.into_rows(), rows);
//! # Ok::<(), soa_runtime::Error>(())
//! ```
//!
//! ## Errors
//!
//! Every fallible call returns [`Result`] with the one [`Error`] type. Conversion errors name the
//! struct and field (`Order.quantity: expected Arrow type UInt32, found Utf8`); wrapping errors
//! carry their context and leave the cause to `source()` ([`Error::full_message`] prints the
//! whole chain).

#![warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod column;
pub mod convert;
pub mod error;
pub mod field;
pub mod predicate;
pub mod soa;
#[cfg(feature = "duckdb")]
pub mod sql;
pub mod store;

pub use column::{OptionStringColumn, StringColumn};
pub use convert::ToArrow;
pub use error::{Error, FieldError, Result};
pub use field::{ArrowField, UnitEnum};
pub use soa::{Soa, SoaColumns};
pub use soa_derive::{Soa, ToArrow};
#[cfg(feature = "delta")]
pub use store::DeltaStore;
pub use store::{ArrowStore, ParquetStore, Record, SoaFile, Store, StoreExt, StoreStats};

/// Everything a program that stores rows needs in scope: the derives and traits, the stores.
///
/// ```
/// use soa_runtime::prelude::*;
/// ```
pub mod prelude {
    pub use crate::convert::ToArrow;
    pub use crate::soa::{Soa, SoaColumns};
    #[cfg(feature = "delta")]
    pub use crate::store::DeltaStore;
    pub use crate::store::{
        ArrowStore, ParquetStore, ScanOptions, SoaFile, Store, StoreExt, WriteMode,
    };
    pub use soa_derive::{Soa, ToArrow};
}

/// The Arrow crates this crate is built on, re-exported so users need no version match.
pub mod arrow {
    pub use arrow_array as array;
    pub use arrow_array::record_batch;
    pub use arrow_buffer as buffer;
    pub use arrow_ipc as ipc;
    pub use arrow_schema as datatypes;
}

/// The `parquet` crate this crate is built on.
pub use parquet;

/// Paths used by the generated code. Not public API; may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use crate::convert::helpers::*;
    pub use crate::field::data_enum::*;
    pub use crate::field::{
        enum_data_type, enum_from_array, enum_from_array_opt, enum_names_array, enum_to_array,
        enum_to_array_opt,
    };
    pub use crate::soa::{apply_permutation, extend_rows, resolve_range, retain_by_mask};
    pub use arrow_array::{Array, ArrayRef, RecordBatch};
    pub use arrow_schema::{DataType, Field, FieldRef, Schema, SchemaRef};
    pub use core::clone::Clone;
    pub use core::iter::IntoIterator;
    pub use core::ops::ControlFlow;
    pub use core::option::Option::{self, None, Some};
    pub use core::result::Result::{self, Err, Ok};
    pub use std::collections::HashMap;
    pub use std::string::String;
    pub use std::sync::{Arc, OnceLock};
    pub use std::vec::Vec;
}

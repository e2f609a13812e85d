//! Shared code of the benchmark suite: the `Order` model (re-exported from `soa-fixtures` so
//! every workload runs on the demos' data), one module per competitor, and a small timer.
//!
//! Every competitor gets the same rows, converted into its own model type outside the timed region.

pub mod competitors;
pub mod fixed;
pub mod lines;
pub mod parquet_io;
pub mod plain;
pub mod report;
pub mod scan;
#[cfg(feature = "arrow-store")]
pub mod stores;
pub mod timing;

pub use soa_fixtures::{Order, OrderSoA, Side, orders};

/// Rows of the small run and the large run.
pub const ROWS_1M: usize = 1_000_000;
/// Rows of the large run.
pub const ROWS_10M: usize = 10_000_000;

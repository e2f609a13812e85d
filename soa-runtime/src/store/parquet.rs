//! Parquet directory store (being written).

use std::marker::PhantomData;

/// Parquet directory store (being written).
#[derive(Debug)]
pub struct ParquetStore<T> {
    _rows: PhantomData<fn() -> T>,
}

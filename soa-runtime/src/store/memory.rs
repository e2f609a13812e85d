//! In-memory Arrow store (being written).

use std::marker::PhantomData;

/// In-memory store (being written).
#[derive(Debug)]
pub struct ArrowStore<T> {
    _rows: PhantomData<fn() -> T>,
}

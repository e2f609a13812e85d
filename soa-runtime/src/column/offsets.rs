//! The offsets of a string column: i32 (Arrow Utf8) until the bytes outgrow them, then i64.

use std::ops::Range;

#[derive(Clone)]
pub(super) enum Offsets {
    /// Arrow Utf8 offsets; moves into a `StringArray` as is.
    Small(Vec<i32>),
    /// More than `i32::MAX` bytes: kept so pushing never fails; converting to Utf8 reports it.
    Large(Vec<i64>),
}

impl Offsets {
    pub(super) fn with_capacity(values: usize) -> Self {
        let mut v = Vec::with_capacity(values.saturating_add(1));
        v.push(0);
        Offsets::Small(v)
    }

    #[inline]
    pub(super) fn values(&self) -> usize {
        match self {
            Offsets::Small(v) => v.len() - 1,
            Offsets::Large(v) => v.len() - 1,
        }
    }

    /// Byte range of value `i` (`i < values()`).
    #[inline]
    pub(super) fn range(&self, i: usize) -> Range<usize> {
        match self {
            // Offsets are never negative: they are built from `usize` lengths.
            Offsets::Small(v) => v[i] as usize..v[i + 1] as usize,
            Offsets::Large(v) => v[i] as usize..v[i + 1] as usize,
        }
    }

    #[inline]
    pub(super) fn push(&mut self, end: usize) {
        match self {
            Offsets::Small(v) => match i32::try_from(end) {
                Ok(end) => v.push(end),
                Err(_) => {
                    let mut large: Vec<i64> = v.iter().map(|&o| i64::from(o)).collect();
                    large.push(end as i64);
                    *self = Offsets::Large(large);
                }
            },
            Offsets::Large(v) => v.push(end as i64),
        }
    }

    pub(super) fn truncate(&mut self, values: usize) {
        match self {
            Offsets::Small(v) => v.truncate(values + 1),
            Offsets::Large(v) => v.truncate(values + 1),
        }
    }

    /// End of the last value (the bytes in use).
    pub(super) fn last(&self) -> usize {
        match self {
            Offsets::Small(v) => v.last().map_or(0, |&o| o as usize),
            Offsets::Large(v) => v.last().map_or(0, |&o| o as usize),
        }
    }

    pub(super) fn reserve(&mut self, additional: usize) {
        match self {
            Offsets::Small(v) => v.reserve(additional),
            Offsets::Large(v) => v.reserve(additional),
        }
    }

    pub(super) fn shrink_to_fit(&mut self) {
        match self {
            Offsets::Small(v) => v.shrink_to_fit(),
            Offsets::Large(v) => v.shrink_to_fit(),
        }
    }

    pub(super) fn capacity(&self) -> usize {
        match self {
            Offsets::Small(v) => v.capacity() - 1,
            Offsets::Large(v) => v.capacity() - 1,
        }
    }
}

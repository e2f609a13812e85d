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

impl Offsets {
    /// Calls `f(i, value i == needle)` for every value, in order.
    #[inline]
    pub(super) fn each_eq(&self, bytes: &[u8], needle: &[u8], f: impl FnMut(usize, bool)) {
        match self {
            Offsets::Small(v) => each_eq(v, bytes, needle, f),
            Offsets::Large(v) => each_eq(v, bytes, needle, f),
        }
    }
}

/// An offset as an index (offsets are never negative: they are built from `usize` lengths).
trait Offset: Copy {
    fn at(self) -> usize;
}

impl Offset for i32 {
    #[inline]
    fn at(self) -> usize {
        self as usize
    }
}

impl Offset for i64 {
    #[inline]
    fn at(self) -> usize {
        self as usize
    }
}

/// Equality of every value with `needle`, lengths first (from the offsets). A needle of at most
/// 8 bytes is compared as one masked little-endian word read at the value's start, with no
/// branch per value; longer ones by bytes.
#[inline]
fn each_eq<O: Offset>(offsets: &[O], bytes: &[u8], needle: &[u8], mut f: impl FnMut(usize, bool)) {
    let n = needle.len();
    if n > 8 {
        for (i, w) in offsets.windows(2).enumerate() {
            let (start, end) = (w[0].at(), w[1].at());
            f(
                i,
                end.wrapping_sub(start) == n && bytes.get(start..end) == Some(needle),
            );
        }
        return;
    }
    let mut key = [0u8; 8];
    key[..n].copy_from_slice(needle);
    let key = u64::from_le_bytes(key);
    let mask = u64::MAX.checked_shr(64 - 8 * n as u32).unwrap_or(0);
    let test =
        |start: usize, end: usize, word: u64| (end.wrapping_sub(start) == n) & (word & mask == key);
    let values = offsets.len().saturating_sub(1);
    // Values starting at least 8 bytes before the end read a whole word in place (offsets
    // never decrease, so they are a prefix); the few others a zero-padded copy of their tail.
    let last_full = bytes.len().checked_sub(8);
    let whole = last_full.map_or(0, |limit| {
        offsets[..values].partition_point(|o| o.at() <= limit)
    });
    let base = bytes.as_ptr();
    for (i, (s, e)) in offsets[..whole].iter().zip(&offsets[1..]).enumerate() {
        let (start, end) = (s.at(), e.at());
        debug_assert!(start + 8 <= bytes.len());
        // SAFETY: `start <= bytes.len() - 8` for every value before `whole` (the partition
        // point above, offsets never decreasing), so the 8 bytes read are inside `bytes`.
        #[allow(unsafe_code)]
        let word = unsafe { std::ptr::read_unaligned(base.add(start).cast::<u64>()) };
        f(i, test(start, end, u64::from_le(word)));
    }
    for i in whole..values {
        let (start, end) = (offsets[i].at(), offsets[i + 1].at());
        let tail = bytes.get(start..).unwrap_or_default();
        let tail = tail.get(..8).unwrap_or(tail);
        let mut word = [0u8; 8];
        word[..tail.len()].copy_from_slice(tail);
        f(i, test(start, end, u64::from_le_bytes(word)));
    }
}

//! [`StringColumn`]: a column of `String` values stored as one byte buffer plus offsets; its
//! inherent API and the standard traits (indexing, comparison, hashing, collecting).

use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::{Index, Range};

use super::StringIter;
use super::offsets::Offsets;

/// A column of `String` values stored as Arrow does: one byte buffer plus offsets.
///
/// Used by `#[soa(arrow_layout)]` on a `String` field (see the [module docs](crate::column)).
/// Values are read as `&str`: `col[i]`, [`get`](Self::get), [`iter`](Self::iter).
#[derive(Clone)]
pub struct StringColumn {
    pub(super) offsets: Offsets,
    pub(super) bytes: Vec<u8>,
}

impl Default for StringColumn {
    fn default() -> Self {
        Self::new()
    }
}

impl StringColumn {
    /// An empty column.
    #[must_use]
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    /// An empty column with room for `rows` values (their bytes grow as needed).
    #[must_use]
    pub fn with_capacity(rows: usize) -> Self {
        Self {
            offsets: Offsets::with_capacity(rows),
            bytes: Vec::new(),
        }
    }

    /// An empty column with room for `rows` values of `bytes` bytes in total.
    #[must_use]
    pub fn with_capacity_bytes(rows: usize, bytes: usize) -> Self {
        Self {
            offsets: Offsets::with_capacity(rows),
            bytes: Vec::with_capacity(bytes),
        }
    }

    /// Number of values.
    #[inline]
    #[must_use]
    pub fn len(&self) -> usize {
        self.offsets.values()
    }

    /// `true` when empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many values fit before the offsets reallocate.
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.offsets.capacity()
    }

    /// Total bytes of all values.
    #[must_use]
    pub fn bytes_len(&self) -> usize {
        self.bytes.len()
    }

    /// All values' bytes, concatenated (the Arrow values buffer).
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Appends a value (its bytes are copied; the `String` is dropped).
    #[inline]
    pub fn push(&mut self, value: String) {
        self.push_str(&value);
    }

    /// Appends a value.
    #[inline]
    pub fn push_str(&mut self, value: &str) {
        self.bytes.extend_from_slice(value.as_bytes());
        self.offsets.push(self.bytes.len());
    }

    /// The value at `index`, or `None` when out of bounds.
    #[inline]
    #[must_use]
    pub fn get(&self, index: usize) -> Option<&str> {
        (index < self.len()).then(|| self.str_at(index))
    }

    #[inline]
    pub(super) fn str_at(&self, index: usize) -> &str {
        let bytes = &self.bytes[self.offsets.range(index)];
        // SAFETY: `bytes` only ever holds whole `&str`s (pushed, or copied from a Utf8 array,
        // which is valid UTF-8 at every offset), and offsets are the ends of those strings, so
        // every range is valid UTF-8.
        #[allow(unsafe_code)]
        unsafe {
            std::str::from_utf8_unchecked(bytes)
        }
    }

    /// Iterates over the values in order.
    pub fn iter(&self) -> StringIter<'_> {
        StringIter::new(&self.bytes, &self.offsets)
    }

    /// How many values equal `value`: the same count as
    /// `iter().filter(|s| *s == value).count()`, faster (lengths come from the offsets, and a
    /// `value` of at most 8 bytes is compared as one word, without a branch per value).
    ///
    /// ```
    /// # use soa_runtime::column::StringColumn;
    /// let symbols: StringColumn = ["AAPL", "MSFT", "AAPL", "AAPLX", "", "é"].into_iter().collect();
    /// assert_eq!(symbols.count_eq("AAPL"), 2);
    /// assert_eq!(symbols.count_eq(""), 1);
    /// assert_eq!(symbols.positions_eq("AAPL"), vec![0, 2]);
    /// ```
    #[must_use]
    pub fn count_eq(&self, value: &str) -> usize {
        let mut count = 0;
        self.offsets
            .each_eq(&self.bytes, value.as_bytes(), |_, hit| {
                count += usize::from(hit)
            });
        count
    }

    /// The indices of the values equal to `value`, ascending (compared as in
    /// [`count_eq`](Self::count_eq)).
    #[must_use]
    pub fn positions_eq(&self, value: &str) -> Vec<usize> {
        let mut out = Vec::new();
        self.offsets
            .each_eq(&self.bytes, value.as_bytes(), |i, hit| {
                if hit {
                    out.push(i);
                }
            });
        out
    }

    /// Keeps the first `len` values.
    pub fn truncate(&mut self, len: usize) {
        if len < self.len() {
            self.offsets.truncate(len);
            self.bytes.truncate(self.offsets.last());
        }
    }

    /// Removes every value, keeping the allocations.
    pub fn clear(&mut self) {
        self.truncate(0);
    }

    /// Room for `additional` more values.
    pub fn reserve(&mut self, additional: usize) {
        self.offsets.reserve(additional);
    }

    /// Room for `additional` more bytes of values.
    pub fn reserve_bytes(&mut self, additional: usize) {
        self.bytes.reserve(additional);
    }

    /// Frees unused capacity.
    pub fn shrink_to_fit(&mut self) {
        self.offsets.shrink_to_fit();
        self.bytes.shrink_to_fit();
    }

    /// Removes the value at `index`; the last value takes its place. O(bytes after `index`).
    ///
    /// # Panics
    /// If `index >= self.len()`, like `Vec::swap_remove`.
    pub fn swap_remove(&mut self, index: usize) -> String {
        let len = self.len();
        assert!(
            index < len,
            "swap_remove index {index} out of bounds for a column of {len} values"
        );
        let removed = self.str_at(index).to_owned();
        let last = len - 1;
        if index != last {
            let moved = self.str_at(last).to_owned();
            let mut rebuilt = Self::with_capacity_bytes(len, self.bytes.len());
            for i in 0..last {
                rebuilt.push_str(if i == index { &moved } else { self.str_at(i) });
            }
            *self = rebuilt;
        } else {
            self.truncate(last);
        }
        removed
    }

    /// Moves every value of `other` to the end of `self` (one `memcpy` of the bytes, offsets
    /// shifted in one pass).
    pub fn append(&mut self, other: &mut Self) {
        let base = self.bytes.len();
        match (&mut self.offsets, &other.offsets) {
            (Offsets::Small(mine), Offsets::Small(theirs))
                if i32::try_from(base + other.bytes.len()).is_ok() =>
            {
                // Fits i32 (checked above), so every shifted offset does too.
                let shift = base as i32;
                mine.extend(theirs[1..].iter().map(|&o| o + shift));
                self.bytes.extend_from_slice(&other.bytes);
            }
            _ => {
                self.bytes.reserve(other.bytes.len());
                self.offsets.reserve(other.len());
                for s in other.iter() {
                    self.push_str(s);
                }
            }
        }
        other.clear();
    }

    /// The values at `indices`, in order (repeats allowed).
    ///
    /// # Panics
    /// If an index is out of bounds.
    #[must_use]
    pub fn take(&self, indices: &[usize]) -> Self {
        let total = indices.iter().map(|&i| self.offsets.range(i).len()).sum();
        let mut out = Self::with_capacity_bytes(indices.len(), total);
        for &i in indices {
            assert!(
                i < self.len(),
                "index {i} out of bounds for a column of {} values",
                self.len()
            );
            out.push_str(self.str_at(i));
        }
        out
    }

    /// A copy of the values in `range`.
    ///
    /// # Panics
    /// If the range is out of bounds.
    #[must_use]
    pub fn slice(&self, range: Range<usize>) -> Self {
        assert!(
            range.start <= range.end && range.end <= self.len(),
            "range {range:?} out of bounds for a column of {} values",
            self.len()
        );
        if range.is_empty() {
            return Self::new();
        }
        let start = self.offsets.range(range.start).start;
        let end = self.offsets.range(range.end - 1).end;
        let mut out = Self::with_capacity_bytes(range.len(), end - start);
        for i in range {
            out.push_str(self.str_at(i));
        }
        out
    }

    pub(super) fn retain_mask(&mut self, keep: &[bool]) {
        let mut out = Self::with_capacity_bytes(self.len(), self.bytes.len());
        for (i, s) in self.iter().enumerate() {
            if keep.get(i).copied().unwrap_or(true) {
                out.push_str(s);
            }
        }
        *self = out;
    }
}

impl Index<usize> for StringColumn {
    type Output = str;
    fn index(&self, index: usize) -> &str {
        let len = self.len();
        assert!(
            index < len,
            "index {index} out of bounds for a column of {len} values"
        );
        self.str_at(index)
    }
}

impl fmt::Debug for StringColumn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl PartialEq for StringColumn {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for StringColumn {}

impl Hash for StringColumn {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.len().hash(state);
        for s in self {
            s.hash(state);
        }
    }
}

impl<S: AsRef<str>> PartialEq<[S]> for StringColumn {
    fn eq(&self, other: &[S]) -> bool {
        self.len() == other.len() && self.iter().zip(other).all(|(a, b)| a == b.as_ref())
    }
}

impl<S: AsRef<str>, const N: usize> PartialEq<[S; N]> for StringColumn {
    fn eq(&self, other: &[S; N]) -> bool {
        *self == other[..]
    }
}

impl<S: AsRef<str>> PartialEq<Vec<S>> for StringColumn {
    fn eq(&self, other: &Vec<S>) -> bool {
        *self == other[..]
    }
}

impl FromIterator<String> for StringColumn {
    fn from_iter<I: IntoIterator<Item = String>>(iter: I) -> Self {
        let mut c = Self::new();
        c.extend(iter);
        c
    }
}

impl<'a> FromIterator<&'a str> for StringColumn {
    fn from_iter<I: IntoIterator<Item = &'a str>>(iter: I) -> Self {
        let mut c = Self::new();
        c.extend(iter);
        c
    }
}

impl Extend<String> for StringColumn {
    fn extend<I: IntoIterator<Item = String>>(&mut self, iter: I) {
        let iter = iter.into_iter();
        self.reserve(iter.size_hint().0);
        for s in iter {
            self.push_str(&s);
        }
    }
}

impl<'a> Extend<&'a str> for StringColumn {
    fn extend<I: IntoIterator<Item = &'a str>>(&mut self, iter: I) {
        let iter = iter.into_iter();
        self.reserve(iter.size_hint().0);
        for s in iter {
            self.push_str(s);
        }
    }
}

impl From<Vec<String>> for StringColumn {
    fn from(values: Vec<String>) -> Self {
        let total = values.iter().map(String::len).sum();
        let mut c = Self::with_capacity_bytes(values.len(), total);
        for s in &values {
            c.push_str(s);
        }
        c
    }
}

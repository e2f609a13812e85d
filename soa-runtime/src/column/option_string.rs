//! [`OptionStringColumn`]: a column of `Option<String>` values stored as a [`StringColumn`] plus a
//! validity bitmap; its inherent API and the standard traits (comparison, hashing, collecting).

use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Range;

use super::validity::Validity;
use super::{OptionStringIter, StringColumn};

/// A column of `Option<String>` values stored as Arrow does: bytes, offsets and a validity bitmap.
///
/// Used by `#[soa(arrow_layout)]` on an `Option<String>` field (see the
/// [module docs](crate::column)). Values are read as `Option<&str>`: [`get`](Self::get),
/// [`iter`](Self::iter).
#[derive(Clone, Default)]
pub struct OptionStringColumn {
    pub(super) values: StringColumn,
    pub(super) validity: Validity,
}

impl OptionStringColumn {
    /// An empty column.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty column with room for `rows` values.
    #[must_use]
    pub fn with_capacity(rows: usize) -> Self {
        let mut c = Self {
            values: StringColumn::with_capacity(rows),
            validity: Validity::default(),
        };
        c.validity.reserve(rows);
        c
    }

    /// Number of values (nulls included).
    #[inline]
    #[must_use]
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// `true` when empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many values fit before the offsets reallocate.
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.values.capacity()
    }

    /// Number of `None` values.
    #[must_use]
    pub fn null_count(&self) -> usize {
        self.validity.nulls
    }

    /// The non-null values' bytes, concatenated.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        self.values.as_bytes()
    }

    /// Appends a value.
    #[inline]
    pub fn push(&mut self, value: Option<String>) {
        self.push_opt(value.as_deref());
    }

    /// Appends a value.
    #[inline]
    pub fn push_opt(&mut self, value: Option<&str>) {
        self.values.push_str(value.unwrap_or(""));
        self.validity.push(value.is_some());
    }

    /// The value at `index` (`Some(None)` for a null), or `None` when out of bounds.
    #[inline]
    #[must_use]
    pub fn get(&self, index: usize) -> Option<Option<&str>> {
        (index < self.len()).then(|| self.opt_at(index))
    }

    #[inline]
    pub(super) fn opt_at(&self, index: usize) -> Option<&str> {
        self.validity.get(index).then(|| self.values.str_at(index))
    }

    /// How many values are `Some(value)` (nulls never count): the same count as
    /// `iter().filter(|s| *s == Some(value)).count()`, compared as in
    /// [`StringColumn::count_eq`].
    ///
    /// ```
    /// # use soa_runtime::column::OptionStringColumn;
    /// let notes: OptionStringColumn = [Some("ok"), None, Some(""), Some("ok")].into_iter().collect();
    /// assert_eq!(notes.count_eq("ok"), 2);
    /// assert_eq!(notes.count_eq(""), 1); // the null is not ""
    /// assert_eq!(notes.positions_eq(""), vec![2]);
    /// ```
    #[must_use]
    pub fn count_eq(&self, value: &str) -> usize {
        let mut count = 0;
        self.values
            .offsets
            .each_eq(&self.values.bytes, value.as_bytes(), |i, hit| {
                if hit && self.validity.get(i) {
                    count += 1;
                }
            });
        count
    }

    /// The indices of the values that are `Some(value)`, ascending.
    #[must_use]
    pub fn positions_eq(&self, value: &str) -> Vec<usize> {
        let mut out = Vec::new();
        self.values
            .offsets
            .each_eq(&self.values.bytes, value.as_bytes(), |i, hit| {
                if hit && self.validity.get(i) {
                    out.push(i);
                }
            });
        out
    }

    /// Iterates over the values in order.
    pub fn iter(&self) -> OptionStringIter<'_> {
        OptionStringIter::new(self)
    }

    /// Keeps the first `len` values.
    pub fn truncate(&mut self, len: usize) {
        self.values.truncate(len);
        self.validity.truncate(len);
    }

    /// Removes every value, keeping the allocations.
    pub fn clear(&mut self) {
        self.truncate(0);
    }

    /// Room for `additional` more values.
    pub fn reserve(&mut self, additional: usize) {
        self.values.reserve(additional);
        self.validity.reserve(additional);
    }

    /// Frees unused capacity.
    pub fn shrink_to_fit(&mut self) {
        self.values.shrink_to_fit();
        self.validity.words.shrink_to_fit();
    }

    pub(super) fn rebuild<'a>(
        &self,
        values: impl Iterator<Item = Option<&'a str>>,
        rows: usize,
    ) -> Self {
        let mut out = Self::with_capacity(rows);
        out.values.reserve_bytes(self.values.bytes_len());
        for v in values {
            out.push_opt(v);
        }
        out
    }

    /// Removes the value at `index`; the last value takes its place. O(bytes after `index`).
    ///
    /// # Panics
    /// If `index >= self.len()`, like `Vec::swap_remove`.
    pub fn swap_remove(&mut self, index: usize) -> Option<String> {
        let len = self.len();
        assert!(
            index < len,
            "swap_remove index {index} out of bounds for a column of {len} values"
        );
        let removed = self.opt_at(index).map(str::to_owned);
        let last = len - 1;
        if index == last {
            self.truncate(last);
        } else {
            let moved = self.opt_at(last).map(str::to_owned);
            let rebuilt = self.rebuild(
                (0..last).map(|i| {
                    if i == index {
                        moved.as_deref()
                    } else {
                        self.opt_at(i)
                    }
                }),
                last,
            );
            *self = rebuilt;
        }
        removed
    }

    /// Moves every value of `other` to the end of `self`.
    pub fn append(&mut self, other: &mut Self) {
        self.values.append(&mut other.values);
        self.validity.append(&other.validity);
        other.clear();
    }

    /// The values at `indices`, in order (repeats allowed).
    ///
    /// # Panics
    /// If an index is out of bounds.
    #[must_use]
    pub fn take(&self, indices: &[usize]) -> Self {
        let len = self.len();
        self.rebuild(
            indices.iter().map(|&i| {
                assert!(
                    i < len,
                    "index {i} out of bounds for a column of {len} values"
                );
                self.opt_at(i)
            }),
            indices.len(),
        )
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
        self.rebuild(range.clone().map(|i| self.opt_at(i)), range.len())
    }
}

impl fmt::Debug for OptionStringColumn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl PartialEq for OptionStringColumn {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for OptionStringColumn {}

impl Hash for OptionStringColumn {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.len().hash(state);
        for v in self {
            v.hash(state);
        }
    }
}

impl<S: AsRef<str>> PartialEq<[Option<S>]> for OptionStringColumn {
    fn eq(&self, other: &[Option<S>]) -> bool {
        self.len() == other.len()
            && self
                .iter()
                .zip(other)
                .all(|(a, b)| a == b.as_ref().map(AsRef::as_ref))
    }
}

impl<S: AsRef<str>, const N: usize> PartialEq<[Option<S>; N]> for OptionStringColumn {
    fn eq(&self, other: &[Option<S>; N]) -> bool {
        *self == other[..]
    }
}

impl<S: AsRef<str>> PartialEq<Vec<Option<S>>> for OptionStringColumn {
    fn eq(&self, other: &Vec<Option<S>>) -> bool {
        *self == other[..]
    }
}

impl FromIterator<Option<String>> for OptionStringColumn {
    fn from_iter<I: IntoIterator<Item = Option<String>>>(iter: I) -> Self {
        let mut c = Self::new();
        c.extend(iter);
        c
    }
}

impl<'a> FromIterator<Option<&'a str>> for OptionStringColumn {
    fn from_iter<I: IntoIterator<Item = Option<&'a str>>>(iter: I) -> Self {
        let mut c = Self::new();
        c.extend(iter);
        c
    }
}

impl Extend<Option<String>> for OptionStringColumn {
    fn extend<I: IntoIterator<Item = Option<String>>>(&mut self, iter: I) {
        let iter = iter.into_iter();
        self.reserve(iter.size_hint().0);
        for v in iter {
            self.push_opt(v.as_deref());
        }
    }
}

impl<'a> Extend<Option<&'a str>> for OptionStringColumn {
    fn extend<I: IntoIterator<Item = Option<&'a str>>>(&mut self, iter: I) {
        let iter = iter.into_iter();
        self.reserve(iter.size_hint().0);
        for v in iter {
            self.push_opt(v);
        }
    }
}

impl From<Vec<Option<String>>> for OptionStringColumn {
    fn from(values: Vec<Option<String>>) -> Self {
        values.iter().map(Option::as_deref).collect()
    }
}

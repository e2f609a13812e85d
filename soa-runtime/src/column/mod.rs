//! Arrow-shaped columns: what `#[soa(arrow_layout)]` stores instead of a `Vec`.
//!
//! A `Vec<String>` column keeps one heap allocation per value. Arrow keeps all bytes of a string
//! column in one buffer plus an offsets buffer. Converting between the two costs one pass, one
//! allocation per value back, one `free` per value forth. Marking the field `#[soa(arrow_layout)]`
//! stores the column the Arrow way from the start:
//!
//! | field type       | column                  | `into_record_batch`            | scans             |
//! |------------------|-------------------------|--------------------------------|-------------------|
//! | `String`         | [`StringColumn`]        | **no copy** (offsets + bytes move) | contiguous bytes |
//! | `Option<String>` | [`OptionStringColumn`]  | **no copy** (+ validity bitmap move) | contiguous bytes |
//!
//! Reading back, `try_from_record_batch` takes over a uniquely owned, unsliced Utf8 array that
//! was built from a `Vec` (for example one made by `into_record_batch`) without copying; any
//! other Utf8 array is copied with two `memcpy`s (no allocation per value); other string types
//! (LargeUtf8, Utf8View, dictionaries) convert value by value.
//!
//! ```
//! use soa_runtime::{Soa, ToArrow};
//!
//! #[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
//! struct Trade {
//!     #[soa(arrow_layout)]
//!     symbol: String,
//!     #[soa(arrow_layout)]
//!     venue: Option<String>,
//!     price: f64,
//! }
//!
//! let mut trades = TradeSoA::new();
//! trades.push(Trade { symbol: "AAPL".into(), venue: None, price: 189.5 });
//! trades.push(Trade { symbol: "MSFT".into(), venue: Some("XNAS".into()), price: 410.0 });
//! assert_eq!(&trades.symbol[1], "MSFT");                    // a &str, no String behind it
//! assert_eq!(trades.venue.get(1), Some(Some("XNAS")));
//! assert_eq!(trades.symbol.iter().filter(|s| *s == "AAPL").count(), 1);
//!
//! let bytes = trades.symbol.as_bytes().as_ptr();
//! let batch = trades.into_record_batch()?;                  // the buffers move into Arrow
//! let symbols = batch.column(0).to_data();
//! assert_eq!(symbols.buffers()[1].as_ptr(), bytes);
//! # Ok::<(), soa_runtime::Error>(())
//! ```
//!
//! Operations that move values around (`swap_remove`, `retain`, `sort_by`) rebuild the byte
//! buffer: O(total bytes) instead of `Vec`'s O(rows) moves.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::{Index, Range};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, StringArray};
use arrow_buffer::{BooleanBuffer, Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::DataType;

use crate::error::FieldError;
use crate::field::{ArrowField, reject_nulls};

/// A field type that has an Arrow-shaped column, selected by `#[soa(arrow_layout)]`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no Arrow-shaped column for `#[soa(arrow_layout)]`",
    label = "`arrow_layout` needs `String` or `Option<String>`",
    note = "remove `#[soa(arrow_layout)]` to store this field in a `Vec`"
)]
pub trait ArrowLayout: ArrowField {
    /// The column type (`StringColumn` for `String`).
    type Column: Column<Self>;
}

impl ArrowLayout for String {
    type Column = StringColumn;
}

impl ArrowLayout for Option<String> {
    type Column = OptionStringColumn;
}

/// What the generated container needs from an Arrow-shaped column of `T` values.
///
/// The inherent methods of [`StringColumn`] and [`OptionStringColumn`] are the user-facing API;
/// this trait is how the generated code reaches them.
pub trait Column<T>:
    Default + Clone + fmt::Debug + PartialEq + FromIterator<T> + Extend<T> + IntoIterator<Item = T>
{
    /// A borrowed value (`&str` for strings).
    type Ref<'a>: Copy + fmt::Debug
    where
        Self: 'a;
    /// An empty column with room for `rows` values.
    fn with_capacity(rows: usize) -> Self;
    /// Number of values.
    fn len(&self) -> usize;
    /// `true` when empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Appends a value.
    fn push(&mut self, value: T);
    /// Appends a copy of a borrowed value (strings: their bytes, no `String` clone).
    fn push_ref(&mut self, value: &T);
    /// The value at `index`, borrowed.
    fn get(&self, index: usize) -> Option<Self::Ref<'_>>;
    /// An owned copy of a borrowed value.
    fn to_owned_value(value: Self::Ref<'_>) -> T;
    /// An owned copy of the value at `index`.
    ///
    /// # Panics
    /// If `index >= len`.
    fn value(&self, index: usize) -> T;
    /// Keeps the first `len` values.
    fn truncate(&mut self, len: usize);
    /// Removes every value, keeping the allocations.
    fn clear(&mut self);
    /// Room for `additional` more values.
    fn reserve(&mut self, additional: usize);
    /// Frees unused capacity.
    fn shrink_to_fit(&mut self);
    /// Removes the value at `index`, the last value takes its place.
    ///
    /// # Panics
    /// If `index >= len`.
    fn swap_remove(&mut self, index: usize) -> T;
    /// Keeps the values whose `keep` entry is `true` (missing entries keep).
    fn retain_mask(&mut self, keep: &[bool]);
    /// Reorders so that value `i` becomes the old value `perm[i]`.
    fn permute(&mut self, perm: &[usize]);
    /// The values at `indices`, in order.
    ///
    /// # Panics
    /// If an index is out of bounds.
    #[must_use]
    fn take(&self, indices: &[usize]) -> Self;
    /// A copy of the values in `range`.
    ///
    /// # Panics
    /// If the range is out of bounds.
    #[must_use]
    fn slice(&self, range: Range<usize>) -> Self;
    /// Moves every value of `other` to the end of `self`.
    fn append(&mut self, other: &mut Self);
    /// Builds an Arrow array, copying the buffers.
    ///
    /// # Errors
    /// When the column does not fit the Arrow type (more than 2 GiB of bytes for Utf8).
    fn to_array(&self) -> Result<ArrayRef, FieldError>;
    /// Builds an Arrow array by moving the buffers (no copy).
    ///
    /// # Errors
    /// As [`Column::to_array`].
    fn into_array(self) -> Result<ArrayRef, FieldError>;
    /// Reads a column back (same types and errors as the field's `ArrowField::from_array`).
    ///
    /// # Errors
    /// Type mismatch, unexpected null.
    fn from_array(array: &dyn Array) -> Result<Self, FieldError>;
    /// Reads an owned column back, taking its buffers over when possible.
    ///
    /// # Errors
    /// As [`Column::from_array`].
    fn from_array_owned(array: ArrayRef) -> Result<Self, FieldError> {
        Self::from_array(array.as_ref())
    }
    /// The column when a batch lacks it: all nulls for `Option`, `None` (an error) otherwise.
    fn absent(len: usize) -> Option<Self>;
}

// ---------------------------------------------------------------------------------------------
// Offsets: i32 (Arrow Utf8) until the bytes outgrow them, then i64.

#[derive(Clone)]
enum Offsets {
    /// Arrow Utf8 offsets; moves into a `StringArray` as is.
    Small(Vec<i32>),
    /// More than `i32::MAX` bytes: kept so pushing never fails; converting to Utf8 reports it.
    Large(Vec<i64>),
}

impl Offsets {
    fn with_capacity(values: usize) -> Self {
        let mut v = Vec::with_capacity(values.saturating_add(1));
        v.push(0);
        Offsets::Small(v)
    }

    #[inline]
    fn values(&self) -> usize {
        match self {
            Offsets::Small(v) => v.len() - 1,
            Offsets::Large(v) => v.len() - 1,
        }
    }

    /// Byte range of value `i` (`i < values()`).
    #[inline]
    fn range(&self, i: usize) -> Range<usize> {
        match self {
            // Offsets are never negative: they are built from `usize` lengths.
            Offsets::Small(v) => v[i] as usize..v[i + 1] as usize,
            Offsets::Large(v) => v[i] as usize..v[i + 1] as usize,
        }
    }

    #[inline]
    fn push(&mut self, end: usize) {
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

    fn truncate(&mut self, values: usize) {
        match self {
            Offsets::Small(v) => v.truncate(values + 1),
            Offsets::Large(v) => v.truncate(values + 1),
        }
    }

    /// End of the last value (the bytes in use).
    fn last(&self) -> usize {
        match self {
            Offsets::Small(v) => v.last().map_or(0, |&o| o as usize),
            Offsets::Large(v) => v.last().map_or(0, |&o| o as usize),
        }
    }

    fn reserve(&mut self, additional: usize) {
        match self {
            Offsets::Small(v) => v.reserve(additional),
            Offsets::Large(v) => v.reserve(additional),
        }
    }

    fn shrink_to_fit(&mut self) {
        match self {
            Offsets::Small(v) => v.shrink_to_fit(),
            Offsets::Large(v) => v.shrink_to_fit(),
        }
    }

    fn capacity(&self) -> usize {
        match self {
            Offsets::Small(v) => v.capacity() - 1,
            Offsets::Large(v) => v.capacity() - 1,
        }
    }
}

fn too_large(bytes: usize) -> FieldError {
    FieldError::OutOfRange(format!(
        "{bytes} bytes of strings exceed the 2 GiB limit of Arrow Utf8 offsets; split the container into smaller ones"
    ))
}

/// Offsets of a Utf8 array rebased to start at 0, and the bytes they cover.
fn copy_utf8(array: &StringArray) -> (Vec<i32>, Vec<u8>) {
    let offsets = array.value_offsets();
    let first = offsets.first().copied().unwrap_or(0);
    let last = offsets.last().copied().unwrap_or(0);
    let bytes = array.value_data()[first as usize..last as usize].to_vec();
    let offsets = if first == 0 {
        offsets.to_vec()
    } else {
        offsets.iter().map(|o| o - first).collect()
    };
    (offsets, bytes)
}

/// Offsets, bytes and validity taken over from a Utf8 array.
type Utf8Parts = (Vec<i32>, Vec<u8>, Option<NullBuffer>);

/// Takes the buffers of a uniquely owned, unsliced Utf8 array over; `Err` gives it back.
fn reclaim_utf8(array: StringArray) -> Result<Utf8Parts, StringArray> {
    let len = array.len();
    let (offsets, values, nulls) = array.into_parts();
    if offsets.first() != 0 {
        // SAFETY: the parts come from a valid array, unchanged.
        #[allow(unsafe_code)]
        return Err(unsafe { StringArray::new_unchecked(offsets, values, nulls) });
    }
    let end = offsets.last() as usize;
    let offsets_buffer = offsets.into_inner().into_inner();
    match offsets_buffer.into_vec::<i32>() {
        Ok(o) if o.len() == len + 1 => match values.into_vec::<u8>() {
            Ok(mut bytes) if bytes.len() >= end => {
                bytes.truncate(end);
                Ok((o, bytes, nulls))
            }
            Ok(bytes) => Err(rebuild(o, Buffer::from_vec(bytes), nulls)),
            Err(values) => Err(rebuild(o, values, nulls)),
        },
        Ok(o) => Err(rebuild(o, values, nulls)),
        Err(buffer) => {
            let offsets = ScalarBuffer::<i32>::new(buffer, 0, len + 1);
            // SAFETY: the parts come from a valid array, unchanged.
            #[allow(unsafe_code)]
            Err(unsafe {
                StringArray::new_unchecked(OffsetBuffer::new_unchecked(offsets), values, nulls)
            })
        }
    }
}

fn rebuild(offsets: Vec<i32>, values: Buffer, nulls: Option<NullBuffer>) -> StringArray {
    // SAFETY: the parts come from a valid array; only the container types changed.
    #[allow(unsafe_code)]
    unsafe {
        StringArray::new_unchecked(
            OffsetBuffer::new_unchecked(ScalarBuffer::from(offsets)),
            values,
            nulls,
        )
    }
}

// ---------------------------------------------------------------------------------------------
// StringColumn

/// A column of `String` values stored as Arrow does: one byte buffer plus offsets.
///
/// Used by `#[soa(arrow_layout)]` on a `String` field (see the [module docs](self)). Values are
/// read as `&str`: `col[i]`, [`get`](Self::get), [`iter`](Self::iter).
#[derive(Clone)]
pub struct StringColumn {
    offsets: Offsets,
    bytes: Vec<u8>,
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
    fn str_at(&self, index: usize) -> &str {
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
        StringIter {
            bytes: &self.bytes,
            offsets: match &self.offsets {
                Offsets::Small(o) => IterOffsets::Small(o),
                Offsets::Large(o) => IterOffsets::Large(o),
            },
        }
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

    fn retain_mask(&mut self, keep: &[bool]) {
        let mut out = Self::with_capacity_bytes(self.len(), self.bytes.len());
        for (i, s) in self.iter().enumerate() {
            if keep.get(i).copied().unwrap_or(true) {
                out.push_str(s);
            }
        }
        *self = out;
    }

    fn into_parts_checked(self) -> Result<(Vec<i32>, Vec<u8>), FieldError> {
        match self.offsets {
            Offsets::Small(offsets) => Ok((offsets, self.bytes)),
            Offsets::Large(_) => Err(too_large(self.bytes.len())),
        }
    }

    fn from_parts(offsets: Vec<i32>, bytes: Vec<u8>) -> Self {
        Self {
            offsets: Offsets::Small(offsets),
            bytes,
        }
    }

    fn utf8(offsets: Vec<i32>, bytes: Vec<u8>, nulls: Option<NullBuffer>) -> ArrayRef {
        // SAFETY: offsets start at 0, never decrease and end at `bytes.len()` (which fits i32:
        // the column is `Small`); `bytes` is valid UTF-8 at every offset (see `str_at`); the
        // validity, if any, has one bit per value (callers build it with the same length).
        #[allow(unsafe_code)]
        let array = unsafe {
            StringArray::new_unchecked(
                OffsetBuffer::new_unchecked(ScalarBuffer::from(offsets)),
                Buffer::from_vec(bytes),
                nulls,
            )
        };
        Arc::new(array)
    }
}

/// Iterator over the values of a [`StringColumn`].
#[derive(Debug, Clone)]
pub struct StringIter<'a> {
    bytes: &'a [u8],
    offsets: IterOffsets<'a>,
}

/// The offsets still to visit: value `i` spans `o[i]..o[i + 1]`.
#[derive(Debug, Clone)]
enum IterOffsets<'a> {
    Small(&'a [i32]),
    Large(&'a [i64]),
}

impl<'a> StringIter<'a> {
    #[inline]
    fn str_in(&self, range: Range<usize>) -> &'a str {
        debug_assert!(range.start <= range.end && range.end <= self.bytes.len());
        // SAFETY: the column's offsets never decrease and never exceed its byte length (every
        // constructor keeps that: `push_str` appends the end of what it wrote, arrays are copied
        // or taken over from valid Utf8 arrays with their offsets, `append` shifts by the byte
        // length it appends), so the range is in bounds; and every such range is valid UTF-8
        // (see `StringColumn::str_at`).
        #[allow(unsafe_code)]
        unsafe {
            std::str::from_utf8_unchecked(self.bytes.get_unchecked(range))
        }
    }
}

impl<'a> Iterator for StringIter<'a> {
    type Item = &'a str;

    #[inline]
    fn next(&mut self) -> Option<&'a str> {
        let range = match &mut self.offsets {
            IterOffsets::Small(o) => match **o {
                [start, end, ..] => {
                    *o = &o[1..];
                    start as usize..end as usize
                }
                _ => return None,
            },
            IterOffsets::Large(o) => match **o {
                [start, end, ..] => {
                    *o = &o[1..];
                    start as usize..end as usize
                }
                _ => return None,
            },
        };
        Some(self.str_in(range))
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = match self.offsets {
            IterOffsets::Small(o) => o.len().saturating_sub(1),
            IterOffsets::Large(o) => o.len().saturating_sub(1),
        };
        (n, Some(n))
    }
}

impl ExactSizeIterator for StringIter<'_> {}

impl DoubleEndedIterator for StringIter<'_> {
    #[inline]
    fn next_back(&mut self) -> Option<Self::Item> {
        let range = match &mut self.offsets {
            IterOffsets::Small(o) => match **o {
                [.., start, end] => {
                    *o = &o[..o.len() - 1];
                    start as usize..end as usize
                }
                _ => return None,
            },
            IterOffsets::Large(o) => match **o {
                [.., start, end] => {
                    *o = &o[..o.len() - 1];
                    start as usize..end as usize
                }
                _ => return None,
            },
        };
        Some(self.str_in(range))
    }
}

impl<'a> IntoIterator for &'a StringColumn {
    type Item = &'a str;
    type IntoIter = StringIter<'a>;
    fn into_iter(self) -> StringIter<'a> {
        self.iter()
    }
}

/// Owning iterator of a [`StringColumn`] (one `String` allocated per value).
#[derive(Debug)]
pub struct StringIntoIter {
    column: StringColumn,
    next: usize,
}

impl Iterator for StringIntoIter {
    type Item = String;
    fn next(&mut self) -> Option<String> {
        let s = self.column.get(self.next)?.to_owned();
        self.next += 1;
        Some(s)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.column.len() - self.next;
        (n, Some(n))
    }
}

impl ExactSizeIterator for StringIntoIter {}

impl IntoIterator for StringColumn {
    type Item = String;
    type IntoIter = StringIntoIter;
    fn into_iter(self) -> StringIntoIter {
        StringIntoIter {
            column: self,
            next: 0,
        }
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

impl Column<String> for StringColumn {
    type Ref<'a> = &'a str;

    fn with_capacity(rows: usize) -> Self {
        StringColumn::with_capacity(rows)
    }
    fn len(&self) -> usize {
        StringColumn::len(self)
    }
    fn push(&mut self, value: String) {
        self.push_str(&value);
    }
    fn push_ref(&mut self, value: &String) {
        self.push_str(value);
    }
    fn get(&self, index: usize) -> Option<&str> {
        StringColumn::get(self, index)
    }
    fn to_owned_value(value: &str) -> String {
        value.to_owned()
    }
    fn value(&self, index: usize) -> String {
        self[index].to_owned()
    }
    fn truncate(&mut self, len: usize) {
        StringColumn::truncate(self, len);
    }
    fn clear(&mut self) {
        StringColumn::clear(self);
    }
    fn reserve(&mut self, additional: usize) {
        StringColumn::reserve(self, additional);
    }
    fn shrink_to_fit(&mut self) {
        StringColumn::shrink_to_fit(self);
    }
    fn swap_remove(&mut self, index: usize) -> String {
        StringColumn::swap_remove(self, index)
    }
    fn retain_mask(&mut self, keep: &[bool]) {
        StringColumn::retain_mask(self, keep);
    }
    fn permute(&mut self, perm: &[usize]) {
        *self = self.take(perm);
    }
    fn take(&self, indices: &[usize]) -> Self {
        StringColumn::take(self, indices)
    }
    fn slice(&self, range: Range<usize>) -> Self {
        StringColumn::slice(self, range)
    }
    fn append(&mut self, other: &mut Self) {
        StringColumn::append(self, other);
    }

    fn to_array(&self) -> Result<ArrayRef, FieldError> {
        let (offsets, bytes) = self.clone().into_parts_checked()?;
        Ok(Self::utf8(offsets, bytes, None))
    }

    fn into_array(self) -> Result<ArrayRef, FieldError> {
        let (offsets, bytes) = self.into_parts_checked()?;
        Ok(Self::utf8(offsets, bytes, None))
    }

    fn from_array(array: &dyn Array) -> Result<Self, FieldError> {
        if array.data_type() != &DataType::Utf8 {
            return Ok(String::from_array(array)?.into());
        }
        reject_nulls(array, DataType::Utf8)?;
        let (offsets, bytes) = copy_utf8(array.as_string::<i32>());
        Ok(Self::from_parts(offsets, bytes))
    }

    fn from_array_owned(array: ArrayRef) -> Result<Self, FieldError> {
        if array.data_type() != &DataType::Utf8 {
            return Self::from_array(array.as_ref());
        }
        reject_nulls(array.as_ref(), DataType::Utf8)?;
        let typed = array.as_string::<i32>().clone();
        // Drop our handle first so the buffers can be uniquely owned by `typed`.
        drop(array);
        match reclaim_utf8(typed) {
            Ok((offsets, bytes, _)) => Ok(Self::from_parts(offsets, bytes)),
            Err(typed) => {
                let (offsets, bytes) = copy_utf8(&typed);
                Ok(Self::from_parts(offsets, bytes))
            }
        }
    }

    fn absent(_: usize) -> Option<Self> {
        None
    }
}

// ---------------------------------------------------------------------------------------------
// Validity bits

/// One bit per value, 1 = valid, packed as Arrow packs them (LSB first).
#[derive(Clone, Default)]
struct Validity {
    words: Vec<u64>,
    len: usize,
    nulls: usize,
}

impl Validity {
    #[inline]
    fn push(&mut self, valid: bool) {
        let bit = self.len % 64;
        if bit == 0 {
            self.words.push(0);
        }
        if valid {
            if let Some(w) = self.words.last_mut() {
                *w |= 1 << bit;
            }
        } else {
            self.nulls += 1;
        }
        self.len += 1;
    }

    #[inline]
    fn get(&self, i: usize) -> bool {
        self.words[i / 64] >> (i % 64) & 1 == 1
    }

    fn truncate(&mut self, len: usize) {
        if len >= self.len {
            return;
        }
        let removed_nulls = (len..self.len).filter(|&i| !self.get(i)).count();
        self.nulls -= removed_nulls;
        self.len = len;
        self.words.truncate(len.div_ceil(64));
        if !len.is_multiple_of(64)
            && let Some(w) = self.words.last_mut()
        {
            *w &= (1u64 << (len % 64)) - 1;
        }
    }

    /// Appends `other`'s bits: whole words when `self` ends on a word boundary.
    fn append(&mut self, other: &Validity) {
        if self.len.is_multiple_of(64) {
            self.words.truncate(self.len / 64);
            self.words.extend_from_slice(&other.words);
            self.len += other.len;
            self.nulls += other.nulls;
        } else {
            self.reserve(other.len);
            for i in 0..other.len {
                self.push(other.get(i));
            }
        }
    }

    fn reserve(&mut self, additional: usize) {
        let needed = (self.len + additional).div_ceil(64);
        self.words.reserve(needed.saturating_sub(self.words.len()));
    }

    fn into_nulls(self) -> Option<NullBuffer> {
        if self.nulls == 0 {
            return None;
        }
        let bits = BooleanBuffer::new(Buffer::from_vec(self.words), 0, self.len);
        // SAFETY: `nulls` counts the zero bits among the first `len`, maintained on every change.
        #[allow(unsafe_code)]
        Some(unsafe { NullBuffer::new_unchecked(bits, self.nulls) })
    }

    fn from_nulls(nulls: Option<&NullBuffer>, len: usize) -> Self {
        match nulls {
            None => {
                let mut words = vec![u64::MAX; len / 64];
                if !len.is_multiple_of(64) {
                    words.push((1u64 << (len % 64)) - 1);
                }
                Validity {
                    words,
                    len,
                    nulls: 0,
                }
            }
            Some(n) => {
                let chunks = n.inner().bit_chunks();
                let mut words: Vec<u64> = chunks.iter().collect();
                if chunks.remainder_len() > 0 {
                    words.push(chunks.remainder_bits());
                }
                Validity {
                    words,
                    len,
                    nulls: n.null_count(),
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// OptionStringColumn

/// A column of `Option<String>` values stored as Arrow does: bytes, offsets and a validity bitmap.
///
/// Used by `#[soa(arrow_layout)]` on an `Option<String>` field (see the [module docs](self)).
/// Values are read as `Option<&str>`: [`get`](Self::get), [`iter`](Self::iter).
#[derive(Clone, Default)]
pub struct OptionStringColumn {
    values: StringColumn,
    validity: Validity,
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
    fn opt_at(&self, index: usize) -> Option<&str> {
        self.validity.get(index).then(|| self.values.str_at(index))
    }

    /// Iterates over the values in order.
    pub fn iter(&self) -> OptionStringIter<'_> {
        OptionStringIter {
            column: self,
            next: 0,
            end: self.len(),
        }
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

    fn rebuild<'a>(&self, values: impl Iterator<Item = Option<&'a str>>, rows: usize) -> Self {
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

/// Iterator over the values of an [`OptionStringColumn`].
#[derive(Debug, Clone)]
pub struct OptionStringIter<'a> {
    column: &'a OptionStringColumn,
    next: usize,
    end: usize,
}

impl<'a> Iterator for OptionStringIter<'a> {
    type Item = Option<&'a str>;

    #[inline]
    fn next(&mut self) -> Option<Option<&'a str>> {
        if self.next < self.end {
            let s = self.column.opt_at(self.next);
            self.next += 1;
            Some(s)
        } else {
            None
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.end - self.next;
        (n, Some(n))
    }
}

impl ExactSizeIterator for OptionStringIter<'_> {}

impl<'a> IntoIterator for &'a OptionStringColumn {
    type Item = Option<&'a str>;
    type IntoIter = OptionStringIter<'a>;
    fn into_iter(self) -> OptionStringIter<'a> {
        self.iter()
    }
}

/// Owning iterator of an [`OptionStringColumn`].
#[derive(Debug)]
pub struct OptionStringIntoIter {
    column: OptionStringColumn,
    next: usize,
}

impl Iterator for OptionStringIntoIter {
    type Item = Option<String>;
    fn next(&mut self) -> Option<Option<String>> {
        let v = self.column.get(self.next)?.map(str::to_owned);
        self.next += 1;
        Some(v)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.column.len() - self.next;
        (n, Some(n))
    }
}

impl ExactSizeIterator for OptionStringIntoIter {}

impl IntoIterator for OptionStringColumn {
    type Item = Option<String>;
    type IntoIter = OptionStringIntoIter;
    fn into_iter(self) -> OptionStringIntoIter {
        OptionStringIntoIter {
            column: self,
            next: 0,
        }
    }
}

impl fmt::Debug for OptionStringColumn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl fmt::Debug for Validity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Validity({} values, {} nulls)", self.len, self.nulls)
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

impl Column<Option<String>> for OptionStringColumn {
    type Ref<'a> = Option<&'a str>;

    fn with_capacity(rows: usize) -> Self {
        OptionStringColumn::with_capacity(rows)
    }
    fn len(&self) -> usize {
        OptionStringColumn::len(self)
    }
    fn push(&mut self, value: Option<String>) {
        self.push_opt(value.as_deref());
    }
    fn push_ref(&mut self, value: &Option<String>) {
        self.push_opt(value.as_deref());
    }
    fn get(&self, index: usize) -> Option<Option<&str>> {
        OptionStringColumn::get(self, index)
    }
    fn to_owned_value(value: Option<&str>) -> Option<String> {
        value.map(str::to_owned)
    }
    fn value(&self, index: usize) -> Option<String> {
        let len = self.len();
        assert!(
            index < len,
            "index {index} out of bounds for a column of {len} values"
        );
        self.opt_at(index).map(str::to_owned)
    }
    fn truncate(&mut self, len: usize) {
        OptionStringColumn::truncate(self, len);
    }
    fn clear(&mut self) {
        OptionStringColumn::clear(self);
    }
    fn reserve(&mut self, additional: usize) {
        OptionStringColumn::reserve(self, additional);
    }
    fn shrink_to_fit(&mut self) {
        OptionStringColumn::shrink_to_fit(self);
    }
    fn swap_remove(&mut self, index: usize) -> Option<String> {
        OptionStringColumn::swap_remove(self, index)
    }
    fn retain_mask(&mut self, keep: &[bool]) {
        let kept = keep.iter().filter(|k| **k).count();
        let rebuilt = self.rebuild(
            self.iter()
                .enumerate()
                .filter(|(i, _)| keep.get(*i).copied().unwrap_or(true))
                .map(|(_, v)| v),
            kept,
        );
        *self = rebuilt;
    }
    fn permute(&mut self, perm: &[usize]) {
        *self = self.take(perm);
    }
    fn take(&self, indices: &[usize]) -> Self {
        OptionStringColumn::take(self, indices)
    }
    fn slice(&self, range: Range<usize>) -> Self {
        OptionStringColumn::slice(self, range)
    }
    fn append(&mut self, other: &mut Self) {
        OptionStringColumn::append(self, other);
    }

    fn to_array(&self) -> Result<ArrayRef, FieldError> {
        self.clone().into_array()
    }

    fn into_array(self) -> Result<ArrayRef, FieldError> {
        let (offsets, bytes) = self.values.into_parts_checked()?;
        Ok(StringColumn::utf8(
            offsets,
            bytes,
            self.validity.into_nulls(),
        ))
    }

    fn from_array(array: &dyn Array) -> Result<Self, FieldError> {
        if array.data_type() != &DataType::Utf8 {
            return Ok(Option::<String>::from_array(array)?.into());
        }
        let strings = array.as_string::<i32>();
        let (offsets, bytes) = copy_utf8(strings);
        Ok(Self {
            values: StringColumn::from_parts(offsets, bytes),
            validity: Validity::from_nulls(strings.nulls(), strings.len()),
        })
    }

    fn from_array_owned(array: ArrayRef) -> Result<Self, FieldError> {
        if array.data_type() != &DataType::Utf8 {
            return Self::from_array(array.as_ref());
        }
        let typed = array.as_string::<i32>().clone();
        drop(array);
        let len = typed.len();
        match reclaim_utf8(typed) {
            Ok((offsets, bytes, nulls)) => Ok(Self {
                values: StringColumn::from_parts(offsets, bytes),
                validity: Validity::from_nulls(nulls.as_ref(), len),
            }),
            Err(typed) => Self::from_array(&typed),
        }
    }

    fn absent(len: usize) -> Option<Self> {
        let mut c = Self::with_capacity(len);
        for _ in 0..len {
            c.push_opt(None);
        }
        Some(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_get_truncate_swap_remove() {
        let mut c: StringColumn = ["a", "", "ünï", "dd"].into_iter().collect();
        assert_eq!(c, ["a", "", "ünï", "dd"]);
        assert_eq!(c.get(2), Some("ünï"));
        assert_eq!(c.get(4), None);
        assert_eq!(c.iter().rev().collect::<Vec<_>>(), ["dd", "ünï", "", "a"]);
        assert_eq!(c.iter().len(), 4);
        let one: StringColumn = ["x"].into_iter().collect();
        assert_eq!(one.iter().next_back(), Some("x"));
        assert_eq!(StringColumn::new().iter().next(), None);
        assert_eq!(c.swap_remove(0), "a");
        assert_eq!(c, ["dd", "", "ünï"]);
        c.truncate(1);
        assert_eq!(c, ["dd"]);
        assert_eq!(c.bytes_len(), 2);
        c.clear();
        assert!(c.is_empty());
        assert_eq!(c.bytes_len(), 0);
    }

    #[test]
    fn take_slice_append_retain_permute() {
        let c: StringColumn = ["x", "yy", "zzz"].into_iter().collect();
        assert_eq!(c.take(&[2, 0, 2]), ["zzz", "x", "zzz"]);
        assert_eq!(c.slice(1..3), ["yy", "zzz"]);
        assert_eq!(c.slice(1..1), Vec::<&str>::new());
        let mut a = c.clone();
        let mut b = c.clone();
        a.append(&mut b);
        assert_eq!(a.len(), 6);
        assert!(b.is_empty());
        Column::retain_mask(&mut a, &[true, false, true, false, true, false]);
        assert_eq!(a, ["x", "zzz", "yy"]);
        Column::permute(&mut a, &[2, 0, 1]);
        assert_eq!(a, ["yy", "x", "zzz"]);
    }

    #[test]
    fn option_column_round_trip_and_validity() {
        let values: Vec<Option<&str>> = (0..130)
            .map(|i| (i % 3 != 0).then_some(if i % 2 == 0 { "even" } else { "é" }))
            .collect();
        let c: OptionStringColumn = values.iter().copied().collect();
        assert_eq!(
            c.null_count(),
            values.iter().filter(|v| v.is_none()).count()
        );
        assert!(c.iter().eq(values.iter().copied()));
        let array = c.clone().into_array().unwrap();
        assert_eq!(array.null_count(), c.null_count());
        let back = OptionStringColumn::from_array(array.as_ref()).unwrap();
        assert_eq!(back, c);
        let owned = OptionStringColumn::from_array_owned(array).unwrap();
        assert_eq!(owned, c);
        for split in [0, 1, 64, 65, 129] {
            let mut a: OptionStringColumn = values[..split].iter().copied().collect();
            let mut b: OptionStringColumn = values[split..].iter().copied().collect();
            a.append(&mut b);
            assert_eq!(a, c, "split at {split}");
            assert_eq!(a.null_count(), c.null_count());
            assert!(b.is_empty());
        }
        let mut t = c.clone();
        t.truncate(65);
        assert_eq!(
            t.null_count(),
            values[..65].iter().filter(|v| v.is_none()).count()
        );
        assert!(t.iter().eq(values[..65].iter().copied()));
        assert_eq!(c.take(&[0, 1]), [None, Some("é")]);
    }

    #[test]
    fn sliced_array_is_rebased() {
        let array = StringArray::from(vec!["aa", "b", "ccc", "dd"]);
        let sliced = array.slice(1, 2);
        let c = StringColumn::from_array(&sliced).unwrap();
        assert_eq!(c, ["b", "ccc"]);
        let owned = StringColumn::from_array_owned(Arc::new(sliced)).unwrap();
        assert_eq!(owned, ["b", "ccc"]);
    }

    #[test]
    fn into_array_moves_and_owned_read_reclaims() {
        let c: StringColumn = ["p", "qq"].into_iter().collect();
        let ptr = c.as_bytes().as_ptr();
        let array = Column::into_array(c).unwrap();
        assert_eq!(array.to_data().buffers()[1].as_ptr(), ptr);
        let back = StringColumn::from_array_owned(array).unwrap();
        assert_eq!(back.as_bytes().as_ptr(), ptr);
        assert_eq!(back, ["p", "qq"]);
    }

    #[test]
    fn nulls_in_required_column_are_an_error() {
        let array = StringArray::from(vec![Some("a"), None]);
        let err = StringColumn::from_array(&array).unwrap_err();
        assert!(
            matches!(err, FieldError::UnexpectedNull { row: 1, .. }),
            "{err}"
        );
    }

    #[test]
    fn large_offsets_switch_and_report() {
        let mut o = Offsets::with_capacity(1);
        o.push(i32::MAX as usize + 10);
        assert!(matches!(o, Offsets::Large(_)));
        assert_eq!(o.range(0), 0..i32::MAX as usize + 10);
    }
}

//! Iterators over the string columns: borrowed ([`StringIter`], [`OptionStringIter`]) and owning
//! ([`StringIntoIter`], [`OptionStringIntoIter`]), and the `IntoIterator` impls that return them.

use std::ops::Range;

use super::offsets::Offsets;
use super::{OptionStringColumn, StringColumn};

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
    pub(super) fn new(bytes: &'a [u8], offsets: &'a Offsets) -> Self {
        StringIter {
            bytes,
            offsets: match offsets {
                Offsets::Small(o) => IterOffsets::Small(o),
                Offsets::Large(o) => IterOffsets::Large(o),
            },
        }
    }

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
    #[inline]
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

/// Iterator over the values of an [`OptionStringColumn`].
#[derive(Debug, Clone)]
pub struct OptionStringIter<'a> {
    column: &'a OptionStringColumn,
    next: usize,
    end: usize,
}

impl<'a> OptionStringIter<'a> {
    #[inline]
    pub(super) fn new(column: &'a OptionStringColumn) -> Self {
        OptionStringIter {
            column,
            next: 0,
            end: column.len(),
        }
    }
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
    #[inline]
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

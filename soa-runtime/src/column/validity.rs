//! The validity bitmap of an [`OptionStringColumn`](super::OptionStringColumn): one bit per value,
//! packed as Arrow packs it, so it moves into a `NullBuffer` without a copy.

use std::fmt;

use arrow_buffer::{BooleanBuffer, Buffer, NullBuffer};

/// One bit per value, 1 = valid, packed as Arrow packs them (LSB first).
#[derive(Clone, Default)]
pub(super) struct Validity {
    pub(super) words: Vec<u64>,
    len: usize,
    pub(super) nulls: usize,
}

impl Validity {
    #[inline]
    pub(super) fn push(&mut self, valid: bool) {
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
    pub(super) fn get(&self, i: usize) -> bool {
        self.words[i / 64] >> (i % 64) & 1 == 1
    }

    pub(super) fn truncate(&mut self, len: usize) {
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
    pub(super) fn append(&mut self, other: &Validity) {
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

    pub(super) fn reserve(&mut self, additional: usize) {
        let needed = (self.len + additional).div_ceil(64);
        self.words.reserve(needed.saturating_sub(self.words.len()));
    }

    pub(super) fn into_nulls(self) -> Option<NullBuffer> {
        if self.nulls == 0 {
            return None;
        }
        let bits = BooleanBuffer::new(Buffer::from_vec(self.words), 0, self.len);
        // SAFETY: `nulls` counts the zero bits among the first `len`, maintained on every change.
        #[allow(unsafe_code)]
        Some(unsafe { NullBuffer::new_unchecked(bits, self.nulls) })
    }

    pub(super) fn from_nulls(nulls: Option<&NullBuffer>, len: usize) -> Self {
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

impl fmt::Debug for Validity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Validity({} values, {} nulls)", self.len, self.nulls)
    }
}

//! The Structure-of-Arrays traits implemented by `#[derive(Soa)]`.

use core::ops::ControlFlow;

/// A row type with a Structure-of-Arrays container, implemented by `#[derive(Soa)]`.
///
/// ```
/// use soa_runtime::{Soa, SoaColumns};
///
/// #[derive(Soa, Debug, Clone, PartialEq)]
/// struct Tick { price: f64, size: u32 }
///
/// let mut ticks = TickSoA::new();
/// ticks.push(Tick { price: 10.5, size: 3 });
/// ticks.push(Tick { price: 10.25, size: 7 });
/// assert_eq!(ticks.price, [10.5, 10.25]);      // a column is a plain Vec
/// assert_eq!(ticks.row(1), Tick { price: 10.25, size: 7 });
/// fn generic<T: Soa>(cols: &T::Columns) -> usize { cols.len() }
/// assert_eq!(generic::<Tick>(&ticks), 2);
/// ```
pub trait Soa: Sized {
    /// The generated container (`OrderSoA` for `Order`).
    type Columns: SoaColumns<Row = Self>;
}

/// What generic code (the stores) needs from a generated container. Each method forwards to the
/// inherent method of the same name.
pub trait SoaColumns: Default + Extend<Self::Row> + FromIterator<Self::Row> + Sized {
    /// The row type (`Order` for `OrderSoA`).
    type Row;
    /// Number of rows.
    fn len(&self) -> usize;
    /// `true` when there are no rows.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Appends one row.
    fn push(&mut self, row: Self::Row);
    /// Removes every row, keeping the allocations.
    fn clear(&mut self);
    /// Reserves room for `additional` more rows in every column.
    fn reserve(&mut self, additional: usize);
    /// Moves every row out, in order.
    fn into_rows(self) -> Vec<Self::Row>;
    /// Moves every row out, in order, onto the end of `out` (no intermediate `Vec`).
    fn move_rows_into(self, out: &mut Vec<Self::Row>) {
        out.extend(self.into_rows());
    }
    /// Appends every row of `other`, moving them.
    fn append(&mut self, other: &mut Self);
}

/// Appends at most `n` values to `out`, `next(i)` making the `i`-th (from 0), and stops at the
/// first [`ControlFlow::Break`], returning its value (`None` when all `n` were appended). The
/// generated `move_rows_into` and `rows_from_record_batch` build their rows with it.
///
/// Each value is written straight into memory reserved once for all `n`: a loop of `push`es
/// checks the capacity per row and builds each row on the stack before copying it (measured on
/// 1M orders from a record batch: 99 ms through `push`, 96 ms written in place, 92 ms for the
/// hand-written `collect`).
///
/// If `next` panics, the values already written are leaked (never dropped twice) and `out` keeps
/// its previous length.
#[doc(hidden)]
pub fn extend_rows<T, B>(
    out: &mut Vec<T>,
    n: usize,
    mut next: impl FnMut(usize) -> ControlFlow<B, T>,
) -> Option<B> {
    out.reserve(n);
    let start = out.len();
    let mut written = 0;
    let mut stopped = None;
    for (i, slot) in out.spare_capacity_mut()[..n].iter_mut().enumerate() {
        match next(i) {
            ControlFlow::Continue(value) => {
                slot.write(value);
                written = i + 1;
            }
            ControlFlow::Break(b) => {
                stopped = Some(b);
                break;
            }
        }
    }
    // SAFETY: `reserve(n)` made room for `start + n` values; the `written` slots after `start`
    // were initialised above, in order, and nothing else touched `out` since.
    #[allow(unsafe_code)]
    unsafe {
        out.set_len(start + written)
    };
    stopped
}

/// Reorders `column` so that `column[i]` becomes the old `column[perm[i]]`, in place, by swaps.
///
/// `perm` must be a permutation of `0..column.len()` (the generated `sort_by` builds one). Each
/// element moves along its cycle once, so the cost is O(n) swaps and no clone.
#[doc(hidden)]
pub fn apply_permutation<T>(column: &mut [T], perm: &[usize], visited: &mut Vec<bool>) {
    visited.clear();
    visited.resize(column.len(), false);
    for start in 0..column.len() {
        if visited[start] {
            continue;
        }
        visited[start] = true;
        let mut current = start;
        loop {
            let source = perm[current];
            if source == start || visited[source] {
                break;
            }
            column.swap(current, source);
            visited[source] = true;
            current = source;
        }
    }
}

/// Keeps the elements whose entry in `keep` is `true`.
#[doc(hidden)]
pub fn retain_by_mask<T>(column: &mut Vec<T>, keep: &[bool]) {
    let mut index = 0;
    column.retain(|_| {
        let k = keep.get(index).copied().unwrap_or(true);
        index += 1;
        k
    });
}

/// Resolves a range against a length like slice indexing does.
///
/// # Panics
/// Like `&v[range]`, when the range is out of bounds or decreasing.
#[doc(hidden)]
pub fn resolve_range(
    range: impl std::ops::RangeBounds<usize>,
    len: usize,
) -> std::ops::Range<usize> {
    use std::ops::Bound;
    let start = match range.start_bound() {
        Bound::Included(&s) => s,
        Bound::Excluded(&s) => s.saturating_add(1),
        Bound::Unbounded => 0,
    };
    let end = match range.end_bound() {
        Bound::Included(&e) => e.saturating_add(1),
        Bound::Excluded(&e) => e,
        Bound::Unbounded => len,
    };
    assert!(
        start <= end && end <= len,
        "range {start}..{end} out of bounds for a container of {len} rows"
    );
    start..end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extend_rows_appends_in_order_and_stops_at_break() {
        let mut out = vec!["a".to_owned()];
        let mut source = ["b", "c", "d"].into_iter();
        let stopped: Option<()> = extend_rows(&mut out, 5, |_| match source.next() {
            Some(s) => ControlFlow::Continue(s.to_owned()),
            None => ControlFlow::Break(()),
        });
        assert_eq!(stopped, Some(()));
        assert_eq!(out, ["a", "b", "c", "d"]);

        let stopped = extend_rows(&mut out, 3, |i| {
            if i < 2 {
                ControlFlow::Continue(format!("x{i}"))
            } else {
                ControlFlow::Break(i)
            }
        });
        assert_eq!(stopped, Some(2));
        assert_eq!(out, ["a", "b", "c", "d", "x0", "x1"]);

        let stopped: Option<()> =
            extend_rows(&mut out, 2, |i| ControlFlow::Continue(i.to_string()));
        assert_eq!(stopped, None);
        assert_eq!(out.len(), 8);
        assert_eq!(out[6..], ["0", "1"]);

        let stopped: Option<()> = extend_rows(&mut out, 0, |_| unreachable!());
        assert_eq!((stopped, out.len()), (None, 8));
    }

    #[test]
    fn extend_rows_keeps_the_length_when_next_panics() {
        let mut out = vec![String::from("kept")];
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _: Option<()> = extend_rows(&mut out, 3, |i| {
                assert!(i < 1, "boom");
                ControlFlow::Continue(String::from("leaked"))
            });
        }));
        assert!(result.is_err());
        assert_eq!(out, ["kept"]);
        out.push("usable".into());
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn permutation_matches_gather() {
        let perms: &[&[usize]] = &[
            &[],
            &[0],
            &[1, 0],
            &[2, 0, 1],
            &[1, 2, 0],
            &[3, 1, 0, 2, 5, 4],
        ];
        for perm in perms {
            let original: Vec<usize> = (0..perm.len()).map(|i| i * 10).collect();
            let expected: Vec<usize> = perm.iter().map(|&p| original[p]).collect();
            let mut col = original.clone();
            apply_permutation(&mut col, perm, &mut Vec::new());
            assert_eq!(col, expected, "perm {perm:?}");
        }
    }

    #[test]
    fn retain_mask() {
        let mut v = vec![1, 2, 3, 4];
        retain_by_mask(&mut v, &[true, false, false, true]);
        assert_eq!(v, [1, 4]);
    }
}

//! The Structure-of-Arrays traits implemented by `#[derive(Soa)]`.

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

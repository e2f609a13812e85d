use std::sync::Arc;

use arrow_array::{Array, StringArray};

use super::offsets::Offsets;
use super::{Column, OptionStringColumn, StringColumn};
use crate::error::FieldError;

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

/// `count_eq` / `positions_eq` agree with the iterator's `==` for needles of every length
/// around the one-word path (0..=12 bytes), values at the very end of the byte buffer (the
/// word read there is short), multi-byte text, prefixes and extensions of the needle, nulls.
#[test]
fn count_eq_matches_the_iterator() {
    let mut values: Vec<String> = Vec::new();
    let alphabet = ["a", "b", "é", "AAPL", "", "x"];
    let mut state = 7u64;
    for _ in 0..2_000 {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let parts = (state >> 60) as usize;
        let mut s = String::new();
        for k in 0..parts {
            s.push_str(alphabet[((state >> (8 * k % 56)) as usize) % alphabet.len()]);
        }
        values.push(s);
    }
    let needles = [
        "",
        "a",
        "b",
        "é",
        "ab",
        "AAPL",
        "AAPLa",
        "aaaaaaa",
        "aaaaaaaa",
        "aaaaaaaaa",
        "AAPLAAPL",
        "AAPLAAPLx",
        "éééééé",
        "xé",
        "zz",
    ];
    // Every prefix of the values: the last value ends the byte buffer at every length.
    for take in [0, 1, 2, 3, 17, values.len()] {
        let column: StringColumn = values[..take].iter().map(String::as_str).collect();
        let optional: OptionStringColumn = values[..take]
            .iter()
            .enumerate()
            .map(|(i, v)| (i % 5 != 3).then_some(v.as_str()))
            .collect();
        let mut extra: Vec<&str> = needles.to_vec();
        extra.extend(values[..take.min(40)].iter().map(String::as_str));
        for needle in extra {
            let expected: Vec<usize> = (0..take).filter(|&i| values[i] == needle).collect();
            assert_eq!(
                column.count_eq(needle),
                expected.len(),
                "{needle:?} in {take}"
            );
            assert_eq!(
                column.positions_eq(needle),
                expected,
                "{needle:?} in {take}"
            );
            let expected: Vec<usize> = (0..take)
                .filter(|&i| optional.get(i) == Some(Some(needle)))
                .collect();
            assert_eq!(
                optional.count_eq(needle),
                expected.len(),
                "{needle:?} in {take}"
            );
            assert_eq!(
                optional.positions_eq(needle),
                expected,
                "{needle:?} in {take}"
            );
        }
    }
}

//! `sort_by_key` cannot sort by a string borrowed from the row view (its key may not borrow
//! from the view), so a string key had to be cloned per row. `sort_by_ref_key` takes a key
//! borrowed from the view: `&str` from a `String` field, or an `arrow_layout` field's `&str`.

use soa_runtime::Soa;

#[derive(Soa, Debug, Clone, PartialEq)]
pub struct Ticker {
    pub venue: String,
    pub seq: u32,
}

#[derive(Soa, Debug, Clone, PartialEq)]
pub struct Quote {
    #[soa(arrow_layout)]
    pub venue: String,
    #[soa(arrow_layout)]
    pub memo: Option<String>,
    pub seq: u32,
}

#[derive(Soa, Debug, Clone, PartialEq)]
pub struct Tagged<T> {
    pub tag: Vec<u8>,
    pub value: T,
}

fn venues() -> [&'static str; 5] {
    ["XLON", "BATS", "XLON", "ARCA", "BATS"]
}

#[test]
fn string_field_sorted_by_borrowed_str() {
    let mut soa: TickerSoA = venues()
        .iter()
        .zip(0..)
        .map(|(v, seq)| Ticker {
            venue: (*v).to_owned(),
            seq,
        })
        .collect();
    soa.sort_by_ref_key(|r| r.venue.as_str());
    assert_eq!(soa.venue, ["ARCA", "BATS", "BATS", "XLON", "XLON"]);
    assert_eq!(
        soa.seq,
        [3, 1, 4, 0, 2],
        "stable: equal keys keep their order"
    );
}

#[test]
fn arrow_layout_field_sorted_by_its_str() {
    let mut soa: QuoteSoA = venues()
        .iter()
        .zip(0..)
        .map(|(v, seq)| Quote {
            venue: (*v).to_owned(),
            memo: (seq % 2 == 0).then(|| format!("m{seq}")),
            seq,
        })
        .collect();
    soa.sort_by_ref_key(|r| r.venue);
    let sorted: Vec<&str> = soa.venue.iter().collect();
    assert_eq!(sorted, ["ARCA", "BATS", "BATS", "XLON", "XLON"]);
    assert_eq!(soa.seq, [3, 1, 4, 0, 2]);
    let memos: Vec<Option<&str>> = soa.iter().map(|r| r.memo).collect();
    assert_eq!(memos, [None, None, Some("m4"), Some("m0"), Some("m2")]);

    // By the sequence number, through a borrowed `&u32`.
    soa.sort_by_ref_key(|r| r.seq);
    assert_eq!(soa.seq, [0, 1, 2, 3, 4]);
    assert_eq!(soa.row(3).venue, "ARCA");
}

#[test]
fn generic_struct_sorted_by_borrowed_slice() {
    let mut soa: TaggedSoA<f32> = vec![
        Tagged {
            tag: vec![2, 1],
            value: 0.5,
        },
        Tagged {
            tag: vec![1],
            value: 1.5,
        },
        Tagged {
            tag: vec![],
            value: 2.5,
        },
    ]
    .into();
    soa.sort_by_ref_key(|r| r.tag.as_slice());
    assert_eq!(soa.value, [2.5, 1.5, 0.5]);
}

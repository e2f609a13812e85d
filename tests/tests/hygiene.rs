//! Hygiene: the derives expand in a module that shadows the prelude and the standard crates
//! (`Vec`, `Option`, `Result`, `String`, `Some`, `None`, `Ok`, `Err`, `Box`, `std`, `core`, the
//! common macros and the prelude traits). The generated code must only use absolute paths
//! (`::core::..`, `::std::..`) or the runtime's `__private` re-exports, so it compiles here and
//! round-trips through a `RecordBatch` like anywhere else.

// Every name a careless expansion would pick up from the caller's scope is something else here.
#[allow(dead_code, unused_macros, non_camel_case_types, clippy::all)]
mod shadowed {
    macro_rules! vec {
        ($($t:tt)*) => {
            compile_error!("the generated code used the caller's `vec!`")
        };
    }
    macro_rules! format {
        ($($t:tt)*) => {
            compile_error!("the generated code used the caller's `format!`")
        };
    }
    macro_rules! panic {
        ($($t:tt)*) => {
            compile_error!("the generated code used the caller's `panic!`")
        };
    }
    macro_rules! assert {
        ($($t:tt)*) => {
            compile_error!("the generated code used the caller's `assert!`")
        };
    }
    macro_rules! unreachable {
        ($($t:tt)*) => {
            compile_error!("the generated code used the caller's `unreachable!`")
        };
    }
    macro_rules! matches {
        ($($t:tt)*) => {
            compile_error!("the generated code used the caller's `matches!`")
        };
    }

    mod std {}
    mod core {}
    mod alloc {}
    pub struct Vec;
    pub struct Option;
    pub type Result = ();
    pub struct String;
    pub struct Box;
    pub struct Some;
    pub struct None;
    pub struct Ok;
    pub struct Err;
    pub struct Arc;
    pub struct HashMap;
    pub struct Iterator;
    pub struct IntoIterator;
    pub struct FromIterator;
    pub struct Extend;
    pub struct Default;
    pub struct From;
    pub struct Into;
    pub struct ToString;
    pub struct ToOwned;
    pub struct AsRef;
    pub struct Fn;
    pub struct FnMut;
    pub struct Sized;
    pub struct Send;
    pub struct Sync;
    pub struct Clone;
    pub struct Copy;
    pub struct PartialEq;
    pub struct PartialOrd;
    pub struct Ord;
    pub struct Eq;
    pub struct Drop;
    pub struct usize;
    pub struct bool;
    pub struct str;

    #[derive(::soa_runtime::Soa, ::soa_runtime::ToArrow, Debug, Clone, Copy, PartialEq)]
    pub enum Side {
        Buy,
        Sell,
    }

    #[derive(::soa_runtime::Soa, ::soa_runtime::ToArrow, Debug, Clone, PartialEq)]
    pub enum Event {
        Idle,
        Trade {
            price: f64,
            venue: ::core::option::Option<::std::string::String>,
        },
        Note(::std::string::String, u8),
    }

    #[derive(::soa_runtime::Soa, ::soa_runtime::ToArrow, Debug, Clone, PartialEq)]
    pub struct Geo {
        pub lat: f64,
        pub lon: f64,
    }

    #[derive(::soa_runtime::Soa, ::soa_runtime::ToArrow, Debug, Clone, PartialEq)]
    #[soa(rename_all = "camelCase", metadata(owner = "desk"))]
    pub struct Order {
        pub order_id: u64,
        #[soa(arrow_layout)]
        pub symbol: ::std::string::String,
        #[soa(arrow_layout)]
        pub note: ::core::option::Option<::std::string::String>,
        pub side: Side,
        pub event: Event,
        pub maybe_side: ::core::option::Option<Side>,
        pub tags: ::std::vec::Vec<::std::string::String>,
        pub boxed: ::std::boxed::Box<u32>,
        pub place: Geo,
        #[soa(flatten)]
        pub origin: Geo,
        #[soa(dictionary)]
        pub book: ::std::string::String,
        #[soa(timestamp = "ms")]
        pub ts: i64,
        #[soa(rename = "fee")]
        pub gross_fee: ::core::option::Option<f64>,
        #[soa(skip)]
        pub scratch: ::std::vec::Vec<u8>,
        #[soa(default)]
        pub added_later: u32,
    }

    /// Fields named like the generated code's locals and parameters.
    #[derive(::soa_runtime::Soa, ::soa_runtime::ToArrow, Debug, Clone, PartialEq)]
    pub struct Awkward {
        pub out: u32,
        pub len: ::std::string::String,
        pub index: u64,
        pub other: ::core::option::Option<i8>,
    }

    #[derive(::soa_runtime::Soa, ::soa_runtime::ToArrow, Debug, Clone, PartialEq)]
    pub struct Point<T>
    where
        T: ::core::marker::Copy,
    {
        pub x: T,
        pub ys: ::std::vec::Vec<T>,
    }
}

use shadowed::{Awkward, AwkwardSoA, Event, Geo, Order, OrderSoA, Point, PointSoA, Side};
use soa_runtime::ToArrow;

fn orders() -> Vec<Order> {
    (0..5u32)
        .map(|i| Order {
            order_id: u64::from(i) * 10,
            symbol: format!("SYM{i}"),
            note: (i % 2 == 0).then(|| format!("note {i}")),
            side: if i % 3 == 0 { Side::Buy } else { Side::Sell },
            event: match i % 3 {
                0 => Event::Idle,
                1 => Event::Trade {
                    price: f64::from(i) / 4.0,
                    venue: Some("XPAR".to_owned()),
                },
                _ => Event::Note("n".repeat(i as usize), i as u8),
            },
            maybe_side: (i % 2 == 1).then_some(Side::Sell),
            tags: (0..i).map(|t| t.to_string()).collect(),
            boxed: Box::new(i * 7),
            place: Geo {
                lat: f64::from(i),
                lon: -f64::from(i),
            },
            origin: Geo {
                lat: 0.5,
                lon: f64::from(i) + 0.25,
            },
            book: if i < 3 { "main" } else { "side" }.to_owned(),
            ts: 1_700_000_000_000 + i64::from(i),
            gross_fee: (i != 4).then_some(f64::from(i) * 0.01),
            scratch: Vec::new(),
            added_later: i,
        })
        .collect()
}

#[test]
fn derives_compile_and_round_trip_under_a_shadowed_prelude() {
    let rows = orders();
    let soa: OrderSoA = rows.clone().into_iter().collect();
    assert_eq!(soa.len(), 5);
    assert_eq!(&soa.symbol[3], "SYM3");
    assert_eq!(soa.get(2).map(|r| r.to_owned_row()), Some(rows[2].clone()));

    let schema = OrderSoA::schema();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(
        names,
        [
            "orderId",
            "symbol",
            "note",
            "side",
            "event",
            "maybeSide",
            "tags",
            "boxed",
            "place",
            "origin_lat",
            "origin_lon",
            "book",
            "ts",
            "fee",
            "addedLater",
        ]
    );

    let batch = soa.to_record_batch().unwrap();
    assert_eq!(batch.num_rows(), 5);
    let back = OrderSoA::from_record_batch(&batch).unwrap();
    assert_eq!(back.into_rows(), rows);

    let owned = soa.into_record_batch().unwrap();
    let again = OrderSoA::try_from_record_batch(owned).unwrap();
    assert_eq!(again.into_rows(), rows);
}

#[test]
fn generic_struct_under_a_shadowed_prelude() {
    let rows = vec![
        Point {
            x: 1.5f64,
            ys: vec![1.0, 2.0],
        },
        Point {
            x: -3.0,
            ys: vec![],
        },
    ];
    let soa: PointSoA<f64> = rows.clone().into_iter().collect();
    let batch = soa.to_record_batch().unwrap();
    let back = PointSoA::<f64>::from_record_batch(&batch).unwrap();
    assert_eq!(back.into_rows(), rows);
}

#[test]
fn fields_named_like_generated_locals() {
    let rows: Vec<Awkward> = (0..5u32)
        .map(|i| Awkward {
            out: i,
            len: format!("l{i}"),
            index: u64::from(i) * 2,
            other: (i % 2 == 0).then_some(-1),
        })
        .collect();
    let soa: AwkwardSoA = rows.clone().into_iter().collect();
    assert_eq!(soa.len(), 5);
    let batch = soa.to_record_batch().unwrap();
    assert_eq!(AwkwardSoA::rows_from_record_batch(&batch).unwrap(), rows);
    let mut out = vec![rows[0].clone()];
    AwkwardSoA::from_record_batch(&batch)
        .unwrap()
        .move_rows_into(&mut out);
    assert_eq!(out.len(), 6);
    assert_eq!(out[1..], rows[..]);
    assert_eq!(soa.into_rows(), rows);
}

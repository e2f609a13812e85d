//! Typed predicates (`Order::col()`, `soa_runtime::predicate`) and the stores' `load_where`,
//! `scan_where`, `load_columns_where`: the rows returned equal `load()` followed by keeping the
//! rows the predicate holds for (SQL semantics for nulls), checked on fixed cases and by property
//! tests over random predicates and data on `ArrowStore`, `ParquetStore` (and `DeltaStore` with
//! the `delta` feature).

use futures::StreamExt;
use proptest::prelude::*;
use soa_runtime::predicate::Predicate;
use soa_runtime::prelude::*;
use soa_tests::{Order, OrderSoA, Side, orders};

// ---------------------------------------------------------------------------------------------
// A predicate grammar with two meanings: a `Predicate<Order>` and a Rust evaluation on rows.

#[derive(Debug, Clone)]
enum Value {
    Id(u64),
    Qty(u32),
    Price(f64),
    Symbol(String),
    Side(Side),
    Note(String),
    Ts(i64),
    Filled(bool),
}

#[derive(Debug, Clone, Copy)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone)]
enum P {
    Cmp(Op, Value),
    Between(Value, Value),
    In(Vec<Value>),
    NoteNull(bool),
    SymbolStarts(String),
    NoteStarts(String),
    And(Box<P>, Box<P>),
    Or(Box<P>, Box<P>),
    Not(Box<P>),
}

fn build(p: &P) -> Predicate<Order> {
    let c = Order::col();
    macro_rules! cmp {
        ($col:expr, $op:expr, $v:expr) => {
            match $op {
                Op::Eq => $col.eq($v),
                Op::Ne => $col.ne($v),
                Op::Lt => $col.lt($v),
                Op::Le => $col.le($v),
                Op::Gt => $col.gt($v),
                Op::Ge => $col.ge($v),
            }
        };
    }
    match p {
        P::Cmp(op, v) => match v.clone() {
            Value::Id(x) => cmp!(c.order_id, op, x),
            Value::Qty(x) => cmp!(c.quantity, op, x),
            Value::Price(x) => cmp!(c.unit_price, op, x),
            Value::Symbol(x) => cmp!(c.symbol, op, x),
            Value::Side(x) => cmp!(c.side, op, x),
            Value::Note(x) => cmp!(c.note, op, x),
            Value::Ts(x) => cmp!(c.ts_micros, op, x),
            Value::Filled(x) => cmp!(c.filled, op, x),
        },
        P::Between(lo, hi) => match (lo.clone(), hi.clone()) {
            (Value::Id(a), Value::Id(b)) => c.order_id.between(a, b),
            (Value::Qty(a), Value::Qty(b)) => c.quantity.between(a, b),
            (Value::Symbol(a), Value::Symbol(b)) => c.symbol.between(a, b),
            (Value::Ts(a), Value::Ts(b)) => c.ts_micros.between(a, b),
            _ => c.order_id.ge(0),
        },
        P::In(values) => {
            let ids: Vec<u64> = values
                .iter()
                .filter_map(|v| match v {
                    Value::Id(x) => Some(*x),
                    _ => None,
                })
                .collect();
            let symbols: Vec<String> = values
                .iter()
                .filter_map(|v| match v {
                    Value::Symbol(x) => Some(x.clone()),
                    _ => None,
                })
                .collect();
            if symbols.is_empty() {
                c.order_id.is_in(ids)
            } else {
                c.symbol.is_in(symbols)
            }
        }
        P::NoteNull(true) => c.note.is_null(),
        P::NoteNull(false) => c.note.is_not_null(),
        P::SymbolStarts(s) => c.symbol.starts_with(s.clone()),
        P::NoteStarts(s) => c.note.starts_with(s.clone()),
        P::And(a, b) => build(a) & build(b),
        P::Or(a, b) => build(a) | build(b),
        P::Not(a) => !build(a),
    }
}

fn ord<T: PartialOrd>(op: Op, a: T, b: T) -> bool {
    match op {
        Op::Eq => a == b,
        Op::Ne => a != b,
        Op::Lt => a < b,
        Op::Le => a <= b,
        Op::Gt => a > b,
        Op::Ge => a >= b,
    }
}

/// Kleene logic: `None` is unknown (a comparison with a null).
fn holds(p: &P, r: &Order) -> Option<bool> {
    match p {
        P::Cmp(op, v) => match v {
            Value::Id(x) => Some(ord(*op, r.order_id, *x)),
            Value::Qty(x) => Some(ord(*op, r.quantity, *x)),
            Value::Price(x) => Some(ord(*op, r.unit_price, *x)),
            Value::Symbol(x) => Some(ord(*op, r.symbol.as_str(), x.as_str())),
            // Enums compare by variant name (the stored dictionary values).
            Value::Side(x) => Some(ord(*op, side_name(r.side), side_name(*x))),
            Value::Note(x) => r.note.as_ref().map(|n| ord(*op, n.as_str(), x.as_str())),
            Value::Ts(x) => Some(ord(*op, r.ts_micros, *x)),
            Value::Filled(x) => Some(ord(*op, r.filled, *x)),
        },
        P::Between(lo, hi) => match (lo, hi) {
            (Value::Id(a), Value::Id(b)) => Some(r.order_id >= *a && r.order_id <= *b),
            (Value::Qty(a), Value::Qty(b)) => Some(r.quantity >= *a && r.quantity <= *b),
            (Value::Symbol(a), Value::Symbol(b)) => {
                Some(r.symbol.as_str() >= a.as_str() && r.symbol.as_str() <= b.as_str())
            }
            (Value::Ts(a), Value::Ts(b)) => Some(r.ts_micros >= *a && r.ts_micros <= *b),
            _ => Some(true),
        },
        P::In(values) => {
            let symbols: Vec<&String> = values
                .iter()
                .filter_map(|v| match v {
                    Value::Symbol(x) => Some(x),
                    _ => None,
                })
                .collect();
            if symbols.is_empty() {
                Some(
                    values
                        .iter()
                        .any(|v| matches!(v, Value::Id(x) if *x == r.order_id)),
                )
            } else {
                Some(symbols.iter().any(|s| **s == r.symbol))
            }
        }
        P::NoteNull(null) => Some(r.note.is_none() == *null),
        P::SymbolStarts(s) => Some(r.symbol.starts_with(s.as_str())),
        P::NoteStarts(s) => r.note.as_ref().map(|n| n.starts_with(s.as_str())),
        P::And(a, b) => match (holds(a, r), holds(b, r)) {
            (Some(false), _) | (_, Some(false)) => Some(false),
            (Some(true), Some(true)) => Some(true),
            _ => None,
        },
        P::Or(a, b) => match (holds(a, r), holds(b, r)) {
            (Some(true), _) | (_, Some(true)) => Some(true),
            (Some(false), Some(false)) => Some(false),
            _ => None,
        },
        P::Not(a) => holds(a, r).map(|b| !b),
    }
}

fn side_name(s: Side) -> &'static str {
    match s {
        Side::Buy => "Buy",
        Side::Sell => "Sell",
    }
}

fn expected(p: &P, rows: &[Order]) -> Vec<Order> {
    rows.iter()
        .filter(|r| holds(p, r) == Some(true))
        .cloned()
        .collect()
}

const SYMBOLS: &[&str] = &["AAPL", "MSFT", "GOOG", "Société", "日本株", "A", ""];

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        (0u64..300).prop_map(Value::Id),
        (0u32..1100).prop_map(Value::Qty),
        (0u32..100_000).prop_map(|c| Value::Price(f64::from(c) / 100.0)),
        prop::sample::select(SYMBOLS).prop_map(|s| Value::Symbol(s.to_owned())),
        prop::bool::ANY.prop_map(|b| Value::Side(if b { Side::Buy } else { Side::Sell })),
        prop::sample::select(&["", "rush 🚀", "note 7", "note 70", "z"][..])
            .prop_map(|s| Value::Note(s.to_owned())),
        (0i64..400).prop_map(|k| Value::Ts(1_700_000_000_000_000 + k * 1_000)),
        prop::bool::ANY.prop_map(Value::Filled),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        Just(Op::Eq),
        Just(Op::Ne),
        Just(Op::Lt),
        Just(Op::Le),
        Just(Op::Gt),
        Just(Op::Ge)
    ]
}

fn leaf() -> impl Strategy<Value = P> {
    prop_oneof![
        4 => (op(), value()).prop_map(|(o, v)| P::Cmp(o, v)),
        1 => (0u64..300, 0u64..300).prop_map(|(a, b)| P::Between(Value::Id(a.min(b)), Value::Id(a.max(b)))),
        1 => (prop::sample::select(SYMBOLS), prop::sample::select(SYMBOLS))
            .prop_map(|(a, b)| P::Between(Value::Symbol(a.into()), Value::Symbol(b.into()))),
        1 => prop::collection::vec(0u64..300, 0..5).prop_map(|v| P::In(v.into_iter().map(Value::Id).collect())),
        1 => prop::collection::vec(prop::sample::select(SYMBOLS), 1..3)
            .prop_map(|v| P::In(v.into_iter().map(|s| Value::Symbol(s.into())).collect())),
        1 => prop::bool::ANY.prop_map(P::NoteNull),
        1 => prop::sample::select(&["A", "Soc", "日", "", "M"][..]).prop_map(|s| P::SymbolStarts(s.into())),
        1 => prop::sample::select(&["note", "rush", "", "x"][..]).prop_map(|s| P::NoteStarts(s.into())),
    ]
}

fn predicate() -> impl Strategy<Value = P> {
    leaf().prop_recursive(3, 12, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| P::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| P::Or(Box::new(a), Box::new(b))),
            inner.prop_map(|a| P::Not(Box::new(a))),
        ]
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Every way a store answers `p`, against the expected rows.
async fn check_store<S: Store<Order>>(store: &S, p: &P, rows: &[Order]) {
    let want = expected(p, rows);
    let got = store.load_where(build(p)).await.unwrap().into_rows();
    assert_eq!(got, want, "load_where {p:?}");
    let mut streamed = Vec::new();
    let mut stream = store.scan_where(build(p)).await.unwrap();
    while let Some(batch) = stream.next().await {
        streamed.extend(
            OrderSoA::from_record_batch(&batch.unwrap())
                .unwrap()
                .into_rows(),
        );
    }
    assert_eq!(streamed, want, "scan_where {p:?}");
    let ids = store
        .load_columns_where(&["order_id"], build(p))
        .await
        .unwrap();
    assert_eq!(ids.num_columns(), 1);
    let ids: Vec<u64> = ids
        .column(0)
        .as_any()
        .downcast_ref::<soa_runtime::arrow::array::UInt64Array>()
        .unwrap()
        .values()
        .to_vec();
    assert_eq!(
        ids,
        want.iter().map(|r| r.order_id).collect::<Vec<_>>(),
        "load_columns_where {p:?}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn arrow_and_parquet_stores_return_exactly_the_matching_rows(
        n in 0usize..300,
        split in 0usize..300,
        ps in prop::collection::vec(predicate(), 4),
    ) {
        let rows = orders(n);
        let split = split.min(n);
        let rt = runtime();
        rt.block_on(async {
            let mem = ArrowStore::<Order>::new();
            mem.append(&OrderSoA::from(&rows[..split])).await.unwrap();
            mem.append(&OrderSoA::from(&rows[split..])).await.unwrap();
            let dir = tempfile::tempdir().unwrap();
            let disk = ParquetStore::<Order>::builder(dir.path().join("s"))
                .row_group_size(64)
                .open_or_create()
                .await
                .unwrap();
            disk.append(&OrderSoA::from(&rows[..split])).await.unwrap();
            disk.append(&OrderSoA::from(&rows[split..])).await.unwrap();
            for p in &ps {
                check_store(&mem, p, &rows).await;
                check_store(&disk, p, &rows).await;
            }
        });
    }
}

#[cfg(feature = "delta")]
proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn delta_store_returns_exactly_the_matching_rows(
        n in 0usize..300,
        split in 0usize..300,
        ps in prop::collection::vec(predicate(), 4),
    ) {
        let rows = orders(n);
        let split = split.min(n);
        let rt = runtime();
        rt.block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let store = soa_runtime::DeltaStore::<Order>::create(
                dir.path().join("t").to_str().unwrap(),
            )
            .await
            .unwrap();
            store.append(&OrderSoA::from(&rows[..split])).await.unwrap();
            store.append(&OrderSoA::from(&rows[split..])).await.unwrap();
            for p in &ps {
                check_store(&store, p, &rows).await;
            }
        });
    }
}

// ---------------------------------------------------------------------------------------------
// Fixed cases: nesting, nulls, flatten, the typed API

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
struct Address {
    city: String,
    zip: Option<String>,
}

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
struct Customer {
    id: u32,
    home: Address,
    work: Option<Address>,
    #[soa(flatten)]
    billing: Address,
    #[soa(rename = "tier_level")]
    tier: u8,
}

fn customers() -> Vec<Customer> {
    let a = |city: &str, zip: Option<&str>| Address {
        city: city.into(),
        zip: zip.map(Into::into),
    };
    vec![
        Customer {
            id: 1,
            home: a("Paris", Some("75001")),
            work: None,
            billing: a("Paris", None),
            tier: 1,
        },
        Customer {
            id: 2,
            home: a("Zürich", None),
            work: Some(a("Paris", Some("75008"))),
            billing: a("Lyon", Some("69001")),
            tier: 2,
        },
        Customer {
            id: 3,
            home: a("東京", Some("100-0001")),
            work: Some(a("東京", None)),
            billing: a("Paris", Some("75002")),
            tier: 3,
        },
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn nested_flattened_renamed_and_optional_fields() {
    let store = ArrowStore::<Customer>::new();
    store
        .append(&CustomerSoA::from(&customers()[..]))
        .await
        .unwrap();
    let ids = |rows: CustomerSoA| rows.into_rows().iter().map(|c| c.id).collect::<Vec<_>>();
    let c = Customer::col();
    assert_eq!(
        ids(store.load_where(c.home.city.eq("Paris")).await.unwrap()),
        [1]
    );
    // A null parent: the field does not exist, the comparison does not hold, NOT neither.
    assert_eq!(
        ids(store.load_where(c.work.city.eq("Paris")).await.unwrap()),
        [2]
    );
    assert_eq!(
        ids(store.load_where(!c.work.city.eq("Paris")).await.unwrap()),
        [3]
    );
    assert_eq!(
        ids(store.load_where(c.work.zip.is_null()).await.unwrap()),
        [1, 3]
    );
    assert_eq!(
        ids(store.load_where(c.home.zip.is_not_null()).await.unwrap()),
        [1, 3]
    );
    // Flattened: the columns billing_city, billing_zip.
    assert_eq!(
        ids(store.load_where(c.billing.city.eq("Paris")).await.unwrap()),
        [1, 3]
    );
    assert_eq!(
        format!("{:?}", c.billing.zip.starts_with("750")),
        "billing_zip STARTS WITH \"750\""
    );
    assert_eq!(
        ids(store
            .load_where(c.billing.zip.starts_with("750"))
            .await
            .unwrap()),
        [3]
    );
    // Renamed: the handle reads the stored name.
    assert_eq!(ids(store.load_where(c.tier.ge(2)).await.unwrap()), [2, 3]);
    assert_eq!(format!("{:?}", c.tier.ge(2)), "tier_level >= 2");
    // Unicode and is_in over strings.
    assert_eq!(
        ids(store
            .load_where(c.home.city.is_in(["東京", "Zürich"]))
            .await
            .unwrap()),
        [2, 3]
    );
    assert_eq!(
        ids(store
            .load_where(c.id.is_in(Vec::<u32>::new()))
            .await
            .unwrap()),
        Vec::<u32>::new()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_readme_example_on_every_store() {
    let rows = orders(2000);
    let dir = tempfile::tempdir().unwrap();
    let disk = ParquetStore::<Order>::create(dir.path().join("o"))
        .await
        .unwrap();
    disk.append(&OrderSoA::from(&rows[..])).await.unwrap();
    let c = Order::col();
    let t0 = rows[500].ts_micros;
    let p = c.symbol.eq("AAPL")
        & c.side.eq(Side::Buy)
        & c.ts_micros.ge(t0)
        & c.quantity.between(100, 900);
    let got = disk.load_where(p.clone()).await.unwrap().into_rows();
    let want: Vec<Order> = rows
        .iter()
        .filter(|r| {
            r.symbol == "AAPL"
                && r.side == Side::Buy
                && r.ts_micros >= t0
                && (100..=900).contains(&r.quantity)
        })
        .cloned()
        .collect();
    assert!(!want.is_empty());
    assert_eq!(got, want);
    assert_eq!(
        format!("{p:?}"),
        format!(
            "(((symbol = AAPL AND side = Buy) AND ts_micros >= {t0}) AND (quantity >= 100 AND quantity <= 900))"
        )
    );
}

/// Row groups and files whose statistics rule a predicate out are not read, and the metrics say
/// so; the rows are the same as without pruning.
#[tokio::test(flavor = "multi_thread")]
async fn parquet_store_skips_row_groups_and_files_by_statistics() {
    let rows = orders(100_000);
    let dir = tempfile::tempdir().unwrap();
    let store = ParquetStore::<Order>::builder(dir.path().join("o"))
        .row_group_size(10_000)
        .open_or_create()
        .await
        .unwrap();
    store
        .append(&OrderSoA::from(&rows[..50_000]))
        .await
        .unwrap();
    store
        .append(&OrderSoA::from(&rows[50_000..]))
        .await
        .unwrap();
    let c = Order::col();
    let (got, report) = store
        .load_where_with_metrics(c.order_id.between(20_000, 20_999))
        .await
        .unwrap();
    assert_eq!(got.into_rows(), rows[20_000..21_000].to_vec());
    assert_eq!((report.files_total, report.files_skipped), (2, 1));
    assert_eq!(
        (report.row_groups_total, report.row_groups_skipped),
        (10, 9)
    );
    assert_eq!((report.rows_scanned, report.rows_matched), (10_000, 1_000));
    // Verified reads take a kept file whole; the other file's footer only.
    assert!(
        report.bytes_read < report.bytes_stored * 6 / 10,
        "{report:?}"
    );
    // Nothing matches: no data read at all.
    let (none, report) = store
        .load_where_with_metrics(c.ts_micros.lt(0))
        .await
        .unwrap();
    assert!(none.is_empty());
    assert_eq!((report.files_skipped, report.row_groups_skipped), (2, 10));
    assert_eq!(report.rows_scanned, 0);
    // A predicate the statistics cannot decide (a float, a NOT) reads everything, same rows.
    let (some, report) = store
        .load_where_with_metrics(!c.order_id.ge(10) & c.unit_price.gt(0.0))
        .await
        .unwrap();
    assert_eq!(
        some.into_rows(),
        rows[..10]
            .iter()
            .filter(|r| r.unit_price > 0.0)
            .cloned()
            .collect::<Vec<_>>()
    );
    assert_eq!(report.row_groups_skipped, 0);
    // Without verification only the kept row groups' column chunks are read.
    let unverified = ParquetStore::<Order>::builder(dir.path().join("o"))
        .verify_checksums(false)
        .open()
        .await
        .unwrap();
    let (got, report) = unverified
        .load_where_with_metrics(c.order_id.between(20_000, 20_999))
        .await
        .unwrap();
    assert_eq!(got.len(), 1_000);
    assert!(report.bytes_read < report.bytes_stored / 8, "{report:?}");
    // Strings and enums prune too.
    let (_, report) = store
        .load_where_with_metrics(c.symbol.eq("AAAA") | c.side.is_in(Vec::<Side>::new()))
        .await
        .unwrap();
    assert_eq!(report.row_groups_skipped, 10);
}

/// A Delta table skips the data files whose `add` statistics rule the predicate out, without
/// fetching them.
#[cfg(feature = "delta")]
#[tokio::test(flavor = "multi_thread")]
async fn delta_store_skips_files_by_their_add_statistics() {
    let rows = orders(10_000);
    let dir = tempfile::tempdir().unwrap();
    let store = soa_runtime::DeltaStore::<Order>::create(dir.path().join("t").to_str().unwrap())
        .await
        .unwrap();
    for chunk in rows.chunks(1_000) {
        store.append(&OrderSoA::from(chunk)).await.unwrap();
    }
    let c = Order::col();
    let (got, report) = store
        .load_where_with_metrics(c.order_id.between(2_500, 2_600) & c.side.eq(Side::Buy))
        .await
        .unwrap();
    let want: Vec<Order> = rows[2_500..=2_600]
        .iter()
        .filter(|r| r.side == Side::Buy)
        .cloned()
        .collect();
    assert_eq!(got.into_rows(), want);
    assert_eq!((report.files_total, report.files_skipped), (10, 9));
    assert_eq!(report.rows_scanned, 1_000);
    assert!(report.bytes_read * 5 < report.bytes_stored, "{report:?}");
    // u64 against long statistics, timestamps against their rounded bounds.
    let t = rows[7_777].ts_micros;
    let (got, report) = store
        .load_where_with_metrics(c.ts_micros.eq(t) | c.order_id.gt(1_000_000))
        .await
        .unwrap();
    assert_eq!(got.into_rows(), vec![rows[7_777].clone()]);
    assert_eq!(report.files_skipped, 9);
}

/// `ArrowStore` skips batches whose (lazily computed, cached) column statistics rule the
/// predicate out; a replace forgets the cached statistics with the batches.
#[tokio::test(flavor = "multi_thread")]
async fn arrow_store_skips_batches_by_their_statistics() {
    let rows = orders(10_000);
    let store = ArrowStore::<Order>::new();
    for chunk in rows.chunks(1_000) {
        store.append(&OrderSoA::from(chunk)).await.unwrap();
    }
    let c = Order::col();
    for _ in 0..2 {
        // The second time from the cache: same answer.
        let (got, report) = store
            .load_where_with_metrics(c.order_id.between(4_200, 4_300) & c.symbol.ne(""))
            .await
            .unwrap();
        assert_eq!(got.into_rows(), rows[4_200..=4_300].to_vec());
        assert_eq!(
            (report.row_groups_total, report.row_groups_skipped),
            (10, 9)
        );
        assert_eq!(report.rows_scanned, 1_000);
    }
    // Enums (the dictionary's values) and strings prune; NOT does not.
    let (_, report) = store
        .load_where_with_metrics(c.symbol.lt("A"))
        .await
        .unwrap();
    assert_eq!(report.row_groups_skipped, 10);
    let (_, report) = store
        .load_where_with_metrics(!c.order_id.lt(100_000))
        .await
        .unwrap();
    assert_eq!(report.row_groups_skipped, 0);
    // New content after a save: statistics of the new batches.
    let shifted: Vec<Order> = rows
        .iter()
        .map(|r| Order {
            order_id: r.order_id + 1_000_000,
            ..r.clone()
        })
        .collect();
    store.save(&OrderSoA::from(&shifted[..])).await.unwrap();
    let got = store
        .load_where(c.order_id.between(1_004_200, 1_004_300))
        .await
        .unwrap();
    assert_eq!(got.into_rows(), shifted[4_200..=4_300].to_vec());
}

//! One behavioural test suite for every [`Store`] backend, as `object_store` has for its own.
//!
//! Call [`run`] with an empty store from an async test:
//!
//! ```ignore
//! #[tokio::test(flavor = "multi_thread")]
//! async fn conformance() {
//!     soa_tests::conformance::run(ArrowStore::<Order>::new()).await;
//! }
//! ```
//!
//! The suite only uses the [`Store`] trait and asserts exact values; it panics (fails the test)
//! on the first difference. It leaves the store empty.

use futures::StreamExt;
use soa_runtime::StoreExt;
use soa_runtime::ToArrow;
use soa_runtime::store::{Store, StoreStats};

use crate::{Order, OrderSoA, Side, orders};

/// Runs every check in order on `store`, which must start empty.
pub async fn run<S: Store<Order>>(store: S) {
    empty_store(&store, "a new store").await;
    append_and_load(&store).await;
    append_empty_is_a_no_op(&store).await;
    scan_matches_load(&store).await;
    save_replaces(&store).await;
    clear_empties(&store).await;
    edge_values_round_trip(&store).await;
    save_empty_empties(&store).await;
    many_small_appends(&store).await;
    store.clear().await.expect("final clear");
    empty_store(&store, "the store after the suite").await;
}

/// Rows `from..to` of the deterministic generator.
fn rows(from: usize, to: usize) -> Vec<Order> {
    orders(to).split_off(from)
}

fn soa(rows: &[Order]) -> OrderSoA {
    rows.iter().cloned().collect()
}

/// Every row read back by scanning, batch by batch, in stream order.
async fn scan_rows<S: Store<Order>>(store: &S) -> (Vec<Order>, usize) {
    let mut stream = store.scan().await.expect("scan");
    let mut all = Vec::new();
    let mut batches = 0;
    while let Some(batch) = stream.next().await {
        let batch = batch.expect("scan item");
        let part = OrderSoA::from_record_batch(&batch).expect("scanned batch converts");
        assert_eq!(part.len(), batch.num_rows());
        all.extend(part.into_rows());
        batches += 1;
    }
    (all, batches)
}

fn assert_stats(stats: &StoreStats, rows: u64, context: &str) {
    assert_eq!(stats.rows, rows, "{context}: stats.rows");
    let names: Vec<String> = OrderSoA::schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    if rows == 0 {
        assert_eq!(
            stats.batches, 0,
            "{context}: stats.batches of an empty store"
        );
        assert_eq!(stats.bytes, 0, "{context}: stats.bytes of an empty store");
        assert!(
            stats
                .columns
                .iter()
                .all(|c| c.bytes == 0 && c.validity_bytes == 0),
            "{context}: column bytes of an empty store: {:?}",
            stats.columns
        );
    } else {
        assert!(stats.batches >= 1, "{context}: stats.batches");
        assert!(stats.bytes > 0, "{context}: stats.bytes");
        let got: Vec<&String> = stats.columns.iter().map(|c| &c.name).collect();
        assert_eq!(
            got,
            names.iter().collect::<Vec<_>>(),
            "{context}: stats.columns names"
        );
        let column_sum: u64 = stats.columns.iter().map(|c| c.bytes).sum();
        assert!(
            stats.bytes >= column_sum,
            "{context}: total bytes {} below the column sum {column_sum}",
            stats.bytes
        );
        for column in &stats.columns {
            assert!(
                column.bytes > 0,
                "{context}: column {} has 0 bytes",
                column.name
            );
            assert!(
                column.validity_bytes <= column.bytes,
                "{context}: column {} validity {} > bytes {}",
                column.name,
                column.validity_bytes,
                column.bytes
            );
        }
    }
}

async fn empty_store<S: Store<Order>>(store: &S, context: &str) {
    assert_eq!(store.count().await.expect("count"), 0, "{context}: count");
    let loaded = store.load().await.expect("load");
    assert!(
        loaded.is_empty(),
        "{context}: load returned {} rows",
        loaded.len()
    );
    let (scanned, _) = scan_rows(store).await;
    assert!(
        scanned.is_empty(),
        "{context}: scan returned {} rows",
        scanned.len()
    );
    assert_stats(&store.stats(), 0, context);
}

async fn append_and_load<S: Store<Order>>(store: &S) {
    let first = rows(0, 100);
    store.append(&soa(&first)).await.expect("append 100");
    assert_eq!(store.count().await.expect("count"), 100);
    assert_eq!(store.load().await.expect("load").into_rows(), first);
    assert_stats(&store.stats(), 100, "after one append");

    let second = rows(100, 250);
    store.append(&soa(&second)).await.expect("append 150");
    assert_eq!(store.count().await.expect("count"), 250);
    // Appends go after what is stored, in order.
    assert_eq!(store.load().await.expect("load").into_rows(), rows(0, 250));
    assert_stats(&store.stats(), 250, "after two appends");
}

async fn append_empty_is_a_no_op<S: Store<Order>>(store: &S) {
    let before = store.stats();
    store.append(&OrderSoA::new()).await.expect("append empty");
    assert_eq!(store.count().await.expect("count"), 250);
    assert_eq!(store.stats().rows, before.rows);
    assert_eq!(store.load().await.expect("load").into_rows(), rows(0, 250));
}

async fn scan_matches_load<S: Store<Order>>(store: &S) {
    let (scanned, batches) = scan_rows(store).await;
    assert!(batches >= 1, "scan of 250 rows returned no batch");
    assert_eq!(scanned, rows(0, 250));

    // A scan is a snapshot: writes after it started do not show up in it.
    let mut stream = store.scan().await.expect("scan");
    store
        .append(&soa(&rows(250, 260)))
        .await
        .expect("append during scan");
    let mut seen = 0;
    while let Some(batch) = stream.next().await {
        seen += batch.expect("scan item").num_rows();
    }
    assert!(
        seen == 250 || seen == 260,
        "a scan saw {seen} rows: neither before (250) nor after (260) the append"
    );
    assert_eq!(store.count().await.expect("count"), 260);
    assert_eq!(store.load().await.expect("load").into_rows(), rows(0, 260));
}

async fn save_replaces<S: Store<Order>>(store: &S) {
    let replacement = rows(1000, 1010);
    store.save(&soa(&replacement)).await.expect("save");
    assert_eq!(store.count().await.expect("count"), 10);
    assert_eq!(store.load().await.expect("load").into_rows(), replacement);
    let (scanned, _) = scan_rows(store).await;
    assert_eq!(scanned, replacement);
    assert_stats(&store.stats(), 10, "after save");

    // Appending after a save continues from the saved content.
    store
        .append(&soa(&rows(0, 3)))
        .await
        .expect("append after save");
    let mut expected = replacement.clone();
    expected.extend(rows(0, 3));
    assert_eq!(store.load().await.expect("load").into_rows(), expected);
    assert_eq!(store.count().await.expect("count"), 13);
}

async fn clear_empties<S: Store<Order>>(store: &S) {
    store.clear().await.expect("clear");
    empty_store(store, "after clear").await;
    store.clear().await.expect("clear twice");
    empty_store(store, "after a second clear").await;

    store
        .append(&soa(&rows(5, 10)))
        .await
        .expect("append after clear");
    assert_eq!(store.count().await.expect("count"), 5);
    assert_eq!(store.load().await.expect("load").into_rows(), rows(5, 10));
    store.clear().await.expect("clear");
}

/// Extreme values, nulls, empty and non-ASCII strings come back exactly.
async fn edge_values_round_trip<S: Store<Order>>(store: &S) {
    let edge = vec![
        Order {
            order_id: u64::MAX,
            customer_id: 0,
            symbol: String::new(),
            side: Side::Sell,
            quantity: u32::MAX,
            unit_price: f64::NEG_INFINITY,
            filled: true,
            note: None,
            ts_micros: i64::MIN,
        },
        Order {
            order_id: 0,
            customer_id: u32::MAX,
            symbol: "Ünïcødé 🚀 日本".into(),
            side: Side::Buy,
            quantity: 0,
            unit_price: -0.0,
            filled: false,
            note: Some(String::new()),
            ts_micros: i64::MAX,
        },
        Order {
            order_id: 7,
            customer_id: 1,
            symbol: "x".repeat(10_000),
            side: Side::Buy,
            quantity: 1,
            unit_price: f64::MIN_POSITIVE,
            filled: true,
            note: Some("a\0b\n\"c\"".into()),
            ts_micros: 0,
        },
    ];
    store.save(&soa(&edge)).await.expect("save edge rows");
    let loaded = store.load().await.expect("load edge rows").into_rows();
    assert_eq!(loaded, edge);
    // -0.0 == 0.0 for PartialEq: check the sign bit survived.
    assert!(
        loaded[1].unit_price.is_sign_negative(),
        "-0.0 lost its sign"
    );
    assert_eq!(store.count().await.expect("count"), 3);
}

async fn save_empty_empties<S: Store<Order>>(store: &S) {
    store.save(&OrderSoA::new()).await.expect("save empty");
    empty_store(store, "after saving an empty container").await;
}

async fn many_small_appends<S: Store<Order>>(store: &S) {
    let all = rows(0, 64);
    for chunk in all.chunks(4) {
        store.append(&soa(chunk)).await.expect("small append");
    }
    assert_eq!(store.count().await.expect("count"), 64);
    assert_eq!(store.load().await.expect("load").into_rows(), all);
    let (scanned, _) = scan_rows(store).await;
    assert_eq!(scanned, all);
    assert_stats(&store.stats(), 64, "after 16 small appends");
}

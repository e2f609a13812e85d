//! One behavioural test suite for every [`Store`] backend, as `object_store` has for its own:
//! one test per clause of the `# Contract` sections of [`Store`], each reported on its own.
//!
//! A backend implements [`Harness`] (make an empty store; reopen it, as a new process would) and
//! expands [`store_conformance!`](crate::store_conformance) in a test file:
//!
//! ```ignore
//! soa_tests::store_conformance!(MemoryHarness::default());
//! ```
//!
//! The checks only use the [`Store`] and [`StoreExt`] traits and assert exact values.

use std::future::Future;
use std::sync::Arc;

use arrow_array::{Array, BooleanArray, RecordBatch};
use futures::StreamExt;
use soa_runtime::store::{ScanOptions, Store, StoreExt, StoreStats, WriteMode};
use soa_runtime::{Error, ToArrow};

use crate::{Order, OrderSoA, Side, orders};

/// How the suite gets stores of a backend.
pub trait Harness: Send + Sync {
    /// The store under test.
    type Store: Store<Order> + Clone + 'static;
    /// A new, empty store.
    fn create(&self) -> impl Future<Output = Self::Store> + Send;
    /// The same stored data seen by a new store instance (a reopened directory; for a store
    /// without persistence, another handle).
    fn reopen(&self, store: &Self::Store) -> impl Future<Output = Self::Store> + Send;
}

/// Expands to one `#[tokio::test]` per contract clause, each running [`Harness`] `$harness`
/// (an expression evaluated afresh in every test).
#[macro_export]
macro_rules! store_conformance {
    ($harness:expr) => {
        $crate::__store_conformance!($harness;
            empty_store_is_empty,
            append_adds_after_stored_rows,
            append_of_nothing_changes_nothing,
            overwrite_replaces_everything,
            overwrite_with_nothing_empties,
            clear_empties_and_the_store_stays_usable,
            a_commit_of_several_batches_is_seen_whole,
            a_bad_batch_leaves_the_store_unchanged,
            scan_yields_the_rows_in_store_order,
            scan_is_a_snapshot,
            scan_projection_gives_the_named_columns_in_order,
            scan_of_an_unknown_column_is_an_error,
            scan_batch_size_bounds_every_batch,
            scan_filter_keeps_the_selected_rows,
            count_equals_the_rows_a_scan_yields,
            stats_follow_the_content,
            load_columns_projects,
            edge_values_round_trip,
            many_small_appends_keep_their_order,
            readers_see_whole_commits_while_a_writer_commits,
            a_reopened_store_sees_the_committed_state
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __store_conformance {
    ($harness:expr; $($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread")]
            async fn $check() {
                $crate::conformance::$check(&$harness).await;
            }
        )*
    };
}

/// Rows `from..to` of the deterministic generator.
fn rows(from: usize, to: usize) -> Vec<Order> {
    orders(to).split_off(from)
}

fn soa(rows: &[Order]) -> OrderSoA {
    rows.iter().cloned().collect()
}

/// Every row read back by scanning, batch by batch, in stream order.
async fn scan_rows<S: Store<Order>>(store: &S, options: ScanOptions) -> (Vec<Order>, usize) {
    let mut stream = store.scan_with(options).await.expect("scan");
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
    let (scanned, _) = scan_rows(store, ScanOptions::new()).await;
    assert!(
        scanned.is_empty(),
        "{context}: scan returned {} rows",
        scanned.len()
    );
    assert_stats(&store.stats(), 0, context);
}

async fn store_with<H: Harness>(h: &H, data: &[Order]) -> H::Store {
    let store = h.create().await;
    if !data.is_empty() {
        store.append(&soa(data)).await.expect("append");
    }
    store
}

/// A new store: no rows by count, load, scan; zero statistics.
pub async fn empty_store_is_empty<H: Harness>(h: &H) {
    let store = h.create().await;
    empty_store(&store, "a new store").await;
}

/// `Append` goes after the stored rows, in order.
pub async fn append_adds_after_stored_rows<H: Harness>(h: &H) {
    let store = h.create().await;
    store.append(&soa(&rows(0, 100))).await.expect("append 100");
    assert_eq!(store.count().await.expect("count"), 100);
    assert_eq!(store.load().await.expect("load").into_rows(), rows(0, 100));
    store
        .append(&soa(&rows(100, 250)))
        .await
        .expect("append 150");
    assert_eq!(store.load().await.expect("load").into_rows(), rows(0, 250));
    store
        .append_owned(soa(&rows(250, 260)))
        .await
        .expect("append_owned");
    store
        .append_batch(soa(&rows(260, 270)).into_record_batch().unwrap())
        .await
        .expect("append_batch");
    assert_eq!(store.load().await.expect("load").into_rows(), rows(0, 270));
}

/// An `Append` of no rows (or no batches) changes nothing.
pub async fn append_of_nothing_changes_nothing<H: Harness>(h: &H) {
    let store = store_with(h, &rows(0, 20)).await;
    let before = store.stats();
    store.append(&OrderSoA::new()).await.expect("append empty");
    store
        .write_batches(Vec::new(), WriteMode::Append)
        .await
        .expect("append no batches");
    assert_eq!(store.count().await.expect("count"), 20);
    assert_eq!(store.stats(), before);
    assert_eq!(store.load().await.expect("load").into_rows(), rows(0, 20));
}

/// `Overwrite` replaces everything; appends continue from the new content.
pub async fn overwrite_replaces_everything<H: Harness>(h: &H) {
    let store = store_with(h, &rows(0, 50)).await;
    let replacement = rows(1000, 1010);
    store.save(&soa(&replacement)).await.expect("save");
    assert_eq!(store.count().await.expect("count"), 10);
    assert_eq!(store.load().await.expect("load").into_rows(), replacement);
    assert_stats(&store.stats(), 10, "after save");
    store
        .append(&soa(&rows(0, 3)))
        .await
        .expect("append after save");
    let mut expected = replacement;
    expected.extend(rows(0, 3));
    assert_eq!(store.load().await.expect("load").into_rows(), expected);
    store
        .save_owned(soa(&rows(7, 9)))
        .await
        .expect("save_owned");
    assert_eq!(store.load().await.expect("load").into_rows(), rows(7, 9));
}

/// `Overwrite` with zero rows empties the store.
pub async fn overwrite_with_nothing_empties<H: Harness>(h: &H) {
    let store = store_with(h, &rows(0, 30)).await;
    store.save(&OrderSoA::new()).await.expect("save empty");
    empty_store(&store, "after saving an empty container").await;
}

/// `clear` empties, twice in a row too, and the store takes new rows afterwards.
pub async fn clear_empties_and_the_store_stays_usable<H: Harness>(h: &H) {
    let store = store_with(h, &rows(0, 30)).await;
    store.clear().await.expect("clear");
    empty_store(&store, "after clear").await;
    store.clear().await.expect("clear twice");
    empty_store(&store, "after a second clear").await;
    store
        .append(&soa(&rows(5, 10)))
        .await
        .expect("append after clear");
    assert_eq!(store.load().await.expect("load").into_rows(), rows(5, 10));
}

/// A commit of several batches is one commit: afterwards all of them are there, in order.
pub async fn a_commit_of_several_batches_is_seen_whole<H: Harness>(h: &H) {
    let store = h.create().await;
    let batches: Vec<RecordBatch> = [(0, 10), (10, 15), (15, 40)]
        .iter()
        .map(|&(a, b)| soa(&rows(a, b)).into_record_batch().unwrap())
        .collect();
    store
        .write_batches(batches.clone(), WriteMode::Append)
        .await
        .expect("one commit of three batches");
    assert_eq!(store.load().await.expect("load").into_rows(), rows(0, 40));
    store
        .write_batches(batches, WriteMode::Overwrite)
        .await
        .expect("overwrite with three batches");
    assert_eq!(store.load().await.expect("load").into_rows(), rows(0, 40));
}

/// A batch that does not fit the row type is an error, and the store is unchanged (the good
/// batches of the same commit are not stored either).
pub async fn a_bad_batch_leaves_the_store_unchanged<H: Harness>(h: &H) {
    let store = store_with(h, &rows(0, 20)).await;
    let before = store.stats();
    let good = soa(&rows(20, 30)).into_record_batch().unwrap();
    let bad = RecordBatch::try_from_iter([(
        "order_id",
        Arc::new(arrow_array::StringArray::from(vec!["x"])) as Arc<dyn Array>,
    )])
    .unwrap();
    for mode in [WriteMode::Append, WriteMode::Overwrite] {
        let err = store
            .write_batches(vec![good.clone(), bad.clone()], mode)
            .await
            .expect_err("a batch of another schema");
        assert!(matches!(err, Error::SchemaMismatch { .. }), "{err:?}");
        assert_eq!(store.count().await.expect("count"), 20);
        assert_eq!(store.stats(), before);
        assert_eq!(store.load().await.expect("load").into_rows(), rows(0, 20));
    }
}

/// A scan yields every row once, in store order, in non-empty batches.
pub async fn scan_yields_the_rows_in_store_order<H: Harness>(h: &H) {
    let store = h.create().await;
    for (a, b) in [(0, 100), (100, 101), (101, 300)] {
        store.append(&soa(&rows(a, b))).await.expect("append");
    }
    let (scanned, batches) = scan_rows(&store, ScanOptions::new()).await;
    assert!(batches >= 1);
    assert_eq!(scanned, rows(0, 300));
}

/// A scan reads the commit current when it was opened: later commits do not show up in it.
pub async fn scan_is_a_snapshot<H: Harness>(h: &H) {
    let store = store_with(h, &rows(0, 250)).await;
    let stream = store.scan().await.expect("scan");
    store
        .append(&soa(&rows(250, 260)))
        .await
        .expect("append during scan");
    store
        .save(&soa(&rows(0, 5)))
        .await
        .expect("save during scan");
    let seen = drain(stream).await;
    assert_eq!(seen, rows(0, 250), "the scan saw a later commit");
}

/// A projection gives exactly the named columns, in the order asked, with the row type's types.
pub async fn scan_projection_gives_the_named_columns_in_order<H: Harness>(h: &H) {
    let store = store_with(h, &rows(0, 120)).await;
    let options = ScanOptions::new().columns(["unit_price", "order_id"]);
    let mut stream = store.scan_with(options).await.expect("projected scan");
    let schema = OrderSoA::schema();
    let mut ids = Vec::new();
    while let Some(batch) = stream.next().await {
        let batch = batch.expect("scan item");
        let names: Vec<String> = batch
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        assert_eq!(names, ["unit_price", "order_id"]);
        assert_eq!(
            batch.column(1).data_type(),
            schema.field_with_name("order_id").unwrap().data_type()
        );
        let column = batch
            .column(1)
            .as_any()
            .downcast_ref::<arrow_array::UInt64Array>()
            .unwrap();
        ids.extend(column.values().iter().copied());
    }
    assert_eq!(
        ids,
        rows(0, 120).iter().map(|o| o.order_id).collect::<Vec<_>>()
    );
}

/// An unknown column is `Error::UnknownColumn` before anything is read.
pub async fn scan_of_an_unknown_column_is_an_error<H: Harness>(h: &H) {
    let store = store_with(h, &rows(0, 10)).await;
    let err = match store.scan_with(ScanOptions::new().columns(["nope"])).await {
        Err(e) => e,
        Ok(_) => panic!("a scan of an unknown column started"),
    };
    assert!(
        matches!(&err, Error::UnknownColumn { column, .. } if column == "nope"),
        "{err:?}"
    );
}

/// No batch has more rows than the batch size asked, and none is empty.
pub async fn scan_batch_size_bounds_every_batch<H: Harness>(h: &H) {
    let store = h.create().await;
    store.append(&soa(&rows(0, 1000))).await.expect("append");
    store.append(&soa(&rows(1000, 1003))).await.expect("append");
    let mut stream = store
        .scan_with(ScanOptions::new().batch_size(64))
        .await
        .expect("scan");
    let mut all = Vec::new();
    while let Some(batch) = stream.next().await {
        let batch = batch.expect("scan item");
        assert!(
            batch.num_rows() > 0 && batch.num_rows() <= 64,
            "{}",
            batch.num_rows()
        );
        all.extend(OrderSoA::from_record_batch(&batch).unwrap().into_rows());
    }
    assert_eq!(all, rows(0, 1003));
}

/// A filter keeps exactly the rows it selects, in order.
pub async fn scan_filter_keeps_the_selected_rows<H: Harness>(h: &H) {
    let store = store_with(h, &rows(0, 500)).await;
    let options = ScanOptions::new().filter(|batch: &RecordBatch| {
        let filled = batch
            .column_by_name("filled")
            .and_then(|c| c.as_any().downcast_ref::<BooleanArray>())
            .expect("filled column");
        Ok(filled.clone())
    });
    let (scanned, _) = scan_rows(&store, options).await;
    let expected: Vec<Order> = rows(0, 500).into_iter().filter(|o| o.filled).collect();
    assert!(!expected.is_empty());
    assert_eq!(scanned, expected);
}

/// `count` equals the rows a scan yields, after every kind of commit.
pub async fn count_equals_the_rows_a_scan_yields<H: Harness>(h: &H) {
    let store = h.create().await;
    for step in 0..4 {
        match step {
            0 => store.append(&soa(&rows(0, 33))).await,
            1 => store.append(&soa(&rows(33, 34))).await,
            2 => store.save(&soa(&rows(0, 7))).await,
            _ => store.clear().await,
        }
        .expect("commit");
        let (scanned, _) = scan_rows(&store, ScanOptions::new()).await;
        assert_eq!(store.count().await.expect("count"), scanned.len() as u64);
    }
}

/// Statistics follow every commit of this instance.
pub async fn stats_follow_the_content<H: Harness>(h: &H) {
    let store = h.create().await;
    assert_stats(&store.stats(), 0, "new");
    store.append(&soa(&rows(0, 100))).await.expect("append");
    assert_stats(&store.stats(), 100, "after an append");
    store.append(&soa(&rows(100, 250))).await.expect("append");
    assert_stats(&store.stats(), 250, "after two appends");
    store.save(&soa(&rows(0, 10))).await.expect("save");
    assert_stats(&store.stats(), 10, "after save");
    store.clear().await.expect("clear");
    assert_stats(&store.stats(), 0, "after clear");
}

/// `load_columns` gives the named columns of every row; an unknown name is an error.
pub async fn load_columns_projects<H: Harness>(h: &H) {
    let store = h.create().await;
    store.append(&soa(&rows(0, 60))).await.expect("append");
    store.append(&soa(&rows(60, 90))).await.expect("append");
    let batch = store
        .load_columns(&["symbol", "quantity"])
        .await
        .expect("load_columns");
    assert_eq!(batch.num_rows(), 90);
    let names: Vec<String> = batch
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(names, ["symbol", "quantity"]);
    let quantities = batch
        .column(1)
        .as_any()
        .downcast_ref::<arrow_array::UInt32Array>()
        .unwrap();
    assert_eq!(
        quantities.values().to_vec(),
        rows(0, 90).iter().map(|o| o.quantity).collect::<Vec<_>>()
    );
    let none = store.load_columns(&[]).await.expect("no columns");
    assert_eq!((none.num_columns(), none.num_rows()), (0, 90));
    assert!(matches!(
        store.load_columns(&["nope"]).await,
        Err(Error::UnknownColumn { .. })
    ));
}

/// Extreme values, nulls, empty and non-ASCII strings come back exactly.
pub async fn edge_values_round_trip<H: Harness>(h: &H) {
    let store = h.create().await;
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
}

/// Many one-row-group commits keep their order.
pub async fn many_small_appends_keep_their_order<H: Harness>(h: &H) {
    let store = h.create().await;
    let all = rows(0, 64);
    for chunk in all.chunks(4) {
        store.append(&soa(chunk)).await.expect("small append");
    }
    assert_eq!(store.count().await.expect("count"), 64);
    assert_eq!(store.load().await.expect("load").into_rows(), all);
    let (scanned, _) = scan_rows(&store, ScanOptions::new()).await;
    assert_eq!(scanned, all);
    assert_stats(&store.stats(), 64, "after 16 small appends");
}

/// Readers running while a writer commits see whole commits only: every load is a prefix of
/// whole appends (each append is 3 batches of one commit).
pub async fn readers_see_whole_commits_while_a_writer_commits<H: Harness>(h: &H) {
    let store = h.create().await;
    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            for i in 0..20usize {
                let batches: Vec<RecordBatch> = (0..3)
                    .map(|j| {
                        let at = i * 30 + j * 10;
                        soa(&rows(at, at + 10)).into_record_batch().unwrap()
                    })
                    .collect();
                store
                    .write_batches(batches, WriteMode::Append)
                    .await
                    .expect("append");
            }
        })
    };
    let mut loads = 0;
    while !writer.is_finished() {
        let loaded = store.load().await.expect("load during commits").into_rows();
        assert_eq!(loaded.len() % 30, 0, "a reader saw part of a commit");
        assert_eq!(loaded, rows(0, loaded.len()));
        loads += 1;
    }
    writer.await.expect("writer");
    assert!(loads > 0);
    assert_eq!(store.load().await.expect("load").into_rows(), rows(0, 600));
}

/// A new instance (a reopened store) sees exactly the committed state.
pub async fn a_reopened_store_sees_the_committed_state<H: Harness>(h: &H) {
    let store = store_with(h, &rows(0, 40)).await;
    store.append(&soa(&rows(40, 45))).await.expect("append");
    let again = h.reopen(&store).await;
    assert_eq!(again.count().await.expect("count"), 45);
    assert_eq!(again.load().await.expect("load").into_rows(), rows(0, 45));
    store.save(&soa(&rows(3, 4))).await.expect("save");
    let again = h.reopen(&store).await;
    assert_eq!(again.load().await.expect("load").into_rows(), rows(3, 4));
}

async fn drain(mut stream: soa_runtime::store::BatchStream) -> Vec<Order> {
    let mut all = Vec::new();
    while let Some(batch) = stream.next().await {
        let batch = batch.expect("scan item");
        all.extend(OrderSoA::from_record_batch(&batch).unwrap().into_rows());
    }
    all
}

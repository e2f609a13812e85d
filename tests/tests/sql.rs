//! SQL over the stores with embedded DuckDB (`soa_runtime::sql`, feature `duckdb`): registration
//! of both stores, typed results for every field type with a DuckDB equivalent, the
//! normalisation of DuckDB's result types, and every error path.
//!
//! Run with `cargo test -p soa-tests --features duckdb --test sql` (see scripts/test.sh).

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, TimeZone, Utc};
use rust_decimal::Decimal;
use soa_runtime::StoreExt;
use soa_runtime::arrow::array::{Array, RecordBatch};
use soa_runtime::arrow::datatypes::DataType;
use soa_runtime::sql::{SqlEngine, SqlErrorKind};
use soa_runtime::store::parquet::ParquetStore;
use soa_runtime::{ArrowStore, Error, FieldError, Soa, ToArrow};
use soa_tests::{Order, OrderSoA, Side, orders};
use uuid::Uuid;

const GROUP_BY: &str = "SELECT side, sum(quantity * unit_price) AS total, count(*) AS n \
                        FROM orders GROUP BY side ORDER BY side";

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
pub struct Revenue {
    pub side: Side,
    pub total: f64,
    pub n: i64,
}

/// The GROUP BY computed in Rust.
fn expected_revenue(rows: &[Order]) -> Vec<Revenue> {
    let mut out = Vec::new();
    for side in [Side::Buy, Side::Sell] {
        let of_side: Vec<&Order> = rows.iter().filter(|o| o.side == side).collect();
        out.push(Revenue {
            side,
            total: of_side
                .iter()
                .map(|o| f64::from(o.quantity) * o.unit_price)
                .sum(),
            n: of_side.len() as i64,
        });
    }
    out
}

fn assert_revenue(got: RevenueSoA, rows: &[Order]) {
    let got = got.into_rows();
    let want = expected_revenue(rows);
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g.side, w.side);
        assert_eq!(g.n, w.n);
        // Summation order differs (DuckDB sums in parallel).
        assert!(
            (g.total - w.total).abs() <= 1e-9 * w.total.abs(),
            "{g:?} vs {w:?}"
        );
    }
}

fn arrow_store(rows: &[Order]) -> ArrowStore<Order> {
    let store = ArrowStore::<Order>::new();
    store
        .append_batch(OrderSoA::from(rows.to_vec()).into_record_batch().unwrap())
        .unwrap();
    store
}

fn sql_kind(error: &Error) -> SqlErrorKind {
    match error {
        Error::Sql { kind, .. } => *kind,
        other => panic!("expected Error::Sql, got {other:?}"),
    }
}

// ---- registration and queries ------------------------------------------------------------------

#[test]
fn arrow_store_group_by_typed() {
    let rows = orders(10_000);
    let store = arrow_store(&rows);
    let sql = SqlEngine::in_memory().unwrap();
    sql.register("orders", &store).unwrap();
    let revenue: RevenueSoA = sql.query(GROUP_BY).unwrap();
    assert_revenue(revenue, &rows);
}

#[test]
fn arrow_store_round_trip_every_order_column() {
    // Several batches, one larger than a DuckDB vector (2048 rows), to cover window slicing.
    let rows = orders(5_000);
    let store = ArrowStore::<Order>::new();
    store
        .append_batch(
            OrderSoA::from(rows[..10].to_vec())
                .into_record_batch()
                .unwrap(),
        )
        .unwrap();
    store
        .append_batch(
            OrderSoA::from(rows[10..].to_vec())
                .into_record_batch()
                .unwrap(),
        )
        .unwrap();
    let sql = SqlEngine::in_memory().unwrap();
    sql.register("orders", &store).unwrap();
    let back: OrderSoA = sql.query("SELECT * FROM orders ORDER BY order_id").unwrap();
    assert_eq!(back.into_rows(), rows);
}

#[test]
fn arrow_store_view_is_live_and_counts() {
    let rows = orders(3_000);
    let store = arrow_store(&rows[..1_000]);
    let sql = SqlEngine::in_memory().unwrap();
    sql.register("orders", &store).unwrap();

    #[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
    struct Count {
        n: u64,
    }
    let count: CountSoA = sql.query("SELECT count(*) AS n FROM orders").unwrap();
    assert_eq!(count.n, [1_000]);

    store
        .append_batch(
            OrderSoA::from(rows[1_000..].to_vec())
                .into_record_batch()
                .unwrap(),
        )
        .unwrap();
    let count: CountSoA = sql.query("SELECT count(*) AS n FROM orders").unwrap();
    assert_eq!(count.n, [3_000], "a registered ArrowStore is a live view");

    // Projection of one column, filter on an enum and on a string.
    #[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
    struct Id {
        order_id: u64,
    }
    let ids: IdSoA = sql
        .query("SELECT order_id FROM orders WHERE side = 'Sell' AND symbol = 'Société' ORDER BY order_id")
        .unwrap();
    let want: Vec<u64> = rows
        .iter()
        .filter(|o| o.side == Side::Sell && o.symbol == "Société")
        .map(|o| o.order_id)
        .collect();
    assert!(!want.is_empty());
    assert_eq!(ids.order_id, want);
}

#[test]
fn unit_enums_are_duckdb_enums_in_both_views() {
    let dir = tempfile::tempdir().unwrap();
    let rows = orders(100);
    let store = arrow_store(&rows);
    let parquet = tokio_block(async {
        let parquet = ParquetStore::<Order>::create(dir.path().join("orders"))
            .await
            .unwrap();
        parquet.save(&OrderSoA::from(rows.clone())).await.unwrap();
        parquet
    });
    let sql = SqlEngine::in_memory().unwrap();
    sql.register("orders", &store).unwrap();
    sql.register("archive", &parquet).unwrap();

    #[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
    struct TypeName {
        t: String,
    }
    for view in ["orders", "archive"] {
        let t: TypeName = sql
            .query::<TypeNameSoA>(&format!("SELECT typeof(side) AS t FROM {view} LIMIT 1"))
            .unwrap()
            .into_rows()
            .remove(0);
        assert_eq!(t.t, "ENUM('Buy', 'Sell')", "{view}");
        // The ENUM's order is the declaration order, so ORDER BY side is Buy first.
        let first: RevenueSoA = sql
            .query(&GROUP_BY.replace("FROM orders", &format!("FROM {view}")))
            .unwrap();
        assert_eq!(first.side, [Side::Buy, Side::Sell]);
    }
    // DuckDB compares an ENUM with a name that is no variant as unequal: no rows, no error.
    #[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
    struct Count {
        n: i64,
    }
    for view in ["orders", "archive"] {
        let none: CountSoA = sql
            .query(&format!(
                "SELECT count(*) AS n FROM {view} WHERE side = 'Hold'"
            ))
            .unwrap();
        assert_eq!(none.n, [0]);
    }
}

/// A unit enum with a nullable twin, for the ENUM columns of the `ArrowStore` scan.
#[derive(Soa, ToArrow, Debug, Clone, Copy, PartialEq)]
enum Level {
    Low,
    Mid,
    High,
}

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
struct Reading {
    id: u32,
    level: Level,
    maybe: Option<Level>,
}

/// The scan hands DuckDB the variant indexes of an `ENUM` (no mapping in the view): batches of our
/// own, nulls, and a batch from elsewhere whose dictionary lists the names in another order and
/// only some of them (remapped per window) all read back as the same rows, grouped and ordered by
/// declaration order.
#[test]
fn arrow_store_enum_columns_with_nulls_and_foreign_dictionaries() {
    use arrow_array::types::{Int8Type, Int16Type, Int32Type};
    use arrow_array::{ArrayRef, DictionaryArray, StringArray, UInt32Array};
    use std::sync::Arc;

    let ours: Vec<Reading> = (0..5_000)
        .map(|i| Reading {
            id: i,
            level: [Level::Low, Level::Mid, Level::High][i as usize % 3],
            maybe: (i % 4 != 0).then_some([Level::High, Level::Low][i as usize % 2]),
        })
        .collect();
    let store = ArrowStore::<Reading>::new();
    store
        .append_batch(ReadingSoA::from(ours.clone()).into_record_batch().unwrap())
        .unwrap();

    // Names in another order, a subset of the variants; keys of the schema's key type.
    let schema = ReadingSoA::schema();
    fn dictionary(key: &DataType, keys: &[Option<i64>], names: &[&str]) -> ArrayRef {
        let values: ArrayRef = Arc::new(StringArray::from(names.to_vec()));
        match key {
            DataType::Int8 => Arc::new(
                DictionaryArray::<Int8Type>::try_new(
                    keys.iter().map(|k| k.map(|k| k as i8)).collect(),
                    values,
                )
                .unwrap(),
            ),
            DataType::Int16 => Arc::new(
                DictionaryArray::<Int16Type>::try_new(
                    keys.iter().map(|k| k.map(|k| k as i16)).collect(),
                    values,
                )
                .unwrap(),
            ),
            DataType::Int32 => Arc::new(
                DictionaryArray::<Int32Type>::try_new(
                    keys.iter().map(|k| k.map(|k| k as i32)).collect(),
                    values,
                )
                .unwrap(),
            ),
            other => panic!("unexpected key type {other}"),
        }
    }
    let key = |column: &str| match schema.field_with_name(column).unwrap().data_type() {
        DataType::Dictionary(key, _) => key.as_ref().clone(),
        other => panic!("{column} is {other}, not a dictionary"),
    };
    let foreign = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(UInt32Array::from(vec![5_000, 5_001, 5_002, 5_003])),
            dictionary(
                &key("level"),
                &[Some(0), Some(1), Some(1), Some(0)],
                &["High", "Low"],
            ),
            dictionary(
                &key("maybe"),
                &[None, Some(0), None, Some(1)],
                &["Mid", "High"],
            ),
        ],
    )
    .unwrap();
    store.append_batch(foreign).unwrap();
    let mut all = ours;
    all.extend([
        Reading {
            id: 5_000,
            level: Level::High,
            maybe: None,
        },
        Reading {
            id: 5_001,
            level: Level::Low,
            maybe: Some(Level::Mid),
        },
        Reading {
            id: 5_002,
            level: Level::Low,
            maybe: None,
        },
        Reading {
            id: 5_003,
            level: Level::High,
            maybe: Some(Level::High),
        },
    ]);

    // The same rows in a ParquetStore: its view maps the file's strings to the ENUM.
    let dir = tempfile::tempdir().unwrap();
    let archive = tokio_block(async {
        let archive = ParquetStore::<Reading>::create(dir.path().join("readings"))
            .await
            .unwrap();
        archive.save(&ReadingSoA::from(all.clone())).await.unwrap();
        archive
    });
    let sql = SqlEngine::in_memory().unwrap();
    sql.register("readings", &store).unwrap();
    sql.register("archived", &archive).unwrap();
    for view in ["readings", "archived"] {
        check_reading_view(&sql, view, &all);
    }
}

fn check_reading_view(sql: &SqlEngine, view: &str, all: &[Reading]) {
    #[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
    struct Types {
        level: String,
        maybe: String,
    }
    let types: TypesSoA = sql
        .query("SELECT typeof(level) AS level, typeof(maybe) AS maybe FROM readings LIMIT 1")
        .unwrap();
    let expected = "ENUM('Low', 'Mid', 'High')";
    assert_eq!(
        types.into_rows(),
        [Types {
            level: expected.into(),
            maybe: expected.into()
        }]
    );

    let back: ReadingSoA = sql.query("SELECT * FROM readings ORDER BY id").unwrap();
    assert_eq!(back.into_rows(), all);

    #[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
    struct PerLevel {
        maybe: Option<Level>,
        n: i64,
    }
    let grouped: PerLevelSoA = sql
        .query(&format!(
            "SELECT maybe, count(*) AS n FROM {view} GROUP BY maybe ORDER BY maybe NULLS LAST"
        ))
        .unwrap();
    let count = |m: Option<Level>| all.iter().filter(|r| r.maybe == m).count() as i64;
    let want: Vec<PerLevel> = [Some(Level::Low), Some(Level::Mid), Some(Level::High), None]
        .into_iter()
        .map(|maybe| PerLevel {
            maybe,
            n: count(maybe),
        })
        .collect();
    assert_eq!(grouped.into_rows(), want, "{view}");
}

/// 300 variants: DuckDB stores such an `ENUM` in two bytes (up to 255 members, one).
#[rustfmt::skip]
#[derive(Soa, ToArrow, Debug, Clone, Copy, PartialEq)]
enum Wide { V0, V1, V2, V3, V4, V5, V6, V7, V8, V9, V10, V11, V12, V13, V14, V15, V16, V17, V18, V19, V20, V21, V22, V23, V24, V25, V26, V27, V28, V29, V30, V31, V32, V33, V34, V35, V36, V37, V38, V39, V40, V41, V42, V43, V44, V45, V46, V47, V48, V49, V50, V51, V52, V53, V54, V55, V56, V57, V58, V59, V60, V61, V62, V63, V64, V65, V66, V67, V68, V69, V70, V71, V72, V73, V74, V75, V76, V77, V78, V79, V80, V81, V82, V83, V84, V85, V86, V87, V88, V89, V90, V91, V92, V93, V94, V95, V96, V97, V98, V99, V100, V101, V102, V103, V104, V105, V106, V107, V108, V109, V110, V111, V112, V113, V114, V115, V116, V117, V118, V119, V120, V121, V122, V123, V124, V125, V126, V127, V128, V129, V130, V131, V132, V133, V134, V135, V136, V137, V138, V139, V140, V141, V142, V143, V144, V145, V146, V147, V148, V149, V150, V151, V152, V153, V154, V155, V156, V157, V158, V159, V160, V161, V162, V163, V164, V165, V166, V167, V168, V169, V170, V171, V172, V173, V174, V175, V176, V177, V178, V179, V180, V181, V182, V183, V184, V185, V186, V187, V188, V189, V190, V191, V192, V193, V194, V195, V196, V197, V198, V199, V200, V201, V202, V203, V204, V205, V206, V207, V208, V209, V210, V211, V212, V213, V214, V215, V216, V217, V218, V219, V220, V221, V222, V223, V224, V225, V226, V227, V228, V229, V230, V231, V232, V233, V234, V235, V236, V237, V238, V239, V240, V241, V242, V243, V244, V245, V246, V247, V248, V249, V250, V251, V252, V253, V254, V255, V256, V257, V258, V259, V260, V261, V262, V263, V264, V265, V266, V267, V268, V269, V270, V271, V272, V273, V274, V275, V276, V277, V278, V279, V280, V281, V282, V283, V284, V285, V286, V287, V288, V289, V290, V291, V292, V293, V294, V295, V296, V297, V298, V299 }

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
struct WideRow {
    id: u32,
    wide: Wide,
}

#[test]
fn arrow_store_enum_of_300_variants_reads_back() {
    use arrow_array::types::Int16Type;
    use arrow_array::{ArrayRef, DictionaryArray, Int16Array, StringArray, UInt32Array};
    use std::sync::Arc;

    let n = 3_000_u32;
    let names: Vec<String> = (0..300).map(|i| format!("V{i}")).collect();
    let keys: Int16Array = (0..n).map(|i| Some(((i * 7) % 300) as i16)).collect();
    let values: ArrayRef = Arc::new(StringArray::from(names.clone()));
    let schema = WideRowSoA::schema();
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(UInt32Array::from_iter_values(0..n)),
            Arc::new(DictionaryArray::<Int16Type>::try_new(keys, values).unwrap()),
        ],
    )
    .unwrap();
    let rows = WideRowSoA::from_record_batch(&batch).unwrap().into_rows();
    let store = ArrowStore::<WideRow>::new();
    store.append_batch(batch).unwrap();
    // The same rows in a ParquetStore: its view casts the file's strings to the ENUM.
    let dir = tempfile::tempdir().unwrap();
    let archive = tokio_block(async {
        let archive = ParquetStore::<WideRow>::create(dir.path().join("wide"))
            .await
            .unwrap();
        archive.save(&WideRowSoA::from(rows.clone())).await.unwrap();
        archive
    });
    let sql = SqlEngine::in_memory().unwrap();
    sql.register("wide", &store).unwrap();
    sql.register("wide_archive", &archive).unwrap();
    for view in ["wide", "wide_archive"] {
        check_wide_view(&sql, view, &rows, &names, n);
    }
}

fn check_wide_view(sql: &SqlEngine, view: &str, rows: &[WideRow], names: &[String], n: u32) {
    let back: WideRowSoA = sql
        .query(&format!("SELECT * FROM {view} ORDER BY id"))
        .unwrap();
    assert_eq!(back.into_rows(), rows, "{view}");
    #[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
    struct Name {
        name: String,
    }
    let text: NameSoA = sql
        .query(&format!(
            "SELECT wide::VARCHAR AS name FROM {view} ORDER BY id"
        ))
        .unwrap();
    let want: Vec<String> = (0..n)
        .map(|i| names[((i * 7) % 300) as usize].clone())
        .collect();
    assert_eq!(text.name, want, "{view}");
    #[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
    struct Count {
        n: i64,
    }
    let last: CountSoA = sql
        .query(&format!(
            "SELECT count(*) AS n FROM {view} WHERE wide = 'V299'"
        ))
        .unwrap();
    assert_eq!(
        last.n,
        [(0..n).filter(|i| (i * 7) % 300 == 299).count() as i64]
    );
}

#[test]
fn parquet_store_group_by_and_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let rows = orders(20_000);
    let store = tokio_block(async {
        let store = ParquetStore::<Order>::builder(dir.path().join("orders"))
            .row_group_size(4_096)
            .create()
            .await
            .unwrap();
        store
            .save(&OrderSoA::from(rows[..15_000].to_vec()))
            .await
            .unwrap();
        store
            .append(&OrderSoA::from(rows[15_000..].to_vec()))
            .await
            .unwrap();
        store
    });
    let sql = SqlEngine::in_memory().unwrap();
    sql.register("archive", &store).unwrap();
    let revenue: RevenueSoA = sql.query(&GROUP_BY.replace("orders", "archive")).unwrap();
    assert_revenue(revenue, &rows);
    let back: OrderSoA = sql
        .query("SELECT * FROM archive ORDER BY order_id")
        .unwrap();
    assert_eq!(back.into_rows(), rows);

    // The view reads the files (DuckDB's Parquet scan), with filters pushed into it.
    let plan = sql
        .query_arrow("EXPLAIN SELECT order_id FROM archive WHERE order_id < 10")
        .unwrap();
    let text = soa_runtime::arrow::array::cast::AsArray::as_string::<i32>(plan[0].column(1))
        .value(0)
        .to_owned();
    assert!(text.to_uppercase().contains("PARQUET"), "{text}");
    assert!(
        text.contains("order_id<10") || text.contains("order_id < 10"),
        "{text}"
    );

    // Compaction replaces the files; the view follows (the glob is expanded per query).
    tokio_block(store.compact()).unwrap();
    let revenue: RevenueSoA = sql.query(&GROUP_BY.replace("orders", "archive")).unwrap();
    assert_revenue(revenue, &rows);
}

#[test]
fn both_stores_in_one_query() {
    let dir = tempfile::tempdir().unwrap();
    let rows = orders(4_000);
    let hot = arrow_store(&rows[2_000..]);
    let cold = tokio_block(async {
        let cold = ParquetStore::<Order>::create(dir.path().join("cold"))
            .await
            .unwrap();
        cold.save(&OrderSoA::from(rows[..2_000].to_vec()))
            .await
            .unwrap();
        cold
    });
    let sql = SqlEngine::in_memory().unwrap();
    sql.register("hot", &hot).unwrap();
    sql.register("cold", &cold).unwrap();
    sql.execute("CREATE VIEW orders AS SELECT * FROM hot UNION ALL SELECT * FROM cold")
        .unwrap();
    let revenue: RevenueSoA = sql.query(GROUP_BY).unwrap();
    assert_revenue(revenue, &rows);
}

#[test]
fn re_register_replaces_and_clones_share_views() {
    let rows = orders(500);
    let sql = SqlEngine::in_memory().unwrap();
    sql.register("orders", &arrow_store(&rows[..100])).unwrap();
    sql.register("ORDERS", &arrow_store(&rows)).unwrap();
    let other = sql.try_clone().unwrap();
    let handle = std::thread::spawn(move || {
        let revenue: RevenueSoA = other.query(GROUP_BY).unwrap();
        revenue
    });
    assert_revenue(handle.join().unwrap(), &rows);
    assert!(format!("{sql:?}").contains("orders"));
}

#[test]
fn query_arrow_returns_duckdb_types_and_an_empty_batch() {
    let sql = SqlEngine::in_memory().unwrap();
    sql.register("orders", &arrow_store(&orders(10))).unwrap();
    let batches = sql
        .query_arrow(
            "SELECT sum(quantity) AS q, 1.5 AS d, side FROM orders WHERE false GROUP BY side",
        )
        .unwrap();
    assert_eq!(batches.len(), 1);
    let batch: &RecordBatch = &batches[0];
    assert_eq!(batch.num_rows(), 0);
    assert_eq!(
        batch.schema().field(0).data_type(),
        &DataType::Decimal128(38, 0)
    ); // HUGEINT
    assert!(matches!(
        batch.schema().field(1).data_type(),
        DataType::Decimal128(2, 1)
    ));
    assert!(matches!(
        batch.schema().field(2).data_type(),
        DataType::Dictionary(_, _)
    ));
}

// ---- typed results: normalisation --------------------------------------------------------------

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
pub struct Sums {
    pub q: i64,
    pub uq: u64,
    pub small: i16,
    pub n: u32,
    pub half: f64,
    pub from_int: f64,
    pub name: String,
    pub side: Side,
}

#[test]
fn duckdb_types_are_normalised_to_the_fields() {
    let rows = orders(1_000);
    let sql = SqlEngine::in_memory().unwrap();
    sql.register("orders", &arrow_store(&rows)).unwrap();
    let sums: SumsSoA = sql
        .query(
            "SELECT sum(quantity) AS q, sum(quantity) AS uq, 7 AS small, count(*) AS n, \
             1.5 AS half, 42 AS from_int, 'x' AS name, 'Sell' AS side FROM orders",
        )
        .unwrap();
    let q: u64 = rows.iter().map(|o| u64::from(o.quantity)).sum();
    assert_eq!(
        sums.into_rows(),
        [Sums {
            q: q as i64,
            uq: q,
            small: 7,
            n: 1_000,
            half: 1.5,
            from_int: 42.0,
            name: "x".into(),
            side: Side::Sell,
        }]
    );
}

// ---- typed results: every field type with a DuckDB equivalent ----------------------------------

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
pub struct Point {
    pub x: f32,
    pub label: Option<String>,
}

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
pub struct AllTypes {
    pub id: i64,
    pub i8_: i8,
    pub i16_: i16,
    pub i32_: i32,
    pub u8_: u8,
    pub u16_: u16,
    pub u32_: u32,
    pub u64_: u64,
    pub f32_: f32,
    pub f64_: f64,
    pub flag: bool,
    pub text: String,
    pub maybe_text: Option<String>,
    pub maybe_int: Option<i32>,
    pub bytes: Vec<u8>,
    pub side: Side,
    pub maybe_side: Option<Side>,
    pub list: Vec<i32>,
    pub strings: Vec<String>,
    pub fixed: [f64; 3],
    pub point: Point,
    pub maybe_point: Option<Point>,
    pub points: Vec<Point>,
    pub map: BTreeMap<String, i64>,
    pub big: i128,
}

fn all_types() -> Vec<AllTypes> {
    (0..3000)
        .map(|i| AllTypes {
            id: i,
            i8_: (i % 256 - 128) as i8,
            i16_: i16::MIN + i as i16,
            i32_: i32::MAX - i as i32,
            u8_: (i % 256) as u8,
            u16_: u16::MAX - i as u16,
            u32_: u32::MAX - i as u32,
            u64_: u64::MAX - i as u64,
            f32_: i as f32 / 4.0,
            f64_: -(i as f64) / 3.0,
            flag: i % 3 == 0,
            text: format!("ü{i}"),
            maybe_text: (i % 2 == 0).then(|| format!("t{i}")),
            maybe_int: (i % 5 != 0).then_some(i as i32),
            bytes: vec![0, 255, i as u8],
            side: if i % 2 == 0 { Side::Buy } else { Side::Sell },
            maybe_side: match i % 3 {
                0 => None,
                1 => Some(Side::Sell),
                _ => Some(Side::Buy),
            },
            list: (0..(i % 4) as i32).collect(),
            strings: vec!["a".into(); (i % 3) as usize],
            fixed: [i as f64, 0.5, -1.0],
            point: Point {
                x: i as f32,
                label: Some("p".into()),
            },
            maybe_point: (i % 2 == 1).then_some(Point {
                x: 1.0,
                label: None,
            }),
            points: vec![
                Point {
                    x: 2.0,
                    label: None
                };
                (i % 2) as usize
            ],
            map: (0..(i % 3)).map(|k| (format!("k{k}"), k)).collect(),
            big: i128::from(i) * 10_i128.pow(30),
        })
        .collect()
}

#[test]
fn every_core_type_round_trips_through_duckdb() {
    let rows = all_types();
    let store = ArrowStore::<AllTypes>::new();
    store
        .append_batch(AllTypesSoA::from(rows.clone()).into_record_batch().unwrap())
        .unwrap();
    let sql = SqlEngine::in_memory().unwrap();
    sql.register("t", &store).unwrap();
    let back: AllTypesSoA = sql.query("SELECT * FROM t ORDER BY id").unwrap();
    assert_eq!(back.into_rows(), rows);

    // The same through a ParquetStore view.
    let dir = tempfile::tempdir().unwrap();
    let parquet = tokio_block(async {
        let parquet = ParquetStore::<AllTypes>::create(dir.path().join("t"))
            .await
            .unwrap();
        parquet
            .save(&AllTypesSoA::from(rows.clone()))
            .await
            .unwrap();
        parquet
    });
    sql.register("p", &parquet).unwrap();
    let back: AllTypesSoA = sql.query("SELECT * FROM p ORDER BY id").unwrap();
    assert_eq!(back.into_rows(), rows);
}

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
pub struct Extras {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub maybe_at: Option<DateTime<Utc>>,
    pub naive: NaiveDateTime,
    pub day: NaiveDate,
    pub time: NaiveTime,
    pub uuid: Uuid,
    pub maybe_uuid: Option<Uuid>,
    pub amount: Decimal,
}

fn extras() -> Vec<Extras> {
    (0..100)
        .map(|i| {
            let at = Utc.with_ymd_and_hms(2024, 2, 29, 12, 0, 0).unwrap()
                + TimeDelta::microseconds(i * 1_000_001);
            Extras {
                id: i,
                at,
                maybe_at: (i % 2 == 0).then_some(at),
                naive: at.naive_utc(),
                day: at.date_naive(),
                time: at.time(),
                uuid: Uuid::from_u128(0x1234_5678_9abc_def0_0fed_cba9_8765_4321 + i as u128),
                maybe_uuid: (i % 3 == 0).then(|| Uuid::from_u128(i as u128)),
                amount: Decimal::from_str("12345.6789").unwrap() * Decimal::from(i),
            }
        })
        .collect()
}

#[test]
fn chrono_uuid_and_decimal_round_trip_through_duckdb() {
    let rows = extras();
    let store = ArrowStore::<Extras>::new();
    store
        .append_batch(ExtrasSoA::from(rows.clone()).into_record_batch().unwrap())
        .unwrap();
    let sql = SqlEngine::in_memory().unwrap();
    sql.register("x", &store).unwrap();

    #[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
    struct Types {
        at: String,
        naive: String,
        day: String,
        time: String,
        uuid: String,
        amount: String,
    }
    let types: TypesSoA = sql
        .query(
            // `at` is a DuckDB keyword (AT TIME ZONE): quoted.
            r#"SELECT typeof("at") AS "at", typeof(naive) AS naive, typeof(day) AS day,
               typeof(time) AS time, typeof(uuid) AS uuid, typeof(amount) AS amount FROM x LIMIT 1"#,
        )
        .unwrap();
    assert_eq!(
        types.into_rows().remove(0),
        Types {
            at: "TIMESTAMP WITH TIME ZONE".into(),
            naive: "TIMESTAMP".into(),
            day: "DATE".into(),
            time: "TIME".into(),
            uuid: "UUID".into(),
            amount: "DECIMAL(38,9)".into(),
        }
    );
    let back: ExtrasSoA = sql.query("SELECT * FROM x ORDER BY id").unwrap();
    assert_eq!(back.into_rows(), rows);
}

// ---- error paths -------------------------------------------------------------------------------

#[test]
fn bad_sql_is_a_syntax_error_with_duckdbs_message() {
    let sql = SqlEngine::in_memory().unwrap();
    let error = sql.query_arrow("SELEC 1").unwrap_err();
    assert_eq!(sql_kind(&error), SqlErrorKind::Syntax);
    let text = error.full_message();
    assert!(text.contains("Parser Error"), "{text}");
    assert!(text.contains("SELEC 1"), "{text}");
    // The DuckDB error is the typed source (boxed: it is large).
    match &error {
        Error::Sql { source, .. } => {
            let duck: &soa_runtime::sql::duckdb::Error = source;
            assert!(duck.to_string().contains("Parser Error"), "{duck}");
        }
        other => panic!("expected Error::Sql, got {other:?}"),
    }
    assert!(std::error::Error::source(&error).is_some());
    // Same through the typed path and execute.
    let error = sql.query::<RevenueSoA>("SELECT FROM WHERE").unwrap_err();
    assert_eq!(sql_kind(&error), SqlErrorKind::Syntax);
    let error = sql.execute("CREATE TABLE (").unwrap_err();
    assert_eq!(sql_kind(&error), SqlErrorKind::Syntax);
}

#[test]
fn unknown_table_and_column() {
    let sql = SqlEngine::in_memory().unwrap();
    let error = sql.query::<RevenueSoA>(GROUP_BY).unwrap_err();
    assert_eq!(sql_kind(&error), SqlErrorKind::UnknownName);
    let text = error.full_message();
    assert!(
        text.contains("Catalog Error") && text.contains("orders"),
        "{text}"
    );

    sql.register("orders", &arrow_store(&orders(10))).unwrap();
    let error = sql.query_arrow("SELECT nope FROM orders").unwrap_err();
    assert_eq!(sql_kind(&error), SqlErrorKind::Binding);
    assert!(error.full_message().contains("nope"), "{error}");
}

fn result_error(error: Error) -> (String, Option<String>, Error) {
    match error {
        Error::SqlResult {
            target,
            detail,
            source,
            ..
        } => (target.to_owned(), detail, *source),
        other => panic!("expected Error::SqlResult, got {other:?}"),
    }
}

#[test]
fn result_that_does_not_fit_names_struct_and_field() {
    let sql = SqlEngine::in_memory().unwrap();
    sql.register("orders", &arrow_store(&orders(10))).unwrap();

    // A missing column.
    let error = sql
        .query::<RevenueSoA>("SELECT side, count(*) AS n FROM orders GROUP BY side")
        .unwrap_err();
    let text = error.full_message();
    let (target, _, source) = result_error(error);
    assert_eq!(target, "Revenue");
    assert!(
        matches!(
            source,
            Error::MissingColumn {
                struct_name: "Revenue",
                field: "total",
                ..
            }
        ),
        "{source:?}"
    );
    assert!(
        text.contains("Revenue.total") && text.contains("GROUP BY side"),
        "{text}"
    );

    // A type that is not converted implicitly (VARCHAR into f64).
    let error = sql
        .query::<RevenueSoA>("SELECT side, 'x' AS total, 1 AS n FROM orders")
        .unwrap_err();
    let (_, _, source) = result_error(error);
    match source {
        Error::Column {
            struct_name: "Revenue",
            field: "total",
            source: FieldError::TypeMismatch { expected, found },
        } => {
            assert_eq!(expected, DataType::Float64);
            assert_eq!(found, DataType::Utf8);
        }
        other => panic!("{other:?}"),
    }

    // A DOUBLE is not truncated into an integer.
    let error = sql
        .query::<RevenueSoA>("SELECT side, 1.0 AS total, 2.5::DOUBLE AS n FROM orders")
        .unwrap_err();
    let (_, detail, source) = result_error(error);
    assert!(
        matches!(source, Error::Column { field: "n", .. }),
        "{source:?}"
    );
    assert!(detail.unwrap().contains("CAST"));

    // A sum that does not fit the field.
    #[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
    struct Small {
        q: i8,
    }
    let error = sql
        .query::<SmallSoA>("SELECT sum(quantity) + 1000 AS q FROM orders")
        .unwrap_err();
    let text = error.full_message();
    let (_, detail, source) = result_error(error);
    assert!(
        matches!(
            source,
            Error::Column {
                struct_name: "Small",
                field: "q",
                ..
            }
        ),
        "{source:?}"
    );
    assert!(detail.unwrap().contains("Int8"), "{text}");

    // A NULL in a field that is not an Option.
    let error = sql
        .query::<RevenueSoA>("SELECT side, NULL::DOUBLE AS total, 1 AS n FROM orders")
        .unwrap_err();
    let (_, _, source) = result_error(error);
    assert!(
        matches!(
            source,
            Error::Column {
                field: "total",
                source: FieldError::UnexpectedNull { .. },
                ..
            }
        ),
        "{source:?}"
    );

    // A string that names no variant.
    let error = sql
        .query::<RevenueSoA>("SELECT 'Hold' AS side, 1.0 AS total, 1 AS n")
        .unwrap_err();
    let (_, _, source) = result_error(error);
    assert!(
        matches!(
            source,
            Error::Column {
                field: "side",
                source: FieldError::UnknownVariant { .. },
                ..
            }
        ),
        "{source:?}"
    );
}

#[test]
fn parquet_store_without_files_and_views_of_dropped_engines() {
    let dir = tempfile::tempdir().unwrap();
    let empty = tokio_block(ParquetStore::<Order>::create(dir.path().join("empty"))).unwrap();
    let sql = SqlEngine::in_memory().unwrap();
    // An empty store is still a dataset (an empty data.parquet with the schema): the view
    // works and has no rows.
    sql.register("archive", &empty).unwrap();
    let batches = sql
        .query_arrow("SELECT order_id, side FROM archive")
        .unwrap();
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 0);
    assert_eq!(batches[0].num_columns(), 2);

    // A run-time failure inside a query is an execution error too.
    let error = sql.query_arrow("SELECT 'abc'::INTEGER").unwrap_err();
    assert_eq!(sql_kind(&error), SqlErrorKind::Execution);
    assert!(error.full_message().contains("Conversion Error"), "{error}");
}

fn tokio_block<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

#[test]
fn arrays_with_nulls_come_back_as_options() {
    let sql = SqlEngine::in_memory().unwrap();
    #[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
    struct Maybe {
        v: Option<i64>,
        s: Option<String>,
    }
    let rows: MaybeSoA = sql
        .query("SELECT * FROM (VALUES (1, 'a'), (NULL, NULL)) t(v, s) ORDER BY v NULLS LAST")
        .unwrap();
    assert_eq!(rows.v, [Some(1), None]);
    assert_eq!(rows.s, [Some("a".to_owned()), None]);
    let batches = sql.query_arrow("SELECT 1 AS one").unwrap();
    assert_eq!(batches[0].column(0).len(), 1);
}

/// A partitioned `ParquetStore` is one view: DuckDB reads the Hive directories with the partition
/// columns' types (a string value "007" stays VARCHAR, an enum partition is the ENUM again).
#[test]
fn partitioned_parquet_store_is_one_view() {
    let dir = tempfile::tempdir().unwrap();
    let mut rows = orders(2_000);
    for (i, o) in rows.iter_mut().enumerate() {
        if i % 3 == 0 {
            o.symbol = "007".into();
        }
    }
    let store = tokio_block(async {
        ParquetStore::<Order>::builder(dir.path().join("orders"))
            .partition_by(["symbol", "side", "bucket(4, customer_id)"])
            .create()
            .await
            .unwrap()
    });
    // Registered while empty: the view follows the appends.
    let sql = SqlEngine::in_memory().unwrap();
    sql.register("parted", &store).unwrap();
    #[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
    struct Count {
        n: i64,
    }
    let n: CountSoA = sql.query("SELECT count(*) AS n FROM parted").unwrap();
    assert_eq!(n.n, [0]);
    tokio_block(store.append(&OrderSoA::from(rows.clone()))).unwrap();
    let all: OrderSoA = sql.query("SELECT * FROM parted ORDER BY order_id").unwrap();
    assert_eq!(all.into_rows(), rows);
    #[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
    struct PerSymbol {
        symbol: String,
        side: Side,
        n: i64,
    }
    let got: PerSymbolSoA = sql
        .query(
            "SELECT symbol, side, count(*) AS n FROM parted WHERE symbol = '007' \
             GROUP BY ALL ORDER BY side",
        )
        .unwrap();
    let count = |side| {
        rows.iter()
            .filter(|o| o.symbol == "007" && o.side == side)
            .count() as i64
    };
    assert_eq!(
        got.into_rows(),
        vec![
            PerSymbol {
                symbol: "007".into(),
                side: Side::Buy,
                n: count(Side::Buy)
            },
            PerSymbol {
                symbol: "007".into(),
                side: Side::Sell,
                n: count(Side::Sell)
            },
        ]
    );
    // Appends show up in the next query.
    tokio_block(store.append(&OrderSoA::from(orders(10)))).unwrap();
    let n: CountSoA = sql.query("SELECT count(*) AS n FROM parted").unwrap();
    assert_eq!(n.n, [2_010]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tiered_store_view_reads_both_tiers_once_across_flushes() {
    use soa_runtime::store::tiered::{FlushPolicy, TieredOptions, TieredStore};
    let rows = orders(6_000);
    let dir = tempfile::tempdir().unwrap();
    let cold = ParquetStore::<Order>::open_or_create(dir.path().join("cold"))
        .await
        .unwrap();
    let never = FlushPolicy::new()
        .rows(u64::MAX)
        .bytes(u64::MAX)
        .age(std::time::Duration::from_secs(3600));
    let store = TieredStore::open(
        dir.path().join("wal"),
        cold,
        TieredOptions::new().flush(never),
    )
    .await
    .unwrap();
    let ingest = store.ingestor();
    ingest
        .send_batch(&OrderSoA::from(rows[..2_000].to_vec()))
        .await
        .unwrap();
    store.flush().await.unwrap();
    ingest
        .send_batch(&OrderSoA::from(rows[2_000..3_000].to_vec()))
        .await
        .unwrap();
    let sql = SqlEngine::in_memory().unwrap();
    sql.register("orders", &store).unwrap();

    #[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
    struct Count {
        n: u64,
    }
    let count: CountSoA = sql.query("SELECT count(*) AS n FROM orders").unwrap();
    assert_eq!(count.n, [3_000], "2,000 cold + 1,000 hot rows");
    assert_revenue(sql.query(GROUP_BY).unwrap(), &rows[..3_000]);

    // Queries while producers send and flushes run: every row once.
    let producer = {
        let ingest = store.ingestor();
        let rest = rows[3_000..].to_vec();
        tokio::spawn(async move {
            for chunk in rest.chunks(100) {
                ingest
                    .send_batch(&OrderSoA::from(chunk.to_vec()))
                    .await
                    .unwrap();
            }
        })
    };
    let flusher = {
        let store = store.clone();
        tokio::spawn(async move {
            for _ in 0..10 {
                store.flush().await.unwrap();
                tokio::time::sleep(std::time::Duration::from_millis(3)).await;
            }
        })
    };
    let mut last = 0;
    for _ in 0..20 {
        let sql = &sql;
        let ids: OrderIdSoA =
            tokio::task::block_in_place(|| sql.query("SELECT order_id FROM orders").unwrap());
        let unique: std::collections::HashSet<u64> = ids.order_id.iter().copied().collect();
        assert_eq!(unique.len(), ids.order_id.len(), "a row seen twice");
        assert!(ids.order_id.len() >= last);
        last = ids.order_id.len();
    }
    producer.await.unwrap();
    flusher.await.unwrap();
    store.flush().await.unwrap();
    assert_revenue(sql.query(GROUP_BY).unwrap(), &rows);
    let back: OrderSoA = sql.query("SELECT * FROM orders ORDER BY order_id").unwrap();
    let mut want = rows.clone();
    want.sort_by_key(|o| o.order_id);
    assert_eq!(back.into_rows(), want);
}

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
struct OrderId {
    order_id: u64,
}

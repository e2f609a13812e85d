//! Field and container attributes, and schema evolution on load.

use std::sync::Arc;

use soa_runtime::arrow::array::cast::AsArray;
use soa_runtime::arrow::array::{
    Array, ArrayRef, DictionaryArray, Float32Array, Int32Array, LargeStringArray, RecordBatch,
    StringArray, UInt8Array,
};
use soa_runtime::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use soa_runtime::{Soa, ToArrow};
use soa_tests::render_schema;

#[derive(Soa, ToArrow, Debug, Clone, PartialEq, Default)]
pub struct Venue {
    pub mic: String,
    pub lot: u32,
}

#[derive(Soa, ToArrow, Debug, Clone, Copy, PartialEq)]
#[soa(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderType {
    Limit,
    StopLoss,
    #[soa(rename = "mkt")]
    Market,
}

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
#[soa(
    rename_all = "camelCase",
    metadata(owner = "desk-7", schema_version = "3")
)]
pub struct Trade {
    pub trade_id: u64,
    #[soa(rename = "SYM", dictionary)]
    pub symbol: String,
    pub order_type: OrderType,
    #[soa(large)]
    pub comment: Option<String>,
    #[soa(large)]
    pub payload: Vec<u8>,
    #[soa(large)]
    pub fills: Vec<u32>,
    #[soa(timestamp = "ms", metadata(unit_note = "exchange time"))]
    pub exec_ts: i64,
    #[soa(timestamp = "ns")]
    pub ack_ts: Option<i64>,
    #[soa(decimal(precision = 18, scale = 4))]
    pub fee: i128,
    #[soa(skip)]
    pub cache: Vec<u64>,
    #[soa(default)]
    pub retries: u16,
    #[soa(flatten)]
    pub venue: Venue,
}

fn trades() -> Vec<Trade> {
    vec![
        Trade {
            trade_id: 1,
            symbol: "AAPL".into(),
            order_type: OrderType::StopLoss,
            comment: None,
            payload: vec![1, 2],
            fills: vec![10, 20],
            exec_ts: -1_000,
            ack_ts: Some(5),
            fee: 12_3456,
            cache: vec![],
            retries: 2,
            venue: Venue {
                mic: "XNAS".into(),
                lot: 100,
            },
        },
        Trade {
            trade_id: 2,
            symbol: "AAPL".into(),
            order_type: OrderType::Market,
            comment: Some("ünï".into()),
            payload: vec![],
            fills: vec![],
            exec_ts: 1_700_000_000_000,
            ack_ts: None,
            fee: -1,
            cache: vec![],
            retries: 0,
            venue: Venue {
                mic: "".into(),
                lot: 0,
            },
        },
    ]
}

#[test]
fn attributes_shape_the_schema() {
    let schema = TradeSoA::schema();
    insta::assert_snapshot!(render_schema(&schema));
    let f = |name: &str| schema.field_with_name(name).unwrap().data_type().clone();
    assert_eq!(
        f("SYM"),
        DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
    );
    assert_eq!(f("comment"), DataType::LargeUtf8);
    assert_eq!(f("payload"), DataType::LargeBinary);
    assert!(matches!(f("fills"), DataType::LargeList(_)));
    assert_eq!(
        f("execTs"),
        DataType::Timestamp(TimeUnit::Millisecond, None)
    );
    assert_eq!(f("ackTs"), DataType::Timestamp(TimeUnit::Nanosecond, None));
    assert_eq!(f("fee"), DataType::Decimal128(18, 4));
    assert_eq!(f("venue_mic"), DataType::Utf8);
    assert_eq!(f("venue_lot"), DataType::UInt32);
    assert!(
        schema.field_with_name("cache").is_err(),
        "skipped fields have no column"
    );
    assert_eq!(
        schema.metadata().get("owner").map(String::as_str),
        Some("desk-7")
    );
    assert_eq!(
        schema
            .field_with_name("execTs")
            .unwrap()
            .metadata()
            .get("unit_note")
            .map(String::as_str),
        Some("exchange time")
    );
    assert_eq!(
        <OrderType as soa_runtime::UnitEnum>::VARIANTS,
        ["LIMIT", "STOP_LOSS", "mkt"]
    );
}

#[test]
fn attributes_round_trip() {
    let rows = trades();
    let soa: TradeSoA = rows.clone().into();
    let batch = soa.to_record_batch().unwrap();
    // `skip` fields load as Default.
    let mut expected = rows.clone();
    for r in &mut expected {
        r.cache = Vec::new();
    }
    assert_eq!(
        TradeSoA::from_record_batch(&batch).unwrap().into_rows(),
        expected
    );
    assert_eq!(TradeSoA::rows_from_record_batch(&batch).unwrap(), expected);
    let moved = soa.into_record_batch().unwrap();
    assert_eq!(
        TradeSoA::try_from_record_batch(moved).unwrap().into_rows(),
        expected
    );
}

#[test]
fn empty_round_trip() {
    let soa = TradeSoA::new();
    let batch = soa.to_record_batch().unwrap();
    assert_eq!(batch.num_rows(), 0);
    assert!(TradeSoA::from_record_batch(&batch).unwrap().is_empty());
}

/// Version 1 of a struct, as an older writer had it.
#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
pub struct QuoteV1 {
    pub id: i32,
    pub bid: f32,
    pub venue: String,
    pub size: u8,
}

/// Version 2 reads version 1 batches.
#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
pub struct QuoteV2 {
    pub id: i64,
    pub bid: f64,
    pub venue: String,
    pub size: u32,
    pub note: Option<String>,
    #[soa(default)]
    pub level: u8,
}

#[test]
fn evolution_missing_option_and_default_columns_and_widening() {
    let v1: QuoteV1SoA = vec![
        QuoteV1 {
            id: -5,
            bid: 1.5,
            venue: "X".into(),
            size: 200,
        },
        QuoteV1 {
            id: 7,
            bid: -0.25,
            venue: "Ÿ".into(),
            size: 0,
        },
    ]
    .into();
    let batch = v1.into_record_batch().unwrap();
    let v2 = QuoteV2SoA::from_record_batch(&batch).unwrap();
    assert_eq!(
        QuoteV2SoA::rows_from_record_batch(&batch).unwrap(),
        v2.clone().into_rows()
    );
    assert_eq!(
        v2.into_rows(),
        vec![
            QuoteV2 {
                id: -5,
                bid: 1.5,
                venue: "X".into(),
                size: 200,
                note: None,
                level: 0
            },
            QuoteV2 {
                id: 7,
                bid: -0.25,
                venue: "Ÿ".into(),
                size: 0,
                note: None,
                level: 0
            },
        ]
    );
    assert_eq!(QuoteV2SoA::try_from_record_batch(batch).unwrap().len(), 2);
}

#[test]
fn evolution_string_encodings() {
    // LargeUtf8 and Dictionary<Utf8> load into a String field; Utf8 loads into a `large` field.
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int32, false),
        Field::new("bid", DataType::Float32, false),
        Field::new("venue", DataType::LargeUtf8, false),
        Field::new("size", DataType::UInt8, false),
        Field::new(
            "note",
            DataType::Dictionary(Box::new(DataType::Int16), Box::new(DataType::Utf8)),
            true,
        ),
    ]));
    let note: DictionaryArray<soa_runtime::arrow::array::types::Int16Type> =
        vec![Some("a"), None].into_iter().collect();
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int32Array::from(vec![1, 2])) as ArrayRef,
            Arc::new(Float32Array::from(vec![0.5, 1.0])),
            Arc::new(LargeStringArray::from(vec!["p", "q"])),
            Arc::new(UInt8Array::from(vec![3, 4])),
            Arc::new(note),
        ],
    )
    .unwrap();
    let v2 = QuoteV2SoA::from_record_batch(&batch).unwrap();
    assert_eq!(
        QuoteV2SoA::rows_from_record_batch(&batch).unwrap(),
        v2.clone().into_rows()
    );
    assert_eq!(v2.venue, ["p", "q"]);
    assert_eq!(v2.note, [Some("a".to_owned()), None]);
}

#[test]
fn evolution_rejects_unsafe_changes() {
    // Int64 -> Int32 narrowing and Float64 -> f32 are not safe: errors name the field and types.
    let batch = QuoteV2SoA::from(vec![QuoteV2 {
        id: 1,
        bid: 1.0,
        venue: "v".into(),
        size: 1,
        note: None,
        level: 1,
    }])
    .into_record_batch()
    .unwrap();
    let err = QuoteV1SoA::from_record_batch(&batch)
        .unwrap_err()
        .to_string();
    assert_eq!(err, "QuoteV1.id: expected Arrow type Int32, found Int64");
    // A required (non-Option, non-default) column that is missing stays an error.
    let only_id = batch.project(&[0]).unwrap();
    let err = QuoteV2SoA::from_record_batch(&only_id)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("QuoteV2.bid: column \"bid\" is missing"),
        "{err}"
    );
    let strings: ArrayRef = Arc::new(StringArray::from(vec!["1"]));
    let bad = RecordBatch::try_new(
        Arc::new(Schema::new(vec![Field::new("id", DataType::Utf8, false)])),
        vec![strings],
    )
    .unwrap();
    let err = QuoteV2SoA::from_record_batch(&bad).unwrap_err().to_string();
    assert_eq!(err, "QuoteV2.id: expected Arrow type Int64, found Utf8");
    assert_eq!(bad.column(0).len(), 1);
}

#[derive(Soa, ToArrow, Debug, Clone, Copy, PartialEq)]
#[repr(u8)]
pub enum Level {
    Low = 1,
    High = 10,
    Critical = 200,
}

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
pub struct Alert {
    pub level: Level,
    pub previous: Option<Level>,
}

#[test]
fn unit_enum_with_explicit_discriminants_stores_names() {
    let rows = vec![
        Alert {
            level: Level::Critical,
            previous: None,
        },
        Alert {
            level: Level::Low,
            previous: Some(Level::High),
        },
    ];
    let batch = AlertSoA::from(rows.clone()).into_record_batch().unwrap();
    let dict = batch.column(0).as_any_dictionary_opt().unwrap();
    let names = dict
        .values()
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap();
    assert_eq!(
        names.iter().flatten().collect::<Vec<_>>(),
        ["Low", "High", "Critical"]
    );
    assert_eq!(
        AlertSoA::from_record_batch(&batch).unwrap().into_rows(),
        rows
    );
}

/// A generic struct bounded by the mapping trait itself.
#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
pub struct Point<T: soa_runtime::ArrowField> {
    pub x: T,
    pub y: T,
}

#[test]
fn generic_point() {
    let rows = vec![Point { x: 1u16, y: 2 }, Point { x: 3, y: 4 }];
    let batch = PointSoA::from(rows.clone()).to_record_batch().unwrap();
    assert_eq!(batch.schema().field(0).data_type(), &DataType::UInt16);
    assert_eq!(
        PointSoA::<u16>::from_record_batch(&batch)
            .unwrap()
            .into_rows(),
        rows
    );
    let floats = PointSoA::from(vec![Point { x: 0.5f32, y: -1.0 }])
        .to_record_batch()
        .unwrap();
    assert_eq!(floats.schema().field(1).data_type(), &DataType::Float32);
}

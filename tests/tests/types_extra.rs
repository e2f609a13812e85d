//! The field types beyond the primitives: 128-bit integers, `char`, `Box`/`Arc`, shared and borrowed
//! strings, maps, chrono, uuid and rust_decimal, plus a user newtype. Each round-trips through a
//! record batch with and without nulls, empty and at its extremes; each error path names the field.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;
use std::sync::Arc;

use chrono::{
    DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, TimeZone, Utc,
};
use rust_decimal::Decimal;
use soa_runtime::arrow::array::{
    Array, ArrayRef, BinaryArray, Date64Array, Decimal128Array, DurationNanosecondArray, Int8Array,
    Int64Array, MapArray, RecordBatch, StringArray, Time32SecondArray, TimestampNanosecondArray,
    TimestampSecondArray, UInt64Array,
};
use soa_runtime::arrow::datatypes::{DataType, Field, Fields, Schema, TimeUnit};
use soa_runtime::field::adapt::{self, Adapter, Millisecond, Nanosecond, Second};
use soa_runtime::{ArrowField, Error, FieldError, Soa, ToArrow};
use soa_tests::render_schema;
use uuid::Uuid;

/// A user type opting in by implementing `ArrowField` (delegating to `i64`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cents(pub i64);

impl ArrowField for Cents {
    fn data_type() -> DataType {
        i64::data_type()
    }
    fn to_array(values: &[Self]) -> Result<ArrayRef, FieldError> {
        i64::into_array(values.iter().map(|c| c.0).collect())
    }
    fn from_array(array: &dyn Array) -> Result<Vec<Self>, FieldError> {
        Ok(i64::from_array(array)?.into_iter().map(Cents).collect())
    }
    fn to_array_opt(values: &[Option<Self>]) -> Result<ArrayRef, FieldError> {
        i64::to_array_opt(&values.iter().map(|c| c.map(|c| c.0)).collect::<Vec<_>>())
    }
    fn from_array_opt(array: &dyn Array) -> Result<Vec<Option<Self>>, FieldError> {
        Ok(i64::from_array_opt(array)?
            .into_iter()
            .map(|c| c.map(Cents))
            .collect())
    }
}

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
pub struct Extra {
    pub big: i128,
    pub ubig: u128,
    pub maybe_big: Option<i128>,
    pub maybe_ubig: Option<u128>,
    pub bigs: Vec<i128>,
    pub letter: char,
    pub maybe_letter: Option<char>,
    pub letters: Vec<char>,
    pub boxed: Box<i32>,
    pub maybe_boxed: Option<Box<String>>,
    pub shared: Arc<f64>,
    pub maybe_shared: Option<Arc<u8>>,
    pub shared_str: Arc<str>,
    pub maybe_shared_str: Option<Arc<str>>,
    pub boxed_str: Box<str>,
    pub cow: Cow<'static, str>,
    pub maybe_cow: Option<Cow<'static, str>>,
    pub cows: Vec<Cow<'static, str>>,
    pub hash: HashMap<String, i64>,
    pub maybe_hash: Option<HashMap<u32, Option<String>>>,
    pub tree: BTreeMap<i32, Vec<String>>,
    pub maybe_tree: Option<BTreeMap<String, f64>>,
    pub trees: Vec<BTreeMap<u8, bool>>,
    pub at: DateTime<Utc>,
    pub maybe_at: Option<DateTime<Utc>>,
    pub at_offset: DateTime<FixedOffset>,
    pub naive: NaiveDateTime,
    pub maybe_naive: Option<NaiveDateTime>,
    pub day: NaiveDate,
    pub maybe_day: Option<NaiveDate>,
    pub days: Option<Vec<Option<NaiveDate>>>,
    pub time: NaiveTime,
    pub maybe_time: Option<NaiveTime>,
    pub delta: TimeDelta,
    pub maybe_delta: Option<TimeDelta>,
    pub id: Uuid,
    pub maybe_id: Option<Uuid>,
    pub ids: Vec<Uuid>,
    pub amount: Decimal,
    pub maybe_amount: Option<Decimal>,
    pub amounts: Option<Vec<Option<Decimal>>>,
    pub price: Cents,
    pub maybe_price: Option<Cents>,
}

/// 10^38 - 1, the largest magnitude of `Decimal128(38, 0)`.
const MAX38: i128 = 99_999_999_999_999_999_999_999_999_999_999_999_999;

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, micros: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap() + TimeDelta::microseconds(micros.into())
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn time(h: u32, m: u32, s: u32, micros: u32) -> NaiveTime {
    NaiveTime::from_hms_micro_opt(h, m, s, micros).unwrap()
}

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

/// The latest instant chrono can hold outside a leap second, in whole microseconds.
fn max_utc_micros() -> DateTime<Utc> {
    DateTime::from_timestamp(DateTime::<Utc>::MAX_UTC.timestamp(), 999_999_000).unwrap()
}

fn extras() -> Vec<Extra> {
    vec![
        // Zeros, empties and nulls.
        Extra {
            big: 0,
            ubig: 0,
            maybe_big: None,
            maybe_ubig: None,
            bigs: vec![],
            letter: '\0',
            maybe_letter: None,
            letters: vec![],
            boxed: Box::new(0),
            maybe_boxed: None,
            shared: Arc::new(0.0),
            maybe_shared: None,
            shared_str: Arc::from(""),
            maybe_shared_str: None,
            boxed_str: Box::from(""),
            cow: Cow::Borrowed(""),
            maybe_cow: None,
            cows: vec![],
            hash: HashMap::new(),
            maybe_hash: None,
            tree: BTreeMap::new(),
            maybe_tree: None,
            trees: vec![],
            at: DateTime::UNIX_EPOCH,
            maybe_at: None,
            at_offset: DateTime::UNIX_EPOCH.fixed_offset(),
            naive: DateTime::UNIX_EPOCH.naive_utc(),
            maybe_naive: None,
            day: date(1970, 1, 1),
            maybe_day: None,
            days: None,
            time: NaiveTime::MIN,
            maybe_time: None,
            delta: TimeDelta::zero(),
            maybe_delta: None,
            id: Uuid::nil(),
            maybe_id: None,
            ids: vec![],
            amount: Decimal::ZERO,
            maybe_amount: None,
            amounts: None,
            price: Cents(0),
            maybe_price: None,
        },
        // Largest values.
        Extra {
            big: MAX38,
            ubig: MAX38 as u128,
            maybe_big: Some(MAX38),
            maybe_ubig: Some(MAX38 as u128),
            bigs: vec![MAX38, -MAX38, 0],
            letter: '\u{10FFFF}',
            maybe_letter: Some('\u{10FFFF}'),
            letters: vec!['a', '\u{10FFFF}', '\0'],
            boxed: Box::new(i32::MAX),
            maybe_boxed: Some(Box::new(String::new())),
            shared: Arc::new(f64::MAX),
            maybe_shared: Some(Arc::new(u8::MAX)),
            shared_str: Arc::from("max"),
            maybe_shared_str: Some(Arc::from("")),
            boxed_str: Box::from("x".repeat(1000)),
            cow: Cow::Owned("owned".into()),
            maybe_cow: Some(Cow::Borrowed("")),
            cows: vec![Cow::Borrowed(""), Cow::Owned("b".into())],
            hash: HashMap::from([("".to_owned(), i64::MAX), ("k".to_owned(), i64::MIN)]),
            maybe_hash: Some(HashMap::new()),
            tree: BTreeMap::from([(i32::MAX, vec![]), (i32::MIN, vec!["".into()])]),
            maybe_tree: Some(BTreeMap::new()),
            trees: vec![BTreeMap::new(), BTreeMap::from([(u8::MAX, true)])],
            at: max_utc_micros(),
            maybe_at: Some(max_utc_micros()),
            at_offset: max_utc_micros().fixed_offset(),
            naive: max_utc_micros().naive_utc(),
            maybe_naive: Some(max_utc_micros().naive_utc()),
            day: NaiveDate::MAX,
            maybe_day: Some(NaiveDate::MAX),
            days: Some(vec![]),
            time: time(23, 59, 59, 999_999),
            maybe_time: Some(time(23, 59, 59, 999_999)),
            delta: TimeDelta::microseconds(i64::MAX),
            maybe_delta: Some(TimeDelta::microseconds(i64::MAX)),
            id: Uuid::max(),
            maybe_id: Some(Uuid::max()),
            ids: vec![Uuid::max(), Uuid::nil()],
            amount: Decimal::MAX,
            maybe_amount: Some(Decimal::MAX),
            amounts: Some(vec![]),
            price: Cents(i64::MAX),
            maybe_price: Some(Cents(i64::MAX)),
        },
        // Smallest values, dates before 1970.
        Extra {
            big: -MAX38,
            ubig: 1,
            maybe_big: Some(-MAX38),
            maybe_ubig: Some(0),
            bigs: vec![i128::from(i64::MIN) * 1_000],
            letter: 'é',
            maybe_letter: Some('\0'),
            letters: vec!['🚀'],
            boxed: Box::new(i32::MIN),
            maybe_boxed: Some(Box::new("boxed".into())),
            shared: Arc::new(f64::NEG_INFINITY),
            maybe_shared: Some(Arc::new(0)),
            shared_str: Arc::from("Zürich"),
            maybe_shared_str: Some(Arc::from("日本")),
            boxed_str: Box::from("\0"),
            cow: Cow::Borrowed("borrowed"),
            maybe_cow: Some(Cow::Owned("🚀".into())),
            cows: vec![Cow::Owned("日本".into())],
            hash: HashMap::from([("Genève".to_owned(), -1)]),
            maybe_hash: Some(HashMap::from([(0, None), (u32::MAX, Some("v".into()))])),
            tree: BTreeMap::from([(0, vec!["a".into(), "b".into()])]),
            maybe_tree: Some(BTreeMap::from([("π".into(), std::f64::consts::PI)])),
            trees: vec![BTreeMap::from([(0, false), (1, true)])],
            at: DateTime::<Utc>::MIN_UTC,
            maybe_at: Some(utc(1969, 12, 31, 23, 59, 59, 999_999)),
            at_offset: utc(1900, 1, 1, 0, 0, 0, 1).fixed_offset(),
            naive: DateTime::<Utc>::MIN_UTC.naive_utc(),
            maybe_naive: Some(utc(1, 1, 1, 12, 0, 0, 5).naive_utc()),
            day: NaiveDate::MIN,
            maybe_day: Some(date(1969, 12, 31)),
            days: Some(vec![Some(date(-1200, 2, 29)), None, Some(date(1970, 1, 2))]),
            time: time(0, 0, 0, 1),
            maybe_time: Some(NaiveTime::MIN),
            delta: TimeDelta::microseconds(i64::MIN + 1),
            maybe_delta: Some(TimeDelta::microseconds(-1)),
            id: Uuid::from_u128(0x67e5_5044_10b1_426f_9247_bb68_0e5f_e0c8),
            maybe_id: Some(Uuid::nil()),
            ids: vec![Uuid::from_u128(1)],
            amount: Decimal::MIN,
            maybe_amount: Some(dec("-0.000000001")),
            amounts: Some(vec![
                Some(dec("1.5")),
                None,
                Some(dec("-12345678901234567890.123456789")),
            ]),
            price: Cents(i64::MIN),
            maybe_price: Some(Cents(-1)),
        },
        // Everyday values, nulls inside containers.
        Extra {
            big: 42,
            ubig: u128::from(u64::MAX) + 1,
            maybe_big: Some(-1),
            maybe_ubig: None,
            bigs: vec![1, 2, 3],
            letter: 'z',
            maybe_letter: Some('ß'),
            letters: vec!['h', 'i'],
            boxed: Box::new(7),
            maybe_boxed: None,
            shared: Arc::new(-0.5),
            maybe_shared: None,
            shared_str: Arc::from("shared"),
            maybe_shared_str: None,
            boxed_str: Box::from("b"),
            cow: Cow::Owned("c".into()),
            maybe_cow: None,
            cows: vec![],
            hash: HashMap::from([
                ("a".to_owned(), 1),
                ("b".to_owned(), 2),
                ("c".to_owned(), 3),
            ]),
            maybe_hash: None,
            tree: BTreeMap::new(),
            maybe_tree: None,
            trees: vec![],
            at: utc(2024, 2, 29, 12, 30, 15, 123_456),
            maybe_at: None,
            at_offset: FixedOffset::east_opt(2 * 3600)
                .unwrap()
                .with_ymd_and_hms(2024, 6, 1, 9, 0, 0)
                .unwrap(),
            naive: utc(2024, 2, 29, 12, 30, 15, 1).naive_utc(),
            maybe_naive: None,
            day: date(2024, 2, 29),
            maybe_day: None,
            days: Some(vec![None]),
            time: time(12, 0, 0, 0),
            maybe_time: None,
            delta: TimeDelta::days(-365),
            maybe_delta: None,
            id: Uuid::from_u128(u128::MAX - 1),
            maybe_id: None,
            ids: vec![],
            amount: dec("19.99"),
            maybe_amount: None,
            amounts: Some(vec![None]),
            price: Cents(1999),
            maybe_price: None,
        },
    ]
}

/// Round trip through both the borrowing and the consuming conversions.
fn round_trip(rows: &[Extra]) -> RecordBatch {
    let soa: ExtraSoA = rows.to_vec().into();
    let batch = soa.to_record_batch().unwrap();
    assert_eq!(batch.num_rows(), rows.len());
    assert_eq!(
        ExtraSoA::from_record_batch(&batch).unwrap().into_rows(),
        rows
    );
    assert_eq!(ExtraSoA::rows_from_record_batch(&batch).unwrap(), rows);
    let moved = soa.into_record_batch().unwrap();
    assert_eq!(
        ExtraSoA::try_from_record_batch(moved.clone())
            .unwrap()
            .into_rows(),
        rows
    );
    moved
}

#[test]
fn round_trip_empty_one_and_several_rows() {
    let all = extras();
    for n in 0..=all.len() {
        round_trip(&all[..n]);
    }
    // Every row alone, so each is also the first (and only) row of its batch.
    for row in &all {
        round_trip(std::slice::from_ref(row));
    }
    // Many rows: offsets and validity across several bytes.
    let many: Vec<Extra> = all.iter().cycle().take(37).cloned().collect();
    round_trip(&many);
}

#[test]
fn arrow_types_of_the_new_fields() {
    let batch = round_trip(&extras());
    let ty = |name: &str| {
        batch
            .schema()
            .field_with_name(name)
            .unwrap()
            .data_type()
            .clone()
    };
    assert_eq!(ty("big"), DataType::Decimal128(38, 0));
    assert_eq!(ty("ubig"), DataType::Decimal128(38, 0));
    assert_eq!(ty("letter"), DataType::Utf8);
    assert_eq!(ty("boxed"), DataType::Int32);
    assert_eq!(ty("shared_str"), DataType::Utf8);
    assert_eq!(ty("cow"), DataType::Utf8);
    assert!(matches!(ty("hash"), DataType::Map(_, false)));
    assert_eq!(
        ty("at"),
        DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
    );
    assert_eq!(
        ty("naive"),
        DataType::Timestamp(TimeUnit::Microsecond, None)
    );
    assert_eq!(ty("day"), DataType::Date32);
    assert_eq!(ty("time"), DataType::Time64(TimeUnit::Microsecond));
    assert_eq!(ty("delta"), DataType::Duration(TimeUnit::Microsecond));
    assert_eq!(ty("id"), DataType::FixedSizeBinary(16));
    assert_eq!(ty("amount"), DataType::Decimal128(38, 9));
    assert_eq!(ty("price"), DataType::Int64);

    // The raw Arrow values are what other readers see.
    let big = batch.column_by_name("bigs").unwrap();
    assert_eq!(big.len(), 4);
    let at = batch
        .column_by_name("maybe_at")
        .unwrap()
        .as_any()
        .downcast_ref::<soa_runtime::arrow::array::TimestampMicrosecondArray>()
        .unwrap();
    // 1969-12-31T23:59:59.999999Z is one microsecond before the epoch.
    assert_eq!(at.value(2), -1);
    let amount = batch
        .column_by_name("amount")
        .unwrap()
        .as_any()
        .downcast_ref::<Decimal128Array>()
        .unwrap();
    assert_eq!(amount.value(3), 19_990_000_000);
    assert_eq!(amount.value_as_string(3), "19.990000000");
    let id = batch.column_by_name("id").unwrap();
    let id = id
        .as_any()
        .downcast_ref::<soa_runtime::arrow::array::FixedSizeBinaryArray>()
        .unwrap();
    assert_eq!(id.value(1), [0xFF; 16]);
}

#[test]
fn types_extra_schema() {
    insta::assert_snapshot!(render_schema(&ExtraSoA::schema()));
}

#[test]
fn uuid_field_metadata_names_the_extension() {
    // The trait declares it...
    assert_eq!(
        Uuid::field_metadata()
            .get("ARROW:extension:name")
            .map(String::as_str),
        Some("arrow.uuid")
    );
    // ...and list items carry it.
    let schema = ExtraSoA::schema();
    let DataType::List(item) = schema.field_with_name("ids").unwrap().data_type() else {
        panic!("ids is a list");
    };
    assert_eq!(
        item.metadata()
            .get("ARROW:extension:name")
            .map(String::as_str),
        Some("arrow.uuid")
    );
}

#[test]
fn uuid_schema_field_carries_the_extension_name() {
    let schema = ExtraSoA::schema();
    for name in ["id", "maybe_id"] {
        let field = schema.field_with_name(name).unwrap().clone();
        assert_eq!(
            field
                .metadata()
                .get("ARROW:extension:name")
                .map(String::as_str),
            Some("arrow.uuid"),
            "schema field {name} lacks the arrow.uuid extension metadata"
        );
    }
    // The record batch's schema is the same schema.
    let batch = ExtraSoA::from(extras()).to_record_batch().unwrap();
    assert_eq!(batch.schema(), schema);
}

#[test]
fn fixed_offset_keeps_the_instant_not_the_offset() {
    let rows = extras();
    let back =
        ExtraSoA::from_record_batch(&ExtraSoA::from(rows.clone()).to_record_batch().unwrap())
            .unwrap()
            .into_rows();
    assert_eq!(back[3].at_offset, rows[3].at_offset);
    assert_eq!(rows[3].at_offset.offset().local_minus_utc(), 7200);
    assert_eq!(back[3].at_offset.offset().local_minus_utc(), 0);

    // A column whose time zone is itself a fixed offset reads back in that offset.
    let array = TimestampSecondArray::from(vec![0]).with_timezone("+02:00");
    let read = DateTime::<FixedOffset>::from_array(&array).unwrap();
    assert_eq!(read[0].offset().local_minus_utc(), 7200);
    assert_eq!(read[0], DateTime::UNIX_EPOCH);
}

// ---- reading other Arrow layouts -----------------------------------------------------------

#[test]
fn i128_reads_every_integer_column_and_any_precision() {
    let ints: ArrayRef = Arc::new(Int8Array::from(vec![Some(-128), None, Some(127)]));
    assert_eq!(
        i128::from_array_opt(&ints).unwrap(),
        vec![Some(-128), None, Some(127)]
    );
    assert_eq!(
        u128::from_array(&UInt64Array::from(vec![u64::MAX])).unwrap(),
        vec![u128::from(u64::MAX)]
    );
    assert_eq!(
        i128::from_array(&Int64Array::from(vec![i64::MIN])).unwrap(),
        vec![i128::from(i64::MIN)]
    );
    let narrow = Decimal128Array::from(vec![12345])
        .with_precision_and_scale(5, 0)
        .unwrap();
    assert_eq!(i128::from_array(&narrow).unwrap(), vec![12345]);
    // A scaled decimal is not an integer column.
    let scaled = Decimal128Array::from(vec![12345])
        .with_precision_and_scale(5, 2)
        .unwrap();
    assert!(matches!(
        i128::from_array(&scaled),
        Err(FieldError::TypeMismatch { .. })
    ));
}

#[test]
fn timestamps_read_any_unit_exactly() {
    // Nanoseconds (sub-microsecond, before 1970) into a microsecond DateTime field: kept exactly.
    let ns = TimestampNanosecondArray::from(vec![Some(-1), None]).with_timezone("Europe/Paris");
    let read = Option::<DateTime<Utc>>::from_array(&ns).unwrap();
    assert_eq!(read, vec![Some(DateTime::from_timestamp_nanos(-1)), None]);
    let naive = NaiveDateTime::from_array(&TimestampSecondArray::from(vec![-86_400])).unwrap();
    assert_eq!(
        naive,
        vec![date(1969, 12, 31).and_hms_opt(0, 0, 0).unwrap()]
    );
    // Writing truncates towards the past to the column unit.
    let written = DateTime::<Utc>::to_array(&[DateTime::from_timestamp_nanos(-1)]).unwrap();
    let micros = written
        .as_any()
        .downcast_ref::<soa_runtime::arrow::array::TimestampMicrosecondArray>()
        .unwrap();
    assert_eq!(micros.value(0), -1);
}

#[test]
fn dates_times_and_durations_read_other_units() {
    let d64 = Date64Array::from(vec![Some(-86_400_000), None]);
    assert_eq!(
        Option::<NaiveDate>::from_array(&d64).unwrap(),
        vec![Some(date(1969, 12, 31)), None]
    );
    let t32 = Time32SecondArray::from(vec![3661]);
    assert_eq!(NaiveTime::from_array(&t32).unwrap(), vec![time(1, 1, 1, 0)]);
    let ns = DurationNanosecondArray::from(vec![-1, i64::MAX]);
    assert_eq!(
        TimeDelta::from_array(&ns).unwrap(),
        vec![TimeDelta::nanoseconds(-1), TimeDelta::nanoseconds(i64::MAX)]
    );
}

#[test]
fn maps_read_pyarrow_field_names_and_keep_the_last_duplicate() {
    // pyarrow names the fields "key" and "value"; a duplicate key keeps its last value.
    let fields = Fields::from(vec![
        Field::new("key", DataType::Utf8, false),
        Field::new("value", DataType::Int64, true),
    ]);
    let entries = soa_runtime::arrow::array::StructArray::new(
        fields.clone(),
        vec![
            Arc::new(StringArray::from(vec!["a", "a", "b"])),
            Arc::new(Int64Array::from(vec![Some(1), Some(2), None])),
        ],
        None,
    );
    let map = MapArray::try_new(
        Arc::new(Field::new("entries", DataType::Struct(fields), false)),
        soa_runtime::arrow::buffer::OffsetBuffer::new(vec![0, 2, 3, 3].into()),
        entries,
        Some(soa_runtime::arrow::buffer::NullBuffer::from(vec![
            true, true, false,
        ])),
        false,
    )
    .unwrap();
    let read = Option::<HashMap<String, Option<i64>>>::from_array(&map).unwrap();
    assert_eq!(
        read,
        vec![
            Some(HashMap::from([("a".to_owned(), Some(2))])),
            Some(HashMap::from([("b".to_owned(), None)])),
            None,
        ]
    );
    // A non-Option value type rejects the null value.
    assert!(matches!(
        BTreeMap::<String, i64>::from_array(&map.slice(0, 2)),
        Err(FieldError::UnexpectedNull { .. })
    ));
    // Sliced maps read only their own entries.
    assert_eq!(
        BTreeMap::<String, Option<i64>>::from_array(&map.slice(1, 1)).unwrap(),
        vec![BTreeMap::from([("b".to_owned(), None)])]
    );
}

#[test]
fn uuid_reads_binary_and_text() {
    let id = Uuid::from_u128(0x67e5_5044_10b1_426f_9247_bb68_0e5f_e0c8);
    let text = StringArray::from(vec![Some("67e55044-10b1-426f-9247-bb680e5fe0c8"), None]);
    assert_eq!(
        Option::<Uuid>::from_array(&text).unwrap(),
        vec![Some(id), None]
    );
    let bytes = BinaryArray::from(vec![id.as_bytes().as_slice()]);
    assert_eq!(Uuid::from_array(&bytes).unwrap(), vec![id]);
}

#[test]
fn decimals_read_any_scale_exactly() {
    // Scale 2 and scale 30 (trailing zeros dropped) both read as the exact value.
    let cents = Decimal128Array::from(vec![Some(-1999), None])
        .with_precision_and_scale(10, 2)
        .unwrap();
    assert_eq!(
        Option::<Decimal>::from_array(&cents).unwrap(),
        vec![Some(dec("-19.99")), None]
    );
    let fine = Decimal128Array::from(vec![15 * 10i128.pow(29)])
        .with_precision_and_scale(38, 30)
        .unwrap();
    assert_eq!(Decimal::from_array(&fine).unwrap(), vec![dec("1.5")]);
    // A negative scale multiplies.
    let thousands = Decimal128Array::from(vec![7])
        .with_precision_and_scale(3, -3)
        .unwrap();
    assert_eq!(Decimal::from_array(&thousands).unwrap(), vec![dec("7000")]);
}

#[test]
fn adapters_pick_units_and_precision() {
    type Ns = adapt::Timestamp<Nanosecond>;
    type Ms = adapt::Timestamp<Millisecond>;
    type S = adapt::Timestamp<Second>;
    let at = DateTime::from_timestamp_nanos(-1_234_567_891);
    let array = <Ns as Adapter<DateTime<Utc>>>::to_array(&[at]).unwrap();
    assert_eq!(
        array.data_type(),
        &DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into()))
    );
    assert_eq!(
        <Ns as Adapter<DateTime<Utc>>>::from_array(&array).unwrap(),
        vec![at]
    );
    // Milliseconds truncate towards the past.
    let ms = <Ms as Adapter<NaiveDateTime>>::to_array_opt(&[Some(at.naive_utc()), None]).unwrap();
    assert_eq!(
        ms.data_type(),
        &DataType::Timestamp(TimeUnit::Millisecond, None)
    );
    assert_eq!(
        <Ms as Adapter<NaiveDateTime>>::from_array_opt(&ms).unwrap(),
        vec![
            Some(DateTime::from_timestamp_millis(-1_235).unwrap().naive_utc()),
            None
        ]
    );
    // Seconds cover chrono's whole range.
    let extremes = [
        DateTime::<Utc>::MIN_UTC,
        DateTime::from_timestamp(DateTime::<Utc>::MAX_UTC.timestamp(), 0).unwrap(),
    ];
    let s = <S as Adapter<DateTime<Utc>>>::to_array(&extremes).unwrap();
    assert_eq!(
        <S as Adapter<DateTime<Utc>>>::from_array(&s).unwrap(),
        extremes
    );
    // Decimal(P, S) on rust_decimal and on raw i128.
    type Money = adapt::Decimal<12, 2>;
    let array = <Money as Adapter<Decimal>>::to_array_opt(&[
        Some(dec("-1234567890.12")),
        None,
        Some(dec("1.500")),
    ])
    .unwrap();
    assert_eq!(array.data_type(), &DataType::Decimal128(12, 2));
    assert_eq!(
        <Money as Adapter<Decimal>>::from_array_opt(&array).unwrap(),
        vec![Some(dec("-1234567890.12")), None, Some(dec("1.5"))]
    );
    let raw = <Money as Adapter<i128>>::to_array(&[999_999_999_999, -1]).unwrap();
    assert_eq!(
        <Money as Adapter<i128>>::from_array(&raw).unwrap(),
        vec![999_999_999_999, -1]
    );
    // Reading another scale rescales the raw value when exact.
    let other = Decimal128Array::from(vec![Some(150), None])
        .with_precision_and_scale(5, 1)
        .unwrap();
    assert_eq!(
        <Money as Adapter<i128>>::from_array_opt(&other).unwrap(),
        vec![Some(1500), None]
    );
}

#[test]
fn boxed_option_and_arc_forward_everything() {
    const { assert!(<Box<Option<i32>>>::NULLABLE) };
    assert_eq!(<Arc<Uuid>>::field_metadata(), Uuid::field_metadata());
    assert_eq!(
        <Box<Option<u8>>>::absent(2).map(|v| v.into_iter().map(|b| *b).collect::<Vec<_>>()),
        Some(vec![None, None])
    );
    let array = <Arc<Option<char>>>::to_array(&[Arc::new(Some('x')), Arc::new(None)]).unwrap();
    assert_eq!(array.null_count(), 1);
    assert_eq!(
        <Arc<Option<char>>>::from_array(&array).unwrap(),
        vec![Arc::new(Some('x')), Arc::new(None)]
    );
}

// ---- a borrowed &str field is write-only ---------------------------------------------------

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
pub struct Borrowed<'a> {
    pub name: &'a str,
    pub note: Option<&'a str>,
}

#[test]
fn borrowed_str_writes_but_cannot_be_read() {
    let text = String::from("temporary");
    let rows = vec![
        Borrowed {
            name: &text,
            note: None,
        },
        Borrowed {
            name: "",
            note: Some("日本"),
        },
    ];
    let batch = BorrowedSoA::from(rows).to_record_batch().unwrap();
    let names = batch
        .column_by_name("name")
        .unwrap()
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap();
    assert_eq!(names.value(0), "temporary");
    let notes = batch.column_by_name("note").unwrap();
    assert_eq!(notes.null_count(), 1);
    let err = BorrowedSoA::from_record_batch(&batch).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Borrowed.name: unsupported: a &str field cannot own data read from Arrow; use String, Cow<str> or Arc<str>"
    );
    assert!(matches!(
        err,
        Error::Column {
            field: "name",
            source: FieldError::Unsupported(_),
            ..
        }
    ));
}

// ---- error paths name the field --------------------------------------------------------------

/// A one-column batch.
fn batch_of(name: &str, array: ArrayRef) -> RecordBatch {
    let field = Field::new(name, array.data_type().clone(), true);
    RecordBatch::try_new(Arc::new(Schema::new(vec![field])), vec![array]).unwrap()
}

/// The error writing `rows` as a record batch, checked for `Struct.field: value out of range`.
fn write_error<C: ToArrow>(columns: C, prefix: &str) -> String {
    let msg = columns.to_record_batch().unwrap_err().to_string();
    assert!(
        msg.starts_with(&format!("{prefix}: value out of range: ")),
        "{msg}"
    );
    msg
}

/// The error reading `batch`, checked for `Struct.field: value out of range` and the row.
fn read_error<C: ToArrow + std::fmt::Debug>(
    batch: &RecordBatch,
    prefix: &str,
    row: usize,
) -> String {
    let msg = C::from_record_batch(batch).unwrap_err().to_string();
    assert!(
        msg.starts_with(&format!("{prefix}: value out of range: row {row}: ")),
        "{msg}"
    );
    msg
}

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
pub struct Ints {
    pub signed: Option<i128>,
    pub unsigned: u128,
}

#[test]
fn int128_beyond_38_digits_is_out_of_range() {
    let ok = |signed, unsigned| Ints { signed, unsigned };
    let msg = write_error(
        IntsSoA::from(vec![ok(Some(0), 0), ok(Some(i128::MIN + 1), 0)]),
        "Ints.signed",
    );
    assert!(msg.contains("row 1"), "{msg}");
    assert!(msg.contains("Decimal128(38, 0)"), "{msg}");
    write_error(IntsSoA::from(vec![ok(Some(MAX38 + 1), 0)]), "Ints.signed");
    write_error(IntsSoA::from(vec![ok(Some(-MAX38 - 1), 0)]), "Ints.signed");
    write_error(
        IntsSoA::from(vec![ok(None, MAX38 as u128 + 1)]),
        "Ints.unsigned",
    );
    write_error(IntsSoA::from(vec![ok(None, u128::MAX)]), "Ints.unsigned");
    // Moving the columns checks the same way.
    assert!(
        IntsSoA::from(vec![ok(Some(i128::MAX), 0)])
            .into_record_batch()
            .is_err()
    );

    // A negative value cannot be read into a u128.
    let negative = Decimal128Array::from(vec![5, -5])
        .with_precision_and_scale(38, 0)
        .unwrap();
    let mut batch = batch_of("unsigned", Arc::new(negative));
    batch = RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("signed", DataType::Decimal128(38, 0), true),
            batch.schema().field(0).clone(),
        ])),
        vec![
            Arc::new(
                Decimal128Array::from(vec![None, None])
                    .with_precision_and_scale(38, 0)
                    .unwrap(),
            ),
            batch.column(0).clone(),
        ],
    )
    .unwrap();
    let msg = read_error::<IntsSoA>(&batch, "Ints.unsigned", 1);
    assert!(msg.contains("-5"), "{msg}");
}

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
pub struct Letters {
    pub letter: char,
}

#[test]
fn char_needs_exactly_one_character() {
    for (bad, count) in [("ab", 2), ("", 0), ("e\u{301}", 2)] {
        let batch = batch_of("letter", Arc::new(StringArray::from(vec!["x", bad])));
        let msg = read_error::<LettersSoA>(&batch, "Letters.letter", 1);
        assert!(msg.contains(&format!("found {count}")), "{msg}");
    }
    let batch = batch_of("letter", Arc::new(StringArray::from(vec![Some("x"), None])));
    let msg = LettersSoA::from_record_batch(&batch)
        .unwrap_err()
        .to_string();
    assert!(
        msg.starts_with("Letters.letter: found a null at row 1"),
        "{msg}"
    );
}

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
pub struct Times {
    pub at: DateTime<Utc>,
    pub time: NaiveTime,
    pub delta: Option<TimeDelta>,
    pub day: NaiveDate,
}

fn times(at: DateTime<Utc>, time: NaiveTime, delta: Option<TimeDelta>, day: NaiveDate) -> TimesSoA {
    TimesSoA::from(vec![Times {
        at,
        time,
        delta,
        day,
    }])
}

#[test]
fn chrono_values_that_do_not_fit_are_out_of_range() {
    let epoch = DateTime::UNIX_EPOCH;
    let leap = NaiveTime::from_hms_milli_opt(23, 59, 59, 1_500).unwrap();
    let msg = write_error(times(epoch, leap, None, date(1970, 1, 1)), "Times.time");
    assert!(msg.contains("leap second"), "{msg}");
    let msg = write_error(
        times(
            epoch,
            NaiveTime::MIN,
            Some(TimeDelta::MAX),
            date(1970, 1, 1),
        ),
        "Times.delta",
    );
    assert!(msg.contains("row 0"), "{msg}");

    // Nanosecond timestamps end in 2262: the adapter reports the row instead of wrapping around.
    let late = [utc(2000, 1, 1, 0, 0, 0, 0), utc(2300, 1, 1, 0, 0, 0, 0)];
    let err =
        <adapt::Timestamp<Nanosecond> as Adapter<DateTime<Utc>>>::to_array(&late).unwrap_err();
    assert!(err.to_string().contains("row 1"), "{err}");
    assert!(matches!(err, FieldError::ValueOutOfRange { row: 1, .. }));
    let early = [utc(1600, 1, 1, 0, 0, 0, 0).naive_utc()];
    assert!(matches!(
        <adapt::Timestamp<Nanosecond> as Adapter<NaiveDateTime>>::to_array(&early),
        Err(FieldError::ValueOutOfRange { row: 0, .. })
    ));

    // Reading values outside chrono's range.
    let far = TimestampSecondArray::from(vec![0, i64::MAX]).with_timezone("UTC");
    let mut batch = TimesSoA::from(vec![
        Times {
            at: epoch,
            time: NaiveTime::MIN,
            delta: None,
            day: date(1970, 1, 1)
        };
        2
    ])
    .to_record_batch()
    .unwrap();
    let replace = |batch: &RecordBatch, name: &str, array: ArrayRef| {
        let schema = batch.schema();
        let index = schema.index_of(name).unwrap();
        let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
        fields[index] = Field::new(name, array.data_type().clone(), true);
        let mut columns = batch.columns().to_vec();
        columns[index] = array;
        RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap()
    };
    let bad_at = replace(&batch, "at", Arc::new(far));
    read_error::<TimesSoA>(&bad_at, "Times.at", 1);
    let bad_day = replace(
        &batch,
        "day",
        Arc::new(soa_runtime::arrow::array::Date32Array::from(vec![
            0,
            i32::MAX,
        ])),
    );
    read_error::<TimesSoA>(&bad_day, "Times.day", 1);
    let bad_time = replace(
        &batch,
        "time",
        Arc::new(soa_runtime::arrow::array::Time64MicrosecondArray::from(
            vec![-1, 0],
        )),
    );
    read_error::<TimesSoA>(&bad_time, "Times.time", 0);
    let bad_delta = replace(
        &batch,
        "delta",
        Arc::new(soa_runtime::arrow::array::DurationSecondArray::from(vec![
            None,
            Some(i64::MAX),
        ])),
    );
    read_error::<TimesSoA>(&bad_delta, "Times.delta", 1);
    // Sanity: the untouched batch reads.
    batch = replace(
        &batch,
        "delta",
        Arc::new(DurationNanosecondArray::from(vec![None, Some(5)])),
    );
    let back = TimesSoA::from_record_batch(&batch).unwrap().into_rows();
    assert_eq!(back[1].delta, Some(TimeDelta::nanoseconds(5)));
    assert_eq!(TimesSoA::rows_from_record_batch(&batch).unwrap(), back);
}

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
pub struct Money {
    pub amount: Decimal,
    pub id: Option<Uuid>,
}

#[test]
fn decimal_and_uuid_errors_name_the_field() {
    let money = |amount| MoneySoA::from(vec![Money { amount, id: None }]);
    // Ten fractional digits do not fit the default scale 9, unless they are zeros.
    let msg = write_error(money(dec("0.0000000001")), "Money.amount");
    assert!(msg.contains("more than 9 fractional digits"), "{msg}");
    assert!(money(dec("1.5000000000")).to_record_batch().is_ok());
    // Precision and scale of the adapter are checked too.
    type Small = adapt::Decimal<5, 2>;
    let err = <Small as Adapter<Decimal>>::to_array(&[dec("999.99"), dec("1000")]).unwrap_err();
    assert!(err.to_string().contains("row 1"), "{err}");
    let err = <Small as Adapter<i128>>::to_array_opt(&[None, Some(100_000)]).unwrap_err();
    assert!(err.to_string().contains("row 1"), "{err}");
    let inexact = Decimal128Array::from(vec![155])
        .with_precision_and_scale(5, 2)
        .unwrap();
    assert!(matches!(
        <adapt::Decimal<5, 1> as Adapter<i128>>::from_array(&inexact),
        Err(FieldError::ValueOutOfRange { row: 0, .. })
    ));

    // A decimal that rust_decimal cannot hold: 38 significant digits at scale 30.
    let huge = Decimal128Array::from(vec![MAX38])
        .with_precision_and_scale(38, 30)
        .unwrap();
    let batch = RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("amount", huge.data_type().clone(), false),
            Field::new("id", DataType::FixedSizeBinary(16), true),
        ])),
        vec![
            Arc::new(huge),
            Arc::new(
                soa_runtime::arrow::array::FixedSizeBinaryArray::try_from_sparse_iter_with_size(
                    vec![None::<[u8; 16]>].into_iter(),
                    16,
                )
                .unwrap(),
            ),
        ],
    )
    .unwrap();
    let msg = read_error::<MoneySoA>(&batch, "Money.amount", 0);
    assert!(msg.contains("rust_decimal"), "{msg}");

    // A UUID column of the wrong width, and text that is no UUID.
    let amounts: ArrayRef = MoneySoA::from(vec![
        Money {
            amount: Decimal::ONE,
            id: None
        };
        2
    ])
    .to_record_batch()
    .unwrap()
    .column(0)
    .clone();
    let with_ids = |ids: ArrayRef| {
        RecordBatch::try_new(
            Arc::new(Schema::new(vec![
                Field::new("amount", amounts.data_type().clone(), false),
                Field::new("id", ids.data_type().clone(), true),
            ])),
            vec![amounts.clone(), ids],
        )
        .unwrap()
    };
    let short = with_ids(Arc::new(BinaryArray::from(vec![None, Some(&[1u8, 2][..])])));
    let msg = read_error::<MoneySoA>(&short, "Money.id", 1);
    assert!(msg.contains("16 bytes"), "{msg}");
    let text = with_ids(Arc::new(StringArray::from(vec![Some("not-a-uuid"), None])));
    read_error::<MoneySoA>(&text, "Money.id", 0);
    let narrow = with_ids(Arc::new(
        soa_runtime::arrow::array::FixedSizeBinaryArray::try_from_iter(
            vec![[0u8; 8], [1u8; 8]].into_iter(),
        )
        .unwrap(),
    ));
    let msg = MoneySoA::from_record_batch(&narrow)
        .unwrap_err()
        .to_string();
    assert!(
        msg.starts_with(
            "Money.id: expected Arrow type FixedSizeBinary(16), found FixedSizeBinary(8)"
        ),
        "{msg}"
    );
    let wrong = with_ids(Arc::new(Int64Array::from(vec![1, 2])));
    let msg = MoneySoA::from_record_batch(&wrong).unwrap_err().to_string();
    assert!(
        msg.starts_with("Money.id: expected Arrow type FixedSizeBinary(16), found Int64"),
        "{msg}"
    );
}

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
pub struct BadKeys {
    pub map: HashMap<Option<u8>, u8>,
}

#[test]
fn map_keys_cannot_be_options() {
    let rows = BadKeysSoA::from(vec![BadKeys {
        map: HashMap::from([(None, 1)]),
    }]);
    let msg = rows.to_record_batch().unwrap_err().to_string();
    assert!(
        msg.starts_with("BadKeys.map: unsupported: map keys cannot be null"),
        "{msg}"
    );
}

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
pub struct Priced {
    pub price: Cents,
}

#[test]
fn user_newtype_errors_name_the_field() {
    let batch = batch_of("price", Arc::new(StringArray::from(vec!["1"])));
    let msg = PricedSoA::from_record_batch(&batch)
        .unwrap_err()
        .to_string();
    assert_eq!(msg, "Priced.price: expected Arrow type Int64, found Utf8");
}

#[test]
fn parquet_files_keep_every_new_type() {
    use soa_runtime::parquet::arrow::ArrowWriter;
    use soa_runtime::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let rows = extras();
    let batch = ExtraSoA::from(rows.clone()).into_record_batch().unwrap();
    let mut file = tempfile::tempfile().unwrap();
    let mut writer = ArrowWriter::try_new(file.try_clone().unwrap(), batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    use std::io::Seek;
    file.rewind().unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let mut back = Vec::new();
    for read in reader {
        back.extend(
            ExtraSoA::from_record_batch(&read.unwrap())
                .unwrap()
                .into_rows(),
        );
    }
    assert_eq!(back, rows);
}

//! Bug: `#[soa(timestamp = "ns")]` on a chrono date-time rejected 1677-09-21T00:12:43.145224192
//! (`i64::MIN` nanoseconds) with `OutOfRange`: the conversion multiplied the seconds by 10^9
//! before adding the nanoseconds, which overflows for the first ~0.85 s of the range.
//!
//! Every value a column can hold must round-trip, in both directions, for every unit and every
//! chrono type, and for plain `i64` timestamp fields; a value outside the Rust type's range is a
//! typed `ValueOutOfRange` naming `Type.field` and the row, never a panic.

use std::sync::Arc;

use chrono::{
    DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, TimeZone, Utc,
};
use proptest::prelude::*;
use soa_runtime::arrow::array::{
    Array, ArrayRef, Date32Array, Date64Array, DurationMicrosecondArray, DurationMillisecondArray,
    DurationNanosecondArray, DurationSecondArray, RecordBatch, Time32MillisecondArray,
    Time32SecondArray, Time64MicrosecondArray, Time64NanosecondArray, TimestampNanosecondArray,
};
use soa_runtime::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use soa_runtime::field::adapt::{
    Adapter, Microsecond, Millisecond, Nanosecond, Second, Timestamp, Unit, timestamp_array,
    timestamp_values,
};
use soa_runtime::{ArrowField, Error, FieldError, Soa, ToArrow};

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
pub struct Launch {
    pub mission: u32,
    #[soa(timestamp = "ns")]
    pub liftoff: DateTime<Utc>,
    #[soa(timestamp = "ns")]
    pub local: NaiveDateTime,
    #[soa(timestamp = "ns")]
    pub zoned: DateTime<FixedOffset>,
    #[soa(timestamp = "ns")]
    pub raw: i64,
}

/// 1677-09-21T00:12:43.145224192 UTC, the earliest nanosecond timestamp.
fn earliest() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(1677, 9, 21, 0, 12, 43).unwrap() + TimeDelta::nanoseconds(145_224_192)
}

/// 2262-04-11T23:47:16.854775807 UTC, the latest nanosecond timestamp.
fn latest() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2262, 4, 11, 23, 47, 16).unwrap() + TimeDelta::nanoseconds(854_775_807)
}

fn nanos_column(batch: &RecordBatch, name: &str) -> Vec<i64> {
    batch
        .column_by_name(name)
        .unwrap()
        .as_any()
        .downcast_ref::<TimestampNanosecondArray>()
        .unwrap()
        .values()
        .to_vec()
}

#[test]
fn the_first_and_last_nanosecond_timestamps_round_trip() {
    let edge = |at: DateTime<Utc>, raw: i64| Launch {
        mission: 1,
        liftoff: at,
        local: at.naive_utc(),
        zoned: at.with_timezone(&FixedOffset::east_opt(0).unwrap()),
        raw,
    };
    let rows = vec![
        edge(earliest(), i64::MIN),
        edge(earliest() + TimeDelta::nanoseconds(1), i64::MIN + 1),
        edge(latest(), i64::MAX),
        edge(DateTime::from_timestamp(-1, 999_999_999).unwrap(), -1),
    ];
    let soa: LaunchSoA = rows.clone().into();
    let batch = soa.to_record_batch().unwrap();
    let expected = vec![i64::MIN, i64::MIN + 1, i64::MAX, -1];
    for column in ["liftoff", "local", "zoned", "raw"] {
        assert_eq!(nanos_column(&batch, column), expected, "{column}");
    }
    assert_eq!(
        LaunchSoA::from_record_batch(&batch).unwrap().into_rows(),
        rows
    );
    let moved = soa.into_record_batch().unwrap();
    assert_eq!(
        LaunchSoA::try_from_record_batch(moved).unwrap().into_rows(),
        rows
    );
}

#[test]
fn one_nanosecond_beyond_the_range_is_a_typed_error_naming_the_field() {
    let at = earliest() - TimeDelta::nanoseconds(1);
    let soa: LaunchSoA = vec![
        Launch {
            mission: 1,
            liftoff: earliest(),
            local: earliest().naive_utc(),
            zoned: earliest().fixed_offset(),
            raw: 0,
        },
        Launch {
            mission: 2,
            liftoff: at,
            local: earliest().naive_utc(),
            zoned: earliest().fixed_offset(),
            raw: 0,
        },
    ]
    .into();
    let err = soa.to_record_batch().unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Column {
                struct_name: "Launch",
                field: "liftoff",
                source: FieldError::ValueOutOfRange { row: 1, .. },
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().starts_with(
            "Launch.liftoff: value out of range: row 1: 1677-09-21 00:12:43.145224191 UTC"
        ),
        "{err}"
    );
}

#[test]
fn a_second_column_beyond_chrono_is_a_typed_error_naming_the_field() {
    // i64::MAX seconds is far beyond chrono's ±262,000 years: the field cannot hold it.
    let seconds = timestamp_array::<Second>(vec![0, i64::MAX], None, Some("UTC")).unwrap();
    let nanos: ArrayRef = Arc::new(TimestampNanosecondArray::from(vec![0, 0]));
    let batch = RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("mission", DataType::UInt32, false),
            Field::new("liftoff", seconds.data_type().clone(), false),
            Field::new("local", nanos.data_type().clone(), false),
            Field::new("zoned", nanos.data_type().clone(), false),
            Field::new("raw", nanos.data_type().clone(), false),
        ])),
        vec![
            Arc::new(soa_runtime::arrow::array::UInt32Array::from(vec![1, 2])),
            seconds,
            Arc::clone(&nanos),
            Arc::clone(&nanos),
            nanos,
        ],
    )
    .unwrap();
    let err = LaunchSoA::from_record_batch(&batch).unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Column {
                struct_name: "Launch",
                field: "liftoff",
                source: FieldError::ValueOutOfRange { row: 1, .. },
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "Launch.liftoff: value out of range: row 1: timestamp {} (seconds since 1970) is \
             outside the range of chrono dates",
            i64::MAX
        )
    );
}

// ---- properties over every unit and type ----------------------------------------------------

/// Raw values at the edges of `i64` and around 0 (negative fractions included), plus any.
fn edge_i64() -> impl Strategy<Value = i64> {
    prop_oneof![
        Just(i64::MIN),
        Just(i64::MIN + 1),
        Just(i64::MAX),
        Just(i64::MAX - 1),
        Just(0i64),
        Just(-1i64),
        i64::MIN..i64::MIN + 2_000_000_000,
        i64::MAX - 2_000_000_000..=i64::MAX,
        -2_000_000_000i64..2_000_000_000,
        any::<i64>(),
    ]
}

fn per_second(unit: TimeUnit) -> i128 {
    match unit {
        TimeUnit::Second => 1,
        TimeUnit::Millisecond => 1_000,
        TimeUnit::Microsecond => 1_000_000,
        TimeUnit::Nanosecond => 1_000_000_000,
    }
}

fn nanos_of(at: DateTime<Utc>) -> i128 {
    i128::from(at.timestamp()) * 1_000_000_000 + i128::from(at.timestamp_subsec_nanos())
}

/// Whether a count of `unit`s since 1970 is an instant chrono can hold.
fn chrono_holds(value: i64, unit: TimeUnit) -> bool {
    let nanos = i128::from(value) * (1_000_000_000 / per_second(unit));
    (nanos_of(DateTime::<Utc>::MIN_UTC)..=nanos_of(DateTime::<Utc>::MAX_UTC)).contains(&nanos)
}

/// Checks the error for the first value that does not fit: `ValueOutOfRange` at that row.
fn expect_out_of_range(err: FieldError, raw: &[i64], fits: impl Fn(i64) -> bool) {
    let first = raw.iter().position(|&v| !fits(v));
    match err {
        FieldError::ValueOutOfRange { row, ref items, .. } => {
            assert_eq!(Some(row), first, "{err}");
            assert!(items.is_empty(), "{err}");
        }
        other => panic!("expected ValueOutOfRange, got {other:?}"),
    }
}

/// Arrow -> chrono -> Arrow in unit `U` (same unit both ways): identical raw values, or a typed
/// error at the first value chrono cannot hold.
fn instants_round_trip<U: Unit, T>(raw: &[i64], tz: Option<&str>)
where
    Timestamp<U>: Adapter<T>,
    T: Clone + PartialEq + std::fmt::Debug,
{
    let array = timestamp_array::<U>(raw.to_vec(), None, tz).unwrap();
    match <Timestamp<U> as Adapter<T>>::from_array(array.as_ref()) {
        Ok(values) => {
            assert!(raw.iter().all(|&v| chrono_holds(v, U::UNIT)));
            let back = <Timestamp<U> as Adapter<T>>::to_array(&values).unwrap();
            let back = timestamp_values::<U>(back.as_ref()).unwrap();
            assert_eq!(back, raw.iter().map(|&v| Some(v)).collect::<Vec<_>>());
            // And chrono -> Arrow -> chrono gives the same values.
            let again = <Timestamp<U> as Adapter<T>>::from_array(
                <Timestamp<U> as Adapter<T>>::to_array(&values)
                    .unwrap()
                    .as_ref(),
            )
            .unwrap();
            assert_eq!(again, values);
        }
        Err(err) => expect_out_of_range(err, raw, |v| chrono_holds(v, U::UNIT)),
    }
}

fn instants_round_trip_all_types<U: Unit>(raw: &[i64]) {
    instants_round_trip::<U, DateTime<Utc>>(raw, Some("UTC"));
    instants_round_trip::<U, DateTime<FixedOffset>>(raw, Some("UTC"));
    instants_round_trip::<U, DateTime<FixedOffset>>(raw, Some("+02:00"));
    instants_round_trip::<U, NaiveDateTime>(raw, None);
    // Plain i64: always the same values.
    let array = timestamp_array::<U>(raw.to_vec(), None, None).unwrap();
    let values = <Timestamp<U> as Adapter<i64>>::from_array(array.as_ref()).unwrap();
    assert_eq!(values, raw);
    let back = <Timestamp<U> as Adapter<i64>>::to_array(&values).unwrap();
    assert_eq!(back.to_data(), array.to_data());
}

/// chrono -> Arrow in unit `U` -> chrono: the value floored to the unit, or a typed error when
/// the count does not fit an `i64` (only nanoseconds are that narrow).
fn chrono_to_unit_and_back<U: Unit>(values: &[DateTime<Utc>]) {
    let floor = |at: &DateTime<Utc>| {
        let per = 1_000_000_000 / per_second(U::UNIT);
        nanos_of(*at).div_euclid(per)
    };
    match <Timestamp<U> as Adapter<DateTime<Utc>>>::to_array(values) {
        Ok(array) => {
            let raw = timestamp_values::<U>(array.as_ref()).unwrap();
            let expected: Vec<Option<i64>> = values
                .iter()
                .map(|at| Some(i64::try_from(floor(at)).unwrap()))
                .collect();
            assert_eq!(raw, expected);
            let back =
                <Timestamp<U> as Adapter<DateTime<Utc>>>::from_array(array.as_ref()).unwrap();
            for (got, at) in back.iter().zip(values) {
                assert_eq!(floor(got), floor(at));
                assert!(got <= at);
            }
        }
        Err(FieldError::ValueOutOfRange { row, .. }) => {
            let first = values
                .iter()
                .position(|at| i64::try_from(floor(at)).is_err());
            assert_eq!(Some(row), first);
        }
        Err(other) => panic!("expected ValueOutOfRange, got {other:?}"),
    }
}

fn any_instant() -> impl Strategy<Value = DateTime<Utc>> {
    let min = DateTime::<Utc>::MIN_UTC.timestamp();
    let max = DateTime::<Utc>::MAX_UTC.timestamp();
    prop_oneof![
        Just(DateTime::<Utc>::MIN_UTC),
        Just(DateTime::<Utc>::MAX_UTC),
        Just(earliest()),
        Just(latest()),
        (-3i64..3).prop_map(|d| earliest() + TimeDelta::nanoseconds(d)),
        (-3i64..3).prop_map(|d| latest() + TimeDelta::nanoseconds(d)),
        (min..=max, 0u32..1_000_000_000).prop_filter_map("in chrono's range", |(s, n)| {
            DateTime::from_timestamp(s, n)
        }),
        (-5i64..5, 0u32..1_000_000_000)
            .prop_filter_map("near 1970", |(s, n)| DateTime::from_timestamp(s, n)),
    ]
}

/// Raw values of `unit` in a `Duration` column, read as `TimeDelta` and written back as
/// microseconds: exact, or a typed error (chrono holds ±i64::MAX milliseconds; microseconds must
/// fit an i64).
fn durations_round_trip(raw: &[i64], unit: TimeUnit) {
    let array: ArrayRef = match unit {
        TimeUnit::Second => Arc::new(DurationSecondArray::from(raw.to_vec())),
        TimeUnit::Millisecond => Arc::new(DurationMillisecondArray::from(raw.to_vec())),
        TimeUnit::Microsecond => Arc::new(DurationMicrosecondArray::from(raw.to_vec())),
        TimeUnit::Nanosecond => Arc::new(DurationNanosecondArray::from(raw.to_vec())),
    };
    let nanos = |v: i64| i128::from(v) * (1_000_000_000 / per_second(unit));
    let max_nanos = i128::from(i64::MAX) * 1_000_000;
    let holds = |v: i64| (-max_nanos..=max_nanos).contains(&nanos(v));
    match TimeDelta::from_array(array.as_ref()) {
        Ok(deltas) => {
            assert!(raw.iter().all(|&v| holds(v)));
            for (d, &v) in deltas.iter().zip(raw) {
                let got =
                    i128::from(d.num_seconds()) * 1_000_000_000 + i128::from(d.subsec_nanos());
                assert_eq!(got, nanos(v));
            }
            let micros = |v: i64| nanos(v) / 1_000; // truncated towards zero, as chrono does
            match TimeDelta::to_array(&deltas) {
                Ok(back) => {
                    let back = back
                        .as_any()
                        .downcast_ref::<DurationMicrosecondArray>()
                        .unwrap();
                    let expected: Vec<i64> = raw
                        .iter()
                        .map(|&v| i64::try_from(micros(v)).unwrap())
                        .collect();
                    assert_eq!(back.values().to_vec(), expected);
                    if unit == TimeUnit::Microsecond {
                        assert_eq!(back.values().to_vec(), raw);
                    }
                }
                Err(err) => {
                    expect_out_of_range(err, raw, |v| i64::try_from(micros(v)).is_ok());
                }
            }
        }
        Err(err) => expect_out_of_range(err, raw, holds),
    }
}

/// Time-of-day columns of every unit: values in 0..24h read exactly and write back as
/// microseconds; others are typed errors.
fn times_round_trip(raw: &[i64], unit: TimeUnit) {
    let array: ArrayRef = match unit {
        TimeUnit::Second => Arc::new(Time32SecondArray::from(
            raw.iter().map(|&v| v as i32).collect::<Vec<_>>(),
        )),
        TimeUnit::Millisecond => Arc::new(Time32MillisecondArray::from(
            raw.iter().map(|&v| v as i32).collect::<Vec<_>>(),
        )),
        TimeUnit::Microsecond => Arc::new(Time64MicrosecondArray::from(raw.to_vec())),
        TimeUnit::Nanosecond => Arc::new(Time64NanosecondArray::from(raw.to_vec())),
    };
    let raw: Vec<i64> = match unit {
        TimeUnit::Second | TimeUnit::Millisecond => {
            raw.iter().map(|&v| i64::from(v as i32)).collect()
        }
        _ => raw.to_vec(),
    };
    let day = 86_400 * per_second(unit);
    let holds = |v: i64| (0..day).contains(&i128::from(v));
    match NaiveTime::from_array(array.as_ref()) {
        Ok(times) => {
            assert!(raw.iter().all(|&v| holds(v)));
            let back = NaiveTime::to_array(&times).unwrap();
            let back = back
                .as_any()
                .downcast_ref::<Time64MicrosecondArray>()
                .unwrap();
            let expected: Vec<i64> = raw
                .iter()
                .map(|&v| (i128::from(v) * 1_000_000 / per_second(unit)) as i64)
                .collect();
            assert_eq!(back.values().to_vec(), expected);
        }
        Err(err) => expect_out_of_range(err, &raw, holds),
    }
}

/// Date32 (days) and Date64 (milliseconds) columns: what chrono holds reads exactly and writes
/// back as the same days; the rest is a typed error.
fn dates_round_trip(raw: &[i64]) {
    let days: Vec<i32> = raw.iter().map(|&v| v as i32).collect();
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
    let min = NaiveDate::MIN.signed_duration_since(epoch).num_days();
    let max = NaiveDate::MAX.signed_duration_since(epoch).num_days();
    let holds = |d: i64| (min..=max).contains(&d);
    let array = Date32Array::from(days.clone());
    let as_i64: Vec<i64> = days.iter().map(|&d| i64::from(d)).collect();
    match NaiveDate::from_array(&array) {
        Ok(dates) => {
            assert!(as_i64.iter().all(|&d| holds(d)));
            let back = NaiveDate::to_array(&dates).unwrap();
            assert_eq!(back.to_data(), array.to_data());
        }
        Err(err) => expect_out_of_range(err, &as_i64, holds),
    }
    let array = Date64Array::from(raw.to_vec());
    let floor_days: Vec<i64> = raw.iter().map(|&ms| ms.div_euclid(86_400_000)).collect();
    match NaiveDate::from_array(&array) {
        Ok(dates) => {
            let back = NaiveDate::to_array(&dates).unwrap();
            let back = back.as_any().downcast_ref::<Date32Array>().unwrap();
            let got: Vec<i64> = back.values().iter().map(|&d| i64::from(d)).collect();
            assert_eq!(got, floor_days);
        }
        Err(err) => expect_out_of_range(err, &floor_days, holds),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn raw_timestamps_of_every_unit_round_trip(raw in proptest::collection::vec(edge_i64(), 1..6)) {
        instants_round_trip_all_types::<Second>(&raw);
        instants_round_trip_all_types::<Millisecond>(&raw);
        instants_round_trip_all_types::<Microsecond>(&raw);
        instants_round_trip_all_types::<Nanosecond>(&raw);
    }

    #[test]
    fn chrono_instants_round_trip_through_every_unit(values in proptest::collection::vec(any_instant(), 1..6)) {
        chrono_to_unit_and_back::<Second>(&values);
        chrono_to_unit_and_back::<Millisecond>(&values);
        chrono_to_unit_and_back::<Microsecond>(&values);
        chrono_to_unit_and_back::<Nanosecond>(&values);
    }

    #[test]
    fn durations_times_and_dates_of_every_unit(raw in proptest::collection::vec(edge_i64(), 1..6)) {
        for unit in [TimeUnit::Second, TimeUnit::Millisecond, TimeUnit::Microsecond, TimeUnit::Nanosecond] {
            durations_round_trip(&raw, unit);
            times_round_trip(&raw, unit);
        }
        dates_round_trip(&raw);
    }
}

#[test]
fn reading_a_finer_unit_into_a_coarser_i64_field_is_exact_or_a_typed_error() {
    // i64 fields with a unit: another unit's column converts exactly or names the row.
    let nanos = timestamp_array::<Nanosecond>(vec![2_000, -1_500, i64::MIN], None, None).unwrap();
    let err = <Timestamp<Microsecond> as Adapter<i64>>::from_array(nanos.as_ref()).unwrap_err();
    assert!(
        matches!(err, FieldError::ValueOutOfRange { row: 1, .. }),
        "{err:?}"
    );
    let seconds = timestamp_array::<Second>(vec![-1, i64::MIN / 1000 - 1], None, None).unwrap();
    let err = <Timestamp<Millisecond> as Adapter<i64>>::from_array(seconds.as_ref()).unwrap_err();
    assert!(
        matches!(err, FieldError::ValueOutOfRange { row: 1, .. }),
        "{err:?}"
    );
    assert_eq!(
        <Timestamp<Millisecond> as Adapter<i64>>::from_array(
            timestamp_array::<Second>(vec![-1, i64::MIN / 1000], None, None)
                .unwrap()
                .as_ref()
        )
        .unwrap(),
        vec![-1_000, i64::MIN / 1000 * 1000]
    );
}

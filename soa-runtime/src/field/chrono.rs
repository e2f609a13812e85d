//! `chrono` date and time types (feature `chrono`).
//!
//! | Rust | Arrow | notes |
//! |---|---|---|
//! | `DateTime<Utc>` | `Timestamp(Microsecond, "UTC")` | |
//! | `DateTime<FixedOffset>` | `Timestamp(Microsecond, "UTC")` | the instant is kept, **the offset is not** (see below) |
//! | `NaiveDateTime` | `Timestamp(Microsecond, None)` | wall-clock time, no time zone |
//! | `NaiveDate` | `Date32` | days since 1970-01-01 |
//! | `NaiveTime` | `Time64(Microsecond)` | time of day |
//! | `TimeDelta` (`Duration`) | `Duration(Microsecond)` | |
//!
//! `#[soa(timestamp = "s" | "ms" | "us" | "ns")]` ([`adapt::Timestamp`]) picks another unit for
//! `DateTime<Utc>`, `DateTime<FixedOffset>` and `NaiveDateTime`.
//!
//! # Units and ranges
//!
//! Microseconds are the default because pandas, polars, DuckDB and Parquet readers all handle them
//! natively and an `i64` of microseconds spans ±292,000 years, which covers every date chrono can
//! represent (±262,000 years); dates before 1970 are negative values and work like any other.
//!
//! * Writing truncates towards the past to the column's unit (chrono keeps nanoseconds; a
//!   microsecond column keeps microseconds). Use `#[soa(timestamp = "ns")]` to keep nanoseconds.
//! * A value that does not fit the column fails with [`FieldError::ValueOutOfRange`] naming the row,
//!   never a panic: nanosecond timestamps only span the years 1677 to 2262, a `TimeDelta` beyond
//!   ±292,000 years has no microsecond count, and a `NaiveTime` on a leap second (`23:59:60`) has no
//!   Arrow `Time64` value.
//! * Reading accepts a timestamp column of any unit and any time zone (the value is an instant, the
//!   zone only tells how to display it), `Date32` and `Date64` for `NaiveDate`, `Time32` and
//!   `Time64` of any unit for `NaiveTime`, and `Duration` of any unit for `TimeDelta`, always
//!   exactly: a nanosecond column read into a microsecond field keeps its nanoseconds (chrono holds
//!   them). A value outside chrono's range fails with [`FieldError::ValueOutOfRange`].
//!
//! # `DateTime<FixedOffset>`
//!
//! An Arrow timestamp column has one time zone for all its values, while each `DateTime<FixedOffset>`
//! has its own offset. So the column stores the instant as UTC (`"UTC"`, interoperable with every
//! reader), and the offset is **not preserved**: values read back with offset `+00:00`, unless the
//! column's time zone is itself a fixed offset such as `"+02:00"`, which is then applied. The
//! instants compare equal (`DateTime`'s `==` compares instants). Keep the offset in a separate field
//! (for example `offset_seconds: i32`) if it matters.
//!
//! [`adapt::Timestamp`]: super::adapt::Timestamp

use std::str::FromStr;
use std::sync::Arc;

use ::chrono::{
    DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeDelta,
    Timelike, Utc,
};
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Date64Type, DurationMicrosecondType, DurationMillisecondType,
    DurationNanosecondType, DurationSecondType, Time32MillisecondType, Time32SecondType,
    Time64MicrosecondType, Time64NanosecondType,
};
use arrow_array::{Array, ArrayRef, PrimitiveArray};
use arrow_buffer::{NullBuffer, ScalarBuffer};
use arrow_schema::{DataType, TimeUnit};

use super::adapt::{
    Adapter, Microsecond, Millisecond, Nanosecond, Second, Timestamp, Unit, timestamp_array,
    timestamp_type, timestamp_values,
};
use super::{ArrowField, FieldError, list};

/// The time zone of `DateTime<Utc>` and `DateTime<FixedOffset>` columns.
const UTC: &str = "UTC";

/// Days from 0001-01-01 (chrono's day 1 is that date) to 1970-01-01.
const EPOCH_DAYS_FROM_CE: i32 = 719_163;

const NANOS_PER_SECOND: i64 = 1_000_000_000;

use super::time_unit::{per_second, unit_name};

fn nulls_of<T>(values: &[Option<T>]) -> Option<NullBuffer> {
    let nulls: NullBuffer = values.iter().map(Option::is_some).collect();
    (nulls.null_count() > 0).then_some(nulls)
}

/// Splits a count of `unit`s into whole seconds and nanoseconds (0..1e9), flooring.
fn split(value: i64, unit: TimeUnit) -> (i64, u32) {
    let per = per_second(unit);
    let nanos = value.rem_euclid(per) * (NANOS_PER_SECOND / per);
    // rem_euclid is in 0..per, so nanos is in 0..1e9.
    (value.div_euclid(per), nanos as u32)
}

/// Joins seconds and nanoseconds (may be >= 1e9 on a leap second) into a count of `unit`s,
/// flooring; `None` when the count does not fit an `i64`.
fn join(secs: i64, nanos: u32, unit: TimeUnit) -> Option<i64> {
    let per = per_second(unit);
    // In i128: for the first second of the nanosecond range (i64::MIN ns is
    // 1677-09-21T00:12:43.145224192), `secs * 1e9` alone is below i64::MIN although the sum with
    // the non-negative nanoseconds fits.
    let units =
        i128::from(secs) * i128::from(per) + i128::from(nanos) / i128::from(NANOS_PER_SECOND / per);
    i64::try_from(units).ok()
}

// ---- timestamps --------------------------------------------------------------------------

/// An instant as a count of `unit`s since the epoch.
fn instant_to_units(
    row: usize,
    instant: &DateTime<Utc>,
    unit: TimeUnit,
) -> Result<i64, FieldError> {
    join(instant.timestamp(), instant.timestamp_subsec_nanos(), unit).ok_or_else(|| {
        FieldError::out_of_range_at(
            row,
            format!(
                "{instant} does not fit a 64-bit count of {} since 1970 (nanosecond \
             timestamps span the years 1677 to 2262)",
                unit_name(unit)
            ),
        )
    })
}

fn units_to_instant(row: usize, value: i64, unit: TimeUnit) -> Result<DateTime<Utc>, FieldError> {
    let (secs, nanos) = split(value, unit);
    DateTime::from_timestamp(secs, nanos).ok_or_else(|| {
        FieldError::out_of_range_at(
            row,
            format!(
                "timestamp {value} ({} since 1970) is outside the range of chrono dates",
                unit_name(unit)
            ),
        )
    })
}

/// Writes instants as a timestamp column in unit `U` with time zone `tz`.
fn write_instants<U: Unit>(
    instants: impl ExactSizeIterator<Item = Option<DateTime<Utc>>>,
    tz: Option<&str>,
) -> Result<ArrayRef, FieldError> {
    let mut raw = Vec::with_capacity(instants.len());
    let mut valid = Vec::with_capacity(instants.len());
    for (row, instant) in instants.enumerate() {
        valid.push(instant.is_some());
        raw.push(match instant {
            Some(instant) => instant_to_units(row, &instant, U::UNIT)?,
            None => 0,
        });
    }
    let nulls = NullBuffer::from(valid);
    timestamp_array::<U>(raw, (nulls.null_count() > 0).then_some(nulls), tz)
}

/// The instants of a timestamp column (`None` for nulls) and its time zone.
type Instants = (Vec<Option<DateTime<Utc>>>, Option<Arc<str>>);

/// Reads a timestamp column of any unit and time zone as instants (exactly), plus its time zone.
fn read_instants(array: &dyn Array, expected: DataType) -> Result<Instants, FieldError> {
    let DataType::Timestamp(unit, tz) = array.data_type() else {
        return Err(FieldError::TypeMismatch {
            expected,
            found: array.data_type().clone(),
        });
    };
    // Read in the column's own unit: no conversion, so nothing can overflow or be lost here.
    let raw = match unit {
        TimeUnit::Second => timestamp_values::<Second>(array)?,
        TimeUnit::Millisecond => timestamp_values::<Millisecond>(array)?,
        TimeUnit::Microsecond => timestamp_values::<Microsecond>(array)?,
        TimeUnit::Nanosecond => timestamp_values::<Nanosecond>(array)?,
    };
    let instants = raw
        .into_iter()
        .enumerate()
        .map(|(row, v)| v.map(|v| units_to_instant(row, v, *unit)).transpose())
        .collect::<Result<_, _>>()?;
    Ok((instants, tz.clone()))
}

/// A chrono type stored as a timestamp: how it becomes an instant and back.
trait Instant: Sized {
    /// The time zone of its columns.
    const TZ: Option<&'static str>;
    fn to_instant(&self) -> DateTime<Utc>;
    /// The value for `instant` read from a column with time zone `tz`.
    fn from_instant(instant: DateTime<Utc>, tz: Option<&str>) -> Self;
}

impl Instant for DateTime<Utc> {
    const TZ: Option<&'static str> = Some(UTC);
    fn to_instant(&self) -> DateTime<Utc> {
        *self
    }
    fn from_instant(instant: DateTime<Utc>, _: Option<&str>) -> Self {
        instant
    }
}

impl Instant for DateTime<FixedOffset> {
    const TZ: Option<&'static str> = Some(UTC);
    fn to_instant(&self) -> DateTime<Utc> {
        self.to_utc()
    }
    fn from_instant(instant: DateTime<Utc>, tz: Option<&str>) -> Self {
        let offset = tz
            .and_then(|tz| FixedOffset::from_str(tz).ok())
            .unwrap_or_else(|| Utc.fix());
        instant.with_timezone(&offset)
    }
}

impl Instant for NaiveDateTime {
    const TZ: Option<&'static str> = None;
    fn to_instant(&self) -> DateTime<Utc> {
        self.and_utc()
    }
    fn from_instant(instant: DateTime<Utc>, _: Option<&str>) -> Self {
        // A zoned column holds UTC instants: read them as UTC wall-clock times.
        instant.naive_utc()
    }
}

fn write_timestamps<U: Unit, T: Instant>(values: &[Option<T>]) -> Result<ArrayRef, FieldError> {
    write_instants::<U>(values.iter().map(|v| v.as_ref().map(T::to_instant)), T::TZ)
}

fn write_timestamps_required<U: Unit, T: Instant>(values: &[T]) -> Result<ArrayRef, FieldError> {
    write_instants::<U>(values.iter().map(|v| Some(v.to_instant())), T::TZ)
}

fn read_timestamps<U: Unit, T: Instant>(array: &dyn Array) -> Result<Vec<Option<T>>, FieldError> {
    let (instants, tz) = read_instants(array, timestamp_type::<U>(T::TZ))?;
    Ok(instants
        .into_iter()
        .map(|v| v.map(|v| T::from_instant(v, tz.as_deref())))
        .collect())
}

macro_rules! timestamp_field {
    ($($ty:ty, $doc:literal;)*) => {$(
        #[doc = $doc]
        impl ArrowField for $ty {
            fn data_type() -> DataType {
                timestamp_type::<Microsecond>(<$ty as Instant>::TZ)
            }
            fn to_array(values: &[Self]) -> Result<ArrayRef, FieldError> {
                write_timestamps_required::<Microsecond, Self>(values)
            }
            fn from_array(array: &dyn Array) -> Result<Vec<Self>, FieldError> {
                list::required(read_timestamps::<Microsecond, Self>(array)?, Self::data_type())
            }
            fn to_array_opt(values: &[Option<Self>]) -> Result<ArrayRef, FieldError> {
                write_timestamps::<Microsecond, Self>(values)
            }
            fn from_array_opt(array: &dyn Array) -> Result<Vec<Option<Self>>, FieldError> {
                read_timestamps::<Microsecond, Self>(array)
            }
        }

        #[doc = concat!("`#[soa(timestamp = \"..\")]` on a `", stringify!($ty), "`: a timestamp column in unit `U`.")]
        impl<U: Unit> Adapter<$ty> for Timestamp<U> {
            fn data_type() -> DataType {
                timestamp_type::<U>(<$ty as Instant>::TZ)
            }
            fn to_array(values: &[$ty]) -> Result<ArrayRef, FieldError> {
                write_timestamps_required::<U, $ty>(values)
            }
            fn from_array(array: &dyn Array) -> Result<Vec<$ty>, FieldError> {
                list::required(
                    read_timestamps::<U, $ty>(array)?,
                    <Self as Adapter<$ty>>::data_type(),
                )
            }
            fn to_array_opt(values: &[Option<$ty>]) -> Result<ArrayRef, FieldError> {
                write_timestamps::<U, $ty>(values)
            }
            fn from_array_opt(array: &dyn Array) -> Result<Vec<Option<$ty>>, FieldError> {
                read_timestamps::<U, $ty>(array)
            }
        }
    )*};
}

timestamp_field! {
    DateTime<Utc>, "`DateTime<Utc>` as `Timestamp(Microsecond, \"UTC\")` (see the [module docs](self)).";
    DateTime<FixedOffset>, "`DateTime<FixedOffset>` as `Timestamp(Microsecond, \"UTC\")`: the offset is not kept (see the [module docs](self)).";
    NaiveDateTime, "`NaiveDateTime` as `Timestamp(Microsecond, None)` (see the [module docs](self)).";
}

// ---- NaiveDate ---------------------------------------------------------------------------

fn date_to_days(date: &NaiveDate) -> i32 {
    // chrono's day numbers span about ±96 million: the subtraction cannot overflow.
    date.num_days_from_ce() - EPOCH_DAYS_FROM_CE
}

fn days_to_date(row: usize, days: i64) -> Result<NaiveDate, FieldError> {
    i32::try_from(days)
        .ok()
        .and_then(|d| d.checked_add(EPOCH_DAYS_FROM_CE))
        .and_then(NaiveDate::from_num_days_from_ce_opt)
        .ok_or_else(|| {
            FieldError::out_of_range_at(
                row,
                format!("{days} days since 1970-01-01 is outside the range of chrono dates"),
            )
        })
}

fn dates_to_array(values: &[Option<NaiveDate>]) -> ArrayRef {
    let days: Vec<i32> = values
        .iter()
        .map(|d| d.as_ref().map_or(0, date_to_days))
        .collect();
    Arc::new(PrimitiveArray::<Date32Type>::new(
        ScalarBuffer::from(days),
        nulls_of(values),
    ))
}

/// `NaiveDate` as `Date32` (days since 1970-01-01); reads `Date32` and `Date64`.
impl ArrowField for NaiveDate {
    fn data_type() -> DataType {
        DataType::Date32
    }
    fn to_array(values: &[Self]) -> Result<ArrayRef, FieldError> {
        let days: Vec<i32> = values.iter().map(date_to_days).collect();
        Ok(Arc::new(PrimitiveArray::<Date32Type>::new(
            ScalarBuffer::from(days),
            None,
        )))
    }
    fn from_array(array: &dyn Array) -> Result<Vec<Self>, FieldError> {
        list::required(Self::from_array_opt(array)?, DataType::Date32)
    }
    fn to_array_opt(values: &[Option<Self>]) -> Result<ArrayRef, FieldError> {
        Ok(dates_to_array(values))
    }
    fn from_array_opt(array: &dyn Array) -> Result<Vec<Option<Self>>, FieldError> {
        let days: Vec<Option<i64>> = match array.data_type() {
            DataType::Date32 => array
                .as_primitive::<Date32Type>()
                .iter()
                .map(|d| d.map(i64::from))
                .collect(),
            // Date64 is milliseconds since the epoch, in whole days.
            DataType::Date64 => array
                .as_primitive::<Date64Type>()
                .iter()
                .map(|ms| ms.map(|ms| ms.div_euclid(86_400_000)))
                .collect(),
            found => {
                return Err(FieldError::TypeMismatch {
                    expected: DataType::Date32,
                    found: found.clone(),
                });
            }
        };
        days.into_iter()
            .enumerate()
            .map(|(row, d)| d.map(|d| days_to_date(row, d)).transpose())
            .collect()
    }
}

// ---- NaiveTime ---------------------------------------------------------------------------

fn time_to_micros(row: usize, time: &NaiveTime) -> Result<i64, FieldError> {
    let nanos = time.nanosecond();
    if nanos >= 1_000_000_000 {
        return Err(FieldError::out_of_range_at(
            row,
            format!("{time} is a leap second, which Arrow Time64 cannot represent"),
        ));
    }
    Ok(i64::from(time.num_seconds_from_midnight()) * 1_000_000 + i64::from(nanos / 1_000))
}

fn units_to_time(row: usize, value: i64, unit: TimeUnit) -> Result<NaiveTime, FieldError> {
    let (secs, nanos) = split(value, unit);
    u32::try_from(secs)
        .ok()
        .and_then(|secs| NaiveTime::from_num_seconds_from_midnight_opt(secs, nanos))
        .ok_or_else(|| {
            FieldError::out_of_range_at(
                row,
                format!(
                    "{value} {} is not a time of day (0 to 24 hours)",
                    unit_name(unit)
                ),
            )
        })
}

fn times_to_array(values: &[Option<NaiveTime>]) -> Result<ArrayRef, FieldError> {
    let mut raw = Vec::with_capacity(values.len());
    for (row, v) in values.iter().enumerate() {
        raw.push(match v {
            Some(t) => time_to_micros(row, t)?,
            None => 0,
        });
    }
    Ok(Arc::new(PrimitiveArray::<Time64MicrosecondType>::new(
        ScalarBuffer::from(raw),
        nulls_of(values),
    )))
}

/// `NaiveTime` as `Time64(Microsecond)`; reads `Time32` and `Time64` of any unit.
impl ArrowField for NaiveTime {
    fn data_type() -> DataType {
        DataType::Time64(TimeUnit::Microsecond)
    }
    fn to_array(values: &[Self]) -> Result<ArrayRef, FieldError> {
        times_to_array(&values.iter().copied().map(Some).collect::<Vec<_>>())
    }
    fn from_array(array: &dyn Array) -> Result<Vec<Self>, FieldError> {
        list::required(Self::from_array_opt(array)?, Self::data_type())
    }
    fn to_array_opt(values: &[Option<Self>]) -> Result<ArrayRef, FieldError> {
        times_to_array(values)
    }
    fn from_array_opt(array: &dyn Array) -> Result<Vec<Option<Self>>, FieldError> {
        macro_rules! raw {
            ($t:ty, $unit:expr) => {
                (
                    array
                        .as_primitive::<$t>()
                        .iter()
                        .map(|v| v.map(i64::from))
                        .collect::<Vec<_>>(),
                    $unit,
                )
            };
        }
        let (raw, unit) = match array.data_type() {
            DataType::Time32(TimeUnit::Second) => raw!(Time32SecondType, TimeUnit::Second),
            DataType::Time32(TimeUnit::Millisecond) => {
                raw!(Time32MillisecondType, TimeUnit::Millisecond)
            }
            DataType::Time64(TimeUnit::Microsecond) => {
                raw!(Time64MicrosecondType, TimeUnit::Microsecond)
            }
            DataType::Time64(TimeUnit::Nanosecond) => {
                raw!(Time64NanosecondType, TimeUnit::Nanosecond)
            }
            found => {
                return Err(FieldError::TypeMismatch {
                    expected: Self::data_type(),
                    found: found.clone(),
                });
            }
        };
        raw.into_iter()
            .enumerate()
            .map(|(row, v)| v.map(|v| units_to_time(row, v, unit)).transpose())
            .collect()
    }
}

// ---- TimeDelta ---------------------------------------------------------------------------

fn delta_to_micros(row: usize, delta: &TimeDelta) -> Result<i64, FieldError> {
    delta.num_microseconds().ok_or_else(|| {
        FieldError::out_of_range_at(
            row,
            format!("duration {delta} does not fit a 64-bit count of microseconds"),
        )
    })
}

fn units_to_delta(row: usize, value: i64, unit: TimeUnit) -> Result<TimeDelta, FieldError> {
    let delta = match unit {
        TimeUnit::Second => TimeDelta::try_seconds(value),
        TimeUnit::Millisecond => TimeDelta::try_milliseconds(value),
        TimeUnit::Microsecond => Some(TimeDelta::microseconds(value)),
        TimeUnit::Nanosecond => Some(TimeDelta::nanoseconds(value)),
    };
    delta.ok_or_else(|| {
        FieldError::out_of_range_at(
            row,
            format!(
                "duration of {value} {} is outside the range of chrono::TimeDelta",
                unit_name(unit)
            ),
        )
    })
}

fn deltas_to_array(values: &[Option<TimeDelta>]) -> Result<ArrayRef, FieldError> {
    let mut raw = Vec::with_capacity(values.len());
    for (row, v) in values.iter().enumerate() {
        raw.push(match v {
            Some(d) => delta_to_micros(row, d)?,
            None => 0,
        });
    }
    Ok(Arc::new(PrimitiveArray::<DurationMicrosecondType>::new(
        ScalarBuffer::from(raw),
        nulls_of(values),
    )))
}

/// `TimeDelta` (alias `chrono::Duration`) as `Duration(Microsecond)`; reads `Duration` of any unit.
impl ArrowField for TimeDelta {
    fn data_type() -> DataType {
        DataType::Duration(TimeUnit::Microsecond)
    }
    fn to_array(values: &[Self]) -> Result<ArrayRef, FieldError> {
        deltas_to_array(&values.iter().copied().map(Some).collect::<Vec<_>>())
    }
    fn from_array(array: &dyn Array) -> Result<Vec<Self>, FieldError> {
        list::required(Self::from_array_opt(array)?, Self::data_type())
    }
    fn to_array_opt(values: &[Option<Self>]) -> Result<ArrayRef, FieldError> {
        deltas_to_array(values)
    }
    fn from_array_opt(array: &dyn Array) -> Result<Vec<Option<Self>>, FieldError> {
        let DataType::Duration(unit) = array.data_type() else {
            return Err(FieldError::TypeMismatch {
                expected: Self::data_type(),
                found: array.data_type().clone(),
            });
        };
        let raw: Vec<Option<i64>> = match unit {
            TimeUnit::Second => array.as_primitive::<DurationSecondType>().iter().collect(),
            TimeUnit::Millisecond => array
                .as_primitive::<DurationMillisecondType>()
                .iter()
                .collect(),
            TimeUnit::Microsecond => array
                .as_primitive::<DurationMicrosecondType>()
                .iter()
                .collect(),
            TimeUnit::Nanosecond => array
                .as_primitive::<DurationNanosecondType>()
                .iter()
                .collect(),
        };
        raw.into_iter()
            .enumerate()
            .map(|(row, v)| v.map(|v| units_to_delta(row, v, *unit)).transpose())
            .collect()
    }
}

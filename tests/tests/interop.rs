//! Interoperability with real Python readers and writers (pyarrow, polars, pandas, DuckDB).
//!
//! * Rust -> Python: a struct using every supported field type (nulls, empty strings and lists,
//!   unicode, extreme integers, NaN and infinities, timestamps before 1970) is written as Parquet
//!   with every codec and as Arrow IPC (every compression); `tests/interop/check_read.py` reads
//!   each file with pyarrow, polars, pandas and DuckDB and compares values and logical types with
//!   `expected.json`, which Rust writes from the Rust values (not from the Arrow batch).
//! * Python -> Rust: `tests/interop/write_files.py` writes the same rows with pyarrow, polars and
//!   DuckDB (`COPY ... TO`), plus variants (columns in another order, extra columns, Large and View
//!   string types); Rust loads each into the typed container and compares the values.
//! * A `ParquetStore` directory after several appends is one dataset for pyarrow.dataset,
//!   polars.scan_parquet, DuckDB read_parquet and pandas.
//! * Rust -> Spark: `tests/interop/check_spark.py` reads, in one local Spark session, stores
//!   written with `spark_compatible(true)` (one file per codec Spark has, and a directory after
//!   appends: every column, values and Spark types), a default-profile file (refused as a whole;
//!   every other column given a schema without nanoseconds and times of day) and a Brotli file
//!   (unreadable).
//!
//! The interpreters are `$SOA_PYTHON` and `$SOA_SPARK_PYTHON` (scripts/test.sh points them at the
//! pinned `.venv` and `.venv-spark`). Without `SOA_INTEROP=1` a missing Python module (or Java,
//! for Spark) skips a test with a `skipped:` line; with it the test fails.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, TimeZone, Utc};
use rust_decimal::Decimal;
use std::sync::Arc;

use soa_runtime::StoreExt;
use soa_runtime::arrow::array::{Array, DurationMicrosecondArray, Int64Array, RecordBatch};
use soa_runtime::arrow::datatypes::{Field, Schema};
use soa_runtime::arrow::ipc::reader::FileReader;
use soa_runtime::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use soa_runtime::store::memory::IpcCompression;
use soa_runtime::store::parquet::Codec;
use soa_runtime::{ArrowStore, Error, ParquetStore, Soa, Store, ToArrow};
use uuid::Uuid;

// ---------------------------------------------------------------------------------------------
// The row type: every supported kind of field

#[derive(Soa, ToArrow, Debug, Clone, Copy, PartialEq)]
pub enum Color {
    Red,
    Green,
    Blue,
}

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
pub struct Point {
    pub x: f64,
    pub y: Option<i32>,
    pub label: String,
}

/// A timestamp in seconds inside a list of structs (Parquet stores it as milliseconds).
#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
pub struct Stamp {
    #[soa(timestamp = "s")]
    pub at: DateTime<Utc>,
    pub label: String,
}

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
pub struct Every {
    pub id: u32,
    pub i8_: i8,
    pub i16_: i16,
    pub i32_: i32,
    pub i64_: i64,
    pub u8_: u8,
    pub u16_: u16,
    pub u32_: u32,
    pub u64_: u64,
    pub f32_: f32,
    pub f64_: f64,
    pub flag: bool,
    pub text: String,
    pub maybe_text: Option<String>,
    pub maybe_i64: Option<i64>,
    pub maybe_f64: Option<f64>,
    pub maybe_bool: Option<bool>,
    pub color: Color,
    pub maybe_color: Option<Color>,
    pub bytes: Vec<u8>,
    pub maybe_bytes: Option<Vec<u8>>,
    pub fixed: [u8; 4],
    pub ints: Vec<i32>,
    pub strings: Vec<String>,
    pub maybe_list: Option<Vec<Option<i64>>>,
    pub triple: [i16; 3],
    pub point: Point,
    pub maybe_point: Option<Point>,
    pub big: i128,
    pub ubig: u128,
    pub letter: char,
    pub map: std::collections::BTreeMap<String, i64>,
    #[soa(large)]
    pub large_text: String,
    #[soa(dictionary)]
    pub dict_text: String,
    pub at: DateTime<Utc>,
    pub maybe_at: Option<DateTime<Utc>>,
    #[soa(timestamp = "ns")]
    pub at_ns: DateTime<Utc>,
    pub naive: NaiveDateTime,
    #[soa(timestamp = "ms")]
    pub ts_ms: i64,
    #[soa(timestamp = "s")]
    pub ts_s: i64,
    #[soa(timestamp = "s")]
    pub at_s: DateTime<Utc>,
    pub stamps: Vec<Stamp>,
    pub day: NaiveDate,
    pub maybe_days: Option<Vec<Option<NaiveDate>>>,
    pub time: NaiveTime,
    pub delta: TimeDelta,
    pub uuid: Uuid,
    pub maybe_uuid: Option<Uuid>,
    pub amount: Decimal,
    #[soa(decimal(precision = 12, scale = 2))]
    pub price: Option<Decimal>,
    #[soa(decimal(precision = 18, scale = 4))]
    pub raw: i128,
}

/// 10^38 - 1, the largest magnitude of `Decimal128(38, 0)`.
const MAX38: i128 = 99_999_999_999_999_999_999_999_999_999_999_999_999;

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, micros: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap() + TimeDelta::microseconds(micros)
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn edge_rows() -> Vec<Every> {
    let p = |x: f64, y: Option<i32>, label: &str| Point {
        x,
        y,
        label: label.into(),
    };
    vec![
        // Minimums, empties and nulls; timestamps before 1970.
        Every {
            id: 0,
            i8_: i8::MIN,
            i16_: i16::MIN,
            i32_: i32::MIN,
            i64_: i64::MIN,
            u8_: 0,
            u16_: 0,
            u32_: 0,
            u64_: 0,
            f32_: f32::NEG_INFINITY,
            f64_: f64::NAN,
            flag: false,
            text: String::new(),
            maybe_text: None,
            maybe_i64: None,
            maybe_f64: None,
            maybe_bool: None,
            color: Color::Red,
            maybe_color: None,
            bytes: vec![],
            maybe_bytes: None,
            fixed: [0; 4],
            ints: vec![],
            strings: vec![],
            maybe_list: None,
            triple: [i16::MIN, 0, i16::MAX],
            point: p(-0.0, None, ""),
            maybe_point: None,
            big: -MAX38,
            ubig: 0,
            letter: '\0',
            map: BTreeMap::new(),
            large_text: String::new(),
            dict_text: String::new(),
            at: utc(1969, 12, 31, 23, 59, 59, 999_999),
            maybe_at: None,
            at_ns: utc(1677, 9, 22, 0, 0, 0, 0) + TimeDelta::nanoseconds(1),
            naive: utc(1900, 1, 1, 0, 0, 0, 1).naive_utc(),
            ts_ms: -1,
            ts_s: -1,
            at_s: utc(1900, 1, 1, 0, 0, 0, 0),
            stamps: vec![],
            day: date(1969, 12, 31),
            maybe_days: None,
            time: NaiveTime::MIN,
            delta: TimeDelta::microseconds(-1),
            uuid: Uuid::nil(),
            maybe_uuid: None,
            amount: dec("-9999999999999999999.999999999"),
            price: None,
            raw: -999_999_999_999_999_999,
        },
        // Maximums, unicode, NaN/infinities inside lists and structs.
        Every {
            id: 1,
            i8_: i8::MAX,
            i16_: i16::MAX,
            i32_: i32::MAX,
            i64_: i64::MAX,
            u8_: u8::MAX,
            u16_: u16::MAX,
            u32_: u32::MAX,
            u64_: u64::MAX,
            f32_: f32::MAX,
            f64_: f64::INFINITY,
            flag: true,
            text: "日本語 🚀 Zürich \u{10FFFF}".into(),
            maybe_text: Some(String::new()),
            maybe_i64: Some(i64::MIN),
            maybe_f64: Some(f64::NEG_INFINITY),
            maybe_bool: Some(false),
            color: Color::Blue,
            maybe_color: Some(Color::Green),
            bytes: vec![0, 255, 1, 128],
            maybe_bytes: Some(vec![]),
            fixed: [255, 0, 127, 128],
            ints: vec![i32::MIN, 0, i32::MAX],
            strings: vec![String::new(), "ü".into(), "a,b\"c\n".into()],
            maybe_list: Some(vec![]),
            triple: [1, -1, 0],
            point: p(f64::MIN_POSITIVE, Some(i32::MIN), "€"),
            maybe_point: Some(p(f64::NEG_INFINITY, None, "")),
            big: MAX38,
            ubig: MAX38 as u128,
            letter: '\u{10FFFF}',
            map: BTreeMap::from([(String::new(), i64::MIN), ("ключ".into(), i64::MAX)]),
            large_text: "large ✓".into(),
            dict_text: "Société".into(),
            at: utc(2262, 4, 11, 23, 47, 16, 854_775),
            maybe_at: Some(utc(1900, 1, 1, 0, 0, 0, 0)),
            at_ns: utc(2262, 4, 11, 23, 47, 16, 0) + TimeDelta::nanoseconds(854_775_000),
            naive: utc(2199, 12, 31, 23, 59, 59, 999_999).naive_utc(),
            ts_ms: i64::from(i32::MAX) * 1000 + 999,
            ts_s: 253_402_300_799, // 9999-12-31 23:59:59, the last second Python datetimes hold
            at_s: utc(9999, 12, 31, 23, 59, 59, 0),
            stamps: vec![
                Stamp {
                    at: utc(1969, 12, 31, 23, 59, 59, 0),
                    label: "🚀".into(),
                },
                Stamp {
                    at: utc(2262, 4, 12, 0, 0, 0, 0),
                    label: String::new(),
                },
            ],
            day: date(9999, 12, 31),
            maybe_days: Some(vec![Some(date(1, 1, 1)), None, Some(date(1970, 1, 1))]),
            time: NaiveTime::from_hms_micro_opt(23, 59, 59, 999_999).unwrap(),
            delta: TimeDelta::days(365 * 1000),
            uuid: Uuid::max(),
            maybe_uuid: Some(Uuid::from_u128(0x67e5_5044_10b1_426f_9247_bb68_0e5f_e0c8)),
            amount: dec("9999999999999999999.999999999"),
            price: Some(dec("9999999999.99")),
            raw: 999_999_999_999_999_999,
        },
        // Ordinary values, NaN in a nullable column, negative zero.
        Every {
            id: 2,
            i8_: -1,
            i16_: -300,
            i32_: 123_456,
            i64_: -9_007_199_254_740_993,
            u8_: 42,
            u16_: 60_000,
            u32_: 4_000_000_000,
            u64_: 9_007_199_254_740_993,
            f32_: f32::NAN,
            f64_: -0.0,
            flag: true,
            text: "plain".into(),
            maybe_text: Some("x".repeat(300)),
            maybe_i64: Some(i64::MAX),
            maybe_f64: Some(f64::NAN),
            maybe_bool: Some(true),
            color: Color::Green,
            maybe_color: Some(Color::Red),
            bytes: b"\x00abc\xff".to_vec(),
            maybe_bytes: Some(vec![7; 17]),
            fixed: *b"PAR1",
            ints: vec![7],
            strings: vec!["only".into()],
            maybe_list: Some(vec![None, Some(-1), Some(i64::MAX)]),
            triple: [0, 0, 0],
            point: p(1e300, Some(0), "nested"),
            maybe_point: Some(p(f64::NAN, Some(i32::MAX), "🚀")),
            big: 0,
            ubig: 1,
            letter: 'ß',
            map: BTreeMap::from([("k".into(), 0)]),
            large_text: "x".repeat(1000),
            dict_text: "Société".into(),
            at: DateTime::UNIX_EPOCH,
            maybe_at: Some(utc(1960, 2, 29, 12, 0, 0, 1)),
            at_ns: DateTime::UNIX_EPOCH - TimeDelta::nanoseconds(1),
            naive: utc(1970, 1, 1, 0, 0, 0, 0).naive_utc(),
            ts_ms: 0,
            ts_s: 0,
            at_s: DateTime::UNIX_EPOCH,
            stamps: vec![Stamp {
                at: DateTime::UNIX_EPOCH,
                label: "epoch".into(),
            }],
            day: date(1, 1, 1),
            maybe_days: Some(vec![]),
            time: NaiveTime::from_hms_micro_opt(12, 0, 0, 1).unwrap(),
            delta: TimeDelta::zero(),
            uuid: Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef),
            maybe_uuid: Some(Uuid::nil()),
            amount: dec("0.000000001"),
            price: Some(dec("-0.01")),
            raw: 0,
        },
    ]
}

/// The edge rows followed by `n` ordinary generated rows (several dictionary values and pages).
fn every_rows(n: usize) -> Vec<Every> {
    let mut rows = edge_rows();
    let colors = [Color::Red, Color::Green, Color::Blue];
    let words = ["alpha", "βeta", "", "gamma 🚀", "δ"];
    for i in 0..n {
        let k = i as i64;
        let id = rows.len() as u32;
        rows.push(Every {
            id,
            i8_: (i % 256) as u8 as i8,
            i16_: (k * 37 - 5000) as i16,
            i32_: (k * 7919 - 100_000) as i32,
            i64_: k * 1_000_000_007 - 50_000_000_000,
            u8_: (i % 256) as u8,
            u16_: (i * 101 % 65536) as u16,
            u32_: (i as u32).wrapping_mul(2_654_435_761),
            u64_: (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
            f32_: k as f32 / 3.0,
            f64_: (k as f64).sqrt() - 10.0,
            flag: i % 3 == 0,
            text: format!("{} {i}", words[i % words.len()]),
            maybe_text: (i % 4 != 0).then(|| words[i % words.len()].to_owned()),
            maybe_i64: (i % 5 != 0).then_some(-k),
            maybe_f64: (i % 6 != 0).then_some(k as f64 * 0.25),
            maybe_bool: (i % 7 != 0).then_some(i % 2 == 0),
            color: colors[i % 3],
            maybe_color: (i % 4 != 1).then_some(colors[(i / 3) % 3]),
            bytes: (0..(i % 5) as u8).collect(),
            maybe_bytes: (i % 3 != 0).then(|| vec![i as u8; i % 4]),
            fixed: (i as u32).to_be_bytes(),
            ints: (0..(i % 4) as i32).map(|v| v * 1000 - 1).collect(),
            strings: (0..i % 3).map(|v| words[v].to_owned()).collect(),
            maybe_list: (i % 2 == 0).then(|| vec![Some(k), None]),
            triple: [i as i16, -(i as i16), 7],
            point: Point {
                x: k as f64 / 8.0,
                y: (i % 3 != 0).then_some(i as i32),
                label: words[(i + 1) % words.len()].to_owned(),
            },
            maybe_point: (i % 3 != 1).then(|| Point {
                x: -(k as f64),
                y: None,
                label: format!("p{i}"),
            }),
            big: i128::from(k) * 1_000_000_000_000_000_000_000 - 7,
            ubig: u128::from(i as u64) * 10_u128.pow(30),
            letter: ['a', 'é', '中', '🚀'][i % 4],
            map: (0..i % 3)
                .map(|v| (format!("k{v}"), k * v as i64))
                .collect(),
            large_text: format!("large {i}"),
            dict_text: words[i % 2].to_owned(),
            at: utc(1950, 1, 1, 0, 0, 0, 0) + TimeDelta::seconds(k * 86_400 * 97 + k),
            maybe_at: (i % 5 != 2).then(|| utc(1969, 7, 20, 20, 17, 40, k * 3)),
            at_ns: utc(1968, 1, 1, 0, 0, 0, 0) + TimeDelta::nanoseconds(k * 1_234_567_891),
            naive: utc(2000, 2, 29, 0, 0, 0, 0).naive_utc() - TimeDelta::hours(k * 1000),
            ts_ms: -k * 86_400_000 + 123,
            ts_s: k * 1_000_003 - 50_000_000,
            at_s: utc(1960, 1, 1, 0, 0, 0, 0) + TimeDelta::seconds(k * 7_777_777),
            stamps: (0..i % 3)
                .map(|v| Stamp {
                    at: utc(2000, 1, 1, 0, 0, 0, 0) + TimeDelta::seconds(k * 1000 - v as i64),
                    label: format!("s{v}"),
                })
                .collect(),
            day: date(1969, 1, 1) + TimeDelta::days(k * 3),
            maybe_days: (i % 3 == 0).then(|| vec![Some(date(2024, 2, 29)), None]),
            time: NaiveTime::from_num_seconds_from_midnight_opt(
                (i * 3601 % 86_400) as u32,
                (i * 1000 % 1_000_000_000) as u32,
            )
            .unwrap(),
            delta: TimeDelta::microseconds(k * 1_000_003 - 10_000),
            uuid: Uuid::from_u128(u128::from(i as u64) << 64 | 0xABCD),
            maybe_uuid: (i % 2 == 1).then(|| Uuid::from_u128(i as u128)),
            amount: Decimal::new(k * 123_456_789 - 5, 6),
            price: (i % 4 != 3).then(|| Decimal::new(k * 199 - 1000, 2)),
            raw: i128::from(k) * 10_001 - 3,
        });
    }
    rows
}

// ---------------------------------------------------------------------------------------------
// Canonical JSON (the format `tests/interop/canon.py` produces from every reader)

/// A JSON value. Canonical forms: integers (and timestamps in the column's unit, dates as days,
/// times and durations in microseconds) as numbers; floats as numbers or `"NaN"`, `"inf"`,
/// `"-inf"`; decimals as strings with exactly the column's scale; bytes, fixed-size bytes and
/// uuids as lowercase hex; enums by variant name; maps as `[key, value]` pairs sorted by key.
#[derive(Debug, Clone)]
enum J {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

/// Equality of canonical values: NaN equals NaN, -0.0 differs from 0.0.
impl PartialEq for J {
    fn eq(&self, other: &J) -> bool {
        match (self, other) {
            (J::Null, J::Null) => true,
            (J::Bool(a), J::Bool(b)) => a == b,
            (J::Int(a), J::Int(b)) => a == b,
            (J::Float(a), J::Float(b)) => {
                (a.is_nan() && b.is_nan())
                    || (a == b && a.is_sign_negative() == b.is_sign_negative())
            }
            (J::Str(a), J::Str(b)) => a == b,
            (J::Arr(a), J::Arr(b)) => a == b,
            (J::Obj(a), J::Obj(b)) => a == b,
            _ => false,
        }
    }
}

impl J {
    fn write(&self, out: &mut String) {
        match self {
            J::Null => out.push_str("null"),
            J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            J::Int(i) => {
                let _ = write!(out, "{i}");
            }
            J::Float(f) if f.is_nan() => out.push_str("\"NaN\""),
            J::Float(f) if f.is_infinite() => {
                out.push_str(if *f > 0.0 { "\"inf\"" } else { "\"-inf\"" });
            }
            J::Float(f) => {
                let _ = write!(out, "{f:?}");
            }
            J::Str(s) => write_str(s, out),
            J::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
            J::Obj(fields) => {
                out.push('{');
                for (i, (k, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_str(k, out);
                    out.push(':');
                    v.write(out);
                }
                out.push('}');
            }
        }
    }
}

fn write_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn s(v: impl Into<String>) -> J {
    J::Str(v.into())
}

fn int(v: impl Into<i128>) -> J {
    J::Int(v.into())
}

fn hex(bytes: &[u8]) -> J {
    J::Str(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn opt<T>(v: &Option<T>, f: impl Fn(&T) -> J) -> J {
    v.as_ref().map_or(J::Null, f)
}

fn arr<T>(v: &[T], f: impl Fn(&T) -> J) -> J {
    J::Arr(v.iter().map(f).collect())
}

fn decimal(v: &Decimal, scale: u32) -> J {
    let mut v = *v;
    v.rescale(scale);
    J::Str(v.to_string())
}

fn unscaled(v: i128, scale: u32) -> J {
    let digits = v.unsigned_abs().to_string();
    let scale = scale as usize;
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (int_part, frac) = padded.split_at(padded.len() - scale);
    let sign = if v < 0 { "-" } else { "" };
    J::Str(if scale == 0 {
        format!("{sign}{int_part}")
    } else {
        format!("{sign}{int_part}.{frac}")
    })
}

fn micros(t: &DateTime<Utc>) -> J {
    int(t.timestamp_micros())
}

fn days(d: &NaiveDate) -> J {
    int(d.signed_duration_since(date(1970, 1, 1)).num_days())
}

fn point(p: &Point) -> J {
    J::Obj(vec![
        ("x".into(), J::Float(p.x)),
        ("y".into(), opt(&p.y, |v| int(*v))),
        ("label".into(), s(p.label.as_str())),
    ])
}

fn stamp(st: &Stamp) -> J {
    J::Obj(vec![
        ("at".into(), int(st.at.timestamp())),
        ("label".into(), s(st.label.as_str())),
    ])
}

fn color(c: &Color) -> J {
    s(format!("{c:?}"))
}

/// One canonical value per column, in schema order.
fn canon(e: &Every) -> Vec<(&'static str, J)> {
    vec![
        ("id", int(e.id)),
        ("i8_", int(e.i8_)),
        ("i16_", int(e.i16_)),
        ("i32_", int(e.i32_)),
        ("i64_", int(e.i64_)),
        ("u8_", int(e.u8_)),
        ("u16_", int(e.u16_)),
        ("u32_", int(e.u32_)),
        ("u64_", int(e.u64_)),
        ("f32_", J::Float(f64::from(e.f32_))),
        ("f64_", J::Float(e.f64_)),
        ("flag", J::Bool(e.flag)),
        ("text", s(e.text.as_str())),
        ("maybe_text", opt(&e.maybe_text, |v| s(v.as_str()))),
        ("maybe_i64", opt(&e.maybe_i64, |v| int(*v))),
        ("maybe_f64", opt(&e.maybe_f64, |v| J::Float(*v))),
        ("maybe_bool", opt(&e.maybe_bool, |v| J::Bool(*v))),
        ("color", color(&e.color)),
        ("maybe_color", opt(&e.maybe_color, color)),
        ("bytes", hex(&e.bytes)),
        ("maybe_bytes", opt(&e.maybe_bytes, |v| hex(v))),
        ("fixed", hex(&e.fixed)),
        ("ints", arr(&e.ints, |v| int(*v))),
        ("strings", arr(&e.strings, |v| s(v.as_str()))),
        (
            "maybe_list",
            opt(&e.maybe_list, |l| arr(l, |v| opt(v, |v| int(*v)))),
        ),
        ("triple", arr(&e.triple, |v| int(*v))),
        ("point", point(&e.point)),
        ("maybe_point", opt(&e.maybe_point, point)),
        ("big", unscaled(e.big, 0)),
        ("ubig", J::Str(e.ubig.to_string())),
        ("letter", s(e.letter.to_string())),
        (
            "map",
            J::Arr(
                e.map
                    .iter()
                    .map(|(k, v)| J::Arr(vec![s(k.as_str()), int(*v)]))
                    .collect(),
            ),
        ),
        ("large_text", s(e.large_text.as_str())),
        ("dict_text", s(e.dict_text.as_str())),
        ("at", micros(&e.at)),
        ("maybe_at", opt(&e.maybe_at, micros)),
        ("at_ns", int(e.at_ns.timestamp_nanos_opt().unwrap())),
        ("naive", int(e.naive.and_utc().timestamp_micros())),
        ("ts_ms", int(e.ts_ms)),
        ("ts_s", int(e.ts_s)),
        ("at_s", int(e.at_s.timestamp())),
        ("stamps", arr(&e.stamps, stamp)),
        ("day", days(&e.day)),
        (
            "maybe_days",
            opt(&e.maybe_days, |l| arr(l, |v| opt(v, days))),
        ),
        (
            "time",
            int(i64::from(e.time.num_seconds_from_midnight_()) * 1_000_000
                + i64::from(e.time.nanosecond_() / 1000)),
        ),
        ("delta", int(e.delta.num_microseconds().unwrap())),
        ("uuid", hex(e.uuid.as_bytes())),
        ("maybe_uuid", opt(&e.maybe_uuid, |u| hex(u.as_bytes()))),
        ("amount", decimal(&e.amount, 9)),
        ("price", opt(&e.price, |v| decimal(v, 2))),
        ("raw", unscaled(e.raw, 4)),
    ]
}

/// `NaiveTime` accessors without importing chrono's `Timelike` at every call site.
trait TimeParts {
    fn num_seconds_from_midnight_(&self) -> u32;
    fn nanosecond_(&self) -> u32;
}

impl TimeParts for NaiveTime {
    fn num_seconds_from_midnight_(&self) -> u32 {
        chrono::Timelike::num_seconds_from_midnight(self)
    }
    fn nanosecond_(&self) -> u32 {
        chrono::Timelike::nanosecond(self)
    }
}

/// Columns as canonical JSON arrays (one per column, in schema order), as text.
fn canon_columns(rows: &[Every]) -> Vec<(&'static str, Vec<J>)> {
    let mut columns: Vec<(&'static str, Vec<J>)> = Vec::new();
    for row in rows {
        for (i, (name, value)) in canon(row).into_iter().enumerate() {
            if columns.len() <= i {
                columns.push((name, Vec::new()));
            }
            columns[i].1.push(value);
        }
    }
    columns
}

/// `expected.json`: `{"columns": {name: [values...]}, "order": [names...]}`.
fn expected_json(rows: &[Every]) -> String {
    let columns = canon_columns(rows);
    let doc = J::Obj(vec![
        (
            "order".into(),
            J::Arr(columns.iter().map(|(n, _)| s(*n)).collect()),
        ),
        ("rows".into(), int(rows.len() as i64)),
        (
            "columns".into(),
            J::Obj(
                columns
                    .into_iter()
                    .map(|(n, v)| (n.to_owned(), J::Arr(v)))
                    .collect(),
            ),
        ),
    ]);
    let mut out = String::new();
    doc.write(&mut out);
    out
}

/// Compares two row lists through their canonical form (rows hold NaN, which `==` rejects), and
/// names the first differing column and row.
fn assert_same_rows(got: &[Every], expected: &[Every], what: &str) {
    assert_eq!(got.len(), expected.len(), "{what}: row count");
    for (i, (g, e)) in got.iter().zip(expected).enumerate() {
        for ((name, gv), (_, ev)) in canon(g).into_iter().zip(canon(e)) {
            assert_eq!(gv, ev, "{what}: row {i} column {name}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Python

fn python() -> String {
    std::env::var("SOA_PYTHON").unwrap_or_else(|_| "python3".into())
}

fn interop_required() -> bool {
    std::env::var("SOA_INTEROP").is_ok_and(|v| v == "1")
}

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("interop")
        .join(name)
}

/// The interpreter of the Spark venv (`$SOA_SPARK_PYTHON`; scripts/test.sh points it at the
/// pinned `.venv-spark`, kept apart because pyspark is large).
fn spark_python() -> String {
    std::env::var("SOA_SPARK_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// `true` when `modules` import; otherwise prints `skipped: ...` and returns `false`, or panics
/// when `SOA_INTEROP=1` (the test command installs them).
fn have_python(modules: &[&str]) -> bool {
    have_modules(&python(), modules, ".venv")
}

/// `true` when pyspark imports in the Spark interpreter and Java runs (see [`have_python`]).
fn have_spark() -> bool {
    if !have_modules(&spark_python(), &["pyspark"], ".venv-spark") {
        return false;
    }
    let java = Command::new("java").arg("-version").output();
    if java.as_ref().is_ok_and(|o| o.status.success()) {
        return true;
    }
    assert!(
        !interop_required(),
        "SOA_INTEROP=1 but `java -version` fails (Spark needs Java 17+): {java:?}"
    );
    println!("skipped: no Java for Spark");
    false
}

fn have_modules(python: &str, modules: &[&str], venv: &str) -> bool {
    let code = format!("import {}", modules.join(", "));
    let out = Command::new(python).args(["-c", &code]).output();
    let ok = out.as_ref().is_ok_and(|o| o.status.success());
    if ok {
        return true;
    }
    let why = match out {
        Ok(o) => String::from_utf8_lossy(&o.stderr).trim().to_owned(),
        Err(e) => e.to_string(),
    };
    assert!(
        !interop_required(),
        "SOA_INTEROP=1 but {python} cannot import {modules:?}: {why}"
    );
    println!("skipped: {python} cannot import {modules:?} (run scripts/test.sh to set up {venv})");
    false
}

/// Runs a script from tests/interop and returns its stdout; panics with its output on failure.
fn run_python(name: &str, args: &[&Path]) -> String {
    run_script(&python(), name, args, None)
}

/// Runs a script from tests/interop with `python` (in `cwd` if given).
fn run_script(
    python: &str,
    name: &str,
    args: &[impl AsRef<std::ffi::OsStr>],
    cwd: Option<&Path>,
) -> String {
    let mut command = Command::new(python);
    if let Some(cwd) = cwd {
        command.current_dir(cwd);
    }
    let out = command
        .arg(script(name))
        .args(args)
        .env("PYTHONIOENCODING", "utf-8")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{name} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
    print!("{stdout}");
    stdout
}

/// A temporary directory, kept (and printed) when `SOA_INTEROP_KEEP=1` to debug a reader.
struct Tmp {
    path: PathBuf,
    _dir: Option<tempfile::TempDir>,
}

impl Tmp {
    fn path(&self) -> &Path {
        &self.path
    }
}

fn tmp() -> Tmp {
    let dir = tempfile::Builder::new()
        .prefix("soa-interop-")
        .tempdir()
        .unwrap();
    if std::env::var("SOA_INTEROP_KEEP").is_ok_and(|v| v == "1") {
        let path = dir.keep();
        println!("keeping {}", path.display());
        return Tmp { path, _dir: None };
    }
    Tmp {
        path: dir.path().to_owned(),
        _dir: Some(dir),
    }
}

fn codec_name(codec: Codec) -> String {
    format!("{codec:?}").to_lowercase().replace(['(', ')'], "")
}

// ---------------------------------------------------------------------------------------------
// Rust -> Python

#[tokio::test(flavor = "multi_thread")]
async fn python_readers_read_every_type_from_parquet_and_arrow_ipc() {
    if !have_python(&["pyarrow", "polars", "pandas", "duckdb"]) {
        return;
    }
    let dir = tmp();
    let rows = every_rows(200);
    let soa: EverySoA = rows.iter().cloned().collect();
    // The Rust round trip first: what the readers are compared with is what Rust reads back.
    let back = EverySoA::from_record_batch(&soa.to_record_batch().unwrap()).unwrap();
    assert_same_rows(&back.into_rows(), &rows, "Rust round trip");

    let expected = dir.path().join("expected.json");
    fs::write(&expected, expected_json(&rows)).unwrap();

    let mut files: Vec<PathBuf> = Vec::new();
    for &codec in Codec::ALL {
        let store_dir = dir.path().join(format!("parquet-{}", codec_name(codec)));
        let store = ParquetStore::<Every>::builder(&store_dir)
            .compression(codec)
            .row_group_size(64)
            .open_or_create()
            .await
            .unwrap();
        store.save(&soa).await.unwrap();
        assert_same_rows(
            &store.load().await.unwrap().into_rows(),
            &rows,
            "ParquetStore",
        );
        files.push(store_dir.join("data.parquet"));
    }
    let store = ArrowStore::<Every>::new();
    // One batch (several batches with different dictionaries are merged into one by `save_ipc`;
    // see tests/regression/ipc_dictionary_replacement.rs).
    store.append(&soa).await.unwrap();
    for compression in [
        IpcCompression::None,
        IpcCompression::Lz4,
        IpcCompression::Zstd,
    ] {
        let path = dir
            .path()
            .join(format!("ipc-{compression:?}.arrow").to_lowercase());
        store.save_ipc(&path, compression).await.unwrap();
        files.push(path);
    }
    let mut args: Vec<&Path> = vec![expected.as_path()];
    args.extend(files.iter().map(PathBuf::as_path));
    let out = run_python("check_read.py", &args);
    // One line per (reader, file), all ok.
    let results: Vec<&str> = out.lines().filter(|l| l.starts_with("RESULT ")).collect();
    assert_eq!(results.len(), 4 * files.len(), "{out}");
    assert!(results.iter().all(|l| l.contains(" ok")), "{out}");
}

// ---------------------------------------------------------------------------------------------
// Python -> Rust

fn read_parquet(path: &Path) -> Vec<RecordBatch> {
    let file = fs::File::open(path).unwrap();
    ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .build()
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap()
}

fn read_ipc(path: &Path) -> Vec<RecordBatch> {
    let file = fs::File::open(path).unwrap();
    FileReader::try_new(file, None)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .collect::<Result<Vec<_>, _>>()
        .unwrap()
}

/// The field an error names, if any.
fn failing_field(e: &Error) -> Option<&'static str> {
    match e {
        Error::Column { field, .. } | Error::MissingColumn { field, .. } => Some(field),
        _ => None,
    }
}

/// Loads `batches` (one batch) into `EverySoA`; when a column cannot be converted, records the
/// error, puts the column Rust wrote (from `reference`) in its place and goes on, so one run
/// lists every column a writer's file does not load. Returns the rows and `(column, error)`s.
fn load_each_column(
    batch: &RecordBatch,
    reference: &RecordBatch,
) -> (Vec<Every>, Vec<(String, String)>) {
    let mut batch = batch.clone();
    let mut errors = Vec::new();
    loop {
        match EverySoA::from_record_batch(&batch) {
            Ok(soa) => return (soa.into_rows(), errors),
            Err(e) => {
                let Some(field) = failing_field(&e) else {
                    panic!("not a column error: {e}");
                };
                errors.push((field.to_owned(), e.to_string()));
                let schema = batch.schema();
                let mut fields: Vec<Field> =
                    schema.fields().iter().map(|f| f.as_ref().clone()).collect();
                let mut columns = batch.columns().to_vec();
                let good = reference.column_by_name(field).unwrap().clone();
                let good_field = reference.schema().field_with_name(field).unwrap().clone();
                match schema.index_of(field) {
                    Ok(i) => {
                        fields[i] = good_field;
                        columns[i] = good;
                    }
                    Err(_) => {
                        fields.push(good_field);
                        columns.push(good);
                    }
                }
                batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap();
            }
        }
    }
}

/// Columns that files of a writer (file-name prefix) do not load yet, each a reported bug with an
/// ignored regression test under tests/regression/. The test fails when one of them loads, so
/// the list cannot go stale.
const KNOWN_GAPS: &[(&str, &str, &str)] = &[];

/// DuckDB writes the duration column as BIGINT microseconds (Parquet has no duration type and
/// DuckDB's INTERVAL cannot be negative in Parquet): read it back as a duration column.
fn duckdb_delta_as_duration(batch: &RecordBatch) -> RecordBatch {
    let index = batch.schema().index_of("delta").unwrap();
    let column = batch.column(index);
    let Some(ints) = column.as_any().downcast_ref::<Int64Array>() else {
        return batch.clone();
    };
    let micros = DurationMicrosecondArray::new(ints.values().clone(), ints.nulls().cloned());
    let mut fields: Vec<Field> = batch
        .schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields[index] = Field::new("delta", micros.data_type().clone(), true);
    let mut columns = batch.columns().to_vec();
    columns[index] = Arc::new(micros);
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn rust_reads_files_written_by_pyarrow_polars_and_duckdb() {
    if !have_python(&["pyarrow", "polars", "duckdb"]) {
        return;
    }
    let dir = tmp();
    let rows = every_rows(50);
    let soa: EverySoA = rows.iter().cloned().collect();
    // The writers start from this file, read with pyarrow (schema and values as Rust wrote them).
    let store_dir = dir.path().join("source");
    let store = ParquetStore::<Every>::open_or_create(&store_dir)
        .await
        .unwrap();
    store.save(&soa).await.unwrap();
    let source = store_dir.join("data.parquet");
    let out_dir = dir.path().join("written");
    fs::create_dir(&out_dir).unwrap();
    let listing = run_python("write_files.py", &[source.as_path(), out_dir.as_path()]);

    let mut report: BTreeMap<String, String> = BTreeMap::new();
    for line in listing.lines().filter_map(|l| l.strip_prefix("FILE ")) {
        let (name, _what) = line.split_once(' ').unwrap_or((line, ""));
        let path = out_dir.join(name);
        let mut batches = if name.ends_with(".parquet") {
            read_parquet(&path)
        } else {
            read_ipc(&path)
        };
        if name.starts_with("duckdb") {
            batches = batches.iter().map(duckdb_delta_as_duration).collect();
        }
        let types: Vec<String> = batches
            .first()
            .map(|b| {
                b.schema()
                    .fields()
                    .iter()
                    .filter(|f| {
                        ["text", "bytes", "ints", "color", "uuid", "triple"]
                            .contains(&f.name().as_str())
                    })
                    .map(|f| format!("{}: {}", f.name(), f.data_type()))
                    .collect()
            })
            .unwrap_or_default();
        // Every column a writer's file does not load, with the error (the others are compared).
        let mut loaded = Vec::new();
        let mut errors: BTreeMap<String, String> = BTreeMap::new();
        for batch in &batches {
            let offset = loaded.len();
            let reference = soa
                .slice(offset..offset + batch.num_rows())
                .to_record_batch()
                .unwrap();
            let (rows, errs) = load_each_column(batch, &reference);
            loaded.extend(rows);
            errors.extend(errs);
        }
        assert_same_rows(&loaded, &rows, name);
        let known: Vec<&str> = KNOWN_GAPS
            .iter()
            .filter(|(file, _, _)| name.starts_with(file))
            .map(|(_, column, _)| *column)
            .collect();
        for (column, e) in &errors {
            println!("    {name}: column {column} does not load: {e}");
        }
        let unexpected: Vec<_> = errors
            .keys()
            .filter(|c| !known.contains(&c.as_str()))
            .collect();
        let fixed: Vec<_> = known.iter().filter(|c| !errors.contains_key(**c)).collect();
        let outcome = if errors.is_empty() {
            "ok".to_owned()
        } else {
            format!(
                "ok except known gaps {:?}",
                errors.keys().collect::<Vec<_>>()
            )
        };
        assert!(
            unexpected.is_empty(),
            "{name}: columns that do not load: {errors:#?}"
        );
        assert!(
            fixed.is_empty(),
            "{name}: {fixed:?} load now: remove them from KNOWN_GAPS and un-ignore their regression tests"
        );
        println!("RESULT rust {name}: {outcome} [{}]", types.join(", "));
        report.insert(name.to_owned(), outcome);
    }
    for expected in [
        "pyarrow.parquet",
        "pyarrow.arrow",
        "pyarrow-reordered.parquet",
        "pyarrow-extra-columns.parquet",
        "pyarrow-large-types.parquet",
        "pyarrow-view-types.parquet",
        "pyarrow-large-types.arrow",
        "pyarrow-view-types.arrow",
        "polars.parquet",
        "polars.arrow",
        "duckdb.parquet",
    ] {
        assert!(report.contains_key(expected), "{expected} was not written");
    }

    // ArrowStore::load_ipc takes pyarrow's file too, although pyarrow names a map's entries
    // "map"/"key"/"value" (tests/regression/ipc_nested_field_names.rs).
    let loaded = ArrowStore::<Every>::new();
    loaded
        .load_ipc(out_dir.join("pyarrow.arrow"))
        .await
        .unwrap_or_else(|e| panic!("load_ipc(pyarrow.arrow): {e}"));
    assert_same_rows(&loaded.load().await.unwrap().into_rows(), &rows, "load_ipc");
}

// ---------------------------------------------------------------------------------------------
// A store directory as one dataset

#[tokio::test(flavor = "multi_thread")]
async fn store_directory_is_one_dataset_for_pyarrow_polars_duckdb_and_pandas() {
    if !have_python(&["pyarrow", "polars", "pandas", "duckdb"]) {
        return;
    }
    let dir = tmp();
    let store_dir = dir.path().join("store");
    let store = ParquetStore::<Every>::open_or_create(&store_dir)
        .await
        .unwrap();
    let rows = every_rows(400);
    let soa: EverySoA = rows.iter().cloned().collect();
    store.save(&soa.slice(0..100)).await.unwrap();
    let mut bounds = vec![100, 150, 151, 300, rows.len()];
    bounds.dedup();
    for pair in bounds.windows(2) {
        store.append(&soa.slice(pair[0]..pair[1])).await.unwrap();
    }
    // A leftover that dataset readers must not see (names starting with `.` or `_`).
    assert!(store.files().await.len() >= 5);
    let total = store.count().await.unwrap();
    assert_eq!(total, rows.len() as u64);
    let id_sum: u64 = rows.iter().map(|r| u64::from(r.id)).sum();
    let out = run_python(
        "read_dataset.py",
        &[
            store_dir.as_path(),
            Path::new(&total.to_string()),
            Path::new(&id_sum.to_string()),
        ],
    );
    let results: Vec<&str> = out.lines().filter(|l| l.starts_with("RESULT ")).collect();
    assert_eq!(results.len(), 4, "{out}");
    assert!(results.iter().all(|l| l.contains(" ok")), "{out}");
}

// ---------------------------------------------------------------------------------------------
// Spark

/// [`every_rows`] with `at_ns` floored to whole microseconds: a `spark_compatible` store writes
/// nanosecond timestamps as microseconds and refuses sub-microsecond digits.
fn spark_rows(n: usize) -> Vec<Every> {
    let mut rows = every_rows(n);
    for row in &mut rows {
        row.at_ns = DateTime::from_timestamp_micros(row.at_ns.timestamp_micros()).unwrap();
    }
    rows
}

#[tokio::test(flavor = "multi_thread")]
async fn spark_reads_spark_compatible_stores_in_full_and_default_files_except_two_types() {
    if !have_spark() {
        return;
    }
    let dir = tmp();
    let rows = spark_rows(200);
    let soa: EverySoA = rows.iter().cloned().collect();
    let expected = dir.path().join("expected.json");
    fs::write(&expected, expected_json(&rows)).unwrap();

    // One file per codec Spark reads (Brotli is refused by the profile, see below).
    let mut args: Vec<String> = vec![expected.display().to_string()];
    for &codec in Codec::ALL {
        if matches!(codec, Codec::Brotli(_)) {
            continue;
        }
        let store_dir = dir.path().join(format!("spark-{}", codec_name(codec)));
        let store = ParquetStore::<Every>::builder(&store_dir)
            .spark_compatible(true)
            .compression(codec)
            .row_group_size(64)
            .open_or_create()
            .await
            .unwrap();
        store.save(&soa).await.unwrap();
        // Our own load gives back the typed values (nanoseconds, times of day) exactly.
        let loaded = store.load().await.unwrap().into_rows();
        assert_same_rows(&loaded, &rows, "spark_compatible store");
        args.push(format!(
            "spark:{}",
            store_dir.join("data.parquet").display()
        ));
    }

    // A store directory after several appends: one dataset for Spark (it skips `_soa_manifest`
    // and staging names).
    let store_dir = dir.path().join("spark-dataset");
    let store = ParquetStore::<Every>::builder(&store_dir)
        .spark_compatible(true)
        .open_or_create()
        .await
        .unwrap();
    store.save(&soa.slice(0..100)).await.unwrap();
    store.append(&soa.slice(100..150)).await.unwrap();
    store.append(&soa.slice(150..rows.len())).await.unwrap();
    assert_eq!(store.files().await.len(), 3);
    assert_same_rows(
        &store.load().await.unwrap().into_rows(),
        &rows,
        "spark_compatible dataset",
    );
    args.push(format!("spark:{}", store_dir.display()));

    // The default profile: Spark refuses nanosecond timestamps and times of day (the whole file
    // unless given a schema without them).
    let plain_dir = dir.path().join("plain");
    let store = ParquetStore::<Every>::open_or_create(&plain_dir)
        .await
        .unwrap();
    store.save(&soa).await.unwrap();
    args.push(format!(
        "plain:{}",
        plain_dir.join("data.parquet").display()
    ));
    // Brotli: Spark cannot read it at all (so the profile refuses it).
    let brotli_dir = dir.path().join("brotli");
    let store = ParquetStore::<Every>::builder(&brotli_dir)
        .compression(Codec::Brotli(1))
        .open_or_create()
        .await
        .unwrap();
    store.save(&soa).await.unwrap();
    args.push(format!(
        "brotli:{}",
        brotli_dir.join("data.parquet").display()
    ));

    let started = std::time::Instant::now();
    let out = run_script(&spark_python(), "check_spark.py", &args, Some(dir.path()));
    println!(
        "check_spark.py took {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let results: Vec<&str> = out.lines().filter(|l| l.starts_with("RESULT ")).collect();
    assert_eq!(results.len(), args.len() - 1, "{out}");
    assert!(results.iter().all(|l| l.contains(" ok")), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn spark_compatible_refuses_brotli_and_sub_microsecond_timestamps() {
    let dir = tmp();
    let e = ParquetStore::<Every>::builder(dir.path().join("a"))
        .spark_compatible(true)
        .compression(Codec::Brotli(1))
        .open_or_create()
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::InvalidOption { option: "compression", ref reason } if reason.contains("Brotli")),
        "{e}"
    );
    let e = ParquetStore::<Every>::builder(dir.path().join("b"))
        .spark_compatible(true)
        .column_compression("text", Codec::Brotli(5))
        .open_or_create()
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::InvalidOption {
                option: "column_compression",
                ..
            }
        ),
        "{e}"
    );

    let store = ParquetStore::<Every>::builder(dir.path().join("c"))
        .spark_compatible(true)
        .open_or_create()
        .await
        .unwrap();
    // Row 0 holds 1677-09-22 00:00:00.000000001: nanoseconds Spark's microseconds cannot hold.
    let soa: EverySoA = every_rows(3).into_iter().collect();
    let e = store.save(&soa).await.unwrap_err();
    match &e {
        Error::OutOfRange {
            type_name: "Every",
            column,
            reason,
        } if column == "at_ns" => {
            assert!(reason.contains("digits below microseconds"), "{e}");
        }
        other => panic!("expected OutOfRange naming Every.at_ns, got {other:?}"),
    }
    assert_eq!(e.to_string().split(':').next(), Some("Every.at_ns"));
    assert_eq!(store.count().await.unwrap(), 0);
    // The same rows floored to microseconds are written and read back exactly.
    let rows = spark_rows(3);
    store
        .save(&rows.iter().cloned().collect::<EverySoA>())
        .await
        .unwrap();
    assert_same_rows(&store.load().await.unwrap().into_rows(), &rows, "floored");
}

// ---------------------------------------------------------------------------------------------
// Delta tables (feature `delta`): deltalake, polars, DuckDB's delta_scan and Spark

/// Delta readers and Spark on a table of every type written by `DeltaStore`, and `DeltaStore` on
/// a table written by deltalake (Python).
#[cfg(feature = "delta")]
mod delta {
    use super::*;
    use soa_runtime::store::delta::DeltaStore;

    fn delta_python() -> String {
        std::env::var("SOA_DELTA_PYTHON").unwrap_or_else(|_| "python3".into())
    }

    /// The rows of the Parquet interop, with nanosecond timestamps cut to whole microseconds
    /// (Delta timestamps are microseconds; finer digits are refused, tested in tests/delta.rs).
    fn delta_rows(n: usize) -> Vec<Every> {
        let mut rows = every_rows(n);
        for row in &mut rows {
            row.at_ns = DateTime::from_timestamp_micros(row.at_ns.timestamp_micros()).unwrap();
        }
        rows
    }

    /// `canon` as a Delta reader sees each column (see the README's Delta type table): `u64` as
    /// `decimal(20,0)`, every timestamp as microseconds UTC.
    fn delta_canon(e: &Every) -> Vec<(&'static str, J)> {
        canon(e)
            .into_iter()
            .map(|(name, value)| {
                let value = match name {
                    "u64_" => J::Str(e.u64_.to_string()),
                    "at_ns" => int(e.at_ns.timestamp_micros()),
                    "ts_ms" => int(i128::from(e.ts_ms) * 1000),
                    "ts_s" => int(i128::from(e.ts_s) * 1_000_000),
                    "at_s" => micros(&e.at_s),
                    "stamps" => arr(&e.stamps, |st| {
                        J::Obj(vec![
                            ("at".into(), micros(&st.at)),
                            ("label".into(), s(st.label.as_str())),
                        ])
                    }),
                    _ => value,
                };
                (name, value)
            })
            .collect()
    }

    fn version_json(rows: &[Every]) -> J {
        let mut columns: Vec<(&'static str, Vec<J>)> = Vec::new();
        for row in rows {
            for (i, (name, value)) in delta_canon(row).into_iter().enumerate() {
                if columns.len() <= i {
                    columns.push((name, Vec::new()));
                }
                columns[i].1.push(value);
            }
        }
        J::Obj(vec![
            (
                "order".into(),
                J::Arr(columns.iter().map(|(n, _)| s(*n)).collect()),
            ),
            ("rows".into(), int(rows.len() as i64)),
            (
                "columns".into(),
                J::Obj(
                    columns
                        .into_iter()
                        .map(|(n, v)| (n.to_owned(), J::Arr(v)))
                        .collect(),
                ),
            ),
        ])
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn delta_readers_read_every_version_of_a_table_of_every_type() {
        let python = delta_python();
        if !have_modules(
            &python,
            &["deltalake", "polars", "duckdb", "duckdb_extensions"],
            ".venv-delta",
        ) {
            return;
        }
        let dir = tmp();
        let path = dir.path().join("every");
        let url = path.to_str().unwrap().to_owned();
        let rows = delta_rows(60);
        let store = DeltaStore::<Every>::builder(&url)
            .checkpoint_interval(3)
            .u64_as_decimal(true) // u64::MAX among the edge values
            .create()
            .await
            .unwrap();
        // v1 save, v2 and v3 appends (v3 is checkpointed), v4 an overwrite of a part, v5 append.
        store.save(&EverySoA::from(&rows[..20])).await.unwrap();
        store.append(&EverySoA::from(&rows[20..40])).await.unwrap();
        store.append(&EverySoA::from(&rows[40..])).await.unwrap();
        store.save(&EverySoA::from(&rows[10..30])).await.unwrap();
        store.append(&EverySoA::from(&rows[50..])).await.unwrap();
        let versions: Vec<(u64, Vec<Every>)> = vec![
            (1, rows[..20].to_vec()),
            (2, rows[..40].to_vec()),
            (3, rows.clone()),
            (4, rows[10..30].to_vec()),
            (5, [&rows[10..30], &rows[50..]].concat()),
        ];
        // Our own reads, every version, exact.
        for (version, expected) in &versions {
            let got = store
                .at_version(*version)
                .await
                .unwrap()
                .load()
                .await
                .unwrap();
            assert_same_rows(
                &got.into_rows(),
                expected,
                &format!("DeltaStore v{version}"),
            );
        }
        // Spark reads the data files of v3 (no file removed up to there).
        let spark_out = dir.path().join("spark.json");
        let with_spark = have_spark();
        if with_spark {
            run_script(
                &spark_python(),
                "spark_delta.py",
                &[path.as_os_str(), "3".as_ref(), spark_out.as_os_str()],
                None,
            );
        }
        let doc = J::Obj(vec![(
            "versions".into(),
            J::Obj(
                versions
                    .iter()
                    .map(|(v, rows)| {
                        let mut sorted = rows.clone();
                        sorted.sort_by_key(|r| r.id);
                        (v.to_string(), version_json(&sorted))
                    })
                    .collect(),
            ),
        )]);
        let mut text = String::new();
        doc.write(&mut text);
        let expected = dir.path().join("expected_delta.json");
        fs::write(&expected, text).unwrap();
        let mut args: Vec<&std::ffi::OsStr> = vec![path.as_os_str(), expected.as_os_str()];
        if with_spark {
            args.push("--spark".as_ref());
            args.push(spark_out.as_os_str());
        }
        let out = run_script(&python, "check_delta.py", &args, None);
        for reader in ["deltalake", "polars", "duckdb"] {
            for (version, _) in &versions {
                assert!(
                    out.contains(&format!("ok {reader} version {version}:")),
                    "{reader} v{version}:\n{out}"
                );
            }
        }
        if with_spark {
            assert!(out.contains("ok spark version 3:"), "{out}");
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_table_written_and_appended_by_deltalake_loads_into_the_typed_container() {
        let python = delta_python();
        if !have_modules(&python, &["deltalake"], ".venv-delta") {
            return;
        }
        let dir = tmp();
        let path = dir.path().join("from_python");
        let out = run_script(&python, "delta_write.py", &[path.as_os_str()], None);
        println!("{out}");
        let store = DeltaStore::<soa_tests::Order>::open(path.to_str().unwrap())
            .await
            .unwrap();
        assert_eq!(store.version().await.unwrap(), 1);
        assert_eq!(store.count().await.unwrap(), 5);
        let mut rows = store.load().await.unwrap().into_rows();
        rows.sort_by_key(|r| r.order_id);
        use soa_tests::{Order, Side};
        let order = |order_id,
                     customer_id,
                     symbol: &str,
                     side,
                     quantity,
                     unit_price,
                     filled,
                     note: Option<&str>,
                     ts_micros| Order {
            order_id,
            customer_id,
            symbol: symbol.into(),
            side,
            quantity,
            unit_price,
            filled,
            note: note.map(Into::into),
            ts_micros,
        };
        let expected = vec![
            order(
                0,
                0,
                "AAPL",
                Side::Buy,
                1,
                189.25,
                true,
                Some("rush 🚀"),
                1_700_000_000_000_000,
            ),
            order(
                1,
                u32::MAX,
                "Société",
                Side::Sell,
                u32::MAX,
                0.01,
                false,
                None,
                1_700_000_000_001_000,
            ),
            order(
                2,
                42,
                "日本株",
                Side::Buy,
                0,
                99999.99,
                true,
                Some(""),
                -1_000_000,
            ),
            order(
                3,
                9_999,
                "MSFT",
                Side::Sell,
                500,
                1234.5,
                false,
                Some("note 3 — ünïcödé"),
                0,
            ),
            order(
                u64::MAX,
                1,
                "NVDA",
                Side::Buy,
                1000,
                -0.5,
                true,
                Some("last"),
                1_700_000_000_004_000,
            ),
        ];
        assert_eq!(rows, expected);
        let v0 = store.at_version(0).await.unwrap().load().await.unwrap();
        assert_eq!(v0.len(), 3);
        // Our append on their table, read back by them too.
        store
            .append(&soa_tests::OrderSoA::from(&soa_tests::orders(2)[..]))
            .await
            .unwrap();
        assert_eq!(store.count().await.unwrap(), 7);
        // deltalake reads our commit on its table.
        let check = format!(
            "from deltalake import DeltaTable; t = DeltaTable({:?}); print(t.version(), t.to_pyarrow_table().num_rows)",
            path.to_str().unwrap()
        );
        let out = Command::new(&python).args(["-c", &check]).output().unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "2 7",
            "{out:?}"
        );
    }

    /// A partitioned table (identity `symbol` with values that need escaping, `day(ts)`): the
    /// Delta readers see every column, the `day` key column, and prune by `symbol`.
    #[tokio::test(flavor = "multi_thread")]
    async fn delta_readers_read_a_partitioned_table_and_prune() {
        let python = delta_python();
        if !have_modules(
            &python,
            &["deltalake", "polars", "duckdb", "duckdb_extensions"],
            ".venv-delta",
        ) {
            return;
        }
        use soa_tests::Side;
        #[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
        struct Fill {
            id: u64,
            #[soa(partition)]
            symbol: String,
            side: Side,
            price: f64,
            qty: Option<i32>,
            #[soa(timestamp = "us", partition = "day")]
            ts: i64,
        }
        let symbols = ["007", "a b/c", "ü=x", "AAPL"];
        let day = 86_400_000_000i64;
        let t0 = 1_767_571_200_000_000i64; // 2026-01-05
        let rows: Vec<Fill> = (0..120u64)
            .map(|i| Fill {
                id: i,
                symbol: symbols[i as usize % 4].to_owned(),
                side: if i % 3 == 0 { Side::Sell } else { Side::Buy },
                price: i as f64 * 1.25,
                qty: (i % 5 != 0).then_some(i as i32 - 60),
                ts: t0 + (i as i64 % 3) * day + i as i64,
            })
            .collect();
        let dir = tmp();
        let path = dir.path().join("fills");
        let store = DeltaStore::<Fill>::create(path.to_str().unwrap())
            .await
            .unwrap();
        store.append(&FillSoA::from(&rows[..60])).await.unwrap();
        store.append(&FillSoA::from(&rows[60..])).await.unwrap();
        let days = ["2026-01-05", "2026-01-06", "2026-01-07"];
        let expected = J::Obj(vec![
            (
                "rows".into(),
                J::Arr(
                    rows.iter()
                        .map(|r| {
                            J::Obj(vec![
                                ("id".into(), int(r.id)),
                                ("symbol".into(), s(r.symbol.clone())),
                                ("side".into(), s(format!("{:?}", r.side))),
                                ("price".into(), J::Float(r.price)),
                                ("qty".into(), r.qty.map_or(J::Null, int)),
                                ("ts".into(), int(r.ts)),
                                ("day".into(), s(days[((r.ts - t0) / day) as usize])),
                            ])
                        })
                        .collect(),
                ),
            ),
            ("symbol".into(), s("a b/c")),
            // 3 days x 2 appends.
            ("files_for_symbol".into(), int(6)),
        ]);
        let mut text = String::new();
        expected.write(&mut text);
        let expected_path = dir.path().join("expected.json");
        std::fs::write(&expected_path, text).unwrap();
        let out = run_script(
            &python,
            "delta_partitioned.py",
            &[path.as_os_str(), expected_path.as_os_str()],
            None,
        );
        for reader in ["deltalake", "polars", "duckdb"] {
            assert!(out.contains(&format!("ok {reader} ")), "{out}");
        }
        assert!(
            out.contains("ok deltalake partition pruning (6 files)"),
            "{out}"
        );
    }

    /// A table partitioned by deltalake (`partition_by=["symbol"]`, values that need escaping, a
    /// null): `DeltaStore` opens it with `symbol` as its identity partition, loads every row with
    /// the exact values, prunes by the partition values, and appends into the right directories.
    #[tokio::test(flavor = "multi_thread")]
    async fn delta_store_reads_and_appends_to_a_table_partitioned_by_deltalake() {
        let python = delta_python();
        if !have_modules(&python, &["deltalake", "pyarrow"], ".venv-delta") {
            return;
        }
        #[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
        struct Quote {
            id: i64,
            symbol: Option<String>,
            price: f64,
        }
        let dir = tmp();
        let path = dir.path().join("quotes");
        let script = format!(
            "import pyarrow as pa\nfrom deltalake import write_deltalake\n\
             t = pa.table({{'id': pa.array([0, 1, 2, 3, 4], pa.int64()), \
             'symbol': pa.array(['007', 'a b/c', None, '007', 'ü=x'], pa.string()), \
             'price': pa.array([1.5, 2.5, 3.5, 4.5, 5.5], pa.float64())}})\n\
             write_deltalake({:?}, t, partition_by=['symbol'])\n",
            path.to_str().unwrap()
        );
        let out = Command::new(&python)
            .args(["-c", &script])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let store = DeltaStore::<Quote>::open(path.to_str().unwrap())
            .await
            .unwrap();
        assert_eq!(
            store.partitioning(),
            vec![soa_runtime::store::partition::Partition::column("symbol")]
        );
        let mut rows = store.load().await.unwrap().into_rows();
        rows.sort_by_key(|q| q.id);
        let expected = vec![
            Quote {
                id: 0,
                symbol: Some("007".into()),
                price: 1.5,
            },
            Quote {
                id: 1,
                symbol: Some("a b/c".into()),
                price: 2.5,
            },
            Quote {
                id: 2,
                symbol: None,
                price: 3.5,
            },
            Quote {
                id: 3,
                symbol: Some("007".into()),
                price: 4.5,
            },
            Quote {
                id: 4,
                symbol: Some("ü=x".into()),
                price: 5.5,
            },
        ];
        assert_eq!(rows, expected);
        let (hits, report) = store
            .load_where_with_metrics(Quote::col().symbol.eq("007"))
            .await
            .unwrap();
        assert_eq!(hits.len(), 2);
        assert!(report.partitions_skipped >= 2, "{report:?}");
        store
            .append(&QuoteSoA::from(
                &[Quote {
                    id: 5,
                    symbol: Some("007".into()),
                    price: 6.5,
                }][..],
            ))
            .await
            .unwrap();
        let check = format!(
            "from deltalake import DeltaTable; t = DeltaTable({:?}).to_pyarrow_table(); \
             print(sorted(r['id'] for r in t.to_pylist() if r['symbol'] == '007'))",
            path.to_str().unwrap()
        );
        let out = Command::new(&python).args(["-c", &check]).output().unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "[0, 3, 5]",
            "{out:?}"
        );
    }
}

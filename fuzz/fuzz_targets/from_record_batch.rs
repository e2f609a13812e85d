//! `from_record_batch` on arbitrary record batches: for every column of the target struct, the
//! fuzzer picks an Arrow type (the right one, a compatible one or a wrong one), a length, values
//! and nulls, may drop the column, add an extra one or reorder them. The conversion must return
//! `Ok` or a typed error, never panic.
#![no_main]

use std::sync::Arc;

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use soa_runtime::arrow::array::types::{Int8Type, Int32Type, Int64Type};
use soa_runtime::arrow::array::{
    ArrayRef, BinaryArray, BooleanArray, Date32Array, Decimal128Array, DictionaryArray,
    FixedSizeBinaryArray, Float32Array, Float64Array, Int8Array, Int16Array, Int32Array,
    Int64Array, LargeStringArray, ListArray, RecordBatch, RecordBatchOptions, StringArray,
    StringViewArray, StructArray, TimestampMicrosecondArray, TimestampNanosecondArray, UInt8Array,
    UInt32Array, UInt64Array,
};
use soa_runtime::arrow::datatypes::{DataType, Field, Fields, Schema};
use soa_fixtures::Side;
use soa_runtime::{Soa, ToArrow};

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
pub struct Inner {
    pub a: i32,
    pub b: Option<String>,
}

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
pub struct Target {
    pub id: u64,
    pub small: i8,
    pub price: f64,
    pub flag: bool,
    pub name: String,
    pub note: Option<String>,
    pub side: Side,
    pub maybe_side: Option<Side>,
    pub bytes: Vec<u8>,
    pub fixed: [u8; 4],
    pub ints: Vec<i32>,
    pub maybe_ints: Option<Vec<Option<i64>>>,
    pub triple: [i16; 3],
    pub inner: Inner,
    pub maybe_inner: Option<Inner>,
    pub big: i128,
    pub letter: char,
    pub map: std::collections::BTreeMap<String, i64>,
    pub at: chrono::DateTime<chrono::Utc>,
    pub day: chrono::NaiveDate,
    pub uuid: uuid::Uuid,
    pub amount: rust_decimal::Decimal,
}

fn opt<T>(u: &mut Unstructured, v: T) -> arbitrary::Result<Option<T>> {
    Ok(if u.ratio(1, 5)? { None } else { Some(v) })
}

/// An arbitrary column of `len` rows (nullable values where the type allows).
fn column(u: &mut Unstructured, len: usize) -> arbitrary::Result<ArrayRef> {
    let kind: u8 = u.int_in_range(0..=23)?;
    let vals = |u: &mut Unstructured| -> arbitrary::Result<Vec<Option<i64>>> {
        (0..len)
            .map(|_| {
                let v = i64::arbitrary(u)?;
                opt(u, v)
            })
            .collect()
    };
    Ok(match kind {
        0 => Arc::new(UInt64Array::from(
            vals(u)?
                .into_iter()
                .map(|v| v.map(|v| v as u64))
                .collect::<Vec<_>>(),
        )),
        1 => Arc::new(Int8Array::from(
            vals(u)?
                .into_iter()
                .map(|v| v.map(|v| v as i8))
                .collect::<Vec<_>>(),
        )),
        2 => Arc::new(Int16Array::from(
            vals(u)?
                .into_iter()
                .map(|v| v.map(|v| v as i16))
                .collect::<Vec<_>>(),
        )),
        3 => Arc::new(Int32Array::from(
            vals(u)?
                .into_iter()
                .map(|v| v.map(|v| v as i32))
                .collect::<Vec<_>>(),
        )),
        4 => Arc::new(Int64Array::from(vals(u)?)),
        5 => Arc::new(UInt8Array::from(
            vals(u)?
                .into_iter()
                .map(|v| v.map(|v| v as u8))
                .collect::<Vec<_>>(),
        )),
        6 => Arc::new(UInt32Array::from(
            vals(u)?
                .into_iter()
                .map(|v| v.map(|v| v as u32))
                .collect::<Vec<_>>(),
        )),
        7 => Arc::new(Float64Array::from(
            vals(u)?
                .into_iter()
                .map(|v| v.map(|v| f64::from_bits(v as u64)))
                .collect::<Vec<_>>(),
        )),
        8 => Arc::new(Float32Array::from(
            vals(u)?
                .into_iter()
                .map(|v| v.map(|v| f32::from_bits(v as u32)))
                .collect::<Vec<_>>(),
        )),
        9 => Arc::new(BooleanArray::from(
            vals(u)?
                .into_iter()
                .map(|v| v.map(|v| v & 1 == 1))
                .collect::<Vec<_>>(),
        )),
        10 | 11 | 12 => {
            let strings: Vec<Option<String>> = (0..len)
                .map(|_| {
                    let s = String::arbitrary(u)?;
                    opt(u, s)
                })
                .collect::<arbitrary::Result<_>>()?;
            match kind {
                10 => Arc::new(StringArray::from(strings)),
                11 => Arc::new(LargeStringArray::from(strings)),
                _ => Arc::new(StringViewArray::from(strings)),
            }
        }
        13 => {
            let bytes: Vec<Option<Vec<u8>>> = (0..len)
                .map(|_| {
                    let b = Vec::<u8>::arbitrary(u)?;
                    opt(u, b)
                })
                .collect::<arbitrary::Result<_>>()?;
            Arc::new(BinaryArray::from_iter(bytes))
        }
        14 => {
            let width: i32 = u.int_in_range(0..=17)?;
            let values: Vec<Option<Vec<u8>>> = (0..len)
                .map(|_| {
                    let b = (0..width)
                        .map(|_| u8::arbitrary(u))
                        .collect::<arbitrary::Result<Vec<u8>>>()?;
                    opt(u, b)
                })
                .collect::<arbitrary::Result<_>>()?;
            match FixedSizeBinaryArray::try_from_sparse_iter_with_size(values.into_iter(), width) {
                Ok(a) => Arc::new(a),
                Err(_) => Arc::new(Int32Array::from(vec![0; len])),
            }
        }
        15 => {
            // A dictionary of arbitrary names (enum variants or not), arbitrary keys.
            let names: Vec<String> = (0..u.int_in_range(0..=4)?)
                .map(|_| {
                    Ok(if u.ratio(1, 2)? {
                        ["Buy", "Sell", "Hold"][u.int_in_range(0..=2)?].to_owned()
                    } else {
                        String::arbitrary(u)?
                    })
                })
                .collect::<arbitrary::Result<_>>()?;
            let keys: Vec<Option<i8>> = (0..len)
                .map(|_| {
                    let k = i8::arbitrary(u)?;
                    opt(u, k)
                })
                .collect::<arbitrary::Result<_>>()?;
            let values = Arc::new(StringArray::from(names));
            match DictionaryArray::<Int8Type>::try_new(Int8Array::from(keys), values) {
                Ok(d) => Arc::new(d),
                Err(_) => Arc::new(StringArray::from(vec![Some("Buy"); len])),
            }
        }
        16 | 17 => {
            let lists: Vec<Option<Vec<Option<i32>>>> = (0..len)
                .map(|_| {
                    let n = u.int_in_range(0..=4)?;
                    let l = (0..n)
                        .map(|_| {
                            let v = i32::arbitrary(u)?;
                            opt(u, v)
                        })
                        .collect::<arbitrary::Result<Vec<_>>>()?;
                    opt(u, l)
                })
                .collect::<arbitrary::Result<_>>()?;
            if kind == 16 {
                Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(lists))
            } else {
                let lists = lists.into_iter().map(|l| {
                    l.map(|l| l.into_iter().map(|v| v.map(i64::from)).collect::<Vec<_>>())
                });
                Arc::new(ListArray::from_iter_primitive::<Int64Type, _, _>(lists))
            }
        }
        18 => {
            let a: ArrayRef = Arc::new(Int32Array::from(
                vals(u)?
                    .into_iter()
                    .map(|v| v.map(|v| v as i32))
                    .collect::<Vec<_>>(),
            ));
            let b = column(u, len)?;
            let fields = Fields::from(vec![
                Field::new("a", a.data_type().clone(), true),
                Field::new(
                    if u.ratio(1, 2)? { "b" } else { "c" },
                    b.data_type().clone(),
                    true,
                ),
            ]);
            let nulls: Vec<bool> = (0..len)
                .map(|_| bool::arbitrary(u))
                .collect::<arbitrary::Result<_>>()?;
            match StructArray::try_new(fields, vec![a, b], Some(nulls.into())) {
                Ok(s) => Arc::new(s),
                Err(_) => Arc::new(Int32Array::from(vec![1; len])),
            }
        }
        19 => {
            let precision: u8 = u.int_in_range(1..=38)?;
            let scale: i8 = u.int_in_range(-5..=precision as i8)?;
            let values: Vec<Option<i128>> = (0..len)
                .map(|_| {
                    let v = i128::arbitrary(u)?;
                    opt(u, v)
                })
                .collect::<arbitrary::Result<_>>()?;
            match Decimal128Array::from(values).with_precision_and_scale(precision, scale) {
                Ok(d) => Arc::new(d),
                Err(_) => Arc::new(Int32Array::from(vec![2; len])),
            }
        }
        20 => {
            let tz: Option<Arc<str>> = if u.ratio(1, 2)? {
                Some("UTC".into())
            } else if u.ratio(1, 2)? {
                Some("+05:30".into())
            } else {
                None
            };
            Arc::new(TimestampMicrosecondArray::from(vals(u)?).with_timezone_opt(tz))
        }
        21 => Arc::new(TimestampNanosecondArray::from(vals(u)?).with_timezone_opt(Some("UTC"))),
        22 => Arc::new(Date32Array::from(
            vals(u)?
                .into_iter()
                .map(|v| v.map(|v| v as i32))
                .collect::<Vec<_>>(),
        )),
        _ => {
            // A slice of a longer column (offset > 0).
            let extra = u.int_in_range(0..=3)?;
            let inner = column(u, len + extra)?;
            inner.slice(extra, len)
        }
    })
}

fn batch(u: &mut Unstructured) -> arbitrary::Result<RecordBatch> {
    let len: usize = u.int_in_range(0..=8)?;
    let schema = TargetSoA::schema();
    let mut fields = Vec::new();
    let mut columns = Vec::new();
    for field in schema.fields() {
        if u.ratio(1, 12)? {
            continue; // missing column
        }
        // Mostly the right type (built by Rust from arbitrary rows is covered by round trips);
        // here: any type, declared nullable or not as the data says.
        let col = column(u, len)?;
        fields.push(Field::new(field.name(), col.data_type().clone(), true));
        columns.push(col);
    }
    if u.ratio(1, 4)? {
        let col = column(u, len)?;
        fields.push(Field::new("extra", col.data_type().clone(), true));
        columns.push(col);
    }
    if u.ratio(1, 4)? && fields.len() > 1 {
        let k = u.int_in_range(1..=fields.len() - 1)?;
        fields.rotate_left(k);
        columns.rotate_left(k);
    }
    let options = RecordBatchOptions::new().with_row_count(Some(len));
    RecordBatch::try_new_with_options(Arc::new(Schema::new(fields)), columns, &options)
        .map_err(|_| arbitrary::Error::IncorrectFormat)
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(batch) = batch(&mut u) else { return };
    let _ = DataType::Null;
    if let Ok(soa) = TargetSoA::from_record_batch(&batch) {
        // What converts must convert back.
        let _ = soa.to_record_batch();
    }
    let _ = TargetSoA::try_from_record_batch(batch);
});

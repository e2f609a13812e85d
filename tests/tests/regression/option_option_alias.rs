//! `Option<Option<T>>` compiled and failed only at run time, although the README said it was
//! rejected. Written as such it is now a compile error on the inner `Option`
//! (tests/ui/field-type/option_option.rs); behind a type alias the macro cannot see it, and every
//! conversion still returns the typed `Unsupported` error naming the field.

use std::sync::Arc;

use soa_runtime::arrow::array::{Float64Array, RecordBatch};
use soa_runtime::{Error, FieldError, Soa, ToArrow};

type MaybeReading = Option<f64>;

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
pub struct Probe {
    pub id: u32,
    pub reading: Option<MaybeReading>,
}

fn assert_unsupported<T: std::fmt::Debug>(result: Result<T, Error>) {
    match result {
        Err(Error::Column {
            struct_name: "Probe",
            field: "reading",
            source: FieldError::Unsupported(_),
        }) => {}
        other => panic!("expected Probe.reading Unsupported, got {other:?}"),
    }
}

#[test]
fn aliased_double_option_is_a_typed_error() {
    let soa: ProbeSoA = vec![Probe {
        id: 1,
        reading: Some(None),
    }]
    .into();
    assert_unsupported(soa.to_record_batch());
    assert_unsupported(soa.into_record_batch());
    let batch = RecordBatch::try_from_iter([
        (
            "id",
            Arc::new(soa_runtime::arrow::array::UInt32Array::from(vec![1])) as _,
        ),
        (
            "reading",
            Arc::new(Float64Array::from(vec![Some(2.0)])) as _,
        ),
    ])
    .unwrap();
    assert_unsupported(ProbeSoA::from_record_batch(&batch));
    assert_unsupported(ProbeSoA::try_from_record_batch(batch));
}

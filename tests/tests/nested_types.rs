//! Lists, fixed-size arrays, bytes and nested structs round-trip, with nulls and empty containers.

use soa_runtime::arrow::datatypes::DataType;
use soa_runtime::{Soa, ToArrow};
use soa_tests::render_schema;

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
pub struct Address {
    pub city: String,
    pub zip: Option<u32>,
}

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
pub struct Customer {
    pub id: u64,
    pub tags: Vec<String>,
    pub scores: Option<Vec<Option<i32>>>,
    pub blob: Vec<u8>,
    pub maybe_blob: Option<Vec<u8>>,
    pub rgb: [u8; 3],
    pub point: [f64; 2],
    pub home: Address,
    pub work: Option<Address>,
    pub past: Vec<Address>,
    pub matrix: Vec<Vec<i16>>,
}

fn customers() -> Vec<Customer> {
    let addr = |city: &str, zip| Address {
        city: city.into(),
        zip,
    };
    vec![
        Customer {
            id: 1,
            tags: vec![],
            scores: None,
            blob: vec![],
            maybe_blob: None,
            rgb: [0, 0, 0],
            point: [0.0, -0.0],
            home: addr("", None),
            work: None,
            past: vec![],
            matrix: vec![],
        },
        Customer {
            id: 2,
            tags: vec!["vip".into(), "".into(), "日本".into()],
            scores: Some(vec![Some(1), None, Some(-3)]),
            blob: vec![0, 255, 7],
            maybe_blob: Some(vec![]),
            rgb: [255, 128, 1],
            point: [1.5, f64::INFINITY],
            home: addr("Zürich", Some(8001)),
            work: Some(addr("Genève", None)),
            past: vec![addr("A", Some(1)), addr("B", None)],
            matrix: vec![vec![1, 2], vec![], vec![3]],
        },
        Customer {
            id: 3,
            tags: vec!["x".into()],
            scores: Some(vec![]),
            blob: b"bytes".to_vec(),
            maybe_blob: Some(b"\0".to_vec()),
            rgb: [9, 9, 9],
            point: [f64::MIN, f64::MAX],
            home: addr("Paris", Some(75001)),
            work: None,
            past: vec![addr("C", None)],
            matrix: vec![vec![]],
        },
    ]
}

#[test]
fn round_trip_nested_types() {
    for n in [0, 1, 3] {
        let rows: Vec<Customer> = customers().into_iter().take(n).collect();
        let soa: CustomerSoA = rows.clone().into();
        let batch = soa.to_record_batch().unwrap();
        assert_eq!(
            CustomerSoA::from_record_batch(&batch).unwrap().into_rows(),
            rows
        );
        assert_eq!(CustomerSoA::rows_from_record_batch(&batch).unwrap(), rows);
        let moved = soa.into_record_batch().unwrap();
        assert_eq!(
            CustomerSoA::try_from_record_batch(moved)
                .unwrap()
                .into_rows(),
            rows
        );
    }
}

#[test]
fn nested_types_schema() {
    let schema = CustomerSoA::schema();
    assert_eq!(
        schema.field_with_name("blob").unwrap().data_type(),
        &DataType::Binary
    );
    assert_eq!(
        schema.field_with_name("rgb").unwrap().data_type(),
        &DataType::FixedSizeBinary(3)
    );
    insta::assert_snapshot!(render_schema(&schema));
}

#[test]
fn nested_error_names_the_inner_field() {
    use soa_runtime::arrow::array::{Array, ArrayRef, Int32Array, RecordBatch, StructArray};
    use soa_runtime::arrow::datatypes::{Field, Schema};
    use std::sync::Arc;
    let inner = StructArray::from(vec![(
        Arc::new(Field::new("city", DataType::Int32, false)),
        Arc::new(Int32Array::from(vec![1])) as ArrayRef,
    )]);
    #[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
    struct Person {
        home: Address,
    }
    let batch = RecordBatch::try_new(
        Arc::new(Schema::new(vec![Field::new(
            "home",
            inner.data_type().clone(),
            false,
        )])),
        vec![Arc::new(inner)],
    )
    .unwrap();
    let err = PersonSoA::from_record_batch(&batch)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("Person.home: Address."), "{err}");
    assert!(
        err.contains("Address.city: expected Arrow type Utf8, found Int32"),
        "{err}"
    );
}

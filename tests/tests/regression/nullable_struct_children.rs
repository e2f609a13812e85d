//! An `Option<Struct>` field wrote null values into the struct's *non-nullable* children at the
//! rows where the struct itself is null (`Option<Point>` with `x: f64`: child `x` declared
//! `not null` but holding nulls). arrow-rs accepts that, but pyarrow's Parquet writer refuses the
//! column ("Column 'x' is declared non-nullable but contains nulls"), so a user who reads our
//! Arrow IPC file with pyarrow cannot write it to Parquet. Fix: fill the children under a null
//! parent with default values (no validity), or declare them nullable. Found by tests/interop.rs
//! (pyarrow `write_table` on a table read from `ArrowStore::save_ipc`).

use soa_runtime::arrow::array::{Array, StructArray};
use soa_runtime::{Soa, ToArrow};

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
pub struct Point {
    pub x: f64,
    pub label: String,
}

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
pub struct Shape {
    pub id: u32,
    pub center: Option<Point>,
}

#[test]
fn non_nullable_children_hold_no_nulls() {
    let soa: ShapeSoA = vec![
        Shape {
            id: 1,
            center: None,
        },
        Shape {
            id: 2,
            center: Some(Point {
                x: 1.5,
                label: "c".into(),
            }),
        },
    ]
    .into();
    let batch = soa.to_record_batch().unwrap();
    let center = batch
        .column_by_name("center")
        .unwrap()
        .as_any()
        .downcast_ref::<StructArray>()
        .unwrap();
    assert_eq!(center.null_count(), 1);
    for (field, child) in center.fields().iter().zip(center.columns()) {
        if !field.is_nullable() {
            assert_eq!(
                child.null_count(),
                0,
                "child {} is declared non-nullable but holds nulls",
                field.name()
            );
        }
    }
}

//! `#[soa(flatten)] origin: Geo` (Geo has `lat`) next to a field `origin_lat` compiled, the schema
//! had two `origin_lat` columns and reading back gave the parent field the flattened value (1.0
//! instead of 99.0), silently. The macro cannot see `Geo`'s fields, so the collision is now a
//! typed `Error::DuplicateColumn` from every conversion (and from the stores, which go through
//! them); collisions the macro can see are compile errors (tests/ui/attribute/).

use std::sync::Arc;

use soa_runtime::StoreExt;
use soa_runtime::arrow::array::{ArrayRef, Float64Array, RecordBatch};
use soa_runtime::{ArrowStore, Error, Soa, Store, ToArrow};

#[derive(Soa, ToArrow, Debug, Clone, PartialEq, Default)]
pub struct Geo {
    pub lat: f64,
    pub lon: f64,
}

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
pub struct Leg {
    #[soa(flatten)]
    pub origin: Geo,
    pub origin_lat: f64,
}

/// The generic path builds the schema on each call instead of caching it.
#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
pub struct GenericLeg<T> {
    #[soa(flatten)]
    pub origin: Geo,
    pub origin_lat: T,
}

/// A colliding struct nested as a column of another one.
#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
pub struct Trip {
    pub id: u32,
    pub leg: Leg,
}

fn leg() -> Leg {
    Leg {
        origin: Geo { lat: 1.0, lon: 2.0 },
        origin_lat: 99.0,
    }
}

fn assert_duplicate<T: std::fmt::Debug>(result: Result<T, Error>, struct_name: &str) {
    match result {
        Err(Error::DuplicateColumn {
            struct_name: s,
            column,
        }) => {
            assert_eq!(s, struct_name);
            assert_eq!(column, "origin_lat");
        }
        other => panic!("expected DuplicateColumn, got {other:?}"),
    }
}

fn f64s(values: &[f64]) -> ArrayRef {
    Arc::new(Float64Array::from(values.to_vec()))
}

#[test]
fn schema_is_infallible_but_shows_the_collision() {
    let schema = LegSoA::schema();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names, ["origin_lat", "origin_lon", "origin_lat"]);
}

#[test]
fn every_conversion_is_a_typed_error() {
    let soa: LegSoA = vec![leg()].into();
    assert_duplicate(soa.to_record_batch(), "Leg");
    assert_duplicate(soa.clone().into_record_batch(), "Leg");

    // A batch that has the columns (as another writer could produce): never read into `Leg`.
    let batch =
        RecordBatch::try_from_iter([("origin_lat", f64s(&[1.0])), ("origin_lon", f64s(&[2.0]))])
            .unwrap();
    assert_duplicate(LegSoA::from_record_batch(&batch), "Leg");
    assert_duplicate(LegSoA::try_from_record_batch(batch), "Leg");

    let message = soa.to_record_batch().unwrap_err().to_string();
    assert!(
        message.starts_with("Leg: column \"origin_lat\" appears twice"),
        "{message}"
    );
}

#[test]
fn generic_struct_is_checked_too() {
    let soa: GenericLegSoA<f64> = vec![GenericLeg {
        origin: Geo { lat: 1.0, lon: 2.0 },
        origin_lat: 99.0_f64,
    }]
    .into();
    assert_duplicate(soa.to_record_batch(), "GenericLeg");
    assert_duplicate(soa.into_record_batch(), "GenericLeg");
}

#[test]
fn nested_column_reports_the_inner_struct() {
    let soa: TripSoA = vec![Trip { id: 7, leg: leg() }].into();
    let err = soa.to_record_batch().unwrap_err();
    let message = err.to_string();
    assert!(message.contains("Trip.leg"), "{message}");
    assert!(
        message.contains("Leg: column \"origin_lat\" appears twice"),
        "{message}"
    );
}

#[tokio::test]
async fn store_refuses_the_rows() {
    let store = ArrowStore::<Leg>::new();
    let soa: LegSoA = vec![leg()].into();
    assert_duplicate(store.append(&soa).await, "Leg");
    assert_eq!(store.count().await.unwrap(), 0, "nothing was committed");
}

//! Every `from_record_batch` error path names `Struct.field`, the expected and the found type.

use std::sync::Arc;

use soa_runtime::arrow::array::{
    ArrayRef, DictionaryArray, Int8Array, Int32Array, RecordBatch, StringArray, UInt32Array,
};
use soa_runtime::arrow::datatypes::{DataType, Field, Schema};
use soa_runtime::{Error, FieldError, ToArrow};
use soa_tests::{OrderSoA, orders};

/// The batch of `n` orders with column `name` replaced (or removed when `replacement` is None).
fn batch_with(name: &str, replacement: Option<(ArrayRef, bool)>) -> RecordBatch {
    let batch = OrderSoA::from(orders(3)).into_record_batch().unwrap();
    let mut fields = Vec::new();
    let mut columns = Vec::new();
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        if field.name() == name {
            if let Some((array, nullable)) = &replacement {
                fields.push(Field::new(name, array.data_type().clone(), *nullable));
                columns.push(array.clone());
            }
        } else {
            fields.push(field.as_ref().clone());
            columns.push(column.clone());
        }
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap()
}

fn both_ways(batch: RecordBatch) -> (Error, String) {
    let by_ref = OrderSoA::from_record_batch(&batch).unwrap_err();
    // The direct row path reports the same error.
    let direct = OrderSoA::rows_from_record_batch(&batch).unwrap_err();
    assert_eq!(by_ref.to_string(), direct.to_string());
    let by_value = OrderSoA::try_from_record_batch(batch).unwrap_err();
    assert_eq!(by_ref.to_string(), by_value.to_string());
    let message = by_ref.to_string();
    (by_ref, message)
}

#[test]
fn missing_column() {
    let (err, msg) = both_ways(batch_with("quantity", None));
    assert!(matches!(
        err,
        Error::MissingColumn {
            struct_name: "Order",
            field: "quantity",
            ..
        }
    ));
    assert!(msg.contains("Order.quantity"), "{msg}");
    assert!(msg.contains("UInt32"), "{msg}");
    assert!(msg.contains("missing"), "{msg}");
}

#[test]
fn wrong_type() {
    let strings: ArrayRef = Arc::new(StringArray::from(vec!["1", "2", "3"]));
    let (err, msg) = both_ways(batch_with("quantity", Some((strings, false))));
    match err {
        Error::Column {
            struct_name: "Order",
            field: "quantity",
            source: FieldError::TypeMismatch { expected, found },
        } => {
            assert_eq!(expected, DataType::UInt32);
            assert_eq!(found, DataType::Utf8);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        msg,
        "Order.quantity: expected Arrow type UInt32, found Utf8"
    );
}

#[test]
fn null_in_non_option_field() {
    let with_null: ArrayRef = Arc::new(UInt32Array::from(vec![Some(1), None, Some(3)]));
    let (err, msg) = both_ways(batch_with("quantity", Some((with_null, true))));
    assert!(matches!(
        err,
        Error::Column {
            field: "quantity",
            source: FieldError::UnexpectedNull { row: 1, .. },
            ..
        }
    ));
    assert!(
        msg.starts_with("Order.quantity: found a null at row 1"),
        "{msg}"
    );
    assert!(msg.contains("UInt32"), "{msg}");

    let with_null: ArrayRef = Arc::new(StringArray::from(vec![Some("A"), Some("B"), None]));
    let (_, msg) = both_ways(batch_with("symbol", Some((with_null, true))));
    assert!(
        msg.starts_with("Order.symbol: found a null at row 2"),
        "{msg}"
    );
}

#[test]
fn unknown_enum_variant() {
    let keys = Int8Array::from(vec![0, 1, 0]);
    let values = Arc::new(StringArray::from(vec!["Buy", "Hold"]));
    let dict: ArrayRef = Arc::new(DictionaryArray::try_new(keys, values).unwrap());
    let (err, msg) = both_ways(batch_with("side", Some((dict, false))));
    assert!(matches!(
        err,
        Error::Column {
            field: "side",
            source: FieldError::UnknownVariant {
                row: 1,
                enum_name: "Side",
                ..
            },
            ..
        }
    ));
    assert!(msg.contains("Order.side"), "{msg}");
    assert!(msg.contains("\"Hold\""), "{msg}");
    assert!(msg.contains("[\"Buy\", \"Sell\"]"), "{msg}");

    let plain: ArrayRef = Arc::new(StringArray::from(vec!["Sell", "Buy", "Short"]));
    let (_, msg) = both_ways(batch_with("side", Some((plain, false))));
    assert!(
        msg.contains("unknown variant \"Short\" of enum Side at row 2"),
        "{msg}"
    );

    let wrong: ArrayRef = Arc::new(Int32Array::from(vec![0, 1, 0]));
    let (_, msg) = both_ways(batch_with("side", Some((wrong, false))));
    assert_eq!(
        msg,
        "Order.side: expected Arrow type Dictionary(Int8, Utf8), found Int32"
    );
}

#[test]
fn enum_read_by_name_whatever_the_dictionary_order() {
    // A writer that ordered the dictionary differently (and used wider keys) still maps by name.
    let keys = Int32Array::from(vec![1, 0, 1]);
    let values = Arc::new(StringArray::from(vec!["Sell", "Buy"]));
    let dict: ArrayRef = Arc::new(DictionaryArray::try_new(keys, values).unwrap());
    let soa = OrderSoA::from_record_batch(&batch_with("side", Some((dict, false)))).unwrap();
    use soa_tests::Side::*;
    assert_eq!(soa.side, [Buy, Sell, Buy]);
}

#[test]
fn extra_columns_are_ignored_and_order_does_not_matter() {
    let batch = OrderSoA::from(orders(50)).into_record_batch().unwrap();
    let schema = batch.schema();
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
    fields.reverse();
    columns.reverse();
    fields.insert(3, Field::new("extra", DataType::Int32, true));
    columns.insert(3, Arc::new(Int32Array::from(vec![None; 50])));
    let shuffled = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap();
    assert_eq!(
        OrderSoA::from_record_batch(&shuffled).unwrap().into_rows(),
        orders(50)
    );
    assert_eq!(
        OrderSoA::try_from_record_batch(shuffled)
            .unwrap()
            .into_rows(),
        orders(50)
    );
}

#[test]
fn inconsistent_column_lengths_are_an_error_not_a_panic() {
    let mut soa = OrderSoA::from(orders(3));
    soa.quantity.push(9); // a hand-made mistake through the public columns
    let err = soa.to_record_batch().unwrap_err();
    assert_eq!(
        err.to_string(),
        "Order: column quantity has 4 rows, expected 3"
    );
    assert!(soa.into_record_batch().is_err());
}

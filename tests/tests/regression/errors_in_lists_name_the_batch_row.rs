//! Bug: a null item in a `Vec<i32>` (Arrow `List<Int32>` with a null child value) reported
//! "found a null at row 5", 5 being the position in the flattened child array, while the batch
//! row was 2. Errors inside lists, large lists, maps, fixed-size lists and nullable structs (and
//! their combinations) now name the batch row, plus the item index inside it.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::builder::{Int32Builder, MapBuilder, StringBuilder};
use arrow_array::types::Int32Type;
use arrow_array::{
    Array, ArrayRef, FixedSizeListArray, Int32Array, LargeListArray, ListArray, RecordBatch,
    StringArray, StructArray,
};
use arrow_buffer::{NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::{DataType, Field, Fields, Schema};
use soa_runtime::{ArrowField, Error, FieldError, Soa, ToArrow};

#[derive(Soa, ToArrow, Debug, Clone, Copy, PartialEq)]
pub enum Hue {
    Red,
    Green,
}

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
pub struct Probe {
    pub depth: i32,
    pub tag: String,
}

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
pub struct Survey {
    pub site: u32,
    pub samples: Vec<i32>,
    #[soa(large)]
    pub wide: Vec<i32>,
    pub limits: BTreeMap<String, i32>,
    pub triple: [i32; 3],
    pub probe: Option<Probe>,
    pub probes: Vec<Probe>,
    pub grid: Vec<Vec<i32>>,
    pub hues: Vec<Hue>,
    pub letters: Vec<char>,
}

const ROWS: usize = 4;

/// The columns of a valid 4-row batch; each test replaces one with a column holding a bad value.
fn good_columns() -> Vec<(&'static str, ArrayRef)> {
    let soa: SurveySoA = (0..ROWS as u32)
        .map(|site| Survey {
            site,
            samples: vec![1; site as usize],
            wide: vec![2; site as usize],
            limits: BTreeMap::from([("lo".to_string(), 0)]),
            triple: [1, 2, 3],
            probe: Some(Probe {
                depth: 1,
                tag: "p".into(),
            }),
            probes: vec![],
            grid: vec![vec![1]],
            hues: vec![Hue::Red],
            letters: vec!['a'],
        })
        .collect();
    let batch = soa.into_record_batch().unwrap();
    batch
        .schema()
        .fields()
        .iter()
        .zip(batch.columns())
        .map(|(f, c)| {
            let name: &'static str = Box::leak(f.name().clone().into_boxed_str());
            (name, Arc::clone(c))
        })
        .collect()
}

fn batch_with(name: &str, column: ArrayRef) -> RecordBatch {
    let columns: Vec<(&str, ArrayRef)> = good_columns()
        .into_iter()
        .map(|(n, c)| {
            if n == name {
                (n, Arc::clone(&column))
            } else {
                (n, c)
            }
        })
        .collect();
    let fields: Vec<Field> = columns
        .iter()
        .map(|(n, c)| Field::new(*n, c.data_type().clone(), true))
        .collect();
    RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns.into_iter().map(|(_, c)| c).collect(),
    )
    .unwrap()
}

/// Reads `batch` and returns the error, checking it is `Survey.<field>`.
fn error_in(batch: &RecordBatch, field: &str) -> (FieldError, String) {
    let err = SurveySoA::from_record_batch(batch).unwrap_err();
    let text = err.to_string();
    match err {
        Error::Column {
            struct_name: "Survey",
            field: f,
            source,
        } if f == field => (source, text),
        other => panic!("expected an error in Survey.{field}, got {other:?}"),
    }
}

fn ints(rows: &[Option<Vec<Option<i32>>>]) -> ListArray {
    ListArray::from_iter_primitive::<Int32Type, _, _>(rows.iter().cloned())
}

#[test]
fn a_null_in_a_list_names_the_batch_row_and_the_item() {
    // Flattened, the null is child value 4; it is item 1 of batch row 2.
    let samples = ints(&[
        Some(vec![Some(1), Some(2), Some(3)]),
        Some(vec![]),
        Some(vec![Some(4), None]),
        None,
    ]);
    let (source, text) = error_in(&batch_with("samples", Arc::new(samples)), "samples");
    match source {
        FieldError::UnexpectedNull {
            row,
            items,
            expected,
        } => {
            assert_eq!((row, items, expected), (2, vec![1], DataType::Int32));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        text,
        "Survey.samples: found a null at row 2 (item 1), but the field is not an Option \
         (expected non-null Int32)"
    );
}

#[test]
fn a_null_in_a_sliced_list_names_the_row_of_the_slice() {
    let samples = ints(&[
        Some(vec![Some(1)]),
        Some(vec![Some(1), Some(2)]),
        Some(vec![Some(3), None, Some(5)]),
        Some(vec![]),
    ]);
    let batch = batch_with("samples", Arc::new(samples)).slice(1, 3);
    let (source, text) = error_in(&batch, "samples");
    assert_eq!((source.row(), source.items()), (Some(1), &[1][..]));
    assert!(text.contains("found a null at row 1 (item 1),"), "{text}");
}

#[test]
fn a_null_in_a_large_list_names_the_batch_row() {
    let wide = LargeListArray::from_iter_primitive::<Int32Type, _, _>(vec![
        Some(vec![Some(1), Some(2)]),
        Some(vec![Some(1), Some(2), Some(3)]),
        Some(vec![Some(9)]),
        Some(vec![Some(1), Some(2), None]),
    ]);
    let (source, text) = error_in(&batch_with("wide", Arc::new(wide)), "wide");
    assert!(
        matches!(&source, FieldError::UnexpectedNull { row: 3, items, .. } if items == &[2]),
        "{source:?}"
    );
    assert_eq!(
        text,
        "Survey.wide: found a null at row 3 (item 2), but the field is not an Option \
         (expected non-null Int32)"
    );
}

#[test]
fn a_null_map_value_names_the_batch_row_and_the_entry() {
    let mut builder = MapBuilder::new(None, StringBuilder::new(), Int32Builder::new());
    for row in 0..ROWS {
        builder.keys().append_value("lo");
        builder.values().append_value(0);
        if row == 2 {
            builder.keys().append_value("hi");
            builder.values().append_null();
        }
        builder.append(true).unwrap();
    }
    let (source, text) = error_in(&batch_with("limits", Arc::new(builder.finish())), "limits");
    assert!(
        matches!(&source, FieldError::UnexpectedNull { row: 2, items, .. } if items == &[1]),
        "{source:?}"
    );
    assert_eq!(
        text,
        "Survey.limits: found a null at row 2 (item 1), but the field is not an Option \
         (expected non-null Int32)"
    );
}

#[test]
fn a_null_in_a_fixed_size_list_names_the_batch_row() {
    let triple = FixedSizeListArray::from_iter_primitive::<Int32Type, _, _>(
        vec![
            Some(vec![Some(1), Some(2), Some(3)]),
            Some(vec![Some(1), Some(2), None]),
            Some(vec![Some(1), Some(2), Some(3)]),
            Some(vec![Some(1), Some(2), Some(3)]),
        ],
        3,
    );
    let (source, text) = error_in(&batch_with("triple", Arc::new(triple)), "triple");
    assert!(
        matches!(&source, FieldError::UnexpectedNull { row: 1, items, .. } if items == &[2]),
        "{source:?}"
    );
    assert_eq!(
        text,
        "Survey.triple: found a null at row 1 (item 2), but the field is not an Option \
         (expected non-null Int32)"
    );
}

fn probe_fields() -> Fields {
    Fields::from(vec![
        Field::new("depth", DataType::Int32, true),
        Field::new("tag", DataType::Utf8, true),
    ])
}

fn probes(depths: Vec<Option<i32>>, nulls: Option<NullBuffer>) -> StructArray {
    let tags = StringArray::from(vec!["t"; depths.len()]);
    StructArray::try_new(
        probe_fields(),
        vec![Arc::new(Int32Array::from(depths)), Arc::new(tags)],
        nulls,
    )
    .unwrap()
}

#[test]
fn a_null_inside_an_optional_struct_names_the_batch_row() {
    // Rows 0 and 1 are null structs; reading skips them, and row 2's null `depth` used to be
    // reported at row 0 of the present rows.
    let nulls = NullBuffer::from(vec![false, false, true, true]);
    let probe = probes(vec![None, None, None, Some(3)], Some(nulls));
    let (source, text) = error_in(&batch_with("probe", Arc::new(probe)), "probe");
    assert_eq!(source.row(), Some(2), "{source:?}");
    assert_eq!(
        text,
        "Survey.probe: Probe.depth: found a null at row 2, but the field is not an Option \
         (expected non-null Int32)"
    );
}

#[test]
fn a_null_field_of_a_struct_in_a_list_names_the_batch_row_and_item() {
    // Rows hold 1, 0, 2 and 1 probes; the null depth is the second probe of row 2.
    let values = probes(vec![Some(1), Some(2), None, Some(4)], None);
    let offsets = OffsetBuffer::new(ScalarBuffer::from(vec![0, 1, 1, 3, 4]));
    let field = Arc::new(Field::new_list_field(
        DataType::Struct(probe_fields()),
        true,
    ));
    let list = ListArray::try_new(field, offsets, Arc::new(values), None).unwrap();
    let (source, text) = error_in(&batch_with("probes", Arc::new(list)), "probes");
    match &source {
        FieldError::Nested(inner) => match inner.as_ref() {
            Error::Column {
                struct_name: "Probe",
                field: "depth",
                source: FieldError::UnexpectedNull { row: 2, items, .. },
            } => assert_eq!(items, &[1]),
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
    assert_eq!((source.row(), source.items()), (Some(2), &[1][..]));
    assert_eq!(
        text,
        "Survey.probes: Probe.depth: found a null at row 2 (item 1), but the field is not an \
         Option (expected non-null Int32)"
    );
}

#[test]
fn a_null_in_a_list_of_lists_names_every_level() {
    // Row 1 holds three inner lists; the third one's first value is null.
    let inner = ints(&[
        Some(vec![Some(1)]),
        Some(vec![Some(2)]),
        Some(vec![]),
        Some(vec![None, Some(3)]),
        Some(vec![Some(4)]),
        Some(vec![Some(5)]),
    ]);
    let field = Arc::new(Field::new_list_field(inner.data_type().clone(), true));
    let offsets = OffsetBuffer::new(ScalarBuffer::from(vec![0, 1, 4, 5, 6]));
    let grid = ListArray::try_new(field, offsets, Arc::new(inner), None).unwrap();
    let (source, text) = error_in(&batch_with("grid", Arc::new(grid)), "grid");
    assert!(
        matches!(&source, FieldError::UnexpectedNull { row: 1, items, .. } if items == &[2, 0]),
        "{source:?}"
    );
    assert_eq!(
        text,
        "Survey.grid: found a null at row 1 (item 2, then item 0), but the field is not an \
         Option (expected non-null Int32)"
    );
}

#[test]
fn an_unknown_variant_in_a_list_names_the_batch_row() {
    let names = StringArray::from(vec!["Red", "Green", "Red", "Green", "Blue"]);
    let field = Arc::new(Field::new_list_field(DataType::Utf8, true));
    let offsets = OffsetBuffer::new(ScalarBuffer::from(vec![0, 1, 2, 3, 5]));
    let hues = ListArray::try_new(field, offsets, Arc::new(names), None).unwrap();
    let (source, text) = error_in(&batch_with("hues", Arc::new(hues)), "hues");
    assert!(
        matches!(&source, FieldError::UnknownVariant { row: 3, items, found, .. }
            if items == &[1] && found == "Blue"),
        "{source:?}"
    );
    assert_eq!(
        text,
        "Survey.hues: unknown variant \"Blue\" of enum Hue at row 3 (item 1) (expected one of \
         [\"Red\", \"Green\"])"
    );
}

#[test]
fn an_out_of_range_value_in_a_list_names_the_batch_row() {
    let letters = StringArray::from(vec!["a", "b", "c", "d", "ef"]);
    let field = Arc::new(Field::new_list_field(DataType::Utf8, true));
    let offsets = OffsetBuffer::new(ScalarBuffer::from(vec![0, 2, 3, 3, 5]));
    let list = ListArray::try_new(field, offsets, Arc::new(letters), None).unwrap();
    let (source, text) = error_in(&batch_with("letters", Arc::new(list)), "letters");
    assert!(
        matches!(&source, FieldError::ValueOutOfRange { row: 3, items, .. } if items == &[1]),
        "{source:?}"
    );
    assert!(
        text.starts_with("Survey.letters: value out of range: row 3 (item 1): "),
        "{text}"
    );
}

#[test]
fn writing_a_bad_value_in_a_list_or_optional_struct_names_the_row() {
    // u128 columns hold at most 38 digits: u128::MAX does not fit.
    let rows: Vec<Vec<u128>> = vec![vec![1], vec![], vec![2, u128::MAX]];
    let err = Vec::<u128>::to_array(&rows).unwrap_err();
    assert!(
        matches!(&err, FieldError::ValueOutOfRange { row: 2, items, .. } if items == &[1]),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("value out of range: row 2 (item 1): "),
        "{err}"
    );

    #[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
    pub struct Big {
        pub n: u128,
    }
    let rows = vec![None, Some(Big { n: 1 }), None, Some(Big { n: u128::MAX })];
    let err = Option::<Big>::to_array(&rows).unwrap_err();
    assert_eq!(err.row(), Some(3), "{err:?}");
    assert!(
        err.to_string()
            .contains("Big.n: value out of range: row 3: "),
        "{err}"
    );
}

#[test]
fn the_row_of_a_null_list_itself_is_unchanged() {
    let samples = ints(&[Some(vec![]), Some(vec![]), None, Some(vec![])]);
    let (source, text) = error_in(&batch_with("samples", Arc::new(samples)), "samples");
    assert!(
        matches!(&source, FieldError::UnexpectedNull { row: 2, items, .. } if items.is_empty()),
        "{source:?}"
    );
    assert!(text.contains("found a null at row 2, but"), "{text}");
}

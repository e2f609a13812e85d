//! Enums with data: a Parquet-safe Struct column (tag + one nullable child per variant).

use soa_runtime::arrow::datatypes::DataType;
use soa_runtime::{ArrowField, Soa, ToArrow};
use soa_tests::render_schema;

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
pub enum Shape {
    Empty,
    Circle { radius: f64, label: Option<String> },
    Rect(u32, u32),
    Tagged(Vec<String>),
}

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
pub struct Drawing {
    pub id: u32,
    pub shape: Shape,
    pub maybe: Option<Shape>,
    pub many: Vec<Shape>,
}

fn drawings() -> Vec<Drawing> {
    vec![
        Drawing {
            id: 1,
            shape: Shape::Empty,
            maybe: None,
            many: vec![],
        },
        Drawing {
            id: 2,
            shape: Shape::Circle {
                radius: 2.5,
                label: Some("ö".into()),
            },
            maybe: Some(Shape::Rect(3, 4)),
            many: vec![
                Shape::Tagged(vec![]),
                Shape::Empty,
                Shape::Circle {
                    radius: -1.0,
                    label: None,
                },
            ],
        },
        Drawing {
            id: 3,
            shape: Shape::Tagged(vec!["a".into(), "".into()]),
            maybe: Some(Shape::Empty),
            many: vec![Shape::Rect(0, u32::MAX)],
        },
    ]
}

#[test]
fn data_enum_round_trip() {
    for n in 0..=3 {
        let rows: Vec<Drawing> = drawings().into_iter().take(n).collect();
        let soa: DrawingSoA = rows.clone().into();
        let batch = soa.to_record_batch().unwrap();
        assert_eq!(
            DrawingSoA::from_record_batch(&batch).unwrap().into_rows(),
            rows
        );
        assert_eq!(DrawingSoA::rows_from_record_batch(&batch).unwrap(), rows);
        assert_eq!(
            DrawingSoA::try_from_record_batch(soa.into_record_batch().unwrap())
                .unwrap()
                .into_rows(),
            rows
        );
    }
}

#[test]
fn data_enum_layout_is_a_struct_not_a_union() {
    let DataType::Struct(fields) = Shape::data_type() else {
        panic!("expected a struct");
    };
    let names: Vec<&str> = fields.iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names, ["tag", "Circle", "Rect", "Tagged"]);
    insta::assert_snapshot!(render_schema(&DrawingSoA::schema()));
}

#[test]
fn data_enum_unknown_tag_is_an_error() {
    use soa_runtime::arrow::array::cast::AsArray;
    use soa_runtime::arrow::array::{Array, StructArray};
    use std::sync::Arc;
    let array = Shape::to_array(&[Shape::Rect(1, 2)]).unwrap();
    let structs: &StructArray = array.as_struct();
    // Rebuild with a tag dictionary that names a variant Shape does not have.
    let tag: Arc<dyn Array> =
        Arc::new(
            vec![Some("Triangle")]
                .into_iter()
                .collect::<soa_runtime::arrow::array::DictionaryArray<
                    soa_runtime::arrow::array::types::Int8Type,
                >>(),
        );
    let mut columns = structs.columns().to_vec();
    columns[0] = tag;
    let bad = StructArray::try_new(structs.fields().clone(), columns, None).unwrap();
    let err = Shape::from_array(&bad).unwrap_err().to_string();
    assert!(
        err.contains("unknown variant \"Triangle\" of enum Shape"),
        "{err}"
    );
}

#[test]
fn data_enum_survives_parquet() {
    use soa_runtime::parquet::arrow::ArrowWriter;
    use soa_runtime::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let rows = drawings();
    let batch = DrawingSoA::from(rows.clone()).into_record_batch().unwrap();
    let mut bytes = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut bytes, batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes))
        .unwrap()
        .build()
        .unwrap();
    let mut back = DrawingSoA::new();
    for b in reader {
        back.append(&mut DrawingSoA::from_record_batch(&b.unwrap()).unwrap());
    }
    assert_eq!(back.into_rows(), rows);
}

/// pyarrow, polars and DuckDB read the data-enum layout from Parquet: tag as a string, the row's
/// variant child present, the others null.
#[test]
fn data_enum_parquet_reads_in_pyarrow_polars_and_duckdb() {
    use soa_runtime::parquet::arrow::ArrowWriter;
    use std::process::Command;
    let python = std::env::var("SOA_PYTHON").unwrap_or_else(|_| "python3".into());
    let required = std::env::var("SOA_INTEROP").as_deref() == Ok("1");
    let probe = Command::new(&python)
        .args(["-c", "import pyarrow, polars, duckdb"])
        .output();
    if !probe.as_ref().is_ok_and(|o| o.status.success()) {
        assert!(
            !required,
            "SOA_INTEROP=1 but {python} cannot import pyarrow, polars, duckdb"
        );
        println!("skipped: {python} cannot import pyarrow, polars, duckdb (run scripts/test.sh)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("drawings.parquet");
    let batch = DrawingSoA::from(drawings()).into_record_batch().unwrap();
    let mut writer =
        ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    let script = r#"
import sys, pyarrow.parquet as pq, polars as pl, duckdb
p = sys.argv[1]
t = pq.read_table(p).to_pylist()
assert [r["shape"]["tag"] for r in t] == ["Empty", "Circle", "Tagged"], t
assert t[1]["shape"]["Circle"] == {"radius": 2.5, "label": "ö"} and t[1]["shape"]["Rect"] is None
assert t[0]["maybe"] is None and t[1]["maybe"]["Rect"] == {"_0": 3, "_1": 4}
df = pl.read_parquet(p)
assert df["shape"].struct.field("tag").cast(pl.Utf8).to_list() == ["Empty", "Circle", "Tagged"]
assert df["shape"].struct.field("Tagged").to_list()[2] == {"_0": ["a", ""]}
rows = duckdb.sql(f"SELECT shape.tag::VARCHAR, shape.Circle.radius, maybe.Rect._1 FROM read_parquet('{p}') ORDER BY id").fetchall()
assert rows == [("Empty", None, None), ("Circle", 2.5, 4), ("Tagged", None, None)], rows
print("ok")
"#;
    let out = Command::new(&python)
        .args(["-c", script, path.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "ok");
}

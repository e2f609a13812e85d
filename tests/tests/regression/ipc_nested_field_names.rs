//! `ArrowStore::load_ipc` rejected Arrow IPC files with the row type's logical schema when a
//! nested field had another name: pyarrow names a map's entries `map` (with `key`/`value`),
//! arrow-rs `entries` (`keys`/`values`); list items are `item` or `element`. The check in
//! soa-runtime/src/store/memory.rs `column_indices` compares `DataType`s with `!=`, which includes
//! nested field names (and child nullability), so a pyarrow-written file of the same logical
//! schema is a `SchemaMismatch`. `from_record_batch` accepts these columns. Found by
//! tests/interop.rs (`load_ipc` of pyarrow's IPC file).

use std::collections::BTreeMap;
use std::sync::Arc;

use soa_runtime::StoreExt;
use soa_runtime::arrow::array::builder::{Int64Builder, MapBuilder, MapFieldNames, StringBuilder};
use soa_runtime::arrow::array::{ArrayRef, RecordBatch, UInt32Array};
use soa_runtime::arrow::datatypes::{Field, Schema};
use soa_runtime::arrow::ipc::writer::FileWriter;
use soa_runtime::{ArrowStore, Soa, ToArrow};

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
pub struct Tagged {
    pub id: u32,
    pub tags: BTreeMap<String, i64>,
}

#[tokio::test(flavor = "multi_thread")]
async fn load_ipc_accepts_a_map_with_pyarrow_field_names() {
    let names = MapFieldNames {
        entry: "map".into(),
        key: "key".into(),
        value: "value".into(),
    };
    let mut map = MapBuilder::new(Some(names), StringBuilder::new(), Int64Builder::new());
    map.keys().append_value("a");
    map.values().append_value(1);
    map.append(true).unwrap();
    map.append(true).unwrap();
    let tags: ArrayRef = Arc::new(map.finish());
    let ids: ArrayRef = Arc::new(UInt32Array::from(vec![1, 2]));
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", ids.data_type().clone(), false),
        Field::new("tags", tags.data_type().clone(), false),
    ]));
    let batch = RecordBatch::try_new(Arc::clone(&schema), vec![ids, tags]).unwrap();
    // The conversion accepts the column ...
    let direct = TaggedSoA::from_record_batch(&batch).unwrap().into_rows();

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pyarrow-like.arrow");
    let mut writer = FileWriter::try_new(std::fs::File::create(&path).unwrap(), &schema).unwrap();
    writer.write(&batch).unwrap();
    writer.finish().unwrap();
    // ... so loading the same batch from a file should too.
    let store = ArrowStore::<Tagged>::new();
    store
        .load_ipc(&path)
        .await
        .expect("load_ipc of a pyarrow-style map column");
    assert_eq!(store.load().await.unwrap().into_rows(), direct);
}

//! `ArrowStore::save_ipc` failed on a store of two or more batches with a `#[soa(dictionary)]`
//! string column: every batch carries its own dictionary, and the Arrow IPC *file* format allows
//! one dictionary per field ("Dictionary replacement detected when writing IPC file format").
//! Unit enums are not affected (their dictionary is always the variant names). Found by
//! tests/interop.rs. Fix: unify the dictionaries of the snapshot (or write delta dictionaries)
//! in soa-runtime/src/store/memory.rs `write_and_sync`.

use soa_runtime::StoreExt;
use soa_runtime::store::memory::IpcCompression;
use soa_runtime::{ArrowStore, Soa, ToArrow};

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
pub struct Tick {
    pub id: u32,
    #[soa(dictionary)]
    pub venue: String,
}

#[tokio::test(flavor = "multi_thread")]

async fn save_ipc_of_two_batches_with_different_dictionaries() {
    let dir = tempfile::tempdir().unwrap();
    let store = ArrowStore::<Tick>::new();
    let first: TickSoA = vec![Tick {
        id: 1,
        venue: "XNYS".into(),
    }]
    .into();
    let second: TickSoA = vec![Tick {
        id: 2,
        venue: "XLON".into(),
    }]
    .into();
    store.append(&first).await.unwrap();
    store.append(&second).await.unwrap();
    let path = dir.path().join("ticks.arrow");
    store
        .save_ipc(&path, IpcCompression::None)
        .await
        .expect("save_ipc of a store with two dictionary batches");
    let loaded = ArrowStore::<Tick>::new();
    loaded.load_ipc(&path).await.unwrap();
    let rows = loaded.load().await.unwrap().into_rows();
    assert_eq!(rows, [first.row(0), second.row(0)]);
}

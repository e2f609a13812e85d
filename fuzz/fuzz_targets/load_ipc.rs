//! Arbitrary bytes as an Arrow IPC file: `ArrowStore::load_ipc` must return `Ok` or a typed
//! error (a caught decoder panic is `Error::Corrupt`), never panic, abort or hang. Seeds: valid
//! files written by `save_ipc` (see fuzz/README.md).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use soa_fixtures::Side;
use soa_fixtures::fuzz::{Order, OrderSoA};
use soa_runtime::{ArrowStore, Store, StoreExt};

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap()
    })
}

fn dir() -> &'static tempfile::TempDir {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().unwrap())
}

/// Valid files of every compression in the corpus directory (read after this runs).
fn write_seeds() {
    // libfuzzer-sys's hook aborts on *any* panic, even one the library catches and turns into
    // `Error::Corrupt` (its documented guard around the upstream decoders). A silent hook
    // instead: a panic that escapes the library still aborts (libfuzzer-sys wraps each input
    // in `catch_unwind` and aborts on a panic).
    let _ = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/load_ipc");
    let _ = std::fs::create_dir_all(&corpus);
    runtime().block_on(async {
        let store = ArrowStore::<Order>::new();
        for part in 0..2u64 {
            let rows: OrderSoA = (0..5u64)
                .map(|i| Order {
                    order_id: part * 5 + i,
                    symbol: ["AAPL", "日本"][i as usize % 2].into(),
                    side: if i % 2 == 0 { Side::Buy } else { Side::Sell },
                    price: i as f64 * 0.5,
                    note: (i % 3 == 0).then(|| "n".into()),
                    tags: vec!["t".into(); i as usize % 3],
                })
                .collect();
            store.append(&rows).await.unwrap();
        }
        use soa_runtime::store::memory::IpcCompression;
        for (name, c) in [
            ("none", IpcCompression::None),
            ("lz4", IpcCompression::Lz4),
            ("zstd", IpcCompression::Zstd),
        ] {
            store
                .save_ipc(corpus.join(format!("seed-{name}.arrow")), c)
                .await
                .unwrap();
        }
    });
}

fuzz_target!(init: write_seeds(), |data: &[u8]| {
    let path = dir().path().join("input.arrow");
    std::fs::write(&path, data).unwrap();
    runtime().block_on(async {
        let store = ArrowStore::<Order>::new();
        match store.load_ipc(&path).await {
            Ok(()) => {
                let rows = store.load().await.unwrap();
                assert_eq!(rows.len() as u64, store.count().await.unwrap());
            }
            Err(soa_runtime::Error::Task(e)) => panic!("untyped error: {e}"),
            Err(_) => {}
        }
    });
});

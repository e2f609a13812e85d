//! The store conformance suite (`soa_tests::conformance`), one test per contract clause, run on
//! every backend: `cargo test --test conformance arrow_store::` or `parquet_store::`.

mod arrow_store {
    use soa_runtime::ArrowStore;
    use soa_tests::Order;
    use soa_tests::conformance::Harness;

    /// In memory: a reopened store is another handle of the same data.
    struct Memory;

    impl Harness for Memory {
        type Store = ArrowStore<Order>;
        async fn create(&self) -> Self::Store {
            ArrowStore::new()
        }
        async fn reopen(&self, store: &Self::Store) -> Self::Store {
            store.clone()
        }
    }

    soa_tests::store_conformance!(Memory);
}

mod parquet_store {
    use soa_runtime::ParquetStore;
    use soa_tests::Order;
    use soa_tests::conformance::Harness;

    /// A store in its own temporary directory; reopening opens the directory again.
    struct Disk(tempfile::TempDir);

    impl Disk {
        fn new() -> Self {
            Disk(tempfile::tempdir().expect("tempdir"))
        }
    }

    impl Harness for Disk {
        type Store = ParquetStore<Order>;
        async fn create(&self) -> Self::Store {
            ParquetStore::create(self.0.path().join("store"))
                .await
                .expect("create")
        }
        async fn reopen(&self, store: &Self::Store) -> Self::Store {
            ParquetStore::open(store.dir()).await.expect("reopen")
        }
    }

    soa_tests::store_conformance!(Disk::new());
}

#[cfg(feature = "delta")]
mod delta_store_disk {
    use soa_runtime::DeltaStore;
    use soa_tests::Order;
    use soa_tests::conformance::Harness;

    /// A Delta table in its own temporary directory; reopening opens the table again.
    struct Disk(tempfile::TempDir);

    impl Harness for Disk {
        type Store = DeltaStore<Order>;
        async fn create(&self) -> Self::Store {
            let url = self.0.path().join("orders");
            // The edge values hold u64::MAX: the full-range u64 mapping.
            DeltaStore::builder(url.to_str().expect("utf-8 path"))
                .u64_as_decimal(true)
                .create()
                .await
                .expect("create")
        }
        async fn reopen(&self, store: &Self::Store) -> Self::Store {
            DeltaStore::open(store.location()).await.expect("reopen")
        }
    }

    soa_tests::store_conformance!(Disk(tempfile::tempdir().expect("tempdir")));
}

#[cfg(feature = "delta")]
mod delta_store_memory {
    use std::sync::atomic::{AtomicU64, Ordering};

    use soa_runtime::DeltaStore;
    use soa_tests::Order;
    use soa_tests::conformance::Harness;

    /// A Delta table in the process-wide `memory://` object store, at a name of its own.
    struct Memory;

    impl Harness for Memory {
        type Store = DeltaStore<Order>;
        async fn create(&self) -> Self::Store {
            static NEXT: AtomicU64 = AtomicU64::new(0);
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let url = format!("memory://conformance/{}/{n}", std::process::id());
            DeltaStore::builder(url)
                .u64_as_decimal(true)
                .create()
                .await
                .expect("create")
        }
        async fn reopen(&self, store: &Self::Store) -> Self::Store {
            DeltaStore::open(store.location()).await.expect("reopen")
        }
    }

    soa_tests::store_conformance!(Memory);
}

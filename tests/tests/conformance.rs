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

//! The README's store examples, compiled and run as written (with small data).

use futures::StreamExt;
use soa_runtime::arrow::array::cast::AsArray;
use soa_runtime::prelude::*;
use soa_runtime::store::parquet::ParquetOptions;
use soa_runtime::store::{memory::IpcCompression, parquet::Codec};
use soa_tests::{Order, OrderSoA, orders};

#[tokio::test(flavor = "multi_thread")]
async fn the_stores_example_runs_as_written() -> soa_runtime::Result<()> {
    let dir = tempfile::tempdir().unwrap();
    let orders: OrderSoA = orders(1_000).into_iter().collect();
    let more: OrderSoA = orders.slice(0..10);

    let mem = ArrowStore::<Order>::new();
    mem.append(&orders).await?;
    println!("{:?}", mem.stats());
    mem.save_ipc(dir.path().join("orders.arrow"), IpcCompression::Zstd)
        .await?;

    let disk = ParquetStore::<Order>::builder(dir.path().join("orders"))
        .compression(Codec::Zstd(1))
        .row_group_size(1 << 20)
        .open_or_create()
        .await?;
    disk.save(&orders).await?;
    disk.append(&more).await?;
    assert_eq!(disk.count().await?, 1_010);
    let two_columns = disk.load_columns(&["symbol", "unit_price"]).await?;
    assert_eq!(two_columns.num_columns(), 2);
    let mut filled = disk
        .scan_with(
            ScanOptions::new()
                .columns(["order_id", "filled"])
                .batch_size(8192)
                .filter(|b| Ok(b.column(1).as_boolean().clone())),
        )
        .await?;
    let mut n = 0;
    while let Some(batch) = filled.next().await {
        n += batch?.num_rows();
    }
    let expected =
        orders.filled.iter().filter(|f| **f).count() + more.filled.iter().filter(|f| **f).count();
    assert_eq!(n, expected);
    disk.compact().await?;
    assert_eq!(disk.load().await?.len(), 1_010);

    // One file, no store
    let path = dir.path().join("orders.parquet");
    orders.write_parquet(&path)?;
    let back = OrderSoA::read_parquet(&path)?;
    let mut spark = ParquetOptions::default();
    spark.spark_compatible = true;
    back.write_parquet_with(dir.path().join("for_spark.parquet"), &spark)?;
    back.write_ipc(dir.path().join("orders2.arrow"), IpcCompression::Lz4)?;
    assert_eq!(
        OrderSoA::read_ipc(dir.path().join("orders2.arrow"))?,
        orders
    );
    Ok(())
}

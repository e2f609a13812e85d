"""Python -> Rust: Hive-partitioned datasets written by pyarrow and polars (Spark's is written by
spark_hive.py), for
`ParquetStore::import_dataset` (tests/tests/hive_interop.rs).

    python hive_write.py OUT_DIR

Writes the same rows, partitioned by zip / region / year, as
* OUT_DIR/pyarrow: `pyarrow.dataset.write_dataset(partitioning=[...], partitioning_flavor="hive")`
  (values URI-encoded: "a b" -> `a%20b`, "ü=x" -> `%C3%BC%3Dx`; null -> `__HIVE_DEFAULT_PARTITION__`,
  "" -> `region=`);
* OUT_DIR/polars: `polars.DataFrame.write_parquet(partition_by=[...])` (same scheme, but `+` and
  non-ASCII characters unescaped). Its files keep the partition columns too (as large_string /
  int32), and `import_dataset` takes a column from the file when the file has it;
* OUT_DIR/polars-sink: `LazyFrame.sink_parquet(pl.PartitionBy(key=[...], include_key=False))`:
  polars' layout with the partition columns only in the directory names;
and OUT_DIR/expected.json: {"writers": [...], "rows": [{id, zip, region, year, amount, note,
at (microseconds)}], "dirs": {writer: [partition directories]}, "columns": {writer: [columns of
its first file]}}. The Rust side imports each dataset into a typed store (zip a String, region an
Option<String>, year an i32) and compares.
"""

import datetime as dt
import json
import os
import sys

import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

import hive_common as hc

EPOCH = dt.datetime(1970, 1, 1)


def table(data):
    return pa.table({
        "id": pa.array([r["id"] for r in data], pa.int64()),
        "zip": pa.array([r["zip"] for r in data], pa.string()),
        "region": pa.array([r["region"] for r in data], pa.string()),
        "year": pa.array([r["year"] for r in data], pa.int32()),
        "amount": pa.array([r["amount"] for r in data], pa.float64()),
        "note": pa.array([r["note"] for r in data], pa.string()),
        "at": pa.array([EPOCH + dt.timedelta(microseconds=r["at"]) for r in data], pa.timestamp("us")),
    })


def main():
    out_dir = sys.argv[1]
    data = hc.sale_rows(48)
    t = table(data)
    ds.write_dataset(t, os.path.join(out_dir, "pyarrow"), format="parquet", partitioning=hc.SALE_PARTITION_BY,
                     partitioning_flavor="hive")
    pl.from_arrow(t).write_parquet(os.path.join(out_dir, "polars"), partition_by=hc.SALE_PARTITION_BY)
    pl.from_arrow(t).lazy().sink_parquet(
        pl.PartitionBy(os.path.join(out_dir, "polars-sink"), key=hc.SALE_PARTITION_BY, include_key=False))
    # A sanity check of the writes (not what is tested): every dataset has every row.
    writers = ["pyarrow", "polars", "polars-sink"]
    for writer in writers:
        back = ds.dataset(os.path.join(out_dir, writer), format="parquet").to_table()
        assert back.num_rows == len(data), (writer, back.num_rows)
    dirs, columns = {}, {}
    for w in writers:
        dirs[w] = hc.partition_dirs(os.path.join(out_dir, w))
        files = [os.path.join(root, f) for root, _, fs in os.walk(os.path.join(out_dir, w)) for f in fs]
        columns[w] = pq.read_schema(sorted(files)[0]).names
        print(f"{w}: {len(dirs[w])} partition directories, e.g. {dirs[w][:3]}; file columns {columns[w]}")
    with open(os.path.join(out_dir, "expected.json"), "w", encoding="utf-8") as f:
        json.dump({"writers": writers, "rows": data, "dirs": dirs, "columns": columns}, f)


if __name__ == "__main__":
    main()

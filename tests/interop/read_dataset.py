"""A ParquetStore directory (data.parquet + part-*.parquet + _soa_manifest + hidden staging
files) read as one dataset by pyarrow.dataset, polars.scan_parquet, DuckDB read_parquet and
pandas.read_parquet.

    python read_dataset.py DIR ROWS ID_SUM

Prints one `RESULT <reader> dataset ok|FAIL` line per reader; exits 1 on any failure.
"""

import os
import sys

import duckdb
import pandas as pd
import polars as pl
import pyarrow.dataset as ds


def main():
    directory, rows, id_sum = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    glob = os.path.join(directory, "*.parquet")
    # A staging leftover of a killed writer and the manifest must be invisible to every reader.
    with open(os.path.join(directory, ".soa-999-1-0-part-000099.parquet.tmp"), "wb") as f:
        f.write(b"PAR1 half a file")

    def pyarrow_read():
        t = ds.dataset(directory, format="parquet").to_table(columns=["id"])
        return t.num_rows, sum(t["id"].to_pylist())

    def polars_read():
        df = pl.scan_parquet(glob).select(pl.len().alias("n"), pl.col("id").cast(pl.Int64).sum().alias("s")).collect()
        return df["n"][0], df["s"][0]

    def duckdb_read():
        return tuple(duckdb.connect().execute(f"SELECT count(*), sum(id) FROM read_parquet('{glob}')").fetchall()[0])

    def pandas_read():
        df = pd.read_parquet(directory, columns=["id"])
        return len(df), int(df["id"].sum())

    failed = False
    files = sorted(n for n in os.listdir(directory))
    print(f"directory: {files}")
    for name, fn in [("pyarrow.dataset", pyarrow_read), ("polars.scan_parquet", polars_read),
                     ("duckdb.read_parquet", duckdb_read), ("pandas.read_parquet", pandas_read)]:
        try:
            got = tuple(int(v) for v in fn())
            if got == (rows, id_sum):
                print(f"RESULT {name} dataset ok ({rows} rows, id sum {id_sum})")
            else:
                failed = True
                print(f"RESULT {name} dataset FAIL: got (rows, id sum) {got}, expected {(rows, id_sum)}")
        except Exception as e:  # noqa: BLE001
            failed = True
            print(f"RESULT {name} dataset FAIL: {type(e).__name__}: {e}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Python references for the soa benchmark suite: polars and pyarrow on the same data.

The Rust report binary (`cargo run --release --bin report`) writes the dataset as an Arrow IPC
file (`data/orders_<rows>.arrow`, the exact batch our `into_record_batch` produced) and the Parquet
file every reader reads (`data/read_<rows>.parquet`, ZSTD(1)). This script loads the IPC file
into memory *before* timing, then times, each N times (medians):

  4z  polars write_parquet(compression="zstd", compression_level=1) + fsync
      pyarrow write_table(compression="zstd")  (pyarrow's default ZSTD level) + fsync
  4s  polars write_parquet(compression="snappy") + fsync
      pyarrow write_table()  (default: snappy) + fsync
  5   polars read_parquet(file), pyarrow read_table(file)   (whole file into memory)
  6   count: polars scan_parquet(file).select(pl.len()), pyarrow ParquetFile(file).metadata.num_rows

It prints the same markdown table as the Rust report and writes the entries as JSON (--json) for
the report binary to merge. Run standalone after the report binary has written the data files:

  python bench/python/reference.py --data bench/data --rows 1000000 --reps 7
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq


def fsync(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def measure(reps: int, body) -> list[float]:
    body()  # warm-up, untimed
    runs = []
    for _ in range(reps):
        t = time.perf_counter()
        out = body()
        runs.append(time.perf_counter() - t)
        del out
    return runs


def mib(path: str) -> str:
    return f"{os.path.getsize(path) / (1024 * 1024):.1f} MiB"


def fmt(s: float) -> str:
    if s >= 1:
        return f"{s:.3f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.3f} ms"
    if s >= 1e-6:
        return f"{s * 1e6:.3f} µs"
    return f"{s * 1e9:.0f} ns"


def fmt_rows(n: int) -> str:
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1_000 and n % 1_000 == 0:
        return f"{n // 1_000}k"
    return str(n)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--count-rows", type=int, default=0, help="also count a file of this many rows")
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--json")
    ap.add_argument("--only", default="")
    a = ap.parse_args()
    only = set(filter(None, a.only.split(",")))
    wants = lambda w: not only or w in only  # noqa: E731

    entries = []

    def add(workload, title, rows, name, runs, note=""):
        e = dict(workload=workload, title=title, rows=rows, name=name, runs_s=runs, note=note)
        entries.append(e)
        print(f"  [{workload}] {rows:>9} rows  {name:<55} median {fmt(statistics.median(runs)):>12}  {note}",
              file=sys.stderr)

    n = a.rows
    ipc = os.path.join(a.data, f"orders_{n}.arrow")
    with pa.memory_map(ipc) as source:
        table = pa.ipc.open_file(source).read_all()
    table = table.combine_chunks()
    # Materialise in memory (not memory-mapped) before timing.
    table = pa.Table.from_batches([b for b in table.to_batches()]).combine_chunks()
    df = pl.from_arrow(table)
    assert df.height == n, (df.height, n)

    tmp = tempfile.mkdtemp(dir=a.data)
    path = os.path.join(tmp, "py.parquet")
    t4z = "Parquet write ZSTD(1) + fsync"
    t4s = "Parquet write SNAPPY + fsync"

    if wants("4"):
        size = {}

        def pl_zstd():
            df.write_parquet(path, compression="zstd", compression_level=1)
            fsync(path)

        def pa_zstd():
            pq.write_table(table, path, compression="zstd")
            fsync(path)

        def pl_snappy():
            df.write_parquet(path, compression="snappy")
            fsync(path)

        def pa_default():
            pq.write_table(table, path)
            fsync(path)

        for w, title, name, body in [
            ("4z", t4z, "polars write_parquet zstd level 1", pl_zstd),
            ("4z", t4z, "pyarrow write_table zstd (default level)", pa_zstd),
            ("4s", t4s, "polars write_parquet snappy", pl_snappy),
            ("4s", t4s, "pyarrow write_table default (snappy)", pa_default),
        ]:
            runs = measure(a.reps, body)
            size[name] = mib(path)
            add(w, title, n, name, runs, size[name])
        os.remove(path)

    read_path = os.path.join(a.data, f"read_{n}.parquet")
    if wants("5") and os.path.exists(read_path):
        t5 = "Parquet read, whole file"
        add("5", t5, n, "polars read_parquet", measure(a.reps, lambda: pl.read_parquet(read_path)), mib(read_path))
        add("5", t5, n, "pyarrow read_table", measure(a.reps, lambda: pq.read_table(read_path)), mib(read_path))

    if wants("6"):
        for rows in sorted({n, a.count_rows} - {0}):
            p = os.path.join(a.data, f"read_{rows}.parquet")
            if not os.path.exists(p):
                continue
            add("6", "count()", rows, "polars scan_parquet().select(pl.len())",
                measure(max(a.reps, 5), lambda: pl.scan_parquet(p).select(pl.len()).collect().item()))
            add("6", "count()", rows, "pyarrow ParquetFile(file).metadata.num_rows",
                measure(max(a.reps, 5), lambda: pq.ParquetFile(p).metadata.num_rows))

    os.rmdir(tmp)
    versions = f"polars {pl.__version__}, pyarrow {pa.__version__}, Python {sys.version.split()[0]}"
    print(f"\n{versions}\n")
    print("| # | workload | rows | implementation | median | min | reps | note |")
    print("|---|---|---:|---|---:|---:|---:|---|")
    for e in entries:
        r = e["runs_s"]
        print(f"| {e['workload']} | {e['title']} | {fmt_rows(e['rows'])} | {e['name']} | "
              f"{fmt(statistics.median(r))} | {fmt(min(r))} | {len(r)} | {e['note']} |")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"versions": versions, "entries": entries}, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Python references for the soa benchmark suite: polars and pyarrow on the same data.

The Rust report binary (`cargo run --release --bin report`) writes, for each size (`--rows` and
`--large`), the dataset as an Arrow IPC file (`data/orders_<rows>.arrow`, the exact batch our
`into_record_batch` produced) and the Parquet file every reader reads (`data/read_<rows>.parquet`:
a hard link to the one data file of our ParquetStore, ZSTD(1); ours, arrow-rs, pyarrow and polars
all read that file). This script loads the IPC file into memory *before* timing, then times, each
N times (medians), at each size:

  4z  polars write_parquet(compression="zstd", compression_level=1) + fsync
      pyarrow write_table(compression="zstd", compression_level=1) + fsync
      pyarrow write_table(compression="zstd")  (pyarrow's default ZSTD level) + fsync
  4s  polars write_parquet(compression="snappy") + fsync
      pyarrow write_table()  (default: snappy) + fsync
  5   polars read_parquet(file), pyarrow read_table(file)   (whole file into memory)
  6   count: polars scan_parquet(file).select(pl.len()), pyarrow ParquetFile(file).metadata.num_rows

Every write goes to a fresh path (a new directory, created before the timing) and the file is
removed after the timing, like the Rust writers.

It prints the same markdown table as the Rust report and writes the entries as JSON (--json) for
the report binary to merge. Run standalone after the report binary has written the data files:

  python bench/python/reference.py --data bench/data --rows 1000000 --reps 7 \\
      [--large 10000000 --large-reps 3]
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


def measure_write(reps: int, parent: str, body) -> tuple[list[float], int]:
    """Times `body(path)` writing to a fresh path in each repetition (and the warm-up): the
    directory is created before the timing, the file and the directory removed after it.
    Returns the runs and the size of the last file in bytes."""
    runs = []
    size = 0
    for i in range(reps + 1):
        tmp = tempfile.mkdtemp(dir=parent)
        path = os.path.join(tmp, "py.parquet")
        t = time.perf_counter()
        body(path)
        elapsed = time.perf_counter() - t
        size = os.path.getsize(path)
        os.remove(path)
        os.rmdir(tmp)
        if i > 0:  # the first one is the warm-up
            runs.append(elapsed)
    return runs, size


def mib_of(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB"


def mib(path: str) -> str:
    return mib_of(os.path.getsize(path))


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


def run_size(data: str, n: int, reps: int, wants, add) -> None:
    """Every workload at one size."""
    print(f"== {fmt_rows(n)} rows, {reps} repetitions", file=sys.stderr)
    if wants("4"):
        ipc = os.path.join(data, f"orders_{n}.arrow")
        with pa.memory_map(ipc) as source:
            table = pa.ipc.open_file(source).read_all()
        # Materialise in memory (not memory-mapped) before timing.
        table = pa.Table.from_batches([b for b in table.to_batches()]).combine_chunks()
        df = pl.from_arrow(table)
        assert df.height == n, (df.height, n)

        def pl_zstd(path):
            df.write_parquet(path, compression="zstd", compression_level=1)
            fsync(path)

        def pa_zstd1(path):
            pq.write_table(table, path, compression="zstd", compression_level=1)
            fsync(path)

        def pa_zstd(path):
            pq.write_table(table, path, compression="zstd")
            fsync(path)

        def pl_snappy(path):
            df.write_parquet(path, compression="snappy")
            fsync(path)

        def pa_default(path):
            pq.write_table(table, path)
            fsync(path)

        t4z = "Parquet write ZSTD(1) + fsync"
        t4s = "Parquet write SNAPPY + fsync"
        for w, title, name, body in [
            ("4z", t4z, "polars write_parquet zstd level 1", pl_zstd),
            ("4z", t4z, "pyarrow write_table zstd level 1", pa_zstd1),
            ("4z", t4z, "pyarrow write_table zstd (default level)", pa_zstd),
            ("4s", t4s, "polars write_parquet snappy", pl_snappy),
            ("4s", t4s, "pyarrow write_table default (snappy)", pa_default),
        ]:
            runs, size = measure_write(reps, data, body)
            add(w, title, n, name, runs, mib_of(size))
        del df, table

    # The file every reader reads (ours, arrow-rs, pyarrow, polars).
    read_path = os.path.join(data, f"read_{n}.parquet")
    if wants("5") and os.path.exists(read_path):
        t5 = "Parquet read, whole file"
        add("5", t5, n, "polars read_parquet", measure(reps, lambda: pl.read_parquet(read_path)), mib(read_path))
        add("5", t5, n, "pyarrow read_table", measure(reps, lambda: pq.read_table(read_path)), mib(read_path))

    if wants("6") and os.path.exists(read_path):
        add("6", "count()", n, "polars scan_parquet().select(pl.len())",
            measure(max(reps, 5), lambda: pl.scan_parquet(read_path).select(pl.len()).collect().item()))
        add("6", "count()", n, "pyarrow ParquetFile(file).metadata.num_rows",
            measure(max(reps, 5), lambda: pq.ParquetFile(read_path).metadata.num_rows))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--large", type=int, default=0, help="also run every workload at this size")
    ap.add_argument("--large-reps", type=int, default=3)
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

    sizes = [(a.rows, a.reps)]
    if a.large and a.large != a.rows:
        sizes.append((a.large, a.large_reps))
    for n, reps in sizes:
        run_size(a.data, n, reps, wants, add)

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

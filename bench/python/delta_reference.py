"""The Python `deltalake` (delta-rs) references of `delta_report`.

    python delta_reference.py --parquet FILE --work DIR [--reps 7] [--commits-table DIR ...]

Append: the rows of FILE (read once, before any timing, into one pyarrow Table) appended with
`write_deltalake(path, table, mode="append")` into an existing empty table (`DeltaTable.create`
with the table's schema, in a fresh directory under DIR: created and removed outside the timing),
timed around the write call only. One untimed warm-up per variant; the variants (ZSTD(1) as our
store writes, and deltalake's default writer properties) alternate within each repetition.

Open: `DeltaTable(path)` and the row count from the log (`get_add_actions()` numRecords) of each
--commits-table, timed from a fresh `DeltaTable` per repetition.

Prints one JSON object: {"versions": {...}, "append": {variant: [seconds...]}, "open": {...}}.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time

import deltalake
import pyarrow
import pyarrow.compute as pc
import pyarrow.parquet as pq
from deltalake import DeltaTable, WriterProperties, write_deltalake


def append_once(table, work, props):
    d = tempfile.mkdtemp(dir=work, prefix="py-delta-")
    path = os.path.join(d, "orders")
    try:
        DeltaTable.create(path, schema=table.schema)
        t = time.perf_counter()
        if props is None:
            write_deltalake(path, table, mode="append")
        else:
            write_deltalake(path, table, mode="append", writer_properties=props)
        elapsed = time.perf_counter() - t
        rows = DeltaTable(path).to_pyarrow_dataset().count_rows()
        if rows != table.num_rows:
            sys.exit(f"deltalake wrote {rows} rows, expected {table.num_rows}")
        return elapsed
    finally:
        shutil.rmtree(d)


def count_from_log(path):
    dt = DeltaTable(path)
    actions = dt.get_add_actions(flatten=True)
    actions = pyarrow.table(actions) if not isinstance(actions, pyarrow.Table) else actions
    return dt, pc.sum(actions.column("num_records")).as_py()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--parquet", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--open-reps", type=int, default=15)
    ap.add_argument("--commits-table", action="append", default=[])
    a = ap.parse_args()

    out = {
        "versions": {
            "deltalake": deltalake.__version__,
            "pyarrow": pyarrow.__version__,
            "python": sys.version.split()[0],
        },
        "append": {},
        "open": {},
        "count": {},
    }
    if a.reps > 0:
        table = pq.read_table(a.parquet)
        table = table.replace_schema_metadata(None)
        out["rows"] = table.num_rows
        variants = {
            "zstd1": WriterProperties(compression="ZSTD", compression_level=1),
            "default": None,
        }
        for name, props in variants.items():
            append_once(table, a.work, props)  # warm-up
            out["append"][name] = []
        for _ in range(a.reps):
            for name, props in variants.items():
                out["append"][name].append(append_once(table, a.work, props))
        del table

    for path in a.commits_table:
        count_from_log(path)  # warm-up
        opens, counts = [], []
        for _ in range(a.open_reps):
            t = time.perf_counter()
            dt = DeltaTable(path)
            opens.append(time.perf_counter() - t)
            del dt
            t = time.perf_counter()
            _, rows = count_from_log(path)
            counts.append(time.perf_counter() - t)
        out["open"][path] = opens
        out["count"][path] = {"seconds": counts, "rows": rows}
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()

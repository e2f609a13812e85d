"""The polars and DuckDB references of `partition_report`: the same queries on the same files.

    python partition_reference.py --spec SPEC.json

SPEC.json (written by partition_report):

    {"reps": 5, "queries": [
        {"key": "...", "engine": "polars" | "duckdb", "glob": "/store/**/*.parquet",
         "hive": true, "symbol": "NVDA" | null, "day": "2026-01-17" | null,
         "ts_lo": 1768608000000000, "ts_hi": 1768694400000000, "expected": 6573}, ...]}

Each query keeps the rows with `ts_lo <= ts < ts_hi` (microseconds; `ts` is a naive
TIMESTAMP(us) column of the files), and `symbol == symbol` (a column of the files) and `day == day` when given (the Hive
directory column, with `hive_partitioning` and the type `day: Date`), and
materializes every column of the matching rows:

- polars: `pl.scan_parquet(glob, hive_partitioning=..., hive_schema=...).filter(...).collect()`
  -> DataFrame;
- DuckDB: `SELECT * FROM read_parquet(glob, hive_partitioning = ..., hive_types = ...) WHERE ...`
  -> `con.sql(..).to_arrow_table()`, on one connection opened before any timing.

Each query is planned from scratch in every repetition (the files are listed and their footers
read each time: neither engine keeps a cache between queries). One untimed warm-up per query, then
`reps` rounds, each round running every query once (rotated start), timed with
`time.perf_counter` around the query call only. The row count of each result is checked against
`expected`.

Prints one JSON object: {"versions": {...}, "results": {key: {"seconds": [...], "rows": n}}}.
"""

import argparse
import datetime as dt
import json
import sys
import time

import duckdb
import polars as pl
import pyarrow

EPOCH = dt.datetime(1970, 1, 1)


def micros(us):
    return EPOCH + dt.timedelta(microseconds=us)


def polars_query(q):
    hive = q["hive"]
    lf = pl.scan_parquet(
        q["glob"],
        hive_partitioning=hive,
        hive_schema={"day": pl.Date} if hive else None,
    )
    cond = (pl.col("ts") >= micros(q["ts_lo"])) & (pl.col("ts") < micros(q["ts_hi"]))
    if q.get("symbol") is not None:
        cond = (pl.col("symbol") == q["symbol"]) & cond
    if q.get("day") is not None:
        cond = (pl.col("day") == dt.date.fromisoformat(q["day"])) & cond

    def run():
        return lf.filter(cond).collect()

    return run


def duckdb_query(con, q):
    glob = q["glob"].replace("'", "''")
    if q["hive"]:
        source = (
            f"read_parquet('{glob}', hive_partitioning = true, "
            "hive_types = {'day': DATE})"
        )
    else:
        source = f"read_parquet('{glob}', hive_partitioning = false)"
    where = [
        f"ts >= TIMESTAMP '{micros(q['ts_lo']).isoformat(sep=' ')}'",
        f"ts < TIMESTAMP '{micros(q['ts_hi']).isoformat(sep=' ')}'",
    ]
    if q.get("symbol") is not None:
        where.insert(0, "symbol = '{}'".format(q["symbol"].replace("'", "''")))
    if q.get("day") is not None:
        where.insert(0, f"day = DATE '{q['day']}'")
    sql = f"SELECT * FROM {source} WHERE " + " AND ".join(where)

    def run():
        return con.sql(sql).to_arrow_table()

    return run, sql


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--spec", required=True)
    a = ap.parse_args()
    with open(a.spec) as f:
        spec = json.load(f)
    reps = spec["reps"]

    con = duckdb.connect()
    runs = []
    sqls = {}
    for q in spec["queries"]:
        if q["engine"] == "polars":
            runs.append((q, polars_query(q)))
        elif q["engine"] == "duckdb":
            run, sql = duckdb_query(con, q)
            sqls[q["key"]] = sql
            runs.append((q, run))
        else:
            sys.exit(f"unknown engine {q['engine']!r}")

    results = {}
    for q, run in runs:  # warm-up, and the row check
        out = run()
        rows = out.height if isinstance(out, pl.DataFrame) else out.num_rows
        if rows != q["expected"]:
            sys.exit(f"{q['key']}: {rows} rows, expected {q['expected']}")
        results[q["key"]] = {"seconds": [], "rows": rows}
        del out
    n = len(runs)
    for r in range(reps):
        for k in range(n):
            q, run = runs[(r + k) % n]
            t = time.perf_counter()
            out = run()
            elapsed = time.perf_counter() - t
            del out
            results[q["key"]]["seconds"].append(elapsed)

    out = {
        "versions": {
            "polars": pl.__version__,
            "duckdb": duckdb.__version__,
            "pyarrow": pyarrow.__version__,
            "python": sys.version.split()[0],
            "polars_threads": pl.thread_pool_size(),
            "duckdb_threads": con.execute("SELECT current_setting('threads')").fetchone()[0],
        },
        "results": results,
        "sql": sqls,
    }
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()

"""Rust -> Spark: read Parquet files and ParquetStore directories written by Rust with PySpark
(local[1], offline, one session for all of them) and compare every value with expected.json
(written by tests/tests/interop.rs from the Rust values), Spark's types included.

    python check_spark.py expected.json spark:PATH... plain:PATH... brotli:PATH...

`spark:PATH` is a file or store directory written with `spark_compatible(true)`: Spark must read
every column. `plain:PATH` is written with the default profile: Spark must refuse to infer its
schema (nanosecond timestamps, times of day) and, given the schema without those two columns,
read every other column. `brotli:PATH` is a default-profile file compressed with Brotli: Spark must
fail to read it (its Brotli codec is not bundled; `spark_compatible` refuses Brotli for that
reason), so the day it reads it, this check says so.

Top-level dates and timestamps are taken inside Spark as integers (`unix_date`, `unix_micros`:
exact, whatever the time zone, and beyond Python's datetime range). Nested ones come through
PySpark's Python values (this process runs in UTC): `transform()` over a dictionary-encoded array
column fails in Spark 4.3 once a file has several row groups (ArrayIndexOutOfBoundsException in
PlainIntegerDictionary.decodeToInt; pyarrow-written files too), while plain reads are fine.

Prints one `RESULT spark <label> ok|FAIL ...` line per path; exits 1 if any check failed.
"""

import json
import os
import sys
import time
import traceback

import canon

started = time.time()
os.environ["TZ"] = "UTC"  # PySpark turns timestamps into naive datetimes in local time
time.tzset()

from pyspark.sql import Row, SparkSession  # noqa: E402
from pyspark.sql import types as T  # noqa: E402

# Spark's type for each column (simpleString), for files written with spark_compatible.
SPARK_TYPES = {
    "id": "bigint",  # UInt32
    "i8_": "tinyint",
    "i16_": "smallint",
    "i32_": "int",
    "i64_": "bigint",
    "u8_": "smallint",
    "u16_": "int",
    "u32_": "bigint",
    "u64_": "decimal(20,0)",
    "f32_": "float",
    "f64_": "double",
    "flag": "boolean",
    "text": "string",
    "maybe_text": "string",
    "maybe_i64": "bigint",
    "maybe_f64": "double",
    "maybe_bool": "boolean",
    "color": "string",  # dictionary of variant names
    "maybe_color": "string",
    "bytes": "binary",
    "maybe_bytes": "binary",
    "fixed": "binary",
    "ints": "array<int>",
    "strings": "array<string>",
    "maybe_list": "array<bigint>",
    "triple": "array<smallint>",
    "point": "struct<x:double,y:int,label:string>",
    "maybe_point": "struct<x:double,y:int,label:string>",
    "big": "decimal(38,0)",
    "ubig": "decimal(38,0)",
    "letter": "string",
    "map": "map<string,bigint>",
    "large_text": "string",
    "dict_text": "string",
    "at": "timestamp",
    "maybe_at": "timestamp",
    "at_ns": "timestamp",  # microseconds in the file (spark_compatible)
    "naive": "timestamp_ntz",
    "ts_ms": "timestamp_ntz",
    "ts_s": "timestamp_ntz",  # milliseconds in the file
    "at_s": "timestamp",
    "stamps": "array<struct<at:timestamp,label:string>>",
    "day": "date",
    "maybe_days": "array<date>",
    "time": "bigint",  # microseconds since midnight (spark_compatible)
    "delta": "bigint",  # Parquet has no duration: INT64 microseconds
    "uuid": "binary",  # 16 bytes; Spark refuses the Parquet UUID logical type
    "maybe_uuid": "binary",
    "amount": "decimal(38,9)",
    "price": "decimal(12,2)",
    "raw": "decimal(18,4)",
}
# Columns that a default-profile file holds in a form Spark refuses (the whole file).
NOT_IN_PLAIN = {"at_ns", "time"}
# decimal(20,0) columns holding unsigned 64-bit integers.
UINT64 = {"u64_"}


def raw(expr, dtype):
    """A Spark SQL expression giving the top-level column `expr` (of type `dtype`) as an integer
    if it is a date (days) or timestamp (microseconds); None otherwise."""
    if isinstance(dtype, T.DateType):
        return f"unix_date({expr})"
    if isinstance(dtype, T.TimestampType):
        return f"unix_micros({expr})"
    if isinstance(dtype, T.TimestampNTZType):
        # The session time zone is UTC, so the wall-clock time is read as that instant.
        return f"unix_micros(cast({expr} as timestamp))"
    return None


def plain_python(v):
    """Spark's Python values (Rows, bytearrays) as the values canon.py expects."""
    if isinstance(v, Row):
        return {k: plain_python(x) for k, x in v.asDict().items()}
    if isinstance(v, list):
        return [plain_python(x) for x in v]
    if isinstance(v, dict):
        return {k: plain_python(x) for k, x in v.items()}
    return v


def compare(df, expected, skip=()):
    problems = []
    types = {f.name: f.dataType.simpleString() for f in df.schema.fields}
    for name, want in SPARK_TYPES.items():
        if name in skip:
            continue
        if types.get(name) != want:
            problems.append(f"{name}: Spark type {types.get(name)}, expected {want}")
    exprs = []
    for f in df.schema.fields:
        converted = raw(f"`{f.name}`", f.dataType)
        exprs.append(f"{converted} AS `{f.name}`" if converted else f"`{f.name}`")
    # Sorted here: a dataset's files are not read in name order.
    rows = sorted(df.selectExpr(*exprs).collect(), key=lambda r: r["id"])
    got = {}
    for f in df.schema.fields:
        values = [plain_python(r[f.name]) for r in rows]
        if f.name in UINT64:
            values = [None if v is None else int(v) for v in values]
        got[f.name] = canon.column(f.name, values)
    if "at_ns" in got:
        # Expected in nanoseconds; the spark_compatible file holds microseconds.
        got["at_ns"] = [None if v is None else v * 1000 for v in got["at_ns"]]
    return problems + canon.compare(expected, got, skip=skip)


def main():
    expected = json.load(open(sys.argv[1], encoding="utf-8"))
    spark = (
        SparkSession.builder.master("local[1]")
        .appName("soa-interop")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "1")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("OFF")
    print(f"versions: pyspark {spark.version}, session started in {time.time() - started:.1f} s")
    failed = False
    full_schema = None
    entries = [a.split(":", 1) for a in sys.argv[2:]]
    # The spark_compatible paths first: their schema is the one plain files are read with.
    entries.sort(key=lambda e: e[0] != "spark")
    for kind, path in entries:
        label = f"{kind}:{os.path.basename(os.path.dirname(path))}/{os.path.basename(path)}"
        t0 = time.time()
        notes = []
        try:
            if kind == "spark":
                df = spark.read.parquet(path)
                full_schema = full_schema or df.schema
                problems = compare(df, expected)
            elif kind == "brotli":
                schema = T.StructType([f for f in full_schema.fields if f.name not in NOT_IN_PLAIN])
                try:
                    spark.read.schema(schema).parquet(path).collect()
                    problems = ["Spark reads Brotli now: allow it in spark_compatible (options.rs)"]
                except Exception as e:  # noqa: BLE001
                    message = " ".join(str(e).split())
                    if "BrotliCodec" in message:
                        notes.append("refused as expected: BrotliCodec (class not found)")
                        problems = []
                    else:
                        problems = [f"failed, but not for the Brotli codec: {message[:500]}"]
            else:
                try:
                    spark.read.parquet(path).collect()
                    problems = ["Spark read a default-profile file with nanoseconds and times of day"]
                except Exception as e:  # noqa: BLE001
                    message = str(e).strip().splitlines()[0][:160]
                    if "PARQUET_TYPE_ILLEGAL" in message or "UNSUPPORTED_TIME_TYPE" in message:
                        notes.append(f"schema inference refused as expected: {message}")
                        problems = []
                    else:
                        problems = [f"refused for another reason: {message}"]
                schema = T.StructType([f for f in full_schema.fields if f.name not in NOT_IN_PLAIN])
                problems += compare(spark.read.schema(schema).parquet(path), expected, skip=NOT_IN_PLAIN)
        except Exception:  # report, do not stop: every path gets a line
            problems = ["exception: " + traceback.format_exc().strip().replace("\n", " | ")[-3000:]]
        for n in notes:
            print(f"NOTE spark {label}: {n}")
        if problems:
            failed = True
            print(f"RESULT spark {label} FAIL {len(problems)} problem(s):")
            for p in problems[:20]:
                print(f"    {p}")
        else:
            if kind == "brotli":
                print(f"RESULT spark {label} ok (unreadable, as documented; {time.time() - t0:.1f} s)")
            else:
                skipped = f", without {sorted(NOT_IN_PLAIN)}" if kind == "plain" else ""
                print(f"RESULT spark {label} ok ({expected['rows']} rows, values and types{skipped}; "
                      f"{time.time() - t0:.1f} s)")
    spark.stop()
    print(f"spark total {time.time() - started:.1f} s")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

"""Rust -> Spark: the Hive-partitioned ParquetStore directories of tests/tests/hive_interop.rs
read by PySpark (local[1], offline, one session), every value compared with expected.json (see
hive_common.py).

    python spark_hive.py expected.json OUT_DIR

Checks, each one `RESULT spark <check> ok|FAIL` line:
* `trades-schema`, `zips-schema`: `spark.read.schema(user_schema).parquet(root)`, the partition
  columns declared (day as a date, symbol/venue/zip as strings): "007" stays "007".
* `trades-strings`, `zips-strings`: no schema, with
  `spark.sql.sources.partitionColumnTypeInference.enabled=false`: every partition column a
  string (day "2026-01-05").
* `trades-inferred`, `zips-inferred`: Spark's default inference: day a date, zip an integer
  ("007" becomes 7).

* `write`: Spark -> Rust. `df.write.partitionBy("zip", "region", "year").parquet(OUT_DIR/spark)`
  of hive_common.sale_rows, for `import_dataset`; OUT_DIR/spark-expected.json holds the rows as
  Spark stored them (an empty region becomes null: Spark writes "" as
  `__HIVE_DEFAULT_PARTITION__` too), the partition directories and every file name (Spark's
  `_SUCCESS` and `.*.crc` files, which the import must skip).

Spark needs every data file at the same depth under the root: a partitioned store has no
placeholder file at the root (only `_soa_*` files, which Spark skips with `.` files).
Null and "" partition values are both `__HIVE_DEFAULT_PARTITION__`, which Spark reads as null.
Timestamps are taken inside Spark as integers (`unix_micros`), in a UTC session.
"""

import datetime as dt
import json
import os
import sys
import time

import hive_common as hc

started = time.time()
os.environ["TZ"] = "UTC"
time.tzset()

from pyspark.sql import SparkSession  # noqa: E402
from pyspark.sql import types as T  # noqa: E402

# The data columns as Spark reads them from our files: u64 as decimal(20,0) (Spark has no
# unsigned types), u32 as bigint, the unit enum a string, a timestamp without time zone
# (isAdjustedToUTC=false) as timestamp_ntz.
TRADE_DATA = [
    T.StructField("id", T.DecimalType(20, 0)),
    T.StructField("ts", T.TimestampNTZType()),
    T.StructField("side", T.StringType()),
    T.StructField("qty", T.IntegerType()),
    T.StructField("price", T.DoubleType()),
    T.StructField("live", T.BooleanType()),
    T.StructField("fee", T.LongType()),
]
TRADE_SCHEMA = T.StructType(
    TRADE_DATA
    + [
        T.StructField("day", T.DateType()),
        T.StructField("symbol", T.StringType()),
        T.StructField("venue", T.StringType()),
    ]
)
ZIP_SCHEMA = T.StructType(
    [
        T.StructField("id", T.LongType()),  # u32
        T.StructField("weight", T.DoubleType()),
        T.StructField("zip", T.StringType()),
    ]
)
DATA_TYPES = {"id": "decimal(20,0)", "ts": "timestamp_ntz", "side": "string", "qty": "int", "price": "double",
              "live": "boolean", "fee": "bigint"}
TYPES = {
    "trades-schema": {**DATA_TYPES, "day": "date", "symbol": "string", "venue": "string"},
    "trades-strings": {**DATA_TYPES, "day": "string", "symbol": "string", "venue": "string"},
    # Spark infers "YYYY-MM-DD" as a date (symbol and venue hold non-numbers: strings).
    "trades-inferred": {**DATA_TYPES, "day": "date", "symbol": "string", "venue": "string"},
    "zips-schema": {"id": "bigint", "zip": "string"},
    "zips-strings": {"id": "bigint", "zip": "string"},
    "zips-inferred": {"id": "bigint", "zip": "int"},
}


def rows_of(df):
    types = {f.name: f.dataType.simpleString() for f in df.schema.fields}
    exprs = []
    for f in df.schema.fields:
        if isinstance(f.dataType, T.TimestampNTZType):
            # The session time zone is UTC, so the wall-clock time is read as that instant.
            exprs.append(f"unix_micros(cast(`{f.name}` as timestamp)) AS `{f.name}`")
        else:
            exprs.append(f"`{f.name}`")
    rows = [{k: hc.value(v) for k, v in r.asDict().items()} for r in df.selectExpr(*exprs).collect()]
    return rows, types


def main():
    doc = hc.load(sys.argv[1])
    spark = (
        SparkSession.builder.master("local[1]")
        .appName("soa-hive-interop")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "1")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("OFF")
    print(f"versions: pyspark {spark.version}, session started in {time.time() - started:.1f} s")
    trades_root, zips_root = doc["trades"]["root"], doc["zips"]["root"]
    inferred_zips = [dict(r, zip=int(r["zip"])) for r in doc["zips"]["rows"]]
    results = hc.Results()

    def check(name, read, expected, columns):
        def run():
            t0 = time.time()
            rows, types = rows_of(read())
            problems = hc.check_types(types, TYPES[name])
            problems += hc.compare(rows, expected, columns)
            note = f"{len(rows)} rows in {time.time() - t0:.1f} s, types {types}"
            if "symbol" in columns:
                note += f" {hc.null_note(rows)}"
            return problems, note

        results.run("spark", name, run)

    def inference(enabled):
        spark.conf.set("spark.sql.sources.partitionColumnTypeInference.enabled", str(enabled).lower())

    trades, zips = doc["trades"]["rows"], doc["zips"]["rows"]
    check("trades-schema", lambda: spark.read.schema(TRADE_SCHEMA).parquet(trades_root), trades, hc.TRADE_COLUMNS)
    check("zips-schema", lambda: spark.read.schema(ZIP_SCHEMA).parquet(zips_root), zips, hc.ZIP_COLUMNS)
    inference(False)
    check("trades-strings", lambda: spark.read.parquet(trades_root), trades, hc.TRADE_COLUMNS)
    check("zips-strings", lambda: spark.read.parquet(zips_root), zips, hc.ZIP_COLUMNS)
    inference(True)
    check("trades-inferred", lambda: spark.read.parquet(trades_root), trades, hc.TRADE_COLUMNS)
    check("zips-inferred", lambda: spark.read.parquet(zips_root), inferred_zips, hc.ZIP_COLUMNS)

    def write():
        out = os.path.join(sys.argv[2], "spark")
        data = hc.sale_rows(48)
        epoch = dt.datetime(1970, 1, 1)
        schema = T.StructType([
            T.StructField("id", T.LongType()),
            T.StructField("zip", T.StringType()),
            T.StructField("region", T.StringType()),
            T.StructField("year", T.IntegerType()),
            T.StructField("amount", T.DoubleType()),
            T.StructField("note", T.StringType()),
            T.StructField("at", T.TimestampNTZType()),
        ])
        values = [(r["id"], r["zip"], r["region"], r["year"], r["amount"], r["note"],
                   epoch + dt.timedelta(microseconds=r["at"])) for r in data]
        spark.createDataFrame(values, schema).write.partitionBy(*hc.SALE_PARTITION_BY).parquet(out)
        # What Spark stored: "" and null are one directory, read back as null.
        stored = [dict(r, region=r["region"] or None) for r in data]
        files = sorted(os.path.relpath(os.path.join(root, f), out).replace(os.sep, "/")
                       for root, _, fs in os.walk(out) for f in fs)
        dirs = hc.partition_dirs(out)
        with open(os.path.join(sys.argv[2], "spark-expected.json"), "w", encoding="utf-8") as f:
            json.dump({"rows": stored, "dirs": dirs, "files": files}, f)
        # Spark's own reading of what it wrote (a sanity check of the expected rows).
        back = rows_of(spark.read.schema(schema).parquet(out))[0]
        problems = hc.compare(back, stored, list(stored[0]))
        return problems, f"{len(files)} files, {len(dirs)} partition directories, e.g. {dirs[:3]}"

    results.run("spark", "write", write)
    print(f"total {time.time() - started:.1f} s")
    spark.stop()
    sys.exit(1 if results.failed else 0)


if __name__ == "__main__":
    main()

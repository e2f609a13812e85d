"""Spark reading the data files of one version of a Delta table (Spark cannot read Delta here: its
Delta jars come only from Maven). Runs in .venv-spark; for tests/tests/interop.rs.

    python spark_delta.py TABLE_DIR VERSION OUT_JSON

The version's files are found by replaying the JSON commits 0..=VERSION (adds minus removes);
the version must be one whose files Spark can read as one dataset (no removed files matter, they
are simply not read). Writes {"version": V, "schema": {column: Spark type}, "rows": [...]} with
the values in the canonical form of delta_read.py (driven by the table's Delta schema), sorted by
`id`.
"""

import json
import os
import sys
import time
import urllib.parse

# PySpark turns timestamps into naive datetimes of the process's zone: make it UTC.
os.environ["TZ"] = "UTC"
time.tzset()

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import delta_read  # noqa: E402


def active_files(table, version):
    files = {}
    schema = None
    for v in range(version + 1):
        with open(os.path.join(table, "_delta_log", f"{v:020}.json"), encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    continue
                action = json.loads(line)
                if "add" in action:
                    files[urllib.parse.unquote(action["add"]["path"])] = True
                elif "remove" in action:
                    files.pop(urllib.parse.unquote(action["remove"]["path"]), None)
                elif "metaData" in action:
                    schema = json.loads(action["metaData"]["schemaString"])
    return [os.path.join(table, p) for p in files], schema["fields"]


def main():
    table, version, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    files, fields = active_files(table, version)
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[1]")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    df = spark.read.parquet(*files)
    schema = {f.name: f.dataType.simpleString() for f in df.schema.fields}
    types = {f["name"]: f["type"] for f in fields}
    rows = []
    for row in df.collect():
        record = row.asDict(recursive=True)
        rows.append({k: delta_read.canonical(v, types.get(k)) for k, v in record.items()})
    rows = delta_read.sorted_rows(rows, "id", fields)
    spark.stop()
    with open(out, "w", encoding="utf-8") as f:
        json.dump({"version": version, "schema": schema, "rows": rows}, f, ensure_ascii=False)


if __name__ == "__main__":
    main()

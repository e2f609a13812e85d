"""Checks that the Delta readers read every version of a table written by DeltaStore exactly (for
tests/tests/interop.rs; runs in .venv-delta).

    python check_delta.py TABLE_URI EXPECTED_JSON [--storage-options JSON] [--spark FILE]

EXPECTED_JSON: {"versions": {"<v>": {"order": [columns], "rows": n, "columns": {name: [values]}}}}
with values in the canonical form of canon.py / delta_read.py, rows sorted by `id`. For every
version, `delta_read.py --version v --sort-by id` reads the table with deltalake, polars and
DuckDB's delta_scan; each reader's rows are compared value by value with the expected ones.
--spark FILE: the output of spark_delta.py (Spark reading the data files of one version), checked
the same way. Prints each reader's column types (version 1), then `ok` lines; exits 1 listing the
first differences otherwise.
"""

import argparse
import json
import math
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def same(a, b):
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b or (type(a) is type(b) and a == b)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


def compare(what, got_rows, expected, problems):
    n = expected["rows"]
    if len(got_rows) != n:
        problems.append(f"{what}: {len(got_rows)} rows, expected {n}")
        return
    for name in expected["order"]:
        want = expected["columns"][name]
        for i, row in enumerate(got_rows):
            if name not in row:
                problems.append(f"{what}: no column {name}")
                break
            if not same(row[name], want[i]):
                problems.append(
                    f"{what}: column {name} row {i}: got {json.dumps(row[name], ensure_ascii=False)}, "
                    f"expected {json.dumps(want[i], ensure_ascii=False)}"
                )
                break


def main():
    p = argparse.ArgumentParser()
    p.add_argument("uri")
    p.add_argument("expected")
    p.add_argument("--storage-options", default=None)
    p.add_argument("--spark", default=None)
    args = p.parse_args()
    with open(args.expected, encoding="utf-8") as f:
        versions = json.load(f)["versions"]
    problems = []
    for version, expected in sorted(versions.items(), key=lambda kv: int(kv[0])):
        cmd = [sys.executable, os.path.join(HERE, "delta_read.py"), args.uri,
               "--version", version, "--sort-by", "id"]
        if args.storage_options:
            cmd += ["--storage-options", args.storage_options]
        out = subprocess.run(cmd, capture_output=True, text=True, encoding="utf-8")
        if out.returncode != 0:
            problems.append(f"delta_read.py failed for version {version}: {out.stderr[-2000:]}")
            continue
        result = json.loads(out.stdout)
        for reader in ("deltalake", "polars", "duckdb"):
            r = result.get(reader, {})
            if "error" in r:
                problems.append(f"{reader} v{version}: {r['error']}")
                continue
            if version == "1":
                print(f"types {reader}: {json.dumps(r['schema'], ensure_ascii=False)}")
            before = len(problems)
            compare(f"{reader} v{version}", r["rows"], expected, problems)
            if len(problems) == before:
                print(f"ok {reader} version {version}: {expected['rows']} rows")
    if args.spark:
        with open(args.spark, encoding="utf-8") as f:
            spark = json.load(f)
        version = str(spark["version"])
        print(f"types spark: {json.dumps(spark['schema'], ensure_ascii=False)}")
        before = len(problems)
        compare(f"spark v{version}", spark["rows"], versions[version], problems)
        if len(problems) == before:
            print(f"ok spark version {version}: {versions[version]['rows']} rows")
    if problems:
        print("\n".join(problems[:40]))
        sys.exit(1)


if __name__ == "__main__":
    main()

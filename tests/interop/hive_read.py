"""Rust -> Python: Hive-partitioned ParquetStore directories read by pyarrow.dataset, polars
scan_parquet, DuckDB read_parquet and pandas.read_parquet, every value compared with
expected.json (written by tests/tests/hive_interop.rs from the Rust values; see hive_common.py).

    python hive_read.py expected.json

For each reader, four checks:
* `trades`: the store partitioned by day(ts)/symbol/venue, read with explicit partition types
  (day as a date, symbol and venue as strings): every row, partition columns included.
* `zips`: the store partitioned by zip codes ("007", "010", "02134", "90210"), with the zip
  declared a string: "007" stays "007".
* `trades-inferred`, `zips-inferred`: the same without a schema, documenting what each reader's
  type inference gives (asserted, so a reader upgrade that changes it shows up here).

Hive cannot tell null from "": our store writes both as `__HIVE_DEFAULT_PARTITION__`, and every
reader shows null for both (expected.json says null for them).

Prints one `RESULT <reader> <check> ok|FAIL` line per check; exits 1 if any failed.
"""

import os
import sys

import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds

import hive_common as hc

# The partition columns with explicit types, per reader.
PA_TRADE_PARTS = pa.schema([("day", pa.date32()), ("symbol", pa.string()), ("venue", pa.string())])
PA_ZIP_PARTS = pa.schema([("zip", pa.string())])
PL_TRADE_PARTS = {"day": pl.Date, "symbol": pl.String, "venue": pl.String}
PL_ZIP_PARTS = {"zip": pl.String}
DUCK_TRADE_PARTS = "{'day': DATE, 'symbol': VARCHAR, 'venue': VARCHAR}"
DUCK_ZIP_PARTS = "{'zip': VARCHAR}"

# The types each reader gives (str() of its type objects). The data columns are the file's:
# u64 id, timestamp(us) without time zone, the unit enum a dictionary of variant names, u32 fee.
TYPES = {
    "pyarrow": {
        "trades": {"id": "uint64", "ts": "timestamp[us]", "side": "dictionary<values=string, indices=int8, ordered=0>",
                   "fee": "uint32", "day": "date32[day]", "symbol": "string", "venue": "string"},
        # Inference: only int32 or string; "YYYY-MM-DD" stays a string.
        "trades-inferred": {"day": "string", "symbol": "string", "venue": "string"},
        "zips": {"zip": "string"},
        # All four zips parse as integers: "007" becomes 7 (and "02134" 2134).
        "zips-inferred": {"zip": "int32"},
    },
    "polars": {
        "trades": {"id": "UInt64", "ts": "Datetime(time_unit='us', time_zone=None)", "side": "Categorical",
                   "fee": "UInt32", "day": "Date", "symbol": "String", "venue": "String"},
        # try_parse_hive_dates (default on) makes the day a Date.
        "trades-inferred": {"day": "Date", "symbol": "String", "venue": "String"},
        "zips": {"zip": "String"},
        "zips-inferred": {"zip": "Int64"},
    },
    "duckdb": {
        "trades": {"id": "UBIGINT", "ts": "TIMESTAMP", "side": "VARCHAR", "fee": "UINTEGER", "day": "DATE",
                   "symbol": "VARCHAR", "venue": "VARCHAR"},
        "trades-inferred": {"day": "DATE", "symbol": "VARCHAR", "venue": "VARCHAR"},
        "zips": {"zip": "VARCHAR"},
        # DuckDB does not infer a number from a zero-padded value, so "007" stays VARCHAR here; a
        # dataset whose zips are all like "90210" would be BIGINT, so hive_types is still needed.
        "zips-inferred": {"zip": "VARCHAR"},
    },
    "pandas": {
        # A nullable u32 becomes float64 with NaN for null (pandas has no nullable numpy ints);
        # a date partition column is object (datetime.date), strings pandas 3's `str`.
        "trades": {"id": "uint64", "ts": "datetime64[us]", "side": "category", "fee": "float64", "day": "object",
                   "symbol": "str", "venue": "str"},
        "zips": {"zip": "str"},
        # pyarrow.parquet (under pandas) discovers partitions as dictionaries of int32 or string.
        "zips-inferred": {"zip": "category"},
    },
}

# What inference makes of each zip code.
ZIP_INFERRED = {
    "pyarrow": int,
    "polars": int,
    "duckdb": str,
    "pandas": int,
}


def expected_zips(doc, reader, inferred):
    rows = [dict(r) for r in doc["zips"]["rows"]]
    if inferred:
        for r in rows:
            r["zip"] = ZIP_INFERRED[reader](r["zip"])
    return rows


# ---------------------------------------------------------------------------------------------
# Readers: each returns (rows as canonical dicts, {column: type name}).


def pyarrow_read(root, parts):
    partitioning = ds.partitioning(parts, flavor="hive") if parts is not None else "hive"
    # pyarrow skips files and directories starting with "_" or "." (selector_ignore_prefixes):
    # _soa_manifest, _soa_lock, _soa_writer and staging files are not read.
    table = ds.dataset(root, format="parquet", partitioning=partitioning).to_table()
    types = {f.name: str(f.type) for f in table.schema}
    if "ts" in table.column_names:
        table = table.set_column(table.column_names.index("ts"), "ts", table["ts"].cast(pa.int64()))
    rows = [{k: hc.value(v) for k, v in r.items()} for r in table.to_pylist()]
    return rows, types


def polars_read(root, parts):
    # A glob: polars refuses a directory holding files of different extensions
    # (`pl.scan_parquet(root)` fails on `_soa_manifest`, which has none).
    kwargs = {"hive_schema": parts} if parts is not None else {}
    df = pl.scan_parquet(f"{root}/**/*.parquet", hive_partitioning=True, **kwargs).collect()
    types = {name: str(dtype) for name, dtype in df.schema.items()}
    if "ts" in df.columns:
        df = df.with_columns(pl.col("ts").dt.epoch("us"), pl.col("side").cast(pl.String))
    rows = [{k: hc.value(v) for k, v in r.items()} for r in df.to_dicts()]
    return rows, types


def duckdb_read(root, parts):
    glob = os.path.join(root, "**", "*.parquet").replace("'", "''")
    types_arg = f", hive_types={parts}" if parts is not None else ""
    query = f"SELECT * FROM read_parquet('{glob}', hive_partitioning=true{types_arg})"
    con = duckdb.connect()
    rel = con.sql(query)
    types = {name: str(t) for name, t in zip(rel.columns, rel.types)}
    if "ts" in rel.columns:
        rel = con.sql(f"SELECT * REPLACE (epoch_us(ts) AS ts) FROM ({query})")
    rows = [{k: hc.value(v) for k, v in zip(rel.columns, r)} for r in rel.fetchall()]
    return rows, types


def pandas_read(root, parts):
    kwargs = {"partitioning": ds.partitioning(parts, flavor="hive")} if parts is not None else {}
    df = pd.read_parquet(root, **kwargs)
    types = {name: str(dtype) for name, dtype in df.dtypes.items()}
    if "ts" in df.columns:
        df["ts"] = df["ts"].astype("int64")
    rows = []
    for r in df.to_dict("records"):
        row = {k: hc.value(v, nan_is_null=True) for k, v in r.items()}
        if isinstance(row.get("fee"), float):
            assert row["fee"].is_integer(), row
            row["fee"] = int(row["fee"])
        if "zip" in row and not isinstance(row["zip"], str):
            row["zip"] = int(row["zip"])  # a category of int32
        rows.append(row)
    return rows, types


READERS = {
    "pyarrow": (pyarrow_read, PA_TRADE_PARTS, PA_ZIP_PARTS),
    "polars": (polars_read, PL_TRADE_PARTS, PL_ZIP_PARTS),
    "duckdb": (duckdb_read, DUCK_TRADE_PARTS, DUCK_ZIP_PARTS),
    "pandas": (pandas_read, PA_TRADE_PARTS, PA_ZIP_PARTS),
}


def main():
    doc = hc.load(sys.argv[1])
    trades_root, zips_root = doc["trades"]["root"], doc["zips"]["root"]
    print(f"versions: pyarrow {pa.__version__}, polars {pl.__version__}, pandas {pd.__version__}, "
          f"duckdb {duckdb.__version__}")
    results = hc.Results()
    for name, (read, trade_parts, zip_parts) in READERS.items():
        want = TYPES[name]

        def trades(parts, check):
            def run():
                rows, types = read(trades_root, parts)
                problems = hc.check_types(types, want[check])
                problems += hc.compare(rows, doc["trades"]["rows"], hc.TRADE_COLUMNS)
                return problems, f"{len(rows)} rows {hc.null_note(rows)} types {types}"

            return run

        def zips(parts, check):
            def run():
                rows, types = read(zips_root, parts)
                problems = hc.check_types(types, want[check])
                problems += hc.compare(rows, expected_zips(doc, name, parts is None), hc.ZIP_COLUMNS)
                zips_seen = sorted({r["zip"] for r in rows}, key=str)
                return problems, f"{len(rows)} rows, zips {zips_seen}, types {types}"

            return run

        results.run(name, "trades", trades(trade_parts, "trades"))
        results.run(name, "zips", zips(zip_parts, "zips"))
        if name == "pandas":
            results.run(name, "trades-inferred", pandas_trades_inferred(trades_root))
        else:
            results.run(name, "trades-inferred", trades(None, "trades-inferred"))
        results.run(name, "zips-inferred", zips(None, "zips-inferred"))
    sys.exit(1 if results.failed else 0)


def pandas_trades_inferred(root):
    """`pd.read_parquet(root)` without a partitioning: pyarrow.parquet discovers Hive partitions
    as dictionary columns (`HivePartitioning.discover(infer_dictionary=True)`) and cannot
    convert dictionaries holding nulls to pandas ("Cannot yet unify dictionaries with nulls"),
    so any Hive dataset with a null (or empty) partition value fails this way, pyarrow's own
    `write_dataset` output included. Asserted, so the day it works the check says so."""

    def run():
        try:
            pd.read_parquet(root)
        except pa.ArrowInvalid as e:
            if "Cannot yet unify dictionaries with nulls" in str(e):
                return [], f"(fails as documented: ArrowInvalid: {e})"
            raise
        return ["pd.read_parquet(root) reads a Hive dataset with null partitions now: check its values"], ""

    return run


if __name__ == "__main__":
    main()

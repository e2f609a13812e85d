"""Rust -> Python: read files written by Rust with pyarrow, polars, pandas and DuckDB; compare the
values with expected.json (written by tests/tests/interop.rs from the Rust values) and check the
logical types.

    python check_read.py expected.json FILE...   (*.parquet or *.arrow)

Prints one `RESULT <reader> <file> ok|FAIL ...` line per reader and file, plus `NOTE` lines for
documented differences between readers; exits 1 if any check failed.
"""

import json
import os
import sys
import traceback

import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.ipc
import pyarrow.parquet as pq

import canon

ENUMS = ["color", "maybe_color", "dict_text"]
UUIDS = ["uuid", "maybe_uuid"]
DECIMALS = {"amount": (38, 9), "price": (12, 2), "raw": (18, 4), "big": (38, 0), "ubig": (38, 0)}
# name -> (unit, time zone). Parquet has no seconds: a Timestamp(Second) column is written as
# TIMESTAMP(MILLIS) (see `unit_in`); Arrow IPC keeps seconds.
TIMESTAMPS = {
    "at": ("us", "UTC"),
    "maybe_at": ("us", "UTC"),
    "at_ns": ("ns", "UTC"),
    "naive": ("us", None),
    "ts_ms": ("ms", None),
    "ts_s": ("s", None),
    "at_s": ("s", "UTC"),
}


def unit_in(path, unit):
    """The unit a reader sees for a column of Arrow unit `unit` in the file `path`."""
    return "ms" if unit == "s" and path.endswith(".parquet") else unit


def check(cond, problems, message):
    if not cond:
        problems.append(message)


# ------------------------------------------------------------------------------------------------
# pyarrow


def read_pyarrow(path):
    if path.endswith(".parquet"):
        return pq.read_table(path)
    with pa.ipc.open_file(path) as reader:
        return reader.read_all()


def pyarrow_check(path, expected):
    t = read_pyarrow(path)
    problems = []
    for name in ENUMS:
        ty = t.schema.field(name).type
        check(pa.types.is_dictionary(ty) and pa.types.is_string(ty.value_type), problems,
              f"{name}: {ty}, expected a dictionary of strings")
    for name in UUIDS:
        ty = t.schema.field(name).type
        # pyarrow knows the canonical `arrow.uuid` extension; its storage is 16 bytes.
        check(getattr(ty, "extension_name", None) == "arrow.uuid"
              and ty.storage_type == pa.binary(16), problems,
              f"{name}: {ty}, expected arrow.uuid over fixed_size_binary(16)")
    for name, (p, s) in DECIMALS.items():
        ty = t.schema.field(name).type
        check(pa.types.is_decimal(ty) and (ty.precision, ty.scale) == (p, s), problems,
              f"{name}: {ty}, expected decimal128({p}, {s})")
    for name, (unit, tz) in TIMESTAMPS.items():
        ty = t.schema.field(name).type
        unit = unit_in(path, unit)
        check(pa.types.is_timestamp(ty) and ty.unit == unit and ty.tz == tz, problems,
              f"{name}: {ty}, expected timestamp[{unit}, tz={tz}]")
    ty = t.schema.field("stamps").type.value_type.field("at").type
    check(pa.types.is_timestamp(ty) and ty.unit == unit_in(path, "s"), problems,
          f"stamps.at: {ty}, expected a timestamp")
    got = {}
    for name in t.column_names:
        col = t.column(name)
        if name in canon.INT_COLUMNS:
            col = col.cast(pa.int64())
        got[name] = canon.column(name, col.to_pylist())
    return problems + canon.compare(expected, got)


# ------------------------------------------------------------------------------------------------
# polars


def polars_check(path, expected):
    df = pl.read_parquet(path) if path.endswith(".parquet") else pl.read_ipc(path)
    problems = []
    for name in ENUMS:
        ty = df.schema[name]
        check(isinstance(ty, (pl.Categorical, pl.Enum)) or ty in (pl.Categorical, pl.Enum), problems,
              f"{name}: {ty}, expected Categorical/Enum")
    for name in UUIDS:
        ty = df.schema[name]
        check(ty == pl.Binary, problems, f"{name}: {ty}, expected Binary")
        lengths = {len(v) for v in df[name].to_list() if v is not None}
        check(lengths == {16}, problems, f"{name}: value lengths {lengths}, expected 16")
    for name, (p, s) in DECIMALS.items():
        ty = df.schema[name]
        check(isinstance(ty, pl.Decimal) and (ty.precision, ty.scale) == (p, s), problems,
              f"{name}: {ty}, expected Decimal({p}, {s})")
    for name, (unit, tz) in TIMESTAMPS.items():
        ty = df.schema[name]
        unit = "ms" if unit == "s" else unit  # polars has no seconds unit
        check(isinstance(ty, pl.Datetime) and ty.time_unit == unit and ty.time_zone == tz, problems,
              f"{name}: {ty}, expected Datetime({unit}, {tz})")
    got = {}
    for name in df.columns:
        s = df[name]
        if name in canon.INT_COLUMNS:
            s = s.cast(pl.Int64)
        got[name] = canon.column(name, s.to_list())
    return problems + canon.compare(expected, got)


# ------------------------------------------------------------------------------------------------
# pandas


def read_pandas(path, **kwargs):
    if path.endswith(".parquet"):
        return pd.read_parquet(path, **kwargs)
    return pd.read_feather(path, **kwargs)


def pandas_columns(df):
    got = {}
    for name in df.columns:
        s = df[name]
        if name in canon.INT_COLUMNS:
            s = s.astype("int64[pyarrow]") if isinstance(s.dtype, pd.ArrowDtype) else s.astype("int64")
        if isinstance(s.dtype, pd.CategoricalDtype):
            values = [None if pd.isna(v) else v for v in s.astype(object)]
        else:
            values = s.tolist()
        got[name] = canon.column(name, values)
    return got


def pandas_check(path, expected):
    # dtype_backend="pyarrow": pandas' lossless mode (ArrowDtype columns). The default NumPy
    # backend is reported below as NOTE lines: its conversions, not the file, lose values.
    df = read_pandas(path, dtype_backend="pyarrow")
    problems = []
    arrow = {name: getattr(df[name].dtype, "pyarrow_dtype", None) for name in df.columns}
    for name in ENUMS:
        ty = arrow[name]
        check(ty is not None and pa.types.is_dictionary(ty), problems,
              f"{name}: {df[name].dtype}, expected a dictionary (categorical)")
    for name in UUIDS:
        ty = arrow[name]
        check(getattr(ty, "storage_type", ty) == pa.binary(16), problems,
              f"{name}: {df[name].dtype}, expected 16-byte binary")
    for name, (p, s) in DECIMALS.items():
        ty = arrow[name]
        check(ty is not None and pa.types.is_decimal(ty) and (ty.precision, ty.scale) == (p, s),
              problems, f"{name}: {df[name].dtype}, expected decimal128({p}, {s})")
    for name, (unit, tz) in TIMESTAMPS.items():
        ty = arrow[name]
        unit = unit_in(path, unit)
        check(ty is not None and pa.types.is_timestamp(ty) and ty.unit == unit and ty.tz == tz,
              problems, f"{name}: {df[name].dtype}, expected timestamp[{unit}, tz={tz}]")
    problems += canon.compare(expected, pandas_columns(df))
    if not problems:
        default = read_pandas(path)
        lossy = canon.compare(expected, pandas_columns(default))
        names = sorted({p.split()[1] for p in lossy if p.startswith("column ")})
        if names:
            print(f"NOTE pandas (default NumPy dtypes) {os.path.basename(path)}: values differ in "
                  f"{', '.join(names)} (NumPy dtypes: NaN and null conflated, int64 with nulls as "
                  f"float64); dtype_backend='pyarrow' keeps them")
    return problems


# ------------------------------------------------------------------------------------------------
# DuckDB


def duckdb_check(path, expected):
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    if path.endswith(".parquet"):
        con.execute(f"CREATE VIEW t AS SELECT * FROM read_parquet('{path}')")
    else:
        # DuckDB reads Arrow IPC through pyarrow's reader (its own `arrow` extension is a
        # community extension, not available offline): a zero-copy Arrow scan.
        table = read_pyarrow(path)
        con.register("t", table)
    types = dict(con.execute("SELECT column_name, column_type FROM (DESCRIBE t)").fetchall())
    problems = []
    for name in ENUMS:
        ty = types[name]
        # DuckDB 2.0 reads dictionary-encoded strings as VARCHAR, from Parquet and from Arrow;
        # the values (variant names) are compared below.
        check(ty == "VARCHAR" or ty.startswith("ENUM"), problems, f"{name}: {ty}, expected ENUM or VARCHAR")
        if ty == "VARCHAR" and name == "color":
            print(f"NOTE duckdb {os.path.basename(path)}: enum columns read as VARCHAR (not ENUM)")
    for name in UUIDS:
        ty = types[name]
        check(ty in ("BLOB", "UUID"), problems, f"{name}: {ty}, expected BLOB or UUID")
    for name, (p, s) in DECIMALS.items():
        check(types[name] == f"DECIMAL({p},{s})", problems, f"{name}: {types[name]}, expected DECIMAL({p},{s})")
    ts_types = {
        ("us", "UTC"): ["TIMESTAMP WITH TIME ZONE"],
        ("ns", "UTC"): ["TIMESTAMPTZ_NS", "TIMESTAMP_NS"],
        ("us", None): ["TIMESTAMP"],
        ("ms", None): ["TIMESTAMP", "TIMESTAMP_MS"],
        ("ms", "UTC"): ["TIMESTAMP WITH TIME ZONE"],
        ("s", None): ["TIMESTAMP", "TIMESTAMP_S"],
        ("s", "UTC"): ["TIMESTAMP WITH TIME ZONE"],
    }
    for name, (unit, tz) in TIMESTAMPS.items():
        key = (unit_in(path, unit), tz)
        check(types[name] in ts_types[key], problems, f"{name}: {types[name]}, expected one of {ts_types[key]}")
    check(types["stamps"].startswith("STRUCT(\"at\" TIMESTAMP WITH TIME ZONE"), problems,
          f"stamps: {types['stamps']}, expected a list of STRUCT(at TIMESTAMP WITH TIME ZONE, ...)")
    cur = con.execute("SELECT * FROM t")
    names = [d[0] for d in cur.description]
    rows = cur.fetchall()
    got = {}
    for i, name in enumerate(names):
        got[name] = canon.column(name, [r[i] for r in rows])
    # Nanoseconds: Python datetimes stop at microseconds, so read the integer.
    got["at_ns"] = [r[0] for r in con.execute("SELECT epoch_ns(at_ns) FROM t").fetchall()]
    return problems + canon.compare(expected, got)


READERS = [
    ("pyarrow", pyarrow_check),
    ("polars", polars_check),
    ("pandas", pandas_check),
    ("duckdb", duckdb_check),
]


def main():
    expected = json.load(open(sys.argv[1], encoding="utf-8"))
    print(f"versions: pyarrow {pa.__version__}, polars {pl.__version__}, pandas {pd.__version__}, "
          f"duckdb {duckdb.__version__}")
    failed = False
    for path in sys.argv[2:]:
        label = os.path.join(os.path.basename(os.path.dirname(path)), os.path.basename(path))
        for reader, fn in READERS:
            try:
                problems = fn(path, expected)
            except Exception:  # report, do not stop: every (reader, file) gets a line
                problems = ["exception: " + traceback.format_exc().strip().replace("\n", " | ")]
            if problems:
                failed = True
                print(f"RESULT {reader} {label} FAIL {len(problems)} problem(s):")
                for p in problems[:20]:
                    print(f"    {p}")
            else:
                print(f"RESULT {reader} {label} ok ({expected['rows']} rows, values and types)")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

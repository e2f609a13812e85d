"""Canonical values shared by the interop scripts (mirrors `J` in tests/tests/interop.rs).

Integers as ints; floats as floats or "NaN"/"inf"/"-inf"; decimals as strings with the column's
scale; bytes, fixed-size bytes and uuids as lowercase hex; timestamps as integers in the column's
unit; dates as days since 1970-01-01; times and durations in microseconds; maps as sorted
[key, value] pairs; structs as dicts; nulls as None.
"""

import datetime as dt
import decimal
import math
import uuid

EPOCH_UTC = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
EPOCH = dt.datetime(1970, 1, 1)
DAY0 = dt.date(1970, 1, 1)
US = dt.timedelta(microseconds=1)

# Columns whose canonical form needs the column's meaning, not only the Python value.
# Timestamps in ms or s: Python datetimes give microseconds; divides every integer in the value
# (`stamps` is a list of {at, label} structs).
UNIT_DIVISOR = {"ts_ms": 1000, "ts_s": 1_000_000, "at_s": 1_000_000, "stamps": 1_000_000}
MAP_COLUMNS = {"map"}
INT_COLUMNS = {"at_ns"}  # read as raw integers by each reader (Python datetimes drop nanoseconds)


def is_missing(v):
    if v is None:
        return True
    try:
        import pandas as pd

        if v is pd.NA or v is pd.NaT:
            return True
    except ImportError:
        pass
    return False


def value(v):
    """Canonical form of one Python value as a reader returns it."""
    if is_missing(v):
        return None
    if hasattr(v, "tolist") and not isinstance(v, (bytes, str)):
        v = v.tolist()  # numpy scalars and arrays
        if is_missing(v):
            return None
    if isinstance(v, bool):
        return v
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        if math.isnan(v):
            return "NaN"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return v
    if isinstance(v, decimal.Decimal):
        return f"{v:f}"
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v).hex()
    if isinstance(v, uuid.UUID):
        return v.hex
    if isinstance(v, str):
        return v
    if isinstance(v, dt.datetime):
        if v.tzinfo is not None:
            return (v - EPOCH_UTC) // US
        return (v - EPOCH) // US
    if isinstance(v, dt.date):
        return (v - DAY0).days
    if isinstance(v, dt.time):
        return ((v.hour * 60 + v.minute) * 60 + v.second) * 1_000_000 + v.microsecond
    if isinstance(v, dt.timedelta):
        return v // US
    if isinstance(v, dict):
        return {k: value(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [value(x) for x in v]
    raise TypeError(f"no canonical form for {type(v).__name__}: {v!r}")


def map_value(v):
    """Maps come as dicts (DuckDB), lists of (key, value) tuples (pyarrow, pandas) or lists of
    {"key", "value"} structs (polars)."""
    if is_missing(v):
        return None
    return sorted([[value(k), value(x)] for k, x in map_pairs(v)], key=lambda p: p[0])


def map_pairs(v):
    """The (key, value) pairs of a non-null map in any of the shapes `map_value` accepts, raw."""
    if hasattr(v, "tolist"):
        v = v.tolist()
    if isinstance(v, dict) and set(v) == {"key", "value"} and isinstance(v["key"], list):
        pairs = list(zip(v["key"], v["value"]))  # DuckDB's {key: [...], value: [...]}
    elif isinstance(v, dict):
        pairs = list(v.items())
    else:
        pairs = []
        for entry in v:
            if isinstance(entry, dict):
                k, x = list(entry.values())
                pairs.append((k, x))
            else:
                pairs.append(tuple(entry))
    return pairs


def column(name, values):
    if name in MAP_COLUMNS:
        return [map_value(v) for v in values]
    out = [value(v) for v in values]
    div = UNIT_DIVISOR.get(name)
    if div:
        out = [divide(v, div) for v in out]
    return out


def divide(v, div):
    """Every integer inside a canonical value divided by `div` (floor)."""
    if isinstance(v, bool) or v is None or isinstance(v, (str, float)):
        return v
    if isinstance(v, int):
        return v // div
    if isinstance(v, list):
        return [divide(x, div) for x in v]
    if isinstance(v, dict):
        return {k: divide(x, div) for k, x in v.items()}
    return v


def same(a, b):
    """Equality of canonical values, with -0.0 distinct from 0.0."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, float) != isinstance(b, float):
        return False
    return a == b


def compare(expected, got_columns, skip=()):
    """Differences between expected["columns"] and got_columns (dict name -> canonical list)."""
    problems = []
    for name in expected["order"]:
        if name in skip:
            continue
        want = expected["columns"][name]
        if name not in got_columns:
            problems.append(f"column {name} missing")
            continue
        got = got_columns[name]
        if len(got) != len(want):
            problems.append(f"column {name}: {len(got)} rows, expected {len(want)}")
            continue
        for i, (g, w) in enumerate(zip(got, want)):
            if not same(g, w):
                problems.append(f"column {name} row {i}: got {g!r}, expected {w!r}")
                break
    return problems

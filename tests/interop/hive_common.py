"""Shared by hive_read.py and spark_hive.py: the expected rows of the partitioned stores that
tests/tests/hive_interop.rs writes, canonical values, row comparison and RESULT lines.

expected.json: {"trades": {"root": DIR, "rows": [...]}, "zips": {"root": DIR, "rows": [...]}}.
A trade row is {id, ts (microseconds), day ("YYYY-MM-DD"), symbol, venue, side, qty, price, live,
fee}, with the partition columns as an external Hive reader must show them: null for a null *and*
for an empty string (both are the directory `__HIVE_DEFAULT_PARTITION__`). A zip row is
{id, zip, weight}.

`sale_rows` are the rows hive_write.py and spark_hive.py write as Hive datasets for
`ParquetStore::import_dataset`.
"""

import datetime as dt
import decimal
import json
import math
import traceback

TRADE_COLUMNS = ["id", "ts", "day", "symbol", "venue", "side", "qty", "price", "live", "fee"]
ZIP_COLUMNS = ["id", "zip", "weight"]


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def value(v, nan_is_null=False):
    """A reader's Python value in canonical form: numpy scalars as Python values, Decimal
    (Spark's unsigned 64-bit integers) as int, dates as "YYYY-MM-DD"; NaN as null where a reader
    (pandas) turns null into NaN."""
    if v is None:
        return None
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        v = v.item()  # numpy scalar
    if isinstance(v, float) and math.isnan(v) and nan_is_null:
        return None
    if isinstance(v, decimal.Decimal):
        assert v == v.to_integral_value(), v
        return int(v)
    if isinstance(v, dt.datetime):
        raise TypeError(f"timestamps must be read as integer microseconds, got {v!r}")
    if isinstance(v, dt.date):
        return v.isoformat()
    return v


def same(a, b):
    """Equality of canonical values; ints and floats are told apart (7 is not "7", 1 not 1.0
    where a column is integer)."""
    if type(a) is not type(b):
        return False
    return a == b


def compare(got_rows, expected_rows, columns):
    """Rows (dicts) sorted by id against the expected ones; a list of problems (empty: equal)."""
    problems = []
    got_rows = sorted(got_rows, key=lambda r: r["id"])
    expected_rows = sorted(expected_rows, key=lambda r: r["id"])
    if len(got_rows) != len(expected_rows):
        problems.append(f"{len(got_rows)} rows, expected {len(expected_rows)}")
    for g, e in zip(got_rows, expected_rows):
        for c in columns:
            if c not in g:
                problems.append(f"column {c} missing (columns: {sorted(g)})")
                return problems
            if not same(g[c], e[c]):
                problems.append(f"id {e['id']} column {c}: got {g[c]!r}, expected {e[c]!r}")
                if len(problems) > 10:
                    return problems
    return problems


def check_types(got, want):
    """`got` and `want` map column -> type name; a list of problems."""
    return [f"{c}: type {got.get(c)!r}, expected {t!r}" for c, t in want.items() if got.get(c) != t]


class Results:
    """Prints one `RESULT <reader> <check> ok|FAIL ...` line per check."""

    def __init__(self):
        self.failed = False

    def run(self, reader, check, fn):
        try:
            problems, note = fn()
        except Exception as e:  # noqa: BLE001
            problems, note = [f"{type(e).__name__}: {e}", traceback.format_exc()], ""
        if problems:
            self.failed = True
            print(f"RESULT {reader} {check} FAIL")
            for p in problems:
                print(f"    {p}")
        else:
            print(f"RESULT {reader} {check} ok {note}".rstrip())


def null_note(rows):
    """What a reader shows for the null and empty-string partition values (as text)."""
    nulls = {c: sum(1 for r in rows if r.get(c) is None) for c in ("symbol", "venue")}
    empties = {c: sum(1 for r in rows if r.get(c) == "") for c in ("symbol", "venue")}
    return f"(nulls {nulls}, empty strings {empties})"


SALE_ZIPS = ["007", "010", "a b", "ü=x", "x/y", "50%+1"]
SALE_REGIONS = ["north", None, "", "007"]
SALE_PARTITION_BY = ["zip", "region", "year"]


def sale_rows(n):
    """{id, zip, region, year, amount, note, at (microseconds)}: zips that look like integers or
    need escaping, null and empty regions, a negative year, a timestamp before 1970."""
    out = []
    for i in range(n):
        out.append({
            "id": i * 1_000_003 - 7,
            "zip": SALE_ZIPS[i % len(SALE_ZIPS)],
            "region": SALE_REGIONS[i % len(SALE_REGIONS)],
            "year": [2026, 2025, -1][i % 3],
            "amount": i * 0.5 - 3.25,
            "note": None if i % 5 == 0 else f"note {i} ✓",
            "at": -1 if i == 1 else 1_767_571_200_000_000 + i * 3_600_000_001,
        })
    return out


def partition_dirs(root):
    """The directories under `root` holding `*.parquet` files, relative, sorted."""
    import os

    out = []
    for path, _dirs, files in os.walk(root):
        if any(f.endswith(".parquet") for f in files):
            out.append(os.path.relpath(path, root).replace(os.sep, "/"))
    return sorted(out)

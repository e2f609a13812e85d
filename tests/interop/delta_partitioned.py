"""Reads a partitioned Delta table written by DeltaStore with deltalake, polars and DuckDB's
delta_scan, checks every row value, and that a partition filter reads only that partition's files
(for tests/tests/interop.rs `delta::partitioned`; runs in .venv-delta).

    python delta_partitioned.py TABLE_PATH EXPECTED_JSON

EXPECTED_JSON: {"rows": [{"id", "symbol", "side", "price", "qty", "ts", "day"}...] sorted by id,
"symbol": S, "files_for_symbol": n}. `ts` is microseconds since the epoch, `day` YYYY-MM-DD.
Prints `ok <reader>` lines; exits 1 listing the differences otherwise.
"""

import datetime
import json
import sys


def canon(rows):
    out = []
    for r in rows:
        ts = r["ts"]
        if isinstance(ts, datetime.datetime):
            if ts.tzinfo is None:
                ts = ts.replace(tzinfo=datetime.timezone.utc)
            delta = ts - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
            ts = (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds
        day = r["day"]
        if isinstance(day, (datetime.date, datetime.datetime)):
            day = day.isoformat()[:10]
        out.append({
            "id": int(r["id"]), "symbol": r["symbol"], "side": r["side"],
            "price": float(r["price"]), "qty": None if r["qty"] is None else int(r["qty"]),
            "ts": int(ts), "day": day,
        })
    return sorted(out, key=lambda r: r["id"])


def check(what, got, want, problems):
    got = canon(got)
    if len(got) != len(want):
        problems.append(f"{what}: {len(got)} rows, expected {len(want)}")
        return
    for g, w in zip(got, want):
        if g != w:
            problems.append(f"{what}: got {g}, expected {w}")
            return
    print(f"ok {what} ({len(got)} rows)")


def main():
    path, expected_path = sys.argv[1], sys.argv[2]
    with open(expected_path, encoding="utf-8") as f:
        expected = json.load(f)
    want = expected["rows"]
    symbol = expected["symbol"]
    want_symbol = [r for r in want if r["symbol"] == symbol]
    problems = []

    from deltalake import DeltaTable
    dt = DeltaTable(path)
    check("deltalake", dt.to_pyarrow_table().to_pylist(), want, problems)
    files = dt.file_uris([("symbol", "=", symbol)])
    if len(files) != expected["files_for_symbol"]:
        problems.append(f"deltalake: partition filter kept {len(files)} files, "
                        f"expected {expected['files_for_symbol']}")
    else:
        print(f"ok deltalake partition pruning ({len(files)} files)")
    check("deltalake partition filter",
          dt.to_pyarrow_table(partitions=[("symbol", "=", symbol)]).to_pylist(),
          want_symbol, problems)

    import polars as pl
    check("polars", pl.read_delta(path).to_dicts(), want, problems)
    check("polars filter",
          pl.scan_delta(path).filter(pl.col("symbol") == symbol).collect().to_dicts(),
          want_symbol, problems)

    import duckdb
    from duckdb_extensions import import_extension
    import_extension("delta")
    con = duckdb.connect(config={"autoinstall_known_extensions": False,
                                 "autoload_known_extensions": False})
    con.execute("LOAD delta")
    con.execute("SET TimeZone = 'UTC'")
    uri = "file://" + path
    rel = con.execute(f"SELECT * FROM delta_scan('{uri}')")
    cols = [d[0] for d in rel.description]
    check("duckdb", [dict(zip(cols, r)) for r in rel.fetchall()], want, problems)
    q = symbol.replace("'", "''")
    rel = con.execute(f"SELECT * FROM delta_scan('{uri}') WHERE symbol = '{q}'")
    cols = [d[0] for d in rel.description]
    check("duckdb filter", [dict(zip(cols, r)) for r in rel.fetchall()], want_symbol, problems)

    if problems:
        print("\n".join(problems))
        sys.exit(1)


if __name__ == "__main__":
    main()

"""Reads one Delta table with deltalake (delta-rs), polars and DuckDB's delta extension, and prints
what each saw as one JSON object (for the DeltaStore interop tests; runs in .venv-delta).

    python delta_read.py TABLE_URI [--version N] [--sort-by COLUMN] [--storage-options JSON]

TABLE_URI: an absolute local path (DuckDB is given `file://PATH`), or `s3://bucket/prefix`.
Output (stdout, one line):

    {"deltalake": R, "polars": R, "duckdb": R}
    R = {"version": V, "schema": {column: type string as that reader reports it},
         "rows": [{column: canonical value}, ...]}      sorted by --sort-by (nulls first) if given
      | {"error": "Type: message"}                        that reader failed; the others still run

V is the table version the reader read: deltalake reports the version it resolved itself; polars
and DuckDB do not say which version they resolved, so V is the requested --version, or null when
reading the latest. DuckDB 1.5.5's delta_scan time-travels with its `version` named parameter
(`delta_scan('file:///t', version=0)`, checked), so --version applies to all three readers.

Canonical values are those of canon.py (the existing interop style, mirrored by `J` in
tests/tests/interop.rs): integers as ints; floats as floats or "NaN"/"inf"/"-inf"; decimals as
strings with the column's scale; binary as lowercase hex; timestamps as integer microseconds since
the Unix epoch (UTC); dates as days since 1970-01-01; lists as lists; structs as dicts; maps as
[key, value] pairs sorted by key; null as null. Nested values are canonicalised from the table's
Delta schema (read with deltalake): each reader returns maps in its own shape (pyarrow: lists of
(key, value) tuples; polars 2.1, which has a Map type: dicts; DuckDB: dicts), and a map dict must
not be taken for a struct. Without a readable schema, values fall back to untyped canon.value.

Object storage (--storage-options, a JSON object of strings, given as-is to deltalake and polars):
  moto (scripts/servers.sh) with deltalake 1.6.6 needs
    {"AWS_ENDPOINT_URL": "http://127.0.0.1:PORT", "AWS_ALLOW_HTTP": "true",
     "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1"}
  Path-style requests are deltalake's default with an endpoint. Writes need nothing more:
  deltalake 1.x commits on S3 with conditional puts (If-None-Match, which moto honours) and no
  longer needs "AWS_S3_ALLOW_UNSAFE_RENAME": "true" or a DynamoDB lock (checked: writes without it
  succeed on moto, and passing it is harmless); reads ignore it.
  DuckDB gets the same options as a temporary S3 secret (KEY_ID, SECRET, REGION, ENDPOINT
  host:port, URL_STYLE 'path', USE_SSL from the endpoint's scheme), which its delta extension
  hands to delta-kernel-rs; DuckDB ignores other option keys (no Azure secret is made).
"""

import argparse
import decimal
import json
import sys
import traceback
import urllib.parse

import canon


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("uri")
    p.add_argument("--version", type=int, default=None)
    p.add_argument("--sort-by", default=None)
    p.add_argument("--storage-options", default=None, type=json.loads)
    return p.parse_args()


# ------------------------------------------------------------------------------------------------
# Canonical values driven by the Delta schema (Spark-JSON types from the table's log)


def canonical(v, ty):
    """Canonical form of one value of Delta type `ty` (a type string or a nested type dict)."""
    if canon.is_missing(v):
        return None
    if isinstance(ty, dict):
        kind = ty["type"]
        if kind == "map":
            pairs = [[canonical(k, ty["keyType"]), canonical(x, ty["valueType"])]
                     for k, x in canon.map_pairs(v)]
            return sorted(pairs, key=lambda p: json.dumps(p[0], sort_keys=True))
        if kind == "array":
            if hasattr(v, "tolist"):
                v = v.tolist()
            return [canonical(x, ty["elementType"]) for x in v]
        if kind == "struct":
            return {f["name"]: canonical(v.get(f["name"]), f["type"]) for f in ty["fields"]}
    return canon.value(v)


def sort_key(v, ty):
    """Nulls first, then numbers (decimal strings too) by value, then anything else by its JSON
    text."""
    if v is None:
        return (0, 0, "")
    if isinstance(ty, str) and ty.startswith("decimal") and isinstance(v, str):
        return (1, decimal.Decimal(v), "")
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return (1, v, "")
    return (2, 0, json.dumps(v, sort_keys=True, ensure_ascii=False))


def sorted_rows(rows, sort_by, fields):
    if sort_by is None:
        return rows
    if rows and sort_by not in rows[0]:
        raise KeyError(f"--sort-by {sort_by}: no such column")
    ty = {f["name"]: f["type"] for f in fields or []}.get(sort_by)
    return sorted(rows, key=lambda r: sort_key(r[sort_by], ty))


def delta_fields(uri, version, storage_options):
    """The Delta schema's fields (from the log, through deltalake), or None if it cannot be read."""
    try:
        from deltalake import DeltaTable

        dt = DeltaTable(uri, version=version, storage_options=storage_options)
        return json.loads(dt.schema().to_json())["fields"]
    except Exception:  # noqa: BLE001 - the deltalake reader reports its own error
        return None


# ------------------------------------------------------------------------------------------------
# Readers


def read_deltalake(args, fields):
    from deltalake import DeltaTable

    dt = DeltaTable(args.uri, version=args.version, storage_options=args.storage_options)
    t = dt.to_pyarrow_table()
    schema = {f.name: str(f.type) for f in t.schema}
    return dt.version(), schema, t.to_pylist()


def read_polars(args, fields):
    import polars as pl

    df = pl.read_delta(args.uri, version=args.version, storage_options=args.storage_options)
    schema = {name: str(ty) for name, ty in df.schema.items()}
    return args.version, schema, df.to_dicts()


def duckdb_s3_secret(con, options):
    opts = {k.upper(): v for k, v in (options or {}).items()}
    if not any(k.startswith("AWS_") for k in opts):
        return
    params = {"TYPE": "s3", "URL_STYLE": "path"}
    for key, name in [("AWS_ACCESS_KEY_ID", "KEY_ID"), ("AWS_SECRET_ACCESS_KEY", "SECRET"),
                      ("AWS_SESSION_TOKEN", "SESSION_TOKEN"), ("AWS_REGION", "REGION")]:
        if key in opts:
            params[name] = opts[key]
    endpoint = opts.get("AWS_ENDPOINT_URL") or opts.get("AWS_ENDPOINT")
    if endpoint:
        parsed = urllib.parse.urlparse(endpoint)
        params["ENDPOINT"] = parsed.netloc
        params["USE_SSL"] = parsed.scheme == "https"
    body = ", ".join(f"{k} {quote(v)}" for k, v in params.items())
    con.execute(f"CREATE TEMPORARY SECRET delta_read_s3 ({body})")


def quote(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    return "'" + str(v).replace("'", "''") + "'"


def read_duckdb(args, fields):
    import duckdb
    from duckdb_extensions import import_extension

    # The extensions come from the duckdb-extension-* packages (offline); never from the network.
    import_extension("delta")
    import_extension("httpfs")
    con = duckdb.connect(config={"autoinstall_known_extensions": False,
                                 "autoload_known_extensions": False})
    con.execute("LOAD delta")
    con.execute("LOAD httpfs")
    con.execute("SET TimeZone = 'UTC'")
    duckdb_s3_secret(con, args.storage_options)
    uri = args.uri
    if uri.startswith("/"):
        uri = "file://" + uri
    scan = f"delta_scan({quote(uri)}" + (f", version={args.version})" if args.version is not None else ")")
    rel = con.sql(f"SELECT * FROM {scan}")
    schema = dict(zip(rel.columns, (str(t) for t in rel.types)))
    records = [dict(zip(rel.columns, row)) for row in rel.fetchall()]
    return args.version, schema, records


def main():
    args = parse_args()
    fields = delta_fields(args.uri, args.version, args.storage_options)
    out = {}
    for name, reader in [("deltalake", read_deltalake), ("polars", read_polars), ("duckdb", read_duckdb)]:
        try:
            version, schema, records = reader(args, fields)
            rows = [{k: canonical(v, t) for k, v, t in typed(r, fields)} for r in records]
            out[name] = {"version": version, "schema": schema, "rows": sorted_rows(rows, args.sort_by, fields)}
        except Exception as e:  # noqa: BLE001 - one failing reader must not hide the others
            print(f"delta_read.py: {name} failed:\n{traceback.format_exc()}", file=sys.stderr)
            out[name] = {"error": f"{type(e).__name__}: {e}"}
    json.dump(out, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")


def typed(record, fields):
    """(column, value, Delta type or None) for each column of a record."""
    types = {f["name"]: f["type"] for f in fields} if fields is not None else {}
    return [(k, v, types.get(k)) for k, v in record.items()]


if __name__ == "__main__":
    main()

"""Writes a Delta table of the shape of `soa_fixtures::Order` (tests/fixtures/src/lib.rs) with
deltalake (delta-rs, Python), for the test that loads a deltalake-written table into `Order`
(runs in .venv-delta).

    python delta_write.py TABLE_PATH [--storage-options JSON]

TABLE_PATH: a local path (must not hold a table yet) or an s3:// URI with storage options as in
delta_read.py. Version 0 holds 3 rows (`write_deltalake`), version 1 appends 2 rows
(`mode="append"`). Prints the 5 rows, in write order, as one JSON array of canonical rows
(canon.py: decimals as strings, null as null); exits 1 if deltalake does not read back exactly
those rows at version 1.

Columns: the field names of `Order`, with the Delta type a Delta user would choose for the Arrow
type `#[derive(ToArrow)]` gives (Delta has no unsigned integers and no dictionaries):
    order_id     u64          UInt64                    -> decimal(20,0)   not null
    customer_id  u32          UInt32                    -> long            not null
    symbol       String       Utf8                      -> string          not null
    side         Side (enum)  Dictionary(Int8, Utf8)    -> string          not null  ("Buy"/"Sell")
    quantity     u32          UInt32                    -> long            not null
    unit_price   f64          Float64                   -> double          not null
    filled       bool         Boolean                   -> boolean         not null
    note         Option<String> Utf8                    -> string          nullable
    ts_micros    i64          Int64                     -> long            not null
(`ts_micros` is a plain i64 in `Order`, not a timestamp type, so it stays a long.)
The values reach the edges of the Rust types: u64::MAX in order_id, u32::MAX in customer_id and
quantity, a negative ts_micros; `note` is null once, empty once, and unicode twice.
"""

import argparse
import decimal
import json
import sys

import pyarrow as pa
from deltalake import DeltaTable, write_deltalake

import canon

SCHEMA = pa.schema([
    pa.field("order_id", pa.decimal128(20, 0), nullable=False),
    pa.field("customer_id", pa.int64(), nullable=False),
    pa.field("symbol", pa.string(), nullable=False),
    pa.field("side", pa.string(), nullable=False),
    pa.field("quantity", pa.int64(), nullable=False),
    pa.field("unit_price", pa.float64(), nullable=False),
    pa.field("filled", pa.bool_(), nullable=False),
    pa.field("note", pa.string(), nullable=True),
    pa.field("ts_micros", pa.int64(), nullable=False),
])

U64_MAX = 2**64 - 1
U32_MAX = 2**32 - 1


def row(order_id, customer_id, symbol, side, quantity, unit_price, filled, note, ts_micros):
    return {"order_id": decimal.Decimal(order_id), "customer_id": customer_id, "symbol": symbol,
            "side": side, "quantity": quantity, "unit_price": unit_price, "filled": filled,
            "note": note, "ts_micros": ts_micros}


VERSION_0 = [
    row(0, 0, "AAPL", "Buy", 1, 189.25, True, "rush 🚀", 1_700_000_000_000_000),
    row(1, U32_MAX, "Société", "Sell", U32_MAX, 0.01, False, None, 1_700_000_000_001_000),
    row(2, 42, "日本株", "Buy", 0, 99999.99, True, "", -1_000_000),
]
VERSION_1 = [
    row(3, 9_999, "MSFT", "Sell", 500, 1234.5, False, "note 3 — ünïcödé", 0),
    row(U64_MAX, 1, "NVDA", "Buy", 1000, -0.5, True, "last", 1_700_000_000_004_000),
]


def canonical(rows):
    return [{k: canon.value(v) for k, v in r.items()} for r in rows]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("table")
    p.add_argument("--storage-options", default=None, type=json.loads)
    args = p.parse_args()
    so = args.storage_options

    write_deltalake(args.table, pa.Table.from_pylist(VERSION_0, schema=SCHEMA), storage_options=so)
    write_deltalake(args.table, pa.Table.from_pylist(VERSION_1, schema=SCHEMA), mode="append",
                    storage_options=so)

    expected = canonical(VERSION_0 + VERSION_1)
    dt = DeltaTable(args.table, storage_options=so)
    got = sorted(canonical(dt.to_pyarrow_table().to_pylist()), key=lambda r: int(r["order_id"]))
    if dt.version() != 1 or got != expected:
        print(f"delta_write.py: read back version {dt.version()}, rows {got}, expected version 1, "
              f"rows {expected}", file=sys.stderr)
        sys.exit(1)
    json.dump(expected, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()

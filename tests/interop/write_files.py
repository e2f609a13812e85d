"""Python -> Rust: write the rows of SOURCE (a Parquet file written by Rust) with pyarrow,
polars and DuckDB, plus variants a Rust reader must accept (columns in another order, extra
columns, Large and View string/binary/list types).

    python write_files.py SOURCE.parquet OUT_DIR

Prints one `FILE <name> <what>` line per file written.
"""

import os
import sys

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.ipc
import pyarrow.parquet as pq


def with_types(table, convert):
    """`table` with each top-level field's type replaced by `convert(type)` (or kept)."""
    fields = []
    for f in table.schema:
        fields.append(f.with_type(convert(f.type) or f.type))
    return table.cast(pa.schema(fields, metadata=table.schema.metadata))


def large(ty):
    if ty == pa.string():
        return pa.large_string()
    if ty == pa.binary():
        return pa.large_binary()
    if pa.types.is_list(ty):
        return pa.large_list(ty.value_field)
    return None


def view(ty):
    if ty == pa.string():
        return pa.string_view()
    if ty == pa.binary():
        return pa.binary_view()
    return None


def write_ipc(table, path):
    with pa.ipc.new_file(path, table.schema) as w:
        w.write_table(table)


def main():
    source, out = sys.argv[1], sys.argv[2]
    # One chunk per column, one dictionary per column (an IPC file allows no replacement).
    table = pq.read_table(source).unify_dictionaries().combine_chunks()

    def emit(name, what):
        assert os.path.getsize(os.path.join(out, name)) > 0
        print(f"FILE {name} {what}")

    p = lambda name: os.path.join(out, name)  # noqa: E731

    pq.write_table(table, p("pyarrow.parquet"))
    emit("pyarrow.parquet", f"pyarrow {pa.__version__} write_table")
    write_ipc(table, p("pyarrow.arrow"))
    emit("pyarrow.arrow", "pyarrow IPC file")

    reordered = table.select(list(reversed(table.column_names)))
    pq.write_table(reordered, p("pyarrow-reordered.parquet"))
    emit("pyarrow-reordered.parquet", "columns in reverse order")

    extra = table.append_column("extra_note", pa.array(["x"] * table.num_rows))
    extra = extra.add_column(0, "extra_first", pa.array(range(table.num_rows), pa.int64()))
    pq.write_table(extra, p("pyarrow-extra-columns.parquet"))
    emit("pyarrow-extra-columns.parquet", "two extra columns (first and last)")

    large_table = with_types(table, large)
    pq.write_table(large_table, p("pyarrow-large-types.parquet"))
    emit("pyarrow-large-types.parquet", "large_string / large_binary / large_list")
    write_ipc(large_table, p("pyarrow-large-types.arrow"))
    emit("pyarrow-large-types.arrow", "large_string / large_binary / large_list")

    view_table = with_types(table, view)
    pq.write_table(view_table, p("pyarrow-view-types.parquet"))
    emit("pyarrow-view-types.parquet", "string_view / binary_view")
    write_ipc(view_table, p("pyarrow-view-types.arrow"))
    emit("pyarrow-view-types.arrow", "string_view / binary_view")

    df = pl.from_arrow(table)
    df.write_parquet(p("polars.parquet"))
    emit("polars.parquet", f"polars {pl.__version__} write_parquet")
    df.write_ipc(p("polars.arrow"))
    emit("polars.arrow", "polars write_ipc")

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    # Parquet has no duration type and DuckDB writes INTERVAL, which Parquet cannot hold when
    # negative: the duration column goes out as BIGINT microseconds (the Rust test reads it so).
    i = table.schema.get_field_index("delta")
    con.register("t", table.set_column(i, "delta", table["delta"].cast(pa.int64())))
    con.execute(f"COPY (SELECT * FROM t) TO '{p('duckdb.parquet')}' (FORMAT parquet)")
    emit("duckdb.parquet", f"duckdb {duckdb.__version__} COPY ... TO (FORMAT parquet); delta as BIGINT us")


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# The one test command (README): prepares the Python interop environment, then runs every test.
#   scripts/test.sh            # from the repository root, on a fresh clone
set -euo pipefail
cd "$(dirname "$0")/.."

# Builds go where every other documented command builds: cargo's default ./target (unless
# CARGO_TARGET_DIR says otherwise, as CI does), so `cargo run --release --features duckdb --bin
# sql_demo` right after this script reuses its DuckDB build instead of compiling it again.

# A pinned venv from a requirements file, (re)created when missing or when the file changed.
setup_venv() {
    local venv="$1" req="$2"
    if [ ! -x "$venv/bin/python" ] || ! cmp -s "$req" "$venv/.requirements.txt"; then
        echo "==> setting up $venv from $req"
        python3 -m venv --clear "$venv"
        "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req"
        cp "$req" "$venv/.requirements.txt"
    fi
}

# Real Python readers (pyarrow, polars, pandas, duckdb) for the interop checks, pinned.
venv="${SOA_VENV:-$PWD/.venv}"
setup_venv "$venv" tests/interop/requirements.txt
export SOA_PYTHON="$venv/bin/python"
# Spark (pyspark bundles its jars, ~491 MB; needs Java 17+) in a venv of its own.
spark_venv="${SOA_SPARK_VENV:-$PWD/.venv-spark}"
setup_venv "$spark_venv" tests/interop/requirements-spark.txt
export SOA_SPARK_PYTHON="$spark_venv/bin/python"
# Interop tests fail (instead of skipping) when a Python reader, pyspark or Java is missing.
export SOA_INTEROP=1

echo "==> cargo test"
cargo test --workspace --locked

# SQL over the stores (feature `duckdb`, off by default): DuckDB is compiled from its bundled C++
# sources by the `duckdb` crate, once per target directory: 40-60 minutes on two cores the first
# time, cached afterwards. Release profile, so the same build also serves `sql_demo`/`sql_bench`.
echo "==> cargo test --release --features duckdb (SQL)"
cargo test --release -p soa-tests --features duckdb --test sql --locked

# Delta Lake (DeltaStore) against local object stores. The Delta readers (deltalake, polars, DuckDB's
# delta extension, which pins its own duckdb) and moto's S3 server live in a venv of their own;
# scripts/servers.sh starts moto (S3) and Azurite (Azure Blob, from npm) on free ports of
# 127.0.0.1, exports SOA_TEST_S3_* / AWS_* / SOA_TEST_AZURE_*, and stops both on exit.
delta_venv="${SOA_DELTA_VENV:-$PWD/.venv-delta}"
setup_venv "$delta_venv" tests/interop/requirements-delta.txt
export SOA_DELTA_PYTHON="$delta_venv/bin/python"
source scripts/servers.sh
echo "==> cargo test --features delta,aws,azure,gcp (Delta: local disk, memory, S3 on moto, Azurite, Delta readers, Spark)"
delta_features="delta,aws,azure,gcp"
cargo test -p soa-tests --features "$delta_features" --locked --test delta --test delta_reliability --test predicates --test partition --test tiered
cargo test -p soa-tests --features "$delta_features" --locked --test conformance delta_store
cargo test -p soa-tests --features "$delta_features" --locked --test interop delta::
cargo test -p soa-runtime --features "$delta_features" --locked --lib store::delta

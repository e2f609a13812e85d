# Local object-store servers for the Delta tests: moto (S3) and Azurite (Azure Blob), on free ports
# of 127.0.0.1, each with an empty `soa-test` bucket/container. Sourced by scripts/test.sh (from the
# repository root, after the Delta venv exists):
#
#   export SOA_DELTA_PYTHON=$PWD/.venv-delta/bin/python   # moto_server, boto3, azure-storage-blob
#   source scripts/servers.sh
#
# Exports (for the Rust tests and tests/interop/delta_*.py):
#   SOA_TEST_S3_ENDPOINT=http://127.0.0.1:PORT   SOA_TEST_S3_BUCKET=soa-test
#   AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
#     moto accepts any signed request (any key, region us-east-1) and refuses unsigned ones.
#     object_store: AmazonS3Builder::new().with_endpoint(SOA_TEST_S3_ENDPOINT).with_allow_http(true)
#     .with_bucket_name(SOA_TEST_S3_BUCKET) + the keys and region (path-style requests are the
#     default when an endpoint is set without with_virtual_hosted_style_request). The endpoint is
#     deliberately not exported as AWS_ENDPOINT_URL, which every AWS client would pick up.
#   SOA_TEST_AZURE_ENDPOINT=http://127.0.0.1:PORT/devstoreaccount1   SOA_TEST_AZURE_CONTAINER=soa-test
#     object_store: MicrosoftAzureBuilder::new().with_use_emulator(true)
#     .with_endpoint(SOA_TEST_AZURE_ENDPOINT).with_container_name(SOA_TEST_AZURE_CONTAINER)
#     (with_use_emulator supplies the devstoreaccount1 account and its well-known key and allows
#     http; without with_endpoint it would assume Azurite's default port 10000).
#
# Both servers run in process groups of their own and are stopped on EXIT (trap; INT and TERM exit
# so that the EXIT trap runs), also when a test fails. Logs go to a temporary directory, kept (and
# its path printed) when the shell exits with an error. `soa_stop_servers` stops them by hand.
#
# Azurite comes from npm, pinned in tests/servers/package-lock.json (azurite 3.37.0), installed
# with `npm ci` when node_modules is missing or the lock file changed.

: "${SOA_DELTA_PYTHON:?SOA_DELTA_PYTHON must point at the Delta venv python (scripts/test.sh)}"

SOA_SERVERS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SOA_SERVERS_LOGS="$(mktemp -d -t soa-servers.XXXXXX)"
SOA_SERVER_PGIDS=()
# Azurite's well-known development account (public, documented by Microsoft).
SOA_AZURITE_ACCOUNT=devstoreaccount1
SOA_AZURITE_KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

# Starts "$@" in a process group of its own (job control on for the `&`), output to log file $1.
# Sets SOA_SPAWNED to its pid, which is also its process group id.
soa_spawn() {
    local log="$1" had_m=0
    shift
    [[ $- == *m* ]] && had_m=1
    set -m
    "$@" >"$log" 2>&1 </dev/null &
    SOA_SPAWNED=$!
    ((had_m)) || set +m
    SOA_SERVER_PGIDS+=("$SOA_SPAWNED")
}

soa_stop_servers() {
    local status=$? pgid
    for pgid in "${SOA_SERVER_PGIDS[@]}"; do
        kill -TERM -- "-$pgid" 2>/dev/null || true
    done
    for pgid in "${SOA_SERVER_PGIDS[@]}"; do
        # Bounded wait (5 s), then SIGKILL whatever is left of the group.
        for _ in $(seq 50); do
            kill -0 -- "-$pgid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL -- "-$pgid" 2>/dev/null || true
        wait "$pgid" 2>/dev/null || true
    done
    SOA_SERVER_PGIDS=()
    if [ -d "$SOA_SERVERS_LOGS" ]; then
        if [ "$status" -ne 0 ]; then
            echo "==> servers stopped; logs kept in $SOA_SERVERS_LOGS" >&2
        else
            rm -rf "$SOA_SERVERS_LOGS"
        fi
    fi
    return "$status"
}

# Two distinct free TCP ports on 127.0.0.1 (bound and released: another process could take one in
# between, which would show as a server that does not start).
soa_free_ports() {
    "$SOA_DELTA_PYTHON" - <<'EOF'
import socket
socks = []
for _ in range(2):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

# Waits (at most $3 seconds) until 127.0.0.1:$2 accepts connections while pid $1 lives.
soa_wait_port() {
    local pid="$1" port="$2" limit="$3" name="$4" log="$5" i
    for ((i = 0; i < limit * 10; i++)); do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "error: $name exited before listening on 127.0.0.1:$port; its log ($log):" >&2
            cat "$log" >&2
            return 1
        fi
        if "$SOA_DELTA_PYTHON" -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.5).close()' "$port" 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    echo "error: $name did not listen on 127.0.0.1:$port within ${limit}s; its log ($log):" >&2
    cat "$log" >&2
    return 1
}

soa_start_servers() {
    local ports s3_port az_port venv_bin servers_dir="$SOA_SERVERS_ROOT/tests/servers"
    venv_bin="$(dirname "$SOA_DELTA_PYTHON")"

    # Azurite from the committed lock file; reinstalled only when the lock file changed.
    if ! cmp -s "$servers_dir/package-lock.json" "$servers_dir/node_modules/.soa-package-lock.json"; then
        echo "==> npm ci (tests/servers: azurite)"
        # --ignore-scripts: azurite needs no install script (protobufjs' postinstall only warns).
        (cd "$servers_dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) || return 1
        cp "$servers_dir/package-lock.json" "$servers_dir/node_modules/.soa-package-lock.json"
    fi

    ports="$(soa_free_ports)" || return 1
    read -r s3_port az_port <<<"$ports"

    echo "==> starting moto (S3) on 127.0.0.1:$s3_port and Azurite (blob) on 127.0.0.1:$az_port (logs: $SOA_SERVERS_LOGS)"
    soa_spawn "$SOA_SERVERS_LOGS/moto.log" "$venv_bin/moto_server" -H 127.0.0.1 -p "$s3_port"
    local moto_pid=$SOA_SPAWNED
    soa_spawn "$SOA_SERVERS_LOGS/azurite.log" "$servers_dir/node_modules/.bin/azurite-blob" \
        --blobHost 127.0.0.1 --blobPort "$az_port" --skipApiVersionCheck --inMemoryPersistence \
        --silent
    local azurite_pid=$SOA_SPAWNED

    soa_wait_port "$moto_pid" "$s3_port" 60 moto "$SOA_SERVERS_LOGS/moto.log" || return 1
    soa_wait_port "$azurite_pid" "$az_port" 60 Azurite "$SOA_SERVERS_LOGS/azurite.log" || return 1

    export SOA_TEST_S3_ENDPOINT="http://127.0.0.1:$s3_port"
    export SOA_TEST_S3_BUCKET=soa-test
    export AWS_ACCESS_KEY_ID=test
    export AWS_SECRET_ACCESS_KEY=test
    export AWS_REGION=us-east-1
    export SOA_TEST_AZURE_ENDPOINT="http://127.0.0.1:$az_port/$SOA_AZURITE_ACCOUNT"
    export SOA_TEST_AZURE_CONTAINER=soa-test

    # The bucket and the container (the servers answer now; a failure here is a real error).
    SOA_AZURITE_KEY="$SOA_AZURITE_KEY" "$SOA_DELTA_PYTHON" - <<'EOF' || { echo "error: could not create the bucket/container; logs in $SOA_SERVERS_LOGS" >&2; cat "$SOA_SERVERS_LOGS"/*.log >&2; return 1; }
import os

import boto3
from azure.storage.blob import BlobServiceClient

s3 = boto3.client("s3", endpoint_url=os.environ["SOA_TEST_S3_ENDPOINT"], region_name="us-east-1",
                  aws_access_key_id="test", aws_secret_access_key="test")
s3.create_bucket(Bucket=os.environ["SOA_TEST_S3_BUCKET"])

conn = ("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
        f"AccountKey={os.environ['SOA_AZURITE_KEY']};"
        f"BlobEndpoint={os.environ['SOA_TEST_AZURE_ENDPOINT']};")
BlobServiceClient.from_connection_string(conn).create_container(os.environ["SOA_TEST_AZURE_CONTAINER"])
EOF
    echo "==> servers ready: S3 $SOA_TEST_S3_ENDPOINT (bucket $SOA_TEST_S3_BUCKET), Azure $SOA_TEST_AZURE_ENDPOINT (container $SOA_TEST_AZURE_CONTAINER)"
}

trap soa_stop_servers EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
soa_start_servers || return 1

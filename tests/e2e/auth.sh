#!/usr/bin/env bash
# e2e: the shared-secret token. A server started with REMORA_TOKEN refuses a
# client with a wrong or missing token, with a clear error on both sides that
# says which, and serves the one with the right token; tokens over 127 bytes
# are refused at start by both sides; a server without a token tells a client
# that sends one.
#   auth.sh tcp|shm PROGRAM   (PROGRAM: a driver-API test program)
set -euo pipefail
transport=$1
program=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib/server.sh
source "$here/../../scripts/lib/server.sh"
build_dir=${RM_BUILD_DIR:?}
work=$(mktemp -d "${TMPDIR:-/tmp}/remora-auth.XXXXXX")
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() { rm_server_stop; rm -rf -- "$work"; }
trap cleanup EXIT

REMORA_TOKEN=s3cret rm_server_start_scheme "$transport" "$work/server.log"
export REMORA_SERVER=$RM_SERVER_URL LD_LIBRARY_PATH=$build_dir/lib


# $1: the token the client sends; $2: what its error must say.
expect_refused() {
    if REMORA_TOKEN=$1 "$program" >"$work/out" 2>"$work/err"; then
        rm_fail "a client with token '$1' was served"
    fi
    grep -q "$2" "$work/err" || { cat "$work/err" >&2; rm_fail "client error does not say '$2'"; }
}

expect_refused wrong "authentication failed: wrong REMORA_TOKEN"
expect_refused "" "authentication failed: missing REMORA_TOKEN: this server requires one"
grep -q "rejected a client: authentication failed: wrong REMORA_TOKEN" "$work/server.log" ||
    rm_fail "server log does not say why"
REMORA_TOKEN=s3cret "$program" >"$work/out" 2>"$work/err" || { cat "$work/err" >&2; rm_fail "right token refused"; }
grep -q '^PASS ' "$work/out" || rm_fail "program did not pass with the right token"

# Tokens longer than the handshake carries (127 bytes) are refused at start,
# on both sides, instead of being cut on one and never matching.
long=$(printf 'x%.0s' $(seq 128))
expect_refused "$long" "REMORA_TOKEN is 128 bytes long; tokens are at most 127 bytes"
if REMORA_TOKEN=$long "$build_dir/bin/remora-server" --backend fake --listen tcp://127.0.0.1:0 \
    2>"$work/err" >/dev/null; then
    rm_fail "a server with a 128-byte token started"
fi
grep -q "is 128 bytes long; tokens are at most 127 bytes" "$work/err" || rm_fail "server does not say the token is too long"

# A server without a token says so to a client that sends one.
rm_server_start_scheme "$transport" "$work/server.log"
REMORA_SERVER=$RM_SERVER_URL
expect_refused s3cret "the client sent a REMORA_TOKEN, but this server has none"
echo "PASS auth"

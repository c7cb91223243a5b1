#!/usr/bin/env bash
# e2e: ucx:// against the other schemes. A program passes over ucx:// (with a
# token too); a tcp:// client at a ucx:// listener and a ucx:// client at a
# tcp:// one each fail with an error that says which scheme to use, within
# the connect deadline; `remora status` answers at a ucx:// address.
#   ucx.sh PROGRAM   (PROGRAM: a driver-API test program that prints PASS)
set -euo pipefail
program=$1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib/server.sh
source "$here/../../scripts/lib/server.sh"
build_dir=${RM_BUILD_DIR:?}
work=$(mktemp -d "${TMPDIR:-/tmp}/remora-ucx.XXXXXX")
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() { rm_server_stop; rm -rf -- "$work"; }
trap cleanup EXIT
export LD_LIBRARY_PATH=$build_dir/lib REMORA_CONNECT_TIMEOUT=5

fail() { echo "FAIL ucx: $*" >&2; rm_server_print_log all; exit 1; }

# $1: the server's scheme; the rest: more server options. Sets port.
start() {
    local scheme=$1
    shift
    rm_server_stop
    rm_server_start "$build_dir/bin/remora-server" "$work/server.log" --backend fake \
        --listen "$scheme://127.0.0.1:0" "$@"
    port=$(rm_server_address "$scheme" | sed 's/.*://')
}

# $1: the address; $2: the message the client must print.
expect_refused() {
    local addr=$1 want=$2
    if REMORA_SERVER=$addr "$program" >"$work/out" 2>"$work/err"; then
        fail "$addr: passed, want refused"
    fi
    grep -qF "$want" "$work/err" || { cat "$work/err" >&2; fail "$addr: no '$want'"; }
    echo "ok  $addr refused: $want"
}

REMORA_TOKEN=secret-ucx start ucx
REMORA_SERVER=ucx://127.0.0.1:$port REMORA_TOKEN=secret-ucx "$program" >"$work/out" 2>"$work/err" ||
    { cat "$work/err" >&2; fail "program over ucx:// with a token"; }
grep -q '^PASS ' "$work/out" || fail "no PASS over ucx://"
echo "ok  program over ucx:// with a token"
REMORA_TOKEN=secret-ucx "$build_dir/bin/remora" status --server "ucx://127.0.0.1:$port" >"$work/status" 2>&1 ||
    { cat "$work/status" >&2; fail "remora status at ucx://"; }
echo "ok  remora status at ucx://"
REMORA_TOKEN=secret-ucx expect_refused "tcp://127.0.0.1:$port" "takes UCX clients only: connect with ucx://"

start tcp
expect_refused "ucx://127.0.0.1:$port" "does not speak UCX: connect with tcp://"
echo "PASS ucx"

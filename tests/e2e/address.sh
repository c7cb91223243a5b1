#!/usr/bin/env bash
# e2e: how the client finds the server. REMOTE_GPU_ADDRESS (Cricket's
# variable) works when REMORA_SERVER is unset; a malformed address and an
# address where no server listens fail at once with a clear message.
#   address.sh PROGRAM   (PROGRAM: a driver-API test program)
set -euo pipefail
program=$1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib/server.sh
source "$here/../../scripts/lib/server.sh"
build_dir=${RM_BUILD_DIR:?}
work=$(mktemp -d "${TMPDIR:-/tmp}/remora-address.XXXXXX")
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() { rm_server_stop; rm -rf -- "$work"; }
trap cleanup EXIT
fail() { echo "FAIL address: $*" >&2; cat "$work/err" >&2 2>/dev/null || true; exit 1; }

rm_server_start "$build_dir/bin/remora-server" "$work/server.log" --backend fake --listen tcp://127.0.0.1:0
addr=$(rm_server_address tcp)
export LD_LIBRARY_PATH=$build_dir/lib
unset REMORA_SERVER

REMOTE_GPU_ADDRESS=${addr#tcp://} "$program" >"$work/out" 2>"$work/err" || fail "REMOTE_GPU_ADDRESS=${addr#tcp://} refused"
grep -q '^PASS ' "$work/out" || fail "program did not pass through REMOTE_GPU_ADDRESS"

if REMORA_SERVER=ucx://nowhere timeout 20 "$program" >"$work/out" 2>"$work/err"; then fail "a bad address worked"; fi
grep -q "bad server address" "$work/err" || fail "no clear message for a bad address"

port=${addr##*:}
rm_server_stop
if REMORA_SERVER=tcp://127.0.0.1:$port timeout 20 "$program" >"$work/out" 2>"$work/err"; then
    fail "ran with no server"
fi
grep -q "cannot reach remora server" "$work/err" || fail "no clear message when no server listens"
echo "PASS address"

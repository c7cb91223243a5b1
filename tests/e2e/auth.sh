#!/usr/bin/env bash
# e2e: the shared-secret token. A server started with REMORA_TOKEN refuses a
# client with a wrong or missing token, with a clear error on both sides, and
# serves the one with the right token.
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

listen=tcp://127.0.0.1:0
[[ $transport == shm ]] && listen=$(rm_shm_address auth)
REMORA_TOKEN=s3cret rm_server_start "$build_dir/bin/remora-server" "$work/server.log" \
    --backend fake --listen "$listen"
export REMORA_SERVER LD_LIBRARY_PATH=$build_dir/lib
REMORA_SERVER=$(rm_server_address "$transport")

fail() { echo "FAIL auth: $*" >&2; rm_server_print_log all; exit 1; }

for token in wrong ""; do
    if REMORA_TOKEN=$token "$program" >"$work/out" 2>"$work/err"; then
        fail "a client with token '$token' was served"
    fi
    grep -q "authentication failed" "$work/err" || { cat "$work/err" >&2; fail "client error does not say why"; }
done
grep -q "rejected a client: authentication failed" "$work/server.log" || fail "server log does not say why"
REMORA_TOKEN=s3cret "$program" >"$work/out" 2>"$work/err" || { cat "$work/err" >&2; fail "right token refused"; }
grep -q '^PASS ' "$work/out" || fail "program did not pass with the right token"
echo "PASS auth"

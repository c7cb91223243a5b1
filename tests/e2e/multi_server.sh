#!/usr/bin/env bash
# e2e: several servers in REMORA_SERVER. Run by with_server.sh, whose server
# is the first; this starts a second fake server (shm) and runs each PROGRAM
# with REMORA_SERVER=first,second, so that it sees both servers' GPUs. A
# PROGRAM may be followed by arguments up to a lone ';'. Then bad lists: a
# bad address and too many servers are clear errors at cuInit.
#
#   multi_server.sh PROGRAM [ARGS...] [';' PROGRAM [ARGS...]]...
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib/server.sh
source "$here/../../scripts/lib/server.sh"

first=$REMORA_SERVER
query=""
log_dir=$(mktemp -d "${TMPDIR:-/tmp}/remora-multi.XXXXXX")
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
    rm_server_stop
    rm -rf -- "$log_dir"
}
trap cleanup EXIT

rm_server_start "$RM_BUILD_DIR/bin/remora-server" "$log_dir/second.log" \
    --backend fake --listen "$(rm_shm_address multi)" || exit 1
second=$(rm_server_address shm)
export REMORA_SERVER="$first,$second"
echo "multi_server: REMORA_SERVER=$REMORA_SERVER"

cmd=()
run() {
    ((${#cmd[@]})) || return 0
    [[ -n $query ]] || query=${cmd[0]}
    if ! "${cmd[@]}"; then
        echo "multi_server: ${cmd[*]} failed over $REMORA_SERVER" >&2
        rm_server_print_log 60
        exit 1
    fi
    cmd=()
}
for arg in "$@"; do
    if [[ $arg == ";" ]]; then run; else cmd+=("$arg"); fi
done
run

# A list with a bad address, and one with more servers than a client takes.
expect_refused() {
    local list=$1 want=$2 out
    if out=$(REMORA_SERVER=$list "$query" 2>&1); then
        echo "multi_server: REMORA_SERVER=$list was accepted" >&2
        exit 1
    fi
    grep -q -- "$want" <<<"$out" || {
        echo "multi_server: REMORA_SERVER=$list: no '$want' in:" >&2
        echo "$out" >&2
        exit 1
    }
}
expect_refused "$first,bogus://x" "unknown scheme"
expect_refused "$first,$first,$first,$first,$first,$first,$first,$first,$first" "more than 8 addresses"
echo "multi_server: bad lists refused"

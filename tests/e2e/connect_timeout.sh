#!/usr/bin/env bash
# e2e: a server that accepts and never answers (silent_server.py). The client
# fails its handshake within REMORA_CONNECT_TIMEOUT, naming the server and
# the deadline, over TCP and over a Unix socket (shm); the config file's
# [client] connect-timeout does the same through remora run.
#   connect_timeout.sh PROGRAM   (PROGRAM: a driver-API test program)
set -euo pipefail
program=$1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build_dir=${RM_BUILD_DIR:?}
work=$(mktemp -d "${TMPDIR:-/tmp}/remora-connect-timeout.XXXXXX")
silent_pid=""
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
    [[ -z $silent_pid ]] || kill "$silent_pid" 2>/dev/null || true
    rm -rf -- "$work"
}
trap cleanup EXIT
export LD_LIBRARY_PATH=$build_dir/lib REMORA_CONFIG=/dev/null

fail() { echo "FAIL connect_timeout: $*" >&2; cat "$work/err" >&2 || true; exit 1; }

start_silent() {
    rm -f "$work/address"
    python3 "$here/silent_server.py" "$1" "$work/address" "$work/s.sock" &
    silent_pid=$!
    for _ in $(seq 100); do [[ -f $work/address ]] && break; sleep 0.1; done
    [[ -f $work/address ]] || fail "silent server did not start"
    address=$(cat "$work/address")
}

stop_silent() { kill "$silent_pid" 2>/dev/null || true; wait "$silent_pid" 2>/dev/null || true; silent_pid=""; }

# $1: what to run it with; the rest: the command. Must fail (not hang) with
# the message naming $address and a 1 s deadline.
expect_deadline() {
    local rc=0
    timeout 30 "$@" >"$work/out" 2>"$work/err" || rc=$?
    ((rc != 124)) || fail "$* hung (still waiting after 30 s)"
    ((rc != 0)) || fail "$* succeeded against a silent server"
    grep -q "remora server $address accepted the connection but did not answer the handshake within 1 s" \
        "$work/err" || fail "$*: no clear error naming $address and the deadline"
}

for kind in tcp unix; do
    start_silent "$kind"
    REMORA_SERVER=$address REMORA_CONNECT_TIMEOUT=1 expect_deadline env "$program"
    stop_silent
    echo "ok  $kind: handshake deadline"
done

start_silent tcp
printf '[client]\nconnect-timeout = 1\n' >"$work/remora.conf"
REMORA_CONFIG=$work/remora.conf expect_deadline "$build_dir/bin/remora" run --server "$address" -- "$program"
stop_silent
echo "ok  config file [client] connect-timeout through remora run"

printf '[client]\nconnect-timeout = soon\n' >"$work/bad.conf"
if REMORA_CONFIG=$work/bad.conf "$build_dir/bin/remora" run --server tcp://127.0.0.1:1 -- true 2>"$work/err"; then
    fail "a connect-timeout that is not a number was accepted"
fi
grep -q "connect-timeout" "$work/err" || fail "bad connect-timeout: error does not name the key"
echo "PASS connect_timeout"

#!/usr/bin/env bash
# e2e: the listener at its file-descriptor limit. With 40 fds and 80
# connections that send nothing, accept fails with EMFILE while the backlog
# stays readable: the listener must not spin logging (it did, ~1M lines in
# 3 s), must tell a client it cannot take why, and must serve again once
# the idle connections are gone.
#   listener_fds.sh PROGRAM   (PROGRAM: a driver-API test program)
set -euo pipefail
program=$1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib/server.sh
source "$here/../../scripts/lib/server.sh"
build_dir=${RM_BUILD_DIR:?}
work=$(mktemp -d "${TMPDIR:-/tmp}/remora-fds.XXXXXX")
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() { rm_server_stop; rm -rf -- "$work"; }
trap cleanup EXIT
RM_FAIL_LOG_LINES=50 # rm_fail: the last lines of the server log only

rm_server_wrapper "$work/limited-server" "$build_dir/bin/remora-server" "ulimit -n 40"
RM_SERVER_BIN=$work/limited-server rm_server_start_scheme tcp "$work/server.log"
export LD_LIBRARY_PATH=$build_dir/lib REMORA_SERVER=$RM_SERVER_URL
port=${REMORA_SERVER##*:}

# 80 connections that send nothing: past the limit, the ones the listener
# cannot take are answered with the reason and closed
python3 - "$port" <<'PY' >"$work/probe" 2>&1
import socket, sys, time
port = int(sys.argv[1])
idle = []
for _ in range(80):
    try:
        idle.append(socket.create_connection(("127.0.0.1", port), timeout=2))
    except OSError:
        break
time.sleep(3)
for s in idle:
    s.setblocking(False)
    try:
        w = s.recv(4096)
    except OSError:
        w = b""
    if len(w) >= 168:
        print("welcome:", w[40:168].split(b"\0")[0].decode(errors="replace"))
    s.close()
PY
grep -q "out of file descriptors" "$work/probe" || { cat "$work/probe" >&2; rm_fail "the refused client was not told why"; }
lines=$(wc -l <"$work/server.log")
((lines < 200)) || rm_fail "the listener wrote $lines log lines at its fd limit"
grep -q "out of file descriptors" "$work/server.log" || rm_fail "the server log does not say it ran out of fds"
# the idle connections are gone: served again (their hello deadline has passed)
for _ in $(seq 50); do
    "$program" >"$work/out" 2>"$work/err" && break
    sleep 0.1
done
grep -q '^PASS ' "$work/out" || { cat "$work/err" >&2; rm_fail "no client served after the idle connections left"; }
echo "PASS listener_fds"

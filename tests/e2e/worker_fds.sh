#!/usr/bin/env bash
# e2e: a worker that runs out of file descriptors (issue 12, finding 5).
# The server runs under `ulimit -n 64`; one session is opened by hand and
# then flooded with 600 channel hellos that are never read, so its worker
# cannot take the sockets the listener passes it and leaves its control
# loop. The listener must stay responsive: before the fix it blocked in
# sendmsg on the worker's full control socket and every other client hung
# in its handshake. Here a fresh client must be served, and `remora status`
# must answer, while the flood is still connected.
#   worker_fds.sh PROGRAM   (PROGRAM: a driver-API test program)
set -euo pipefail
program=$1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib/server.sh
source "$here/../../scripts/lib/server.sh"
build_dir=${RM_BUILD_DIR:?}
work=$(mktemp -d "${TMPDIR:-/tmp}/remora-wfds.XXXXXX")
flood=""
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
    [[ -z $flood ]] || kill "$flood" 2>/dev/null || true
    rm_server_stop
    rm -rf -- "$work"
}
trap cleanup EXIT
RM_FAIL_LOG_LINES=50 # rm_fail: the last lines of the server log only

rm_server_wrapper "$work/limited-server" "$build_dir/bin/remora-server" "ulimit -n 64"
RM_SERVER_BIN=$work/limited-server rm_server_start_scheme tcp "$work/server.log"
export LD_LIBRARY_PATH=$build_dir/lib REMORA_SERVER=$RM_SERVER_URL
magic=$(awk '/#define RM_PROTO_MAGIC/ { sub(/u$/, "", $3); print $3 }' "$here/../../include/remora/protocol.h")
version=$(awk '/#define RM_PROTO_VERSION/ { sub(/u$/, "", $3); print $3 }' "$here/../../include/remora/protocol.h")

# The flood: a session, then 600 more channels of it whose sockets stay open
# and unread (rm_hello_t and rm_welcome_t of include/remora/protocol.h).
python3 - "${REMORA_SERVER##*:}" "$magic" "$version" "$work/flooded" <<'PY' >"$work/flood.log" 2>&1 &
import os, resource, socket, struct, sys, time
port, magic, version, done = int(sys.argv[1]), int(sys.argv[2], 0), int(sys.argv[3]), sys.argv[4]
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))

def hello(channel, session_id=0, key=b""):
    return struct.pack("<6IQ16s128s64s64s2I", magic, version, 0, os.getpid(), channel, 0, session_id,
                       key, b"", b"flood-host", b"worker_fds_flood", 0, 0)

first = socket.create_connection(("127.0.0.1", port), timeout=10)
first.sendall(hello(0))
welcome = b""
while len(welcome) < 168:
    chunk = first.recv(168 - len(welcome))
    if not chunk:
        sys.exit("no welcome for the first channel")
    welcome += chunk
_, _, status, _, session_id, key = struct.unpack("<4IQ16s", welcome[:40])
if status != 0:
    sys.exit("session refused: " + welcome[40:].split(b"\0")[0].decode())
held = []
for channel in range(1, 601):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=2)
        s.sendall(hello(channel, session_id, key))
        held.append(s)
    except OSError as e:
        print("channel", channel, e)
print("flooded with", len(held), "channels")
open(done, "w").close()
time.sleep(120)
PY
flood=$!
for _ in $(seq 600); do
    [[ -f $work/flooded ]] && break
    kill -0 "$flood" 2>/dev/null || { cat "$work/flood.log" >&2; rm_fail "the flood client stopped"; }
    sleep 0.1
done
[[ -f $work/flooded ]] || rm_fail "the flood did not finish"
sleep 1 # the listener has passed on what it could
REMORA_CONNECT_TIMEOUT=10 "$program" >"$work/out" 2>"$work/err" ||
    { cat "$work/err" >&2; rm_fail "a fresh client was not served while one worker was out of fds"; }
grep -q '^PASS ' "$work/out" || rm_fail "the fresh client did not pass"
"$build_dir/bin/remora" status --server "$REMORA_SERVER" >"$work/status" 2>&1 ||
    { cat "$work/status" >&2; rm_fail "remora status got no answer"; }
echo "PASS worker_fds"

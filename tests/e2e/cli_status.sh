#!/usr/bin/env bash
# e2e: remora status on the fake backend.
#   cli_status.sh HOLD_PROGRAM
# Two clients (HOLD_PROGRAM, client_hold: they hold 1 MiB and wait), one
# over shm and one over TCP, both appear in `remora status` with their
# program, pid, host, transport, memory, memory limit (the server's 64 MiB,
# one client lowers its own to 32 MiB) and calls, as a table and as JSON;
# asking opens no session; once they exit the server has none. A server
# with a token answers only a status request that has it. A server that is
# not there is a clear error.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/e2e/cli_lib.sh
source "$here/cli_lib.sh"
cli_init cli_status
hold=${1:?usage: cli_status.sh HOLD_PROGRAM}

shm=shm://$work/run/status.sock
server_start "$work/ready" "$remora" server --backend fake --listen "$shm" --listen tcp://127.0.0.1:0 \
    --ready-file "$work/ready" --mem-limit 64MiB
tcp=$(grep '^tcp://' "$work/ready")

expect 0 "$remora" status --server "$shm"
expect_in out "remora server $shm: 0 sessions"

# Two clients that stay until told to go.
"$remora" run --server "$shm" -- "$hold" "$work/ready1" "$work/release" >"$work/hold1.out" 2>&1 &
hold1=$!
REMORA_MEM_LIMIT=32M "$remora" run --server "$tcp" -- "$hold" "$work/ready2" "$work/release" >"$work/hold2.out" 2>&1 &
hold2=$!
{ wait_for_file "$work/ready1" "$hold1" "$work/hold1.out" && wait_for_file "$work/ready2" "$hold2" "$work/hold2.out"; } ||
    fail "the clients did not start"
pid1=$(cat "$work/ready1") pid2=$(cat "$work/ready2")

expect 0 "$remora" status --server "$shm"
expect_in out "remora server $shm: 2 sessions"
expect_in out "PROGRAM"
for pid in "$pid1" "$pid2"; do
    grep -E "^ +[0-9]+ +$pid +$(hostname | cut -c1-16) +client_hold +(shm|tcp) " "$work/out" >/dev/null ||
        fail "no line for client $pid"
done
expect_in out "LIMIT"
grep -E " $pid1 .* shm .* 1\.0 MiB +64\.0 MiB " "$work/out" >/dev/null || fail "client $pid1: not shm with 1.0 MiB of 64"
grep -E " $pid2 .* tcp .* 1\.0 MiB +32\.0 MiB " "$work/out" >/dev/null || fail "client $pid2: not tcp with 1.0 MiB of 32"

# The same over TCP, as JSON; and REMORA_SERVER is the default address.
REMORA_SERVER=$tcp expect 0 "$remora" status --json
python3 -m json.tool "$work/out" >/dev/null || fail "--json is not JSON"
python3 - "$work/out" "$pid1" "$pid2" "$tcp" <<'PY' || fail "--json says something else"
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["server"] == sys.argv[4], doc["server"]
s = {x["pid"]: x for x in doc["sessions"]}
assert sorted(s) == sorted([int(sys.argv[2]), int(sys.argv[3])]), s
assert s[int(sys.argv[2])]["transport"] == "shm" and s[int(sys.argv[3])]["transport"] == "tcp"
for x in s.values():
    assert x["program"] == "client_hold", x
    assert x["memory_bytes"] == 1 << 20, x
    assert x["memory_limit_bytes"] == (64 << 20 if x["transport"] == "shm" else 32 << 20), x
    assert x["calls"] > 0 and x["bytes_in"] > 0 and x["bytes_out"] > 0, x
    assert x["started"].endswith("Z") and x["started_unix_ms"] > 0 and x["worker_pid"] > 0, x
assert len({x["id"] for x in s.values()}) == 2
PY

# Asking opened no session: still two.
expect 0 "$remora" status --server "$shm"
expect_in out ": 2 sessions"

touch "$work/release"
wait "$hold1" || fail "client 1 failed: $(cat "$work/hold1.out")"
wait "$hold2" || fail "client 2 failed: $(cat "$work/hold2.out")"
for _ in $(seq 300); do
    expect 0 "$remora" status --server "$shm"
    grep -q ": 0 sessions" "$work/out" && break
    sleep 0.1
done
expect_in out ": 0 sessions"
server_stop

# A server with a token answers only those who have it.
REMORA_TOKEN=s3cret server_start "$work/ready-t" "$remora" server --backend fake --listen "$shm" \
    --ready-file "$work/ready-t"
expect 1 "$remora" status --server "$shm"
expect_in err "refused: authentication failed"
REMORA_TOKEN=s3cret expect 0 "$remora" status --server "$shm" --json
expect_in out '"sessions": []'
server_stop

expect 1 "$remora" status --server "$shm"
expect_in err "remora status: cannot reach remora server $shm"
expect 2 "$remora" status --bogus
expect_in err "unknown option --bogus"
expect 0 "$remora" status --help
expect_in out "usage: remora status"
echo "PASS cli_status"

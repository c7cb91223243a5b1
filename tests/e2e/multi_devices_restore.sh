#!/usr/bin/env bash
# e2e: checkpoint and restore of a session on two devices (fake backend,
# REMORA_FAKE_DEVICES=2).
#   multi_devices_restore.sh ITERATE_PROGRAM
# client_iterate with RM_ITERATE_DEVICES=2 keeps its big pair on device 0
# and its small pair on device 1 (a context and a module each). Halfway it
# is checkpointed over TCP; its addresses lie in device 0's and device 1's
# arenas (0x200000000000 + N TiB); the server is killed and a new one
# restores the session: the same allocations at the same addresses and the
# same handles, and the program finishes with the results of an
# uninterrupted run.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/e2e/cli_lib.sh
source "$here/cli_lib.sh"
cli_init multi_restore
iterate=${1:?usage: multi_devices_restore.sh ITERATE_PROGRAM}
n=300000 steps=40
export REMORA_FAKE_DEVICES=2 RM_ITERATE_DEVICES=2
unset CUDA_VISIBLE_DEVICES

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
tcp=tcp://127.0.0.1:$port
arena=0x200000000000
start() {
    rm -f "$work/ready"
    server_start "$work/ready" "$remora" server --backend fake --listen "$tcp" --ready-file "$work/ready"
}
start

expect 0 "$remora" run --server "$tcp" -- "$iterate" "$n" "$steps"
grep -v '^#' "$work/out" >"$work/want"
expect_in want "PASS client_iterate"

session() {
    "$remora" status --server "$tcp" --json | python3 -c '
import json, sys
s = json.load(sys.stdin)["sessions"]
assert len(s) == 1, s
print(s[0]["id"], s[0]["worker_pid"])'
}
listing() {
    "$remora" checkpoint --check "$1" | grep -E '^  (allocation|context|module|function|stream|event) '
}

rm -f "$work/halfway" "$work/release"
REMORA_RESTORE_FROM=$work/ck REMORA_RESTORE_WAIT=60 \
    "$remora" run --server "$tcp" -- "$iterate" "$n" "$steps" "$work/halfway" "$work/release" \
    >"$work/run.out" 2>&1 &
run_pid=$!
wait_for_file "$work/halfway" "$run_pid" "$work/run.out" || fail "the program did not get halfway"
# big pair (device 0), small pair (device 1), as client_iterate writes them: x, y, x, y
mapfile -t addr < <(tail -n +2 "$work/halfway")
for i in 0 1 2 3; do
    dev=$((i < 2 ? 0 : 1))
    a=${addr[$i]}
    ((a >= arena + dev * 2 ** 40 && a < arena + (dev + 1) * 2 ** 40)) ||
        fail "address $a is not in device $dev's arena"
done

read -r id worker < <(session)
expect 0 "$remora" checkpoint "$id" --to "$work/ck" --server "$tcp"
listing "$work/ck" >"$work/before"
(($(grep -c '^  context ' "$work/before") >= 2)) || fail "the checkpoint does not hold two contexts: $(cat "$work/before")"
kill -KILL "$server_pid" "$worker"
wait "$server_pid" 2>/dev/null || true
while kill -0 "$worker" 2>/dev/null; do sleep 0.1; done

start
expect 0 "$remora" restore "$work/ck" --server "$tcp"
expect_in out "restored the session of $work/ck: 4 allocations"
expect 0 "$remora" checkpoint "$id" --to "$work/ck-again" --server "$tcp"
listing "$work/ck-again" >"$work/after"
diff "$work/before" "$work/after" >&2 || fail "the restored session's allocations or handles differ"

touch "$work/release"
wait "$run_pid" || fail "the restored program failed: $(cat "$work/run.out")"
diff <(grep -v '^#' "$work/run.out" | grep -v 'remora') "$work/want" >&2 ||
    fail "results differ from the uninterrupted run: $(cat "$work/run.out")"
grep -q "resumed from the checkpoint" "$work/run.out" || fail "the program did not resume: $(cat "$work/run.out")"
echo "PASS multi_devices_restore"

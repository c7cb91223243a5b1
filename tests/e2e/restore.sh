#!/usr/bin/env bash
# e2e: remora restore on the fake backend.
#   restore.sh ITERATE_PROGRAM
# A running iterative program (client_iterate, over TCP, REMORA_RESTORE_FROM
# set) is checkpointed halfway, then its server is killed (SIGKILL, the
# listener and the session's worker) and a new server process started on
# the same address. Once with `remora restore` by hand, once by the program
# itself (it asks the new server to restore the session when it finds its
# server gone): the restored session holds the same allocations at the same
# addresses and the same objects under the same handle values (a checkpoint
# of it lists what the first listed), and the program finishes with the
# results of an uninterrupted run. The program's device memory lies in the
# memory manager's address arena of device 0 (0x200000000000, 1 TiB; the
# same in every server process), and a server with another --va-base
# restores it too (the addresses lie outside its arena and are free there);
# a bad --va-base is refused. A corrupt checkpoint, a missing one, one
# of format version 1 and one of a session the server runs already are
# refused with a clear error, and the server and a program it runs go on
# unharmed.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/e2e/cli_lib.sh
source "$here/cli_lib.sh"
cli_init restore
iterate=${1:?usage: restore.sh ITERATE_PROGRAM}
n=300000 steps=40

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
tcp=tcp://127.0.0.1:$port
arena=0x200000000000 # the server's --va-base
start() { # [SERVER OPTIONS...]
    rm -f "$work/ready"
    server_start "$work/ready" "$remora" server --backend fake --listen "$tcp" --ready-file "$work/ready" "$@"
}
start

expect 0 "$remora" run --server "$tcp" -- "$iterate" "$n" "$steps"
grep -v '^#' "$work/out" >"$work/want"
expect_in want "PASS client_iterate"

# The one session of the server: "ID WORKER_PID".
session() {
    "$remora" status --server "$tcp" --json | python3 -c '
import json, sys
s = json.load(sys.stdin)["sessions"]
assert len(s) == 1, s
print(s[0]["id"], s[0]["worker_pid"])'
}

# What a checkpoint lists of its session: allocations and objects.
listing() {
    "$remora" checkpoint --check "$1" | grep -E '^  (allocation|context|module|function|stream|event) '
}

start_iterate() {
    rm -f "$work/halfway" "$work/release"
    # no REMORA_TCP_STREAMS: a session that may be restored keeps to one connection per thread by itself
    REMORA_RESTORE_FROM=$work/ck REMORA_RESTORE_WAIT=60 \
        "$remora" run --server "$tcp" -- "$iterate" "$n" "$steps" "$work/halfway" "$work/release" \
        >"$work/run.out" 2>&1 &
    run_pid=$!
    wait_for_file "$work/halfway" "$run_pid" "$work/run.out" || fail "the program did not get halfway"
    for a in $(tail -n +2 "$work/halfway"); do
        ((a >= arena && a < arena + 2 ** 40)) || fail "address $a is not in device 0's arena at $arena"
    done
}

# Checkpoint the program halfway, then kill its server outright.
checkpoint_and_kill() {
    read -r id worker < <(session)
    rm -rf "$work/ck"
    expect 0 "$remora" checkpoint "$id" --to "$work/ck" --server "$tcp"
    listing "$work/ck" >"$work/before"
    grep -q '^  context ' "$work/before" || fail "no context in the checkpoint"
    kill -KILL "$server_pid" "$worker"
    wait "$server_pid" 2>/dev/null || true
    while kill -0 "$worker" 2>/dev/null; do sleep 0.1; done
}

finish_iterate() {
    touch "$work/release"
    wait "$run_pid" || fail "the restored program failed: $(cat "$work/run.out")"
    diff <(grep -v '^#' "$work/run.out" | grep -v 'remora') "$work/want" >&2 ||
        fail "results differ from the uninterrupted run: $(cat "$work/run.out")"
    [[ ${1:-} != resumed ]] || grep -q "resumed from the checkpoint" "$work/run.out" ||
        fail "the program did not resume: $(cat "$work/run.out")"
}

# The restored session is the checkpointed one: same id, addresses, handles.
same_session() {
    read -r id2 _ < <(session)
    [[ $id2 == "$id" ]] || fail "restored as session $id2, not $id"
    expect 0 "$remora" checkpoint "$id" --to "$work/ck-again" --server "$tcp"
    listing "$work/ck-again" >"$work/after"
    diff "$work/before" "$work/after" >&2 || fail "the restored session's allocations or handles differ"
    for a in $(tail -n +2 "$work/halfway"); do
        grep -qF "allocation $a " "$work/after" || fail "address $a is not in the restored session"
    done
}

# 1. The operator restores; the program joins when released.
start_iterate
checkpoint_and_kill
start
expect 0 "$remora" restore "$work/ck" --server "$tcp"
expect_in out "restored the session of $work/ck: 4 allocations, $(((2 * n + 2000) * 4)) bytes of device memory"
same_session
expect 1 "$remora" restore "$work/ck" --server "$tcp"
expect_in err "session $id is running on this server already"
finish_iterate resumed

# 2. The program finds its server gone and has the new one restore it; that
# server's arenas lie elsewhere.
start_iterate
checkpoint_and_kill
expect 2 "$remora" server --backend fake --listen "$tcp" --va-base 0x280000001000
expect_in err "--va-base (or REMORA_VA_BASE) '0x280000001000' is neither an address that is a multiple of 2 MiB"
expect 2 env REMORA_VA_BASE=high "$remora" server --backend fake --listen "$tcp"
expect_in err "REMORA_VA_BASE) 'high' is neither"
arena=0x280000000000
REMORA_LOG=info start --va-base $arena
finish_iterate resumed
grep -q "restored from $work/ck" "$work/server.out" || fail "the server did not restore the session"

# Bad checkpoints: refused, saying why; the server and a program it runs go on.
start_iterate
mkdir -p "$work/bad"
size=$(stat -c %s "$work/ck/checkpoint.rmck")
python3 - "$work/ck/checkpoint.rmck" "$work/bad/checkpoint.rmck" "$((size / 2))" <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[int(sys.argv[3])] ^= 1
open(sys.argv[2], "wb").write(b)
PY
expect 1 "$remora" restore "$work/bad" --server "$tcp"
expect_in err "the checkpoint is corrupt"
expect 1 "$remora" restore "$work/nothing-here" --server "$tcp"
expect_in err "cannot open"
expect 2 "$remora" restore --server "$tcp"
expect_in err "give the checkpoint's directory"
python3 - "$work/ck/checkpoint.rmck" "$work/bad/checkpoint.rmck" <<'PY'
import hashlib, sys
b = bytearray(open(sys.argv[1], "rb").read())
b[8] = 1  # format 1: device memory only
b[96:128] = hashlib.sha256(bytes(b[:96])).digest()
open(sys.argv[2], "wb").write(b)
PY
expect 1 "$remora" restore "$work/bad" --server "$tcp"
expect_in err "format version 1; this remora reads versions 2 and 3"
finish_iterate
expect 0 "$remora" run --server "$tcp" -- "$iterate" "$n" "$steps"
diff <(grep -v '^#' "$work/out") "$work/want" >&2 || fail "the server is harmed"
server_stop
echo "PASS restore"

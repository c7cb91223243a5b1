#!/usr/bin/env bash
# e2e: remora migrate on the fake backend.
#   migrate.sh ITERATE_PROGRAM WRITER_PROGRAM
# A running iterative program (client_iterate paced: it keeps computing,
# over TCP, REMORA_MIGRATABLE=1) on server A is moved to server B while it
# runs (the servers talk over shm://, the program is told B's tcp://
# address). Before that, a migration to an address where nothing listens, one
# with the wrong token of B, and one of a program that did not ask to be
# migratable are refused with a clear error, and the program runs on on A
# unharmed. After it: remora migrate printed its rounds and the pause; B
# runs the session under the same id, with the same allocations at the
# same addresses and the same objects under the same handle values (a
# checkpoint of it lists what one on A listed); A's session is gone; the
# program followed (it says so) and finishes with the results of an
# uninterrupted run. Then a program that keeps writing its memory
# (client_writer, 16 x 1 MiB, 10% a second) is moved while it writes: the
# first round sends all of it, less is dirty after it, and the program's
# own check of its results passes.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/e2e/cli_lib.sh
source "$here/cli_lib.sh"
cli_init migrate
iterate=${1:?usage: migrate.sh ITERATE_PROGRAM WRITER_PROGRAM}
writer=${2:?usage: migrate.sh ITERATE_PROGRAM WRITER_PROGRAM}
n=100000 steps=1000

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
a=tcp://127.0.0.1:$(free_port) b=tcp://127.0.0.1:$(free_port) nobody=tcp://127.0.0.1:$(free_port)
b_shm=shm://$work/run/b.sock
REMORA_LOG=info server_start "$work/ready-a" "$remora" server --backend fake --listen "$a" --ready-file "$work/ready-a"
REMORA_LOG=info REMORA_TOKEN=b-secret "$remora" server --backend fake --listen "$b" --listen "$b_shm" \
    --ready-file "$work/ready-b" \
    >"$work/server-b.out" 2>&1 &
b_pid=$!
trap 'kill -KILL "$b_pid" 2>/dev/null || true; server_stop_quietly; rm -rf -- "$work"' EXIT
for _ in $(seq 200); do [[ $(wc -l <"$work/ready-b" 2>/dev/null) == 2 ]] && break; sleep 0.1; done
[[ -s $work/ready-b ]] || fail "server B did not get ready: $(cat "$work/server-b.out")"

expect 0 "$remora" run --server "$a" -- "$iterate" "$n" "$steps"
grep -v '^#' "$work/out" >"$work/want"
expect_in want "PASS client_iterate"

# The sessions of a server, one "ID WORKER_PID" a line.
sessions() {
    REMORA_TOKEN=${2:-} "$remora" status --server "$1" --json | python3 -c '
import json, sys
for s in json.load(sys.stdin)["sessions"]:
    print(s["id"], s["worker_pid"])'
}

listing() {
    "$remora" checkpoint --check "$1" | grep -E '^  (allocation|context|module|function|stream|event) '
}

start_iterate() { # MODE [ENV...]
    local mode=$1
    shift
    rm -f "$work/halfway" "$work/release"
    # no REMORA_TCP_STREAMS: a migratable session keeps to one connection per thread by itself
    env "$@" "$remora" run --server "$a" -- "$iterate" "$n" "$steps" "$work/halfway" \
        "$work/release" ${mode:+"$mode"} >"$work/run.out" 2>&1 &
    run_pid=$!
    wait_for_file "$work/halfway" "$run_pid" "$work/run.out" || fail "the program did not get halfway"
    read -r id _ < <(sessions "$a")
}

finish_iterate() {
    touch "$work/release"
    wait "$run_pid" || fail "the program failed: $(cat "$work/run.out")"
    diff <(grep -v '^#' "$work/run.out" | grep -v 'remora') "$work/want" >&2 ||
        fail "results differ from the uninterrupted run: $(cat "$work/run.out")"
}

# 1. A program that keeps no replay log cannot follow: refused, it runs on.
start_iterate ""
expect 1 "$remora" migrate "$id" --to "$b" --server "$a"
expect_in err "cannot follow a move"
expect_in err "REMORA_MIGRATABLE=1"
finish_iterate

# 2. A migratable program, running: bad targets refused, it runs on on A.
start_iterate paced REMORA_MIGRATABLE=1
expect 1 "$remora" migrate "$id" --to "$nobody" --server "$a"
expect_in err "cannot reach the target server $nobody"
expect 1 env REMORA_TARGET_TOKEN=wrong "$remora" migrate "$id" --to "$b" --server "$a"
expect_in err "the target server $b refused"
expect_in err "REMORA_TOKEN"
[[ $(sessions "$a" | wc -l) == 1 ]] || fail "the session is not on A any more"
[[ -z $(sessions "$b" b-secret) ]] || fail "a refused migration left a session on B"
rm -rf "$work/ck-a"
expect 0 "$remora" checkpoint "$id" --to "$work/ck-a" --server "$a"
listing "$work/ck-a" >"$work/before"

# 3. The migration, while the program runs: the servers talk over shm://,
#    the program is told B's tcp:// address.
expect 0 env REMORA_TARGET_TOKEN=b-secret "$remora" migrate "$id" --to "$b_shm" --client-to "$b" --server "$a"
expect_in out "round 1: "
expect_in out "dirty bytes left"
expect_in out "session $id migrated to $b_shm: 4 allocations"
grep -qE "paused [0-9.]+ ms$" "$work/out" || fail "no pause (the program did not rejoin in time?)"
read -r id_b _ < <(sessions "$b" b-secret)
[[ $id_b == "$id" ]] || fail "B runs session '$id_b', not $id"
expect 0 env REMORA_TOKEN=b-secret "$remora" checkpoint "$id" --to "$work/ck-b" --server "$b"
listing "$work/ck-b" >"$work/after"
diff "$work/before" "$work/after" >&2 || fail "the migrated session's allocations or handles differ"
for p in $(tail -n +2 "$work/halfway"); do
    grep -qF "allocation $p " "$work/after" || fail "address $p is not in the migrated session"
done
for _ in $(seq 100); do [[ -z $(sessions "$a") ]] && break; sleep 0.1; done
[[ -z $(sessions "$a") ]] || fail "A still lists the session"
finish_iterate
grep -q "moved the session to $b" "$work/run.out" || fail "the program did not follow: $(cat "$work/run.out")"
grep -q "migrated here" "$work/server-b.out" || fail "B does not say it took the session"

# 4. A program writing while it is moved: the rounds shrink, its results hold.
rm -f "$work/writer.ready"
REMORA_MIGRATABLE=1 "$remora" run --server "$a" -- "$writer" 16 1 10 8 "$work/writer.ready" \
    >"$work/writer.out" 2>&1 &
writer_pid=$!
for _ in $(seq 600); do [[ -s $work/writer.ready ]] && break; sleep 0.1; done
[[ -s $work/writer.ready ]] || fail "client_writer did not start: $(cat "$work/writer.out")"
sleep 1
read -r wid _ < <(sessions "$a")
expect 0 env REMORA_TARGET_TOKEN=b-secret "$remora" migrate "$wid" --to "$b" --server "$a"
read -r sent1 dirty1 < <(awk '/^round 1:/ { print $3, $6 }' "$work/out")
[[ $sent1 == $((16 << 20)) && $dirty1 -lt $sent1 ]] || fail "round 1 sent $sent1 bytes, left $dirty1 dirty"
wait "$writer_pid" || fail "client_writer failed: $(cat "$work/writer.out")"
grep -q "PASS client_writer" "$work/writer.out" || fail "client_writer did not pass: $(cat "$work/writer.out")"
grep -q "moved the session to $b" "$work/writer.out" || fail "client_writer did not follow: $(cat "$work/writer.out")"

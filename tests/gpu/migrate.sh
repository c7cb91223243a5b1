#!/usr/bin/env bash
# The GPU machine's live-migration runs (issue 9), called by tests/gpu/run:
#
#   tests/gpu/migrate.sh BUILD_DIR LOG_DIR
#
# Two remora-server processes (--backend real, TCP listeners) on the one
# GPU, A and B; programs run on A with REMORA_MIGRATABLE=1 over TCP and
# are moved to B with remora migrate while they run:
#   1. client_iterate (2 x 128 MiB of floats and two small arrays, paced:
#      it keeps stepping, each step synchronised, until released), moved
#      halfway; its results must be bitwise identical to its native run's;
#   2. client_writer (64 x 8 MiB, rewriting 10% of its memory a second for
#      RM_MIGRATE_SECONDS, default 30), moved once it runs; it checks its
#      own results, and says the longest gap between two of its writes.
# For each: the bytes of every pre-copy round and the dirty bytes left
# after it, the bytes sent while paused, the pause (quiet on A to the
# program's first channel joined on B; target < 1 s for the writer). Prints
# a summary block; exit status 1 if a run failed (a missed pause target is
# reported as "NOT met", not a failure). RM_MIGRATE_BACKEND=fake tries it
# on a machine without a GPU (results compared with an unmigrated remora
# run instead of a native one), with smaller sizes: RM_MIGRATE_FLOATS and
# RM_MIGRATE_STEPS (client_iterate), RM_MIGRATE_ALLOCS and RM_MIGRATE_MIB
# (client_writer).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=scripts/lib/server.sh
source "$root/scripts/lib/server.sh"
build=${1:?usage: migrate.sh BUILD_DIR LOG_DIR}
logs=${2:?usage: migrate.sh BUILD_DIR LOG_DIR}
RM_REMORA_LIBDIR=$build/lib
seconds=${RM_MIGRATE_SECONDS:-30}
# sizes: client_iterate's floats and steps, client_writer's allocations and MiB each
floats=${RM_MIGRATE_FLOATS:-$((32 << 20))} steps=${RM_MIGRATE_STEPS:-2000}
allocs=${RM_MIGRATE_ALLOCS:-64} mib=${RM_MIGRATE_MIB:-8}
remora=$build/bin/remora
backend=(--backend real --driver "$RM_NATIVE_LIBDIR/libcuda.so.1")
[[ ${RM_MIGRATE_BACKEND:-real} == real ]] || backend=(--backend "$RM_MIGRATE_BACKEND")
b_pid="" b_dir=$(mktemp -d "${TMPDIR:-/tmp}/remora-migrate-b.XXXXXX")
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
    rm_server_stop
    [[ -z $b_pid ]] || kill -TERM "$b_pid" 2>/dev/null || true
    rm -rf "$b_dir"
}
trap cleanup EXIT
failed=0
lines=()

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Server A (the scripts/lib one) and server B (by hand), fresh for each run.
start_servers() {
    local tag=$1
    rm_server_start "$build/bin/remora-server" "$logs/server-migrate-$tag-a.log" "${backend[@]}" \
        --listen "tcp://127.0.0.1:$(free_port)" || return 1
    a=$(rm_server_address tcp)
    b=tcp://127.0.0.1:$(free_port)
    rm -f "$b_dir/ready"
    REMORA_LOG=info "$build/bin/remora-server" "${backend[@]}" --listen "$b" --ready-file "$b_dir/ready" \
        >"$logs/server-migrate-$tag-b.log" 2>&1 &
    b_pid=$!
    for _ in $(seq 100); do [[ -s $b_dir/ready ]] && return 0; sleep 0.1; done
    echo "server B did not start" >&2
    return 1
}

stop_servers() {
    rm_server_stop
    [[ -z $b_pid ]] || { kill -TERM "$b_pid" 2>/dev/null || true; wait "$b_pid" 2>/dev/null || true; }
    b_pid=""
}

wait_file() { # FILE PID
    for _ in $(seq 1200); do
        [[ -s $1 ]] && return 0
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# The one session of A.
session_a() {
    "$remora" status --server "$a" --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["sessions"][0]["id"])'
}

# remora migrate's output in one line: "rounds: B1/D1, B2/D2...; paused: ..."
summarize() {
    awk '/^round/ { r = r (r ? ", " : "") $3 " B sent/" $6 " B dirty left" }
         /migrated to/ { sub(/.*allocations, /, ""); p = $0 }
         END { print "rounds: " r "; " p }' "$1"
}

# 1. client_iterate, paced, moved halfway: same results as unmigrated.
iterate_run() {
    local bin=$build/bin/client_iterate n=$floats pid ok=0
    local ref=native tag=migrate-iterate
    [[ ${RM_MIGRATE_BACKEND:-real} == real ]] || ref=tcp
    start_servers iterate || return 1
    rm_run_mode "$ref" "$bin" "$n" "$steps" >"$logs/$tag.ref.out" 2>"$logs/$tag.ref.err" || true
    rm -f "$logs/$tag.halfway" "$logs/$tag.release"
    REMORA_MIGRATABLE=1 REMORA_TCP_STREAMS=1 REMORA_LOG=warn rm_run_mode tcp "$bin" "$n" "$steps" \
        "$logs/$tag.halfway" "$logs/$tag.release" paced >"$logs/$tag.out" 2>"$logs/$tag.err" &
    pid=$!
    if wait_file "$logs/$tag.halfway" "$pid" &&
        "$remora" migrate "$(session_a)" --to "$b" --server "$a" >"$logs/$tag.cli.out" 2>"$logs/$tag.cli.err"; then
        ok=1
    fi
    touch "$logs/$tag.release"
    wait "$pid" || ok=0
    stop_servers
    if ((ok)) && grep -q '^PASS ' "$logs/$tag.out" && grep -q 'moved the session' "$logs/$tag.err" &&
        diff <(grep -v '^#' "$logs/$tag.ref.out") <(grep -v '^#' "$logs/$tag.out") >/dev/null; then
        lines+=("migrate client_iterate ($((n * 8 >> 20)) MiB, tcp, mid-run, A -> B): $(summarize "$logs/$tag.cli.out"); results identical to $ref")
    else
        lines+=("migrate client_iterate ($((n * 8 >> 20)) MiB, tcp, mid-run): FAILED ($(tail -n 1 "$logs/$tag.cli.err"; tail -n 1 "$logs/$tag.err"))")
        failed=1
    fi
}

# 2. client_writer, 10% of its memory a second: the pause.
writer_run() {
    local bin=$build/bin/client_writer pid ok=0 tag=migrate-writer pause verdict
    start_servers writer || return 1
    rm -f "$logs/$tag.ready"
    REMORA_MIGRATABLE=1 REMORA_TCP_STREAMS=1 REMORA_LOG=warn rm_run_mode tcp "$bin" "$allocs" "$mib" 10 "$seconds" \
        "$logs/$tag.ready" >"$logs/$tag.out" 2>"$logs/$tag.err" &
    pid=$!
    sleep 2 # writing for a while
    if wait_file "$logs/$tag.ready" "$pid" &&
        "$remora" migrate "$(session_a)" --to "$b" --server "$a" --rounds 16 >"$logs/$tag.cli.out" 2>"$logs/$tag.cli.err"; then
        ok=1
    fi
    wait "$pid" || ok=0
    stop_servers
    pause=$(sed -n 's/.*paused \([0-9.]*\) ms.*/\1/p' "$logs/$tag.cli.out")
    verdict=$(awk -v p="${pause:-1e9}" 'BEGIN { print (p < 1000 ? "met" : "NOT met") }')
    if ((ok)) && grep -q '^PASS ' "$logs/$tag.out" && grep -q 'moved the session' "$logs/$tag.err"; then
        lines+=("migrate client_writer ($allocs x $mib MiB, 10%/s, tcp, A -> B): $(summarize "$logs/$tag.cli.out"); pause target < 1 s $verdict; $(sed -n 's/^# //p' "$logs/$tag.out"); results checked")
    else
        lines+=("migrate client_writer ($allocs x $mib MiB, 10%/s): FAILED ($(tail -n 1 "$logs/$tag.cli.err"; tail -n 1 "$logs/$tag.err"))")
        failed=1
    fi
}

iterate_run || { lines+=("migrate client_iterate: servers did not start"); failed=1; }
writer_run || { lines+=("migrate client_writer: servers did not start"); failed=1; }
printf '%s\n' "${lines[@]}"
exit "$failed"

#!/usr/bin/env bash
# Soak: many concurrent clients with mixed work on one remora-server, then
# check that nothing grew or stayed behind.
#
#   soak.sh [--seconds N] [--clients N] [--backend fake|real] [--summary FILE]
#
# Starts remora-server ($RM_BUILD_DIR/bin, --backend fake unless told; real
# uses the driver in $RM_NATIVE_LIBDIR) with a TCP and an shm listener. Each
# of the clients (default 64, every other one over TCP, the rest over shm)
# runs soak_client again and again until the time is up (default 60 s):
# half of them in one session for the whole time, the other half in
# sessions of 1-5 s, of which about one in eight is SIGKILLed mid-work on
# purpose. Every session that is not killed must exit 0 with its PASS line
# (each checks all its results). Every 5 s the listener's RSS, fds and
# threads, the number of workers and the largest worker's RSS are sampled.
# At the end, after the last client, the checks: no session and no worker
# left; the listener's fds and threads back to where they were before the
# first client; its RSS not grown after the first quarter of the run (by
# more than 8 MiB), nor the largest worker's in the second half (by more
# than a quarter + 16 MiB over its largest between the quarter and the
# half: the long sessions live through the run); the
# device's free memory (cuMemGetInfo, read by a client before and after)
# back to where it was (within 16 MiB: the driver's own pools). Prints a
# summary (also to FILE); exit 1 if a check failed. RM_SOAK_KEEP=1 keeps
# the logs (their directory is printed).
set -euo pipefail

seconds=60 clients=64 backend=fake summary_file=""
while (($#)); do
    case $1 in
        --seconds) seconds=$2 ;;
        --clients) clients=$2 ;;
        --backend) backend=$2 ;;
        --summary) summary_file=$2 ;;
        *) echo "usage: $0 [--seconds N] [--clients N] [--backend fake|real] [--summary FILE]" >&2; exit 2 ;;
    esac
    shift 2
done

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib/server.sh
source "$here/../../scripts/lib/server.sh"
build=${RM_BUILD_DIR:?set RM_BUILD_DIR to the build directory}
client=$build/bin/soak_client
[[ -x $client ]] || { echo "$0: no $client (build the tests)" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/remora-soak.XXXXXX")
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
    local pids
    pids=$(jobs -p)
    [[ -z $pids ]] || kill $pids 2>/dev/null || true
    rm_server_stop
    if [[ -n ${RM_SOAK_KEEP:-} ]]; then echo "logs kept in $work" >&2; else rm -rf -- "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

server_args=(--backend "$backend" --listen tcp://127.0.0.1:0 --listen "$(rm_shm_address soak)")
[[ $backend != real ]] || server_args+=(--driver "$RM_NATIVE_LIBDIR/libcuda.so.1")
rm_server_start "$build/bin/remora-server" "$work/server.log" "${server_args[@]}" || exit 1
listener=$RM_SERVER_PID
RM_REMORA_LIBDIR=$build/lib
# a load test, not a latency test: a handshake may wait behind 64 others
export REMORA_CONNECT_TIMEOUT=${REMORA_CONNECT_TIMEOUT:-60}

# One line: RSS (KiB), fds and threads of the listener, its workers, the
# largest worker RSS (KiB).
sample() {
    local rss threads fds workers=0 worker_rss=0 pid r
    rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$listener/status")
    threads=$(awk '/^Threads/ { print $2 }' "/proc/$listener/status")
    fds=$(find "/proc/$listener/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
    for pid in $(pgrep -P "$listener" || true); do
        r=$(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status" 2>/dev/null) || continue
        workers=$((workers + 1))
        ((${r:-0} <= worker_rss)) || worker_rss=$r
    done
    echo "$rss $fds $threads $workers $worker_rss"
}

# Free device memory as a fresh client sees it.
device_free() {
    rm_run_mode shm "$client" --free-memory 2>>"$work/probe.err" || echo "unreadable"
}

# Wait (up to 30 s) for the listener to have no workers.
wait_no_workers() {
    local i
    for i in $(seq 300); do
        (($(pgrep -c -P "$listener" || true) == 0)) && return 0
        sleep 0.1
    done
    return 1
}

# One client slot: sessions until the deadline. Results go to $work/slot-N.
run_slot() {
    local slot=$1 end=$2 mode run=0 left len status pid
    mode=$( ((slot % 2)) && echo tcp || echo shm)
    RANDOM=$((slot * 7919 + 17))
    while left=$((end - $(date +%s))) && ((left > 0)); do
        len=$left
        ((slot % 4 < 2)) || len=$((1 + RANDOM % 5))
        ((len <= left)) || len=$left
        local out=$work/slot-$slot.$run
        rm_run_mode "$mode" "$client" "$len" $((slot * 100000 + run)) >"$out.out" 2>"$out.err" &
        pid=$!
        if ((slot % 4 >= 2 && RANDOM % 8 == 0)); then
            sleep "0.$((RANDOM % 9 + 1))"
            kill -KILL "$pid" 2>/dev/null && echo killed >"$out.killed"
        fi
        status=0
        { wait "$pid"; } 2>/dev/null || status=$? # no "Killed" line for the ones killed on purpose
        echo "$status" >"$out.status"
        run=$((run + 1))
    done
}

base=$(sample)
free_before=$(device_free)
start=$(date +%s)
end=$((start + seconds))
slots=()
for ((i = 0; i < clients; i++)); do
    run_slot "$i" "$end" &
    slots+=($!)
done
samples=("0 $base")
quarter=""
while (($(date +%s) < end)); do
    sleep 5
    t=$(($(date +%s) - start))
    samples+=("$t $(sample)")
    [[ -n $quarter ]] || ((t * 4 < seconds)) || quarter=$(sample)
done
wait "${slots[@]}"
free_after=$(device_free)
wait_no_workers || true
after=$(sample)
status_out=$("$build/bin/remora" status --server "$(rm_server_address shm)" 2>&1 | head -n 1 || true)

passed=0 failed=0 killed=0 rounds=0 bytes=0 failures=()
for f in "$work"/slot-*.status; do
    run=${f%.status}
    if [[ -f $run.killed ]]; then
        killed=$((killed + 1))
    elif [[ $(cat "$f") == 0 ]] && grep -q '^PASS soak_client' "$run.out"; then
        passed=$((passed + 1))
        r=0 b=0
        read -r r b < <(awk '/^# soak_client:/ { print $3, $5 }' "$run.out") || true
        rounds=$((rounds + r)) bytes=$((bytes + b))
    else
        failed=$((failed + 1))
        failures+=("$(basename "$run"): exit $(cat "$f"): $(tail -n 1 "$run.err")")
    fi
done

read -r rss0 fds0 threads0 _ _ <<<"$base"
read -r rss1 fds1 threads1 workers1 _ <<<"$after"
read -r rssq _ _ _ _ <<<"${quarter:-$base}"
# wrssq: the largest worker RSS in the first half from the quarter on (a
# loaded machine may sample the quarter before the workers are up);
# wrss_late: in the second half
peak_workers=0 peak_rss=0 wrssq=0 wrss_late=0
for s in "${samples[@]}"; do
    read -r t r _ _ w wr <<<"$s"
    ((w <= peak_workers)) || peak_workers=$w
    ((r <= peak_rss)) || peak_rss=$r
    ((t * 4 < seconds || t * 2 >= seconds || wr <= wrssq)) || wrssq=$wr
    ((t * 2 < seconds || t > seconds || wr <= wrss_late)) || wrss_late=$wr
done
checks=()
((failed == 0)) || checks+=("$failed sessions failed")
((passed > 0)) || checks+=("no session passed")
((workers1 == 0)) || checks+=("$workers1 workers left after the last client")
[[ $status_out == *": 0 sessions" ]] || checks+=("remora status after the run: $status_out")
((fds1 == fds0)) || checks+=("listener fds $fds0 -> $fds1")
((threads1 == threads0)) || checks+=("listener threads $threads0 -> $threads1")
((rss1 <= rssq + 8192)) || checks+=("listener RSS grew after the first quarter: $rssq -> $rss1 KiB")
((wrssq == 0 || wrss_late <= wrssq + wrssq / 4 + 16384)) ||
    checks+=("the largest worker's RSS grew after the first quarter: $wrssq -> $wrss_late KiB")
if [[ $free_before =~ ^[0-9]+$ && $free_after =~ ^[0-9]+$ ]]; then
    drift=$((free_after - free_before))
    ((drift >= -(16 << 20))) || checks+=("device free memory $free_before -> $free_after bytes")
else
    checks+=("device free memory unreadable ($work/probe.err)")
fi

{
    echo "remora soak"
    echo "date:     $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    if [[ $backend == real ]]; then echo "GPU:      $(rm_gpu_info)"; else echo "backend:  fake"; fi
    echo "commit:   ${RM_COMMIT:-$(git -C "$here" describe --always --dirty 2>/dev/null || echo unknown)}"
    echo "clients:  $clients concurrent ($(((clients + 1) / 2)) shm, $((clients / 2)) tcp) for $seconds s"
    echo "sessions: $passed passed, $failed failed, $killed SIGKILLed mid-work on purpose"
    echo "work:     $rounds rounds, $bytes bytes copied, every result checked"
    echo "listener: RSS $rss0 KiB at start, $rssq after a quarter, $rss1 at the end (peak $peak_rss);" \
        "fds $fds0 -> $fds1; threads $threads0 -> $threads1"
    echo "workers:  peak $peak_workers, left $workers1; largest RSS $wrssq KiB from a quarter to half," \
        "at most $wrss_late in the second half; $status_out"
    echo "device:   free memory $free_before -> $free_after bytes"
    echo "samples (s listener_rss_kib fds threads workers largest_worker_rss_kib):"
    printf '  %s\n' "${samples[@]}"
    for c in "${failures[@]}"; do echo "  failed: $c"; done
    for c in "${checks[@]}"; do echo "  check failed: $c"; done
    if ((${#checks[@]})); then echo "result:   FAIL"; else echo "result:   PASS"; fi
} | tee "${summary_file:-/dev/null}"
((${#checks[@]} == 0))

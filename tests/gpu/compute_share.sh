#!/usr/bin/env bash
# The GPU machine's compute-share runs (issue 10), called by tests/gpu/run:
#
#   tests/gpu/compute_share.sh BUILD_DIR LOG_DIR
#
# gpu_compute_share (a loop of kernels that fill the GPU, reporting its own
# kernels per second) through remora-server --backend real over shm, 10 s
# per run (RM_SHARE_SECONDS):
#   1. alone, no share anywhere: the rate of the whole GPU;
#   2. two at once asking for 30% and 70% (REMORA_COMPUTE_SHARE), lending on;
#   3. one alone under --compute-share 30 --no-lend.
# A session's measured share is its rate over the rate of run 1; the
# targets are the shares ±5 points. The server's own accounting (GPU busy
# time measured by its events, from remora status --json over the middle of
# each run) is printed beside it. Prints a summary block; exit status 1 if a
# run failed (a missed target is reported as "NOT met", not a failure).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=scripts/lib/server.sh
source "$root/scripts/lib/server.sh"
build=${1:?usage: compute_share.sh BUILD_DIR LOG_DIR}
logs=${2:?usage: compute_share.sh BUILD_DIR LOG_DIR}
RM_REMORA_LIBDIR=$build/lib
seconds=${RM_SHARE_SECONDS:-10}
bin=$build/bin/gpu_compute_share
remora=$build/bin/remora
trap rm_server_stop EXIT
failed=0

# RM_SHARE_BACKEND=fake tries the script on a machine without a GPU.
start() {
    local tag=$1 backend=(--backend real --driver "$RM_NATIVE_LIBDIR/libcuda.so.1")
    shift
    [[ ${RM_SHARE_BACKEND:-real} == real ]] || backend=(--backend "$RM_SHARE_BACKEND")
    rm_server_start "$build/bin/remora-server" "$logs/server-share-$tag.log" "${backend[@]}" \
        --listen "$(rm_shm_address "gpu-share-$tag")" "$@"
}

# run TAG [VAR=VALUE...]: one client in the background; its pid in $!
run() {
    local tag=$1
    shift
    (
        (($#)) && export "$@"
        RM_SPIN_SECONDS=$seconds rm_run_mode shm "$bin" >"$logs/share-$tag.out" 2>"$logs/share-$tag.err"
    ) &
}

rate() { awk '$1 == "#" && $2 == "rate" { print $3 }' "$logs/share-$1.out"; }

# The server's view of the sessions, at 1/4 and 3/4 of a run: each
# session's busy time between the two over the time between them, in
# percent, by client pid ("pid=percent ...").
server_view() {
    local a b
    sleep "$(awk -v s="$seconds" 'BEGIN { print 0.5 + s / 4 }')"
    a=$("$remora" status --server "$(rm_server_address shm)" --json) || return 0
    sleep "$(awk -v s="$seconds" 'BEGIN { print s / 2 }')"
    b=$("$remora" status --server "$(rm_server_address shm)" --json) || return 0
    python3 - "$a" "$b" "$(awk -v s="$seconds" 'BEGIN { print s / 2 }')" <<'PY'
import json, sys
a = {x["pid"]: x for x in json.loads(sys.argv[1])["sessions"]}
b = {x["pid"]: x for x in json.loads(sys.argv[2])["sessions"]}
span = float(sys.argv[3]) * 1e9
print(" ".join("pid %d: %.1f%% busy (share %d%s)" % (p, 100 * (b[p]["gpu_busy_ns"] - a[p]["gpu_busy_ns"]) / span,
      b[p]["compute_share_percent"], ", pinned" if b[p]["compute_pinned"] else "") for p in sorted(b) if p in a))
PY
}

verdict() { # measured target
    awk -v m="$1" -v t="$2" 'BEGIN { d = m - t; if (d < 0) d = -d; print (d <= 5 ? "met" : "**NOT met**") }'
}

echo "## Compute share (gpu_compute_share over shm, ${seconds} s per run; share = kernels/s over kernels/s alone)"
echo
# 1. alone, without shares
start plain
run alone
pid=$!
wait "$pid" || { failed=1; echo "- alone: failed ($(tail -n 1 "$logs/share-alone.err"))"; }
base=$(rate alone)
echo "- alone, no share: ${base:-?} kernels/s (100%)"

# 2. 30% and 70% at once (the clients ask; the server has no share of its own)
run s30 REMORA_COMPUTE_SHARE=30
p30=$!
run s70 REMORA_COMPUTE_SHARE=70
p70=$!
view=$(server_view || true)
wait "$p30" || { failed=1; echo "- 30%: failed ($(tail -n 1 "$logs/share-s30.err"))"; }
wait "$p70" || { failed=1; echo "- 70%: failed ($(tail -n 1 "$logs/share-s70.err"))"; }
rm_server_stop

# 3. 30% alone, lending off
start pinned --compute-share 30 --no-lend
run pinned
pp=$!
view_pinned=$(server_view || true)
wait "$pp" || { failed=1; echo "- pinned: failed ($(tail -n 1 "$logs/share-pinned.err"))"; }
rm_server_stop

if [[ -n $base ]]; then
    share() { awk -v r="$(rate "$1")" -v b="$base" 'BEGIN { if (r == "") print "?"; else printf "%.1f", 100 * r / b }'; }
    s30=$(share s30) s70=$(share s70) sp=$(share pinned)
    echo "- 30% and 70% at once, lending on: ${s30}% and ${s70}% (targets 30±5: $(verdict "$s30" 30), 70±5: $(verdict "$s70" 70))"
    echo "  server's accounting over the middle half: ${view:-unavailable}"
    echo "- 30% alone, --no-lend: ${sp}% (target 30±5: $(verdict "$sp" 30))"
    echo "  server's accounting over the middle half: ${view_pinned:-unavailable}"
fi
exit "$failed"

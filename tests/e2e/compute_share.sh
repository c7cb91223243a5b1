#!/usr/bin/env bash
# e2e: compute shares on the fake backend, where rm_spin(US) takes US
# microseconds of (fake) GPU time and the server measures it with events.
#   compute_share.sh SPIN_PROGRAM HOLD_PROGRAM
# What is asserted is the server's own accounting, as `remora status --json`
# reports it (each session's busy time in the last window, and in all),
# never how long anything took (a window can hold one kernel that the host
# stretched, so most windows, not all, are asserted on):
# - a session at 30% with lending off (--no-lend) stays at its share;
# - two sessions asking for 30% and 70% split the GPU 30:70;
# - a session at 30% alone with lending on gets more (work-conserving);
# - an unlimited session beside a limited one is neither paced nor measured;
# - a client asking above the operator's share gets the operator's, below
#   it its own; TENSOR_FUSION_CUDA_UP_LIMIT (by UUID in any case, or index)
#   and CUDA_DEVICE_SM_LIMIT are read; bad values of each variable fail
#   cuInit with an error naming it; bad --compute-share values and config
#   entries are refused;
# - with no share anywhere nothing is measured.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/e2e/cli_lib.sh
source "$here/cli_lib.sh"
cli_init compute_share
spin=${1:?usage: compute_share.sh SPIN_PROGRAM HOLD_PROGRAM}
hold=${2:?usage: compute_share.sh SPIN_PROGRAM HOLD_PROGRAM}
export REMORA_FAKE_DEVICES=1
addr=shm://$work/run/share.sock
uuid=GPU-72656d6f-7261-6661-6b65-646576000000 # the fake backend's device 0, in lower case

start_server() {
    rm -f "$work/ready"
    server_start "$work/ready" "$server" --backend fake --listen "$addr" --ready-file "$work/ready" "$@"
}

# start_clients NAME US [VAR=VALUE...] ...: one client_spin per NAME, each
# with its variables; waits until all of them run.
clients=()
start_clients() {
    rm -f "$work/release"
    clients=()
    local spec name us
    for spec in "$@"; do
        read -ra words <<<"$spec"
        name=${words[0]} us=${words[1]}
        rm -f "$work/ready.$name"
        env "${words[@]:2}" REMORA_SERVER="$addr" LD_LIBRARY_PATH="$build_dir/lib" \
            "$spin" "$work/ready.$name" "$work/release" "$us" >"$work/$name.out" 2>&1 &
        clients+=("$!")
    done
    for _ in $(seq 600); do
        local all=1
        for spec in "$@"; do
            read -ra words <<<"$spec"
            [[ -s $work/ready.${words[0]} ]] || all=0
        done
        ((all)) && return 0
        sleep 0.1
    done
    cat "$work"/*.out >&2
    fail "the clients did not start"
}

stop_clients() {
    touch "$work/release"
    local pid
    for pid in "${clients[@]}"; do
        wait "$pid" || { cat "$work"/*.out >&2; fail "a client failed"; }
    done
}

# sample N: N status reports, 0.25 s apart, as JSON lines in $work/samples
sample() {
    : >"$work/samples"
    for _ in $(seq "$1"); do
        REMORA_SERVER=$addr "$remora" status --json | tr -d '\n' >>"$work/samples"
        echo >>"$work/samples"
        sleep 0.25
    done
}

# check PYTHON: asserts over the samples (s: a list of {pid: session}); the
# clients' pids by name in pid.
check() {
    local pids=() name
    for name in "${names[@]}"; do pids+=("$name=$(cat "$work/ready.$name")"); done
    python3 - "$work/samples" "${pids[@]}" <<PY || fail "$1"
import json, sys
s = [{x["pid"]: x for x in json.loads(line)["sessions"]} for line in open(sys.argv[1]) if line.strip()]
pid = {a.split("=")[0]: int(a.split("=")[1]) for a in sys.argv[2:]}
def w(name): return [x[pid[name]]["gpu_busy_window_percent"] for x in s]
def busy(name): return s[-1][pid[name]]["gpu_busy_ns"] - s[0][pid[name]]["gpu_busy_ns"]
def field(name, f): return s[-1][pid[name]][f]
print("window %:", {n: w(n) for n in pid}, file=sys.stderr)
$2
PY
}

# --- one session at 30%, lending off: never above its share ---
start_server --compute-share 30 --no-lend
names=(a)
start_clients "a 2000"
sample 12
check "a pinned 30% session went past its share" '
assert field("a", "compute_share_percent") == 30 and field("a", "compute_pinned") is True
assert sorted(w("a"))[len(w("a")) * 3 // 4] <= 36, w("a")  # a stalled host may stretch one fake kernel
assert sum(w("a")) / len(w("a")) >= 15, w("a")
assert busy("a") > 0'
expect 0 "$remora" status --server "$addr"
grep -E " 30%pin +[0-9.]+% " "$work/out" >/dev/null || fail "the table does not show '30%pin' and the busy time"
stop_clients
server_stop

# --- two sessions asking for 30% and 70% (no operator share), lending on ---
start_server
names=(a b)
start_clients "a 2000 REMORA_COMPUTE_SHARE=30" "b 2000 REMORA_COMPUTE_SHARE=70"
sample 16
check "two sessions at 30% and 70% did not split the GPU 30:70" '
assert field("a", "compute_share_percent") == 30 and field("b", "compute_share_percent") == 70
assert field("a", "compute_pinned") is False
share = busy("a") / (busy("a") + busy("b"))
print("part of a in the busy time:", share, file=sys.stderr)
assert 0.2 <= share <= 0.4, share
assert max(x + y for x, y in list(zip(w("a"), w("b")))[2:]) <= 110'
stop_clients
server_stop

# --- an unlimited session beside a 30% one: the unlimited one is never paced,
# takes no turns and is not measured (its busy time stays 0, as on a server
# without shares); the limited one is measured (and, nobody limited waiting,
# lends itself the rest) ---
start_server
names=(a b)
start_clients "a 2000 REMORA_COMPUTE_SHARE=30" "b 2000"
sample 12
check "an unlimited session was paced or measured beside a limited one" '
assert field("a", "compute_share_percent") == 30 and field("b", "compute_share_percent") == 0
assert field("b", "gpu_busy_ns") == 0, field("b", "gpu_busy_ns")
assert s[-1][pid["b"]]["calls"] > s[0][pid["b"]]["calls"]
assert busy("a") > 0'
stop_clients
server_stop

# --- the operator's 30% with lending: alone, a session gets more; a client
# asking for more gets 30, for less its own; the variables ---
start_server --compute-share 30
names=(a)
start_clients "a 2000"
sample 10
check "a 30% session alone with lending on did not get more" '
assert field("a", "compute_share_percent") == 30 and field("a", "compute_pinned") is False
assert sum(w("a")) / len(w("a")) >= 45, w("a")'
stop_clients
names=(up down tf_uuid tf_index hami hami_index)
start_clients "up 100 REMORA_COMPUTE_SHARE=50" "down 100 REMORA_COMPUTE_SHARE=20" \
    "tf_uuid 100 TENSOR_FUSION_CUDA_UP_LIMIT={\"${uuid^^}\":10,\"0\":25}" \
    "tf_index 100 TENSOR_FUSION_CUDA_UP_LIMIT={\"1\":5,\"0\":25}" \
    "hami 100 CUDA_DEVICE_SM_LIMIT=15" "hami_index 100 CUDA_DEVICE_SM_LIMIT=15 CUDA_DEVICE_SM_LIMIT_0=12"
sample 1
check "the clients' requests were not applied as asked, within the operator's 30%" '
want = {"up": 30, "down": 20, "tf_uuid": 10, "tf_index": 25, "hami": 15, "hami_index": 12}
got = {n: field(n, "compute_share_percent") for n in want}
assert got == want, got'
stop_clients

# Bad values: cuInit fails, naming the variable.
for bad in "REMORA_COMPUTE_SHARE=lots|REMORA_COMPUTE_SHARE='lots' is not a percentage" \
    "REMORA_COMPUTE_SHARE=101|REMORA_COMPUTE_SHARE='101' is not a percentage" \
    "CUDA_DEVICE_SM_LIMIT=-5|CUDA_DEVICE_SM_LIMIT='-5' is not a percentage" \
    "CUDA_DEVICE_SM_LIMIT_0=3x|CUDA_DEVICE_SM_LIMIT_0='3x' is not a percentage" \
    "TENSOR_FUSION_CUDA_UP_LIMIT={\"0\": 150}|TENSOR_FUSION_CUDA_UP_LIMIT='{\"0\": 150}' is not a JSON object" \
    "TENSOR_FUSION_CUDA_UP_LIMIT={\"0\": 30|is not a JSON object of GPU UUIDs or indices to percentages" \
    "TENSOR_FUSION_CUDA_UP_LIMIT=[30]|is not a JSON object" \
    "TENSOR_FUSION_CUDA_UP_LIMIT={\"0\": 30.5}|is not a JSON object"; do
    var=${bad%%|*} msg=${bad#*|}
    expect 1 env "$var" REMORA_SERVER="$addr" LD_LIBRARY_PATH="$build_dir/lib" "$hold" "$work/r" "$work/release"
    expect_in err "$msg"
done
server_stop

# --- no share anywhere: nothing is measured ---
start_server
names=(a)
start_clients "a 500"
sample 3
check "a session was measured on a server without shares" '
assert field("a", "compute_share_percent") == 0 and field("a", "gpu_busy_ns") == 0'
expect 0 "$remora" status --server "$addr"
grep -E " client_spin .* - +- +[0-9]+ " "$work/out" >/dev/null || fail "the table does not show '-' for share and busy time"
stop_clients
server_stop

# --- the operator's options and the config file's keys ---
for bad in "0|'0' is not a percentage" "101|'101' is not a percentage" "30:pin|'30:pin' is not a percentage" \
    "uid:1=x|'uid:1=x': 'x' is not a percentage" "host:a=30|'host:a=30': a tenant is ip:ADDRESS or uid:N"; do
    expect 2 "$server" --backend fake --listen "$addr" --compute-share "${bad%%|*}"
    expect_in err "--compute-share ${bad#*|}"
done
printf '[server]\ncompute-share = 30 uid:1=lots\n' >"$work/bad.conf"
REMORA_CONFIG=$work/bad.conf expect 2 "$server" --backend fake --listen "$addr"
expect_in err "in the config file's [server] compute-share"
printf '[server]\nno-lend = maybe\n' >"$work/bad.conf"
REMORA_CONFIG=$work/bad.conf expect 2 "$server" --backend fake --listen "$addr"
expect_in err "no-lend is 'maybe': true or false"
# The file's share and no-lend apply (a tenant's share wins for it).
printf '[server]\ncompute-share = 80 uid:%s=40:pinned\nno-lend = false\n' "$(id -u)" >"$work/good.conf"
REMORA_CONFIG=$work/good.conf start_server
names=(a)
start_clients "a 100"
sample 1
check "the config file's tenant share did not apply" '
assert field("a", "compute_share_percent") == 40 and field("a", "compute_pinned") is True'
stop_clients
server_stop
echo "PASS compute_share"

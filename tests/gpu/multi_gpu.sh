#!/usr/bin/env bash
# Several GPUs behind one server, on a machine that has two or more (an
# nvidia-h200-x2 here); on fewer it prints "needs 2 GPUs" and exits 0.
#
#   tests/gpu/multi_gpu.sh          (RM_BUILD_DIR=DIR: an existing Release build)
#
# For each server CUDA_VISIBLE_DEVICES (unset, "0", "1", "1,0") a remora-server
# --backend real with an shm and a tcp listener; the multi-device programs
# (test_multi_devices_query, test_multi_device, test_multi_threads,
# test_peer_copies, rt_peer and rt_devices with static and shared cudart) run
# natively (with that CUDA_VISIBLE_DEVICES) and through remora over shm and
# tcp (the client's unset); each must print "PASS" and remora's stdout must
# equal native's, '#' lines aside. One line per program and setting: native
# ok|FAIL, shm and tcp ok|FAIL|DIFFERS; what failed or differed after them. Then an NCCL all-reduce between all GPUs
# from one client process (PyTorch's torch.cuda.nccl, where PyTorch is
# installed), native and through remora, results compared. NVLink multicast
# stays off (NCCL_NVLS_ENABLE=0). Exit status 1 if anything failed.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=scripts/lib/server.sh
source "$root/scripts/lib/server.sh"
export NCCL_NVLS_ENABLE=0
gpus=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU ' || true)
if ((gpus < 2)); then
    echo "multi_gpu: needs 2 GPUs (this machine has ${gpus:-0}): not run"
    exit 0
fi
RM_NATIVE_LIBDIR=${RM_NATIVE_LIBDIR:-/usr/local/nvidia/lib64}
build=${RM_BUILD_DIR:-$root/build-gpu}
work=$(mktemp -d "${TMPDIR:-/tmp}/remora-multi.XXXXXX")
trap 'rm_server_stop; rm -rf -- "$work"' EXIT
[[ -n ${RM_BUILD_DIR:-} ]] || rm_build_release "$root" "$build" "$work/build.log"
export RM_NATIVE_LIBDIR RM_REMORA_LIBDIR=$build/lib
programs=(test_multi_devices_query test_multi_device test_multi_threads test_peer_copies
    rt_peer_static rt_peer_shared rt_devices_static rt_devices_shared)
failed=0
notes=() # what went wrong, printed at the end

# nccl.py: all-reduce (sum) of one tensor per GPU in this one process.
cat >"$work/nccl.py" <<'PY'
import torch, torch.cuda.nccl as nccl
n = torch.cuda.device_count()
xs = [torch.arange(1 << 16, dtype=torch.float32, device=f"cuda:{i}") * (i + 1) for i in range(n)]
nccl.all_reduce(xs)
want = torch.arange(1 << 16, dtype=torch.float32)  # sums stay exact in float32 * (n * (n + 1) // 2)
for i, x in enumerate(xs):
    assert torch.equal(x.cpu(), want), f"GPU {i}"
print(f"nccl all_reduce over {n} GPUs: sum {int(xs[0].double().sum())}")
print("PASS nccl_allreduce")
PY

# one VISIBLE ("-": unset) PROGRAM...: native, shm, tcp; stdout compared.
run_all() {
    local visible=$1 prog mode
    shift
    local vis_env=(-u CUDA_VISIBLE_DEVICES)
    [[ $visible == - ]] || vis_env=(CUDA_VISIBLE_DEVICES="$visible")
    if [[ $visible == - ]]; then unset CUDA_VISIBLE_DEVICES; else export CUDA_VISIBLE_DEVICES=$visible; fi
    rm_server_start "$build/bin/remora-server" "$work/server-$visible.log" --backend real \
        --driver "$RM_NATIVE_LIBDIR/libcuda.so.1" --listen tcp://127.0.0.1:0 --listen "$(rm_shm_address multi)"
    unset CUDA_VISIBLE_DEVICES # the server's selects; the client's stays unset
    for prog in "$@"; do
        local line
        line=$(printf 'several GPUs: %-24s server CUDA_VISIBLE_DEVICES=%-4s' "$prog" "$visible")
        for mode in native shm tcp; do
            local out=$work/$prog.$mode.out cmd=("$build/bin/$prog")
            [[ $prog != *.py ]] || cmd=(python3 "$work/$prog")
            if [[ $mode == native ]]; then
                env "${vis_env[@]}" LD_LIBRARY_PATH="$RM_NATIVE_LIBDIR" timeout 300 "${cmd[@]}" >"$out" 2>&1 || true
            else
                rm_run_mode "$mode" timeout 300 "${cmd[@]}" >"$out" 2>&1 || true
            fi
            if ! grep -q '^PASS' "$out"; then
                line+=" $mode FAIL"
                notes+=("$prog $mode, server CUDA_VISIBLE_DEVICES=$visible: $(grep -m1 -E 'FAIL|error' "$out" || tail -n 1 "$out")")
                failed=1
            elif [[ $mode != native ]] && ! diff -q <(grep -v '^#' "$work/$prog.native.out") <(grep -v '^#' "$out") >/dev/null; then
                line+=" $mode DIFFERS"
                notes+=("$prog $mode, server CUDA_VISIBLE_DEVICES=$visible: $(diff <(grep -v '^#' "$work/$prog.native.out") <(grep -v '^#' "$out") | grep -m2 '^[<>]' | tr '\n' ' ')")
                failed=1
            else
                line+=" $mode ok"
            fi
        done
        echo "$line"
    done
    rm_server_stop
}

for visible in - 0 1 1,0; do
    run_all "$visible" "${programs[@]}"
done
if python3 -c 'import torch.cuda.nccl as n; n.version()' 2>/dev/null; then
    run_all - nccl.py
else
    echo "multi_gpu: no PyTorch with NCCL here: the NCCL all-reduce was not run"
fi
for note in "${notes[@]}"; do echo "  $note"; done
if ((failed == 0)); then echo "several GPUs: all runs passed, remora's output equal to native"; else echo "several GPUs: FAILED"; fi
exit "$failed"

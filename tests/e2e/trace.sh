#!/usr/bin/env bash
# e2e: REMORA_TRACE and remora run --trace on the fake backend.
#   trace.sh LAUNCH_PROGRAM ERRORS_PROGRAM TRACE_PROGRAM
# LAUNCH_PROGRAM (test_launch) traced to a file: every line is one call,
# named as the program called it, with its arguments, result and time;
# the program's own output is untouched. ERRORS_PROGRAM (test_errors):
# calls through pointers from cuGetProcAddress are traced. TRACE_PROGRAM
# (client_trace), traced to stderr: strings, out-parameters, an
# unimplemented call, a failure, a legacy entry point without the newer one
# it uses inside, a second thread. The children of the program append to
# the same file. Unset, empty or 0: no trace; a file that cannot be opened:
# a warning and no trace (remora run --trace=FILE: an error).
# shellcheck disable=SC2016 # the programs' own shells expand them
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/e2e/cli_lib.sh
source "$here/cli_lib.sh"
cli_init trace
launch=${1:?usage: trace.sh LAUNCH_PROGRAM ERRORS_PROGRAM TRACE_PROGRAM}
errors=${2:?usage: trace.sh LAUNCH_PROGRAM ERRORS_PROGRAM TRACE_PROGRAM}
traced=${3:?usage: trace.sh LAUNCH_PROGRAM ERRORS_PROGRAM TRACE_PROGRAM}
line='^remora-trace [0-9]+\.[0-9]+ cu[A-Za-z0-9_]+\(.*\) = (CUDA_[A-Z0-9_]+|-?[0-9]+) <[0-9]+\.[0-9] us>$'

cd "$work"
echo stale >trace.txt
expect 0 "$remora" run --backend fake --trace=trace.txt -- "$launch"
expect_in out "PASS"
grep -q '^remora-trace ' "$work/err" && fail "a trace to a file went to stderr"
grep -q stale trace.txt && fail "--trace=FILE did not empty FILE"
bad=$(grep -Ev "$line" trace.txt | head -3 || true)
[[ -z $bad ]] || fail "not trace lines: $bad"
expect_in trace.txt "cuInit(0) = CUDA_SUCCESS <"
expect_in trace.txt 'cuModuleGetFunction([0x'
expect_in trace.txt ', "rm_vector_add") = CUDA_SUCCESS <'
grep -Eq 'cuMemAlloc_v2\(\[0x[0-9a-f]+\], 4194332\) = CUDA_SUCCESS' trace.txt || fail "no cuMemAlloc_v2 line"
grep -Eq 'cuLaunchKernel\(0x[0-9a-f]+, 4096, 1, 1, 256, 1, 1, 0, 0x[0-9a-f]+, 0x[0-9a-f]+, NULL\) = CUDA_SUCCESS' \
    trace.txt || fail "no cuLaunchKernel line"
expect_in trace.txt "cuLaunchKernelEx("
expect_in trace.txt "cuStreamSynchronize("
expect_in trace.txt "cuMemFree_v2(0x"
[[ $(grep -c 'cuLaunchKernel(' trace.txt) -ge 3 ]] || fail "fewer than 3 cuLaunchKernel lines"

# Entry points from cuGetProcAddress are traced when called.
expect 0 "$remora" run --backend fake --trace=trace.txt -- "$errors"
expect_in trace.txt 'cuGetProcAddress_v2("cuMemsetD32Async", '
expect_in trace.txt 'cuMemsetD32Async_ptsz(0x'
expect_in trace.txt 'cuGetProcAddress("cuMemAlloc", '

# To stderr: REMORA_TRACE=1 (and bare --trace).
REMORA_TRACE=1 expect 0 "$remora" run --backend fake -- "$traced"
expect_in out "PASS client_trace"
grep -q '^remora-trace ' "$work/out" && fail "the trace went to stdout"
expect_in err 'cuDeviceGetName("remora fake device 0", 64, 0) = CUDA_SUCCESS'
expect_in err 'cuDeviceGet([0], 0) = CUDA_SUCCESS'
expect_in err 'cuDeviceGetLuid(...) = CUDA_ERROR_NOT_SUPPORTED'
expect_in err 'cuMemFree_v2(0xdead0000) = CUDA_ERROR_INVALID_VALUE'
expect_in err 'cuDeviceGetUuid(0x'
grep -q 'cuDeviceGetUuid_v2' "$work/err" && fail "a call made inside another was traced"
pid=$(grep -m1 -Eo 'remora-trace [0-9]+\.' "$work/err" | grep -Eo '[0-9]+')
grep -Eq "remora-trace $pid\.$pid cuInit" "$work/err" || fail "cuInit not on the main thread"
grep -Eq "remora-trace $pid\.[0-9]+ cuMemAlloc_v2" "$work/err" || fail "no cuMemAlloc_v2 line"
grep -Eq "remora-trace $pid\.$pid cuMemAlloc_v2" "$work/err" && fail "the second thread's call has the main thread's id"
expect 0 "$remora" run --backend fake --trace -- "$traced"
expect_in err 'cuCtxSetCurrent(0x'

# Children append to the same file.
expect 0 "$remora" run --backend fake --trace="$work/kids.txt" -- sh -c '"$1" && "$1"' sh "$launch"
[[ $(grep -Eo '^remora-trace [0-9]+' kids.txt | sort -u | wc -l) == 2 ]] || fail "not two processes in kids.txt"

# Off.
for value in "" 0; do
    REMORA_TRACE=$value expect 0 "$remora" run --backend fake -- "$traced"
    grep -q '^remora-trace ' "$work/err" && fail "REMORA_TRACE='$value' traced"
done
expect 0 "$remora" run --backend fake -- "$traced"
grep -q '^remora-trace ' "$work/err" && fail "traced without REMORA_TRACE"
REMORA_TRACE=$work/no/such/dir/t expect 0 "$remora" run --backend fake -- "$traced"
expect_in err "REMORA_TRACE: cannot open $work/no/such/dir/t: calls are not traced"
grep -q '^remora-trace ' "$work/err" && fail "traced although the trace file cannot be opened"
expect 1 "$remora" run --backend fake --trace="$work/no/such/dir/t" -- "$traced"
expect_in err "cannot write the trace to $work/no/such/dir/t"
echo "PASS trace"

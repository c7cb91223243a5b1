#!/usr/bin/env bash
# e2e: remora run and remora server on the fake backend.
#   cli_run.sh PROGRAM FORK_PROGRAM
# PROGRAM (test_launch) passes under `remora run --backend fake` on the
# embedded server, which leaves no file behind; the exit status (and 128+N
# for signal N) is passed through; the program's children, and a program
# that forks a CUDA-using child (FORK_PROGRAM, remora_fork), reach the same
# server (its exec'd child too: three sessions); `remora server --backend
# fake --listen ... --ready-file ...` serves
# `remora run --server ADDR`; SIGTERM to remora run is passed to the
# program; --backend real without a driver fails clearly
# without running the program.
# shellcheck disable=SC2016 # the programs' own shells expand them
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/e2e/cli_lib.sh
source "$here/cli_lib.sh"
cli_init cli_run
program=${1:?usage: cli_run.sh PROGRAM FORK_PROGRAM}
fork_program=${2:?usage: cli_run.sh PROGRAM FORK_PROGRAM}
export REMORA_FAKE_DEVICES=2

# The embedded server: the program passes, nothing is left in the runtime folder.
expect 0 "$remora" run --backend fake -- "$program"
expect_in out "PASS"
[[ -z $(ls -A "$XDG_RUNTIME_DIR") ]] || fail "left in $XDG_RUNTIME_DIR: $(ls -A "$XDG_RUNTIME_DIR")"
expect 0 "$remora" run --backend fake "$program" # without --
expect_in out "PASS"

# The program sees remora's library first (also for Triton) and the embedded server's address.
expect 0 "$remora" run --backend fake -- sh -c 'echo "$REMORA_SERVER"; echo "$LD_LIBRARY_PATH"; echo "$TRITON_LIBCUDA_PATH"'
expect_in out "shm://$(cd "$XDG_RUNTIME_DIR" && pwd -P)/remora-run-"
first=$(sed -n 2p "$work/out" | cut -d: -f1)
[[ $first == "$(cd "$build_dir/lib" && pwd -P)" ]] || fail "LD_LIBRARY_PATH starts with $first, not $build_dir/lib"
[[ $(sed -n 3p "$work/out") == "$first" ]] || fail "TRITON_LIBCUDA_PATH is $(sed -n 3p "$work/out"), not $first"
TRITON_LIBCUDA_PATH=/elsewhere expect 0 "$remora" run --backend fake -- sh -c 'echo "$TRITON_LIBCUDA_PATH"'
expect_in out "/elsewhere"

# Exit statuses.
expect 7 "$remora" run --backend fake -- sh -c 'exit 7'
expect 137 "$remora" run --backend fake -- sh -c 'kill -KILL $$'
expect 127 "$remora" run --backend fake -- "$work/no-such-program"
expect_in err "cannot run $work/no-such-program"
[[ -z $(ls -A "$XDG_RUNTIME_DIR") ]] || fail "left in $XDG_RUNTIME_DIR: $(ls -A "$XDG_RUNTIME_DIR")"

# SIGTERM to remora reaches the program; the server is stopped all the same.
"$remora" run --backend fake -- sh -c 'touch "$1"; exec sleep 60' sh "$work/started" 2>"$work/err" &
run_pid=$!
for _ in $(seq 300); do [[ -e $work/started ]] && break; sleep 0.1; done
kill -TERM "$run_pid"
status=0
wait "$run_pid" || status=$?
[[ $status == 143 ]] || fail "remora run exited with $status after SIGTERM, expected 143"
[[ -z $(ls -A "$XDG_RUNTIME_DIR") ]] || fail "left in $XDG_RUNTIME_DIR after SIGTERM: $(ls -A "$XDG_RUNTIME_DIR")"

# Children of the program reach the same server: two sessions in its log.
REMORA_LOG=info expect 0 "$remora" run --backend fake --log "$work/server.log" -- \
    sh -c '"$1" >/dev/null && "$1" >/dev/null && echo "$REMORA_SERVER"' sh "$program"
sessions=$(grep -c 'session [0-9]*: pid' "$work/server.log" || true)
[[ $sessions == 2 ]] || fail "$sessions sessions in the embedded server's log, expected 2"
# A program that forks a CUDA-using child, then forks one that execs a
# CUDA-using program: three clients of the embedded server.
REMORA_LOG=info expect 0 "$remora" run --backend fake --log "$work/fork.log" -- "$fork_program"
expect_in out "exec child ok"
expect_in out "PASS"
sessions=$(grep -c 'session [0-9]*: pid' "$work/fork.log" || true)
[[ $sessions == 3 ]] || fail "$sessions sessions in the embedded server's log for $fork_program, expected 3"

# remora server, and remora run --server with it (no embedded server then).
server_start "$work/ready" "$remora" server --backend fake --listen tcp://127.0.0.1:0 --ready-file "$work/ready"
address=$(head -n 1 "$work/ready")
expect 0 "$remora" run --server "$address" -- "$program"
expect_in out "PASS"
expect 0 "$remora" run --server "$address" -- sh -c 'echo "$REMORA_SERVER"'
expect_in out "$address"
REMORA_SERVER=$address expect 0 "$remora" run -- "$program"
[[ -z $(ls -A "$XDG_RUNTIME_DIR") ]] || fail "an embedded server was started beside --server"
server_stop

# --backend real without a driver: the server's reason, and no program run.
if driver_present; then
    echo "cli_run: an NVIDIA driver is installed: --backend real without one not checked"
else
    expect 1 "$remora" run --backend real -- touch "$work/ran"
    [[ ! -e $work/ran ]] || fail "the program ran without a server"
    expect_in err "no NVIDIA driver found"
    expect_in err "--backend fake"
    expect_in err "touch was not run"
    [[ -z $(ls -A "$XDG_RUNTIME_DIR") ]] || fail "left in $XDG_RUNTIME_DIR: $(ls -A "$XDG_RUNTIME_DIR")"
fi
echo "PASS cli_run"

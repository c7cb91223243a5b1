# shellcheck shell=bash
# Helpers of the remora command's e2e tests (cli_*.sh and others), sourced by them:
#
#   cli_init NAME        a scratch folder $work (removed at exit), $remora and
#                        $server set from RM_BUILD_DIR, and an environment of
#                        its own: no server, token or log level from outside,
#                        REMORA_CONFIG=/dev/null (no config file of the
#                        machine's), XDG_RUNTIME_DIR=$work/run
#   expect STATUS CMD... run CMD (stdout in $work/out, stderr in $work/err);
#                        fail unless it exits with STATUS
#   expect_in FILE TEXT  fail unless FILE (out, err or a path) holds TEXT
#   fail MESSAGE         print MESSAGE and what the last command said; exit 1
#   driver_present       whether the real backend would find an NVIDIA driver
#   wait_for_file FILE PID LOG  wait (up to 60 s) until the program PID has
#                        written FILE (not empty: client_iterate's halfway
#                        file, client_hold's ready file); if it exits first
#                        or never does, print LOG (its output) and return 1
#   server_start READY CMD...  run the server command CMD in the background
#                        (output in $work/server.out) until it writes READY
#   server_stop          SIGTERM it; fail unless it exits 0

cli_init() {
    cli_name=$1
    build_dir=${RM_BUILD_DIR:?RM_BUILD_DIR names the build folder}
    # shellcheck disable=SC2034 # used by the tests that source this
    remora=$build_dir/bin/remora server=$build_dir/bin/remora-server
    work=$(mktemp -d "${TMPDIR:-/tmp}/remora-$cli_name.XXXXXX")
    # shellcheck disable=SC2064 # $work is fixed now
    trap 'server_stop_quietly; rm -rf -- "$work"' EXIT
    mkdir -m 700 "$work/run"
    unset REMORA_SERVER REMOTE_GPU_ADDRESS REMORA_TOKEN REMORA_LOG REMORA_DRIVER XDG_CONFIG_HOME
    export REMORA_CONFIG=/dev/null XDG_RUNTIME_DIR=$work/run
    : >"$work/out"
    : >"$work/err"
}

fail() {
    echo "FAIL $cli_name: $*" >&2
    echo "---- stdout ----" >&2
    cat "$work/out" >&2
    echo "---- stderr ----" >&2
    cat "$work/err" >&2
    exit 1
}

expect() {
    local want=$1 status=0
    shift
    timeout 120 "$@" >"$work/out" 2>"$work/err" || status=$?
    [[ $status == "$want" ]] || fail "$* exited with $status, expected $want"
}

expect_in() {
    local file=$1
    [[ $file == /* ]] || file=$work/$file
    grep -qF -- "$2" "$file" || fail "'$2' not in $1"
}

# The places remora-server's real backend looks (src/server/backend_real.c).
driver_present() {
    local p
    for p in /usr/local/nvidia/lib64 /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib /usr/local/cuda/compat; do
        [[ -e $p/libcuda.so.1 ]] && return 0
    done
    return 1
}

wait_for_file() {
    local file=$1 pid=$2 log=$3 tries=600
    while [[ ! -s $file ]] && ((tries-- > 0)) && kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    [[ -s $file ]] || { cat "$log" >&2; return 1; }
}

server_pid=""
server_start() {
    local ready=$1
    shift
    "$@" >"$work/server.out" 2>&1 &
    server_pid=$!
    wait_for_file "$ready" "$server_pid" "$work/server.out" || fail "the server ($*) did not get ready"
}

server_stop() {
    kill -TERM "$server_pid"
    local status=0
    wait "$server_pid" || status=$?
    server_pid=""
    [[ $status == 0 ]] || fail "the server exited with $status on SIGTERM"
}

server_stop_quietly() {
    [[ -z $server_pid ]] || kill -KILL "$server_pid" 2>/dev/null || true
}

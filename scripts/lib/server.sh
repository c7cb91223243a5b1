# shellcheck shell=bash
# Start and stop a remora-server, and run programs against it, from test and
# benchmark scripts.
#
# Sourced (never run) by tests/e2e/with_server.sh, tests/gpu/run and bench/run,
# so that all three start, wait for, reach and stop the server the same way:
#
#   rm_server_start BIN LOG ARGS...   start BIN ARGS... --ready-file F in the
#                                     background, logging to LOG; wait until F
#                                     lists one address per --listen
#   rm_server_address tcp|shm         the resolved address of that listener
#   rm_server_stop                    SIGTERM, SIGKILL after a grace period
#   rm_server_print_log all|LINES     the server log (or its last LINES) to stderr
#   rm_shm_address TAG                a fresh shm:///tmp/remora-TAG-<pid>-<random>.sock
#
# GPU-machine scripts (tests/gpu/run, bench/run) also use:
#   rm_build_release ROOT BUILD LOG   cmake configure + build, Release
#   rm_run_mode native|shm|tcp|tls|ucx|ucx_shm|ucx_tcp CMD...
#                                     run CMD on the native driver
#                                     (LD_LIBRARY_PATH=$RM_NATIVE_LIBDIR) or on
#                                     remora's libcuda ($RM_REMORA_LIBDIR) through
#                                     the started server's shm, tcp, tls or ucx listener
#                                     (tls: at localhost, REMORA_TLS_CA set by the caller;
#                                     ucx_shm, ucx_tcp: the client's UCX_TLS=shm or tcp)
#   rm_have_ucx BUILD                 whether BUILD was built with the ucx transport
#   rm_check_libcuda BIN              fail unless each mode loads the intended libcuda
#   rm_gpu_info                       "GPU name, driver version" from nvidia-smi
#
# Tunables (environment): RM_SERVER_READY_TIMEOUT (seconds, default 10),
# RM_SERVER_STOP_GRACE (seconds, default 5). REMORA_TOKEN and the rest of the
# environment pass through to the server unchanged. REMORA_CONFIG defaults to
# /dev/null here, so a config file of the machine's or the user's
# (~/.config/remora/remora.conf, /etc/remora/remora.conf) does not change
# what the tests and benchmarks run.

export REMORA_CONFIG=${REMORA_CONFIG:-/dev/null}

RM_SERVER_PID=""
RM_SERVER_LOG=""
RM_SERVER_READY=""
RM_SERVER_DIR=""
RM_SERVER_SOCKETS=()

# Write an executable script at PATH that runs BINARY with its arguments
# after the shell lines given (ulimit, trap): a server under limits.
#   rm_server_wrapper PATH BINARY LINE...
rm_server_wrapper() {
    local path=$1 bin=$2
    shift 2
    { echo '#!/usr/bin/env bash'; printf '%s\n' "$@"; printf 'exec %q "$@"\n' "$bin"; } >"$path"
    chmod +x "$path"
}

rm_shm_address() {
    printf 'shm:///tmp/remora-%s-%s-%s%s.sock\n' "$1" "$$" "$RANDOM" "$RANDOM"
}

rm_server_print_log() {
    local lines=$1
    [[ -n $RM_SERVER_LOG && -f $RM_SERVER_LOG ]] || return 0
    echo "---- remora-server log ($RM_SERVER_LOG, $lines lines) ----" >&2
    if [[ $lines == all ]]; then
        cat "$RM_SERVER_LOG" >&2
    else
        tail -n "$lines" "$RM_SERVER_LOG" >&2
    fi
    echo "---- end of server log ----" >&2
}

rm_server_alive() {
    [[ -n $RM_SERVER_PID ]] && kill -0 "$RM_SERVER_PID" 2>/dev/null
}

# Number of complete lines in the ready file (0 while it does not exist).
rm__ready_lines() {
    if [[ -f $RM_SERVER_READY ]]; then wc -l <"$RM_SERVER_READY"; else echo 0; fi
}

rm_server_start() {
    local bin=$1 log=$2
    shift 2
    local arg prev="" listeners=0
    for arg in "$@"; do
        if [[ $prev == --listen ]]; then
            listeners=$((listeners + 1))
            [[ $arg == shm:///* ]] && RM_SERVER_SOCKETS+=("${arg#shm://}")
        fi
        prev=$arg
    done
    if [[ ! -x $bin ]]; then
        echo "rm_server_start: no server executable at $bin" >&2
        return 1
    fi
    RM_SERVER_DIR=$(mktemp -d "${TMPDIR:-/tmp}/remora-server.XXXXXX")
    RM_SERVER_READY=$RM_SERVER_DIR/ready
    RM_SERVER_LOG=$log
    "$bin" "$@" --ready-file "$RM_SERVER_READY" >"$log" 2>&1 &
    RM_SERVER_PID=$!

    local timeout=${RM_SERVER_READY_TIMEOUT:-10} waited=0
    while (($(rm__ready_lines) < listeners)); do
        if ! rm_server_alive; then
            echo "remora-server exited before it was ready ($bin $*)" >&2
            rm_server_print_log all
            RM_SERVER_PID=""
            return 1
        fi
        if ((waited >= timeout * 10)); then
            echo "remora-server not ready after ${timeout}s ($bin $*)" >&2
            rm_server_print_log all
            rm_server_stop
            return 1
        fi
        sleep 0.1
        waited=$((waited + 1))
    done
}

rm_server_address() {
    local addr
    addr=$(grep -m1 "^$1://" "$RM_SERVER_READY" 2>/dev/null) || true
    if [[ -z $addr ]]; then
        echo "rm_server_address: no $1 listener in $RM_SERVER_READY" >&2
        return 1
    fi
    printf '%s\n' "$addr"
}

# Safe to call more than once and when no server was started.
rm_server_stop() {
    if rm_server_alive; then
        kill -TERM "$RM_SERVER_PID" 2>/dev/null || true
        local grace=${RM_SERVER_STOP_GRACE:-5} waited=0
        while rm_server_alive && ((waited < grace * 10)); do
            sleep 0.1
            waited=$((waited + 1))
        done
        if rm_server_alive; then
            echo "remora-server did not stop within ${grace}s of SIGTERM; killing it" >&2
            kill -KILL "$RM_SERVER_PID" 2>/dev/null || true
        fi
    fi
    if [[ -n $RM_SERVER_PID ]]; then
        wait "$RM_SERVER_PID" 2>/dev/null || true
    fi
    RM_SERVER_PID=""
    local sock
    for sock in "${RM_SERVER_SOCKETS[@]}"; do rm -f -- "$sock"; done
    RM_SERVER_SOCKETS=()
    [[ -n $RM_SERVER_DIR ]] && rm -rf -- "$RM_SERVER_DIR"
    RM_SERVER_DIR=""
    return 0
}

# A UCX tree (REMORA_UCX_ROOT, else ROOT/.ucx from scripts/ucx-bundle where it
# is) is built against; else the system's UCX where there is one.
rm_build_release() {
    local root=$1 build=$2 log=$3 ucx=()
    local ucx_root=${REMORA_UCX_ROOT:-$root/.ucx}
    [[ ! -f $ucx_root/usr/include/ucp/api/ucp.h ]] || ucx=(-DREMORA_UCX_ROOT="$ucx_root")
    if ! { cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release "${ucx[@]}" &&
        cmake --build "$build" -j "$(nproc)"; } >"$log" 2>&1; then
        echo "build failed (log: $log):" >&2
        tail -n 40 "$log" >&2
        return 1
    fi
}

RM_NATIVE_LIBDIR=${RM_NATIVE_LIBDIR:-/usr/local/nvidia/lib64}
RM_REMORA_LIBDIR=${RM_REMORA_LIBDIR:-}

rm_run_mode() {
    local mode=$1 addr
    shift
    case $mode in
        native) env -u REMORA_SERVER LD_LIBRARY_PATH="$RM_NATIVE_LIBDIR" "$@" ;;
        shm | tcp)
            addr=$(rm_server_address "$mode") || return 1
            env REMORA_SERVER="$addr" LD_LIBRARY_PATH="$RM_REMORA_LIBDIR" "$@"
            ;;
        ucx | ucx_shm | ucx_tcp)
            addr=$(rm_server_address ucx) || return 1
            if [[ $mode == ucx ]]; then
                env REMORA_SERVER="$addr" LD_LIBRARY_PATH="$RM_REMORA_LIBDIR" "$@"
            else
                env UCX_TLS="${mode#ucx_}" REMORA_SERVER="$addr" LD_LIBRARY_PATH="$RM_REMORA_LIBDIR" "$@"
            fi
            ;;
        tls) # tests/e2e/tls_certs.sh's server certificate names localhost
            addr=$(rm_server_address tls) || return 1
            env REMORA_SERVER="tls://localhost:${addr##*:}" LD_LIBRARY_PATH="$RM_REMORA_LIBDIR" "$@"
            ;;
        *)
            echo "rm_run_mode: unknown mode $mode" >&2
            return 2
            ;;
    esac
}

# A remora run that silently loaded the real driver would "pass" and compare
# identical, so check where libcuda.so.1 resolves in each mode first.
rm_check_libcuda() {
    local bin=$1 mode lib ok=0
    for mode in native shm tcp; do
        lib=$(rm_run_mode "$mode" ldd "$bin" | awk '$1 == "libcuda.so.1" { print $3; exit }')
        [[ -z $lib ]] || lib=$(readlink -f "$lib")
        echo "libcuda ($mode): ${lib:-not found}"
        case $mode in
            native) [[ $lib != "$(readlink -f "$RM_REMORA_LIBDIR")"/* && $lib == /* ]] || ok=1 ;;
            *) [[ $lib == "$(readlink -f "$RM_REMORA_LIBDIR")"/* ]] || ok=1 ;;
        esac
    done
    ((ok == 0)) || echo "libcuda.so.1 does not resolve as intended" \
        "(native: $RM_NATIVE_LIBDIR, remora: $RM_REMORA_LIBDIR)" >&2
    return "$ok"
}

rm_gpu_info() {
    nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -n 1 ||
        echo "unknown GPU, unknown driver"
}

rm_have_ucx() { [[ -f $1/ucx-enabled ]]; }

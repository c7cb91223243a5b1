#!/usr/bin/env bash
# Run one driver-API program against a freshly started remora-server (fake backend).
#
#   with_server.sh tcp|tls|shm|ucx_shm|ucx_tcp BINARY [ARGS...]
#
# Starts $RM_BUILD_DIR/bin/remora-server --backend fake on a TCP loopback port
# (tls: with certificates made for the run by tls_certs.sh, the client at
# tls://localhost:PORT with REMORA_TLS_CA), a UCX listener (ucx_shm, ucx_tcp:
# ucx://127.0.0.1:PORT with UCX_TLS=shm or tcp for both sides, remora built
# with UCX) or a private shm socket, points the program at it (REMORA_SERVER, and
# LD_LIBRARY_PATH=$RM_BUILD_DIR/lib so it loads remora's libcuda.so.1), runs it,
# stops the server and exits with the program's status. CTest sets RM_BUILD_DIR;
# by hand it defaults to the directory above BINARY's (build/bin/test_x -> build).
# The server sees REMORA_FAKE_DEVICES=2 (unless set) so test_multi_device has
# two devices; REMORA_TOKEN, if set, reaches both sides; RM_SERVER_ARGS (words)
# are more server options.
set -euo pipefail

usage() {
    echo "usage: $0 tcp|tls|shm|ucx_shm|ucx_tcp BINARY [ARGS...]" >&2
    exit 2
}
(($# >= 2)) || usage
transport=$1
binary=$2
shift 2
case $transport in
    tcp) listen=tcp://127.0.0.1:0 ;;
    tls) listen=tls://127.0.0.1:0 ;;
    ucx_shm | ucx_tcp) listen=ucx://127.0.0.1:0 && export UCX_TLS=${transport#ucx_} ;;
    shm) listen="" ;; # chosen below, once the library is sourced
    *) usage ;;
esac
[[ -x $binary ]] || { echo "$0: $binary is not an executable" >&2; exit 2; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib/server.sh
source "$here/../../scripts/lib/server.sh"

build_dir=${RM_BUILD_DIR:-$(cd "$(dirname "$binary")/.." && pwd)}
[[ -n $listen ]] || listen=$(rm_shm_address e2e)
export REMORA_FAKE_DEVICES=${REMORA_FAKE_DEVICES:-2}
[[ -z ${REMORA_TOKEN:-} ]] || export REMORA_TOKEN

log_dir=$(mktemp -d "${TMPDIR:-/tmp}/remora-e2e.XXXXXX")
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
    rm_server_stop
    rm -rf -- "$log_dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

read -ra server_args <<<"${RM_SERVER_ARGS:-}"
if [[ $transport == tls ]]; then
    "$here/tls_certs.sh" "$log_dir/certs"
    server_args+=(--tls-cert "$log_dir/certs/server.pem" --tls-key "$log_dir/certs/server.key")
    export REMORA_TLS_CA=$log_dir/certs/ca.pem
fi
rm_server_start "$build_dir/bin/remora-server" "$log_dir/server.log" \
    --backend fake --listen "$listen" "${server_args[@]}" || exit 1
REMORA_SERVER=$(rm_server_address "${transport%_*}")
[[ $transport != tls ]] || REMORA_SERVER=tls://localhost:${REMORA_SERVER##*:} # the certificate's name
export REMORA_SERVER
export RM_SERVER_PID # for tests that stop the server on purpose
export LD_LIBRARY_PATH="$build_dir/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

status=0
"$binary" "$@" || status=$?
if ((status != 0)); then
    echo "$0: $(basename "$binary") over $transport ($REMORA_SERVER) exited with $status" >&2
    rm_server_print_log 100
elif [[ -z ${RM_EXPECT_SERVER_EXIT:-} ]] && ! rm_server_alive; then
    echo "$0: warning: remora-server died during the run" >&2
    rm_server_print_log 100
fi
exit "$status"

#!/usr/bin/env bash
# e2e: what encrypts a tls:// stream is said, and either way the bytes
# arrive. PROGRAM (test_striped_copies: striped copies, each stream a TLS
# connection of its own) runs over tls:// three times:
#  - default (REMORA_TLS_KTLS unset): kernel TLS is tried; on a kernel
#    without the tls module (no "tls" in tcp_available_ulp) both sides must
#    say that OpenSSL encrypts because there is no kernel TLS here: the
#    fallback; where the module is loaded they must say kernel TLS;
#  - REMORA_TLS_KTLS=0 on both sides: both say so, OpenSSL encrypts;
#  - REMORA_TLS_KTLS=7 (bad): a warning naming the variable, then the default.
# Each stream's line names the protocol and an AES-GCM cipher (AES-GCM
# first), and says the session was resumed (each TLS #2 offers the session
# of its TLS #1, and the helpers the session of the first channel).
#   tls_encryption.sh PROGRAM   (PROGRAM prints PASS)
set -euo pipefail
program=$1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib/server.sh
source "$here/../../scripts/lib/server.sh"
build_dir=${RM_BUILD_DIR:?}
work=$(mktemp -d "${TMPDIR:-/tmp}/remora-tls-enc.XXXXXX")
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() { rm_server_stop; rm -rf -- "$work"; }
trap cleanup EXIT
"$here/tls_certs.sh" "$work/certs"
certs=$work/certs
export LD_LIBRARY_PATH=$build_dir/lib REMORA_TLS_CA=$certs/ca.pem REMORA_STRIPE_MIN=1048576 REMORA_TCP_STREAMS=4

fail() { echo "FAIL tls_encryption: $*" >&2; rm_server_print_log all; exit 1; }

if grep -qw tls /proc/sys/net/ipv4/tcp_available_ulp 2>/dev/null; then
    default_says="encryption: kernel TLS"
else
    default_says="encryption: OpenSSL (no kernel TLS here"
fi

# $1: what it is; $2: what each stream's line must say; the rest: VAR=VALUE for both sides.
run() {
    local what=$1 says=$2
    shift 2
    rm_server_stop
    local kv
    for kv in REMORA_LOG=info "$@"; do export "${kv?}"; done # the server's and the client's
    rm_server_start "$build_dir/bin/remora-server" "$work/server.log" --backend fake --listen tls://127.0.0.1:0 \
        --tls-cert "$certs/server.pem" --tls-key "$certs/server.key"
    local port
    port=$(rm_server_address tls | sed 's/.*://')
    REMORA_SERVER="tls://localhost:$port" "$program" >"$work/out" 2>"$work/err" ||
        { cat "$work/err" >&2; fail "$what: the program failed"; }
    rm_server_stop
    for kv in REMORA_LOG=info "$@"; do unset "${kv%%=*}"; done
    grep -q '^PASS ' "$work/out" || fail "$what: the program did not print PASS"
    local side
    for side in client:"$work/err" server:"$work/server.log"; do
        local file=${side#*:} lines
        lines=$(grep "tls: TLSv1\.[23] TLS_AES_128_GCM_SHA256, \(session resumed\|full handshake\), " "$file" |
            grep -cF "$says" || true)
        # the client: its first channel and the striped copies' helpers, one stream each
        ((lines >= 2)) || { cat "$file" >&2; fail "$what: the ${side%%:*} has $lines stream lines saying '$says'"; }
    done
    # TLS #2 offers the session of TLS #1: every stream resumes
    if grep "encryption:" "$work/err" | grep -q "full handshake"; then
        cat "$work/err" >&2
        fail "$what: a stream of the client did not resume its session"
    fi
    echo "ok: $what: $(grep -m1 "encryption:" "$work/err")"
}

run "kernel TLS tried (the default)" "$default_says"
run "REMORA_TLS_KTLS=0" "encryption: OpenSSL (REMORA_TLS_KTLS=0)" REMORA_TLS_KTLS=0
run "REMORA_TLS_KTLS=7, a bad value" "$default_says" REMORA_TLS_KTLS=7
grep -q "REMORA_TLS_KTLS=7: want a number up to 1" "$work/err" || fail "no warning for REMORA_TLS_KTLS=7"
echo "PASS tls_encryption"

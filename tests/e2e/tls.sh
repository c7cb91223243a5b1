#!/usr/bin/env bash
# e2e: the tls:// transport. With certificates made here (tls_certs.sh), a
# driver-API program passes over TLS (also with a token on top, and with a
# client certificate when the server requires one); a wrong CA, a wrong host
# name, an expired server certificate, a missing client certificate, a plain
# tcp:// client at a TLS server and a tls:// client at a plain server each
# fail with an error that names the cause, within the connect deadline. A
# peer silent in its TLS handshake does not hold the others up.
#   tls.sh PROGRAM   (PROGRAM: a driver-API test program that prints PASS)
set -euo pipefail
program=$1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib/server.sh
source "$here/../../scripts/lib/server.sh"
build_dir=${RM_BUILD_DIR:?}
work=$(mktemp -d "${TMPDIR:-/tmp}/remora-tls.XXXXXX")
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() { rm_server_stop; rm -rf -- "$work"; }
trap cleanup EXIT
"$here/tls_certs.sh" "$work/certs"
certs=$work/certs
export LD_LIBRARY_PATH=$build_dir/lib REMORA_CONNECT_TIMEOUT=5 REMORA_TLS_CA=$certs/ca.pem

# $1: what it is; $2: the address; the rest: VAR=VALUE settings for the client.
expect_pass() {
    local what=$1 addr=$2
    shift 2
    env REMORA_SERVER="$addr" "$@" "$program" >"$work/out" 2>"$work/err" ||
        { cat "$work/err" >&2; rm_fail "$what: the program failed"; }
    grep -q '^PASS ' "$work/out" || rm_fail "$what: the program did not print PASS"
    echo "ok: $what"
}

# $1: what it is; $2: what the client's error must say; $3: the address; the rest: settings.
expect_refused() {
    local what=$1 says=$2 addr=$3
    shift 3
    if env REMORA_SERVER="$addr" "$@" timeout 60 "$program" >"$work/out" 2>"$work/err"; then
        rm_fail "$what: the program was served"
    fi
    grep -q "$says" "$work/err" ||
        { cat "$work/err" >&2; rm_fail "$what: the client's error does not say '$says'"; }
    echo "ok: $what: $(grep -m1 "$says" "$work/err")"
}

rm_server_start_scheme tls "$work/server.log" --tls-cert "$certs/server.pem" --tls-key "$certs/server.key"
expect_pass "good certificate" "tls://localhost:$RM_SERVER_PORT"
# a peer silent in the listener's TLS handshake (half a record sent) holds only its own slot
exec 3<>"/dev/tcp/127.0.0.1/$RM_SERVER_PORT"
printf '\x16\x03\x01' >&3
expect_pass "good certificate while a peer is silent in its TLS handshake" "tls://localhost:$RM_SERVER_PORT"
exec 3>&-
expect_refused "wrong CA" "certificate failed verification: unable to get local issuer certificate" \
    "tls://localhost:$RM_SERVER_PORT" REMORA_TLS_CA="$certs/other-ca.pem"
expect_refused "wrong host name" "certificate failed verification: IP address mismatch" \
    "tls://127.0.0.1:$RM_SERVER_PORT"
expect_refused "no CA given" "set REMORA_TLS_CA" "tls://localhost:$RM_SERVER_PORT" REMORA_TLS_CA=
expect_refused "plain tcp client at a TLS server" "takes TLS clients only: connect with tls://" \
    "tcp://localhost:$RM_SERVER_PORT"

rm_server_start_scheme tls "$work/server.log" --tls-cert "$certs/expired.pem" --tls-key "$certs/expired.key"
expect_refused "expired server certificate" "certificate failed verification: certificate has expired" \
    "tls://localhost:$RM_SERVER_PORT"

rm_server_start_scheme tls "$work/server.log" --tls-cert "$certs/server.pem" --tls-key "$certs/server.key" \
    --tls-client-ca "$certs/ca.pem"
expect_pass "client certificate (mutual TLS)" "tls://localhost:$RM_SERVER_PORT" \
    REMORA_TLS_CERT="$certs/client.pem" REMORA_TLS_KEY="$certs/client.key"
expect_refused "no client certificate" "certificate required" "tls://localhost:$RM_SERVER_PORT"
grep -q "peer did not return a certificate" "$work/server.log" || rm_fail "the server log does not say why"
expect_refused "client certificate without its key" "set both REMORA_TLS_CERT and REMORA_TLS_KEY" \
    "tls://localhost:$RM_SERVER_PORT" REMORA_TLS_CERT="$certs/client.pem"

rm_server_start_scheme tcp "$work/server.log"
expect_refused "TLS client at a plain server" "does not speak TLS: connect with tcp://" \
    "tls://localhost:$RM_SERVER_PORT"

# the shared-secret token works on top of TLS
REMORA_TOKEN=s3cret rm_server_start_scheme tls "$work/server.log" \
    --tls-cert "$certs/server.pem" --tls-key "$certs/server.key"
expect_pass "token over TLS" "tls://localhost:$RM_SERVER_PORT" REMORA_TOKEN=s3cret
expect_refused "wrong token over TLS" "wrong REMORA_TOKEN" "tls://localhost:$RM_SERVER_PORT" REMORA_TOKEN=wrong

# bad server options are told at start
for bad in "--listen tls://127.0.0.1:0" \
    "--listen tls://127.0.0.1:0 --tls-cert $certs/server.pem --tls-key $certs/other-ca.key" \
    "--listen tcp://127.0.0.1:0 --tls-cert $certs/server.pem --tls-key $certs/server.key"; do
    # shellcheck disable=SC2086 # words on purpose
    if timeout 30 "$build_dir/bin/remora-server" --backend fake $bad >/dev/null 2>"$work/err"; then
        rm_fail "a server started with: $bad"
    fi
    grep -q -- "--tls-\|tls: server key" "$work/err" || { cat "$work/err" >&2; rm_fail "no clear error for: $bad"; }
    echo "ok: refused at start: $bad: $(head -1 "$work/err")"
done
echo "PASS tls"

#!/usr/bin/env bash
# e2e: over tls:// nothing of the remora handshake crosses the network in
# clear. A recording proxy between the clients and a TLS server with a
# token sees a program run (its session held halfway), remora status and
# remora checkpoint of that session pass through it; the recording of both
# directions holds no remora hello or welcome (their magic and version), and
# neither the token, the program's name nor the host name (if long
# enough not to occur by chance).
#   tls_hello_private.sh ITERATE_PROGRAM   (client_iterate)
set -euo pipefail
program=${1:?usage: tls_hello_private.sh ITERATE_PROGRAM}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib/server.sh
source "$here/../../scripts/lib/server.sh"
# shellcheck source=tests/e2e/cli_lib.sh
source "$here/cli_lib.sh"
build_dir=${RM_BUILD_DIR:?}
work=$(mktemp -d "${TMPDIR:-/tmp}/remora-tls-hello.XXXXXX")
proxy_pid=""
run_pid=""
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
    [[ -z $run_pid ]] || kill "$run_pid" 2>/dev/null || true
    [[ -z $proxy_pid ]] || kill "$proxy_pid" 2>/dev/null || true
    rm_server_stop
    rm -rf -- "$work"
}
trap cleanup EXIT

"$here/tls_certs.sh" "$work/certs"
certs=$work/certs
token=tok-$RANDOM$RANDOM-secret
export LD_LIBRARY_PATH=$build_dir/lib REMORA_CONNECT_TIMEOUT=5 REMORA_TLS_CA=$certs/ca.pem REMORA_TOKEN=$token
rm_server_start_scheme tls "$work/server.log" --tls-cert "$certs/server.pem" --tls-key "$certs/server.key"

python3 "$here/record_proxy.py" "$RM_SERVER_PORT" "$work/proxy.port" "$work/rec" &
proxy_pid=$!
for _ in $(seq 100); do [[ -s $work/proxy.port ]] && break; sleep 0.1; done
[[ -s $work/proxy.port ]] || rm_fail "the proxy did not start"
addr=tls://localhost:$(cat "$work/proxy.port")
remora=$build_dir/bin/remora

env REMORA_SERVER="$addr" "$program" 20000 10 "$work/halfway" "$work/release" >"$work/run.out" 2>&1 &
run_pid=$!
wait_for_file "$work/halfway" "$run_pid" "$work/run.out" || rm_fail "the program did not get halfway"

"$remora" status --server "$addr" --json >"$work/status" 2>&1 || { cat "$work/status" >&2; rm_fail "remora status"; }
id=$(python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))["sessions"]
assert len(s) == 1 and s[0]["program"] == "client_iterate", s
print(s[0]["id"])' "$work/status") || rm_fail "remora status over tls:// does not list the program: $(cat "$work/status")"
echo "ok: remora status over tls:// lists session $id"
"$remora" checkpoint "$id" --to "$work/ck" --server "$addr" >"$work/ck.out" 2>&1 ||
    { cat "$work/ck.out" >&2; rm_fail "remora checkpoint over tls://"; }
grep -q "checkpoint of session $id" "$work/ck.out" || rm_fail "remora checkpoint said: $(cat "$work/ck.out")"
echo "ok: remora checkpoint over tls://: $(cat "$work/ck.out")"
touch "$work/release"
wait "$run_pid" || { cat "$work/run.out" >&2; rm_fail "the program failed"; }
run_pid=""
grep -q "^PASS client_iterate" "$work/run.out" || rm_fail "the program did not print PASS"
echo "ok: the program ran over tls:// through the proxy"

kill "$proxy_pid"
wait "$proxy_pid" 2>/dev/null || true
proxy_pid=""
# the start of every hello and welcome: the magic "RMOR", then the protocol version (4 bytes, little-endian)
version=$(sed -n 's/^#define RM_PROTO_VERSION \([0-9]*\)u.*/\1/p' "$here/../../include/remora/protocol.h")
host=$(hostname)
((${#host} >= 8)) || host="" # a shorter one may occur by chance in the ciphertext
for dir in up down; do
    [[ -s $work/rec.$dir ]] || rm_fail "nothing recorded $dir"
    found=$(python3 -c '
import struct, sys
data = open(sys.argv[1], "rb").read()
secrets = {"a hello or welcome": b"RMOR" + struct.pack("<I", int(sys.argv[2]))}
for name, text in zip(("the token", "the program name", "the host name"), sys.argv[3:]):
    if text:
        secrets[name] = text.encode()
print(", ".join(name for name, b in secrets.items() if b in data))' \
        "$work/rec.$dir" "$version" "$token" client_iterate "$host")
    [[ -z $found ]] || rm_fail "in clear on the network ($dir, $(stat -c %s "$work/rec.$dir") bytes recorded): $found"
    echo "ok: $(stat -c %s "$work/rec.$dir") bytes $dir: no hello, welcome, token, program or host name in clear"
done
echo "PASS tls_hello_private"

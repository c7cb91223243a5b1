#!/usr/bin/env bash
# e2e: REMORA_EMULATE in a CUDA program. With a good spec the program runs
# through the emulated link (the client library says so at REMORA_LOG=info);
# a bad one fails the program's first call, with an error naming the field.
# That the emulated link takes the time it should is unit.test_emul_accuracy.
#
#   emulate.sh tcp|shm BINARY
set -euo pipefail
transport=$1
binary=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=$(mktemp "${TMPDIR:-/tmp}/remora-emulate.XXXXXX")
trap 'rm -f -- "$out"' EXIT

fail() {
    echo "FAIL emulate ($transport): $*" >&2
    cat "$out" >&2
    exit 1
}

REMORA_EMULATE=rtt=100us,bw=10Gbit,jitter=10us REMORA_LOG=info \
    "$here/with_server.sh" "$transport" "$binary" >"$out" 2>&1 || fail "the program failed"
grep -q "emulating a link: REMORA_EMULATE=rtt=100us,bw=10Gbit,jitter=10us" "$out" ||
    fail "no sign of the emulator"

if REMORA_EMULATE=rtt=100us,bw=10Gbt "$here/with_server.sh" "$transport" "$binary" >"$out" 2>&1; then
    fail "ran with a bad REMORA_EMULATE"
fi
grep -q "REMORA_EMULATE='rtt=100us,bw=10Gbt': bw=10Gbt: unknown unit 'Gbt'" "$out" ||
    fail "the error does not name the bad field"
echo "PASS emulate ($transport)"

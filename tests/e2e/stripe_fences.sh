#!/usr/bin/env bash
# e2e: a striped host-to-device copy sends no fences (stripe_fences.c says
# why), counted by REMORA_STATS, and its bytes arrive.
#   stripe_fences.sh tcp|tls PROGRAM
set -euo pipefail
transport=$1 program=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/remora-stripe-fences.XXXXXX")
trap 'rm -rf -- "$work"' EXIT
fail() { echo "FAIL stripe_fences: $*" >&2; cat "$work/err" >&2; exit 1; }

REMORA_STATS=1 REMORA_TCP_STREAMS=4 "$here/with_server.sh" "$transport" "$program" >"$work/out" 2>"$work/err" ||
    fail "the program failed"
grep -q '^remora statistics' "$work/err" || fail "no statistics table"
awk '$1 == "memcpy_htod_async" && $2 > 0 { ok = 1 } END { exit !ok }' "$work/err" ||
    fail "no piece went as an async message: nothing was tested"
# each of the 4 helpers waits once, in the first copy, for the thread's own
# earlier async call (setting its context); nothing else waits
fences=$(awk '$1 == "fence" { print $2 }' "$work/err")
((${fences:-0} <= 4)) || fail "$fences fences sent: the parts of a striped copy waited for one another"
echo "PASS stripe_fences $transport"

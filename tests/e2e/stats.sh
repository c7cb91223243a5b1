#!/usr/bin/env bash
# e2e: REMORA_STATS=1 prints, at exit, one row per protocol operation the
# program used (launches are messages without a round trip; a stream
# synchronisation is a round trip) and the totals; unset, nothing is printed.
#   stats.sh tcp|shm PROGRAM   (PROGRAM: a driver-API test program that launches)
set -euo pipefail
transport=$1 program=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/remora-stats.XXXXXX")
trap 'rm -rf -- "$work"' EXIT
fail() { echo "FAIL stats: $*" >&2; cat "$work/err" >&2; exit 1; }

REMORA_STATS=1 "$here/with_server.sh" "$transport" "$program" >"$work/out" 2>"$work/err" ||
    fail "the program failed with REMORA_STATS=1"
grep -q '^remora statistics' "$work/err" || fail "no statistics table"
awk '$1 == "launch" && $2 > 0 && $3 == 0 { ok = 1 } END { exit !ok }' "$work/err" ||
    fail "no launch row with messages and no round trips"
awk '$1 == "stream_synchronize" && $3 > 0 { ok = 1 } END { exit !ok }' "$work/err" ||
    fail "no stream_synchronize row with round trips"
grep -Eq '^total: [0-9]+ messages, [0-9]+ round trips$' "$work/err" || fail "no totals line"

"$here/with_server.sh" "$transport" "$program" >"$work/out" 2>"$work/err" || fail "the program failed"
if grep -q 'remora statistics' "$work/err"; then fail "statistics printed without REMORA_STATS"; fi
echo "PASS stats $transport"

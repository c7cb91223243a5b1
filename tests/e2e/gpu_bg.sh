#!/usr/bin/env bash
# tests/gpu/bg: a command started in the background is still running at a
# short wait (exit 3), ends with its own status at a longer one, leaves its
# output and the files it wrote in $OUT/NAME; a name never started is exit 2.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bg=$here/../gpu/bg
work=$(mktemp -d "${TMPDIR:-/tmp}/remora-bg-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL gpu_bg: $*" >&2; exit 1; }
export RM_BG_DIR=$work/bg OUT=$work/out
mkdir -p "$OUT"
# shellcheck disable=SC2016 # expanded by the job's bash
"$bg" start job -- bash -c 'echo started; while [ ! -e "$RM_BG_FOLDER/go" ]; do sleep 0.1; done; echo made >"$RM_BG_FOLDER/made"; exit 4' >/dev/null
rc=0; "$bg" wait job 1 >"$work/w1" || rc=$?
((rc == 3)) || fail "a running command: wait said $rc, not 3"
touch "$RM_BG_DIR/job/go"
rc=0; "$bg" wait job 30 >"$work/w2" || rc=$?
((rc == 4)) || fail "an ended command: wait said $rc, not its status 4"
{ grep -q '^started$' "$OUT/job/out" && grep -q made "$OUT/job/made"; } || fail "output or files not copied to \$OUT/job"
rc=0; "$bg" wait never 1 2>/dev/null || rc=$?
((rc == 2)) || fail "a name never started: wait said $rc, not 2"
echo "PASS gpu_bg"

#!/usr/bin/env bash
# e2e: remora-server --backend real without a usable NVIDIA driver stops at
# start (non-zero exit, no listener) and says what it looked for and that a
# machine without a GPU wants --backend fake; before, it listened and every
# client failed with a misleading error.
set -euo pipefail
build_dir=${RM_BUILD_DIR:?}
export REMORA_CONFIG=/dev/null # no config file of the machine's
err=$(mktemp "${TMPDIR:-/tmp}/remora-nodriver.XXXXXX")
trap 'rm -f -- "$err"' EXIT
status=0
timeout 20 "$build_dir/bin/remora-server" --backend real --driver /nonexistent/libcuda.so.1 \
    --listen tcp://127.0.0.1:0 2>"$err" || status=$?
cat "$err" >&2
[[ $status == 1 ]] || { echo "FAIL no_driver: exit status $status, expected 1" >&2; exit 1; }
grep -q 'no driver at /nonexistent/libcuda.so.1' "$err" || { echo "FAIL no_driver: no reason" >&2; exit 1; }
grep -q -- '--backend fake' "$err" || { echo "FAIL no_driver: --backend fake not named" >&2; exit 1; }
echo "PASS no_driver"

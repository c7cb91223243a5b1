#!/usr/bin/env bash
# e2e: the content-addressed module image cache. The second client process
# that loads the same image sends its hash, not the image; a damaged cache
# file is noticed and the image is sent whole again.
#   module_cache.sh tcp|shm PROGRAM   (PROGRAM: a driver-API program that loads modules)
set -euo pipefail
transport=$1
program=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib/server.sh
source "$here/../../scripts/lib/server.sh"
build_dir=${RM_BUILD_DIR:?}
work=$(mktemp -d "${TMPDIR:-/tmp}/remora-cache-test.XXXXXX")
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() { rm_server_stop; rm -rf -- "$work"; }
trap cleanup EXIT
fail() { echo "FAIL module_cache: $*" >&2; rm_server_print_log all; exit 1; }

listen=tcp://127.0.0.1:0
[[ $transport == shm ]] && listen=$(rm_shm_address cache)
REMORA_LOG=info rm_server_start "$build_dir/bin/remora-server" "$work/server.log" \
    --backend fake --listen "$listen" --cache-dir "$work/cache"
REMORA_SERVER=$(rm_server_address "$transport")
export REMORA_SERVER LD_LIBRARY_PATH=$build_dir/lib REMORA_MODULE_CACHE_MIN=0

run() { "$program" >"$work/out" 2>"$work/err" && grep -q '^PASS ' "$work/out" || { cat "$work/err" >&2; fail "$1"; }; }
hits() { grep -c "module image cache hit" "$work/server.log" || true; }

run "first run" # (it may hit already: it loads one image as a module and as a library)
first=$(hits)
ls "$work/cache" | grep -qE '^[0-9a-f]{64}$' || fail "no image stored"
run "second run"
[[ $(hits) -gt $first ]] || fail "the second process sent its images again"
for f in "$work"/cache/*; do printf 'damaged' >"$f"; done
before=$(hits)
run "run with a damaged cache"
[[ $(hits) == "$before" ]] || fail "a damaged image was used"
grep -q "does not match its name" "$work/server.log" || fail "damage not reported"
echo "PASS module_cache"

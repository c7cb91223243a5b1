#!/usr/bin/env bash
# e2e: the content-addressed module image cache. The second client process
# that loads the same image sends its hash, not the image; a client of
# another tenant (over the other transport: this host's address is one
# tenant, this user another) does not hit the first tenant's images; a
# damaged cache file is noticed and the image is sent whole again; under a
# quota smaller than an image nothing is kept; a cache that cannot be
# written (the server under a 1 KiB file-size limit, standing for a full
# disk: writes come up short or fail with EFBIG, SIGXFSZ ignored; with
# --alloc plain, since the fake backend's VMM memory is memfds, which the
# limit would stop too) costs nothing but the cache: programs run and no
# half image stays.
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

other=shm
[[ $transport == shm ]] && other=tcp
REMORA_LOG=info rm_server_start "$build_dir/bin/remora-server" "$work/server.log" \
    --backend fake --listen tcp://127.0.0.1:0 --listen "$(rm_shm_address cache)" --cache-dir "$work/cache"
REMORA_SERVER=$(rm_server_address "$transport")
other_server=$(rm_server_address "$other")
export REMORA_SERVER LD_LIBRARY_PATH=$build_dir/lib REMORA_MODULE_CACHE_MIN=0

run() {
    "$program" >"$work/out" 2>"$work/err" && grep -q '^PASS ' "$work/out" || { cat "$work/err" >&2; rm_fail "$1"; }
}
hits() { grep -c "module image cache hit" "$work/server.log" || true; }

run "first run" # (it may hit already: it loads one image as a module and as a library)
first=$(hits)
ls "$work"/cache/* | grep -qE '^[0-9a-f]{64}$' || rm_fail "no image stored"
run "second run"
[[ $(hits) -gt $first ]] || rm_fail "the second process sent its images again"
before=$(hits)
REMORA_SERVER=$other_server run "run of another tenant"
# as many hits as this tenant's first run (its own second load of one image), no more
[[ $(($(hits) - before)) == "$first" ]] || rm_fail "another tenant's client hit this tenant's images"
for f in "$work"/cache/*/*; do printf 'damaged' >"$f"; done
before=$(hits)
run "run with a damaged cache"
[[ $(hits) == "$before" ]] || rm_fail "a damaged image was used"
grep -q "does not match its name" "$work/server.log" || rm_fail "damage not reported"

REMORA_LOG=info rm_server_start_scheme shm "$work/server2.log" --cache-dir "$work/small" --cache-size 1
REMORA_SERVER=$RM_SERVER_URL
run "run under a one-byte quota"
[[ -z $(ls "$work"/small/*) ]] || rm_fail "images kept past the quota: $(ls "$work"/small/*)"

rm_server_wrapper "$work/full-disk-server" "$build_dir/bin/remora-server" 'trap "" XFSZ' "ulimit -f 1"
RM_SERVER_BIN=$work/full-disk-server rm_server_start_scheme shm "$work/server3.log" \
    --alloc plain --cache-dir "$work/full"
REMORA_SERVER=$RM_SERVER_URL
run "run with a cache that cannot be written"
run "second run with a cache that cannot be written"
[[ -z $(find "$work/full" -type f) ]] ||
    rm_fail "files left in a cache that cannot be written: $(find "$work/full" -type f)"
echo "PASS module_cache"

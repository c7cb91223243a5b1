#!/usr/bin/env bash
# e2e: the container images of scripts/build-images (docker/Dockerfile).
#   images.sh LIBCUDA PACKAGE_BUILD_DIR
# Builds the server and client images (on debian:12, or on a Debian 12 made
# with debootstrap where no registry answers) and the selftest image, whose
# build runs a driver-API test program (test_launch, compiled here without
# sanitizers against LIBCUDA) through `remora run --backend fake` inside
# the client image; checks both images' entry points; removes the images.
# Without a container engine (a docker daemon, or podman: scripts/setup
# installs it where it can) it says why and exits 77, which CTest reports as
# skipped. Containers are not started: building needs no daemon or cgroups,
# running does (and the server image needs a GPU host with the NVIDIA
# container toolkit).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
libcuda=${1:?usage: images.sh LIBCUDA PACKAGE_BUILD_DIR}
pkg_build=${2:?usage: images.sh LIBCUDA PACKAGE_BUILD_DIR}

skip() {
    echo "SKIP images: $*"
    exit 77
}
if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
    engine=docker
elif command -v podman >/dev/null; then
    engine=podman
else
    skip "no container engine (a docker daemon or podman)"
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/remora-images.XXXXXX")
images=()
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
    ((${#images[@]} == 0)) || "$engine" rmi -f "${images[@]}" >/dev/null 2>&1 || true
    rm -rf -- "$work"
}
trap cleanup EXIT
fail() {
    echo "FAIL images: $*" >&2
    [[ ! -f $work/err ]] || tail -n 40 "$work/err" >&2
    exit 1
}

base=debian:12
if ! "$engine" image inspect "$base" >/dev/null 2>&1 &&
    ! timeout 120 "$engine" pull -q "$base" >/dev/null 2>&1; then
    command -v debootstrap >/dev/null || skip "no $base image, no registry and no debootstrap"
    base=debootstrap
fi

cuda_home=${CUDA_HOME:-/usr/local/cuda}
"${CC:-cc}" -std=gnu11 -O1 -I"$root/tests/common" -I"$cuda_home/include" -o "$work/test_launch" \
    "$root/tests/e2e/test_launch.c" "$root/tests/common/testutil.c" "$libcuda" -lpthread ||
    fail "could not compile the selftest program"

BUILD_DIR=$pkg_build SELFTEST=$work/test_launch "$root/scripts/build-images" --engine "$engine" \
    --base "$base" --target server --target client --target selftest >"$work/out" 2>"$work/err" ||
    fail "scripts/build-images failed"
mapfile -t images <"$work/out"
((${#images[@]} == 3)) || fail "scripts/build-images printed ${#images[@]} images, not 3"
grep -q '^PASS launch' "$work/err" || fail "the selftest program did not pass inside the client image"

entrypoint() { "$engine" image inspect --format '{{json .Config.Entrypoint}}' "$1"; }
[[ $(entrypoint "${images[0]}") == '["remora","server"]' ]] ||
    fail "${images[0]}: entry point $(entrypoint "${images[0]}")"
[[ $(entrypoint "${images[1]}") == '["remora","run","--"]' ]] ||
    fail "${images[1]}: entry point $(entrypoint "${images[1]}")"
echo "PASS images (${images[*]} on $base, with $engine)"

#!/usr/bin/env bash
# e2e: the Debian package of scripts/package-deb installs, works from the
# installed paths and purges.
#   package_deb.sh PROGRAM PACKAGE_BUILD_DIR
# As root with dpkg only (CI runs as root); otherwise it says why and exits
# 77, which CTest reports as skipped. Builds the package in
# PACKAGE_BUILD_DIR, installs it with dpkg -i, checks the layout (the
# client library in /usr/lib/<multiarch>/remora, nothing on the loader's
# path), runs `remora version` and `remora run --backend fake -- PROGRAM`
# (test_launch) from /usr/bin, then purges it and checks that it is gone.
# shellcheck disable=SC2016 # the program's own shell expands it
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
program=${1:?usage: package_deb.sh PROGRAM PACKAGE_BUILD_DIR}
pkg_build=${2:?usage: package_deb.sh PROGRAM PACKAGE_BUILD_DIR}

skip() {
    echo "SKIP package_deb: $*"
    exit 77
}
[[ $(id -u) == 0 ]] || skip "not root: dpkg -i needs root (CI runs as root)"
command -v dpkg >/dev/null || skip "no dpkg here"
if dpkg-query -W -f='${Status}' remora 2>/dev/null | grep -q 'install ok installed'; then
    skip "a remora package is installed already; not replacing it"
fi
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
libdir=/usr/lib/$multiarch/remora

fail() {
    echo "FAIL package_deb: $*" >&2
    [[ -f $work/out ]] && { echo "---- stdout ----"; cat "$work/out"; echo "---- stderr ----"; cat "$work/err"; } >&2
    exit 1
}
work=$(mktemp -d "${TMPDIR:-/tmp}/remora-package_deb.XXXXXX")
installed=0
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
    [[ $installed == 0 ]] || dpkg --purge remora >/dev/null 2>&1 || true
    rm -rf -- "$work"
}
trap cleanup EXIT
unset REMORA_SERVER REMOTE_GPU_ADDRESS REMORA_TOKEN REMORA_LOG REMORA_TRACE
export REMORA_CONFIG=/dev/null XDG_RUNTIME_DIR=$work

deb=$("$root/scripts/package-deb" "$pkg_build" 2>"$work/build.log") ||
    { cat "$work/build.log" >&2; fail "scripts/package-deb failed"; }
[[ -f $deb ]] || fail "scripts/package-deb printed '$deb', which is not a file"
dpkg -i "$deb" >"$work/out" 2>"$work/err" || fail "dpkg -i $deb failed"
installed=1

dpkg -L remora >"$work/files"
for f in /usr/bin/remora /usr/bin/remora-server "$libdir/libcuda.so.1" /usr/share/man/man1/remora{,-server}.1 \
    /usr/share/doc/remora/remora.conf.example; do
    grep -qx "$f" "$work/files" || fail "$f is not in the package"
    [[ -e $f ]] || fail "$f was not installed"
done
grep -E '/libcuda\.so' "$work/files" | grep -vq "^$libdir/" && fail "a libcuda outside $libdir"
ldconfig -p | grep -q "$libdir" && fail "$libdir is on the loader's path"

/usr/bin/remora version >"$work/out" 2>"$work/err" || fail "remora version failed"
grep -q "^remora [0-9]" "$work/out" || fail "remora version printed no version"
if grep -q "config files: inih" "$work/out"; then
    REMORA_CONFIG=/usr/share/doc/remora/remora.conf.example /usr/bin/remora version >"$work/out" 2>"$work/err" ||
        fail "the installed config example does not parse"
fi
/usr/bin/remora run --backend fake -- sh -c 'echo "$LD_LIBRARY_PATH"' >"$work/out" 2>"$work/err" ||
    fail "remora run of sh failed"
[[ $(cut -d: -f1 "$work/out") == "$libdir" ]] || fail "remora run puts $(cut -d: -f1 "$work/out") first, not $libdir"
/usr/bin/remora run --backend fake -- "$program" >"$work/out" 2>"$work/err" ||
    fail "remora run --backend fake -- $program failed"
grep -q "PASS" "$work/out" || fail "$program did not pass"
/usr/bin/remora status --help >"$work/out" 2>"$work/err" || fail "remora status --help failed"

dpkg --purge remora >"$work/out" 2>"$work/err" || fail "dpkg --purge remora failed"
installed=0
for f in /usr/bin/remora /usr/bin/remora-server "$libdir"; do
    [[ ! -e $f ]] || fail "$f is left after the purge"
done
echo "PASS package_deb ($deb)"

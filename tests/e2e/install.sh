#!/usr/bin/env bash
# e2e: cmake --install of the build tree into a scratch prefix: the layout
# (bin/, LIBDIR/remora/libcuda.so.1 and libnvidia-ml.so.1, the manual page, the config example)
# and `remora run --backend fake -- PROGRAM` (test_launch) from the
# installed remora, which finds its library relative to itself.
#   install.sh PROGRAM
# shellcheck disable=SC2016 # the program's own shell expands it
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/e2e/cli_lib.sh
source "$here/cli_lib.sh"
cli_init install
program=${1:?usage: install.sh PROGRAM}
prefix=$work/prefix

expect 0 cmake --install "$build_dir" --prefix "$prefix"
for f in bin/remora bin/remora-server share/man/man1/remora.1 share/man/man1/remora-server.1 \
    share/doc/remora/remora.conf.example; do
    [[ -e $prefix/$f ]] || fail "$f not installed"
done
libs=$(cd "$prefix" && find . -name 'libcuda.so*' | sed 's|^\./||')
[[ $libs == lib*/remora/libcuda.so.1 ]] || fail "client libraries installed as '$libs', not LIBDIR/remora/libcuda.so.1"
[[ -e $prefix/$(dirname "$libs")/libnvidia-ml.so.1 ]] || fail "libnvidia-ml.so.1 is not installed beside libcuda.so.1"
expect 0 "$prefix/bin/remora" run --backend fake -- sh -c 'echo "$LD_LIBRARY_PATH"'
[[ $(cut -d: -f1 "$work/out") == "$prefix/$(dirname "$libs")" ]] || fail "remora run does not use $prefix/$(dirname "$libs")"
expect 0 "$prefix/bin/remora" run --backend fake -- "$program"
expect_in out "PASS"
echo "PASS install"

#!/usr/bin/env bash
# e2e: the remora command's version, help and usage errors: `remora version`
# and --version (and remora-server --version) print RM_VERSION; --help of
# remora and of each command exits 0 with its usage on stdout; an unknown
# command or option, or none, prints the usage on stderr and exits 2.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/e2e/cli_lib.sh
source "$here/cli_lib.sh"
cli_init cli_basics
version=${RM_VERSION:?RM_VERSION is the project version}

expect 0 "$remora" version
expect_in out "remora $version"
expect_in out "config files: "
expect 0 "$remora" --version
expect_in out "remora $version"
expect 0 "$server" --version
expect_in out "remora-server $version"
expect 0 "$remora" server --version
expect_in out "remora-server $version"

expect 0 "$remora" --help
expect_in out "usage: remora COMMAND"
expect_in out "status [--server ADDR] [--json]"
expect_in out "REMORA_TRACE=1|FILE"
expect 0 "$remora" help
expect_in out "usage: remora COMMAND"
for cmd in run server status version; do
    expect 0 "$remora" "$cmd" --help
    expect_in out "usage: remora"
    expect_in out "$cmd"
    expect 0 "$remora" help "$cmd"
    expect_in out "$cmd"
done
expect 0 "$remora" run --help
expect_in out "--backend real|fake"
expect_in out "--trace[=FILE]"
expect_in out "REMORA_SERVER"
expect 0 "$remora" server --help
expect_in out "--listen ADDR"
expect_in out "REMORA_TOKEN"

expect 2 "$remora"
expect_in err "usage: remora COMMAND"
expect 2 "$remora" frobnicate
expect_in err "unknown command 'frobnicate'"
expect_in err "usage: remora COMMAND"
expect 2 "$remora" --frobnicate
expect_in err "unknown option '--frobnicate'"
expect 2 "$remora" help frobnicate
expect 2 "$remora" run --frobnicate -- true
expect_in err "unknown option --frobnicate"
expect_in err "usage: remora run"
expect 2 "$remora" run
expect_in err "no PROGRAM"
expect 2 "$remora" run --backend gpu -- true
expect_in err "unknown backend 'gpu'"
expect 2 "$remora" run --server tcp://127.0.0.1:1 --backend fake -- true
expect 2 "$remora" version extra
expect 2 "$remora" server --frobnicate
expect_in err "usage: remora-server"
for opt in --max-channels --max-sessions --max-sessions-per-peer; do
    for n in 0 2000 x 3y; do
        expect 2 "$server" "$opt" "$n" --listen tcp://127.0.0.1:0
        expect_in err "$opt '$n' is not a number from 1 to"
    done
done
for size in 0 12Q -5 M 99999999999999999999; do
    expect 2 "$server" --pinned-limit "$size" --listen tcp://127.0.0.1:0
    expect_in err "--pinned-limit '$size' is not a size"
done
echo "PASS cli_basics"

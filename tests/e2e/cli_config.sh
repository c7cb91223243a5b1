#!/usr/bin/env bash
# e2e: the config file of remora and remora-server. Precedence: the file <
# the environment < the command line, for remora run (server, token, log)
# and for the server (listen, backend, driver; mem-limit's errors); where the file is found
# (REMORA_CONFIG, ~/.config/remora/remora.conf); [client] emulate, tcp-streams and compress; a bad file is an error
# naming the file and its line. Built without inih, a non-empty file is
# refused, saying why, and an empty one is fine.
# shellcheck disable=SC2016 # the programs' own shells expand them
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/e2e/cli_lib.sh
source "$here/cli_lib.sh"
cli_init cli_config
conf=$work/remora.conf

show_env='echo "server=$REMORA_SERVER token=$REMORA_TOKEN log=$REMORA_LOG"'
cat >"$conf" <<'CONF'
; remora test configuration
token = from-file
log = info
[client]
server = tcp://127.0.0.1:1
[server]
listen = tcp://127.0.0.1:0
backend = fake
driver = /nonexistent/file/libcuda.so.1
CONF

if "$remora" version | grep -q 'config files: not supported'; then
    REMORA_CONFIG=$conf expect 2 "$remora" run -- true
    expect_in err "$conf exists, but this remora was built without config-file support"
    expect_in err "libinih-dev"
    REMORA_CONFIG=$conf expect 2 "$server" --backend fake --listen tcp://127.0.0.1:0
    expect_in err "without config-file support"
    REMORA_CONFIG=/dev/null expect 0 "$remora" run --server tcp://127.0.0.1:1 -- true
    echo "PASS cli_config (built without inih: config files refused)"
    exit 0
fi

# remora run: a configured server means no embedded one; env and flags win.
export REMORA_CONFIG=$conf
expect 0 "$remora" run -- sh -c "$show_env"
expect_in out "server=tcp://127.0.0.1:1 token=from-file log=info"
REMORA_SERVER=tcp://127.0.0.1:2 REMORA_TOKEN=from-env REMORA_LOG=warn expect 0 "$remora" run -- sh -c "$show_env"
expect_in out "server=tcp://127.0.0.1:2 token=from-env log=warn"
REMORA_SERVER=tcp://127.0.0.1:2 expect 0 "$remora" run --server tcp://127.0.0.1:3 -- sh -c "$show_env"
expect_in out "server=tcp://127.0.0.1:3 token=from-file log=info"
[[ -z $(ls -A "$XDG_RUNTIME_DIR") ]] || fail "an embedded server was started for a configured one"
# --backend on the command line starts an embedded server all the same,
# with the file's token on both sides.
expect 0 "$remora" run --backend fake -- sh -c "$show_env"
expect_in out "server=shm://"
expect_in out "token=from-file"

# The server: listen and backend from the file, the command line over them.
server_start "$work/ready" "$remora" server --ready-file "$work/ready"
server_stop
expect_in ready "tcp://127.0.0.1:"
expect_in server.out "listening on tcp://127.0.0.1:" # log = info from the file
expect 1 "$server" --backend real
expect_in err "no driver at /nonexistent/file/libcuda.so.1" # driver from the file
if ! driver_present; then
    REMORA_DRIVER=/nonexistent/env/libcuda.so.1 expect 1 "$server" --backend real
    expect_in err "REMORA_DRIVER=/nonexistent/env/libcuda.so.1 is not usable"
fi
REMORA_DRIVER=/nonexistent/env/libcuda.so.1 expect 1 "$server" --backend real \
    --driver /nonexistent/flag/libcuda.so.1
expect_in err "no driver at /nonexistent/flag/libcuda.so.1"

# Found at ~/.config/remora/remora.conf when REMORA_CONFIG is unset.
mkdir -p "$work/home/.config/remora"
printf '[client]\nserver = tcp://127.0.0.1:4\n' >"$work/home/.config/remora/remora.conf"
HOME=$work/home REMORA_CONFIG='' expect 0 "$remora" run -- sh -c "$show_env"
expect_in out "server=tcp://127.0.0.1:4"

# Bad files: the file and the line.
printf 'log = info\n[client]\nsrever = tcp://127.0.0.1:1\n' >"$conf"
expect 2 "$remora" run -- touch "$work/ran"
expect_in err "$conf:3: unknown key 'srever' in [client]"
[[ ! -e $work/ran ]] || fail "the program ran with a bad config file"
expect 2 "$server" --backend fake --listen tcp://127.0.0.1:0
expect_in err "$conf:3: unknown key 'srever' in [client]"
printf '; comment\n\n[server]\nbackend = gpu\n' >"$conf"
expect 2 "$remora" run -- true
expect_in err "$conf:4: 'backend' cannot be 'gpu'"
printf 'log = info\n[server\nlisten = tcp://127.0.0.1:0\n' >"$conf"
expect 2 "$remora" server
expect_in err "$conf:2: not a 'key = value' line"
printf 'log = loud\n' >"$conf"
expect 2 "$remora" run -- true
expect_in err "$conf:1: 'log' cannot be 'loud'"
# --mem-limit and the file's mem-limit: bad sizes and tenants are named.
printf '[server]\nmem-limit = 4G uid:1000=4X\n' >"$conf"
expect 2 "$server" --backend fake --listen tcp://127.0.0.1:0
expect_in err "--mem-limit 'uid:1000=4X': '4X' is not a size"
expect_in err "in the config file's [server] mem-limit"
REMORA_CONFIG=/dev/null expect 2 "$server" --backend fake --listen tcp://127.0.0.1:0 --mem-limit lots
expect_in err "--mem-limit 'lots' is not a size"
REMORA_CONFIG=/dev/null expect 2 "$server" --backend fake --listen tcp://127.0.0.1:0 --mem-limit host:a=1G
expect_in err "a tenant is ip:ADDRESS or uid:N"
printf '[client]\nemulate = rtt=10us,bw=25Gbt\n' >"$conf"
expect 2 "$remora" run -- true
expect_in err "$conf:2: 'emulate = rtt=10us,bw=25Gbt': bw=25Gbt: unknown unit 'Gbt'"
# [client] emulate reaches programs as REMORA_EMULATE, which wins over it.
printf '[client]\nemulate = rtt=10us\n' >"$conf"
expect 0 "$remora" run --server tcp://127.0.0.1:1 -- sh -c 'echo "emulate=$REMORA_EMULATE"'
expect_in out "emulate=rtt=10us"
REMORA_EMULATE=rtt=1ms expect 0 "$remora" run --server tcp://127.0.0.1:1 -- sh -c 'echo "emulate=$REMORA_EMULATE"'
expect_in out "emulate=rtt=1ms"
# [client] tcp-streams reaches programs as REMORA_TCP_STREAMS; out of range is refused.
printf '[client]\ntcp-streams = 8\n' >"$conf"
expect 0 "$remora" run --server tcp://127.0.0.1:1 -- sh -c 'echo "streams=$REMORA_TCP_STREAMS"'
expect_in out "streams=8"
printf '[client]\ntcp-streams = 17\n' >"$conf"
expect 2 "$remora" run -- true
expect_in err "$conf:2: 'tcp-streams' cannot be '17'"
printf '[client]\ncompress = zstd\n' >"$conf"
expect 0 "$remora" run --server tcp://127.0.0.1:1 -- sh -c 'echo "compress=$REMORA_COMPRESS"'
expect_in out "compress=zstd"
printf '[client]\ncompress = gzip\n' >"$conf"
expect 2 "$remora" run -- true
expect_in err "$conf:2: 'compress' cannot be 'gzip'"
REMORA_CONFIG=$work/missing.conf expect 2 "$remora" run -- true
expect_in err "REMORA_CONFIG=$work/missing.conf: No such file or directory"
echo "PASS cli_config"

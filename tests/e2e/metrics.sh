#!/usr/bin/env bash
# e2e: remora-server --metrics on the fake backend.
#   metrics.sh HOLD_PROGRAM
# With a client running (HOLD_PROGRAM, client_hold: it holds 1 MiB and
# waits), GET /metrics answers Prometheus text with the sessions gauge, the
# session's info (pid, program, transport), its calls and bytes counters,
# its memory used and limit (the server's 64 MiB), the same per GPU, and the
# compute-share gauges (the server's --compute-share 30; nothing used by
# a client that holds memory and waits); the counters only grow from
# one scrape to the next; once the client is gone there are no sessions.
# Other paths are 404, other methods 405, what is not HTTP 400; a bad
# --metrics address is refused at start.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/e2e/cli_lib.sh
source "$here/cli_lib.sh"
cli_init metrics
hold=${1:?usage: metrics.sh HOLD_PROGRAM}

expect 2 "$server" --backend fake --listen tcp://127.0.0.1:0 --metrics nowhere
expect_in err "--metrics 'nowhere' is not HOST:PORT"

server_start "$work/ready" "$server" --backend fake --listen tcp://127.0.0.1:0 --ready-file "$work/ready" \
    --mem-limit 64MiB --compute-share 30 --metrics 127.0.0.1:0
tcp=$(grep '^tcp://' "$work/ready")
url=$(grep '^http://' "$work/ready") || fail "the ready file names no metrics address"
[[ $url == http://127.0.0.1:*/metrics ]] || fail "metrics at '$url'"

# scrape [METHOD [PATH]]: the answer's status line and body into $work/out.
scrape() {
    python3 - "$url" "${1:-GET}" "${2:-/metrics}" >"$work/out" 2>"$work/err" <<'PY'
import http.client, sys, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
c.request(sys.argv[2], sys.argv[3])
r = c.getresponse()
print(r.status, r.getheader("Content-Type"))
sys.stdout.write(r.read().decode())
PY
}

scrape
expect_in out "200 text/plain; version=0.0.4"
expect_in out "remora_sessions 0"

REMORA_SERVER=$tcp LD_LIBRARY_PATH=$build_dir/lib "$hold" "$work/ready1" "$work/release" >"$work/hold.out" 2>&1 &
hold_pid=$!
wait_for_file "$work/ready1" "$hold_pid" "$work/hold.out" || fail "the client did not start"
pid=$(cat "$work/ready1")

scrape
cp "$work/out" "$work/first"
python3 - "$work/first" "$pid" <<'PY' || fail "the metrics say something else"
import re, sys
text = open(sys.argv[1]).read().split("\n", 1)[1]
series = {}
for line in text.splitlines():
    if line.startswith("#"):
        assert re.match(r"# (HELP|TYPE) remora_\w+ ", line), line
        continue
    name, value = line.rsplit(" ", 1)
    series[name] = float(value)
def one(prefix):
    got = [v for k, v in series.items() if k.startswith(prefix)]
    assert len(got) == 1, (prefix, got)
    return got[0]
assert series["remora_sessions"] == 1, series
info = [k for k in series if k.startswith("remora_session_info{")]
assert len(info) == 1, info
assert 'pid="%s"' % sys.argv[2] in info[0] and 'program="client_hold"' in info[0] and 'transport="tcp"' in info[0], info
sid = re.search(r'session="(\d+)"', info[0]).group(1)
s = '{session="%s"}' % sid
g = '{session="%s",gpu="0"}' % sid
assert series["remora_session_calls_total" + s] > 0
assert series["remora_session_received_bytes_total" + s] > 0
assert series["remora_session_sent_bytes_total" + s] > 0
assert series["remora_session_memory_used_bytes" + s] == 1 << 20, series
assert series["remora_session_memory_limit_bytes" + s] == 64 << 20, series
assert series["remora_session_gpu_memory_used_bytes" + g] == 1 << 20, series
assert series["remora_session_gpu_memory_limit_bytes" + g] == 64 << 20, series
assert series["remora_session_gpu_share_used_ratio" + s] == 0
assert series["remora_session_gpu_share_limit_ratio" + s] == 0.3, series
assert series["remora_session_start_time_seconds" + s] > 1.6e9
assert "# TYPE remora_session_calls_total counter" in text and "# TYPE remora_sessions gauge" in text
PY
scrape
python3 - "$work/first" "$work/out" <<'PY' || fail "a counter went down between scrapes"
import sys
def load(p):
    return {l.rsplit(" ", 1)[0]: float(l.rsplit(" ", 1)[1])
            for l in open(p).read().split("\n", 1)[1].splitlines() if l and not l.startswith("#")}
a, b = load(sys.argv[1]), load(sys.argv[2])
for k, v in a.items():
    if "_total{" in k:
        assert b[k] >= v, (k, v, b[k])
PY

scrape GET /other
expect_in out "404"
scrape POST /metrics
expect_in out "405"
python3 - "$url" >"$work/out" 2>"$work/err" <<'PY' || fail "no answer to a request that is not HTTP"
import socket, sys, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
s = socket.create_connection((u.hostname, u.port), timeout=10)
s.sendall(b"hello\r\n")
print(s.recv(100).decode().split("\r\n")[0])
PY
expect_in out "400 Bad Request"

touch "$work/release"
wait "$hold_pid" || fail "the client failed: $(cat "$work/hold.out")"
for _ in $(seq 300); do
    scrape
    grep -q "^remora_sessions 0" "$work/out" && break
    sleep 0.1
done
expect_in out "remora_sessions 0"
server_stop
echo "PASS metrics"

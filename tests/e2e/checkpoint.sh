#!/usr/bin/env bash
# e2e: remora checkpoint on the fake backend.
#   checkpoint.sh ITERATE_PROGRAM
# A running iterative program (client_iterate) is checkpointed halfway,
# over shm and over TCP: the checkpoint holds its four allocations (at the
# addresses the program has) and their bytes, remora checkpoint --check
# accepts it, and the program finishes with the results of an uninterrupted
# run; three checkpoints at once into one directory all complete. The same
# checkpoint flipped, cut short, of another format version
# or checked against another GPU model is refused with a clear error. A
# session with a host function queued, one whose memory is plain cuMemAlloc
# (--alloc plain), an unknown session and a wrong token are refused, and
# the programs refused run on unharmed.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/e2e/cli_lib.sh
source "$here/cli_lib.sh"
cli_init checkpoint
iterate=${1:?usage: checkpoint.sh ITERATE_PROGRAM}
n=300000 steps=40

shm=shm://$work/run/ckpt.sock
start() {
    rm -f "$work/ready"
    server_start "$work/ready" "$remora" server --backend fake --listen "$shm" --listen tcp://127.0.0.1:0 \
        --ready-file "$work/ready" "$@"
    tcp=$(grep '^tcp://' "$work/ready")
}
start

# the uninterrupted run
expect 0 "$remora" run --server "$shm" -- "$iterate" "$n" "$steps"
grep -v '^#' "$work/out" >"$work/want"
expect_in want "PASS client_iterate"

# The session of the one client running now (its id from remora status).
session_id() {
    "$remora" status --server "$shm" --json | python3 -c '
import json, sys
s = json.load(sys.stdin)["sessions"]
assert len(s) == 1, s
print(s[0]["id"])'
}

# Start the program; it waits halfway (in a host function with "hostfn").
start_iterate() {
    rm -f "$work/halfway" "$work/release"
    "$remora" run --server "$1" -- "$iterate" "$n" "$steps" "$work/halfway" "$work/release" ${2:+"$2"} \
        >"$work/run.out" 2>&1 &
    run_pid=$!
    wait_for_file "$work/halfway" "$run_pid" "$work/run.out" || fail "the program did not get halfway"
}

finish_iterate() {
    touch "$work/release"
    wait "$run_pid" || fail "the program failed after the checkpoint: $(cat "$work/run.out")"
    diff <(grep -v '^#' "$work/run.out") "$work/want" >&2 || fail "results differ from the uninterrupted run"
}

for transport in shm tcp; do
    addr=$shm
    [[ $transport == shm ]] || addr=$tcp
    start_iterate "$addr"
    id=$(session_id)
    expect 0 "$remora" checkpoint "$id" --to "$work/ck-$transport" --server "$shm"
    expect_in out "checkpoint of session $id in $work/ck-$transport: 4 allocations, $(((2 * n + 2000) * 4)) bytes"
    expect_in out "paused"
    [[ -s $work/ck-$transport/checkpoint.rmck ]] || fail "no checkpoint file"
    [[ ! -e $work/ck-$transport/checkpoint.rmck.tmp ]] || fail "the temporary file stayed"
    expect 0 "$remora" checkpoint --check "$work/ck-$transport" --gpu "remora fake device 0"
    expect_in out "format version 3, session $id, GPU remora fake device 0"
    expect_in out "4 allocations, $(((2 * n + 2000) * 4)) bytes of device memory, 4 objects"
    expect_in out "1 module images"
    # the session's objects: its context, module, and two functions
    expect_in out "  context 0x"
    expect_in out ", primary"
    expect_in out "  module 0x"
    expect_in out " rm_scale_f32"
    expect_in out " rm_vector_add"
    # every address the program holds is one the checkpoint names
    for a in $(tail -n +2 "$work/halfway"); do
        expect_in out "allocation $a "
    done
    if [[ $transport == tcp ]]; then
        # three at once into one directory: one after the other (the file of
        # each is on disk before the next starts writing it), all complete
        same=()
        for k in 1 2 3; do
            "$remora" checkpoint "$id" --to "$work/ck-same" --server "$shm" >"$work/same$k.out" 2>&1 &
            same+=($!)
        done
        for pid in "${same[@]}"; do
            wait "$pid" || fail "a checkpoint of three at once failed: $(cat "$work"/same*.out)"
        done
        expect 0 "$remora" checkpoint --check "$work/ck-same"
        expect_in out "4 allocations, $(((2 * n + 2000) * 4)) bytes of device memory, 4 objects"
    fi
    finish_iterate
done

# Bad checkpoints: each refused, saying why.
ck=$work/ck-shm/checkpoint.rmck
bad=$work/bad
mkdir -p "$bad"
size=$(stat -c %s "$ck")
python3 - "$ck" "$bad/checkpoint.rmck" "$((size / 2))" <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[int(sys.argv[3])] ^= 1
open(sys.argv[2], "wb").write(b)
PY
expect 1 "$remora" checkpoint --check "$bad"
expect_in err "the checkpoint is corrupt"
head -c "$((size - 100))" "$ck" >"$bad/checkpoint.rmck"
expect 1 "$remora" checkpoint --check "$bad"
expect_in err "the checkpoint is truncated"
python3 - "$ck" "$bad/checkpoint.rmck" <<'PY'
import hashlib, sys
b = bytearray(open(sys.argv[1], "rb").read())
b[8] = 99  # the format version, with the header's checksum made right
b[96:128] = hashlib.sha256(bytes(b[:96])).digest()
open(sys.argv[2], "wb").write(b)
PY
expect 1 "$remora" checkpoint --check "$bad"
expect_in err "format version 99; this remora reads versions 2 and 3"
# a file of version 1 (device memory only, before the session's objects were saved)
python3 - "$ck" "$bad/checkpoint.rmck" <<'PY'
import hashlib, sys
b = bytearray(open(sys.argv[1], "rb").read())
b[8] = 1
b[96:128] = hashlib.sha256(bytes(b[:96])).digest()
open(sys.argv[2], "wb").write(b)
PY
expect 1 "$remora" checkpoint --check "$bad"
expect_in err "format version 1; this remora reads versions 2 and 3"
expect 1 "$remora" checkpoint --check "$work/ck-shm" --gpu "NVIDIA H200"
expect_in err "was taken on a remora fake device 0; this server's GPU is a NVIDIA H200"
printf 'not a checkpoint' >"$bad/checkpoint.rmck"
expect 1 "$remora" checkpoint --check "$bad"
expect_in err "is not a remora checkpoint"
expect 1 "$remora" checkpoint --check "$work/nothing-here"
expect_in err "cannot open"

# Refusals: a host function queued, an unknown session, no --to, a session
# of plain cuMemAlloc memory.
start_iterate "$shm" hostfn
id=$(session_id)
expect 1 "$remora" checkpoint "$id" --to "$work/ck-hostfn" --server "$shm"
expect_in err "host functions of the session"
[[ ! -e $work/ck-hostfn/checkpoint.rmck ]] || fail "a refused checkpoint left a file"
finish_iterate
expect 1 "$remora" checkpoint 999999 --to "$work/x" --server "$shm"
expect_in err "no such session"
expect 2 "$remora" checkpoint 1 --server "$shm"
expect_in err "give a session id"
server_stop
start --alloc plain
start_iterate "$shm"
id=$(session_id)
expect 1 "$remora" checkpoint "$id" --to "$work/ck-plain" --server "$shm"
expect_in err "is plain cuMemAlloc memory"
[[ ! -e $work/ck-plain/checkpoint.rmck ]] || fail "a refused checkpoint left a file"
finish_iterate
server_stop
REMORA_TOKEN=s3cret start
expect 1 "$remora" checkpoint 1 --to "$work/x" --server "$shm"
expect_in err "refused: authentication failed"
server_stop
echo "PASS checkpoint"

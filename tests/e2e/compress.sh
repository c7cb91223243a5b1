#!/usr/bin/env bash
# e2e: compressed copies. compress_copies (tests/e2e/compress_copies.c)
# through with_server.sh over TRANSPORT with REMORA_COMPRESS=CODEC and
# REMORA_STATS=1: it must pass, and the stats table must show compressed
# messages both ways (CODEC off: none). Extra environment (striping) passes
# through. Exits 77 (skipped) when this build lacks the codec.
#
#   compress.sh tcp|tls lz4|zstd|off BINARY
set -euo pipefail
(($# == 3)) || { echo "usage: $0 tcp|tls lz4|zstd|off BINARY" >&2; exit 2; }
transport=$1 codec=$2 binary=$3
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
err=$(mktemp)
trap 'rm -f "$err"' EXIT
if ! REMORA_STATS=1 REMORA_COMPRESS=$codec "$here/with_server.sh" "$transport" "$binary" 2>"$err"; then
    cat "$err" >&2
    echo "FAIL compress ($codec): the program failed" >&2
    exit 1
fi
if grep -q "was built without" "$err"; then
    grep "was built without" "$err" >&2
    echo "SKIP compress ($codec): not built in"
    exit 77
fi
for op in memcpy_htod_z memcpy_dtoh_z; do
    if [[ $codec == off ]] && grep -q "$op" "$err"; then
        echo "FAIL compress: $op used with REMORA_COMPRESS=off" >&2
        exit 1
    elif [[ $codec != off ]] && ! grep -q "$op" "$err"; then
        cat "$err" >&2
        echo "FAIL compress ($codec): no $op message in the REMORA_STATS table" >&2
        exit 1
    fi
done
echo "PASS compress ($transport, $codec)"

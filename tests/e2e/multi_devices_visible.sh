#!/usr/bin/env bash
# e2e: CUDA_VISIBLE_DEVICES on the server selects and orders its GPUs.
#   multi_devices_visible.sh tcp|shm QUERY_PROGRAM NVML_PROGRAM
# A fake server with four GPUs (REMORA_FAKE_DEVICES=4) runs with
# CUDA_VISIBLE_DEVICES unset, "1", "1,0", "3,1,0,2" and "2,9,0" (the list ends
# at the bad entry, as with the driver); each time the client
# (test_multi_devices_query, its own CUDA_VISIBLE_DEVICES unset) must see
# exactly those GPUs at ordinals 0.., each with its own UUID and PCI bus. The
# client's own CUDA_VISIBLE_DEVICES changes nothing (the server's selects).
# remora's NVML (nvml_query) agrees with the driver API on a reordered
# server ("1,0": names, UUIDs, PCI bus ids lead to the same devices).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
transport=${1:?usage: multi_devices_visible.sh tcp|shm QUERY_PROGRAM}
query=${2:?usage: multi_devices_visible.sh tcp|shm QUERY_PROGRAM NVML_PROGRAM}
nvml=${3:?usage: multi_devices_visible.sh tcp|shm QUERY_PROGRAM NVML_PROGRAM}
out=$(mktemp "${TMPDIR:-/tmp}/remora-visible.XXXXXX")
trap 'rm -f -- "$out"' EXIT
export REMORA_FAKE_DEVICES=4
domain=00000000 # as remora writes a bus id

# The line the query prints for ordinal ORD when it is fake GPU PHYS.
line() {
    printf 'device %d name remora fake device %d uuid GPU-72656d6f-7261-6661-6b65-6465760000%02x bus %s:%02x:00.0 mem' \
        "$1" "$2" "$2" "$domain" $((0x18 + $2))
}

# check VISIBLE PHYS... [-- CLIENT_VISIBLE]: the server with CUDA_VISIBLE_DEVICES=VISIBLE
# ("-": unset) shows fake GPUs PHYS... in that order.
check() {
    local visible=$1 client=unset
    shift
    local phys=()
    while (($#)); do
        [[ $1 == -- ]] && { client=$2; break; }
        phys+=("$1")
        shift
    done
    local envs=(/usr/bin/env -u CUDA_VISIBLE_DEVICES)
    [[ $client == unset ]] || envs=(/usr/bin/env CUDA_VISIBLE_DEVICES="$client")
    if [[ $visible == - ]]; then
        env -u CUDA_VISIBLE_DEVICES "$here/with_server.sh" "$transport" "${envs[@]}" "$query" >"$out"
    else
        CUDA_VISIBLE_DEVICES=$visible "$here/with_server.sh" "$transport" "${envs[@]}" "$query" >"$out"
    fi
    grep -qx "devices ${#phys[@]}" "$out" || { echo "FAIL server CUDA_VISIBLE_DEVICES=$visible: want ${#phys[@]} devices" >&2; cat "$out" >&2; exit 1; }
    for i in "${!phys[@]}"; do
        grep -q "^$(line "$i" "${phys[$i]}")" "$out" ||
            { echo "FAIL server CUDA_VISIBLE_DEVICES=$visible: ordinal $i is not fake GPU ${phys[$i]}" >&2; cat "$out" >&2; exit 1; }
    done
    grep -q '^PASS multi_devices_query' "$out" || { cat "$out" >&2; exit 1; }
    echo "ok: server CUDA_VISIBLE_DEVICES=$visible (client: $client): GPUs ${phys[*]}"
}

check - 0 1 2 3
check 1 1
check 1,0 1 0
check 3,1,0,2 3 1 0 2
check 2,9,0 2
check 1,0 1 0 -- 1
CUDA_VISIBLE_DEVICES=1,0 "$here/with_server.sh" "$transport" /usr/bin/env -u CUDA_VISIBLE_DEVICES "$nvml" >"$out" 2>&1 ||
    { echo "FAIL nvml_query with server CUDA_VISIBLE_DEVICES=1,0:" >&2; cat "$out" >&2; exit 1; }
echo "ok: NVML agrees with the driver API on server CUDA_VISIBLE_DEVICES=1,0"
echo "PASS multi_devices_visible"

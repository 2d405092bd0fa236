#!/usr/bin/env bash
# Speed of the kernel through `vmlab scenario run`: N accesses by 4
# processes (round robin, quantum 64) under base-bounds, segmentation and
# time sharing, plus a RISC-V program run under the kernel. Prints accesses
# per second (CPU time) for the narration and for --json.
#
# Usage: bench/kernel.sh [N] [BINARY]   (default 200000 accesses; builds a
# release binary unless BINARY is given)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-200000}
if [[ -n "${2:-}" ]]; then
    VMLAB=$2
else
    cargo build --release --quiet
    VMLAB=target/release/vmlab
fi
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT

workload() { # strategy -> scenario file
    local strategy=$1 f=$DIR/$1.toml per=$((N / 4))
    {
        echo "[machine]"
        echo "memory = \"1m\""
        echo "os_size = \"64k\""
        echo "strategy = \"$strategy\""
        echo "quantum = 64"
        [[ $strategy == segmentation ]] && echo "va_bits = 16"
        for p in 1 2 3 4; do
            echo "[[process]]"
            echo "name = \"P$p\""
            if [[ $strategy == segmentation ]]; then
                echo "code = \"4k\""
                echo "heap = \"8k\""
            else
                echo "size = \"16k\""
            fi
            printf 'accesses = ['
            for ((i = 0; i < per; i++)); do
                if [[ $strategy == segmentation ]]; then a=$((16384 + (i * 97) % 8192)); else a=$(((i * 97) % 16384)); fi
                if ((i % 3)); then printf '"load %d",' "$a"; else printf '"store %d",' "$a"; fi
            done
            echo ']'
        done
    } >"$f"
    echo "$f"
}

cpu_time() { # command... -> user+sys seconds
    local t
    t=$( { /usr/bin/time -f '%U %S' "$@" >/dev/null; } 2>&1 | tail -1)
    awk '{print $1 + $2}' <<<"$t"
}

for s in base-bounds segmentation time-sharing; do
    f=$(workload "$s")
    for mode in text json; do
        args=(scenario run "$f")
        [[ $mode == json ]] && args+=(--json)
        secs=$(cpu_time "$VMLAB" "${args[@]}")
        rate=$(awk -v n="$N" -v s="$secs" 'BEGIN { if (s > 0) printf "%.0f", n / s; else print "inf" }')
        printf '%-13s %-5s %8d accesses  %6.2f s CPU  %10s accesses/s\n' "$s" "$mode" "$N" "$secs" "$rate"
    done
done

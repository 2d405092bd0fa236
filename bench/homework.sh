#!/usr/bin/env bash
# Speed of the OSTEP translation drop-ins against the original Python
# simulators, output to /dev/null, plus a byte-for-byte check (cmp) of the
# two outputs. vmlab's time is the best of 5 runs, the original's one run.
#
# Usage:
#   bench/homework.sh                                 # vmlab times only
#   OSTEP_HOMEWORK=/path/to/ostep-homework bench/homework.sh
#   OSTEP_ORIGINALS=/tmp/ostep bench/homework.sh      # a directory holding
#       relocation.py, segmentation.py, paging-linear-translate.py
#   PYTHON=python3.11 ...                             # interpreter (default python3)
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --quiet
VMLAB=target/release/vmlab
PYTHON=${PYTHON:-python3}

source bench/ostep_lib.sh

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cases=(
    "relocation -s 1 -n 1000000 -c"
    "segmentation -s 1 -n 1000000 -c -a 16k -p 64k"
    "paging-linear-translate -s 1 -n 1000000 -c -a 1m -p 512m -P 1k"
)

printf '%-62s %10s %10s %8s %s\n' "command" "vmlab s" "python s" "ratio" "output"
for c in "${cases[@]}"; do
    read -r sim args <<<"$c"
    # shellcheck disable=SC2086
    v=$(best_of 5 "$VMLAB" "$sim" $args)
    orig=$(original "$sim")
    if [[ -n $orig && -f $orig ]]; then
        # shellcheck disable=SC2086
        p=$(seconds "$PYTHON" "$orig" $args)
        # shellcheck disable=SC2086
        "$VMLAB" "$sim" $args >"$tmp/vmlab.out"
        # shellcheck disable=SC2086
        "$PYTHON" "$orig" $args >"$tmp/python.out"
        if cmp -s "$tmp/vmlab.out" "$tmp/python.out"; then same=identical; else same=DIFFERENT; fi
        printf '%-62s %10.3f %10.3f %7.1fx %s\n' "$c" "$v" "$p" "$(echo "$p / $v" | bc -l)" "$same"
        [[ $same == identical ]] || exit 1
    else
        printf '%-62s %10.3f %10s %8s %s\n' "$c" "$v" "-" "-" "(original not found)"
    fi
done

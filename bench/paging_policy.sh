#!/usr/bin/env bash
# Speed of `vmlab paging-policy` on the issue's workload (100,000 references
# over 1,000 pages, a cache of 100 pages, answers without the trace), OPT and
# LRU; vmlab's time is the best of 5 runs, output to /dev/null.
#
# The original (OSTEP vm-beyondphys-policy/paging-policy.py) is not shipped
# here. Point the script at a copy to time it side by side (one run) and
# compare the outputs byte for byte:
#   OSTEP_HOMEWORK=/path/to/ostep-homework bench/paging_policy.sh
#   OSTEP_ORIGINALS=/dir bench/paging_policy.sh   # a directory holding paging-policy.py
#   PYTHON=python3.11 ...                         # interpreter (default python3)
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --quiet
VMLAB=target/release/vmlab
PYTHON=${PYTHON:-python3}

source bench/ostep_lib.sh
original=$(original paging-policy)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cases=(
    "-n 100000 -m 1000 -C 100 -p OPT -c -N"
    "-n 100000 -m 1000 -C 100 -p LRU -c -N"
    "-n 100000 -m 1000 -C 100 -p OPT -c"
)

if [[ -z $original || ! -f $original ]]; then
    echo "the original paging-policy.py is not shipped here: vmlab's times only"
    echo "(set OSTEP_HOMEWORK or OSTEP_ORIGINALS to time it side by side)"
    original=""
fi
printf '%-48s %10s %10s %8s %s\n' "paging-policy" "vmlab s" "python s" "ratio" "output"
for c in "${cases[@]}"; do
    # shellcheck disable=SC2086
    v=$(best_of 5 "$VMLAB" paging-policy $c)
    if [[ -n $original ]]; then
        # shellcheck disable=SC2086
        p=$(seconds "$PYTHON" "$original" $c)
        # shellcheck disable=SC2086
        "$VMLAB" paging-policy $c >"$tmp/v"
        # shellcheck disable=SC2086
        "$PYTHON" "$original" $c >"$tmp/p"
        same=$(cmp -s "$tmp/v" "$tmp/p" && echo identical || echo DIFFERENT)
        printf '%-48s %10.3f %10.3f %7.1fx %s\n' "$c" "$v" "$p" "$(echo "$p / $v" | bc -l)" "$same"
    else
        printf '%-48s %10.3f %10s %8s %s\n' "$c" "$v" "-" "-" "-"
    fi
done

#!/usr/bin/env bash
# Speed of `vmlab paging-multilevel-translate` on large -n runs (release
# build, output to /dev/null, best of 5), and, when the original
# paging-multilevel-translate.py is at hand, the same run of the original
# side by side with a byte-for-byte check (cmp) of the two outputs.
#
# Usage:
#   bench/paging_multilevel.sh                           # vmlab times only
#   OSTEP_HOMEWORK=/path/to/ostep-homework bench/paging_multilevel.sh
#   OSTEP_ORIGINALS=/tmp/ostep bench/paging_multilevel.sh  # a directory
#       holding paging-multilevel-translate.py
#   PYTHON=python3.11 ...                                # interpreter (default python3)
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --quiet
VMLAB=target/release/vmlab
PYTHON=${PYTHON:-python3}
SIM=paging-multilevel-translate

source bench/ostep_lib.sh
original=$(original "$SIM")

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cases=(
    "-s 1 -n 1000000 -c"
    "-s 1 -n 1000000"
    "-s 2 -a 90 -n 10000000 -c"
)

printf '%-56s %10s %14s %10s %8s %s\n' "command" "vmlab s" "addresses/s" "python s" "ratio" "output"
for c in "${cases[@]}"; do
    # shellcheck disable=SC2086
    v=$(best_of 5 "$VMLAB" "$SIM" $c)
    n=$(echo "$c" | sed -E 's/.*-n ([0-9]+).*/\1/')
    rate=$(echo "$n / $v" | bc -l)
    if [[ -n $original && -f $original ]]; then
        # shellcheck disable=SC2086
        p=$(seconds "$PYTHON" "$original" $c)
        # shellcheck disable=SC2086
        "$VMLAB" "$SIM" $c >"$tmp/vmlab.out"
        # shellcheck disable=SC2086
        "$PYTHON" "$original" $c >"$tmp/python.out"
        if cmp -s "$tmp/vmlab.out" "$tmp/python.out"; then same=identical; else same=DIFFERENT; fi
        printf '%-56s %10.3f %14.0f %10.3f %7.1fx %s\n' "$SIM $c" "$v" "$rate" "$p" "$(echo "$p / $v" | bc -l)" "$same"
        [[ $same == identical ]] || exit 1
    else
        printf '%-56s %10.3f %14.0f %10s %8s %s\n' "$SIM $c" "$v" "$rate" "-" "-" "(original not found)"
    fi
done

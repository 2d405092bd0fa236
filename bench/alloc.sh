#!/usr/bin/env bash
# Speed of `vmlab scheduler` and `vmlab malloc` against OSTEP's scheduler.py
# and malloc.py (issue 3: >= 30x faster, identical output).
#
# Builds vmlab in release mode, runs each workload with output to a file
# (/dev/null-like: nothing is printed), checks the outputs are identical
# (cmp) and prints the times and the ratio. The originals are taken from
# $OSTEP_HOMEWORK (a checkout of ostep-homework) or /tmp/alloc-ostep; if
# neither exists, only vmlab's times are printed.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --quiet
VMLAB=target/release/vmlab
PY=${PYTHON:-python3}

orig() { # sim -> path of the original script, or nothing
    local sim=$1
    if [[ -n "${OSTEP_HOMEWORK:-}" ]]; then
        case $sim in
        malloc) echo "$OSTEP_HOMEWORK/vm-freespace/malloc.py" ;;
        scheduler) echo "$OSTEP_HOMEWORK/cpu-sched/scheduler.py" ;;
        esac
    elif [[ -f /tmp/alloc-ostep/$sim.py ]]; then
        echo "/tmp/alloc-ostep/$sim.py"
    fi
}

now() { date +%s.%N; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0

bench() { # sim args...
    local sim=$1
    shift
    local t0 t1 vt
    t0=$(now)
    "$VMLAB" "$sim" "$@" >"$tmp/vmlab.out"
    t1=$(now)
    vt=$(echo "$t1 - $t0" | bc -l)
    local script
    script=$(orig "$sim")
    if [[ -z "$script" ]]; then
        printf '%-10s %-40s vmlab %7.3f s  (original not available)\n' "$sim" "$*" "$vt"
        return
    fi
    t0=$(now)
    "$PY" "$script" "$@" >"$tmp/orig.out"
    t1=$(now)
    local ot
    ot=$(echo "$t1 - $t0" | bc -l)
    local same=identical
    if ! cmp -s "$tmp/vmlab.out" "$tmp/orig.out"; then
        same=DIFFERENT
        status=1
    fi
    printf '%-10s %-40s original %7.2f s  vmlab %7.3f s  ratio %6.1fx  output %s (%s bytes)\n' \
        "$sim" "$*" "$ot" "$vt" "$(echo "$ot / $vt" | bc -l)" "$same" "$(wc -c <"$tmp/vmlab.out")"
}

bench scheduler -s 1 -j 100000 -p RR -c
bench malloc -s 1 -n 20000 -c -S 20000 -r 20
exit $status

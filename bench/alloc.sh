#!/usr/bin/env bash
# Speed of `vmlab scheduler` and `vmlab malloc` against OSTEP's scheduler.py
# and malloc.py (issue 3: >= 30x faster, identical output).
#
# Builds vmlab in release mode, runs each workload once to a file to check
# the outputs are identical (cmp), then times each with output to /dev/null
# and prints the times and the ratios. The originals are taken from
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

# Times one command: sets WALL and CPU (user + system seconds). The ratio
# uses CPU time, which stays meaningful on a loaded machine; wall time is
# printed too.
timed() {
    local TIMEFORMAT='%R %U %S' t
    t=$( { time "$@" >/dev/null 2>&1; } 2>&1 )
    read -r WALL user sys <<<"$t"
    CPU=$(echo "$user + $sys" | bc -l)
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0

bench() { # sim args...
    local sim=$1
    shift
    "$VMLAB" "$sim" "$@" >"$tmp/vmlab.out"
    timed "$VMLAB" "$sim" "$@"
    local vwall=$WALL vcpu=$CPU
    local script
    script=$(orig "$sim")
    if [[ -z "$script" ]]; then
        printf '%-10s %-40s vmlab %6.3f s cpu (%6.3f s wall)  (original not available)\n' "$sim" "$*" "$vcpu" "$vwall"
        return
    fi
    "$PY" "$script" "$@" >"$tmp/orig.out"
    timed "$PY" "$script" "$@"
    local owall=$WALL ocpu=$CPU
    local same=identical
    if ! cmp -s "$tmp/vmlab.out" "$tmp/orig.out"; then
        same=DIFFERENT
        status=1
    fi
    printf '%-10s %-38s original %6.2f s cpu (%6.2f wall)  vmlab %6.3f s cpu (%6.3f wall)  ratio %5.0fx cpu, %5.0fx wall  output %s (%s bytes)\n' \
        "$sim" "$*" "$ocpu" "$owall" "$vcpu" "$vwall" \
        "$(echo "$ocpu / ($vcpu + 0.001)" | bc -l)" "$(echo "$owall / $vwall" | bc -l)" \
        "$same" "$(wc -c <"$tmp/vmlab.out")"
}

bench scheduler -s 1 -j 100000 -p RR -c
bench malloc -s 1 -n 20000 -c -S 20000 -r 20
exit $status

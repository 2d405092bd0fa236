#!/usr/bin/env bash
# Demand paging in `vmlab trace` against a C reference loop of the textbook
# kind (bench/paging_ref.c: open-addressing hash map + doubly linked LRU
# list, cc -O3) on the same binary trace, plus the one-pass LRU
# miss-ratio curve up to 2^20 frames.
#
#   bench/paging_trace.sh               50 M references (LRU), 20 M (curve)
#   N=10000000 CURVE_N=5000000 bench/paging_trace.sh
#
# Traces are uniform random addresses (bench/trace_gen.c): for LRU over
# 2^17 pages of 4 KiB with 65,536 frames (half the references fault), for
# the curve over 2^21 pages. Each figure is the best of $RUNS runs, as wall
# seconds and CPU seconds (user + system; a busy shared machine disturbs
# CPU time less). vmlab's time is the whole command (reading the trace,
# the replay and the paging); the C loop times its loop only.
# Files go to ${BENCH_DIR:-/tmp/vmlab-bench} and are kept for reruns.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-50000000}
CURVE_N=${CURVE_N:-20000000}
RUNS=${RUNS:-3}
DIR=${BENCH_DIR:-/tmp/vmlab-bench}
mkdir -p "$DIR"

cargo build --release --quiet
VMLAB=${VMLAB:-$PWD/target/release/vmlab}
cc -O3 -o "$DIR/trace_gen" bench/trace_gen.c
cc -O3 -o "$DIR/paging_ref" bench/paging_ref.c

LRU="$DIR/lru-$N.bin"
CURVE="$DIR/curve-$CURVE_N.bin"
[ -s "$LRU" ] || "$DIR/trace_gen" bin "$N" 0x20000000 "$LRU"
[ -s "$CURVE" ] || "$DIR/trace_gen" bin "$CURVE_N" 0x200000000 "$CURVE"

# best CMD...: "WALL CPU" of the fastest of $RUNS runs.
best() {
    local bw= bc= f w u s c
    f=$(mktemp)
    for _ in $(seq "$RUNS"); do
        /usr/bin/time -f "%e %U %S" -o "$f" "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }
        read -r w u s < "$f"
        c=$(echo "$u + $s" | bc -l)
        if [ -z "$bw" ] || (( $(echo "$w < $bw" | bc -l) )); then bw=$w; fi
        if [ -z "$bc" ] || (( $(echo "$c < $bc" | bc -l) )); then bc=$c; fi
    done
    rm -f "$f"
    echo "$bw $bc"
}
rate() { echo "$1 / $2 / 1000000" | bc -l; }

echo "load: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores (other work shares the machine)"

# The fault counts must agree.
c_line=$("$DIR/paging_ref" "$LRU" 65536)
c_faults=$(echo "$c_line" | awk '{print $3}')
v_faults=$("$VMLAB" trace --json --frames 65536 --no-progress "$LRU" | grep -o '"page_faults":[0-9]*' | cut -d: -f2)
echo "faults with 65536 frames: C $c_faults, vmlab $v_faults $([ "$c_faults" = "$v_faults" ] && echo same || echo DIFFERENT)"

read -r cw cc_ < <(best "$DIR/paging_ref" "$LRU" 65536)
read -r vw vc < <(best "$VMLAB" trace --frames 65536 --no-progress "$LRU")
read -r bw bc < <(best "$VMLAB" trace --no-progress "$LRU")
read -r kw kc < <(best "$VMLAB" trace --curve frames --max-frames 1048576 --no-progress "$CURVE")

printf '%-52s %9s %9s %12s %12s\n' "run" "wall s" "cpu s" "M refs/s" "M refs/s cpu"
row() { printf '%-52s %9.2f %9.2f %12.1f %12.1f\n' "$1" "$2" "$3" "$(rate "$4" "$2")" "$(rate "$4" "$3")"; }
row "C loop, LRU, 65536 frames (whole process)" "$cw" "$cc_" "$N"
row "vmlab trace --frames 65536 (LRU)" "$vw" "$vc" "$N"
row "vmlab trace, no paging (the replay alone)" "$bw" "$bc" "$N"
row "vmlab trace --curve frames --max-frames 2^20" "$kw" "$kc" "$CURVE_N"
echo "vmlab / C (cpu): $(echo "$vc / $cc_" | bc -l | cut -c1-5)x; goals: LRU >= 100 M refs/s and within 1.3x of C, curve >= 20 M refs/s"

#!/usr/bin/env bash
# Benchmark of `vmlab trace` (issue 6): generates traces, builds release,
# measures references per second for every format and the two main
# mechanisms, and compares the binary base+bounds summary with a minimal C
# loop (bench/trace_ref.c, cc -O3) doing the same check and counting on the
# same file. Each figure is the best of $RUNS runs (the machine is shared).
#
#   bench/trace.sh            200 M binary addresses, 20 M text/lackey lines
#   N=50000000 bench/trace.sh smaller
#
# Files go to ${BENCH_DIR:-/tmp/vmlab-bench} (about 2.5 GB at the default
# size) and are kept for reruns; delete that directory afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-200000000}             # binary addresses
LINES=${LINES:-20000000}      # text and lackey lines
RUNS=${RUNS:-3}
DIR=${BENCH_DIR:-/tmp/vmlab-bench}
mkdir -p "$DIR"

cargo build --release --quiet
VMLAB=$PWD/target/release/vmlab
cc -O3 -o "$DIR/trace_gen" bench/trace_gen.c
cc -O3 -o "$DIR/trace_ref" bench/trace_ref.c

# Base+bounds: a 1 GiB address space at 256 MiB in 4 GiB of memory.
BASE=0x10000000 BOUNDS=0x40000000 PHYS=0x100000000
BB=(--base $BASE --bounds $BOUNDS --phys-mem $PHYS)
# Segmentation: 32-bit addresses, 4 segments (code r-x, heap rw, stack rw
# growing down, one unused) in 4 GiB of memory.
SEG=(--va-bits 32 --segment 0x0:0x40000000:rx:code --segment 0x40000000:0x40000000:rw:heap
     --segment 0xc0000000:0x20000000:rw:down:stack --segment 0:0:-
     --phys-mem $PHYS)

gen() { # format count span file
    [ -s "$4" ] || "$DIR/trace_gen" "$1" "$2" "$3" "$4"
}
gen bin "$N" 0x40000000 "$DIR/valid.bin"      # every address inside the bounds
gen bin "$N" 0x48000000 "$DIR/mixed.bin"      # 1 in 9 beyond the bounds
gen text "$LINES" 0x48000000 "$DIR/refs.txt"
gen lackey "$LINES" 0x48000000 "$DIR/refs.lackey"

# best CMD...: the best wall-clock seconds of $RUNS runs (file in page cache).
best() {
    "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }   # warm the cache
    local b=
    for _ in $(seq "$RUNS"); do
        local s e t
        s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N)
        t=$(echo "$e - $s" | bc -l)
        if [ -z "$b" ] || (( $(echo "$t < $b" | bc -l) )); then b=$t; fi
    done
    echo "$b"
}
rate() { echo "scale=1; $1 / $2 / 1000000" | bc -l; }   # count seconds -> M/s

printf "%-44s %10s %12s\n" "case" "seconds" "M refs/s"
row() { printf "%-44s %10.3f %12s\n" "$1" "$2" "$(rate "$3" "$2")"; }

t=$(best "$VMLAB" trace "${BB[@]}" "$DIR/valid.bin");            row "bin, base+bounds, all valid" "$t" "$N"
tm=$(best "$VMLAB" trace "${BB[@]}" "$DIR/mixed.bin");           row "bin, base+bounds, 11% bounds faults" "$tm" "$N"
ts=$(best "$VMLAB" trace "${SEG[@]}" "$DIR/mixed.bin");          row "bin, segmentation (4 segments)" "$ts" "$N"
tt=$(best "$VMLAB" trace "${BB[@]}" "$DIR/refs.txt");            row "text, base+bounds" "$tt" "$LINES"
tl=$(best "$VMLAB" trace "${BB[@]}" --format lackey "$DIR/refs.lackey"); row "lackey, base+bounds (lines/s)" "$tl" "$LINES"
c=$(best "$DIR/trace_ref" $BASE $BOUNDS $PHYS "$DIR/valid.bin");  row "C reference loop, all valid" "$c" "$N"
cm=$(best "$DIR/trace_ref" $BASE $BOUNDS $PHYS "$DIR/mixed.bin"); row "C reference loop, 11% bounds faults" "$cm" "$N"
printf "vmlab/C time ratio: all valid %.2f, 11%% faults %.2f (target <= 1.3)\n" \
    "$(echo "$t / $c" | bc -l)" "$(echo "$tm / $cm" | bc -l)"

# The same counts, or the comparison means nothing.
ours=$("$VMLAB" trace "${BB[@]}" --json "$DIR/mixed.bin")
theirs=$("$DIR/trace_ref" $BASE $BOUNDS $PHYS "$DIR/mixed.bin")
valid=$(echo "$ours" | sed -E 's/.*"valid":([0-9]+).*/\1/')
echo "$theirs" | grep -q "valid $valid " || { echo "MISMATCH: vmlab valid=$valid, C: $theirs" >&2; exit 1; }
echo "counts agree with the C loop: $valid valid of $N"

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
# growing down, one unused) in 4 GiB of memory. With the heap cut to
# 16 MiB (SEGF), the references of mixed.bin beyond it, about 10%, are
# bounds faults.
SEG=(--va-bits 32 --segment 0x0:0x40000000:rx:code --segment 0x40000000:0x40000000:rw:heap
     --segment 0xc0000000:0x20000000:rw:down:stack --segment 0:0:-
     --phys-mem $PHYS)
SEGF=(--va-bits 32 --segment 0x0:0x40000000:rx:code --segment 0x40000000:0x1000000:rw:heap
     --segment 0xc0000000:0x20000000:rw:down:stack --segment 0:0:-
     --phys-mem $PHYS)

gen() { # format count span file
    [ -s "$4" ] || "$DIR/trace_gen" "$1" "$2" "$3" "$4"
}
gen bin "$N" 0x40000000 "$DIR/valid.bin"      # every address inside the bounds
gen bin "$N" 0x48000000 "$DIR/mixed.bin"      # 1 in 9 beyond the bounds
gen text "$LINES" 0x48000000 "$DIR/refs.txt"
gen lackey "$LINES" 0x48000000 "$DIR/refs.lackey"

# best CMD...: the best of $RUNS runs (file in the page cache), printed as
# "WALL CPU": wall-clock seconds, and CPU seconds (user + system), which a
# busy shared machine disturbs less.
best() {
    "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }   # warm the cache
    local bw= bc= f
    f=$(mktemp)
    for _ in $(seq "$RUNS"); do
        /usr/bin/time -f "%e %U %S" -o "$f" "$@" >/dev/null 2>&1
        read -r w u s < "$f"
        local c
        c=$(echo "$u + $s" | bc -l)
        if [ -z "$bw" ] || (( $(echo "$w < $bw" | bc -l) )); then bw=$w; fi
        if [ -z "$bc" ] || (( $(echo "$c < $bc" | bc -l) )); then bc=$c; fi
    done
    rm -f "$f"
    echo "$bw $bc"
}
rate() { echo "scale=1; $1 / $2 / 1000000" | bc -l; }   # count seconds -> M/s

printf "%-40s %8s %10s %8s %10s\n" "case" "wall s" "M/s wall" "CPU s" "M/s CPU"
row() { # label "WALL CPU" count
    local w c
    read -r w c <<< "$2"
    printf "%-40s %8.2f %10s %8.2f %10s\n" "$1" "$w" "$(rate "$3" "$w")" "$c" "$(rate "$3" "$c")"
}
cpu() { echo "$1" | cut -d' ' -f2; }
wall() { echo "$1" | cut -d' ' -f1; }

t=$(best "$VMLAB" trace "${BB[@]}" "$DIR/valid.bin");            row "bin, base+bounds, all valid" "$t" "$N"
tm=$(best "$VMLAB" trace "${BB[@]}" "$DIR/mixed.bin");           row "bin, base+bounds, 11% bounds faults" "$tm" "$N"
ts=$(best "$VMLAB" trace "${SEG[@]}" "$DIR/mixed.bin");          row "bin, segmentation (4 segments)" "$ts" "$N"
tsf=$(best "$VMLAB" trace "${SEGF[@]}" "$DIR/mixed.bin");        row "bin, segmentation, 10% bounds faults" "$tsf" "$N"
tt=$(best "$VMLAB" trace "${BB[@]}" "$DIR/refs.txt");            row "text, base+bounds (lines)" "$tt" "$LINES"
tl=$(best "$VMLAB" trace "${BB[@]}" --format lackey "$DIR/refs.lackey"); row "lackey, base+bounds (lines)" "$tl" "$LINES"
c=$(best "$DIR/trace_ref" $BASE $BOUNDS $PHYS "$DIR/valid.bin");  row "C reference loop, all valid" "$c" "$N"
cm=$(best "$DIR/trace_ref" $BASE $BOUNDS $PHYS "$DIR/mixed.bin"); row "C reference loop, 11% bounds faults" "$cm" "$N"
ratio() { echo "$1 / $2" | bc -l; }
printf "vmlab/C time ratio, wall: all valid %.2f, 11%% faults %.2f (target <= 1.3)\n" \
    "$(ratio "$(wall "$t")" "$(wall "$c")")" "$(ratio "$(wall "$tm")" "$(wall "$cm")")"
printf "vmlab/C time ratio, CPU:  all valid %.2f, 11%% faults %.2f\n" \
    "$(ratio "$(cpu "$t")" "$(cpu "$c")")" "$(ratio "$(cpu "$tm")" "$(cpu "$cm")")"

# The same counts, or the comparison means nothing.
ours=$("$VMLAB" trace "${BB[@]}" --json "$DIR/mixed.bin")
theirs=$("$DIR/trace_ref" $BASE $BOUNDS $PHYS "$DIR/mixed.bin")
valid=$(echo "$ours" | sed -E 's/.*"valid":([0-9]+).*/\1/')
echo "$theirs" | grep -q "valid $valid " || { echo "MISMATCH: vmlab valid=$valid, C: $theirs" >&2; exit 1; }
echo "counts agree with the C loop: $valid valid of $N"

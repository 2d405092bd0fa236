#!/usr/bin/env bash
# CPU speed: a compute-heavy program (bench/sieve.s, ~8.9e7 instructions)
# under vmlab with base+bounds, with segmentation (every fetch, load and
# store translated by the MMU and checked at every byte), with Sv39 page
# tables behind a 64-entry fully associative LRU TLB (and, for scale, with
# no TLB: every access a three-level walk), and the same ELF under
# qemu-riscv64, side by side in one run.
#
# Prints instructions/second by wall time and by CPU time (the latter is
# what to compare on a busy machine), best of 5 runs each, the ratio to
# qemu, and — when valgrind is installed — callgrind's count of host
# instructions per emulated instruction: the stable figure, whatever the
# load of the machine.
#
#   bench/cpu.sh                 # the release build (thin LTO, as shipped)
#   PROFILE=perf bench/cpu.sh    # the perf profile (no LTO, quick rebuilds)
#   PROFILE=dist bench/cpu.sh    # fat LTO, one codegen unit
#   RUNS=3 CALLGRIND=0 bench/cpu.sh
set -eu  # (vmlab run exits with the program's status: no pipefail)
cd "$(dirname "$0")/.."
PROFILE=${PROFILE:-release}
RUNS=${RUNS:-5}
CALLGRIND=${CALLGRIND:-1}
cargo build --profile "$PROFILE" --quiet
VM=target/$PROFILE/vmlab
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
ELF=$DIR/sieve.elf
$VM asm bench/sieve.s -o "$ELF"
# Segmentation needs code and data in two segments: run the source, which
# the assembler lays out that way (the ELF's layout does not fit).
declare -A PROG=([base-bounds]=$ELF [segmentation]=bench/sieve.s [sv39]=$ELF)
N=0
best() { # label command... : runs RUNS times, keeps the best wall and cpu times
    local label=$1; shift
    local bw=999 bc=999 w c
    for _ in $(seq "$RUNS"); do
        read -r w c < <("$@")
        bw=$(awk -v a="$bw" -v b="$w" 'BEGIN { print (b < a) ? b : a }')
        bc=$(awk -v a="$bc" -v b="$c" 'BEGIN { print (b < a) ? b : a }')
    done
    awk -v l="$label" -v n="$N" -v w="$bw" -v c="$bc" 'BEGIN {
        printf "%-22s wall %.3f s %7.1f M instr/s   cpu %.3f s %7.1f M instr/s\n", l, w, n / w / 1e6, c, n / c / 1e6 }'
    echo "$bc" > "$DIR/last"
}
vmlab_run() { # mmu [flags...] -> "wall cpu"
    "$VM" run "${PROG[$1]}" --mmu "$@" --max-instructions 1000000000 --stats 2>&1 >/dev/null |
        sed -n 's/^instructions: \([0-9]*\)  time: \([0-9.]*\) s.*cpu time \([0-9.]*\) s.*/\2 \3/p'
}
N=$("$VM" run "$ELF" --max-instructions 1000000000 --stats 2>&1 >/dev/null | sed -n 's/^instructions: \([0-9]*\) .*/\1/p')
echo "instructions: $N   profile: $PROFILE   best of $RUNS   load: $(cut -d' ' -f1-3 /proc/loadavg)"
declare -A CPU
for mmu in base-bounds segmentation; do
    best "vmlab $mmu" vmlab_run "$mmu"
    CPU[$mmu]=$(cat "$DIR/last")
done
best "vmlab sv39 tlb 64" vmlab_run sv39 --tlb 64
CPU[sv39]=$(cat "$DIR/last")
best "vmlab sv39 no tlb" vmlab_run sv39 --tlb off
"$VM" run "$ELF" --mmu sv39 --tlb 64 --max-instructions 1000000000 --stats 2>&1 >/dev/null | grep '^tlb' || true
awk -v s="${CPU[sv39]}" -v b="${CPU[base-bounds]}" 'BEGIN {
    printf "vmlab sv39 + 64-entry TLB runs at %.2f x the speed of base+bounds (cpu time)\n", b / s }'
if command -v qemu-riscv64 >/dev/null 2>&1; then
    qemu_run() {
        local TIMEFORMAT='%R %U %S'
        { time qemu-riscv64 "$ELF" >/dev/null || true; } 2>&1 | awk '{ print $1, $2 + $3 }'
    }
    best "qemu-riscv64" qemu_run
    Q=$(cat "$DIR/last")
    for mmu in base-bounds segmentation sv39; do
        awk -v q="$Q" -v b="${CPU[$mmu]}" -v m="$mmu" 'BEGIN {
            printf "vmlab %s runs at %.2f x the speed of qemu-riscv64 (cpu time)\n", m, q / b }'
    done
else
    echo "qemu-riscv64 not installed: no ratio (Debian: qemu-user)"
fi
if [ "$CALLGRIND" = 1 ] && command -v valgrind >/dev/null 2>&1; then
    for mmu in base-bounds segmentation; do
        valgrind --tool=callgrind --callgrind-out-file="$DIR/cg.out" \
            "$VM" run "${PROG[$mmu]}" --mmu "$mmu" --max-instructions 1000000000 \
            >/dev/null 2>"$DIR/cg.err" || true
        IR=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$DIR/cg.err")
        awk -v l="vmlab $mmu" -v ir="$IR" -v n="$N" 'BEGIN {
            printf "%-22s callgrind %.1f host instructions per emulated instruction\n", l, ir / n }'
    done
else
    echo "valgrind not installed (or CALLGRIND=0): no callgrind figure (Debian: valgrind)"
fi

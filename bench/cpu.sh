#!/usr/bin/env bash
# CPU speed: a compute-heavy program (bench/sieve.s, ~8.9e7 instructions)
# under vmlab (release) with the identity MMU, with base+bounds (every
# fetch, load and store translated), with Sv39 page tables behind a 64-entry
# fully associative LRU TLB (and, for scale, with no TLB: every access a
# three-level walk), and the same ELF under qemu-riscv64.
# Prints instructions/second by wall time and by CPU time (the latter is
# what to compare on a busy machine), best of 3 runs, and the ratio to qemu.
set -eu  # (vmlab run exits with the program's status: no pipefail)
cd "$(dirname "$0")/.."
cargo build --release --quiet
VM=target/release/vmlab
DIR=$(mktemp -d)
ELF=$DIR/sieve.elf
$VM asm bench/sieve.s -o "$ELF"
N=0
best() { # label command... : runs 3 times, keeps the best wall and cpu times
    local label=$1; shift
    local bw=999 bc=999 w c
    for _ in 1 2 3; do
        read -r w c < <("$@")
        bw=$(awk -v a="$bw" -v b="$w" 'BEGIN { print (b < a) ? b : a }')
        bc=$(awk -v a="$bc" -v b="$c" 'BEGIN { print (b < a) ? b : a }')
    done
    awk -v l="$label" -v n="$N" -v w="$bw" -v c="$bc" 'BEGIN {
        printf "%-20s wall %.3f s %7.1f M instr/s   cpu %.3f s %7.1f M instr/s\n", l, w, n / w / 1e6, c, n / c / 1e6 }'
    echo "$bc" > "$DIR/last"
}
vmlab_run() { # mmu [flags...] -> "wall cpu"
    "$VM" run "$ELF" --mmu "$@" --max-instructions 1000000000 --stats 2>&1 >/dev/null |
        sed -n 's/^instructions: \([0-9]*\)  time: \([0-9.]*\) s.*cpu time \([0-9.]*\) s.*/\2 \3/p'
}
N=$("$VM" run "$ELF" --max-instructions 1000000000 --stats 2>&1 >/dev/null | sed -n 's/^instructions: \([0-9]*\) .*/\1/p')
echo "instructions: $N"
best "vmlab identity" vmlab_run identity
best "vmlab base+bounds" vmlab_run base-bounds
BB=$(cat "$DIR/last")
best "vmlab sv39 tlb 64" vmlab_run sv39 --tlb 64
SV=$(cat "$DIR/last")
best "vmlab sv39 no tlb" vmlab_run sv39 --tlb off
"$VM" run "$ELF" --mmu sv39 --tlb 64 --max-instructions 1000000000 --stats 2>&1 >/dev/null | grep '^tlb'
awk -v s="$SV" -v b="$BB" 'BEGIN { printf "vmlab sv39 + 64-entry TLB runs at %.2f x the speed of base+bounds (cpu time)\n", b / s }'
if command -v qemu-riscv64 >/dev/null 2>&1; then
    qemu_run() {
        local TIMEFORMAT='%R %U %S'
        { time qemu-riscv64 "$ELF" >/dev/null || true; } 2>&1 | awk '{ print $1, $2 + $3 }'
    }
    best "qemu-riscv64" qemu_run
    Q=$(cat "$DIR/last")
    awk -v q="$Q" -v b="$BB" 'BEGIN { printf "vmlab base+bounds runs at %.2f x the speed of qemu-riscv64 (cpu time)\n", q / b }'
    awk -v q="$Q" -v s="$SV" 'BEGIN { printf "vmlab sv39 + 64-entry TLB runs at %.2f x the speed of qemu-riscv64 (cpu time)\n", q / s }'
else
    echo "qemu-riscv64 not installed: no ratio (Debian: qemu-user)"
fi
rm -rf "$DIR"

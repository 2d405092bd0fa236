#!/bin/sh
# CPU speed: a compute-heavy program (bench/sieve.s, ~1e8 instructions)
# under vmlab (release) with the identity MMU and with base+bounds (every
# fetch, load and store translated), and the same ELF under qemu-riscv64.
# Prints instructions/second for each and the ratio to qemu.
set -eu
cd "$(dirname "$0")/.."
cargo build --release --quiet
VM=target/release/vmlab
ELF=$(mktemp -d)/sieve.elf
$VM asm bench/sieve.s -o "$ELF"
rate() { # mmu -> prints "count seconds"
    "$VM" run "$ELF" --mmu "$1" --phys-mem 64m --stats 2>&1 >/dev/null |
        sed -n 's/^instructions: \([0-9]*\)  time: \([0-9.]*\) s.*/\1 \2/p'
}
set -- $(rate identity); N=$1; T_ID=$2
set -- $(rate base-bounds); T_BB=$2
echo "instructions: $N"
awk -v n="$N" -v t="$T_ID" 'BEGIN { printf "vmlab identity:     %.3f s  %.1f M instructions/s\n", t, n / t / 1e6 }'
awk -v n="$N" -v t="$T_BB" 'BEGIN { printf "vmlab base+bounds:  %.3f s  %.1f M instructions/s\n", t, n / t / 1e6 }'
if command -v qemu-riscv64 >/dev/null 2>&1; then
    S=$(date +%s.%N); qemu-riscv64 "$ELF" || true; E=$(date +%s.%N)
    awk -v n="$N" -v s="$S" -v e="$E" -v t="$T_BB" 'BEGIN { q = e - s;
        printf "qemu-riscv64:       %.3f s  %.1f M instructions/s\n", q, n / q / 1e6;
        printf "vmlab base+bounds / qemu speed: %.2f\n", q / t }'
else
    echo "qemu-riscv64 not installed: no ratio (Debian: qemu-user)"
fi

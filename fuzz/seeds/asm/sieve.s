# Benchmark: a sieve of Eratosthenes over 1 MiB, repeated, ~1e8
# instructions of loads, stores, branches and arithmetic.
        .equ N, 1 << 20
        .equ ROUNDS, 6
        .text
        .globl _start
_start:
        li   s3, ROUNDS
round:
        la   s0, flags          # s0 = flags
        li   s1, N
        # clear: flags[i] = 0 for all i (8 bytes at a time)
        mv   t0, s0
        add  t1, s0, s1
1:      sd   zero, 0(t0)
        addi t0, t0, 8
        bltu t0, t1, 1b
        li   s2, 0              # prime count
        li   t0, 2              # i
2:      add  t2, s0, t0
        lbu  t3, 0(t2)
        bnez t3, 4f
        addi s2, s2, 1
        mul  t4, t0, t0         # j = i * i
        bgeu t4, s1, 4f
        li   t5, 1
3:      add  t2, s0, t4
        sb   t5, 0(t2)
        add  t4, t4, t0
        bltu t4, s1, 3b
4:      addi t0, t0, 1
        bltu t0, s1, 2b
        addi s3, s3, -1
        bnez s3, round
        # exit(count % 256): 82025 primes below 2^20
        andi a0, s2, 255
        li   a7, 93
        ecall
        .bss
flags:  .space N

# stacktest + arraytest (the xv6 hands-on), in one program:
# locals of main, f1 and f2 (f1 calls f2), f2's int arr[2], then three
# sbrk(40) calls, each block touched once.
    .text
    .globl _start
_start:
    addi sp, sp, -32
    sd   ra, 24(sp)
    li   t0, 1
    sw   t0, 12(sp)       # int a = 1;  a local of main
    call f1
    li   a0, 40
    li   a7, 12           # sbrk (xv6 number 12)
    ecall                 # h1 = sbrk(40)
    sw   zero, 0(a0)      # h1[0] = 0
    li   a0, 40
    li   a7, 12
    ecall                 # h2 = sbrk(40)
    sw   zero, 0(a0)
    li   a0, 40
    li   a7, 12
    ecall                 # h3 = sbrk(40)
    sw   zero, 0(a0)
    li   a0, 0
    li   a7, 2            # exit (xv6 number 2)
    ecall
f1:
    addi sp, sp, -32
    sd   ra, 24(sp)
    li   t0, 2
    sw   t0, 12(sp)       # int b = 2;  a local of f1
    call f2
    ld   ra, 24(sp)
    addi sp, sp, 32
    ret
f2:
    addi sp, sp, -32
    li   t0, 3
    sw   t0, 12(sp)       # int c = 3;  a local of f2
    sw   t0, 0(sp)        # arr[0]
    sw   t0, 4(sp)        # arr[1]
    addi sp, sp, 32
    ret

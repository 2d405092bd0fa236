# E13 arraytest (the xv6 hands-on, in assembly): where does the heap grow?
# Three sbrk(40) calls return h1 < h2 < h3, 40 bytes apart: the heap grows
# up from the end of the program.
#
#   vmlab run examples/arraytest.s

        .text
        .globl _start
_start:
        li   s1, 3              # three allocations
1:      li   a0, 40
        li   a7, 12             # sbrk(40) (xv6 number): old break
        ecall
        call puthex
        addi s1, s1, -1
        bnez s1, 1b
        li   a0, 0
        li   a7, 2              # exit(0)
        ecall

# puthex(a0): writes "sbrk(40) = 0x????????\n".
puthex: la   t0, hexbuf + 2
        li   t1, 28
        la   t3, hexdigits
1:      srl  t2, a0, t1
        andi t2, t2, 15
        add  t2, t3, t2
        lbu  t2, 0(t2)
        sb   t2, 0(t0)
        addi t0, t0, 1
        addi t1, t1, -4
        bgez t1, 1b
        li   a0, 1
        la   a1, prefix
        li   a2, 22
        li   a7, 16             # write
        ecall
        ret

        .data
hexdigits: .ascii "0123456789abcdef"
prefix:    .ascii "sbrk(40) = "
hexbuf:    .ascii "0x????????\n"

# Sum an array of 10 words in a loop, print the sum, exit with it.
#
#   vmlab run examples/sum.s            -> prints "sum = 55", exit status 55
#
# Every element load is a translated read of .data; every loop
# instruction a translated fetch of .text.

        .text
        .globl _start
_start:
        la   t0, array          # t0 = &array[0]
        li   t1, 10             # t1 = elements left
        li   a0, 0              # a0 = sum
1:      lw   t2, 0(t0)          # t2 = *t0
        add  a0, a0, t2
        addi t0, t0, 4          # next element: 4 bytes on
        addi t1, t1, -1
        bnez t1, 1b
        mv   s1, a0             # keep the sum
        # write(1, "sum = ", 6)
        li   a0, 1
        la   a1, label
        li   a2, 6
        li   a7, 64
        ecall
        # two decimal digits (the sum is < 100)
        li   t0, 10
        divu t1, s1, t0         # tens
        remu t2, s1, t0         # units
        addi t1, t1, '0'
        addi t2, t2, '0'
        la   a1, digits
        sb   t1, 0(a1)
        sb   t2, 1(a1)
        li   a0, 1
        li   a2, 3
        li   a7, 64
        ecall
        mv   a0, s1             # exit(sum)
        li   a7, 93
        ecall

        .data
array:  .word 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
label:  .ascii "sum = "
digits: .ascii "??\n"

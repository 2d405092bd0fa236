# E13 stacktest (the xv6 hands-on, in assembly): where do locals live?
# main has a local array arr[2] of ints; main calls f1, f1 calls f2; each
# prints the address of its local. The addresses decrease with call depth:
# the stack grows down. &arr[1] is 4 bytes above &arr[0].
#
#   vmlab run examples/stacktest.s

        .text
        .globl _start
_start:
        addi sp, sp, -16        # main's frame: int arr[2] at sp+0, sp+4
        la   a0, s_arr0
        addi a1, sp, 0          # &arr[0]
        call show
        la   a0, s_arr1
        addi a1, sp, 4          # &arr[1]
        call show
        la   a0, s_main
        addi a1, sp, 8          # a local of main
        call show
        call f1
        li   a0, 0
        li   a7, 2              # exit(0) (xv6 number)
        ecall

f1:     addi sp, sp, -16
        sd   ra, 8(sp)
        la   a0, s_f1
        addi a1, sp, 0          # a local of f1
        call show
        call f2
        ld   ra, 8(sp)
        addi sp, sp, 16
        ret

f2:     addi sp, sp, -16
        sd   ra, 8(sp)
        la   a0, s_f2
        addi a1, sp, 0          # a local of f2
        call show
        ld   ra, 8(sp)
        addi sp, sp, 16
        ret

# show(a0 = 8-byte label, a1 = address): writes "label 0x????????\n".
show:   addi sp, sp, -32
        sd   ra, 24(sp)
        sd   a1, 16(sp)
        mv   a1, a0
        li   a0, 1
        li   a2, 8
        li   a7, 16             # write (xv6 number)
        ecall
        ld   a0, 16(sp)
        call puthex
        ld   ra, 24(sp)
        addi sp, sp, 32
        ret

# puthex(a0): writes a0 as 0x + 8 hex digits and a newline.
puthex: la   t0, hexbuf + 2
        li   t1, 28             # shift for the top digit
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
        la   a1, hexbuf
        li   a2, 11
        li   a7, 16
        ecall
        ret

        .data
s_arr0:    .ascii "arr[0]  "
s_arr1:    .ascii "arr[1]  "
s_main:    .ascii "main    "
s_f1:      .ascii "f1      "
s_f2:      .ascii "f2      "
hexdigits: .ascii "0123456789abcdef"
hexbuf:    .ascii "0x????????\n"

# The TLB chapter's measurement program (OSTEP asks students to write it as
# tlb.c): touch one 4-byte integer on each of N pages, the whole set of pages
# LOOPS times, so that the time per access shows when N pages no longer fit
# in the TLB.
#
#   a0 = N, the number of pages (at least 1)
#   a1 = LOOPS, how many times the N pages are walked (at least 1)
#
#   vmlab run examples/tlb/tlb.s --mmu sv39 --reg a0=32 --reg a1=100
#
# The pages come from the OS with sbrk (N * 4096 bytes), so under paging
# each of them is a page the kernel mapped. Exits with status 0.

        .equ PAGE, 4096
        .text
        .globl _start
_start:
        mv   s0, a0             # s0 = N
        mv   s1, a1             # s1 = LOOPS
        # p = sbrk(N * PAGE)
        slli a0, s0, 12
        li   a7, 12             # xv6 sbrk(n): returns the old break
        ecall
        li   t0, -1
        beq  a0, t0, nomem      # the OS refused: say so, exit(1)
        mv   s2, a0             # s2 = first page
        slli t3, s0, 12
        add  s3, s2, t3         # s3 = end of the pages
        li   t5, PAGE
1:      mv   t0, s2             # for each loop: p = first page
2:      lw   t1, 0(t0)          #   touch one integer on this page
        add  t0, t0, t5         #   next page
        bltu t0, s3, 2b
        addi s1, s1, -1
        bnez s1, 1b
        li   a0, 0              # exit(0)
        li   a7, 93
        ecall
nomem:  li   a0, 2              # write(2, msg, len)
        la   a1, msg
        li   a2, 44         # its length
        li   a7, 64
        ecall
        li   a0, 1              # exit(1)
        li   a7, 93
        ecall

        .data
msg:    .ascii "tlb: sbrk refused the pages (raise --space)\n"

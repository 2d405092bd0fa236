# A runaway recursion: every call pushes a 16-byte frame and never returns,
# so the stack grows down without end. Under --mmu sv39 (xv6's layout) the
# page below the one stack page is a guard page, left unmapped: the push
# that reaches it page-faults and the run stops there. Under base+bounds
# nothing stops the stack before it overwrites the program's own code.
#
#   vmlab run examples/overflow.s --mmu sv39    -> page fault in the guard page
        .text
        .globl _start
_start:
        call down
down:
        addi sp, sp, -16        # push a frame
        sd   ra, 8(sp)
        call down               # and again, forever

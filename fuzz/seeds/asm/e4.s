# E4: the memory accesses of three instructions.
#
# The lecture's x86 listing (movl 0x8(%rbp),%edi / addl $3,%edi /
# movl %edi,0x8(%rbp)) in RISC-V: load a variable of the current frame,
# add 3, store it back. With the frame pointer s0 = 0x200 the hardware makes
# exactly five translated accesses:
#   fetch 0x10, load 0x208, fetch 0x14, fetch 0x18, store 0x208
#
#   vmlab run examples/e4.s --mmu base-bounds --base 4k --space 1k \
#             --reg s0=0x200 --max-instructions 3 --trace
#
# The three instructions sit at 0x10 as in the lecture; the exit sequence
# fills 0x00..0x0f, so execution starts at _start = 0x10.

        .text
done:                       # 0x00: exit(a0) once the three have run
        li   a7, 93         # 0x00  exit
        ecall               # 0x04
        nop                 # 0x08
        nop                 # 0x0c
        .globl _start
_start:
        lw   a0, 8(s0)      # 0x10  load the local at s0 + 8
        addi a0, a0, 3      # 0x14  add 3 (no memory access but the fetch)
        sw   a0, 8(s0)      # 0x18  store it back
        j    done           # 0x1c  exit with the new value as status

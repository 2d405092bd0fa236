# Directives, expressions, relocations with %hi/%lo and %pcrel.
        .equ    N, 10
        .set    SIZE, N * 4
        .text
        .globl _start
_start:
        lui     a0, %hi(table)
        addi    a0, a0, %lo(table)
        lw      a1, %lo(table)(a0)
        sw      a1, %lo(table + 4)(a0)
        lui     t0, %hi(buf)
        sd      zero, %lo(buf)(t0)
1:      auipc   a2, %pcrel_hi(msg)
        addi    a2, a2, %pcrel_lo(1b)
        li      a3, SIZE
        li      a4, SIZE + 1
        li      a5, 'A'
        addi    a6, zero, (3 + 4) * 2 - 1
        andi    a7, a7, ~0xf & 0x7ff
        .align  4
        ecall
        .p2align 3
        ret
        .section .rodata
msg:    .string "ro\tdata\n"
        .data
        .byte   1, 2, 0xff, -1
        .half   0x1234, -2
        .short  7
        .align  3
table:  .word   1, 2, 3, N
        .long   SIZE
        .dword  table, msg + 2, 0x123456789abcdef0
        .quad   -1
        .ascii  "abc", "def"
        .asciz  "\101\x42C\\\""
        .zero   3
        .space  5, 0xaa
        .balign 8
end:
        .bss
buf:    .space  64
        .align  4
buf2:   .zero   16

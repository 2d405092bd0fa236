# Every RV64IM instruction, in its real (non-pseudo) form.
        .text
        .globl _start
_start:
        lui     a0, 0x12345
        lui     t6, 0xfffff
        auipc   a1, 0
        auipc   s11, 0x80000
        jal     ra, fwd
        jal     zero, _start
        jalr    ra, 0(a0)
        jalr    t0, -2048(sp)
        jalr    x0, 2047(x31)
fwd:    beq     a0, a1, _start
        bne     a0, a1, fwd
        blt     t0, t1, far
        bge     s0, s1, _start
        bltu    a6, a7, fwd
        bgeu    x1, x2, far
        lb      a0, 0(a1)
        lh      a0, -1(a1)
        lw      a0, 2047(a1)
        ld      a0, -2048(a1)
        lbu     t0, 8(sp)
        lhu     t1, 16(sp)
        lwu     t2, 24(sp)
        sb      a0, 0(a1)
        sh      a0, -1(a1)
        sw      a0, 2047(a1)
        sd      a0, -2048(a1)
        addi    a0, a1, -2048
        slti    a0, a1, 2047
        sltiu   a0, a1, 1
        xori    a0, a1, -1
        ori     a0, a1, 0x7ff
        andi    a0, a1, 0xff
        slli    a0, a1, 63
        srli    a0, a1, 32
        srai    a0, a1, 1
        addiw   a0, a1, -1
        slliw   a0, a1, 31
        srliw   a0, a1, 0
        sraiw   a0, a1, 17
        add     s2, s3, s4
        sub     s5, s6, s7
        sll     s8, s9, s10
        slt     t3, t4, t5
        sltu    t3, t4, t5
        xor     a2, a3, a4
        srl     a2, a3, a4
        sra     a2, a3, a4
        or      a2, a3, a4
        and     a2, a3, a4
        addw    a5, a6, a7
        subw    a5, a6, a7
        sllw    a5, a6, a7
        srlw    a5, a6, a7
        sraw    a5, a6, a7
        mul     a0, a1, a2
        mulh    a0, a1, a2
        mulhsu  a0, a1, a2
        mulhu   a0, a1, a2
        div     a0, a1, a2
        divu    a0, a1, a2
        rem     a0, a1, a2
        remu    a0, a1, a2
        mulw    a0, a1, a2
        divw    a0, a1, a2
        divuw   a0, a1, a2
        remw    a0, a1, a2
        remuw   a0, a1, a2
        fence
        fence   rw, rw
        fence   iorw, o
        ecall
        ebreak
        .space  1000, 0
far:    addi    x0, x0, 0

# The pseudo-instructions, and li across the constant sizes.
        .text
        .globl _start
_start:
        nop
        li      a0, 0
        li      a0, 1
        li      a0, -1
        li      a0, 2047
        li      a0, -2048
        li      a0, 2048
        li      a0, 4096
        li      a0, 0x800
        li      a0, 0x12345678
        li      a0, 0x7ffff800
        li      a0, 0x7fffffff
        li      a0, -0x80000000
        li      a0, 0x80000000
        li      a0, 0xffffffff
        li      a0, 0x100000000
        li      a0, 0x123456789
        li      a0, 0x123456789abcdef0
        li      a0, 0x7fffffffffffffff
        li      a0, 0x8000000000000000
        li      a0, -0x123456789abcdef
        li      t0, 0xdeadbeefcafe
        li      s1, 1 << 40
        la      a0, msg
        lw      a0, msg
        ld      t0, msg
        lbu     a1, msg
        sw      a0, msg, t0
        sd      a1, msg, t1
        sb      zero, msg, t2
        lla     a1, msg
        mv      a0, a1
        not     a0, a1
        neg     a0, a1
        negw    a0, a1
        sext.w  a0, a1
        seqz    a0, a1
        snez    a0, a1
        sltz    a0, a1
        sgtz    a0, a1
1:      beqz    a0, 1b
        bnez    a0, 1b
        blez    a0, 1f
        bgez    a0, 1f
        bltz    a0, 1f
        bgtz    a0, 1f
1:      bgt     a0, a1, 1b
        ble     a0, a1, 1b
        bgtu    a0, a1, 2f
        bleu    a0, a1, 2f
2:      j       2b
        jal     func
        jr      t0
        jalr    t1
        call    func
        tail    func
func:   ret
        .data
msg:    .asciz "hello"

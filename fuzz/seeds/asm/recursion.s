# A recursive function: fact(n) = n * fact(n - 1). Each call pushes a
# 16-byte frame (return address and n), so the stack grows down by 16 bytes
# per level; run with --trace to watch the stores go to lower addresses.
#
#   vmlab run examples/recursion.s      -> exit status 120 (5!)

        .text
        .globl _start
_start:
        li   a0, 5
        call fact
        li   a7, 93             # exit(fact(5))
        ecall

# fact(a0) -> a0
fact:
        addi sp, sp, -16        # push a frame: the stack grows down
        sd   ra, 8(sp)
        sd   a0, 0(sp)
        li   t0, 1
        ble  a0, t0, 1f         # fact(0) = fact(1) = 1
        addi a0, a0, -1
        call fact               # a0 = fact(n - 1)
        ld   t1, 0(sp)          # t1 = n
        mul  a0, a0, t1
        j    2f
1:      li   a0, 1
2:      ld   ra, 8(sp)
        addi sp, sp, 16         # pop the frame
        ret

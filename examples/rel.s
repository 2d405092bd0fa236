.globl _start
_start: lui a0, %hi(msg)
 addi a0, a0, %lo(msg)
 ld a1, 0(a0)
.data
msg: .dword msg

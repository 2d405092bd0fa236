# Minimal start file for the differential C tests: point gp at the small
# data area (gcc addresses globals relative to it), call main(), then
# exit(main's result) with the Linux RISC-V exit call (93).
        .text
        .globl _start
_start:
        .option push
        .option norelax
        la   gp, __global_pointer$
        .option pop
        call main
        li   a7, 93
        ecall

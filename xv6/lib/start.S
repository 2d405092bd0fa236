# vmlab's xv6-compatible start file: the program's entry point.
# vmlab starts a process at _start with sp at the top of its stack (16-byte
# aligned) and no arguments; main(0, 0) runs, and its return value is the
# status of exit (system call 2, xv6's number), so returning from main ends
# the process cleanly.
        .text
        .globl _start
_start:
        li   a0, 0              # argc
        li   a1, 0              # argv
        call main
        li   a7, 2              # exit(main's return value)
        ecall
1:      j    1b                 # exit does not return

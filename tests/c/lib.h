/* Just enough of a C library for the differential tests: write and exit
 * through the Linux RISC-V system calls (64 and 93). */
static long sys_write(long fd, const void *buf, long len) {
    register long a0 asm("a0") = fd;
    register long a1 asm("a1") = (long)buf;
    register long a2 asm("a2") = len;
    register long a7 asm("a7") = 64;
    asm volatile("ecall" : "+r"(a0) : "r"(a1), "r"(a2), "r"(a7) : "memory");
    return a0;
}
static long str_len(const char *s) { long n = 0; while (s[n]) n++; return n; }
static void puts_(const char *s) { sys_write(1, s, str_len(s)); }
static void put_num(long v) {
    char buf[24]; int i = 23; buf[i] = 0;
    int neg = v < 0; unsigned long u = neg ? -(unsigned long)v : (unsigned long)v;
    do { buf[--i] = '0' + u % 10; u /= 10; } while (u);
    if (neg) buf[--i] = '-';
    puts_(buf + i);
}

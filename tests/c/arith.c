/* Multiply/divide edge cases, 32-bit ops, recursion and globals. */
#include "lib.h"
long table[8] = {1, -2, 3, -4, 0x7fffffffffffffffL, -0x7fffffffffffffffL - 1, 7, 0};
static long fib(long n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
int main(void) {
    for (int i = 0; i < 8; i++) {
        for (int j = 0; j < 8; j++) {
            volatile long a = table[i], b = table[j];
            put_num(a * b); puts_(" ");
            put_num(b ? a / b : -99); puts_(" ");
            put_num(b ? a % b : -99); puts_(" ");
            put_num((int)a * (int)b); puts_(" ");
            put_num((unsigned)a >> (j + 1)); puts_("\n");
        }
    }
    puts_("fib(20) = "); put_num(fib(20)); puts_("\n");
    return 3;
}

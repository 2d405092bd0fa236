/* Bytes, halves, stack arrays and a string reversal. */
#include "lib.h"
int main(void) {
    char s[] = "virtual memory, physical memory";
    long n = str_len(s);
    for (long i = 0; i < n / 2; i++) { char t = s[i]; s[i] = s[n - 1 - i]; s[n - 1 - i] = t; }
    puts_(s); puts_("\n");
    short h[5] = {-1, 2, -300, 32767, -32768};
    long sum = 0;
    for (int i = 0; i < 5; i++) sum += h[i];
    put_num(sum); puts_("\n");
    return 0;
}

/* Sieve of Eratosthenes: count and print the primes below 2000. */
#include "lib.h"
static char composite[2000];
int main(void) {
    int count = 0;
    for (int i = 2; i < 2000; i++) {
        if (composite[i]) continue;
        count++;
        if (i < 60) { put_num(i); puts_(" "); }
        for (int j = i * i; j < 2000; j += i) composite[j] = 1;
    }
    puts_("\ncount = "); put_num(count); puts_("\n");
    return count % 256;
}

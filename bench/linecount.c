/* Reference loop for text traces (issue 15): parse one address per line
 * with strtoull (an optional "R "/"W "/"F " prefix), apply base+bounds,
 * count valid references and sum their physical addresses.
 *
 *   linecount FILE BASE BOUNDS */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: linecount FILE BASE BOUNDS\n"); return 2; }
    int fd = open(argv[1], O_RDONLY); struct stat st; fstat(fd, &st);
    uint64_t base = strtoull(argv[2], 0, 0), bounds = strtoull(argv[3], 0, 0);
    const char *p = mmap(0, st.st_size + 1, PROT_READ, MAP_PRIVATE, fd, 0), *end = p + st.st_size;
    uint64_t lines = 0, valid = 0, sum = 0;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == 'R' || *p == 'W' || *p == 'F' || *p == 'r' || *p == 'w' || *p == 'f')) p++;
        char *next; uint64_t v = strtoull(p, &next, 0);
        lines++; uint64_t ok = v < bounds; valid += ok; sum += ok ? v + base : 0;
        p = next; while (p < end && *p != '\n') p++; p++;
    }
    printf("%llu %llu %llu\n", (unsigned long long)lines, (unsigned long long)valid, (unsigned long long)sum);
    return 0;
}

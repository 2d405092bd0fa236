/* Reference loop for Valgrind lackey traces (issue 15): per line, the kind
 * letter, the hex address (strtoull) and the decimal size (strtoull), then
 * base+bounds on every byte of the reference ([addr, addr + size) inside
 * the bound); a modify (M) is a read and a write, two references. Lines
 * starting with "==" (valgrind's own) are skipped. Counts references and
 * valid ones, and sums the physical addresses of the valid ones.
 *
 *   lackeycount FILE BASE BOUNDS */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: lackeycount FILE BASE BOUNDS\n"); return 2; }
    int fd = open(argv[1], O_RDONLY); struct stat st; fstat(fd, &st);
    uint64_t base = strtoull(argv[2], 0, 0), bounds = strtoull(argv[3], 0, 0);
    const char *p = mmap(0, st.st_size + 1, PROT_READ, MAP_PRIVATE, fd, 0), *end = p + st.st_size;
    uint64_t refs = 0, valid = 0, sum = 0;
    while (p < end) {
        if (p[0] == '=' && p + 1 < end && p[1] == '=') {
            while (p < end && *p != '\n') p++;
            p++;
            continue;
        }
        while (p < end && *p == ' ') p++;
        char kind = *p++;
        char *next;
        uint64_t a = strtoull(p, &next, 16);
        uint64_t size = strtoull(next + 1, &next, 10);
        uint64_t n = kind == 'M' ? 2 : 1;
        uint64_t ok = size <= bounds && a <= bounds - size;
        refs += n; valid += ok * n; sum += ok ? n * (a + base) : 0;
        p = next; while (p < end && *p != '\n') p++; p++;
    }
    printf("%llu %llu %llu\n", (unsigned long long)refs, (unsigned long long)valid, (unsigned long long)sum);
    return 0;
}

/* The C reference loop for bench/trace.sh: the same base+bounds check and
 * counting as `vmlab trace --base B --bounds L --phys-mem P FILE.bin`:
 * mmap the file, and for every little-endian u64 address:
 *   va < bounds ? pa = base + va (no overflow) and pa < phys : fault,
 * counting valid references and faults and the lowest/highest valid va. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 5) { fprintf(stderr, "usage: trace_ref BASE BOUNDS PHYS FILE\n"); return 2; }
    uint64_t base = strtoull(argv[1], 0, 0), bounds = strtoull(argv[2], 0, 0), phys = strtoull(argv[3], 0, 0);
    int fd = open(argv[4], O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st)) { perror(argv[4]); return 2; }
    size_t n = st.st_size / 8;
    const uint64_t *p = mmap(0, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) { perror("mmap"); return 2; }
    madvise((void *)p, st.st_size, MADV_SEQUENTIAL);
    uint64_t valid = 0, bounds_faults = 0, other_faults = 0, lo = UINT64_MAX, hi = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t va = p[i];
        if (va < bounds) {
            uint64_t pa = base + va;
            if (pa >= base && pa < phys) {
                valid++;
                lo = va < lo ? va : lo;
                hi = va > hi ? va : hi;
            } else {
                other_faults++;
            }
        } else {
            bounds_faults++;
        }
    }
    printf("references %zu valid %llu bounds %llu other %llu lowest %#llx highest %#llx\n", n,
           (unsigned long long)valid, (unsigned long long)bounds_faults,
           (unsigned long long)other_faults, (unsigned long long)lo, (unsigned long long)hi);
    return 0;
}

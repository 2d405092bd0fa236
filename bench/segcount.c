/* Reference loop for the segmentation trace bar (issue 15): read
 * little-endian u64 addresses from FILE (mmap) and translate each under a
 * 4-segment table selected by the top two bits of a VA_BITS-bit address,
 * every segment with a base, a size and a direction (the fourth unused),
 * branch-free: count valid references and sum their physical addresses.
 *
 *   segcount FILE VA_BITS BASE0 SIZE0 BASE1 SIZE1 BASE3 SIZE3
 *
 * Segments 0 and 1 grow up (pa = base + offset, offset < size); segment 3
 * grows down (base is its top: pa = base - (max - offset), max - offset
 * <= size); segment 2 is unused. Permissions are not checked: the trace is
 * all reads and every used segment is readable. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
int main(int argc, char **argv) {
    if (argc < 9) { fprintf(stderr, "usage: segcount FILE VA_BITS BASE0 SIZE0 BASE1 SIZE1 BASE3 SIZE3\n"); return 2; }
    int fd = open(argv[1], O_RDONLY); struct stat st; fstat(fd, &st);
    unsigned bits = (unsigned)strtoul(argv[2], 0, 0), off_bits = bits - 2;
    uint64_t base[4], size[4], down[4] = {0, 0, 0, 1};
    base[0] = strtoull(argv[3], 0, 0); size[0] = strtoull(argv[4], 0, 0);
    base[1] = strtoull(argv[5], 0, 0); size[1] = strtoull(argv[6], 0, 0);
    base[2] = 0; size[2] = 0;
    base[3] = strtoull(argv[7], 0, 0); size[3] = strtoull(argv[8], 0, 0);
    uint64_t max = 1ull << off_bits, mask = max - 1;
    const uint64_t *a = mmap(0, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    size_t n = st.st_size / 8; uint64_t valid = 0, sum = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t v = a[i];
        uint64_t in_width = (v >> bits) == 0;
        unsigned s = (unsigned)(v >> off_bits) & 3;
        uint64_t off = v & mask;
        uint64_t d = down[s];
        uint64_t neg = max - off;                 /* distance below the top */
        uint64_t ok_up = off < size[s], ok_down = neg <= size[s] && size[s] != 0;
        uint64_t ok = in_width & (d ? ok_down : ok_up);
        uint64_t pa = d ? base[s] - neg : base[s] + off;
        valid += ok; sum += ok ? pa : 0;
    }
    printf("%zu %llu %llu\n", n, (unsigned long long)valid, (unsigned long long)sum);
    return 0;
}

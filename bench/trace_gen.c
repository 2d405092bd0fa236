/* Trace generator for bench/trace.sh: writes N references in one format.
 *   trace_gen bin N SPAN FILE     little-endian u64 addresses in [0, SPAN)
 *   trace_gen text N SPAN FILE    "R 0x1a2b" / "W 0x..." lines
 *   trace_gen lackey N SPAN FILE  lackey lines (I/L/S/M) in [0, SPAN)
 * Addresses come from xorshift64 (deterministic). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t s = 88172645463325252ull;
static uint64_t next(void) { s ^= s << 13; s ^= s >> 7; s ^= s << 17; return s; }

int main(int argc, char **argv) {
    if (argc != 5) { fprintf(stderr, "usage: trace_gen bin|text|lackey N SPAN FILE\n"); return 2; }
    uint64_t n = strtoull(argv[2], 0, 0), span = strtoull(argv[3], 0, 0);
    FILE *f = fopen(argv[4], "wb");
    if (!f) { perror(argv[4]); return 2; }
    static char buf[1 << 20];
    setvbuf(f, buf, _IOFBF, sizeof buf);
    if (!strcmp(argv[1], "bin")) {
        static uint64_t block[8192];
        for (uint64_t i = 0; i < n;) {
            size_t k = 0;
            for (; k < 8192 && i < n; k++, i++) block[k] = next() % span;
            fwrite(block, 8, k, f); /* x86-64 is little-endian */
        }
    } else if (!strcmp(argv[1], "text")) {
        for (uint64_t i = 0; i < n; i++) {
            uint64_t r = next();
            fprintf(f, "%c 0x%llx\n", (r & 3) == 0 ? 'W' : 'R', (unsigned long long)(r % span));
        }
    } else if (!strcmp(argv[1], "lackey")) {
        fprintf(f, "==1== Lackey, an example Valgrind tool\n");
        static const char *kinds[] = {"I ", " L", " S", " M"};
        for (uint64_t i = 0; i < n; i++) {
            uint64_t r = next();
            fprintf(f, "%s %08llx,%d\n", kinds[r & 3], (unsigned long long)(r % span), (int)(1 + (r >> 60) % 8));
        }
    } else { fprintf(stderr, "unknown format %s\n", argv[1]); return 2; }
    return fclose(f) ? 2 : 0;
}

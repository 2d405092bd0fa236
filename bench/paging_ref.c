/* Reference loop for bench/paging_trace.sh: exact LRU page replacement
 * over a binary trace (little-endian u64 addresses), the textbook way:
 * an open-addressing hash map from page number to frame, and a doubly
 * linked list of frames in recency order. Prints the faults, so the
 * bench can check vmlab's count against it.
 *   paging_ref FILE FRAMES [PAGE_BITS]
 * Reads the file through mmap, as vmlab does. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define EMPTY UINT64_MAX
#define NIL UINT32_MAX

typedef struct { uint64_t page; uint32_t prev, next; } Frame;

static uint64_t *keys;   /* hash slots: page number or EMPTY */
static uint32_t *vals;   /* frame of the page */
static uint64_t mask;

static inline uint64_t hash(uint64_t p) { return (p * 0x9e3779b97f4a7c15ull) >> 20; }

static inline uint64_t find(uint64_t p) { /* slot holding p, or the empty slot where it goes */
    uint64_t i = hash(p) & mask;
    while (keys[i] != EMPTY && keys[i] != p) i = (i + 1) & mask;
    return i;
}

static void erase(uint64_t i) { /* backward-shift deletion (linear probing) */
    uint64_t j = i;
    keys[i] = EMPTY;
    for (;;) {
        j = (j + 1) & mask;
        if (keys[j] == EMPTY) return;
        uint64_t home = hash(keys[j]) & mask;
        if (((j - home) & mask) >= ((j - i) & mask)) {
            keys[i] = keys[j]; vals[i] = vals[j]; keys[j] = EMPTY; i = j;
        }
    }
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: paging_ref FILE FRAMES [PAGE_BITS]\n"); return 2; }
    uint32_t frames = (uint32_t)strtoul(argv[2], 0, 0);
    int bits = argc > 3 ? atoi(argv[3]) : 12;
    int fd = open(argv[1], O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st)) { perror(argv[1]); return 2; }
    uint64_t n = st.st_size / 8;
    const uint64_t *va = mmap(0, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (va == MAP_FAILED) { perror("mmap"); return 2; }
    uint64_t cap = 1;
    while (cap < 2ull * frames) cap <<= 1;
    mask = cap - 1;
    keys = malloc(cap * 8); vals = malloc(cap * 4);
    for (uint64_t i = 0; i < cap; i++) keys[i] = EMPTY;
    Frame *f = malloc(sizeof(Frame) * frames);
    uint32_t used = 0, head = NIL, tail = NIL; /* head: least recently used */
    uint64_t faults = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (uint64_t k = 0; k < n; k++) {
        uint64_t p = va[k] >> bits;
        uint64_t s = find(p);
        uint32_t x;
        if (keys[s] == p) {            /* hit: move to the MRU end */
            x = vals[s];
            if (x == tail) continue;
            if (f[x].prev == NIL) head = f[x].next; else f[f[x].prev].next = f[x].next;
            f[f[x].next].prev = f[x].prev;
        } else {                        /* fault */
            faults++;
            if (used < frames) x = used++;
            else {                      /* evict the LRU page */
                x = head;
                head = f[x].next;
                if (head == NIL) tail = NIL; else f[head].prev = NIL;
                erase(find(f[x].page));
                s = find(p);
            }
            keys[s] = p; vals[s] = x; f[x].page = p;
        }
        f[x].prev = tail; f[x].next = NIL;
        if (tail == NIL) head = x; else f[tail].next = x;
        tail = x;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double sec = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("%llu references, %llu faults, %.3f s in the loop, %.1f M references/s\n",
           (unsigned long long)n, (unsigned long long)faults, sec, n / sec / 1e6);
    return 0;
}

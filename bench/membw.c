/* This machine's memory read bandwidth, the ceiling of a trace replay:
 * sums a buffer of SIZE MiB (default 1024, far larger than any cache) with
 * THREADS threads (default 1), best of 5 passes, and prints GB/s. The
 * buffer asks for 2 MiB pages (MADV_HUGEPAGE), so that TLB misses do not
 * hide the bus: on 4 KiB pages this read 22-25 GB/s, below what vmlab
 * reached on a trace whose page cache the kernel maps with 2 MiB pages
 * (about 28.6 GB/s); with them, 28-32 GB/s on one thread and 34-35 on
 * two. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
static uint64_t *buf; static size_t words; static int threads;
static uint64_t sums[64];
static void *part(void *arg) {
    long t = (long)arg; size_t lo = words * t / threads, hi = words * (t + 1) / threads;
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (size_t i = lo; i + 3 < hi; i += 4) { s0 += buf[i]; s1 += buf[i + 1]; s2 += buf[i + 2]; s3 += buf[i + 3]; }
    sums[t] = s0 + s1 + s2 + s3; return 0;
}
static double now(void) { struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts); return ts.tv_sec + ts.tv_nsec * 1e-9; }
int main(int argc, char **argv) {
    size_t mib = argc > 1 ? strtoull(argv[1], 0, 0) : 1024; threads = argc > 2 ? atoi(argv[2]) : 1;
    if (threads < 1 || threads > 64) { fprintf(stderr, "membw: 1 to 64 threads\n"); return 2; }
    words = mib << 17; buf = aligned_alloc(1 << 21, words * 8); if (!buf) { fprintf(stderr, "membw: out of memory\n"); return 2; }
    madvise(buf, words * 8, MADV_HUGEPAGE); /* advice: fine if refused */
    memset(buf, 1, words * 8);
    double best = 1e9;
    for (int pass = 0; pass < 5; pass++) {
        pthread_t th[64]; double t0 = now();
        for (long t = 0; t < threads; t++) pthread_create(&th[t], 0, part, (void *)t);
        for (int t = 0; t < threads; t++) pthread_join(th[t], 0);
        double dt = now() - t0; if (dt < best) best = dt;
    }
    uint64_t s = 0; for (int t = 0; t < threads; t++) s += sums[t];
    printf("%.2f GB/s (%d thread%s, %zu MiB, check %llu)\n", words * 8 / best / 1e9, threads, threads > 1 ? "s" : "", mib, (unsigned long long)(s & 0xff));
    return 0;
}

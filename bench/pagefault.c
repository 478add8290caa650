/* SPDX-License-Identifier: MIT */
/* The page-fault floor for workload (c): reserve N slots at corio's stack
 * stride (64 KiB stack + 16 KiB guard) and touch the top page of each, as
 * a task's first run does. Prints ns per first touch and peak RSS per slot.
 * Usage: bench_pagefault [N] (default 1,000,000). */
#include <stdint.h>
#include <sys/mman.h>
#include <time.h>

#include "bench.h"

#define STRIDE (80 * 1024)

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    long n = bench_arg_long(argc, argv, 1, 1000000);
    size_t len = (size_t)n * STRIDE;
    /* MAP_NORESERVE, as corio's stack regions: only touched pages count. */
    char *base = mmap(NULL, len, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED) {
        perror("bench_pagefault: mmap");
        return 1;
    }
    double start = now();
    for (long i = 0; i < n; i++)
        *(volatile char *)(base + (size_t)(i + 1) * STRIDE - 64) = 1;
    double elapsed = now() - start;
    long rss = bench_maxrss_kib();
    printf("{\"impl\": \"page-fault floor\", \"n\": %ld, \"elapsed_s\": "
           "%.6f, \"ns_per_touch\": %.2f, \"maxrss_kib\": %ld, "
           "\"bytes_per_task\": %.1f}\n",
           n, elapsed, elapsed * 1e9 / n, rss, rss * 1024.0 / n);
    munmap(base, len);
    return 0;
}

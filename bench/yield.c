/* SPDX-License-Identifier: MIT */
/* Workload (a): two tasks yield to each other N times each, so the loop
 * makes 2N task switches; prints the cost of one switch, in ns.
 * Usage: bench_yield [N] (default 10,000,000). */
#include <corio.h>

#include "bench.h"

static int yielder(void *arg)
{
    long n = *(long *)arg;
    for (long i = 0; i < n; i++) {
        int rc = corio_yield();
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int bench(void *arg)
{
    long n = *(long *)arg;
    double start = corio_time();
    corio_task *a = corio_spawn(yielder, &n);
    corio_task *b = corio_spawn(yielder, &n);
    if (!a || !b)
        return 1;
    int ra = corio_join(a);
    int rb = corio_join(b);
    double elapsed = corio_time() - start;
    if (ra < 0 || rb < 0)
        return 1;
    printf("{\"impl\": \"corio\", \"n\": %ld, \"switches\": %ld, "
           "\"elapsed_s\": %.6f, \"ns_per_switch\": %.2f, "
           "\"maxrss_kib\": %ld}\n",
           n, 2 * n, elapsed, elapsed * 1e9 / (2.0 * n), bench_maxrss_kib());
    return 0;
}

int main(int argc, char **argv)
{
    long n = bench_arg_long(argc, argv, 1, 10000000);
    int rc = corio_run(bench, &n);
    if (rc != 0)
        fprintf(stderr, "bench_yield: failed (%d)\n", rc);
    return rc != 0;
}

/* SPDX-License-Identifier: MIT */
/* Issue 3 workload: open a task group, spawn 100 children that return at
 * once, wait for them; N groups. Prints microseconds per group.
 * Usage: bench_group [N] (default 20,000). */
#include <corio.h>

#include "bench.h"

static int child(void *arg)
{
    (void)arg;
    return 0;
}

static int bench(void *arg)
{
    long n = *(long *)arg;
    double t0 = corio_time();
    for (long i = 0; i < n; i++) {
        corio_group *g = corio_group_open();
        if (!g)
            return 1;
        for (int c = 0; c < 100; c++)
            if (corio_group_spawn(g, child, NULL, NULL, NULL) < 0)
                return 1;
        if (corio_group_close(g) < 0)
            return 1;
    }
    double dt = corio_time() - t0;
    printf("{\"impl\": \"corio\", \"n\": %ld, \"us_per_group\": %.3f}\n", n,
           dt * 1e6 / n);
    return 0;
}

int main(int argc, char **argv)
{
    long n = bench_arg_long(argc, argv, 1, 20000);
    return corio_run(bench, &n) != 0;
}

/* SPDX-License-Identifier: MIT */
/* Workload (c): N tasks alive at once, each sleeping 1 s, then joined.
 * bench/run takes the process's wall time and peak RSS from wait4(); this
 * program prints its own view of both.
 * Usage: bench_sleep [N] [seconds] (defaults 1,000,000 and 1). */
#include <corio.h>

#include "bench.h"

struct args {
    long n;
    double secs;
};

static int sleeper(void *arg)
{
    return corio_sleep(*(double *)arg);
}

static int bench(void *arg)
{
    struct args *a = arg;
    corio_task **tasks = malloc(a->n * sizeof *tasks);
    if (!tasks)
        return 1;
    int failed = 0;
    double start = corio_time();
    for (long i = 0; i < a->n; i++) {
        tasks[i] = corio_spawn(sleeper, &a->secs);
        if (!tasks[i])
            return 1; /* out of memory: the process exits anyway */
    }
    double spawned = corio_time();
    for (long i = 0; i < a->n; i++)
        failed |= corio_join(tasks[i]) < 0;
    double elapsed = corio_time() - start;
    free(tasks);
    if (failed)
        return 1;
    long rss = bench_maxrss_kib();
    printf("{\"impl\": \"corio\", \"n\": %ld, \"sleep_s\": %g, "
           "\"elapsed_s\": %.6f, \"spawn_s\": %.6f, \"maxrss_kib\": %ld, "
           "\"bytes_per_task\": %.1f}\n",
           a->n, a->secs, elapsed, spawned - start, rss,
           rss * 1024.0 / a->n);
    return 0;
}

int main(int argc, char **argv)
{
    struct args a;
    a.n = bench_arg_long(argc, argv, 1, 1000000);
    a.secs = bench_arg_double(argc, argv, 2, 1.0);
    int rc = corio_run(bench, &a);
    if (rc != 0)
        fprintf(stderr, "bench_sleep: failed (%d)\n", rc);
    return rc != 0;
}

/* SPDX-License-Identifier: MIT */
/* Workload (b): spawn N tasks that return at once, then join them all
 * (asyncio: create_task N times, then await each); prints ns per task.
 * Usage: bench_spawn [N] [--gather] (default 1,000,000); --gather joins
 * with one corio_gather_tasks() instead of N corio_join() calls. */
#include <corio.h>

#include <string.h>

#include "bench.h"

struct args {
    long n;
    int gather;
};

static int noop(void *arg)
{
    (void)arg;
    return 0;
}

static int bench(void *arg)
{
    const struct args *a = arg;
    corio_task **tasks = malloc(a->n * sizeof *tasks);
    int *results = malloc(a->n * sizeof *results);
    if (!tasks || !results)
        return 1;
    int failed = 0;
    double start = corio_time();
    for (long i = 0; i < a->n; i++) {
        tasks[i] = corio_spawn(noop, NULL);
        if (!tasks[i])
            return 1; /* out of memory: the process exits anyway */
    }
    double spawned = corio_time();
    if (a->gather) {
        failed = corio_gather_tasks(tasks, a->n, results, 0) < 0;
    } else {
        for (long i = 0; i < a->n; i++)
            failed |= corio_join(tasks[i]) < 0;
    }
    double elapsed = corio_time() - start;
    free(results);
    free(tasks);
    if (failed)
        return 1;
    printf("{\"impl\": \"corio%s\", \"n\": %ld, \"elapsed_s\": %.6f, "
           "\"spawn_s\": %.6f, \"ns_per_task\": %.2f, \"maxrss_kib\": %ld}\n",
           a->gather ? " (gather)" : "", a->n, elapsed, spawned - start,
           elapsed * 1e9 / a->n, bench_maxrss_kib());
    return 0;
}

int main(int argc, char **argv)
{
    struct args a = {1000000, 0};
    if (argc > 1 && strcmp(argv[argc - 1], "--gather") == 0) {
        a.gather = 1;
        argc--;
    }
    a.n = bench_arg_long(argc, argv, 1, a.n);
    int rc = corio_run(bench, &a);
    if (rc != 0)
        fprintf(stderr, "bench_spawn: failed (%d)\n", rc);
    return rc != 0;
}

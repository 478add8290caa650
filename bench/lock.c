/* SPDX-License-Identifier: MIT */
/* Issue 3 workload: a lock, uncontended (one task takes and releases it N
 * times) and contended (100 tasks each take it N/100 times and yield while
 * holding it). Prints ns per acquisition for each.
 * Usage: bench_lock [N] (default 10,000,000). */
#include <corio.h>

#include "bench.h"

static corio_lock lock = CORIO_LOCK_INIT;

static int contender(void *arg)
{
    long n = *(long *)arg;
    for (long i = 0; i < n; i++) {
        if (corio_lock_acquire(&lock) < 0)
            return -1;
        corio_yield();
        corio_lock_release(&lock);
    }
    return 0;
}

static int bench(void *arg)
{
    long n = *(long *)arg;
    double t0 = corio_time();
    for (long i = 0; i < n; i++) {
        corio_lock_acquire(&lock);
        corio_lock_release(&lock);
    }
    double solo = corio_time() - t0;

    enum { TASKS = 100 };
    long each = n / 10 / TASKS; /* contended runs are costlier: N/10 */
    corio_task *t[TASKS];
    t0 = corio_time();
    for (int i = 0; i < TASKS; i++)
        t[i] = corio_spawn(contender, &each);
    int rc = 0;
    for (int i = 0; i < TASKS; i++)
        rc |= corio_join(t[i]);
    double contended = corio_time() - t0;
    if (rc)
        return 1;
    printf("{\"impl\": \"corio\", \"n\": %ld, \"uncontended_ns\": %.2f, "
           "\"contended_ns\": %.2f}\n",
           n, solo * 1e9 / n, contended * 1e9 / (each * TASKS));
    return 0;
}

int main(int argc, char **argv)
{
    long n = bench_arg_long(argc, argv, 1, 10000000);
    return corio_run(bench, &n) != 0;
}

/* SPDX-License-Identifier: MIT */
/* Issue 3 workload: N items through a bounded queue (size 1024) from one
 * producer task to one consumer task. Prints items per second.
 * Usage: bench_queue [N] (default 10,000,000). */
#include <corio.h>

#include <stdint.h>

#include "bench.h"

static corio_queue *q;

static int producer(void *arg)
{
    long n = *(long *)arg;
    for (long i = 0; i < n; i++)
        if (corio_queue_put(q, (void *)(intptr_t)i) < 0)
            return -1;
    return 0;
}

static int consumer(void *arg)
{
    long n = *(long *)arg, sum = 0;
    for (long i = 0; i < n; i++) {
        void *v;
        if (corio_queue_get(q, &v) < 0)
            return -1;
        sum += (long)(intptr_t)v;
    }
    return sum == n * (n - 1) / 2 ? 0 : -1;
}

static int bench(void *arg)
{
    long n = *(long *)arg;
    corio_queue_opts o = {.kind = CORIO_QUEUE_FIFO, .maxsize = 1024};
    q = corio_queue_new(&o);
    double t0 = corio_time();
    corio_task *c = corio_spawn(consumer, &n);
    corio_task *p = corio_spawn(producer, &n);
    int rc = corio_join(p) | corio_join(c);
    double dt = corio_time() - t0;
    corio_queue_close(q);
    if (rc)
        return 1;
    printf("{\"impl\": \"corio\", \"n\": %ld, \"elapsed_s\": %.6f, "
           "\"items_per_s\": %.0f, \"ns_per_item\": %.2f}\n",
           n, dt, n / dt, dt * 1e9 / n);
    return 0;
}

int main(int argc, char **argv)
{
    long n = bench_arg_long(argc, argv, 1, 10000000);
    return corio_run(bench, &n) != 0;
}

/* SPDX-License-Identifier: MIT */
/* Workload (d): N loop timers with delays uniform in [0, span), scheduled
 * with corio_loop_call_later() from the main task; each callback records
 * how late it ran. Prints the lateness median, p99 and max, and how many
 * fired early (must be 0). Usage: bench_timers [N] [span_s] (defaults
 * 1,000,000 and 1). */
#include <corio.h>

#include "bench.h"

struct args {
    long n;
    double span;
};

struct timer {
    double due;        /* when it should fire: corio_time() at scheduling
                        * plus its delay */
    double late;       /* corio_time() at firing minus due */
    corio_future *all; /* set by the last callback to fire */
    long *left;        /* timers that have not fired yet */
};

static void fire(void *arg)
{
    struct timer *t = arg;
    t->late = corio_time() - t->due;
    if (--*t->left == 0)
        corio_future_set_result(t->all, NULL);
}

/* splitmix64: a fixed seed makes every run draw the same delays. */
static uint64_t next_random(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* The k-th smallest of v[0..n) (Hoare's selection, expected O(n)): the
 * statistics below need four order statistics, not a sorted array, and
 * sorting 1M doubles would take longer than the timers' own work. Moves
 * v's elements. */
static double select_kth(double *v, long n, long k)
{
    long lo = 0, hi = n - 1;
    while (lo < hi) {
        double pivot = v[lo + (hi - lo) / 2];
        long i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot)
                i++;
            while (v[j] > pivot)
                j--;
            if (i <= j) {
                double t = v[i];
                v[i++] = v[j];
                v[j--] = t;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            break;
    }
    return v[k];
}

static int bench(void *arg)
{
    struct args *a = arg;
    corio_loop *loop = corio_loop_current();
    corio_future *all = corio_future_new(loop);
    struct timer *timers = malloc(a->n * sizeof *timers);
    if (!all || !timers)
        return 1;
    uint64_t seed = 1;
    long left = a->n;
    double start = corio_time();
    for (long i = 0; i < a->n; i++) {
        double delay = (next_random(&seed) >> 11) * 0x1p-53 * a->span;
        /* Read the clock before scheduling: the loop's deadline is then
         * no earlier than due, so an early fire cannot go unnoticed. */
        timers[i] = (struct timer){corio_time() + delay, 0, all, &left};
        if (corio_loop_call_later(loop, delay, fire, &timers[i], NULL) < 0)
            return 1;
    }
    double scheduled = corio_time();
    int rc = corio_future_await(all, NULL);
    double elapsed = corio_time() - start;
    corio_future_unref(all);
    if (rc < 0)
        return 1;

    double *late = malloc(a->n * sizeof *late);
    if (!late)
        return 1;
    long early = 0;
    double lmin = timers[0].late, lmax = timers[0].late;
    for (long i = 0; i < a->n; i++) {
        late[i] = timers[i].late;
        early += late[i] < 0;
        lmin = late[i] < lmin ? late[i] : lmin;
        lmax = late[i] > lmax ? late[i] : lmax;
    }
    double median = select_kth(late, a->n, a->n / 2);
    double p99 = select_kth(late, a->n, (long)(a->n * 0.99));
    printf("{\"impl\": \"corio\", \"n\": %ld, \"span_s\": %g, "
           "\"elapsed_s\": %.6f, \"schedule_s\": %.6f, "
           "\"late_min_ms\": %.4f, \"late_median_ms\": %.4f, "
           "\"late_p99_ms\": %.4f, \"late_max_ms\": %.4f, \"early\": %ld, "
           "\"maxrss_kib\": %ld}\n",
           a->n, a->span, elapsed, scheduled - start, lmin * 1e3,
           median * 1e3, p99 * 1e3, lmax * 1e3, early, bench_maxrss_kib());
    free(late);
    free(timers);
    return 0;
}

int main(int argc, char **argv)
{
    struct args a;
    a.n = bench_arg_long(argc, argv, 1, 1000000);
    a.span = bench_arg_double(argc, argv, 2, 1.0);
    int rc = corio_run(bench, &a);
    if (rc != 0)
        fprintf(stderr, "bench_timers: failed (%d)\n", rc);
    return rc != 0;
}

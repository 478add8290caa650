/* SPDX-License-Identifier: MIT */
/* Workload (f): what it costs to leave the loop. Round trips of an empty
 * call through the thread pool (corio_to_thread), through a process pool
 * (a registered function on a 64-byte buffer), a call to another loop
 * (corio_loop_call), and starting and reaping a subprocess (/bin/true).
 *   bench_offload thread|process|loop|spawn N [TASKS]
 * TASKS tasks share the N calls (default 1: one at a time, the latency).
 * Prints one JSON line with the cost per call in µs. */
#include <corio.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static const char *mode;
static long n_calls, n_tasks;
static long left;
static corio_procpool *pp;
static corio_multi *multi;

static int nothing(void *arg)
{
    (void)arg;
    return 0;
}

static int echo(const void *in, size_t len, void **out, size_t *out_len)
{
    void *o = malloc(len ? len : 1);
    memcpy(o, in, len);
    *out = o;
    *out_len = len;
    return 0;
}

static int one(void)
{
    if (strcmp(mode, "thread") == 0)
        return corio_to_thread(nothing, NULL);
    if (strcmp(mode, "process") == 0) {
        char buf[64] = {0};
        void *out;
        size_t len;
        int rc = corio_procpool_call(pp, echo, buf, sizeof buf, &out, &len);
        free(out);
        return rc;
    }
    if (strcmp(mode, "loop") == 0)
        return corio_loop_call(corio_multi_loop(multi, 0), nothing, NULL);
    const char *const argv[] = {"true", NULL};
    corio_process *p = corio_process_exec("/bin/true", argv, NULL);
    if (!p)
        return -errno;
    int status;
    int rc = corio_process_wait(p, &status);
    corio_process_close(p);
    return rc;
}

static int worker(void *arg)
{
    (void)arg;
    while (left > 0) {
        left--;
        int rc = one();
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int bench(void *arg)
{
    (void)arg;
    corio_call *calls = calloc((size_t)n_tasks, sizeof *calls);
    for (long i = 0; i < n_tasks; i++)
        calls[i] = (corio_call){worker, NULL, 0};
    left = 1;
    worker(NULL); /* warm up: threads, workers, the port */
    left = n_calls;
    double t0 = corio_time();
    int rc = corio_gather(calls, (size_t)n_tasks, 0);
    double el = corio_time() - t0;
    free(calls);
    if (rc < 0)
        return rc;
    printf("{\"impl\": \"corio\", \"mode\": \"%s\", \"n\": %ld, "
           "\"tasks\": %ld, \"elapsed_s\": %.6f, \"us_per_call\": %.3f, "
           "\"maxrss_kib\": %ld}\n",
           mode, n_calls, n_tasks, el, el * 1e6 / (double)n_calls,
           bench_maxrss_kib());
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_offload thread|process|loop|spawn N "
                        "[TASKS]\n");
        return 2;
    }
    mode = argv[1];
    n_calls = bench_arg_long(argc, argv, 2, 10000);
    n_tasks = bench_arg_long(argc, argv, 3, 1);
    if (strcmp(mode, "process") == 0) {
        /* Before any thread exists, as the process pool asks. */
        static const corio_proc_fn fns[] = {echo};
        corio_procpool_opts o = {.workers = 2, .fns = fns, .nfns = 1};
        pp = corio_procpool_new(&o);
        if (!pp)
            return 1;
    }
    if (strcmp(mode, "loop") == 0) {
        corio_multi_opts o = {.loops = 1};
        multi = corio_multi_new(&o);
        if (!multi)
            return 1;
    }
    int rc = corio_run(bench, NULL);
    corio_procpool_close(pp);
    corio_multi_close(multi);
    if (rc != 0)
        fprintf(stderr, "bench_offload: failed (%d)\n", rc);
    return rc != 0;
}

/* SPDX-License-Identifier: MIT */
/* Workload (e): file reads through corio's file API (io_uring, or the
 * thread pool with CORIO_FILE_IO=pool).
 *   bench_file seq PATH BLOCK          read PATH start to end in BLOCK bytes
 *   bench_file rand PATH OPS TASKS     OPS random 4 KiB preads, TASKS at once
 *   bench_file small DIR COUNT TASKS   open, read and close DIR/0 .. COUNT-1
 * Prints one JSON line: bytes or operations, elapsed time and the rate. */
#include <corio.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static const char *mode, *path;
static long arg_a, arg_b;

static int seq(void)
{
    size_t block = (size_t)arg_a;
    char *buf = malloc(block);
    corio_file *f = corio_file_open(path, O_RDONLY, 0);
    if (!f || !buf)
        return 1;
    double t0 = corio_time();
    long long total = 0;
    ssize_t n;
    while ((n = corio_file_read(f, buf, block)) > 0)
        total += n;
    double el = corio_time() - t0;
    corio_file_close(f);
    free(buf);
    if (n < 0)
        return 1;
    printf("{\"impl\": \"corio\", \"backend\": \"%s\", \"mode\": \"seq\", "
           "\"block\": %zu, \"bytes\": %lld, \"elapsed_s\": %.6f, "
           "\"mb_per_s\": %.1f}\n",
           corio_file_io_backend(), block, total, el, total / el / 1e6);
    return 0;
}

struct rand_ctx {
    corio_file *f;
    long blocks;     /* 4 KiB blocks in the file */
    long left;       /* operations still to start, shared */
    unsigned seed;
};

static int rand_task(void *arg)
{
    struct rand_ctx *c = arg;
    char buf[4096];
    unsigned s = c->seed++ * 2654435761u + 1;
    while (c->left > 0) {
        c->left--;
        s = s * 1103515245u + 12345u;
        long blk = (long)((s >> 1) % (unsigned long)c->blocks);
        ssize_t n = corio_file_pread(c->f, buf, sizeof buf, blk * 4096);
        if (n < 0)
            return (int)n;
    }
    return 0;
}

static int rnd(void)
{
    long ops = arg_a, tasks = arg_b;
    struct rand_ctx c = {.f = corio_file_open(path, O_RDONLY, 0)};
    struct stat st;
    if (!c.f || corio_file_stat(c.f, &st) < 0 || st.st_size < 4096)
        return 1;
    c.blocks = st.st_size / 4096;
    c.left = ops;
    corio_call *calls = calloc((size_t)tasks, sizeof *calls);
    for (long i = 0; i < tasks; i++)
        calls[i] = (corio_call){rand_task, &c, 0};
    double t0 = corio_time();
    int rc = corio_gather(calls, (size_t)tasks, 0);
    double el = corio_time() - t0;
    free(calls);
    corio_file_close(c.f);
    if (rc < 0)
        return 1;
    printf("{\"impl\": \"corio\", \"backend\": \"%s\", \"mode\": \"rand\", "
           "\"ops\": %ld, \"tasks\": %ld, \"elapsed_s\": %.6f, "
           "\"ops_per_s\": %.0f}\n",
           corio_file_io_backend(), ops, tasks, el, ops / el);
    return 0;
}

struct small_ctx {
    long next;
    long count;
};

static int small_task(void *arg)
{
    struct small_ctx *c = arg;
    char name[4096], buf[8192];
    while (c->next < c->count) {
        snprintf(name, sizeof name, "%s/%ld", path, c->next++);
        corio_file *f = corio_file_open(name, O_RDONLY, 0);
        if (!f)
            return -errno;
        ssize_t n;
        while ((n = corio_file_read(f, buf, sizeof buf)) > 0)
            ;
        corio_file_close(f);
        if (n < 0)
            return (int)n;
    }
    return 0;
}

static int small(void)
{
    long count = arg_a, tasks = arg_b;
    struct small_ctx c = {0, count};
    corio_call *calls = calloc((size_t)tasks, sizeof *calls);
    for (long i = 0; i < tasks; i++)
        calls[i] = (corio_call){small_task, &c, 0};
    double t0 = corio_time();
    int rc = corio_gather(calls, (size_t)tasks, 0);
    double el = corio_time() - t0;
    free(calls);
    if (rc < 0)
        return 1;
    printf("{\"impl\": \"corio\", \"backend\": \"%s\", \"mode\": \"small\", "
           "\"files\": %ld, \"tasks\": %ld, \"elapsed_s\": %.6f, "
           "\"files_per_s\": %.0f}\n",
           corio_file_io_backend(), count, tasks, el, count / el);
    return 0;
}

static int bench(void *arg)
{
    (void)arg;
    if (strcmp(mode, "seq") == 0)
        return seq();
    if (strcmp(mode, "rand") == 0)
        return rnd();
    if (strcmp(mode, "small") == 0)
        return small();
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: bench_file seq PATH BLOCK | rand PATH OPS "
                        "TASKS | small DIR COUNT TASKS\n");
        return 2;
    }
    mode = argv[1];
    path = argv[2];
    arg_a = bench_arg_long(argc, argv, 3, 65536);
    arg_b = bench_arg_long(argc, argv, 4, 64);
    int rc = corio_run(bench, NULL);
    if (rc != 0)
        fprintf(stderr, "bench_file: failed (%d)\n", rc);
    return rc != 0;
}

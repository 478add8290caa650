/* SPDX-License-Identifier: MIT */
/* corio's side of the PostgreSQL workloads (p) and (q): TASKS tasks share
 * a pool of 10 connections and run N queries in all, each acquiring a
 * connection, running `SELECT $1::int` (int) or a 100-row select (rows),
 * and releasing it, as asyncpg's pool.fetchval / pool.fetch do. With
 * --pipeline each task takes a connection for a batch of 100 queries sent
 * in pipeline mode. The server is CORIO_PG_DSN.
 *
 * Usage: bench_pg N TASKS int|rows [--pipeline] [--atomic] */
#include "bench.h"

#include <corio.h>
#include <corio/pg.h>
#include <errno.h>
#include <string.h>

#define BATCH 100

static const char *sql;
static corio_pg_pool *pool;
static long left;          /* queries not yet started */
static long rows;          /* rows received */
static bool pipelined, atomic;
static int failure;

static int one_query(corio_pg *c, long i)
{
    char n[24];
    snprintf(n, sizeof n, "%ld", i % 1000);
    corio_pg_result *r = corio_pg_query(c, sql, 1, (const char *[]){n});
    if (!r)
        return -errno;
    rows += corio_pg_nrows(r);
    corio_pg_result_close(r);
    return 0;
}

static int batch(corio_pg *c, long k)
{
    int rc = corio_pg_pipeline_enter(c, atomic ? CORIO_PG_ATOMIC : 0);
    char n[BATCH][24];
    for (long i = 0; i < k && rc == 0; i++) {
        snprintf(n[i], sizeof n[i], "%ld", i);
        corio_pg_params p = {.n = 1, .values = (const char *[]){n[i]}};
        rc = corio_pg_pipeline_send(c, sql, &p);
    }
    if (rc == 0 && atomic)
        rc = corio_pg_pipeline_sync(c);
    for (long i = 0; i < k && rc == 0; i++) {
        corio_pg_result *r = corio_pg_pipeline_recv(c);
        if (!r)
            rc = -errno;
        else if ((rc = corio_pg_result_status(r)) == 0)
            rows += corio_pg_nrows(r);
        corio_pg_result_close(r);
    }
    int rc2 = corio_pg_pipeline_exit(c);
    return rc < 0 ? rc : rc2;
}

static int worker(void *arg)
{
    (void)arg;
    while (left > 0 && !failure) {
        long k = pipelined ? (left < BATCH ? left : BATCH) : 1;
        left -= k;
        corio_pg *c = corio_pg_pool_acquire(pool, -1);
        if (!c)
            return failure = -errno;
        int rc = pipelined ? batch(c, k) : one_query(c, left);
        if (rc < 0) {
            fprintf(stderr, "query: %s\n",
                    corio_pg_error(c, CORIO_PG_MESSAGE));
            failure = rc;
        }
        corio_pg_pool_release(pool, c);
    }
    return failure;
}

static long n, tasks;

static int bench(void *arg)
{
    (void)arg;
    const char *dsn = getenv("CORIO_PG_DSN");
    corio_pg_pool_opts o = {.min_size = 10, .max_size = 10};
    pool = corio_pg_pool_new(dsn ? dsn : "", &o);
    if (!pool) {
        fprintf(stderr, "pool: %s\n", corio_pg_connect_error());
        return -errno;
    }
    /* Warm up: every connection prepares the statement once. */
    left = 20 * (pipelined ? BATCH : 1);
    corio_task *w[10];
    for (int i = 0; i < 10; i++)
        w[i] = corio_spawn(worker, NULL);
    corio_gather_tasks(w, 10, NULL, 0);
    rows = 0;
    left = n;
    static corio_task *t[10000];
    double t0 = corio_time();
    for (long i = 0; i < tasks; i++)
        t[i] = corio_spawn(worker, NULL);
    int rc = corio_gather_tasks(t, (size_t)tasks, NULL, 0);
    double secs = corio_time() - t0;
    corio_pg_pool_close(pool);
    if (rc < 0)
        return rc;
    printf("{\"queries\": %ld, \"tasks\": %ld, \"seconds\": %.6f, "
           "\"queries_per_s\": %.1f, \"rows_per_s\": %.1f}\n",
           n, tasks, secs, n / secs, rows / secs);
    return 0;
}

int main(int argc, char **argv)
{
    n = bench_arg_long(argc, argv, 1, 10000);
    tasks = bench_arg_long(argc, argv, 2, 10);
    const char *kind = argc > 3 ? argv[3] : "int";
    for (int i = 4; i < argc; i++) {
        pipelined |= !strcmp(argv[i], "--pipeline");
        atomic |= !strcmp(argv[i], "--atomic");
    }
    if (tasks > 10000 || (strcmp(kind, "int") && strcmp(kind, "rows"))) {
        fprintf(stderr, "usage: %s N TASKS int|rows [--pipeline] "
                        "[--atomic]\n", argv[0]);
        return 2;
    }
    sql = !strcmp(kind, "int")
              ? "SELECT $1::int"
              : "SELECT g, 'row ' || g AS name FROM generate_series($1::int, "
                "$1::int + 99) g";
    int rc = corio_run(bench, NULL);
    if (rc < 0)
        fprintf(stderr, "bench_pg: %s\n", strerror(-rc));
    return rc < 0;
}

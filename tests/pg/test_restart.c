/* SPDX-License-Identifier: MIT */
/* A server restart while the pool is in use: statements in flight fail,
 * the pool drops the lost connections, and once the server is back every
 * task gets through. The test runs a cluster of its own, since the shared
 * one serves other tests meanwhile. */
#include "pg_helpers.h"

#include <unistd.h>

static char state[256];
static corio_pg_pool *pool;
static int errors, done;

static int restart_fn(void *arg)
{
    (void)arg;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "sh %s restart %s >/dev/null 2>&1",
             CORIO_PG_CLUSTER_SH, state);
    return system(cmd) == 0 ? 0 : -EIO;
}

static int worker(void *arg)
{
    (void)arg;
    int ok = 0;
    double until = corio_time() + 20;
    while (ok < 40 && corio_time() < until) {
        corio_pg *c = corio_pg_pool_acquire(pool, 5);
        if (!c) {
            errors++;
            corio_sleep(0.05); /* the server is down: try again soon */
            continue;
        }
        int64_t rc = corio_pg_exec(c, "SELECT pg_sleep(0.01)", 0, NULL);
        corio_pg_pool_release(pool, c);
        if (rc < 0) {
            errors++;
            corio_sleep(0.05);
        } else {
            ok++;
        }
    }
    done += ok == 40;
    return ok == 40 ? 0 : -ETIMEDOUT;
}

static int scenario(void *arg)
{
    (void)arg;
    char dsn[512];
    FILE *f = fopen(strcat(strcpy(dsn, state), "/dsn"), "r");
    ASSERT_NOT_NULL(f);
    ASSERT_NOT_NULL(fgets(dsn, sizeof dsn, f));
    fclose(f);
    dsn[strcspn(dsn, "\n")] = '\0';
    corio_pg_pool_opts o = {.max_size = 5};
    pool = corio_pg_pool_new(dsn, &o);
    ASSERT_NOT_NULL(pool);
    enum { N = 20 };
    corio_task *t[N];
    for (int i = 0; i < N; i++)
        t[i] = corio_spawn(worker, NULL);
    ASSERT_OK(corio_sleep(0.2));
    /* pg_ctl blocks: on a pool thread. */
    ASSERT_OK(corio_to_thread(restart_fn, NULL));
    ASSERT_OK(corio_gather_tasks(t, N, NULL, CORIO_RETURN_EXCEPTIONS));
    ASSERT_EQ(done, N);
    ASSERT_GT(errors, 0); /* the restart was seen */
    corio_pg_pool_info st;
    corio_pg_pool_stats(pool, &st);
    ASSERT_LE(st.size, 5);
    ASSERT_GT(st.connects, 5); /* lost ones were replaced */
    corio_pg_pool_close(pool);
    return 0;
}

static void stop_cluster(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "sh %s stop %s >/dev/null 2>&1",
             CORIO_PG_CLUSTER_SH, state);
    if (system(cmd) != 0)
        fprintf(stderr, "stopping the test's cluster failed\n");
}

TEST_OPTS(server_restart_while_the_pool_is_in_use, .timeout = 120)
{
    if (getenv("CORIO_PG_DSN"))
        th_skip("CORIO_PG_DSN is set: the test restarts a server of its own");
    snprintf(state, sizeof state, "/tmp/corio-pg-restart.%d", (int)getpid());
    char cmd[512];
    snprintf(cmd, sizeof cmd, "sh %s start %s >/dev/null", CORIO_PG_CLUSTER_SH,
             state);
    if (system(cmd) != 0)
        th_skip("could not start a PostgreSQL cluster");
    atexit(stop_cluster);
    RUN(scenario);
    stop_cluster();
    rmdir(state);
}

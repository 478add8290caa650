/* SPDX-License-Identifier: MIT */
/* The pool: 1,000 tasks over 10 connections, acquire timeouts, cancelled
 * acquirers take nothing, dirty connections are reset and clean ones are
 * not, lost connections are replaced, close. */
#include "pg_helpers.h"

static corio_pg_pool *pool;
static int max_seen, busy_now;

static int worker(void *arg)
{
    int id = (int)(intptr_t)arg;
    for (int i = 0; i < 3; i++) {
        corio_pg *c = corio_pg_pool_acquire(pool, -1);
        if (!c)
            return -errno;
        if (++busy_now > max_seen)
            max_seen = busy_now;
        char n[16];
        snprintf(n, sizeof n, "%d", id);
        corio_pg_result *r =
            corio_pg_query(c, "SELECT $1::int * 2", 1, (const char *[]){n});
        busy_now--;
        if (!r) {
            int e = errno;
            corio_pg_pool_release(pool, c);
            return -e;
        }
        int32_t x;
        int rc = corio_pg_get_int32(r, 0, 0, &x);
        corio_pg_result_close(r);
        corio_pg_pool_release(pool, c);
        if (rc < 0 || x != id * 2)
            return -EPROTO;
    }
    return 0;
}

static int thousand(void *arg)
{
    (void)arg;
    corio_pg_pool_opts o = {.min_size = 2, .max_size = 10};
    pool = corio_pg_pool_new(pg_dsn(), &o);
    ASSERT_NOT_NULL(pool);
    corio_pg_pool_info st;
    ASSERT_OK(corio_pg_pool_stats(pool, &st));
    ASSERT_EQ(st.size, 2);
    ASSERT_EQ(st.idle, 2);
    enum { N = 1000 };
    static corio_task *t[N];
    for (int i = 0; i < N; i++)
        t[i] = corio_spawn(worker, (void *)(intptr_t)i);
    ASSERT_OK(corio_gather_tasks(t, N, NULL, 0));
    ASSERT_OK(corio_pg_pool_stats(pool, &st));
    ASSERT_LE(max_seen, 10);
    ASSERT_EQ(st.size, 10);
    ASSERT_EQ(st.in_use, 0);
    ASSERT_EQ(st.waiting, 0);
    ASSERT_EQ(st.connects, 10);
    ASSERT_EQ(st.resets, 0); /* every release was known clean */
    ASSERT_EQ(st.clean, 3 * N);
    corio_pg_pool_close(pool);
    return 0;
}

TEST_OPTS(pool_under_1000_tasks_with_max_10_connections, .timeout = 120)
{
    RUN(thousand);
}

static corio_event release_holders;

/* Holds a connection until release_holders is set. */
static int holder(void *arg)
{
    (void)arg;
    corio_pg *c = corio_pg_pool_acquire(pool, -1);
    if (!c)
        return -errno;
    corio_event_wait(&release_holders);
    corio_pg_pool_release(pool, c);
    return 0;
}

static int acquirer(void *arg)
{
    corio_pg *c = corio_pg_pool_acquire(pool, *(double *)arg);
    if (!c)
        return -errno;
    corio_pg_pool_release(pool, c);
    return 1;
}

static int timeouts(void *arg)
{
    (void)arg;
    corio_pg_pool_opts o = {.max_size = 2};
    pool = corio_pg_pool_new(pg_dsn(), &o);
    ASSERT_NOT_NULL(pool);
    double never = -1, short_wait = 0.05;
    /* Two holders keep both connections until told (a fixed hold time
     * could end first on a slow machine). */
    corio_event_init(&release_holders);
    corio_task *h1 = corio_spawn(holder, NULL);
    corio_task *h2 = corio_spawn(holder, NULL);
    ASSERT_OK(corio_sleep(0.05));
    /* Both in use: a short acquire times out; cancelled acquirers take
     * nothing, and the pool serves the ones that stay. */
    ASSERT_NULL(corio_pg_pool_acquire(pool, 0.02));
    ASSERT_EQ(errno, ETIMEDOUT);
    corio_task *w[6];
    for (int i = 0; i < 6; i++)
        w[i] = corio_spawn(acquirer, i < 3 ? &never : &short_wait);
    ASSERT_OK(corio_sleep(0.01));
    corio_cancel(w[0]);
    corio_cancel(w[2]);
    ASSERT_ERR(corio_join(w[0]), -ECANCELED);
    ASSERT_ERR(corio_join(w[2]), -ECANCELED);
    for (int i = 3; i < 6; i++)
        ASSERT_ERR(corio_join(w[i]), -ETIMEDOUT);
    corio_event_set(&release_holders);
    ASSERT_EQ(corio_join(w[1]), 1);
    ASSERT_OK(corio_join(h1));
    ASSERT_OK(corio_join(h2));
    corio_pg_pool_info st;
    corio_pg_pool_stats(pool, &st);
    ASSERT_EQ(st.in_use, 0);
    ASSERT_EQ(st.waiting, 0);
    /* Every permit came back: both connections can be taken at once. */
    corio_pg *a = corio_pg_pool_acquire(pool, 1);
    corio_pg *b = corio_pg_pool_acquire(pool, 1);
    ASSERT_NOT_NULL(a);
    ASSERT_NOT_NULL(b);
    corio_pg_pool_release(pool, a);
    corio_pg_pool_release(pool, b);
    corio_pg_pool_close(pool);
    return 0;
}

TEST(acquire_times_out_and_cancelled_acquirers_take_nothing)
{
    RUN(timeouts);
}

static int resets(void *arg)
{
    (void)arg;
    corio_pg_pool_opts o = {.max_size = 1};
    pool = corio_pg_pool_new(pg_dsn(), &o);
    ASSERT_NOT_NULL(pool);
    corio_pg *c = corio_pg_pool_acquire(pool, 1);
    ASSERT_NOT_NULL(c);
    PG_OK(c, "SET application_name = 'dirty'");
    ASSERT_OK(corio_pg_begin(c, 0));
    corio_pg_pool_release(pool, c);
    c = corio_pg_pool_acquire(pool, 1);
    ASSERT_NOT_NULL(c);
    char buf[64];
    ASSERT_STR_EQ(pg_scalar(c, "SHOW application_name", buf, sizeof buf),
                  "");
    ASSERT_EQ(corio_pg_status(c), CORIO_PG_IDLE);
    corio_pg_pool_info st;
    corio_pg_pool_stats(pool, &st);
    ASSERT_EQ(st.resets, 1);
    /* Advisory locks hide behind SELECT: the text gives them away. */
    PG_OK(c, "SELECT pg_advisory_lock(42)");
    corio_pg_pool_release(pool, c);
    c = corio_pg_pool_acquire(pool, 1);
    ASSERT_STR_EQ(pg_scalar(c,
                            "SELECT count(*) FROM pg_locks WHERE "
                            "locktype = 'advisory' AND pid = "
                            "pg_backend_pid()",
                            buf, sizeof buf),
                  "0");
    corio_pg_pool_stats(pool, &st);
    ASSERT_EQ(st.resets, 2);
    /* LISTEN, a temporary table, a pipeline left open. */
    ASSERT_OK(corio_pg_listen(c, "x"));
    PG_OK(c, "CREATE TEMP TABLE tt (a int)");
    ASSERT_OK(corio_pg_pipeline_enter(c, 0));
    ASSERT_OK(corio_pg_pipeline_send(c, "SELECT 1", NULL));
    corio_pg_pool_release(pool, c);
    c = corio_pg_pool_acquire(pool, 1);
    ASSERT_NOT_NULL(c);
    ASSERT_EQ(corio_pg_status(c), CORIO_PG_IDLE);
    ASSERT_STR_EQ(pg_scalar(c, "SELECT count(*) FROM pg_listening_channels()",
                            buf, sizeof buf),
                  "0");
    ASSERT_ERR(corio_pg_exec(c, "SELECT * FROM tt", 0, NULL), -EREMOTEIO);
    corio_pg_pool_release(pool, c);
    /* A clean one is not reset, but a lost one is replaced. */
    c = corio_pg_pool_acquire(pool, 1);
    corio_pg_pool_stats(pool, &st);
    uint64_t before = st.resets;
    pg_scalar(c, "SELECT pg_backend_pid()", buf, sizeof buf);
    corio_pg_pool_release(pool, c);
    corio_pg *k = pg_open();
    ASSERT_EQ(corio_pg_exec(k, "SELECT pg_terminate_backend($1)", 1,
                            (const char *[]){buf}),
              1);
    pg_wait_gone(k, buf);
    corio_pg_close(k);
    ASSERT_OK(corio_sleep(0.05)); /* its last bytes and the end of stream */
    c = corio_pg_pool_acquire(pool, 1);
    ASSERT_NOT_NULL(c);
    char pid[32];
    pg_scalar(c, "SELECT pg_backend_pid()", pid, sizeof pid);
    ASSERT_TRUE(strcmp(pid, buf) != 0);
    corio_pg_pool_stats(pool, &st);
    ASSERT_EQ(st.resets, before);
    ASSERT_EQ(st.discarded, 1);
    corio_pg_pool_release(pool, c);
    corio_pg_pool_close(pool);
    return 0;
}

TEST(dirty_connections_are_reset_and_clean_ones_are_not)
{
    RUN(resets);
}

static int closing(void *arg)
{
    (void)arg;
    corio_pg_pool_opts o = {.max_size = 1};
    pool = corio_pg_pool_new(pg_dsn(), &o);
    ASSERT_NOT_NULL(pool);
    corio_pg *c = corio_pg_pool_acquire(pool, 1);
    double never = -1;
    corio_task *w = corio_spawn(acquirer, &never);
    ASSERT_OK(corio_sleep(0.01));
    /* Close wakes the waiter with ESHUTDOWN; the connection in use closes
     * when it comes back, and the pool's memory with it. */
    corio_pg_pool_close(pool);
    ASSERT_ERR(corio_join(w), -ESHUTDOWN);
    char buf[8];
    ASSERT_STR_EQ(pg_scalar(c, "SELECT 1", buf, sizeof buf), "1");
    corio_pg_pool_release(pool, c);
    corio_pg_pool_close(NULL);

    ASSERT_NULL(corio_pg_pool_new(NULL, NULL));
    ASSERT_EQ(errno, EINVAL);
    corio_pg_pool_opts bad = {.min_size = 3, .max_size = 2};
    ASSERT_NULL(corio_pg_pool_new(pg_dsn(), &bad));
    ASSERT_EQ(errno, EINVAL);
    ASSERT_NULL(corio_pg_pool_new("host=/nonexistent", &(corio_pg_pool_opts){
                                                           .min_size = 1}));
    ASSERT_EQ(errno, ECONNREFUSED);
    return 0;
}

TEST(closing_the_pool_wakes_acquirers_and_waits_for_releases)
{
    RUN(closing);
}

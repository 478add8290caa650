/* SPDX-License-Identifier: MIT */
/* Cancellation and deadlines during statements: the server cancels the
 * statement, the call returns within a second, and the connection works
 * for the next one; in a transaction, the transaction is failed until
 * rollback; a result that arrives first is not lost. */
#include "pg_helpers.h"

static corio_pg *shared;

static int sleeper(void *arg)
{
    (void)arg;
    return (int)corio_pg_exec(shared, "SELECT pg_sleep(30)", 0, NULL);
}

static int cancel_mid_query(void *arg)
{
    (void)arg;
    shared = pg_open();
    corio_pg *watch = pg_open();
    char pid[32];
    pg_scalar(shared, "SELECT pg_backend_pid()", pid, sizeof pid);
    for (int round = 0; round < 3; round++) {
        corio_task *t = corio_spawn(sleeper, NULL);
        ASSERT_OK(corio_sleep(0.1));
        pg_wait_active(watch, pid); /* else the cancel would be ignored */
        double t0 = corio_time();
        corio_cancel(t);
        ASSERT_ERR(corio_join(t), -ECANCELED);
        ASSERT_LT(corio_time() - t0, 1.0);
        ASSERT_STR_EQ(corio_pg_error(shared, CORIO_PG_SQLSTATE), "57014");
        ASSERT_EQ(corio_pg_status(shared), CORIO_PG_IDLE);
        char buf[8];
        ASSERT_STR_EQ(pg_scalar(shared, "SELECT 42", buf, sizeof buf), "42");
    }
    corio_pg_close(watch);
    corio_pg_close(shared);
    return 0;
}

TEST(cancel_mid_query_returns_within_1s_and_the_next_query_works)
{
    RUN(cancel_mid_query);
}

/* A task that is already cancelled sends nothing: the statement never
 * reaches the server. */
static int cancelled_first(void *arg)
{
    (void)arg;
    corio_pg *c = pg_open();
    ASSERT_GE(corio_pg_exec(c, "CREATE TEMP TABLE t_first (x int)", 0, NULL),
              0);
    corio_cancel(corio_current());
    ASSERT_ERR(corio_pg_exec(c, "INSERT INTO t_first VALUES (1)", 0, NULL),
               -ECANCELED);
    char buf[8];
    ASSERT_STR_EQ(pg_scalar(c, "SELECT count(*) FROM t_first", buf,
                            sizeof buf), "0");
    corio_pg_close(c);
    return 0;
}

TEST(a_cancelled_task_sends_no_statement)
{
    RUN(cancelled_first);
}

static int deadline(void *arg)
{
    (void)arg;
    corio_pg *c = pg_open();
    corio_scope s;
    /* A deadline, with parameters (the extended protocol). */
    corio_scope_enter(&s, 0.2);
    double t0 = corio_time();
    ASSERT_ERR(corio_pg_exec(c, "SELECT pg_sleep($1)", 1,
                             (const char *[]){"30"}),
               -ETIMEDOUT);
    ASSERT_ERR(corio_scope_exit(&s), -ETIMEDOUT);
    ASSERT_LT(corio_time() - t0, 1.2);
    char buf[8];
    ASSERT_STR_EQ(pg_scalar(c, "SELECT 7", buf, sizeof buf), "7");
    /* Inside a transaction: failed until rollback. */
    ASSERT_OK(corio_pg_begin(c, 0));
    corio_scope_enter(&s, 0.1);
    ASSERT_NULL(corio_pg_query(c, "SELECT pg_sleep(30)", 0, NULL));
    ASSERT_EQ(errno, ETIMEDOUT);
    corio_scope_exit(&s);
    ASSERT_EQ(corio_pg_status(c), CORIO_PG_FAILED);
    ASSERT_ERR(corio_pg_exec(c, "SELECT 1", 0, NULL), -EREMOTEIO);
    ASSERT_STR_EQ(corio_pg_error(c, CORIO_PG_SQLSTATE), "25P02");
    ASSERT_OK(corio_pg_rollback(c));
    ASSERT_STR_EQ(pg_scalar(c, "SELECT 8", buf, sizeof buf), "8");
    corio_pg_close(c);
    return 0;
}

TEST(a_deadline_cancels_the_statement_and_fails_the_transaction)
{
    RUN(deadline);
}

static int pipeline_cancel(void *arg)
{
    (void)arg;
    corio_pg *c = pg_open();
    ASSERT_OK(corio_pg_pipeline_enter(c, 0));
    ASSERT_OK(corio_pg_pipeline_send(c, "SELECT 1", NULL));
    ASSERT_OK(corio_pg_pipeline_send(c, "SELECT pg_sleep(30)", NULL));
    ASSERT_OK(corio_pg_pipeline_send(c, "SELECT 3", NULL));
    corio_pg_result *r = corio_pg_pipeline_recv(c);
    ASSERT_NOT_NULL(r);
    corio_pg_result_close(r);
    corio_scope s;
    corio_scope_enter(&s, 0.1);
    double t0 = corio_time();
    ASSERT_NULL(corio_pg_pipeline_recv(c));
    ASSERT_EQ(errno, ETIMEDOUT);
    corio_scope_exit(&s);
    ASSERT_LT(corio_time() - t0, 1.0);
    /* The rest was dropped; the pipeline is open and empty. */
    ASSERT_NULL(corio_pg_pipeline_recv(c));
    ASSERT_EQ(errno, ENOMSG);
    ASSERT_OK(corio_pg_pipeline_send(c, "SELECT 4", NULL));
    r = corio_pg_pipeline_recv(c);
    ASSERT_NOT_NULL(r);
    ASSERT_STR_EQ(corio_pg_text(r, 0, 0), "4");
    corio_pg_result_close(r);
    ASSERT_OK(corio_pg_pipeline_exit(c));
    corio_pg_close(c);
    return 0;
}

TEST(cancelling_a_pipeline_drops_its_pending_statements)
{
    RUN(pipeline_cancel);
}

static int copy_cancel(void *arg)
{
    (void)arg;
    corio_pg *c = pg_open();
    PG_OK(c, "CREATE TEMP TABLE cc AS SELECT g, repeat('x', 100) AS pad "
             "FROM generate_series(1, 200000) g");
    corio_scope s;
    /* COPY TO: cancelled on the server. */
    ASSERT_OK(corio_pg_copy_to(c, "COPY cc TO STDOUT"));
    const char *data;
    ASSERT_GT(corio_pg_copy_read(c, &data), 0);
    /* Rows libpq holds come without suspending; the first wait fails. */
    corio_scope_enter(&s, 0);
    ssize_t n;
    int rows = 1;
    while ((n = corio_pg_copy_read(c, &data)) > 0)
        rows++;
    ASSERT_ERR(n, -ETIMEDOUT);
    ASSERT_LT(rows, 200000);
    corio_scope_exit(&s);
    ASSERT_EQ(corio_pg_status(c), CORIO_PG_IDLE);
    /* COPY FROM: ended by the client. */
    ASSERT_OK(corio_pg_copy_from(c, "COPY cc FROM STDIN"));
    ASSERT_OK(corio_pg_copy_write(c, "1\tx\n", 4));
    corio_scope_enter(&s, 0);
    int64_t end = corio_pg_copy_end(c, NULL);
    corio_scope_exit(&s);
    ASSERT_EQ(corio_pg_status(c), CORIO_PG_IDLE);
    /* Cancelled, or completed first (the result wins). */
    char buf[16];
    ASSERT_TRUE(end == -ETIMEDOUT || end == 1);
    ASSERT_STR_EQ(pg_scalar(c, "SELECT count(*) FROM cc", buf, sizeof buf),
                  end == 1 ? "200001" : "200000");
    corio_pg_close(c);
    return 0;
}

TEST(cancelling_a_copy_leaves_the_connection_usable)
{
    RUN(copy_cancel);
}

static int quick(void *arg)
{
    (void)arg;
    corio_pg *c = pg_open();
    /* Cancelled before the first wait: the statement is sent anyway, and
     * if it completes before the cancel reaches it the result wins and
     * the cancellation waits for the next suspension. */
    int got_result = 0, cancelled = 0;
    for (int i = 0; i < 20; i++) {
        corio_cancel(corio_current());
        corio_pg_result *r = corio_pg_query(c, "SELECT 1", 0, NULL);
        if (r) {
            got_result++;
            corio_pg_result_close(r);
            ASSERT_ERR(corio_sleep(0), -ECANCELED); /* kept for later */
        } else {
            ASSERT_EQ(errno, ECANCELED);
            cancelled++;
        }
        ASSERT_EQ(corio_pg_status(c), CORIO_PG_IDLE);
    }
    ASSERT_EQ(got_result + cancelled, 20);
    char buf[8];
    ASSERT_STR_EQ(pg_scalar(c, "SELECT 9", buf, sizeof buf), "9");
    corio_pg_close(c);
    return 0;
}

TEST(a_result_that_arrives_before_the_cancel_is_not_lost)
{
    RUN(quick);
}

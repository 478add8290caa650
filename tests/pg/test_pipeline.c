/* SPDX-License-Identifier: MIT */
/* Pipeline mode: many statements per round trip, results in order, an
 * error fails only its statement (or, atomic, the rest of its segment),
 * the statement cache inside pipelines, leaving with results pending. */
#include "pg_helpers.h"

static corio_pg_params one(const char **v)
{
    return (corio_pg_params){.n = 1, .values = v};
}

static int batch(void *arg)
{
    (void)arg;
    corio_pg *c = pg_open();
    PG_OK(c, "CREATE TEMP TABLE p (id int PRIMARY KEY)");
    ASSERT_OK(corio_pg_pipeline_enter(c, 0));
    ASSERT_EQ(corio_pg_status(c), CORIO_PG_BUSY);
    ASSERT_ERR(corio_pg_pipeline_enter(c, 0), -EBUSY);
    ASSERT_ERR(corio_pg_exec(c, "SELECT 1", 0, NULL), -EBUSY);
    char nums[200][8];
    for (int i = 0; i < 200; i++) {
        snprintf(nums[i], sizeof nums[i], "%d", i % 100);
        const char *v[1] = {nums[i]};
        corio_pg_params p = one(v);
        /* Rows 100..199 repeat ids: those inserts fail, alone. */
        ASSERT_OK(corio_pg_pipeline_send(c, "INSERT INTO p VALUES ($1)", &p));
    }
    ASSERT_OK(corio_pg_pipeline_send(c, "SELECT count(*) FROM p", NULL));
    ASSERT_OK(corio_pg_pipeline_sync(c));
    for (int i = 0; i < 200; i++) {
        corio_pg_result *r = corio_pg_pipeline_recv(c);
        ASSERT_NOT_NULL(r);
        if (i < 100) {
            ASSERT_OK(corio_pg_result_status(r));
            ASSERT_EQ(corio_pg_affected(r), 1);
        } else {
            ASSERT_ERR(corio_pg_result_status(r), -EREMOTEIO);
            ASSERT_STR_EQ(corio_pg_result_error(r, CORIO_PG_SQLSTATE),
                          "23505");
            ASSERT_STR_EQ(corio_pg_error(c, CORIO_PG_SQLSTATE), "23505");
        }
        corio_pg_result_close(r);
    }
    corio_pg_result *r = corio_pg_pipeline_recv(c);
    ASSERT_NOT_NULL(r);
    ASSERT_STR_EQ(corio_pg_text(r, 0, 0), "100");
    corio_pg_result_close(r);
    ASSERT_NULL(corio_pg_pipeline_recv(c));
    ASSERT_EQ(errno, ENOMSG);
    ASSERT_OK(corio_pg_pipeline_exit(c));
    ASSERT_EQ(corio_pg_status(c), CORIO_PG_IDLE);
    PG_OK(c, "SELECT 1");
    ASSERT_ERR(corio_pg_pipeline_exit(c), -EBUSY);
    ASSERT_ERR(corio_pg_pipeline_send(c, "SELECT 1", NULL), -EBUSY);
    corio_pg_close(c);
    return 0;
}

TEST(an_error_in_a_pipeline_fails_only_that_statement)
{
    RUN(batch);
}

static int atomic(void *arg)
{
    (void)arg;
    corio_pg *c = pg_open();
    PG_OK(c, "CREATE TEMP TABLE p (id int)");
    ASSERT_OK(corio_pg_pipeline_enter(c, CORIO_PG_ATOMIC));
    ASSERT_OK(corio_pg_pipeline_send(c, "INSERT INTO p VALUES (1)", NULL));
    ASSERT_OK(corio_pg_pipeline_send(c, "SELECT 1/0", NULL));
    ASSERT_OK(corio_pg_pipeline_send(c, "INSERT INTO p VALUES (2)", NULL));
    ASSERT_OK(corio_pg_pipeline_sync(c));
    ASSERT_OK(corio_pg_pipeline_send(c, "SELECT count(*) FROM p", NULL));
    /* No sync yet: recv asks the server to flush. */
    corio_pg_result *r = corio_pg_pipeline_recv(c);
    ASSERT_OK(corio_pg_result_status(r));
    corio_pg_result_close(r);
    r = corio_pg_pipeline_recv(c);
    ASSERT_ERR(corio_pg_result_status(r), -EREMOTEIO);
    ASSERT_STR_EQ(corio_pg_result_error(r, CORIO_PG_SQLSTATE), "22012");
    corio_pg_result_close(r);
    r = corio_pg_pipeline_recv(c);
    ASSERT_ERR(corio_pg_result_status(r), -ECONNABORTED);
    ASSERT_NOT_NULL(corio_pg_result_error(r, CORIO_PG_MESSAGE));
    corio_pg_result_close(r);
    /* The segment was rolled back as one implicit transaction. */
    r = corio_pg_pipeline_recv(c);
    ASSERT_NOT_NULL(r);
    ASSERT_STR_EQ(corio_pg_text(r, 0, 0), "0");
    corio_pg_result_close(r);
    ASSERT_OK(corio_pg_pipeline_exit(c));
    corio_pg_close(c);
    return 0;
}

TEST(an_atomic_segment_shares_its_fate)
{
    RUN(atomic);
}

static int cached(void *arg)
{
    (void)arg;
    corio_pg *c = pg_open();
    for (int round = 0; round < 3; round++) {
        ASSERT_OK(corio_pg_pipeline_enter(c, 0));
        for (int i = 0; i < 50; i++) {
            char n[8];
            snprintf(n, sizeof n, "%d", i);
            const char *v[1] = {n};
            corio_pg_params p = one(v);
            ASSERT_OK(corio_pg_pipeline_send(c, "SELECT $1::int * 2", &p));
            /* A statement that fails to parse, once per round. */
            if (i == 10)
                ASSERT_OK(corio_pg_pipeline_send(c, "SELEC $1", &p));
        }
        for (int i = 0; i < 51; i++) {
            corio_pg_result *r = corio_pg_pipeline_recv(c);
            ASSERT_NOT_NULL(r);
            if (i == 11) {
                ASSERT_ERR(corio_pg_result_status(r), -EREMOTEIO);
                ASSERT_STR_EQ(corio_pg_result_error(r, CORIO_PG_SQLSTATE),
                              "42601");
            } else {
                int32_t x;
                ASSERT_OK(corio_pg_get_int32(r, 0, 0, &x));
                ASSERT_EQ(x, 2 * (i < 11 ? i : i - 1));
            }
            corio_pg_result_close(r);
        }
        ASSERT_OK(corio_pg_pipeline_exit(c));
    }
    char buf[32];
    ASSERT_STR_EQ(pg_scalar(c,
                            "SELECT count(*) FROM pg_prepared_statements "
                            "WHERE statement = 'SELECT $1::int * 2'",
                            buf, sizeof buf),
                  "1");
    corio_pg_close(c);
    return 0;
}

TEST(pipelines_use_the_statement_cache)
{
    RUN(cached);
}

static int leave_pending(void *arg)
{
    (void)arg;
    corio_pg *c = pg_open();
    ASSERT_OK(corio_pg_pipeline_enter(c, CORIO_PG_ATOMIC));
    for (int i = 0; i < 10; i++)
        ASSERT_OK(corio_pg_pipeline_send(c, "SELECT 1", NULL));
    /* Exit drops the results nobody received (and syncs first). */
    ASSERT_OK(corio_pg_pipeline_exit(c));
    char buf[8];
    ASSERT_STR_EQ(pg_scalar(c, "SELECT 2", buf, sizeof buf), "2");
    corio_pg_close(c);
    return 0;
}

TEST(pipeline_exit_drops_pending_results)
{
    RUN(leave_pending);
}

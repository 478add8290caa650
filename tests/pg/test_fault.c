/* SPDX-License-Identifier: MIT */
/* Fault injection on the client's resource paths: every allocation made
 * through corio's seams fails in turn (N = 1, 2, ... until the scenario
 * succeeds), and each run must end in success or a clean error with no
 * heap block left behind. libpq's own allocations are not on the seams. */
#include "pg_helpers.h"

#include "core/testing.h"

/* Connect, query through the cache, a pipeline, a notification, a pool. */
static int scenario(void *arg)
{
    const char *dsn = arg;
    int rc = 0;
    corio_pg *c = corio_pg_connect(dsn);
    corio_pg_pool *p = NULL;
    corio_pg_result *r = NULL;
    corio_pg_notification *n = NULL;
    if (!c)
        return -errno;
    r = corio_pg_query(c, "SELECT $1::int", 1, (const char *[]){"1"});
    if (!r) {
        rc = -errno;
        goto out;
    }
    corio_pg_result_close(r);
    r = NULL;
    if ((rc = corio_pg_pipeline_enter(c, 0)) < 0)
        goto out;
    for (int i = 0; i < 70 && rc == 0; i++)
        rc = corio_pg_pipeline_send(c, i % 2 ? "SELECT 2" : "SELECT $1::int",
                                    &(corio_pg_params){
                                        .n = i % 2 ? 0 : 1,
                                        .values = (const char *[]){"3"}});
    for (int i = 0; i < 70 && rc == 0; i++) {
        r = corio_pg_pipeline_recv(c);
        if (!r)
            rc = -errno;
        corio_pg_result_close(r);
        r = NULL;
    }
    int rc2 = corio_pg_pipeline_exit(c);
    if (rc < 0 || (rc = rc2) < 0)
        goto out;
    if ((rc = corio_pg_listen(c, "f")) < 0 ||
        (rc = corio_pg_notify(c, "f", "payload")) < 0)
        goto out;
    n = corio_pg_notification_wait(c);
    if (!n) {
        rc = -errno;
        goto out;
    }
    if ((rc = corio_pg_savepoint(c, "x")) != -EREMOTEIO)
        goto out; /* not in a transaction: the server refuses */
    rc = 0;
    p = corio_pg_pool_new(dsn, &(corio_pg_pool_opts){.min_size = 1});
    if (!p) {
        rc = -errno;
        goto out;
    }
    corio_pg *pc = corio_pg_pool_acquire(p, 5);
    if (!pc) {
        rc = -errno;
        goto out;
    }
    int64_t x = corio_pg_exec(pc, "SET application_name = 'f'", 0, NULL);
    corio_pg_pool_release(p, pc);
    if (x < 0) {
        rc = (int)x;
        goto out;
    }
    pc = corio_pg_pool_acquire(p, 5); /* resets it */
    if (!pc) {
        rc = -errno;
        goto out;
    }
    corio_pg_pool_release(p, pc);
out:
    corio_pg_notification_free(n);
    corio_pg_pool_close(p);
    corio_pg_close(c);
    return rc;
}

TEST_OPTS(every_allocation_failure_unwinds_cleanly, .timeout = 300)
{
    const char *dsn = pg_dsn();
    long base = corio__alloc_live_blocks();
    int failures = 0;
    for (long nth = 1;; nth++) {
        corio__fault_alloc(nth);
        int rc = corio_run(scenario, (void *)dsn);
        long calls = corio__fault_alloc_calls();
        corio__fault_alloc(0);
        if (corio__alloc_live_blocks() != base)
            FAIL("N=%ld: %ld heap blocks left (rc %s)", nth,
                 corio__alloc_live_blocks() - base, th_errname(-rc));
        if (rc < 0 && rc != -ENOMEM)
            FAIL("N=%ld: unexpected %s", nth, th_errname(-rc));
        if (rc < 0)
            failures++;
        if (calls < nth) { /* the fault was never reached */
            ASSERT_OK(rc);
            break;
        }
        if (nth > 5000)
            FAIL("no end in sight");
    }
    fprintf(stderr, "%d runs failed cleanly\n", failures);
    ASSERT_GT(failures, 10);
}

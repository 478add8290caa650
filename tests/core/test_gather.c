/* SPDX-License-Identifier: MIT */
/* gather, wait, wait_for and as_completed: results, errors, timeouts and
 * the cancellation rules asyncio defines for each. */
#include "harness.h"
#include "th_corio.h"

#include <corio.h>

struct job {
    double delay;
    int result;
    int cancelled;  /* set when the job saw -ECANCELED */
    int ignore;     /* complete anyway when cancelled */
};

static int run_job(void *arg)
{
    struct job *j = arg;
    int rc = corio_sleep(j->delay);
    if (rc == -ECANCELED) {
        j->cancelled = 1;
        if (!j->ignore)
            return rc;
    }
    return j->result;
}

/* ---- gather ---- */

static int gather_calls(void *arg)
{
    (void)arg;
    struct job a = {0.1, 1, 0, 0}, b = {0.1, 2, 0, 0}, c = {0.05, 3, 0, 0};
    corio_call calls[3] = {{run_job, &a, -1}, {run_job, &b, -1},
                           {run_job, &c, -1}};
    double t0 = corio_time();
    ASSERT_OK(corio_gather(calls, 3, 0));
    double dt = corio_time() - t0;
    /* Concurrently: the slowest (0.1 s), not the sum (0.25 s). */
    ASSERT_GE(dt, 0.1 - 1e-9); /* virtual time is exact */
    ASSERT_LT(dt, 0.2);
    ASSERT_EQ(calls[0].result, 1);
    ASSERT_EQ(calls[1].result, 2);
    ASSERT_EQ(calls[2].result, 3);
    return 0;
}

TEST(gather_runs_calls_concurrently_and_keeps_order)
{
    ASSERT_OK(th_run_virtual(gather_calls, NULL));
}

static int gather_error(void *arg)
{
    (void)arg;
    struct job fast_fail = {0.001, -EIO, 0, 0}, slow = {0.05, 7, 0, 0};
    corio_call calls[2] = {{run_job, &fast_fail, 0}, {run_job, &slow, -1}};
    double t0 = corio_time();
    /* The first error returns at once; the other call keeps running and
     * its result is no longer stored. */
    ASSERT_ERR(corio_gather(calls, 2, 0), -EIO);
    ASSERT_LT(corio_time() - t0, 0.04);
    ASSERT_ERR(calls[0].result, -EIO);
    ASSERT_EQ(calls[1].result, -1);
    ASSERT_OK(corio_sleep(0.08));
    ASSERT_EQ(slow.cancelled, 0);
    ASSERT_EQ(calls[1].result, -1);
    return 0;
}

TEST(gather_returns_the_first_error_and_others_keep_running)
{
    ASSERT_OK(th_run_virtual(gather_error, NULL));
}

static int gather_all(void *arg)
{
    (void)arg;
    struct job f = {0.001, -EIO, 0, 0}, s = {0.01, 7, 0, 0};
    corio_call calls[2] = {{run_job, &f, 0}, {run_job, &s, 0}};
    ASSERT_OK(corio_gather(calls, 2, CORIO_RETURN_EXCEPTIONS));
    ASSERT_ERR(calls[0].result, -EIO);
    ASSERT_EQ(calls[1].result, 7);
    return 0;
}

TEST(gather_return_exceptions_waits_for_all)
{
    ASSERT_OK(th_run_virtual(gather_all, NULL));
}

static struct job cj[3];

static int gathers(void *arg)
{
    (void)arg;
    corio_call calls[3];
    for (int i = 0; i < 3; i++) {
        cj[i] = (struct job){10, i, 0, 0};
        calls[i] = (corio_call){run_job, &cj[i], 99};
    }
    return corio_gather(calls, 3, 0);
}

static int cancel_gather(void *arg)
{
    (void)arg;
    corio_task *t = corio_spawn(gathers, NULL);
    ASSERT_OK(corio_sleep(0.005));
    corio_cancel(t);
    ASSERT_ERR(corio_join(t), -ECANCELED);
    /* Every child was cancelled and had ended before gather returned. */
    for (int i = 0; i < 3; i++)
        ASSERT_EQ(cj[i].cancelled, 1);
    return 0;
}

TEST(cancelling_gather_cancels_and_waits_for_its_children)
{
    ASSERT_OK(th_run_virtual(cancel_gather, NULL));
}

static int gather_tasks(void *arg)
{
    (void)arg;
    struct job a = {0.002, 5, 0, 0}, b = {0, -ENOENT, 0, 0};
    corio_task *t[2] = {corio_spawn(run_job, &a), corio_spawn(run_job, &b)};
    int r[2] = {0, 0};
    ASSERT_OK(corio_gather_tasks(t, 2, r, CORIO_RETURN_EXCEPTIONS));
    ASSERT_EQ(r[0], 5);
    ASSERT_ERR(r[1], -ENOENT);
    /* Already-finished tasks are gathered too; NULL results allowed. */
    corio_task *u = corio_spawn(run_job, &a);
    ASSERT_OK(corio_sleep(0.005));
    ASSERT_OK(corio_gather_tasks(&u, 1, NULL, 0));
    ASSERT_ERR(corio_gather_tasks(NULL, 1, r, 0), -EINVAL);
    corio_task *none = NULL;
    ASSERT_ERR(corio_gather_tasks(&none, 1, r, 0), -EINVAL);
    ASSERT_ERR(corio_gather(NULL, 0, 0), -EINVAL);
    return 0;
}

TEST(gather_tasks_consumes_references)
{
    ASSERT_OK(th_run_virtual(gather_tasks, NULL));
}

TEST(gather_outside_a_task_is_eperm)
{
    corio_call c = {run_job, NULL, 0};
    ASSERT_ERR(corio_gather(&c, 1, 0), -EPERM);
    ASSERT_ERR(corio_wait_for(NULL, 1), -EINVAL);
}

static int gather_many(void *arg)
{
    (void)arg;
    enum { N = 100 };
    static struct job j[N];
    static corio_call c[N];
    for (int i = 0; i < N; i++) {
        j[i] = (struct job){(double)(th_rand() % 5) / 1000, i, 0, 0};
        c[i] = (corio_call){run_job, &j[i], -1};
    }
    ASSERT_OK(corio_gather(c, N, 0));
    for (int i = 0; i < N; i++)
        ASSERT_EQ(c[i].result, i);
    return 0;
}

TEST(gather_more_calls_than_fit_on_the_stack)
{
    ASSERT_OK(th_run_virtual(gather_many, NULL));
}

/* ---- wait ---- */

static int wait_modes(void *arg)
{
    (void)arg;
    struct job a = {0.001, 1, 0, 0}, b = {0.03, 2, 0, 0},
               e = {0.005, -EIO, 0, 0};
    corio_task *t[3] = {corio_spawn(run_job, &a), corio_spawn(run_job, &b),
                        corio_spawn(run_job, &e)};
    ASSERT_EQ(corio_wait(t, 3, CORIO_FIRST_COMPLETED, -1), 1);
    ASSERT_TRUE(corio_task_done(t[0]));
    ASSERT_EQ(corio_wait(t, 3, CORIO_FIRST_EXCEPTION, -1), 2);
    ASSERT_TRUE(corio_task_done(t[2]));
    ASSERT_FALSE(corio_task_done(t[1]));
    /* A timeout is not an error, and it cancels nothing. */
    ASSERT_EQ(corio_wait(t, 3, CORIO_ALL_COMPLETED, 0.001), 2);
    ASSERT_FALSE(corio_task_done(t[1]));
    ASSERT_EQ(corio_wait(t, 3, CORIO_ALL_COMPLETED, -1), 3);
    ASSERT_EQ(b.cancelled, 0);
    ASSERT_ERR(corio_wait(t, 3, 0, -1), -EINVAL);
    ASSERT_ERR(corio_wait(t, 0, CORIO_ALL_COMPLETED, -1), -EINVAL);
    for (int i = 0; i < 3; i++)
        corio_task_unref(t[i]);
    return 0;
}

TEST(wait_modes_and_timeout)
{
    ASSERT_OK(th_run_virtual(wait_modes, NULL));
}

static corio_task *wait_target;

static int waits(void *arg)
{
    (void)arg;
    return corio_wait(&wait_target, 1, CORIO_ALL_COMPLETED, -1);
}

static int cancel_wait(void *arg)
{
    (void)arg;
    struct job j = {0.02, 4, 0, 0};
    wait_target = corio_spawn(run_job, &j);
    corio_task *w = corio_spawn(waits, NULL);
    ASSERT_OK(corio_sleep(0.001));
    corio_cancel(w);
    ASSERT_ERR(corio_join(w), -ECANCELED);
    /* asyncio.wait never cancels what it waits for. */
    ASSERT_EQ(corio_join(wait_target), 4);
    ASSERT_EQ(j.cancelled, 0);
    return 0;
}

TEST(cancelling_wait_leaves_the_tasks_running)
{
    ASSERT_OK(th_run_virtual(cancel_wait, NULL));
}

/* ---- wait_for ---- */

static int wait_for_cases(void *arg)
{
    (void)arg;
    struct job quick = {0.001, 3, 0, 0};
    ASSERT_EQ(corio_wait_for(corio_spawn(run_job, &quick), 1.0), 3);

    struct job slow = {1.0, 3, 0, 0};
    double t0 = corio_time();
    ASSERT_ERR(corio_wait_for(corio_spawn(run_job, &slow), 0.01),
               -ETIMEDOUT);
    ASSERT_LT(corio_time() - t0, 0.5);
    ASSERT_EQ(slow.cancelled, 1); /* cancelled and waited for */

    /* The inner task completes although cancelled: its result is kept. */
    struct job stubborn = {1.0, 8, 0, 1};
    ASSERT_EQ(corio_wait_for(corio_spawn(run_job, &stubborn), 0.01), 8);
    ASSERT_EQ(stubborn.cancelled, 1);

    /* No timeout. */
    struct job plain = {0.002, 6, 0, 0};
    ASSERT_EQ(corio_wait_for(corio_spawn(run_job, &plain), -1), 6);
    return 0;
}

TEST(wait_for_timeout_cancels_and_waits_for_the_task)
{
    ASSERT_OK(th_run_virtual(wait_for_cases, NULL));
}

static struct job outer_job;

static int waits_for(void *arg)
{
    (void)arg;
    outer_job = (struct job){10, 1, 0, 0};
    int rc = corio_wait_for(corio_spawn(run_job, &outer_job), 5);
    return rc;
}

static int cancel_wait_for(void *arg)
{
    (void)arg;
    corio_task *t = corio_spawn(waits_for, NULL);
    ASSERT_OK(corio_sleep(0.002));
    corio_cancel(t);
    /* The outer cancellation is not turned into a timeout or swallowed. */
    ASSERT_ERR(corio_join(t), -ECANCELED);
    ASSERT_EQ(outer_job.cancelled, 1);
    return 0;
}

TEST(a_cancelled_wait_for_does_not_swallow_the_cancellation)
{
    ASSERT_OK(th_run_virtual(cancel_wait_for, NULL));
}

static int wait_for_stubborn(void *arg)
{
    (void)arg;
    outer_job = (struct job){10, 1, 0, 1};
    int rc = corio_wait_for(corio_spawn(run_job, &outer_job), 5);
    /* The inner task finished anyway: result returned, and the
     * cancellation is still delivered at our next suspension. */
    if (rc != 1)
        return -1000;
    return corio_sleep(1);
}

static int cancel_wait_for_stubborn(void *arg)
{
    (void)arg;
    corio_task *t = corio_spawn(wait_for_stubborn, NULL);
    ASSERT_OK(corio_sleep(0.002));
    corio_cancel(t);
    ASSERT_ERR(corio_join(t), -ECANCELED);
    return 0;
}

TEST(wait_for_keeps_both_a_late_result_and_the_cancellation)
{
    ASSERT_OK(th_run_virtual(cancel_wait_for_stubborn, NULL));
}

static int timeout_race(void *arg)
{
    (void)arg;
    /* The inner work ends at the very moment of the timeout: whichever
     * fires first, the result is never lost. */
    for (int i = 0; i < 50; i++) {
        struct job j = {0.001, 12, 0, 0};
        int rc = corio_wait_for(corio_spawn(run_job, &j), 0.001);
        if (rc != 12)
            ASSERT_ERR(rc, -ETIMEDOUT);
        if (rc == -ETIMEDOUT)
            ASSERT_EQ(j.cancelled, 1);
    }
    return 0;
}

TEST(wait_for_timeout_at_the_moment_of_completion)
{
    ASSERT_OK(corio_run(timeout_race, NULL));
}

/* ---- as_completed ---- */

static int as_completed(void *arg)
{
    (void)arg;
    struct job j[3] = {{0.03, 0, 0, 0}, {0.01, 1, 0, 0}, {0.02, 2, 0, 0}};
    corio_task *t[3];
    for (int i = 0; i < 3; i++)
        t[i] = corio_spawn(run_job, &j[i]);
    corio_as_completed *ac = corio_as_completed_new(t, 3, -1);
    ASSERT_NOT_NULL(ac);
    int want[3] = {1, 2, 0};
    for (int i = 0; i < 3; i++)
        ASSERT_EQ(corio_as_completed_next(ac), want[i]);
    ASSERT_ERR(corio_as_completed_next(ac), -ENOENT);
    corio_as_completed_free(ac);
    for (int i = 0; i < 3; i++)
        ASSERT_EQ(corio_join(t[i]), i);
    corio_as_completed_free(NULL);
    return 0;
}

TEST(as_completed_yields_in_completion_order)
{
    ASSERT_OK(th_run_virtual(as_completed, NULL));
}

static int as_completed_timeout(void *arg)
{
    (void)arg;
    struct job j[2] = {{0.001, 0, 0, 0}, {1.0, 1, 0, 0}};
    corio_task *t[2] = {corio_spawn(run_job, &j[0]),
                        corio_spawn(run_job, &j[1])};
    corio_as_completed *ac = corio_as_completed_new(t, 2, 0.02);
    ASSERT_EQ(corio_as_completed_next(ac), 0);
    ASSERT_ERR(corio_as_completed_next(ac), -ETIMEDOUT);
    corio_as_completed_free(ac);
    ASSERT_FALSE(corio_task_done(t[1])); /* not cancelled */
    corio_cancel(t[1]);
    ASSERT_ERR(corio_join(t[1]), -ECANCELED);
    ASSERT_OK(corio_join(t[0]));
    errno = 0;
    ASSERT_NULL(corio_as_completed_new(t, 0, -1));
    ASSERT_EQ(errno, EINVAL);
    return 0;
}

TEST(as_completed_timeout_bounds_the_whole_iteration)
{
    ASSERT_OK(th_run_virtual(as_completed_timeout, NULL));
}

static corio_as_completed *shared_ac;

static int iterates(void *arg)
{
    (void)arg;
    return corio_as_completed_next(shared_ac);
}

static int cancel_as_completed(void *arg)
{
    (void)arg;
    struct job j = {1.0, 0, 0, 0};
    corio_task *t = corio_spawn(run_job, &j);
    shared_ac = corio_as_completed_new(&t, 1, -1);
    corio_task *it = corio_spawn(iterates, NULL);
    ASSERT_OK(corio_sleep(0.001));
    corio_cancel(it);
    ASSERT_ERR(corio_join(it), -ECANCELED);
    corio_as_completed_free(shared_ac);
    corio_cancel(t);
    ASSERT_ERR(corio_join(t), -ECANCELED);
    return 0;
}

TEST(cancelling_as_completed_next)
{
    ASSERT_OK(th_run_virtual(cancel_as_completed, NULL));
}

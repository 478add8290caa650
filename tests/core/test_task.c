/* SPDX-License-Identifier: MIT */
/* Tasks: corio_run, spawn, join, cancel, sleep, yield, names, references
 * and the rules of cancellation documented in task.h. */
#include "harness.h"

#include <corio.h>
#include <math.h>

#include "th_corio.h"

/* ---- corio_run ---- */

static int ret_arg(void *arg)
{
    return (int)(intptr_t)arg;
}

TEST(run_returns_main_result)
{
    ASSERT_EQ(corio_run(ret_arg, (void *)42), 42);
    ASSERT_EQ(corio_run(ret_arg, (void *)-7), -7);
}

TEST(run_null_main_is_einval)
{
    ASSERT_ERR(corio_run(NULL, NULL), -EINVAL);
}

static int nested(void *arg)
{
    (void)arg;
    return corio_run(ret_arg, (void *)1);
}

TEST(run_inside_a_loop_is_ebusy)
{
    ASSERT_ERR(corio_run(nested, NULL), -EBUSY);
}

TEST(run_sequentially_many_times)
{
    for (int i = 0; i < 200; i++)
        ASSERT_EQ(corio_run(ret_arg, (void *)(intptr_t)i), i);
}

/* ---- spawn and join ---- */

static int order[16];
static int norder;

static int record(void *arg)
{
    order[norder++] = (int)(intptr_t)arg;
    return (int)(intptr_t)arg * 10;
}

static int spawn_then_join(void *arg)
{
    (void)arg;
    norder = 0;
    corio_task *a = corio_spawn(record, (void *)1);
    corio_task *b = corio_spawn(record, (void *)2);
    ASSERT_NOT_NULL(a);
    ASSERT_NOT_NULL(b);
    /* Spawned tasks run only when the spawner suspends. */
    ASSERT_EQ(norder, 0);
    ASSERT_FALSE(corio_task_done(a));
    ASSERT_EQ(corio_join(b), 20);
    ASSERT_EQ(norder, 2);
    ASSERT_EQ(order[0], 1);
    ASSERT_EQ(order[1], 2);
    /* a is done already: join returns without suspending. */
    ASSERT_TRUE(corio_task_done(a));
    ASSERT_EQ(corio_join(a), 10);
    return 0;
}

TEST_OPTS(spawn_runs_when_the_spawner_suspends, .labels = "order")
{
    ASSERT_OK(corio_run(spawn_then_join, NULL));
}

TEST(spawn_outside_a_loop_is_eperm)
{
    errno = 0;
    ASSERT_NULL(corio_spawn(ret_arg, NULL));
    ASSERT_EQ(errno, EPERM);
}

static int spawn_null(void *arg)
{
    (void)arg;
    errno = 0;
    ASSERT_NULL(corio_spawn(NULL, NULL));
    ASSERT_EQ(errno, EINVAL);
    corio_task_opts o = {.stack_size = (size_t)1 << 40};
    ASSERT_NULL(corio_spawn_opts(ret_arg, NULL, &o));
    ASSERT_EQ(errno, EINVAL);
    return 0;
}

TEST(spawn_bad_arguments_are_einval)
{
    ASSERT_OK(corio_run(spawn_null, NULL));
}

static int join_self(void *arg)
{
    (void)arg;
    ASSERT_ERR(corio_join(corio_current()), -EINVAL);
    ASSERT_ERR(corio_join(NULL), -EINVAL);
    return 0;
}

TEST(join_self_or_null_is_einval)
{
    ASSERT_OK(corio_run(join_self, NULL));
}

static int sleeper(void *arg)
{
    double s = arg ? *(double *)arg : 10.0;
    return corio_sleep(s);
}

TEST(join_outside_a_task_is_eperm_unless_done)
{
    corio_loop *loop = corio_loop_new(NULL);
    ASSERT_NOT_NULL(loop);
    double s = 0.001;
    corio_task *t = corio_loop_spawn(loop, sleeper, &s, NULL);
    ASSERT_NOT_NULL(t);
    ASSERT_ERR(corio_join(t), -EPERM); /* no effect: t still referenced */
    ASSERT_OK(corio_loop_run_until_complete(loop, t));
    ASSERT_OK(corio_join(t)); /* done: no suspension needed */
    ASSERT_OK(corio_loop_close(loop));
}

/* ---- cancellation ---- */

static int cancel_sleeping(void *arg)
{
    (void)arg;
    corio_task *t = corio_spawn(sleeper, NULL);
    th_yield_until_parked(t, "sleep"); /* t starts and sleeps */
    double t0 = corio_time();
    corio_cancel(t);
    ASSERT_ERR(corio_join(t), -ECANCELED);
    ASSERT_LT(corio_time() - t0, 1.0);
    return 0;
}

TEST(cancel_while_sleeping)
{
    ASSERT_OK(corio_run(cancel_sleeping, NULL));
}

static int ran;

static int mark_ran(void *arg)
{
    (void)arg;
    ran = 1;
    return 5;
}

static int cancel_before_start(void *arg)
{
    (void)arg;
    ran = 0;
    corio_task *t = corio_spawn(mark_ran, NULL);
    corio_cancel(t);
    ASSERT_TRUE(corio_task_cancelling(t));
    ASSERT_ERR(corio_join(t), -ECANCELED);
    ASSERT_EQ(ran, 0);
    return 0;
}

TEST(cancel_before_start_never_runs_the_function)
{
    ASSERT_OK(corio_run(cancel_before_start, NULL));
}

static int cancel_finished(void *arg)
{
    (void)arg;
    corio_task *t = corio_spawn(ret_arg, (void *)3);
    ASSERT_OK(corio_yield());
    ASSERT_TRUE(corio_task_done(t));
    corio_cancel(t);
    ASSERT_FALSE(corio_task_cancelled(t));
    ASSERT_EQ(corio_join(t), 3);
    return 0;
}

TEST_OPTS(cancel_finished_task_does_nothing, .labels = "order")
{
    ASSERT_OK(corio_run(cancel_finished, NULL));
}

static int held(void *arg)
{
    (void)arg;
    /* Cancel ourselves while running: nothing happens until we suspend. */
    corio_cancel(corio_current());
    double t0 = th_now();
    while (th_now() - t0 < 0.002)
        ;
    ASSERT_ERR(corio_sleep(0.01), -ECANCELED);
    /* Delivered once: the next suspension works. */
    ASSERT_OK(corio_sleep(0.001));
    return 0;
}

TEST(cancel_is_held_until_the_next_suspension)
{
    ASSERT_OK(corio_run(held, NULL));
}

static int twice(void *arg)
{
    (void)arg;
    corio_cancel(corio_current());
    corio_cancel(corio_current());
    ASSERT_ERR(corio_yield(), -ECANCELED);
    ASSERT_OK(corio_yield());
    return 0;
}

TEST(cancel_delivered_twice_is_reported_once)
{
    ASSERT_OK(corio_run(twice, NULL));
}

static int check_without_suspending(void *arg)
{
    (void)arg;
    ASSERT_OK(corio_checkpoint_if_cancelled());
    corio_cancel(corio_current());
    ASSERT_ERR(corio_checkpoint_if_cancelled(), -ECANCELED);
    /* Consumed, as a suspension would consume it. */
    ASSERT_OK(corio_checkpoint_if_cancelled());
    ASSERT_OK(corio_yield());

    /* Scopes: cancelled, and past their deadline (level-triggered). */
    corio_scope sc;
    ASSERT_OK(corio_scope_enter(&sc, -1));
    ASSERT_OK(corio_checkpoint_if_cancelled());
    corio_scope_cancel(&sc);
    ASSERT_ERR(corio_checkpoint_if_cancelled(), -ECANCELED);
    ASSERT_ERR(corio_checkpoint_if_cancelled(), -ECANCELED);
    ASSERT_ERR(corio_scope_exit(&sc), -ECANCELED);
    /* A deadline that is due: under the seeded test mode time is virtual
     * and only moves when the loop waits, so a busy-wait would not do. */
    ASSERT_OK(corio_scope_enter(&sc, 0));
    ASSERT_ERR(corio_checkpoint_if_cancelled(), -ETIMEDOUT);
    ASSERT_ERR(corio_scope_exit(&sc), -ETIMEDOUT);

    /* A shielded scope holds an outer cancellation back. */
    corio_cancel(corio_current());
    ASSERT_OK(corio_scope_enter(&sc, -1));
    ASSERT_OK(corio_scope_shield(&sc, true));
    ASSERT_OK(corio_checkpoint_if_cancelled());
    ASSERT_OK(corio_scope_exit(&sc));
    ASSERT_ERR(corio_checkpoint_if_cancelled(), -ECANCELED);
    return 0;
}

TEST(checkpoint_if_cancelled_delivers_without_suspending)
{
    ASSERT_OK(corio_run(check_without_suspending, NULL));
    ASSERT_ERR(corio_checkpoint_if_cancelled(), -EPERM);
}

static int cleanup_done;

static int cleans_up(void *arg)
{
    (void)arg;
    int rc = corio_sleep(10);
    if (rc == -ECANCELED) {
        /* Cleanup may suspend again after a cancellation. */
        ASSERT_OK(corio_sleep(0.001));
        cleanup_done = 1;
    }
    return rc;
}

static int cancel_cleanup(void *arg)
{
    (void)arg;
    cleanup_done = 0;
    corio_task *t = corio_spawn(cleans_up, NULL);
    ASSERT_OK(corio_sleep(0.001));
    corio_cancel(t);
    ASSERT_ERR(corio_join(t), -ECANCELED);
    ASSERT_EQ(cleanup_done, 1);
    return 0;
}

TEST(cancelled_task_can_clean_up_with_suspending_calls)
{
    ASSERT_OK(corio_run(cancel_cleanup, NULL));
}

struct joiner_arg {
    corio_task *target;
    int rc;
};

static int joiner(void *arg)
{
    struct joiner_arg *j = arg;
    j->rc = corio_join(j->target);
    return j->rc;
}

static int cancel_joiner(void *arg)
{
    (void)arg;
    corio_task *target = corio_spawn(sleeper, NULL);
    struct joiner_arg j = {corio_task_ref(target), 1};
    corio_task *jt = corio_spawn(joiner, &j);
    ASSERT_OK(corio_sleep(0.001));
    corio_cancel(jt);
    ASSERT_ERR(corio_join(jt), -ECANCELED);
    ASSERT_ERR(j.rc, -ECANCELED);
    /* As when awaiting a task in asyncio, the awaited task is cancelled
     * too. */
    ASSERT_ERR(corio_join(target), -ECANCELED);
    return 0;
}

TEST(cancel_while_joining_cancels_the_joined_task)
{
    ASSERT_OK(corio_run(cancel_joiner, NULL));
}

static int result_wins(void *arg)
{
    (void)arg;
    double s = 0.001;
    corio_task *target = corio_spawn(sleeper, &s);
    struct joiner_arg j = {corio_task_ref(target), 1};
    corio_task *jt = corio_spawn(joiner, &j);
    /* Wait until the target ended (waking the joiner), then cancel the
     * joiner before it runs: it must still get the result. */
    ASSERT_EQ(corio_wait((corio_task *[]){target}, 1, CORIO_ALL_COMPLETED,
                         -1),
              1);
    ASSERT_TRUE(corio_task_done(target));
    ASSERT_FALSE(corio_task_done(jt));
    corio_cancel(jt);
    ASSERT_OK(corio_join(jt)); /* joiner returned the result, 0 */
    ASSERT_OK(j.rc);
    corio_task_unref(target);
    return 0;
}

TEST_OPTS(join_result_wins_over_a_racing_cancel, .labels = "order")
{
    ASSERT_OK(corio_run(result_wins, NULL));
}

static int repend_after_result(void *arg)
{
    (void)arg;
    corio_task *t = corio_spawn(ret_arg, (void *)9);
    ASSERT_OK(corio_yield()); /* t ran and ended */
    corio_task *u = corio_spawn(sleeper, NULL);
    (void)u;
    corio_cancel(corio_current());
    /* t is done: join returns its result without suspending... */
    ASSERT_EQ(corio_join(t), 9);
    /* ...and the cancellation is still delivered at the next suspension. */
    ASSERT_ERR(corio_yield(), -ECANCELED);
    corio_cancel(u);
    ASSERT_ERR(corio_join(u), -ECANCELED);
    return 0;
}

TEST_OPTS(cancel_survives_a_join_that_did_not_suspend, .labels = "order")
{
    ASSERT_OK(corio_run(repend_after_result, NULL));
}

/* ---- sleep and yield ---- */

/* arg: NULL on a real clock, non-NULL on virtual time. */
static int sleep_args(void *arg)
{
    ASSERT_ERR(corio_sleep(NAN), -EINVAL);
    ASSERT_OK(corio_sleep(-1));
    ASSERT_OK(corio_sleep(0));
    double t0 = corio_time();
    ASSERT_OK(corio_sleep(0.05));
    double dt = corio_time() - t0;
    ASSERT_GE(dt * 1e6, 50000 - 1e-3); /* never early */
    if (arg) {
        /* Virtual time: nothing else moves the clock, so exactly 50 ms. */
        ASSERT_NEAR(dt, 0.05, 1e-6);
    } else {
        /* Real time: one sleep may be late by any amount where the
         * machine is slow (Valgrind, an overloaded CI); a loop that
         * oversleeps (a poll timeout rounded or scaled wrong) is late
         * every time. So the best of a few tries must be near 50 ms. */
        double best = dt;
        for (int i = 0; i < 5 && best >= 0.2; i++) {
            t0 = corio_time();
            ASSERT_OK(corio_sleep(0.05));
            dt = corio_time() - t0;
            ASSERT_GE(dt * 1e6, 50000 - 1e-3);
            best = dt < best ? dt : best;
        }
        ASSERT_LT(best, 0.2);
    }
    return 0;
}

TEST(sleep_is_never_early)
{
    ASSERT_OK(corio_run(sleep_args, NULL));
    ASSERT_OK(th_run_virtual(sleep_args, (void *)1));
}

TEST(suspending_outside_a_task_is_eperm)
{
    ASSERT_ERR(corio_sleep(0.1), -EPERM);
    ASSERT_ERR(corio_yield(), -EPERM);
    ASSERT_NULL(corio_current());
}

static int yielder(void *arg)
{
    int id = (int)(intptr_t)arg;
    for (int i = 0; i < 3; i++) {
        order[norder++] = id;
        ASSERT_OK(corio_yield());
    }
    return 0;
}

static int yield_order(void *arg)
{
    (void)arg;
    norder = 0;
    corio_task *t[3];
    for (int i = 0; i < 3; i++)
        t[i] = corio_spawn(yielder, (void *)(intptr_t)(i + 1));
    for (int i = 0; i < 3; i++)
        ASSERT_OK(corio_join(t[i]));
    /* Each yield lets every other ready task run once: round robin. */
    int want[9] = {1, 2, 3, 1, 2, 3, 1, 2, 3};
    ASSERT_EQ(norder, 9);
    for (int i = 0; i < 9; i++)
        ASSERT_EQ(order[i], want[i]);
    return 0;
}

TEST_OPTS(yield_lets_every_other_ready_task_run_once, .labels = "order")
{
    ASSERT_OK(corio_run(yield_order, NULL));
}

static int only_task_yield(void *arg)
{
    (void)arg;
    for (int i = 0; i < 1000; i++)
        ASSERT_OK(corio_yield());
    return 0;
}

TEST(yield_with_nothing_else_ready_returns)
{
    ASSERT_OK(corio_run(only_task_yield, NULL));
}

/* ---- names, ids, references, introspection ---- */

static int names(void *arg)
{
    (void)arg;
    corio_task *self = corio_current();
    ASSERT_STR_EQ(corio_task_name(self), "main");
    corio_task *t = corio_spawn(ret_arg, NULL);
    char want[32];
    snprintf(want, sizeof want, "Task-%llu",
             (unsigned long long)corio_task_id(t));
    ASSERT_STR_EQ(corio_task_name(t), want);
    ASSERT_OK(corio_task_set_name(t, "worker"));
    ASSERT_STR_EQ(corio_task_name(t), "worker");
    ASSERT_ERR(corio_task_set_name(t, NULL), -EINVAL);
    corio_task_opts o = {.name = "named"};
    corio_task *u = corio_spawn_opts(ret_arg, NULL, &o);
    ASSERT_STR_EQ(corio_task_name(u), "named");
    ASSERT_GT(corio_task_id(u), corio_task_id(t));
    ASSERT_PTR_EQ(corio_task_loop(u), corio_loop_current());
    ASSERT_OK(corio_join(t));
    ASSERT_OK(corio_join(u));
    return 0;
}

TEST(task_names_and_ids)
{
    ASSERT_OK(corio_run(names, NULL));
}

static int all_tasks(void *arg)
{
    (void)arg;
    corio_task *t[3];
    for (int i = 0; i < 3; i++)
        t[i] = corio_spawn(sleeper, NULL);
    corio_task *buf[8];
    size_t n = corio_all_tasks(buf, 8);
    ASSERT_EQ(n, 4); /* main + 3 */
    for (size_t i = 0; i < n; i++)
        corio_task_unref(buf[i]);
    ASSERT_EQ(corio_all_tasks(buf, 2), 4); /* counts beyond cap */
    corio_task_unref(buf[0]);
    corio_task_unref(buf[1]);
    for (int i = 0; i < 3; i++) {
        corio_cancel(t[i]);
        ASSERT_ERR(corio_join(t[i]), -ECANCELED);
    }
    ASSERT_EQ(corio_all_tasks(NULL, 0), 1);
    return 0;
}

TEST(all_tasks_lists_tasks_not_done)
{
    ASSERT_OK(corio_run(all_tasks, NULL));
    ASSERT_EQ(corio_all_tasks(NULL, 0), 0);
}

static int state(void *arg)
{
    (void)arg;
    int r = -1;
    corio_task *t = corio_spawn(ret_arg, (void *)-5);
    ASSERT_ERR(corio_task_result(t, &r), -EBUSY);
    ASSERT_OK(corio_yield());
    ASSERT_OK(corio_task_result(t, &r));
    ASSERT_EQ(r, -5);
    ASSERT_FALSE(corio_task_cancelled(t));
    ASSERT_ERR(corio_task_result(NULL, &r), -EINVAL);
    corio_task_unref(t);
    return 0;
}

TEST_OPTS(task_result_and_state, .labels = "order")
{
    ASSERT_OK(corio_run(state, NULL));
}

static int counter;

static int bump_after_sleep(void *arg)
{
    (void)arg;
    int rc = corio_sleep(0.005);
    counter++;
    return rc;
}

static int unref_early(void *arg)
{
    (void)arg;
    counter = 0;
    /* Fire and forget: dropping the reference does not stop the task. */
    corio_task_unref(corio_spawn(bump_after_sleep, NULL));
    corio_task *t = corio_spawn(bump_after_sleep, NULL);
    ASSERT_PTR_EQ(corio_task_ref(t), t);
    corio_task_unref(t);
    ASSERT_OK(corio_sleep(0.05));
    ASSERT_EQ(counter, 2);
    ASSERT_OK(corio_join(t));
    corio_task_unref(NULL);
    return 0;
}

TEST(unref_does_not_stop_the_task)
{
    /* On virtual time: the 5 ms sleeps start only once main sleeps, so on
     * a real clock a stall of 45 ms would let main wake first. */
    ASSERT_OK(th_run_virtual(unref_early, NULL));
}

static int big_frame(void *arg)
{
    (void)arg;
    volatile char buf[512 * 1024];
    for (size_t i = 0; i < sizeof buf; i += 4096)
        buf[i] = (char)i;
    return buf[4096];
}

static int stack_option(void *arg)
{
    (void)arg;
    corio_task_opts o = {.stack_size = 1 << 20, .name = "big"};
    corio_task *t = corio_spawn_opts(big_frame, NULL, &o);
    ASSERT_NOT_NULL(t);
    ASSERT_EQ(corio_join(t), (char)4096);
    return 0;
}

TEST(spawn_with_a_larger_stack)
{
    ASSERT_OK(corio_run(stack_option, NULL));
}

/* ---- corio_run's shutdown ---- */

static int shutdown_seen;

static int child_of_shutdown(void *arg)
{
    (void)arg;
    int rc = corio_sleep(100);
    if (rc == -ECANCELED)
        shutdown_seen++;
    return rc;
}

static int spawns_in_cleanup(void *arg)
{
    (void)arg;
    int rc = corio_sleep(100);
    if (rc == -ECANCELED) {
        shutdown_seen++;
        /* A task spawned while unwinding is cancelled in turn. */
        corio_task_unref(corio_spawn(child_of_shutdown, NULL));
        ASSERT_OK(corio_sleep(0.001));
    }
    return rc;
}

static int leaves_tasks(void *arg)
{
    (void)arg;
    shutdown_seen = 0;
    for (int i = 0; i < 10; i++)
        corio_task_unref(corio_spawn(child_of_shutdown, NULL));
    corio_task_unref(corio_spawn(spawns_in_cleanup, NULL));
    /* A reference the program forgets: corio_run frees it anyway. */
    corio_spawn(ret_arg, NULL);
    ASSERT_OK(corio_sleep(0.001));
    return 7;
}

TEST(run_cancels_and_waits_for_tasks_left_running)
{
    ASSERT_EQ(corio_run(leaves_tasks, NULL), 7);
    ASSERT_EQ(shutdown_seen, 12);
}

/* ---- many tasks ---- */

static int count_up(void *arg)
{
    int *n = arg;
    int rc = corio_sleep(0.01);
    (*n)++;
    return rc;
}

static int ten_thousand(void *arg)
{
    (void)arg;
    enum { N = 10000 };
    static corio_task *t[N];
    int n = 0;
    for (int i = 0; i < N; i++) {
        t[i] = corio_spawn(count_up, &n);
        ASSERT_NOT_NULL(t[i]);
    }
    for (int i = 0; i < N; i++)
        ASSERT_OK(corio_join(t[i]));
    ASSERT_EQ(n, N);
    return 0;
}

TEST(ten_thousand_concurrent_tasks)
{
    ASSERT_OK(corio_run(ten_thousand, NULL));
}

static int unwound;

static int slow_cleanup(void *arg)
{
    (void)arg;
    int rc = corio_sleep(10);
    if (rc == -ECANCELED) {
        corio_sleep(0.005); /* cleanup takes a while */
        unwound = 1;
    }
    return rc;
}

static int join_waits(void *arg)
{
    (void)arg;
    unwound = 0;
    corio_task *target = corio_spawn(slow_cleanup, NULL);
    struct joiner_arg j = {corio_task_ref(target), 1};
    corio_task *jt = corio_spawn(joiner, &j);
    ASSERT_OK(corio_sleep(0.001));
    corio_cancel(jt);
    ASSERT_TRUE(corio_task_cancelling(jt));
    ASSERT_ERR(corio_join(jt), -ECANCELED);
    /* The joiner returned only once the joined task had unwound. */
    ASSERT_EQ(unwound, 1);
    ASSERT_TRUE(corio_task_done(target));
    corio_task_unref(target);
    return 0;
}

TEST(a_cancelled_join_waits_for_the_joined_task_to_unwind)
{
    ASSERT_OK(corio_run(join_waits, NULL));
}

/* SPDX-License-Identifier: MIT */
/* Cancel scopes and deadlines, rule by rule (docs/guide/cancellation.md
 * states them): -ETIMEDOUT for an expired open scope, -ECANCELED for a
 * cancelled one or an outer cancellation, level-triggered inside a scope,
 * nesting, moving deadlines, shields, and the races asyncio got wrong. */
#include "harness.h"

#include <corio.h>
#include <math.h>

#include "th_corio.h"

#define RUN(fn) ASSERT_OK(corio_run(fn, NULL))

static int basic(void *arg)
{
    (void)arg;
    corio_scope s;
    double t0 = corio_time();
    ASSERT_OK(corio_scope_enter(&s, 0.01));
    ASSERT_ERR(corio_sleep(10), -ETIMEDOUT);
    ASSERT_TRUE(corio_scope_expired(&s));
    ASSERT_ERR(corio_scope_exit(&s), -ETIMEDOUT);
    double dt = corio_time() - t0;
    ASSERT_GE(dt, 0.01 - 1e-9);
    ASSERT_LT(dt, 1.0);
    ASSERT_TRUE(corio_scope_expired(&s)); /* still known afterwards */
    /* Outside the scope, suspensions work again. */
    ASSERT_OK(corio_sleep(0.001));
    return 0;
}

TEST(an_expired_scope_times_out_its_suspensions)
{
    RUN(basic);
}

static int unexpired(void *arg)
{
    (void)arg;
    corio_scope s;
    ASSERT_OK(corio_scope_enter(&s, 1.0));
    ASSERT_OK(corio_sleep(0.001));
    ASSERT_OK(corio_scope_exit(&s));
    ASSERT_FALSE(corio_scope_expired(&s));
    ASSERT_FALSE(corio_scope_cancelled(&s));
    /* No deadline at all. */
    ASSERT_OK(corio_scope_enter(&s, -1));
    ASSERT_TRUE(isinf(corio_scope_deadline(&s)));
    ASSERT_OK(corio_sleep(0.001));
    ASSERT_OK(corio_scope_exit(&s));
    return 0;
}

TEST(a_scope_that_does_not_expire_exits_with_0)
{
    RUN(unexpired);
}

static int level(void *arg)
{
    (void)arg;
    corio_scope s;
    ASSERT_OK(corio_scope_enter(&s, 0.001));
    ASSERT_ERR(corio_sleep(1), -ETIMEDOUT);
    /* Every later suspension in the scope fails too, until it closes. */
    ASSERT_ERR(corio_yield(), -ETIMEDOUT);
    ASSERT_ERR(corio_sleep(0.001), -ETIMEDOUT);
    ASSERT_ERR(corio_scope_exit(&s), -ETIMEDOUT);
    ASSERT_OK(corio_yield());
    return 0;
}

TEST(scope_expiry_is_level_triggered)
{
    RUN(level);
}

static int nested_inner(void *arg)
{
    (void)arg;
    corio_scope outer, inner;
    ASSERT_OK(corio_scope_enter(&outer, 1.0));
    ASSERT_OK(corio_scope_enter(&inner, 0.005));
    ASSERT_ERR(corio_sleep(10), -ETIMEDOUT);
    ASSERT_ERR(corio_scope_exit(&inner), -ETIMEDOUT);
    /* The outer scope is unaffected. */
    ASSERT_OK(corio_sleep(0.001));
    ASSERT_OK(corio_scope_exit(&outer));
    ASSERT_FALSE(corio_scope_expired(&outer));
    return 0;
}

TEST(nested_scopes_the_inner_one_expires)
{
    RUN(nested_inner);
}

static int nested_outer(void *arg)
{
    (void)arg;
    corio_scope outer, inner;
    ASSERT_OK(corio_scope_enter(&outer, 0.005));
    ASSERT_OK(corio_scope_enter(&inner, 10));
    /* The innermost expired deadline is the outer one's: -ETIMEDOUT. */
    ASSERT_ERR(corio_sleep(10), -ETIMEDOUT);
    ASSERT_OK(corio_scope_exit(&inner)); /* inner did not expire */
    ASSERT_FALSE(corio_scope_expired(&inner));
    ASSERT_ERR(corio_yield(), -ETIMEDOUT);
    ASSERT_ERR(corio_scope_exit(&outer), -ETIMEDOUT);
    return 0;
}

TEST(nested_scopes_the_outer_one_expires)
{
    RUN(nested_outer);
}

static int exits(void *arg)
{
    (void)arg;
    corio_scope a, b;
    ASSERT_OK(corio_scope_enter(&a, 1));
    ASSERT_OK(corio_scope_enter(&b, 1));
    ASSERT_ERR(corio_scope_exit(&a), -EINVAL); /* not the innermost */
    ASSERT_OK(corio_scope_exit(&b));
    ASSERT_OK(corio_scope_exit(&a));
    ASSERT_ERR(corio_scope_exit(&a), -EINVAL); /* closed */
    ASSERT_ERR(corio_scope_enter(&a, NAN), -EINVAL);
    ASSERT_ERR(corio_scope_enter(NULL, 1), -EINVAL);
    return 0;
}

TEST(scopes_close_innermost_first)
{
    RUN(exits);
    corio_scope s;
    ASSERT_ERR(corio_scope_enter(&s, 1), -EPERM);
}

static int moved(void *arg)
{
    (void)arg;
    corio_scope s;
    ASSERT_OK(corio_scope_enter(&s, 0.005));
    ASSERT_OK(corio_scope_set_timeout(&s, 1.0)); /* later */
    ASSERT_OK(corio_sleep(0.01));
    ASSERT_OK(corio_scope_set_deadline(&s, corio_time() + 0.005));
    ASSERT_ERR(corio_sleep(1), -ETIMEDOUT);
    ASSERT_ERR(corio_scope_set_deadline(&s, NAN), -EINVAL);
    ASSERT_ERR(corio_scope_exit(&s), -ETIMEDOUT);
    ASSERT_ERR(corio_scope_set_timeout(&s, 1), -EINVAL); /* closed */
    return 0;
}

TEST(a_deadline_can_move_while_the_scope_is_open)
{
    RUN(moved);
}

static corio_scope *remote;

static int parked_in_scope(void *arg)
{
    (void)arg;
    corio_scope s;
    remote = &s;
    corio_scope_enter(&s, 100);
    int rc = corio_sleep(100);
    int ex = corio_scope_exit(&s);
    remote = NULL;
    return rc == ex ? rc : -1000;
}

static int move_remote(void *arg)
{
    (void)arg;
    corio_task *t = corio_spawn(parked_in_scope, NULL);
    ASSERT_OK(corio_sleep(0.002));
    double t0 = corio_time();
    /* Another task moves the parked task's deadline to the past. */
    ASSERT_OK(corio_scope_set_deadline(remote, corio_time()));
    ASSERT_ERR(corio_join(t), -ETIMEDOUT);
    ASSERT_LT(corio_time() - t0, 0.5);
    return 0;
}

TEST(moving_a_parked_tasks_deadline_earlier_wakes_it)
{
    /* On virtual time the wake takes no time, however slow the run; a
     * deadline not re-armed would jump the clock by 100 s. */
    ASSERT_OK(th_run_virtual(move_remote, NULL));
}

static int cancel_remote(void *arg)
{
    (void)arg;
    corio_task *t = corio_spawn(parked_in_scope, NULL);
    ASSERT_OK(corio_sleep(0.002));
    corio_scope_cancel(remote);
    ASSERT_ERR(corio_join(t), -ECANCELED);
    return 0;
}

TEST(cancelling_a_scope_cancels_the_suspension_inside)
{
    RUN(cancel_remote);
}

static int cancel_self_scope(void *arg)
{
    (void)arg;
    corio_scope s;
    ASSERT_OK(corio_scope_enter(&s, -1));
    corio_scope_cancel(&s);
    ASSERT_TRUE(corio_scope_cancelled(&s));
    ASSERT_ERR(corio_yield(), -ECANCELED);
    ASSERT_ERR(corio_sleep(1), -ECANCELED);
    ASSERT_ERR(corio_scope_exit(&s), -ECANCELED);
    ASSERT_FALSE(corio_scope_expired(&s));
    ASSERT_OK(corio_yield()); /* the task itself is not cancelled */
    return 0;
}

TEST(a_cancelled_scope_is_cancelled_until_it_closes)
{
    RUN(cancel_self_scope);
}

static int at_deadline(void *arg)
{
    (void)arg;
    corio_scope s;
    double when = corio_time() + 0.005;
    ASSERT_OK(corio_scope_enter_at(&s, when));
    ASSERT_NEAR(corio_scope_deadline(&s), when, 1e-6);
    ASSERT_ERR(corio_sleep(1), -ETIMEDOUT);
    ASSERT_GE(corio_time(), when);
    ASSERT_ERR(corio_scope_exit(&s), -ETIMEDOUT);
    /* A deadline in the past fails the first suspension, even a yield. */
    ASSERT_OK(corio_scope_enter_at(&s, corio_time() - 1));
    ASSERT_ERR(corio_yield(), -ETIMEDOUT);
    ASSERT_ERR(corio_scope_exit(&s), -ETIMEDOUT);
    ASSERT_OK(corio_scope_enter_at(&s, INFINITY));
    ASSERT_OK(corio_scope_exit(&s));
    return 0;
}

TEST(absolute_deadlines)
{
    RUN(at_deadline);
}

/* Absolute times far from 0, where when * 1e9 rounds: corio_time() when
 * the deadline or the callback comes is never below the time asked for.
 * Virtual time lands the clock exactly on each deadline, so a nanosecond
 * short shows. */
enum { NWHEN = 300 };

static double when_at(int i)
{
    /* About 12 days on: 0.125 ns between doubles. */
    return 1e6 + i * 1.0009765625e-3 + (i * 7919 % 1000) * 1.37e-12;
}

static int n_early;

static void at_callback(void *arg)
{
    if (corio_time() < *(double *)arg)
        n_early++;
}

static void stop_cb(void *arg)
{
    corio_loop_stop(arg);
}

static int far_deadlines(void *arg)
{
    (void)arg;
    for (int i = 0; i < NWHEN; i++) {
        corio_scope s;
        double when = when_at(i);
        ASSERT_OK(corio_scope_enter_at(&s, when));
        ASSERT_ERR(corio_sleep(1e9), -ETIMEDOUT);
        if (corio_time() < when)
            n_early++;
        ASSERT_ERR(corio_scope_exit(&s), -ETIMEDOUT);
    }
    return 0;
}

TEST(absolute_times_are_never_early_far_from_0)
{
    corio_loop_opts o = {.virtual_time = true};
    corio_loop *loop = corio_loop_new(&o);
    ASSERT_NOT_NULL(loop);
    static double whens[NWHEN];
    n_early = 0;
    for (int i = 0; i < NWHEN; i++) {
        whens[i] = when_at(i) + 1e3;
        ASSERT_OK(corio_loop_call_at(loop, whens[i], at_callback, &whens[i],
                                     NULL));
    }
    corio_task *t = corio_loop_spawn(loop, far_deadlines, NULL, NULL);
    ASSERT_NOT_NULL(t);
    ASSERT_OK(corio_loop_run_until_complete(loop, t));
    corio_task_unref(t);
    ASSERT_EQ(n_early, 0);
    ASSERT_OK(corio_loop_call_later(loop, 2e3, stop_cb, loop, NULL));
    ASSERT_OK(corio_loop_run_forever(loop));
    ASSERT_EQ(n_early, 0);
    ASSERT_OK(corio_loop_close(loop));
}

static int no_suspension(void *arg)
{
    (void)arg;
    corio_scope s;
    ASSERT_OK(corio_scope_enter(&s, 0.001));
    double t0 = th_now();
    while (th_now() - t0 < 0.005)
        ;
    /* Nothing suspended inside after the deadline: like asyncio.timeout,
     * the scope did not expire. */
    ASSERT_OK(corio_scope_exit(&s));
    ASSERT_FALSE(corio_scope_expired(&s));
    return 0;
}

TEST(a_deadline_passed_without_a_suspension_does_not_expire)
{
    RUN(no_suspension);
}

/* ---- shields ---- */

static int shield_body(void *arg)
{
    int *phase = arg;
    corio_scope s;
    ASSERT_OK(corio_scope_enter(&s, -1));
    ASSERT_OK(corio_scope_shield(&s, true));
    *phase = 1;
    /* Cancelled while shielded: the cleanup finishes. */
    int rc = corio_sleep(0.02);
    *phase = 2;
    ASSERT_OK(rc);
    ASSERT_OK(corio_scope_exit(&s));
    /* The cancellation was held, and arrives at the next suspension. */
    return corio_sleep(10);
}

static int shielded(void *arg)
{
    (void)arg;
    int phase = 0;
    corio_task *t = corio_spawn(shield_body, &phase);
    ASSERT_OK(corio_sleep(0.002));
    ASSERT_EQ(phase, 1);
    corio_cancel(t);
    ASSERT_ERR(corio_join(t), -ECANCELED);
    ASSERT_EQ(phase, 2);
    return 0;
}

TEST(a_shield_holds_off_outer_cancellation)
{
    RUN(shielded);
}

static int shield_deadline(void *arg)
{
    (void)arg;
    corio_scope outer, sh;
    ASSERT_OK(corio_scope_enter(&outer, 0.002));
    ASSERT_OK(corio_scope_enter(&sh, 0.02));
    ASSERT_OK(corio_scope_shield(&sh, true));
    double t0 = corio_time();
    /* The outer deadline does not reach in; the shield's own does. */
    ASSERT_ERR(corio_sleep(10), -ETIMEDOUT);
    ASSERT_GE(corio_time() - t0, 0.015 - 1e-9);
    ASSERT_ERR(corio_scope_exit(&sh), -ETIMEDOUT);
    ASSERT_ERR(corio_yield(), -ETIMEDOUT); /* now the outer one applies */
    ASSERT_ERR(corio_scope_exit(&outer), -ETIMEDOUT);
    return 0;
}

TEST(a_shielded_scope_keeps_its_own_deadline)
{
    RUN(shield_deadline);
}

static corio_scope *shield_remote;

static int lowers(void *arg)
{
    (void)arg;
    corio_scope s;
    shield_remote = &s;
    corio_scope_enter(&s, -1);
    corio_scope_shield(&s, true);
    int rc = corio_sleep(10);
    corio_scope_exit(&s);
    return rc;
}

static int lower_shield(void *arg)
{
    (void)arg;
    corio_task *t = corio_spawn(lowers, NULL);
    ASSERT_OK(corio_sleep(0.001));
    corio_cancel(t);
    ASSERT_OK(corio_sleep(0.002));
    ASSERT_FALSE(corio_task_done(t));
    /* Lowering the shield lets the held cancellation through. */
    ASSERT_OK(corio_scope_shield(shield_remote, false));
    ASSERT_ERR(corio_join(t), -ECANCELED);
    return 0;
}

TEST(lowering_a_shield_delivers_a_held_cancellation)
{
    RUN(lower_shield);
}

/* ---- every suspending call honours scopes ---- */

static int forever(void *arg)
{
    (void)arg;
    return corio_sleep(100);
}

static int all_calls(void *arg)
{
    (void)arg;
    corio_scope s;
    corio_task *t = corio_spawn(forever, NULL);

    ASSERT_OK(corio_scope_enter(&s, 0.002));
    ASSERT_ERR(corio_join(corio_task_ref(t)), -ETIMEDOUT);
    corio_scope_exit(&s);
    /* join cancels the task it waited for, as in asyncio. */
    ASSERT_ERR(corio_join(t), -ECANCELED);

    corio_future *f = corio_future_new(NULL);
    ASSERT_OK(corio_scope_enter(&s, 0.002));
    ASSERT_ERR(corio_future_await(f, NULL), -ETIMEDOUT);
    corio_scope_exit(&s);
    corio_future_unref(f);

    corio_call c = {forever, NULL, 0};
    ASSERT_OK(corio_scope_enter(&s, 0.002));
    ASSERT_ERR(corio_gather(&c, 1, 0), -ETIMEDOUT);
    corio_scope_exit(&s);
    ASSERT_ERR(c.result, -ECANCELED);

    corio_task *u = corio_spawn(forever, NULL);
    ASSERT_OK(corio_scope_enter(&s, 0.002));
    ASSERT_ERR(corio_wait(&u, 1, CORIO_ALL_COMPLETED, -1), -ETIMEDOUT);
    corio_scope_exit(&s);
    ASSERT_FALSE(corio_task_done(u)); /* wait cancels nothing */
    corio_cancel(u);
    ASSERT_ERR(corio_join(u), -ECANCELED);

    ASSERT_OK(corio_scope_enter(&s, 0.002));
    ASSERT_ERR(corio_wait_for(corio_spawn(forever, NULL), 10), -ETIMEDOUT);
    corio_scope_exit(&s);
    return 0;
}

TEST(every_suspending_call_honours_the_deadline)
{
    RUN(all_calls);
}

static void set_now(void *arg)
{
    corio_future_set_result(arg, (void *)1);
}

static int race(void *arg)
{
    (void)arg;
    /* The result and the deadline arrive in the same loop iteration: the
     * result is not lost. */
    for (int i = 0; i < 100; i++) {
        corio_future *f = corio_future_new(NULL);
        corio_scope s;
        ASSERT_OK(corio_scope_enter(&s, 0.001));
        ASSERT_OK(corio_loop_call_later(corio_loop_current(), 0.001, set_now,
                                        f, NULL));
        void *v = NULL;
        int rc = corio_future_await(f, &v);
        int ex = corio_scope_exit(&s);
        if (rc == 0)
            ASSERT_PTR_EQ(v, (void *)1);
        else
            ASSERT_ERR(rc, -ETIMEDOUT);
        (void)ex;
        /* Let the callback run if the timeout won. */
        ASSERT_OK(corio_sleep(0.002));
        ASSERT_TRUE(corio_future_done(f));
        corio_future_unref(f);
    }
    return 0;
}

TEST(a_result_at_the_moment_of_the_deadline_is_not_lost)
{
    RUN(race);
}

static int cancel_and_timeout(void *arg)
{
    (void)arg;
    corio_scope s;
    ASSERT_OK(corio_scope_enter(&s, 0.002));
    double t0 = th_now();
    while (th_now() - t0 < 0.004)
        ;
    corio_cancel(corio_current());
    /* Both pending: the innermost expired scope reports first, and the
     * task's cancellation is not lost: it comes once the scope closes. */
    ASSERT_ERR(corio_yield(), -ETIMEDOUT);
    ASSERT_ERR(corio_scope_exit(&s), -ETIMEDOUT);
    ASSERT_ERR(corio_yield(), -ECANCELED);
    ASSERT_OK(corio_yield());
    return 0;
}

TEST_OPTS(a_timeout_and_a_cancellation_together_lose_neither, .labels = "order")
{
    RUN(cancel_and_timeout);
}

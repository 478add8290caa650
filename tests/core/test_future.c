/* SPDX-License-Identifier: MIT */
/* Futures: set_result, set_error, cancel, await, done callbacks, and the
 * cancellation rules shared with tasks. */
#include "harness.h"

#include <corio.h>

#include "th_corio.h"

static int value = 42;

struct setter {
    corio_future *f;
    double delay;
    int err;
};

static int set_later(void *arg)
{
    struct setter *s = arg;
    if (corio_sleep(s->delay) < 0)
        return -1;
    if (s->err)
        return corio_future_set_error(s->f, s->err);
    return corio_future_set_result(s->f, &value);
}

static int await_result(void *arg)
{
    (void)arg;
    corio_future *f = corio_future_new(NULL);
    ASSERT_NOT_NULL(f);
    ASSERT_FALSE(corio_future_done(f));
    void *v = NULL;
    ASSERT_ERR(corio_future_result(f, &v), -EAGAIN);
    struct setter s = {f, 0.002, 0};
    corio_task *t = corio_spawn(set_later, &s);
    ASSERT_OK(corio_future_await(f, &v));
    ASSERT_PTR_EQ(v, &value);
    ASSERT_TRUE(corio_future_done(f));
    ASSERT_FALSE(corio_future_cancelled(f));
    /* Awaiting a done future returns at once, as often as asked. */
    ASSERT_OK(corio_future_await(f, &v));
    ASSERT_OK(corio_join(t));
    ASSERT_ERR(corio_future_set_result(f, NULL), -EINVAL); /* done */
    ASSERT_ERR(corio_future_set_error(f, -EIO), -EINVAL);
    ASSERT_FALSE(corio_future_cancel(f));
    corio_future_unref(f);
    return 0;
}

TEST(await_a_result)
{
    ASSERT_OK(corio_run(await_result, NULL));
}

static int await_error(void *arg)
{
    (void)arg;
    corio_future *f = corio_future_new(NULL);
    struct setter s = {f, 0.001, -EIO};
    corio_task *t = corio_spawn(set_later, &s);
    ASSERT_ERR(corio_future_await(f, NULL), -EIO);
    ASSERT_ERR(corio_future_result(f, NULL), -EIO);
    ASSERT_OK(corio_join(t));
    corio_future_unref(f);
    return 0;
}

TEST(await_an_error)
{
    ASSERT_OK(corio_run(await_error, NULL));
}

TEST(set_error_needs_a_negative_value)
{
    corio_loop *loop = corio_loop_new(NULL);
    corio_future *f = corio_future_new(loop);
    ASSERT_ERR(corio_future_set_error(f, 0), -EINVAL);
    ASSERT_ERR(corio_future_set_error(f, 3), -EINVAL);
    ASSERT_FALSE(corio_future_done(f));
    corio_future_unref(f);
    ASSERT_OK(corio_loop_close(loop));
}

TEST(future_outside_a_loop)
{
    errno = 0;
    ASSERT_NULL(corio_future_new(NULL));
    ASSERT_EQ(errno, EPERM);
    corio_loop *loop = corio_loop_new(NULL);
    corio_future *f = corio_future_new(loop);
    ASSERT_ERR(corio_future_await(f, NULL), -EPERM); /* pending */
    ASSERT_OK(corio_future_set_result(f, &value));
    void *v;
    ASSERT_OK(corio_future_await(f, &v)); /* done: no suspension */
    ASSERT_PTR_EQ(v, &value);
    ASSERT_PTR_EQ(corio_future_ref(f), f);
    corio_future_unref(f);
    corio_future_unref(f);
    corio_future_unref(NULL);
    ASSERT_ERR(corio_future_await(NULL, NULL), -EINVAL);
    ASSERT_OK(corio_loop_close(loop));
}

static int await_cancelled(void *arg)
{
    (void)arg;
    corio_future *f = corio_future_new(NULL);
    ASSERT_TRUE(corio_future_cancel(f));
    ASSERT_TRUE(corio_future_cancelled(f));
    ASSERT_ERR(corio_future_await(f, NULL), -ECANCELED);
    corio_future_unref(f);
    return 0;
}

TEST(await_a_cancelled_future)
{
    ASSERT_OK(corio_run(await_cancelled, NULL));
}

static int awaiter(void *arg)
{
    return corio_future_await(arg, NULL);
}

static int cancel_awaiter(void *arg)
{
    (void)arg;
    corio_future *f = corio_future_new(NULL);
    corio_task *t = corio_spawn(awaiter, f);
    ASSERT_OK(corio_yield());
    corio_cancel(t);
    ASSERT_ERR(corio_join(t), -ECANCELED);
    /* asyncio: cancelling a task that awaits a future cancels it. */
    ASSERT_TRUE(corio_future_cancelled(f));
    corio_future_unref(f);
    return 0;
}

TEST_OPTS(cancelling_the_awaiting_task_cancels_the_future, .labels = "order")
{
    ASSERT_OK(corio_run(cancel_awaiter, NULL));
}

static int result_beats_cancel(void *arg)
{
    (void)arg;
    corio_future *f = corio_future_new(NULL);
    corio_task *t = corio_spawn(awaiter, f);
    ASSERT_OK(corio_yield());
    /* Set the result, then cancel before the awaiter runs: it gets the
     * result, and the cancellation waits for its next suspension. */
    ASSERT_OK(corio_future_set_result(f, &value));
    corio_cancel(t);
    ASSERT_OK(corio_join(t));
    ASSERT_FALSE(corio_future_cancelled(f));
    corio_future_unref(f);
    return 0;
}

TEST_OPTS(a_result_set_before_a_cancel_is_not_lost, .labels = "order")
{
    ASSERT_OK(corio_run(result_beats_cancel, NULL));
}

static int many_awaiters(void *arg)
{
    (void)arg;
    corio_future *f = corio_future_new(NULL);
    corio_task *t[5];
    for (int i = 0; i < 5; i++)
        t[i] = corio_spawn(awaiter, f);
    ASSERT_OK(corio_yield());
    ASSERT_OK(corio_future_set_error(f, -EPIPE));
    for (int i = 0; i < 5; i++)
        ASSERT_ERR(corio_join(t[i]), -EPIPE);
    corio_future_unref(f);
    return 0;
}

TEST(every_awaiter_sees_the_outcome)
{
    ASSERT_OK(corio_run(many_awaiters, NULL));
}

static int cb_calls;
static corio_future *cb_future;

static void done_cb(corio_future *f, void *arg)
{
    ASSERT_PTR_EQ(f, cb_future);
    ASSERT_TRUE(corio_future_done(f));
    cb_calls += (int)(intptr_t)arg;
}

static int callbacks(void *arg)
{
    (void)arg;
    cb_calls = 0;
    corio_future *f = cb_future = corio_future_new(NULL);
    ASSERT_OK(corio_future_add_done_callback(f, done_cb, (void *)1));
    ASSERT_OK(corio_future_add_done_callback(f, done_cb, (void *)10));
    ASSERT_OK(corio_future_add_done_callback(f, done_cb, (void *)10));
    ASSERT_EQ(corio_future_remove_done_callback(f, done_cb, (void *)10), 2);
    ASSERT_EQ(corio_future_remove_done_callback(f, done_cb, (void *)7), 0);
    ASSERT_OK(corio_future_set_result(f, NULL));
    /* Done callbacks are scheduled, not called from set_result. */
    ASSERT_EQ(cb_calls, 0);
    ASSERT_OK(corio_yield());
    ASSERT_EQ(cb_calls, 1);
    /* Added after completion: scheduled at once. */
    ASSERT_OK(corio_future_add_done_callback(f, done_cb, (void *)100));
    ASSERT_EQ(cb_calls, 1);
    ASSERT_OK(corio_yield());
    ASSERT_EQ(cb_calls, 101);
    ASSERT_ERR(corio_future_add_done_callback(f, NULL, NULL), -EINVAL);
    corio_future_unref(f);
    return 0;
}

TEST_OPTS(done_callbacks_run_from_the_loop, .labels = "order")
{
    ASSERT_OK(corio_run(callbacks, NULL));
}

static int cb_outlives_ref(void *arg)
{
    (void)arg;
    cb_calls = 0;
    corio_future *f = cb_future = corio_future_new(NULL);
    ASSERT_OK(corio_future_add_done_callback(f, done_cb, (void *)1));
    ASSERT_TRUE(corio_future_cancel(f));
    /* The queued callback holds the future. */
    corio_future_unref(f);
    ASSERT_OK(corio_yield());
    ASSERT_EQ(cb_calls, 1);
    /* A future dropped while pending frees its registrations. */
    corio_future *g = corio_future_new(NULL);
    ASSERT_OK(corio_future_add_done_callback(g, done_cb, (void *)1));
    corio_future_unref(g);
    return 0;
}

TEST_OPTS(a_queued_callback_keeps_its_future, .labels = "order")
{
    ASSERT_OK(corio_run(cb_outlives_ref, NULL));
}

static void set_from_callback(void *arg)
{
    corio_future_set_result(arg, &value);
}

static int callback_sets(void *arg)
{
    (void)arg;
    corio_future *f = corio_future_new(NULL);
    ASSERT_OK(corio_loop_call_later(corio_loop_current(), 0.002,
                                    set_from_callback, f, NULL));
    void *v;
    ASSERT_OK(corio_future_await(f, &v));
    ASSERT_PTR_EQ(v, &value);
    corio_future_unref(f);
    return 0;
}

TEST(a_loop_callback_completes_a_future)
{
    ASSERT_OK(corio_run(callback_sets, NULL));
}

static int drop_while_awaited_task(void *arg)
{
    corio_future *f = arg;
    int rc = corio_future_await(f, NULL);
    return rc;
}

static int drop_while_awaited(void *arg)
{
    (void)arg;
    corio_future *f = corio_future_new(NULL);
    corio_task *t = corio_spawn(drop_while_awaited_task, f);
    /* Until t awaits f: had it not started, the unrefs below would free f
     * before t used it (CORIO_SEED may resume us first). */
    th_yield_until_parked(t, "future");
    /* The awaiter holds its own reference while it waits. */
    corio_future *keep = corio_future_ref(f);
    corio_future_unref(f);
    ASSERT_OK(corio_future_set_result(keep, NULL));
    corio_future_unref(keep);
    ASSERT_OK(corio_join(t));
    return 0;
}

TEST(await_holds_a_reference)
{
    ASSERT_OK(corio_run(drop_while_awaited, NULL));
}

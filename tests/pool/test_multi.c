/* SPDX-License-Identifier: MIT */
/* One loop per core: corio_multi, calls across loops (exactly once, in
 * order, cancellation reaches the remote task), run_coroutine_threadsafe
 * from plain threads, and channels between loops (every item exactly
 * once, in order per sender; a cancelled receive takes nothing). Every
 * case runs under TSan (label threads). */
#include "harness.h"

#include <corio.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "core/testing.h"

/* Until *flag is set by another thread, for at most 10 s. */
static void wait_for_flag(atomic_int *flag)
{
    double until = th_now() + 10;
    while (!atomic_load(flag) && th_now() < until) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    ASSERT_EQ(atomic_load(flag), 1);
}

/* ---- corio_multi ---- */

static atomic_int seen_mask;

static int mark_loop(void *arg)
{
    (void)arg;
    int i = corio_multi_index();
    ASSERT_GE(i, 0);
    atomic_fetch_or(&seen_mask, 1 << i);
    return corio_sleep(0.001);
}

TEST(multi_run_runs_main_on_every_loop)
{
    corio_multi_opts o = {.loops = 3};
    ASSERT_OK(corio_multi_run(&o, mark_loop, NULL));
    ASSERT_EQ(atomic_load(&seen_mask), 7);
    ASSERT_ERR(corio_multi_index(), -EPERM);
}

static int fail_on_one(void *arg)
{
    (void)arg;
    return corio_multi_index() == 1 ? -ENOSPC : 0;
}

TEST(multi_run_returns_the_first_failure)
{
    corio_multi_opts o = {.loops = 2};
    ASSERT_ERR(corio_multi_run(&o, fail_on_one, NULL), -ENOSPC);
}

TEST(multi_defaults_to_one_loop_per_cpu)
{
    corio_multi *m = corio_multi_new(NULL);
    ASSERT_NOT_NULL(m);
    cpu_set_t set;
    sched_getaffinity(0, sizeof set, &set);
    ASSERT_EQ(corio_multi_size(m), (unsigned)CPU_COUNT(&set));
    ASSERT_NOT_NULL(corio_multi_loop(m, 0));
    ASSERT_NULL(corio_multi_loop(m, corio_multi_size(m)));
    ASSERT_OK(corio_multi_close(m));
}

static atomic_int sleeping; /* sleeps_forever has begun */

static int sleeps_forever(void *arg)
{
    atomic_int *cancelled = arg;
    atomic_store(&sleeping, 1);
    int rc = corio_sleep(3600);
    if (rc == -ECANCELED)
        atomic_store(cancelled, 1);
    return rc;
}

TEST(multi_close_cancels_the_tasks_left_and_waits_for_them)
{
    corio_multi_opts o = {.loops = 2, .pin = true};
    corio_multi *m = corio_multi_new(&o);
    ASSERT_NOT_NULL(m);
    atomic_int cancelled = 0;
    atomic_store(&sleeping, 0);
    corio_submission *s =
        corio_loop_submit(corio_multi_loop(m, 1), sleeps_forever, &cancelled);
    ASSERT_NOT_NULL(s);
    int r;
    ASSERT_ERR(corio_submission_wait(s, 0.02, &r), -ETIMEDOUT);
    /* Until the task runs (a loaded machine may start it late; one that
     * never started is cancelled without running). */
    wait_for_flag(&sleeping);
    ASSERT_OK(corio_multi_close(m));
    ASSERT_EQ(atomic_load(&cancelled), 1);
    ASSERT_OK(corio_submission_wait(s, -1, &r));
    ASSERT_ERR(r, -ECANCELED);
    corio_submission_free(s);
}

/* ---- run_coroutine_threadsafe ---- */

static int twice(void *arg)
{
    int *v = arg;
    corio_sleep(0.001);
    return *v * 2;
}

TEST(submit_from_a_plain_thread_and_wait)
{
    corio_multi_opts o = {.loops = 1};
    corio_multi *m = corio_multi_new(&o);
    int v = 21, r = 0;
    corio_submission *s = corio_loop_submit(corio_multi_loop(m, 0), twice, &v);
    ASSERT_NOT_NULL(s);
    ASSERT_OK(corio_submission_wait(s, 10, &r));
    ASSERT_EQ(r, 42);
    ASSERT_TRUE(corio_submission_done(s));
    ASSERT_ERR(corio_submission_cancel(s), -EALREADY);
    corio_submission_free(s);
    ASSERT_OK(corio_multi_close(m));
}

TEST(submit_cancel_cancels_the_task)
{
    corio_multi_opts o = {.loops = 1};
    corio_multi *m = corio_multi_new(&o);
    atomic_int cancelled = 0;
    atomic_store(&sleeping, 0);
    corio_submission *s =
        corio_loop_submit(corio_multi_loop(m, 0), sleeps_forever, &cancelled);
    int r = 0;
    ASSERT_ERR(corio_submission_wait(s, 0.01, &r), -ETIMEDOUT);
    wait_for_flag(&sleeping); /* as above */
    ASSERT_OK(corio_submission_cancel(s));
    ASSERT_OK(corio_submission_wait(s, 10, &r));
    ASSERT_ERR(r, -ECANCELED);
    ASSERT_EQ(atomic_load(&cancelled), 1);
    corio_submission_free(s);
    ASSERT_OK(corio_multi_close(m));
}

static int wait_self(void *arg)
{
    (void)arg;
    int v = 1, r;
    corio_submission *s = corio_loop_submit(corio_loop_current(), twice, &v);
    /* Blocking on the loop's own thread could never end. */
    ASSERT_ERR(corio_submission_wait(s, -1, &r), -EDEADLK);
    /* Once it is done, waiting returns its result. */
    double until = th_now() + 10;
    while (!corio_submission_done(s) && th_now() < until)
        ASSERT_OK(corio_sleep(0.001));
    ASSERT_OK(corio_submission_wait(s, -1, &r));
    ASSERT_EQ(r, 2);
    corio_submission_free(s);
    return 0;
}

TEST(submit_wait_on_the_loops_own_thread_is_edeadlk)
{
    ASSERT_OK(corio_run(wait_self, NULL));
}

TEST(submit_fails_cleanly_without_memory)
{
    corio_loop *loop = corio_loop_new(NULL);
    int v = 1;
    corio__fault_alloc(1);
    ASSERT_NULL(corio_loop_submit(loop, twice, &v));
    ASSERT_EQ(errno, ENOMEM);
    corio__fault_alloc(2);
    ASSERT_NULL(corio_loop_submit(loop, twice, &v));
    corio__fault_alloc(0);
    ASSERT_OK(corio_loop_close(loop));
}

/* ---- corio_loop_call ---- */

struct order {
    corio_loop *owner; /* the loop whose tasks may touch the list */
    int log[1000];
    int n;
};

static struct order order;

struct append_arg {
    int value;
};

static int append(void *arg)
{
    struct append_arg *a = arg;
    /* Only the owner loop's tasks run this: no lock needed. */
    ASSERT_PTR_EQ(corio_loop_current(), order.owner);
    order.log[order.n++] = a->value;
    return a->value;
}

static int caller(void *arg)
{
    corio_multi *m = arg;
    if (corio_multi_index() != 0)
        return 0;
    order.owner = corio_multi_loop(m, 1);
    for (int i = 0; i < 1000; i++) {
        struct append_arg a = {i};
        ASSERT_EQ(corio_loop_call(order.owner, append, &a), i);
    }
    return 0;
}

static corio_multi *the_multi;

static int caller_main(void *arg)
{
    (void)arg;
    return caller(the_multi);
}

TEST_OPTS(loop_calls_run_exactly_once_in_order_on_the_target,
          .labels = "threads")
{
    corio_multi_opts o = {.loops = 2};
    the_multi = corio_multi_new(&o);
    corio_submission *s =
        corio_loop_submit(corio_multi_loop(the_multi, 0), caller_main, NULL);
    int r = -1;
    ASSERT_OK(corio_submission_wait(s, 30, &r));
    ASSERT_OK(r);
    corio_submission_free(s);
    ASSERT_OK(corio_multi_close(the_multi));
    ASSERT_EQ(order.n, 1000);
    for (int i = 0; i < 1000; i++)
        ASSERT_EQ(order.log[i], i);
}

static atomic_int remote_started, remote_cancelled;

static int remote_sleeper(void *arg)
{
    (void)arg;
    atomic_store(&remote_started, 1);
    int rc = corio_sleep(3600);
    if (rc == -ECANCELED)
        atomic_store(&remote_cancelled, 1);
    return rc;
}

static int call_then_cancel(void *arg)
{
    corio_loop *target = arg;
    /* The deadline cancels the remote task, and the call waits for it.
     * A target loop slow to start the task (a loaded machine) lets the
     * deadline withdraw the call unstarted: then again, with a longer
     * one. */
    for (double timeout = 0.02;; timeout *= 10) {
        atomic_store(&remote_started, 0);
        atomic_store(&remote_cancelled, 0);
        corio_scope s;
        corio_scope_enter(&s, timeout);
        ASSERT_ERR(corio_loop_call(target, remote_sleeper, NULL),
                   -ETIMEDOUT);
        corio_scope_exit(&s);
        bool ran = atomic_load(&remote_started);
        ASSERT_EQ(atomic_load(&remote_cancelled), ran);
        if (ran)
            break;
        ASSERT_LT(timeout, 10);
    }
    return 0;
}

TEST(loop_call_cancellation_reaches_the_remote_task)
{
    corio_multi_opts o = {.loops = 2};
    corio_multi *m = corio_multi_new(&o);
    corio_submission *s = corio_loop_submit(corio_multi_loop(m, 0),
                                            call_then_cancel,
                                            corio_multi_loop(m, 1));
    int r = -1;
    ASSERT_OK(corio_submission_wait(s, 30, &r));
    ASSERT_OK(r);
    corio_submission_free(s);
    ASSERT_OK(corio_multi_close(m));
}

static int call_same_loop(void *arg)
{
    (void)arg;
    int v = 4;
    ASSERT_EQ(corio_loop_call(corio_loop_current(), twice, &v), 8);
    return 0;
}

TEST(loop_call_to_the_own_loop_is_spawn_and_join)
{
    ASSERT_OK(corio_run(call_same_loop, NULL));
}

TEST(loop_call_outside_a_task_is_eperm)
{
    corio_loop *loop = corio_loop_new(NULL);
    int v = 1;
    ASSERT_ERR(corio_loop_call(loop, twice, &v), -EPERM);
    ASSERT_ERR(corio_loop_call(NULL, twice, &v), -EINVAL);
    ASSERT_OK(corio_loop_close(loop));
}

/* ---- channels ---- */

enum { PRODUCERS = 3, ITEMS = 2000 };

static corio_xchan *chan;
static atomic_int got[PRODUCERS][ITEMS];
static atomic_int order_errors;

static int producer(void *arg)
{
    (void)arg;
    int me = corio_multi_index();
    if (me >= PRODUCERS)
        return 0;
    for (int i = 0; i < ITEMS; i++) {
        uintptr_t v = (uintptr_t)me << 20 | (uintptr_t)i;
        int rc = corio_xchan_send(chan, (void *)v);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int consumer(void *arg)
{
    int *count = arg;
    int last[PRODUCERS] = {-1, -1, -1};
    for (;;) {
        void *item;
        int rc = corio_xchan_recv(chan, &item);
        if (rc == -ESHUTDOWN)
            return 0;
        if (rc < 0)
            return rc;
        uintptr_t v = (uintptr_t)item;
        int p = (int)(v >> 20), i = (int)(v & 0xfffff);
        if (i <= last[p])
            atomic_fetch_add(&order_errors, 1);
        last[p] = i;
        atomic_fetch_add(&got[p][i], 1);
        (*count)++;
    }
}

TEST_OPTS(xchan_delivers_every_item_exactly_once_in_order,
          .labels = "threads")
{
    chan = corio_xchan_new(8);
    ASSERT_NOT_NULL(chan);
    corio_multi_opts o = {.loops = 4};
    corio_multi *m = corio_multi_new(&o);
    /* Consumers on loop 3 (two tasks) and on a plain thread's view is not
     * needed: loops 0-2 produce. */
    int c1 = 0, c2 = 0;
    corio_submission *cs1 =
        corio_loop_submit(corio_multi_loop(m, 3), consumer, &c1);
    corio_submission *cs2 =
        corio_loop_submit(corio_multi_loop(m, 3), consumer, &c2);
    corio_submission *ps[PRODUCERS];
    for (int i = 0; i < PRODUCERS; i++)
        ps[i] = corio_loop_submit(corio_multi_loop(m, (unsigned)i), producer,
                                  NULL);
    for (int i = 0; i < PRODUCERS; i++) {
        int r = -1;
        ASSERT_OK(corio_submission_wait(ps[i], 60, &r));
        ASSERT_OK(r);
        corio_submission_free(ps[i]);
    }
    corio_xchan_shutdown(chan);
    int r1 = -1, r2 = -1;
    ASSERT_OK(corio_submission_wait(cs1, 60, &r1));
    ASSERT_OK(corio_submission_wait(cs2, 60, &r2));
    ASSERT_OK(r1);
    ASSERT_OK(r2);
    corio_submission_free(cs1);
    corio_submission_free(cs2);
    ASSERT_OK(corio_multi_close(m));
    ASSERT_EQ(c1 + c2, PRODUCERS * ITEMS);
    ASSERT_EQ(atomic_load(&order_errors), 0);
    for (int p = 0; p < PRODUCERS; p++)
        for (int i = 0; i < ITEMS; i++)
            ASSERT_EQ(atomic_load(&got[p][i]), 1);
    corio_xchan_unref(chan);
}

static int recv_with_deadline(void *arg)
{
    corio_xchan *c = arg;
    corio_scope s;
    corio_scope_enter(&s, 0.01);
    void *item = NULL;
    ASSERT_ERR(corio_xchan_recv(c, &item), -ETIMEDOUT);
    corio_scope_exit(&s);
    /* The cancelled receive took nothing: the item sent next is ours. */
    ASSERT_OK(corio_xchan_try_send(c, (void *)1));
    ASSERT_OK(corio_xchan_recv(c, &item));
    ASSERT_PTR_EQ(item, (void *)1);
    ASSERT_ERR(corio_xchan_try_recv(c, &item), -EAGAIN);
    return 0;
}

TEST(xchan_a_cancelled_receive_takes_nothing)
{
    corio_xchan *c = corio_xchan_new(1);
    ASSERT_OK(corio_run(recv_with_deadline, c));
    corio_xchan_unref(c);
}

static int rendezvous_recv(void *arg)
{
    corio_xchan *c = arg;
    void *item;
    int rc = corio_xchan_recv(c, &item);
    return rc < 0 ? rc : (int)(uintptr_t)item;
}

static void *plain_sender(void *arg)
{
    corio_xchan *c = arg;
    while (corio_xchan_try_send(c, (void *)7) == -EAGAIN)
        sched_yield();
    return NULL;
}

TEST(xchan_try_calls_work_from_plain_threads)
{
    corio_xchan *c = corio_xchan_new(0);
    corio_multi_opts o = {.loops = 1};
    corio_multi *m = corio_multi_new(&o);
    corio_submission *s =
        corio_loop_submit(corio_multi_loop(m, 0), rendezvous_recv, c);
    pthread_t th;
    pthread_create(&th, NULL, plain_sender, c);
    int r = -1;
    ASSERT_OK(corio_submission_wait(s, 30, &r));
    ASSERT_EQ(r, 7);
    pthread_join(th, NULL);
    corio_submission_free(s);
    ASSERT_OK(corio_multi_close(m));
    corio_xchan_unref(c);
}

static int shutdown_main(void *arg)
{
    corio_xchan *c = arg;
    ASSERT_OK(corio_xchan_send(c, (void *)1));
    corio_xchan_shutdown(c);
    ASSERT_ERR(corio_xchan_send(c, (void *)2), -ESHUTDOWN);
    void *item;
    ASSERT_OK(corio_xchan_recv(c, &item)); /* drains first */
    ASSERT_ERR(corio_xchan_recv(c, &item), -ESHUTDOWN);
    return 0;
}

static int send_with_deadline(void *arg)
{
    corio_xchan *c = arg;
    ASSERT_OK(corio_xchan_send(c, (void *)1)); /* fills it */
    corio_scope s;
    corio_scope_enter(&s, 0.01);
    ASSERT_ERR(corio_xchan_send(c, (void *)2), -ETIMEDOUT);
    corio_scope_exit(&s);
    /* The cancelled send put nothing: only the first item is there. */
    void *item;
    ASSERT_OK(corio_xchan_try_recv(c, &item));
    ASSERT_PTR_EQ(item, (void *)1);
    ASSERT_ERR(corio_xchan_try_recv(c, &item), -EAGAIN);
    return 0;
}

TEST(xchan_a_cancelled_send_puts_nothing)
{
    corio_xchan *c = corio_xchan_new(1);
    ASSERT_PTR_EQ(corio_xchan_ref(c), c);
    ASSERT_OK(corio_run(send_with_deadline, c));
    corio_xchan_unref(c);
    corio_xchan_unref(c);
}

TEST(xchan_shutdown_drains_then_fails)
{
    corio_xchan *c = corio_xchan_new(4);
    ASSERT_OK(corio_run(shutdown_main, c));
    corio_xchan_unref(c);
}

TEST(xchan_outside_a_task_waits_for_nothing)
{
    corio_xchan *c = corio_xchan_new(1);
    void *item;
    ASSERT_ERR(corio_xchan_recv(c, &item), -EPERM);
    ASSERT_OK(corio_xchan_send(c, (void *)1));
    ASSERT_ERR(corio_xchan_send(c, (void *)2), -EPERM);
    corio_xchan_unref(c);
}

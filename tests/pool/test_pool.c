/* SPDX-License-Identifier: MIT */
/* Thread pools: to_thread and corio_pool_run return the function's
 * result; saturation queues work; cancellation withdraws queued work and
 * waits out running work, whose result is discarded; close fails queued
 * work; fault injection on every resource the first call acquires. Runs
 * under TSan (label threads). */
#include "harness.h"
#include "th_corio.h"

#include <corio.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "core/testing.h"

static void msleep(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static int add_one(void *arg)
{
    return *(int *)arg + 1;
}

static int to_thread_main(void *arg)
{
    (void)arg;
    int v = 41;
    ASSERT_EQ(corio_to_thread(add_one, &v), 42);
    ASSERT_ERR(corio_to_thread(NULL, &v), -EINVAL);
    return 0;
}

TEST(to_thread_returns_the_functions_result)
{
    ASSERT_OK(corio_run(to_thread_main, NULL));
}

static int fails(void *arg)
{
    (void)arg;
    return -ENOSPC;
}

static int error_main(void *arg)
{
    (void)arg;
    ASSERT_ERR(corio_to_thread(fails, NULL), -ENOSPC);
    return 0;
}

TEST(to_thread_passes_errors_through)
{
    ASSERT_OK(corio_run(error_main, NULL));
}

TEST(to_thread_outside_a_task_is_eperm)
{
    int v = 1;
    ASSERT_ERR(corio_to_thread(add_one, &v), -EPERM);
}

/* ---- saturation ---- */

static atomic_int running_now;
static atomic_int running_max;

static int busy(void *arg)
{
    (void)arg;
    int n = atomic_fetch_add(&running_now, 1) + 1;
    int m = atomic_load(&running_max);
    while (n > m && !atomic_compare_exchange_weak(&running_max, &m, n))
        ;
    msleep(20);
    atomic_fetch_sub(&running_now, 1);
    return 7;
}

static int run_on_pool(void *arg)
{
    return corio_pool_run(arg, busy, NULL);
}

static int saturation_main(void *arg)
{
    (void)arg;
    corio_pool_opts o = {.threads = 2};
    corio_pool *p = corio_pool_new(&o);
    ASSERT_NOT_NULL(p);
    corio_task *t[10];
    for (int i = 0; i < 10; i++)
        t[i] = corio_spawn(run_on_pool, p);
    for (int i = 0; i < 10; i++)
        ASSERT_EQ(corio_join(t[i]), 7);
    corio_pool_close(p);
    return 0;
}

TEST(pool_saturation_queues_work_instead_of_adding_threads)
{
    ASSERT_OK(corio_run(saturation_main, NULL));
    ASSERT_EQ(atomic_load(&running_max), 2);
}

static int one_call(void *arg)
{
    return corio_to_thread(add_one, arg);
}

static int concurrent_main(void *arg)
{
    (void)arg;
    enum { N = 300 };
    int vals[N]; /* on this task's stack: each loop has its own */
    corio_task *t[N];
    for (int i = 0; i < N; i++) {
        vals[i] = i;
        t[i] = corio_spawn(one_call, &vals[i]);
        ASSERT_NOT_NULL(t[i]);
    }
    for (int i = 0; i < N; i++)
        ASSERT_EQ(corio_join(t[i]), i + 1);
    return 0;
}

TEST(many_concurrent_calls_each_get_their_result)
{
    ASSERT_OK(corio_run(concurrent_main, NULL));
}

/* ---- cancellation ---- */

static atomic_int gate;      /* blocker() runs until this is set */
static atomic_int started;   /* blocker() has begun */
static atomic_int finished;  /* blocker() has returned */
static atomic_int ran_second;

static int blocker(void *arg)
{
    (void)arg;
    atomic_store(&started, 1);
    while (!atomic_load(&gate))
        msleep(1);
    atomic_store(&finished, 1);
    return 5;
}

static int second(void *arg)
{
    (void)arg;
    atomic_store(&ran_second, 1);
    return 6;
}

struct two {
    corio_pool *p;
    corio_blocking_fn fn;
};

static int run_fn_on(void *arg)
{
    struct two *w = arg;
    return corio_pool_run(w->p, w->fn, NULL);
}

static int cancel_queued_main(void *arg)
{
    (void)arg;
    corio_pool_opts o = {.threads = 1};
    corio_pool *p = corio_pool_new(&o);
    struct two a = {p, blocker}, b = {p, second};
    corio_task *ta = corio_spawn(run_fn_on, &a);
    while (!atomic_load(&started))
        corio_sleep(0.001);
    /* b is queued behind a only once a runs (tasks may start in any
     * order: CORIO_SEED shuffles them). */
    corio_task *tb = corio_spawn(run_fn_on, &b);
    th_yield_until_parked(tb, "");
    /* b waits in the queue behind a: cancelling it withdraws it at once,
     * while a is still running. */
    corio_cancel(tb);
    ASSERT_ERR(corio_join(tb), -ECANCELED);
    ASSERT_EQ(atomic_load(&finished), 0);
    atomic_store(&gate, 1);
    ASSERT_EQ(corio_join(ta), 5);
    corio_pool_close(p);
    ASSERT_EQ(atomic_load(&ran_second), 0);
    return 0;
}

TEST(cancel_removes_queued_work)
{
    ASSERT_OK(corio_run(cancel_queued_main, NULL));
}

static void *open_gate_later(void *arg)
{
    (void)arg;
    msleep(50);
    atomic_store(&gate, 1);
    return NULL;
}

static int to_thread_blocker(void *arg)
{
    (void)arg;
    return corio_to_thread(blocker, NULL);
}

static int cancel_running(void *arg)
{
    (void)arg;
    corio_task *t = corio_spawn(to_thread_blocker, NULL);
    while (!atomic_load(&started))
        corio_sleep(0.001);
    pthread_t th;
    pthread_create(&th, NULL, open_gate_later, NULL);
    corio_cancel(t);
    /* The call waits for the running function (it may use the caller's
     * memory), then discards its result. */
    ASSERT_ERR(corio_join(t), -ECANCELED);
    ASSERT_EQ(atomic_load(&finished), 1);
    pthread_join(th, NULL);
    return 0;
}

TEST(cancel_waits_for_running_work_and_discards_its_result)
{
    ASSERT_OK(corio_run(cancel_running, NULL));
}

/* Opens the gate once the scope has expired: the deadline struck while
 * blocker ran (if it had started), however late each side runs. */
static int open_gate_on_expiry(void *arg)
{
    while (!corio_scope_expired(arg))
        if (corio_sleep(0.001) < 0)
            break;
    atomic_store(&gate, 1);
    return 0;
}

static int deadline_main(void *arg)
{
    (void)arg;
    /* A pool thread slow to take the call (a loaded machine) lets the
     * deadline withdraw it unstarted: then again, with a longer one. */
    for (double timeout = 0.02;; timeout *= 10) {
        atomic_store(&gate, 0);
        atomic_store(&started, 0);
        atomic_store(&finished, 0);
        corio_scope s;
        corio_scope_enter(&s, timeout);
        corio_task *opener = corio_spawn(open_gate_on_expiry, &s);
        ASSERT_ERR(corio_to_thread(blocker, NULL), -ETIMEDOUT);
        bool ran = atomic_load(&started);
        /* Started, it was waited for: it finished. */
        ASSERT_EQ(atomic_load(&finished), ran);
        ASSERT_ERR(corio_scope_exit(&s), -ETIMEDOUT);
        ASSERT_OK(corio_join(opener));
        if (ran)
            break;
        ASSERT_LT(timeout, 10);
    }
    return 0;
}

TEST(a_deadline_cancels_like_a_cancellation)
{
    ASSERT_OK(corio_run(deadline_main, NULL));
}

static int pending_cancel_main(void *arg)
{
    (void)arg;
    corio_cancel(corio_current());
    /* A pending cancellation fails the call before anything runs. */
    ASSERT_ERR(corio_to_thread(second, NULL), -ECANCELED);
    ASSERT_EQ(atomic_load(&ran_second), 0);
    return 0;
}

TEST(a_pending_cancellation_runs_nothing)
{
    ASSERT_OK(corio_run(pending_cancel_main, NULL));
}

/* ---- close ---- */

static int close_main(void *arg)
{
    (void)arg;
    corio_pool_opts o = {.threads = 1};
    corio_pool *p = corio_pool_new(&o);
    struct two a = {p, blocker}, b = {p, second};
    corio_task *ta = corio_spawn(run_fn_on, &a);
    while (!atomic_load(&started))
        corio_sleep(0.001);
    /* b is queued behind a only once a runs (tasks may start in any
     * order: CORIO_SEED shuffles them). */
    corio_task *tb = corio_spawn(run_fn_on, &b);
    th_yield_until_parked(tb, "");
    pthread_t th;
    pthread_create(&th, NULL, open_gate_later, NULL);
    /* Close blocks until the running job ends; the queued one fails. */
    corio_pool_close(p);
    ASSERT_EQ(corio_join(ta), 5);
    ASSERT_ERR(corio_join(tb), -ESHUTDOWN);
    ASSERT_EQ(atomic_load(&ran_second), 0);
    pthread_join(th, NULL);
    return 0;
}

TEST(close_fails_queued_work_and_finishes_running_work)
{
    ASSERT_OK(corio_run(close_main, NULL));
}

/* ---- fault injection ---- */

static int fault_main(void *arg)
{
    (void)arg;
    int v = 1;
    /* The first call on a loop makes its port (allocation, eventfd,
     * epoll registration) and may start a thread: fail each in turn. */
    for (long n = 1;; n++) {
        corio__fault_alloc(n);
        int rc = corio_to_thread(add_one, &v);
        long calls = corio__fault_alloc_calls();
        corio__fault_alloc(0);
        if (rc == 2)
            break;
        ASSERT_ERR(rc, -ENOMEM);
        ASSERT_LT(n, calls + 1);
    }
    return 0;
}

TEST(allocation_failures_fail_cleanly)
{
    ASSERT_OK(corio_run(fault_main, NULL));
}

static int sys_fault_main(void *arg)
{
    (void)arg;
    int v = 1;
    for (long n = 1;; n++) {
        corio__fault_syscall(n);
        int rc = corio_to_thread(add_one, &v);
        corio__fault_syscall(0);
        if (rc == 2)
            break;
        ASSERT_TRUE(rc == -EMFILE || rc == -ENOMEM || rc == -EAGAIN);
        ASSERT_LT(n, 10);
    }
    return 0;
}

TEST(system_call_failures_fail_cleanly)
{
    ASSERT_OK(corio_run(sys_fault_main, NULL));
}

/* ---- several loops ---- */

static void *loop_thread(void *arg)
{
    (void)arg;
    return (void *)(intptr_t)corio_run(concurrent_main, NULL);
}

TEST_OPTS(loops_in_several_threads_share_the_default_pool,
          .labels = "threads")
{
    pthread_t th[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&th[i], NULL, loop_thread, NULL);
    for (int i = 0; i < 3; i++) {
        void *rc;
        pthread_join(th[i], &rc);
        ASSERT_EQ((intptr_t)rc, 0);
    }
}

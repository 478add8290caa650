/* SPDX-License-Identifier: MIT */
/* Lock: mutual exclusion, FIFO fairness, try-acquire, misuse, and the
 * cancellation rules: a waiter cancelled or timed out never holds the lock
 * afterwards and never takes it from the next waiter. */
#include "harness.h"

#include <corio.h>

#include "th_corio.h"

#define RUN(fn) ASSERT_OK(corio_run(fn, NULL))

static corio_lock lock = CORIO_LOCK_INIT;
static int inside, max_inside, order[16], norder;

static int critical(void *arg)
{
    int id = (int)(intptr_t)arg;
    int rc = corio_lock_acquire(&lock);
    if (rc < 0)
        return rc;
    order[norder++] = id;
    if (++inside > max_inside)
        max_inside = inside;
    corio_yield();
    corio_sleep(0.001);
    inside--;
    return corio_lock_release(&lock);
}

static int exclusion(void *arg)
{
    (void)arg;
    corio_lock_init(&lock);
    inside = max_inside = norder = 0;
    ASSERT_OK(corio_lock_acquire(&lock)); /* hold it while they queue */
    corio_task *t[5];
    for (int i = 0; i < 5; i++)
        t[i] = corio_spawn(critical, (void *)(intptr_t)i);
    ASSERT_OK(corio_sleep(0.002));
    ASSERT_TRUE(corio_lock_locked(&lock));
    ASSERT_OK(corio_lock_release(&lock));
    for (int i = 0; i < 5; i++)
        ASSERT_OK(corio_join(t[i]));
    ASSERT_EQ(max_inside, 1);
    for (int i = 0; i < 5; i++)
        ASSERT_EQ(order[i], i); /* first come, first served */
    ASSERT_FALSE(corio_lock_locked(&lock));
    return 0;
}

TEST_OPTS(lock_is_exclusive_and_fifo, .labels = "order")
{
    RUN(exclusion);
}

static int barger(void *arg)
{
    (void)arg;
    /* Arrives after a waiter queued: must not take the lock first. */
    return corio_lock_try_acquire(&lock);
}

static int no_barging(void *arg)
{
    (void)arg;
    corio_lock_init(&lock);
    norder = 0;
    ASSERT_OK(corio_lock_acquire(&lock));
    corio_task *w = corio_spawn(critical, (void *)1);
    ASSERT_OK(corio_yield()); /* w waits */
    ASSERT_OK(corio_lock_release(&lock)); /* handed to w */
    ASSERT_TRUE(corio_lock_locked(&lock));
    ASSERT_ERR(corio_lock_try_acquire(&lock), -EBUSY);
    corio_task *b = corio_spawn(barger, NULL);
    ASSERT_ERR(corio_join(b), -EBUSY);
    ASSERT_OK(corio_join(w));
    ASSERT_OK(corio_lock_try_acquire(&lock));
    ASSERT_OK(corio_lock_release(&lock));
    return 0;
}

TEST_OPTS(release_hands_the_lock_to_the_first_waiter, .labels = "order")
{
    RUN(no_barging);
}

TEST(lock_misuse)
{
    corio_lock l = CORIO_LOCK_INIT;
    ASSERT_ERR(corio_lock_release(&l), -EPERM);
    ASSERT_ERR(corio_lock_acquire(NULL), -EINVAL);
    ASSERT_ERR(corio_lock_release(NULL), -EINVAL);
    ASSERT_ERR(corio_lock_try_acquire(NULL), -EINVAL);
    ASSERT_FALSE(corio_lock_locked(NULL));
    /* A free lock can be taken outside a task (it does not suspend). */
    ASSERT_OK(corio_lock_acquire(&l));
    ASSERT_ERR(corio_lock_acquire(&l), -EPERM); /* would suspend */
    ASSERT_OK(corio_lock_release(&l));
}

static int waiter(void *arg)
{
    (void)arg;
    int rc = corio_lock_acquire(&lock);
    if (rc == 0)
        corio_lock_release(&lock);
    return rc;
}

static int cancel_waiter(void *arg)
{
    (void)arg;
    corio_lock_init(&lock);
    ASSERT_OK(corio_lock_acquire(&lock));
    corio_task *a = corio_spawn(waiter, NULL);
    corio_task *b = corio_spawn(waiter, NULL);
    /* Both queued on the lock (a single yield may resume us first where
     * CORIO_SEED shuffles, and a cancelled a would never have waited). */
    th_yield_until_parked(a, "lock");
    th_yield_until_parked(b, "lock");
    corio_cancel(a);
    ASSERT_ERR(corio_join(a), -ECANCELED);
    /* a never held it; b gets it when we release. */
    ASSERT_OK(corio_lock_release(&lock));
    ASSERT_OK(corio_join(b));
    ASSERT_FALSE(corio_lock_locked(&lock));
    return 0;
}

TEST(a_cancelled_waiter_never_holds_the_lock)
{
    RUN(cancel_waiter);
}

static int cancel_after_release(void *arg)
{
    (void)arg;
    corio_lock_init(&lock);
    ASSERT_OK(corio_lock_acquire(&lock));
    corio_task *a = corio_spawn(waiter, NULL);
    corio_task *b = corio_spawn(waiter, NULL);
    th_yield_until_parked(a, "lock");
    th_yield_until_parked(b, "lock");
    /* Cancel a first, then release: the lock must skip a and go to b. */
    corio_cancel(a);
    ASSERT_OK(corio_lock_release(&lock));
    ASSERT_ERR(corio_join(a), -ECANCELED);
    ASSERT_OK(corio_join(b));
    ASSERT_FALSE(corio_lock_locked(&lock));
    return 0;
}

TEST(a_cancelled_waiter_does_not_take_the_next_waiters_turn)
{
    RUN(cancel_after_release);
}

static int release_then_cancel(void *arg)
{
    (void)arg;
    corio_lock_init(&lock);
    ASSERT_OK(corio_lock_acquire(&lock));
    corio_task *a = corio_spawn(waiter, NULL);
    ASSERT_OK(corio_yield());
    /* Handed over first, cancelled after: a keeps the lock (and
     * releases it), the cancellation waits for its next suspension. */
    ASSERT_OK(corio_lock_release(&lock));
    corio_cancel(a);
    ASSERT_OK(corio_join(a));
    ASSERT_FALSE(corio_lock_locked(&lock));
    return 0;
}

TEST_OPTS(a_lock_handed_over_before_a_cancel_is_kept, .labels = "order")
{
    RUN(release_then_cancel);
}

static int times_out(void *arg)
{
    (void)arg;
    corio_scope s;
    corio_scope_enter(&s, 0.002);
    int rc = corio_lock_acquire(&lock);
    corio_scope_exit(&s);
    return rc;
}

static int timeout_waiter(void *arg)
{
    (void)arg;
    corio_lock_init(&lock);
    ASSERT_OK(corio_lock_acquire(&lock));
    corio_task *t = corio_spawn(times_out, NULL);
    corio_task *w = corio_spawn(waiter, NULL);
    ASSERT_ERR(corio_join(t), -ETIMEDOUT);
    ASSERT_OK(corio_lock_release(&lock));
    ASSERT_OK(corio_join(w));
    ASSERT_FALSE(corio_lock_locked(&lock));
    return 0;
}

TEST(a_timed_out_waiter_never_holds_the_lock)
{
    RUN(timeout_waiter);
}

/* Many tasks, random cancellations: the lock ends free and the critical
 * section was never shared. */
static int stress_worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < 20; i++) {
        int rc = corio_lock_acquire(&lock);
        if (rc < 0)
            return rc;
        if (++inside > max_inside)
            max_inside = inside;
        rc = corio_yield();
        inside--;
        corio_lock_release(&lock);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int stress(void *arg)
{
    (void)arg;
    enum { N = 300 };
    static corio_task *t[N];
    corio_lock_init(&lock);
    inside = max_inside = 0;
    for (int i = 0; i < N; i++)
        t[i] = corio_spawn(stress_worker, NULL);
    for (int round = 0; round < 50; round++) {
        corio_cancel(t[th_rand() % N]);
        ASSERT_OK(corio_yield());
    }
    for (int i = 0; i < N; i++) {
        int rc = corio_join(t[i]);
        if (rc != 0)
            ASSERT_ERR(rc, -ECANCELED);
    }
    ASSERT_EQ(max_inside, 1);
    ASSERT_EQ(inside, 0);
    ASSERT_FALSE(corio_lock_locked(&lock));
    return 0;
}

TEST(lock_under_random_cancellation)
{
    RUN(stress);
}

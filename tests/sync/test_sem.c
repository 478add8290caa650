/* SPDX-License-Identifier: MIT */
/* Semaphore and BoundedSemaphore: bounded concurrency, FIFO hand-over,
 * over-release, and cancellation safety (no permit taken by a cancelled
 * waiter, none lost). */
#include "harness.h"

#include <corio.h>

#include "th_corio.h"

#define RUN(fn) ASSERT_OK(corio_run(fn, NULL))

static corio_sem sem;
static int running, peak;

static int limited(void *arg)
{
    (void)arg;
    int rc = corio_sem_acquire(&sem);
    if (rc < 0)
        return rc;
    if (++running > peak)
        peak = running;
    rc = corio_sleep(0.002);
    running--;
    corio_sem_release(&sem);
    return rc;
}

static int bounded_concurrency(void *arg)
{
    (void)arg;
    ASSERT_OK(corio_sem_init(&sem, 3, false));
    running = peak = 0;
    corio_task *t[20];
    for (int i = 0; i < 20; i++)
        t[i] = corio_spawn(limited, NULL);
    for (int i = 0; i < 20; i++)
        ASSERT_OK(corio_join(t[i]));
    ASSERT_EQ(peak, 3);
    ASSERT_EQ(corio_sem_value(&sem), 3);
    return 0;
}

TEST(semaphore_bounds_concurrency)
{
    RUN(bounded_concurrency);
}

TEST(bounded_semaphore_refuses_over_release)
{
    corio_sem s;
    ASSERT_OK(corio_sem_init(&s, 2, true));
    ASSERT_ERR(corio_sem_release(&s), -EOVERFLOW);
    ASSERT_EQ(corio_sem_value(&s), 2);
    ASSERT_OK(corio_sem_try_acquire(&s));
    ASSERT_OK(corio_sem_release(&s));
    ASSERT_ERR(corio_sem_release(&s), -EOVERFLOW);
    /* Unbounded: the count just grows. */
    ASSERT_OK(corio_sem_init(&s, 0, false));
    ASSERT_TRUE(corio_sem_locked(&s));
    ASSERT_OK(corio_sem_release(&s));
    ASSERT_OK(corio_sem_release(&s));
    ASSERT_EQ(corio_sem_value(&s), 2);
    ASSERT_FALSE(corio_sem_locked(&s));
    ASSERT_ERR(corio_sem_init(&s, -1, false), -EINVAL);
    ASSERT_ERR(corio_sem_acquire(NULL), -EINVAL);
    ASSERT_OK(corio_sem_init(&s, 0, false));
    ASSERT_ERR(corio_sem_try_acquire(&s), -EBUSY);
    ASSERT_ERR(corio_sem_acquire(&s), -EPERM); /* would suspend */
}

static int takes(void *arg)
{
    (void)arg;
    int rc = corio_sem_acquire(&sem);
    if (rc == 0)
        corio_sem_release(&sem);
    return rc;
}

static int cancel_waiter(void *arg)
{
    (void)arg;
    ASSERT_OK(corio_sem_init(&sem, 1, true));
    ASSERT_OK(corio_sem_acquire(&sem));
    corio_task *a = corio_spawn(takes, NULL);
    corio_task *b = corio_spawn(takes, NULL);
    /* Both wait (CORIO_SEED may resume us before they ran). */
    th_yield_until_parked(a, "semaphore");
    th_yield_until_parked(b, "semaphore");
    corio_cancel(a);
    ASSERT_OK(corio_sem_release(&sem)); /* goes to b, not a */
    ASSERT_ERR(corio_join(a), -ECANCELED);
    ASSERT_OK(corio_join(b));
    /* Nothing lost, nothing extra: the bound still holds. */
    ASSERT_EQ(corio_sem_value(&sem), 1);
    ASSERT_ERR(corio_sem_release(&sem), -EOVERFLOW);
    return 0;
}

TEST(a_cancelled_waiter_takes_no_permit)
{
    RUN(cancel_waiter);
}

static int fifo_order[8], nfifo;

static int ordered(void *arg)
{
    int rc = corio_sem_acquire(&sem);
    if (rc < 0)
        return rc;
    fifo_order[nfifo++] = (int)(intptr_t)arg;
    return 0;
}

static int fifo(void *arg)
{
    (void)arg;
    ASSERT_OK(corio_sem_init(&sem, 0, false));
    nfifo = 0;
    corio_task *t[5];
    for (int i = 0; i < 5; i++)
        t[i] = corio_spawn(ordered, (void *)(intptr_t)i);
    ASSERT_OK(corio_yield());
    for (int i = 0; i < 5; i++)
        ASSERT_OK(corio_sem_release(&sem));
    /* Waiters hold the permits now: a newcomer cannot take one. */
    ASSERT_ERR(corio_sem_try_acquire(&sem), -EBUSY);
    for (int i = 0; i < 5; i++)
        ASSERT_OK(corio_join(t[i]));
    for (int i = 0; i < 5; i++)
        ASSERT_EQ(fifo_order[i], i);
    return 0;
}

TEST_OPTS(permits_go_to_waiters_in_arrival_order, .labels = "order")
{
    RUN(fifo);
}

static int stress(void *arg)
{
    (void)arg;
    enum { N = 200 };
    static corio_task *t[N];
    ASSERT_OK(corio_sem_init(&sem, 5, true));
    running = peak = 0;
    for (int i = 0; i < N; i++)
        t[i] = corio_spawn(limited, NULL);
    for (int i = 0; i < 40; i++) {
        corio_cancel(t[th_rand() % N]);
        ASSERT_OK(corio_sleep(0.0005));
    }
    for (int i = 0; i < N; i++) {
        int rc = corio_join(t[i]);
        if (rc)
            ASSERT_ERR(rc, -ECANCELED);
    }
    ASSERT_LE(peak, 5);
    ASSERT_EQ(corio_sem_value(&sem), 5);
    return 0;
}

TEST(semaphore_under_random_cancellation)
{
    RUN(stress);
}

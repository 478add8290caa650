/* SPDX-License-Identifier: MIT */
/* Condition: wait releases and re-takes the lock, notify(n) and
 * notify_all, wait_for with a predicate, and cancellation: the lock is
 * held again when wait returns, and a cancelled waiter does not consume a
 * notification meant for another task. */
#include "harness.h"

#include <corio.h>

#include "th_corio.h"

#define RUN(fn) ASSERT_OK(corio_run(fn, NULL))

static corio_cond cond = CORIO_COND_INIT;
static int items, woke;

static int consumer(void *arg)
{
    (void)arg;
    int rc = corio_cond_acquire(&cond);
    if (rc < 0)
        return rc;
    while (items == 0) {
        rc = corio_cond_wait(&cond);
        /* The lock is held again whatever wait returned. */
        if (!corio_lock_locked(corio_cond_lock(&cond)))
            return -1000;
        if (rc < 0) {
            corio_cond_release(&cond);
            return rc;
        }
    }
    items--;
    woke++;
    return corio_cond_release(&cond);
}

static int notify_n(void *arg)
{
    (void)arg;
    corio_cond_init(&cond, NULL);
    items = woke = 0;
    corio_task *t[4];
    for (int i = 0; i < 4; i++)
        t[i] = corio_spawn(consumer, NULL);
    ASSERT_OK(corio_sleep(0.001));
    ASSERT_OK(corio_cond_acquire(&cond));
    items = 1;
    ASSERT_OK(corio_cond_notify(&cond, 1));
    ASSERT_OK(corio_cond_release(&cond));
    ASSERT_OK(corio_sleep(0.001));
    ASSERT_EQ(woke, 1);
    ASSERT_OK(corio_cond_acquire(&cond));
    items = 3;
    ASSERT_OK(corio_cond_notify_all(&cond));
    ASSERT_OK(corio_cond_release(&cond));
    for (int i = 0; i < 4; i++)
        ASSERT_OK(corio_join(t[i]));
    ASSERT_EQ(woke, 4);
    return 0;
}

TEST(notify_wakes_n_waiters_and_notify_all_wakes_all)
{
    RUN(notify_n);
}

TEST(cond_misuse)
{
    corio_cond c;
    corio_cond_init(&c, NULL);
    ASSERT_ERR(corio_cond_notify(&c, 1), -EPERM); /* lock not held */
    ASSERT_ERR(corio_cond_wait(&c), -EPERM);      /* not a task */
    ASSERT_ERR(corio_cond_wait(NULL), -EINVAL);
    ASSERT_ERR(corio_cond_notify(NULL, 1), -EINVAL);
}

static int wait_unlocked(void *arg)
{
    (void)arg;
    corio_cond c = CORIO_COND_INIT;
    ASSERT_ERR(corio_cond_wait(&c), -EPERM);
    /* A condition sharing the caller's lock. */
    corio_lock l = CORIO_LOCK_INIT;
    corio_cond_init(&c, &l);
    ASSERT_PTR_EQ(corio_cond_lock(&c), &l);
    ASSERT_OK(corio_lock_acquire(&l));
    ASSERT_OK(corio_cond_notify(&c, 1)); /* no waiters: nothing happens */
    ASSERT_OK(corio_lock_release(&l));
    return 0;
}

TEST(wait_needs_the_lock)
{
    RUN(wait_unlocked);
}

static int cancelled_consumer(void *arg)
{
    (void)arg;
    corio_cond_init(&cond, NULL);
    items = woke = 0;
    corio_task *a = corio_spawn(consumer, NULL);
    corio_task *b = corio_spawn(consumer, NULL);
    ASSERT_OK(corio_sleep(0.001));
    /* Cancel a, then notify one: the notification must reach b. */
    corio_cancel(a);
    ASSERT_OK(corio_cond_acquire(&cond));
    items = 1;
    ASSERT_OK(corio_cond_notify(&cond, 1));
    ASSERT_OK(corio_cond_release(&cond));
    ASSERT_ERR(corio_join(a), -ECANCELED);
    ASSERT_OK(corio_join(b));
    ASSERT_EQ(woke, 1);
    ASSERT_FALSE(corio_lock_locked(corio_cond_lock(&cond)));
    return 0;
}

TEST(a_cancelled_waiter_does_not_consume_a_notify)
{
    RUN(cancelled_consumer);
}

static int relock_after_cancel(void *arg)
{
    (void)arg;
    corio_cond_init(&cond, NULL);
    items = 0;
    corio_task *a = corio_spawn(consumer, NULL);
    ASSERT_OK(corio_sleep(0.001));
    /* Hold the lock while a is cancelled: a must wait to re-take it
     * before its wait returns. */
    ASSERT_OK(corio_cond_acquire(&cond));
    corio_cancel(a);
    ASSERT_OK(corio_sleep(0.002));
    ASSERT_FALSE(corio_task_done(a));
    ASSERT_OK(corio_cond_release(&cond));
    ASSERT_ERR(corio_join(a), -ECANCELED); /* the check passed: -1000 not */
    return 0;
}

TEST(wait_retakes_the_lock_even_when_cancelled)
{
    RUN(relock_after_cancel);
}

static bool has_items(void *arg)
{
    (void)arg;
    return items >= 3;
}

static int pred_waiter(void *arg)
{
    (void)arg;
    corio_cond_acquire(&cond);
    int rc = corio_cond_wait_for(&cond, has_items, NULL);
    if (rc == 0)
        woke = items;
    corio_cond_release(&cond);
    return rc;
}

static int wait_for(void *arg)
{
    (void)arg;
    corio_cond_init(&cond, NULL);
    items = woke = 0;
    corio_task *t = corio_spawn(pred_waiter, NULL);
    for (int i = 0; i < 3; i++) {
        ASSERT_OK(corio_sleep(0.001));
        corio_cond_acquire(&cond);
        items++;
        corio_cond_notify_all(&cond);
        corio_cond_release(&cond);
    }
    ASSERT_OK(corio_join(t));
    ASSERT_EQ(woke, 3);
    return 0;
}

TEST(wait_for_rechecks_the_predicate)
{
    RUN(wait_for);
}

static corio_cond other;
static corio_event let_go;

static int holder(void *arg)
{
    (void)arg;
    corio_cond_acquire(&other);
    corio_event_wait(&let_go); /* holds the lock until told */
    corio_cond_release(&other);
    return 0;
}

static int not_owner(void *arg)
{
    (void)arg;
    corio_cond_init(&other, NULL);
    corio_event_init(&let_go);
    corio_task *h = corio_spawn(holder, NULL);
    /* Until h holds the lock (CORIO_SEED may resume us before h ran, and
     * a lock nobody holds would give -EPERM too). */
    th_yield_until_parked(h, "event");
    ASSERT_TRUE(corio_lock_locked(corio_cond_lock(&other)));
    /* Someone holds the lock, but not us: waiting or notifying would
     * release or use another task's lock. */
    ASSERT_ERR(corio_cond_wait(&other), -EPERM);
    ASSERT_ERR(corio_cond_notify(&other, 1), -EPERM);
    corio_event_set(&let_go);
    ASSERT_OK(corio_join(h));
    return 0;
}

TEST(only_the_lock_holder_may_wait_or_notify)
{
    RUN(not_owner);
}

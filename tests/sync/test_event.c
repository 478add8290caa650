/* SPDX-License-Identifier: MIT */
/* Event: set, clear, wait; every waiter wakes; a set event does not
 * suspend; cancellation while waiting. */
#include "harness.h"

#include <corio.h>

#include "th_corio.h"

#define RUN(fn) ASSERT_OK(corio_run(fn, NULL))

static corio_event ev = CORIO_EVENT_INIT;
static int woke;

static int waits(void *arg)
{
    (void)arg;
    int rc = corio_event_wait(&ev);
    if (rc == 0)
        woke++;
    return rc;
}

static int basic(void *arg)
{
    (void)arg;
    corio_event_init(&ev);
    woke = 0;
    ASSERT_FALSE(corio_event_is_set(&ev));
    corio_task *t[4];
    for (int i = 0; i < 4; i++)
        t[i] = corio_spawn(waits, NULL);
    ASSERT_OK(corio_sleep(0.001));
    ASSERT_EQ(woke, 0);
    corio_event_set(&ev);
    corio_event_set(&ev); /* twice is harmless */
    ASSERT_TRUE(corio_event_is_set(&ev));
    for (int i = 0; i < 4; i++)
        ASSERT_OK(corio_join(t[i]));
    ASSERT_EQ(woke, 4);
    /* Set: wait returns without suspending. */
    ASSERT_OK(corio_event_wait(&ev));
    corio_event_clear(&ev);
    ASSERT_FALSE(corio_event_is_set(&ev));
    corio_task *c = corio_spawn(waits, NULL);
    /* Cancelled while it waits, not before it started (CORIO_SEED may
     * resume us before c runs). */
    th_yield_until_parked(c, "event");
    corio_cancel(c);
    ASSERT_ERR(corio_join(c), -ECANCELED);
    ASSERT_ERR(corio_event_wait(NULL), -EINVAL);
    return 0;
}

TEST(event_set_wakes_every_waiter)
{
    RUN(basic);
}

TEST(event_outside_a_task)
{
    corio_event e = CORIO_EVENT_INIT;
    ASSERT_ERR(corio_event_wait(&e), -EPERM);
    corio_event_set(&e);
    ASSERT_OK(corio_event_wait(&e));
    corio_event_set(NULL);
    corio_event_clear(NULL);
    ASSERT_FALSE(corio_event_is_set(NULL));
}

static int set_clear(void *arg)
{
    (void)arg;
    corio_event_init(&ev);
    woke = 0;
    corio_task *t = corio_spawn(waits, NULL);
    ASSERT_OK(corio_yield());
    /* Set then clear before the waiter runs: it was woken, it passes. */
    corio_event_set(&ev);
    corio_event_clear(&ev);
    ASSERT_OK(corio_join(t));
    ASSERT_EQ(woke, 1);
    return 0;
}

TEST_OPTS(a_waiter_woken_by_set_passes_even_if_cleared_at_once, .labels = "order")
{
    RUN(set_clear);
}

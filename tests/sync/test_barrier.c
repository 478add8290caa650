/* SPDX-License-Identifier: MIT */
/* Barrier: rounds, arrival indices, reuse, abort (broken), reset, and a
 * waiter cancelled while the barrier fills. */
#include "harness.h"

#include <corio.h>

#define RUN(fn) ASSERT_OK(corio_run(fn, NULL))

static corio_barrier bar;
static int seen[8];

static int party(void *arg)
{
    int rounds = (int)(intptr_t)arg;
    int mask = 0;
    for (int r = 0; r < rounds; r++) {
        int i = corio_barrier_wait(&bar);
        if (i < 0)
            return i;
        mask |= 1 << i;
        seen[i]++;
    }
    return mask;
}

static int rounds(void *arg)
{
    (void)arg;
    ASSERT_OK(corio_barrier_init(&bar, 3));
    memset(seen, 0, sizeof seen);
    corio_task *t[3];
    for (int i = 0; i < 3; i++)
        t[i] = corio_spawn(party, (void *)5);
    for (int i = 0; i < 3; i++)
        ASSERT_GT(corio_join(t[i]), 0);
    /* Each round hands out indices 0, 1, 2 once. */
    for (int i = 0; i < 3; i++)
        ASSERT_EQ(seen[i], 5);
    ASSERT_EQ(corio_barrier_n_waiting(&bar), 0);
    ASSERT_FALSE(corio_barrier_broken(&bar));
    return 0;
}

TEST(barrier_rounds_and_indices)
{
    RUN(rounds);
}

static int abort_case(void *arg)
{
    (void)arg;
    ASSERT_OK(corio_barrier_init(&bar, 3));
    corio_task *a = corio_spawn(party, (void *)1);
    ASSERT_OK(corio_yield());
    ASSERT_EQ(corio_barrier_n_waiting(&bar), 1);
    corio_barrier_abort(&bar);
    ASSERT_TRUE(corio_barrier_broken(&bar));
    ASSERT_ERR(corio_join(a), -EPIPE);
    ASSERT_ERR(corio_barrier_wait(&bar), -EPIPE);
    corio_barrier_reset(&bar);
    ASSERT_FALSE(corio_barrier_broken(&bar));
    /* Usable again. */
    corio_task *t[2] = {corio_spawn(party, (void *)1),
                        corio_spawn(party, (void *)1)};
    int i = corio_barrier_wait(&bar);
    ASSERT_GE(i, 0);
    ASSERT_GT(corio_join(t[0]), 0);
    ASSERT_GT(corio_join(t[1]), 0);
    return 0;
}

TEST_OPTS(abort_breaks_and_reset_repairs, .labels = "order")
{
    RUN(abort_case);
}

static int reset_case(void *arg)
{
    (void)arg;
    ASSERT_OK(corio_barrier_init(&bar, 3));
    corio_task *a = corio_spawn(party, (void *)1);
    corio_task *b = corio_spawn(party, (void *)1);
    ASSERT_OK(corio_yield());
    corio_barrier_reset(&bar);
    ASSERT_ERR(corio_join(a), -EPIPE);
    ASSERT_ERR(corio_join(b), -EPIPE);
    ASSERT_EQ(corio_barrier_n_waiting(&bar), 0);
    ASSERT_FALSE(corio_barrier_broken(&bar));
    return 0;
}

TEST_OPTS(reset_fails_current_waiters, .labels = "order")
{
    RUN(reset_case);
}

static int cancel_filling(void *arg)
{
    (void)arg;
    ASSERT_OK(corio_barrier_init(&bar, 2));
    corio_task *a = corio_spawn(party, (void *)1);
    ASSERT_OK(corio_yield());
    corio_cancel(a);
    ASSERT_ERR(corio_join(a), -ECANCELED);
    /* a no longer counts: two new parties are needed. */
    ASSERT_EQ(corio_barrier_n_waiting(&bar), 0);
    corio_task *b = corio_spawn(party, (void *)1);
    ASSERT_OK(corio_yield());
    ASSERT_EQ(corio_barrier_n_waiting(&bar), 1);
    ASSERT_GE(corio_barrier_wait(&bar), 0);
    ASSERT_GT(corio_join(b), 0);
    return 0;
}

TEST_OPTS(a_cancelled_party_leaves_the_round, .labels = "order")
{
    RUN(cancel_filling);
}

static int cancel_at_trip(void *arg)
{
    (void)arg;
    ASSERT_OK(corio_barrier_init(&bar, 2));
    corio_task *a = corio_spawn(party, (void *)1);
    ASSERT_OK(corio_yield());
    /* Cancelled, then the round completes before a runs: a passes. */
    corio_cancel(a);
    ASSERT_GE(corio_barrier_wait(&bar), 0);
    int rc = corio_join(a);
    ASSERT_TRUE(rc > 0 || rc == -ECANCELED);
    return 0;
}

TEST_OPTS(a_cancel_racing_the_trip_keeps_the_barrier_consistent, .labels = "order")
{
    RUN(cancel_at_trip);
    /* Either way the barrier is reusable afterwards. */
}

TEST(barrier_misuse)
{
    corio_barrier b;
    ASSERT_ERR(corio_barrier_init(&b, 0), -EINVAL);
    ASSERT_OK(corio_barrier_init(&b, 1));
    ASSERT_ERR(corio_barrier_wait(&b), -EPERM);
    ASSERT_ERR(corio_barrier_wait(NULL), -EINVAL);
}

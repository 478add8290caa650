/* SPDX-License-Identifier: MIT */
/* The timer heap: ordering under random insertion, re-arming and removal,
 * checked white-box against a sorted copy, and many timers through the
 * loop firing in order and never early. */
#include "harness.h"

#include <corio.h>

#include "core/core.h"
#include "core/testing.h"

enum { N = 20000 };

static struct corio__timer timers[N];
static int64_t want[N];

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

TEST(heap_pops_in_deadline_order)
{
    corio_loop *loop = corio_loop_new(NULL);
    ASSERT_OK(corio__heap_reserve(&loop->timers, N));
    for (int i = 0; i < N; i++) {
        want[i] = (int64_t)(th_rand() % 1000000);
        timers[i].idx = 0;
        ASSERT_OK(corio__timer_arm(loop, &timers[i], want[i]));
    }
    /* Move a third of them, remove another third. */
    for (int i = 0; i < N; i += 3) {
        want[i] = (int64_t)(th_rand() % 1000000);
        ASSERT_OK(corio__timer_arm(loop, &timers[i], want[i]));
    }
    int kept = 0;
    static int64_t due[N];
    for (int i = 0; i < N; i++) {
        if (i % 3 == 1) {
            corio__timer_disarm(loop, &timers[i]);
            ASSERT_EQ(timers[i].idx, 0);
            corio__timer_disarm(loop, &timers[i]); /* twice is harmless */
        } else {
            due[i] = corio__timer_deadline(loop, &timers[i]);
            ASSERT_EQ(due[i], want[i]);
            want[kept++] = due[i];
        }
    }
    ASSERT_EQ(corio__timer_count(loop), kept);
    qsort(want, (size_t)kept, sizeof want[0], cmp64);
    for (int i = 0; i < kept; i++) {
        struct corio__timer *t = corio__timer_pop_due(loop, INT64_MAX - 1);
        ASSERT_NOT_NULL(t);
        ASSERT_EQ(due[t - timers], want[i]);
        ASSERT_EQ(t->idx, 0);
    }
    ASSERT_NULL(corio__timer_pop_due(loop, INT64_MAX - 1));
    ASSERT_OK(corio_loop_close(loop));
}

TEST(heap_pops_only_what_is_due)
{
    corio_loop *loop = corio_loop_new(NULL);
    ASSERT_OK(corio__heap_reserve(&loop->timers, 3));
    ASSERT_OK(corio__timer_arm(loop, &timers[0], 30));
    ASSERT_OK(corio__timer_arm(loop, &timers[1], 10));
    ASSERT_OK(corio__timer_arm(loop, &timers[2], 20));
    ASSERT_PTR_EQ(corio__timer_pop_due(loop, 15), &timers[1]);
    ASSERT_NULL(corio__timer_pop_due(loop, 15));
    ASSERT_PTR_EQ(corio__timer_pop_due(loop, 20), &timers[2]);
    corio__timer_disarm(loop, &timers[0]);
    ASSERT_NULL(corio__timer_pop_due(loop, 100));
    ASSERT_OK(corio_loop_close(loop));
}

static double fired_at[N];
static double due_at[N];
static int fired;

static void on_fire(void *arg)
{
    int i = (int)(intptr_t)arg;
    fired_at[i] = corio_time();
    fired++;
}

static void stop_loop(void *arg)
{
    corio_loop_stop(arg);
}

TEST_OPTS(many_timers_fire_in_order_and_never_early, .labels = "order")
{
    corio_loop *loop = corio_loop_new(NULL);
    fired = 0;
    for (int i = 0; i < N; i++) {
        double d = (double)(th_rand() % 100000) / 1e6; /* 0 - 100 ms */
        due_at[i] = corio_time() + d;
        ASSERT_OK(corio_loop_call_later(loop, d, on_fire,
                                        (void *)(intptr_t)i, NULL));
    }
    ASSERT_OK(corio_loop_call_later(loop, 0.15, stop_loop, loop, NULL));
    ASSERT_OK(corio_loop_run_forever(loop));
    ASSERT_EQ(fired, N);
    for (int i = 0; i < N; i++)
        ASSERT_GE(fired_at[i], due_at[i]);
    ASSERT_OK(corio_loop_close(loop));
}

static int order_check;

static void ordered(void *arg)
{
    int64_t due = (int64_t)(intptr_t)arg;
    /* Callbacks fire in deadline order within and across iterations. */
    ASSERT_GE(due, order_check);
    order_check = (int)due;
}

TEST(timers_fire_in_deadline_order)
{
    corio_loop *loop = corio_loop_new(NULL);
    order_check = 0;
    double base = corio_time() + 0.01;
    for (int i = 0; i < 2000; i++) {
        int ms = (int)(th_rand() % 50);
        ASSERT_OK(corio_loop_call_at(loop, base + ms / 1000.0, ordered,
                                     (void *)(intptr_t)ms, NULL));
    }
    ASSERT_OK(corio_loop_call_at(loop, base + 0.06, stop_loop, loop, NULL));
    ASSERT_OK(corio_loop_run_forever(loop));
    ASSERT_OK(corio_loop_close(loop));
}

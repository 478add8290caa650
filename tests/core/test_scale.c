/* SPDX-License-Identifier: MIT */
/* Scale: a million tasks alive at once on default kernel settings, and a
 * million spawned and joined. */
#include "harness.h"

#include <corio.h>
#include <sys/resource.h>

#include "core/testing.h"

static int sleeper(void *arg)
{
    return corio_sleep(*(double *)arg);
}

static int million_sleeping(void *arg)
{
    (void)arg;
    enum { N = 1000000 };
    struct corio__stack_stats st;
    corio__stack_stats(corio_loop_current(), &st);
    if (!st.guard_inline)
        th_skip("guard regions need a mapping each here (no "
                "MADV_GUARD_INSTALL): about 32,000 stacks at most");
    corio_task **t = malloc(N * sizeof *t);
    ASSERT_NOT_NULL(t);
    double s = 1.0;
    double t0 = corio_time();
    for (int i = 0; i < N; i++) {
        t[i] = corio_spawn(sleeper, &s);
        if (!t[i])
            FAIL("spawn %d: %s", i, strerror(errno));
    }
    /* Let them all start: each is parked in its sleep. */
    ASSERT_OK(corio_sleep(0.001));
    corio__stack_stats(corio_loop_current(), &st);
    ASSERT_GE(st.in_use, 500000);
    for (int i = 0; i < N; i++)
        if (corio_join(t[i]) != 0)
            FAIL("task %d failed", i);
    double dt = corio_time() - t0;
    free(t);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("1M sleeping tasks: %.2f s, peak RSS %.0f bytes per task\n", dt,
           (double)ru.ru_maxrss * 1024 / N);
    return 0;
}

TEST_OPTS(one_million_concurrent_sleeping_tasks, .labels = "slow",
          .timeout = 300)
{
    ASSERT_OK(corio_run(million_sleeping, NULL));
}

static int nothing(void *arg)
{
    (void)arg;
    return 1;
}

static int million_spawn(void *arg)
{
    (void)arg;
    enum { N = 1000000 };
    corio_task **t = malloc(N * sizeof *t);
    ASSERT_NOT_NULL(t);
    for (int i = 0; i < N; i++)
        t[i] = corio_spawn(nothing, NULL);
    for (int i = 0; i < N; i++)
        ASSERT_EQ(corio_join(t[i]), 1);
    free(t);
    return 0;
}

TEST_OPTS(one_million_spawned_and_joined, .timeout = 120)
{
    ASSERT_OK(corio_run(million_spawn, NULL));
}

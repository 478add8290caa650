/* SPDX-License-Identifier: MIT */
/* Loops and threads: call_soon_threadsafe from many threads, waking a
 * sleeping loop, stopping a loop from another thread, and independent
 * loops in several threads at once. Also run under TSan in CI. */
#include "harness.h"

#include <corio.h>
#include <pthread.h>
#include <stdatomic.h>

enum { THREADS = 4, CALLS = 5000 };

static corio_loop *shared_loop;
static int received[THREADS];
static int last_seen[THREADS];
static int out_of_order;
static int total;

static void on_call(void *arg)
{
    uintptr_t v = (uintptr_t)arg;
    int th = (int)(v >> 20), seq = (int)(v & 0xfffff);
    /* Calls from one thread arrive in the order they were made. */
    if (seq != last_seen[th] + 1)
        out_of_order++;
    last_seen[th] = seq;
    received[th]++;
    if (++total == THREADS * CALLS)
        corio_loop_stop(shared_loop);
}

static void *producer(void *arg)
{
    uintptr_t th = (uintptr_t)arg;
    for (int i = 1; i <= CALLS; i++) {
        uintptr_t v = th << 20 | (uintptr_t)i;
        while (corio_loop_call_soon_threadsafe(shared_loop, on_call,
                                               (void *)v) != 0)
            ;
    }
    return NULL;
}

TEST(call_soon_threadsafe_from_many_threads)
{
    shared_loop = corio_loop_new(NULL);
    ASSERT_NOT_NULL(shared_loop);
    pthread_t th[THREADS];
    for (uintptr_t i = 0; i < THREADS; i++) {
        last_seen[i] = 0;
        ASSERT_OK(pthread_create(&th[i], NULL, producer, (void *)i));
    }
    /* The loop has nothing else to do: it sleeps in the poll and must be
     * woken by the calls. */
    ASSERT_OK(corio_loop_run_forever(shared_loop));
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    ASSERT_EQ(total, THREADS * CALLS);
    ASSERT_EQ(out_of_order, 0);
    for (int i = 0; i < THREADS; i++)
        ASSERT_EQ(received[i], CALLS);
    ASSERT_OK(corio_loop_close(shared_loop));
}

static void stop_cb(void *arg)
{
    corio_loop_stop(arg);
}

static void *stopper(void *arg)
{
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    corio_loop_call_soon_threadsafe(arg, stop_cb, arg);
    return NULL;
}

static int sleeps_long(void *arg)
{
    (void)arg;
    return corio_sleep(30);
}

TEST_OPTS(another_thread_stops_a_sleeping_loop, .labels = "order")
{
    corio_loop *loop = corio_loop_new(NULL);
    corio_task *t = corio_loop_spawn(loop, sleeps_long, NULL, NULL);
    pthread_t th;
    ASSERT_OK(pthread_create(&th, NULL, stopper, loop));
    double t0 = th_now();
    ASSERT_ERR(corio_loop_run_until_complete(loop, t), -EINTR);
    ASSERT_LT(th_now() - t0, 5.0);
    pthread_join(th, NULL);
    corio_cancel(t);
    ASSERT_ERR(corio_loop_run_until_complete(loop, t), -ECANCELED);
    corio_task_unref(t);
    ASSERT_OK(corio_loop_close(loop));
}

static int worker_main(void *arg)
{
    int *sum = arg;
    for (int i = 0; i < 1000; i++) {
        (*sum)++;
        if (corio_yield() < 0)
            return -1;
    }
    return corio_sleep(0.001);
}

static void *thread_with_loop(void *arg)
{
    int *sum = arg;
    /* Each thread has its own loop; corio_current never leaks across. */
    intptr_t rc = corio_run(worker_main, sum);
    return (void *)rc;
}

TEST(independent_loops_in_several_threads)
{
    pthread_t th[THREADS];
    int sums[THREADS] = {0};
    for (int i = 0; i < THREADS; i++)
        ASSERT_OK(pthread_create(&th[i], NULL, thread_with_loop, &sums[i]));
    for (int i = 0; i < THREADS; i++) {
        void *rc;
        pthread_join(th[i], &rc);
        ASSERT_EQ((intptr_t)rc, 0);
        ASSERT_EQ(sums[i], 1000);
    }
}

static atomic_int cross_done;

static void set_flag(void *arg)
{
    (void)arg;
    atomic_store(&cross_done, 1);
}

static void *submit_to_running_loop(void *arg)
{
    corio_loop_call_soon_threadsafe(arg, set_flag, NULL);
    return NULL;
}

static int waits_for_flag(void *arg)
{
    (void)arg;
    pthread_t th;
    if (pthread_create(&th, NULL, submit_to_running_loop,
                       corio_loop_current()))
        return -1;
    /* The task keeps the loop busy; the call still gets in. */
    double t0 = th_now();
    while (!atomic_load(&cross_done) && th_now() - t0 < 5)
        corio_yield();
    pthread_join(th, NULL);
    return atomic_load(&cross_done) ? 0 : -ETIMEDOUT;
}

TEST(threadsafe_calls_reach_a_busy_loop)
{
    ASSERT_OK(corio_run(waits_for_flag, NULL));
}

static void nothing(void *arg)
{
    (void)arg;
}

static void *queue_one(void *arg)
{
    corio_loop_call_soon_threadsafe(arg, nothing, NULL);
    return NULL;
}

TEST(pending_counts_calls_from_other_threads)
{
    corio_loop *loop = corio_loop_new(NULL);
    pthread_t th;
    ASSERT_OK(pthread_create(&th, NULL, queue_one, loop));
    pthread_join(th, NULL);
    size_t n;
    corio_loop_pending(loop, NULL, &n);
    ASSERT_EQ(n, 1);
    ASSERT_ERR(corio_loop_close(loop), -EBUSY);
    corio_loop_stop(loop);
    ASSERT_OK(corio_loop_run_forever(loop)); /* runs it */
    ASSERT_OK(corio_loop_close(loop));
}

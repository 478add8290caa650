/* SPDX-License-Identifier: MIT */
/* Fault injection: every allocation and every resource-acquiring system
 * call on the core paths fails in turn (N = 1, 2, ... until the scenario
 * succeeds), and each run must end in success or a clean error with no
 * heap block left behind: SQLite's and neco's technique. */
#include "harness.h"

#include <corio.h>
#include <stdint.h>
#include <unistd.h>

#include "core/testing.h"

static int child(void *arg)
{
    return corio_sleep(*(double *)arg) ? -1 : 7;
}

static void cb(void *arg)
{
    (*(int *)arg)++;
}

static void fut_cb(corio_future *f, void *arg)
{
    (void)f;
    (*(int *)arg)++;
}

/* Many resource-acquiring paths in one run; returns 0 if all worked, a
 * negative errno from the first that failed. Frees everything either way. */
static int scenario(void *arg)
{
    (void)arg;
    int rc = 0, hits = 0;
    double tiny = 0.0001;
    corio_loop *loop = corio_loop_current();
    corio_task *t[20] = {0};
    corio_future *f = NULL;
    corio_queue *q = NULL;
    corio_group *g = NULL;
    corio_as_completed *ac = NULL;
    corio_chan_tx *tx = NULL;
    corio_chan_rx *rx = NULL;
    corio_fd *fd = NULL;
    int p[2] = {-1, -1};

    for (int i = 0; i < 20; i++) {
        corio_task_opts o = {.name = "child"};
        t[i] = corio_spawn_opts(child, &tiny, &o);
        if (!t[i]) {
            rc = -errno;
            goto out;
        }
    }
    if ((rc = corio_loop_call_soon(loop, cb, &hits, NULL)) < 0 ||
        (rc = corio_loop_call_later(loop, 0.0001, cb, &hits, NULL)) < 0)
        goto out;
    if (!(f = corio_future_new(NULL))) {
        rc = -errno;
        goto out;
    }
    if ((rc = corio_future_add_done_callback(f, fut_cb, &hits)) < 0)
        goto out;
    corio_future_set_result(f, NULL);
    if (!(ac = corio_as_completed_new(t, 20, -1))) {
        rc = -errno;
        goto out;
    }
    rc = corio_as_completed_next(ac);
    if (rc < 0)
        goto out;
    corio_as_completed_free(ac);
    ac = NULL;
    rc = corio_gather_tasks(t, 20, NULL, CORIO_RETURN_EXCEPTIONS);
    if (rc == 0) {
        memset(t, 0, sizeof t); /* consumed */
    } else {
        goto out;
    }
    corio_call calls[20];
    for (int i = 0; i < 20; i++)
        calls[i] = (corio_call){child, &tiny, 0};
    if ((rc = corio_gather(calls, 20, 0)) < 0)
        goto out;
    if (!(q = corio_queue_new(NULL))) {
        rc = -errno;
        goto out;
    }
    for (intptr_t i = 0; i < 100; i++)
        if ((rc = corio_queue_put(q, (void *)i)) < 0)
            goto out;
    if ((rc = corio_chan_open(4, &tx, &rx)) < 0)
        goto out;
    if (!(g = corio_group_open())) {
        rc = -errno;
        goto out;
    }
    for (int i = 0; i < 10; i++)
        if ((rc = corio_group_spawn(g, child, &tiny, NULL, NULL)) < 0)
            goto out;
    rc = corio_group_close(g);
    g = NULL;
    if (rc < 0)
        goto out;
    if (pipe(p) < 0) {
        rc = -errno;
        goto out;
    }
    if (!(fd = corio_fd_open(p[0]))) {
        rc = -errno;
        goto out;
    }
    rc = corio_sleep(0.0002);
out:
    for (int i = 0; i < 20; i++)
        if (t[i]) {
            corio_cancel(t[i]);
            corio_join(t[i]);
        }
    corio_as_completed_free(ac);
    if (g) {
        corio_group_cancel(g);
        corio_group_close(g);
    }
    corio_fd_close(fd);
    if (p[0] >= 0) {
        close(p[0]);
        close(p[1]);
    }
    corio_chan_tx_close(tx);
    corio_chan_rx_close(rx);
    corio_queue_close(q);
    corio_future_unref(f);
    return rc;
}

/* Run the scenario with the Nth allocation (or system call) failing, for
 * every N until it succeeds. */
static void walk(bool syscalls)
{
    long n;
    for (n = 1; n < 5000; n++) {
        long before = corio__alloc_live_blocks();
        if (syscalls)
            corio__fault_syscall(n);
        else
            corio__fault_alloc(n);
        int rc = corio_run(scenario, NULL);
        long calls = syscalls ? corio__fault_syscall_calls()
                              : corio__fault_alloc_calls();
        corio__fault_syscall(0);
        corio__fault_alloc(0);
        long after = corio__alloc_live_blocks();
        if (after != before)
            FAIL("failure %ld: %ld blocks left behind", n, after - before);
        /* Done once a run made fewer than n calls: nothing failed. A
         * failure the code tolerates (a debug structure it can do
         * without) also ends in success, and the walk goes on. */
        if (calls < n) {
            ASSERT_OK(rc);
            break;
        }
        /* Success (the failure was tolerated), or a clean error: the
         * injected one, or what it turned into. */
        if (rc != 0 && rc != -ENOMEM && rc != -EMFILE && rc != -1 &&
            rc != -ECANCELED)
            FAIL("failure %ld: unexpected result %d", n, rc);
    }
    ASSERT_LT(n, 5000);
    printf("%s: %ld failure points, each unwound cleanly\n",
           syscalls ? "system calls" : "allocations", n - 1);
}

TEST_OPTS(every_allocation_failure_unwinds_cleanly, .timeout = 300)
{
    walk(false);
}

TEST_OPTS(every_system_call_failure_unwinds_cleanly, .timeout = 300)
{
    walk(true);
}

static int ret_index(void *arg)
{
    return (int)(intptr_t)arg;
}

/* Enough tasks to reach the slab's big chunks (mapped from the kernel);
 * joins what it spawned. 0, or -ENOMEM from a failed spawn. */
static int spawn_many(void *arg)
{
    (void)arg;
    enum { N = 6000 };
    static corio_task *t[N];
    int n = 0, rc = 0;
    for (; n < N; n++) {
        t[n] = corio_spawn(ret_index, (void *)(intptr_t)n);
        if (!t[n]) {
            rc = -errno;
            break;
        }
    }
    for (int i = 0; i < n; i++) {
        int r = corio_join(t[i]);
        if (r != i && rc == 0)
            rc = -EPROTO;
    }
    return rc;
}

TEST(failing_task_chunks_unwind_cleanly)
{
    long n, nomem = 0;
    for (n = 1; n < 200; n++) {
        long before = corio__alloc_live_blocks();
        corio__fault_alloc(n);
        int rc = corio_run(spawn_many, NULL);
        long calls = corio__fault_alloc_calls();
        corio__fault_alloc(0);
        ASSERT_EQ(corio__alloc_live_blocks(), before);
        if (calls < n) {
            ASSERT_OK(rc);
            break;
        }
        /* A failure the code tolerates ends in success too. */
        if (rc != 0 && rc != -ENOMEM)
            FAIL("failure %ld: unexpected result %d", n, rc);
        nomem += rc == -ENOMEM;
    }
    ASSERT_LT(n, 200);
    ASSERT_GT(nomem, 8); /* the spawns of each chunk failed in turn */
}

TEST(loop_new_fails_cleanly)
{
    for (long n = 1; n < 100; n++) {
        long before = corio__alloc_live_blocks();
        corio__fault_alloc(n);
        corio_loop *loop = corio_loop_new(NULL);
        corio__fault_alloc(0);
        if (loop) {
            ASSERT_OK(corio_loop_close(loop));
            ASSERT_EQ(corio__alloc_live_blocks(), before);
            return;
        }
        ASSERT_EQ(errno, ENOMEM);
        ASSERT_EQ(corio__alloc_live_blocks(), before);
    }
    FAIL("loop_new never succeeded");
}

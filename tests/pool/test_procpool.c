/* SPDX-License-Identifier: MIT */
/* Process pools: results and errors come back; calls run in parallel on
 * all cores; a crashing worker is reported and replaced; a cancelled call
 * kills and replaces its worker; closing leaves no process behind;
 * failures while starting unwind cleanly. */
#include "harness.h"

#include <corio.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/testing.h"

static int upper(const void *in, size_t len, void **out, size_t *out_len)
{
    char *o = malloc(len);
    for (size_t i = 0; i < len; i++) {
        char c = ((const char *)in)[i];
        o[i] = c >= 'a' && c <= 'z' ? (char)(c - 32) : c;
    }
    *out = o;
    *out_len = len;
    return (int)len;
}

static int crash(const void *in, size_t len, void **out, size_t *out_len)
{
    (void)in, (void)len, (void)out, (void)out_len;
    signal(SIGSEGV, SIG_DFL);
    raise(SIGSEGV);
    return 0;
}

static int fail_nospc(const void *in, size_t len, void **out,
                      size_t *out_len)
{
    (void)in, (void)len, (void)out, (void)out_len;
    return -ENOSPC;
}

static int my_pid(const void *in, size_t len, void **out, size_t *out_len)
{
    (void)in, (void)len, (void)out, (void)out_len;
    return getpid();
}

/* Fixed CPU-bound work; the output is the monotonic start and end. */
static int spin(const void *in, size_t len, void **out, size_t *out_len)
{
    (void)len;
    long iters = *(const long *)in;
    double *t = malloc(2 * sizeof *t);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    t[0] = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    volatile unsigned long x = 0;
    for (long i = 0; i < iters; i++)
        x = x + (unsigned long)i;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    t[1] = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    *out = t;
    *out_len = 2 * sizeof *t;
    return 0;
}

static int sleeper(const void *in, size_t len, void **out, size_t *out_len)
{
    (void)in, (void)len, (void)out, (void)out_len;
    sleep(30);
    return 0;
}

static int unregistered(const void *in, size_t len, void **out,
                        size_t *out_len)
{
    (void)in, (void)len, (void)out, (void)out_len;
    return 0;
}

static const corio_proc_fn fns[] = {upper, crash, fail_nospc, my_pid, spin,
                                    sleeper};

static corio_procpool *make(unsigned n)
{
    corio_procpool_opts o = {.workers = n, .fns = fns,
                             .nfns = sizeof fns / sizeof fns[0]};
    corio_procpool *pp = corio_procpool_new(&o);
    ASSERT_NOT_NULL(pp);
    return pp;
}

static void assert_no_children(void)
{
    ASSERT_EQ(waitpid(-1, NULL, WNOHANG), -1);
    ASSERT_EQ(errno, ECHILD);
}

static int basic_main(void *arg)
{
    corio_procpool *pp = arg;
    void *out;
    size_t n;
    ASSERT_EQ(corio_procpool_call(pp, upper, "hello", 5, &out, &n), 5);
    ASSERT_EQ(n, 5);
    ASSERT_TRUE(memcmp(out, "HELLO", 5) == 0);
    ASSERT_EQ(((char *)out)[5], '\0'); /* a C string, for text results */
    free(out);
    ASSERT_ERR(corio_procpool_call(pp, fail_nospc, NULL, 0, &out, &n),
               -ENOSPC);
    ASSERT_NULL(out);
    ASSERT_ERR(corio_procpool_call(pp, unregistered, NULL, 0, NULL, NULL),
               -EINVAL);
    ASSERT_NE(corio_procpool_call(pp, my_pid, NULL, 0, NULL, NULL),
              getpid());
    return 0;
}

TEST(procpool_runs_registered_functions_on_buffers)
{
    corio_procpool *pp = make(2);
    ASSERT_OK(corio_run(basic_main, pp));
    corio_procpool_close(pp);
    assert_no_children();
}

static double spans[2][2];

static int spin_call(void *arg)
{
    static int next;
    long iters = 50000000;
    void *out = NULL;
    size_t n;
    int rc = corio_procpool_call(arg, spin, &iters, sizeof iters, &out, &n);
    if (rc == 0 && n == sizeof spans[0]) {
        memcpy(spans[next & 1], out, n);
        next++;
    }
    free(out);
    return rc;
}

static int parallel_main(void *arg)
{
    corio_task *a = corio_spawn(spin_call, arg);
    corio_task *b = corio_spawn(spin_call, arg);
    ASSERT_OK(corio_join(a));
    ASSERT_OK(corio_join(b));
    /* Both ran at once, in two processes, while this loop waited. */
    ASSERT_LT(spans[0][0], spans[1][1]);
    ASSERT_LT(spans[1][0], spans[0][1]);
    return 0;
}

TEST_OPTS(procpool_runs_cpu_bound_work_in_parallel, .labels = "slow")
{
    if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
        th_skip("one CPU");
    corio_procpool *pp = make(2);
    ASSERT_OK(corio_run(parallel_main, pp));
    corio_procpool_close(pp);
}

static int crash_main(void *arg)
{
    corio_procpool *pp = arg;
    ASSERT_ERR(corio_procpool_call(pp, crash, NULL, 0, NULL, NULL), -EPIPE);
    ASSERT_EQ(corio_procpool_replaced(pp), 1);
    /* The pool is whole again: both workers answer. */
    corio_task *t[4];
    for (int i = 0; i < 4; i++)
        t[i] = corio_spawn(basic_main, pp);
    for (int i = 0; i < 4; i++)
        ASSERT_OK(corio_join(t[i]));
    return 0;
}

TEST(procpool_a_crashing_worker_is_reported_and_replaced)
{
    corio_procpool *pp = make(2);
    ASSERT_OK(corio_run(crash_main, pp));
    corio_procpool_close(pp);
    assert_no_children();
}

static int cancel_main(void *arg)
{
    corio_procpool *pp = arg;
    corio_scope s;
    corio_scope_enter(&s, 0.05);
    double t0 = corio_time();
    /* The running call's worker is killed, so this ends at once. */
    ASSERT_ERR(corio_procpool_call(pp, sleeper, NULL, 0, NULL, NULL),
               -ETIMEDOUT);
    ASSERT_LT(corio_time() - t0, 5.0);
    corio_scope_exit(&s);
    ASSERT_EQ(corio_procpool_replaced(pp), 1);
    return basic_main(pp);
}

TEST(procpool_cancel_kills_and_replaces_the_worker)
{
    corio_procpool *pp = make(1);
    ASSERT_OK(corio_run(cancel_main, pp));
    corio_procpool_close(pp);
    assert_no_children();
}

static pid_t pids[8];

static int collect_pids(void *arg)
{
    /* Keep every worker busy at once, then ask each call for its pid. */
    corio_task *t[6];
    for (int i = 0; i < 6; i++)
        t[i] = corio_spawn(spin_call, arg);
    for (int i = 0; i < 6; i++)
        ASSERT_OK(corio_join(t[i]));
    for (int i = 0; i < 8; i++)
        pids[i] = corio_procpool_call(arg, my_pid, NULL, 0, NULL, NULL);
    return 0;
}

TEST(procpool_close_leaves_no_process_behind)
{
    corio_procpool *pp = make(3);
    ASSERT_OK(corio_run(collect_pids, pp));
    corio_procpool_close(pp);
    assert_no_children();
    for (int i = 0; i < 8; i++) {
        ASSERT_GT(pids[i], 0);
        ASSERT_EQ(kill(pids[i], 0), -1);
        ASSERT_EQ(errno, ESRCH);
    }
}

TEST(procpool_start_failures_unwind_cleanly)
{
    corio_procpool_opts bad = {.workers = 1, .fns = fns, .nfns = 0};
    ASSERT_NULL(corio_procpool_new(&bad));
    ASSERT_EQ(errno, EINVAL);
    corio_procpool_opts o = {.workers = 2, .fns = fns,
                             .nfns = sizeof fns / sizeof fns[0]};
    for (long n = 1;; n++) {
        corio__fault_syscall(n);
        corio_procpool *pp = corio_procpool_new(&o);
        corio__fault_syscall(0);
        if (pp) {
            corio_procpool_close(pp);
            break;
        }
        ASSERT_TRUE(errno == EMFILE || errno == EAGAIN);
        assert_no_children();
        ASSERT_LT(n, 20);
    }
    for (long n = 1;; n++) {
        corio__fault_alloc(n);
        corio_procpool *pp = corio_procpool_new(&o);
        corio__fault_alloc(0);
        if (pp) {
            corio_procpool_close(pp);
            break;
        }
        ASSERT_EQ(errno, ENOMEM);
        ASSERT_LT(n, 20);
    }
    assert_no_children();
}

/* SPDX-License-Identifier: MIT */
/* Stacks: overflow ends the process with a message naming the task (also
 * with the mprotect guards of older kernels), stacks are committed lazily,
 * pooled, trimmed, and guard regions do not cost a mapping each. */
#include "harness.h"

#include <corio.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/testing.h"

static volatile long limit = -1; /* never reached: recursion until overflow */

static long recurse(long n)
{
    volatile char pad[512];
    pad[0] = (char)n;
    if (n == limit)
        return 0;
    return recurse(n + 1) + pad[0];
}

static int sleep_short(void *arg)
{
    (void)arg;
    return corio_sleep(0.001);
}

static int overflow(void *arg)
{
    (void)arg;
    return (int)recurse(0);
}

static int spawn_overflow(void *arg)
{
    (void)arg;
    corio_task_opts o = {.name = "deep-diver", .stack_size = 32 * 1024};
    corio_task *t = corio_spawn_opts(overflow, NULL, &o);
    return corio_join(t);
}

static void child_overflow(void *arg)
{
    (void)arg;
    corio_run(spawn_overflow, NULL);
}

static void expect_overflow_message(void)
{
    char out[2048];
    int status = th_fork_capture(child_overflow, NULL, out, sizeof out);
    ASSERT_TRUE(WIFSIGNALED(status));
    ASSERT_TRUE(WTERMSIG(status) == SIGSEGV || WTERMSIG(status) == SIGBUS);
    if (!strstr(out, "corio: stack overflow in task \"deep-diver\""))
        FAIL("no overflow message; stderr was: %s", out);
    ASSERT_TRUE(strstr(out, "stack 32768 bytes") != NULL);
}

TEST(stack_overflow_ends_the_process_naming_the_task)
{
    expect_overflow_message();
}

static int huge_frame(void *arg)
{
    (void)arg;
    volatile char big[200 * 1024]; /* far larger than stack and guard */
    big[0] = 1;
    return big[0];
}

static int spawn_huge(void *arg)
{
    (void)arg;
    corio_task_opts o = {.name = "deep-diver", .stack_size = 32 * 1024};
    return corio_join(corio_spawn_opts(huge_frame, NULL, &o));
}

static void child_huge(void *arg)
{
    (void)arg;
    corio_run(spawn_huge, NULL);
}

TEST(a_frame_larger_than_the_guard_is_caught_too)
{
    if (TH_ASAN)
        th_skip("ASan lays out large frames itself, off the task's stack");
    char out[2048];
    int status = th_fork_capture(child_huge, NULL, out, sizeof out);
    ASSERT_TRUE(WIFSIGNALED(status));
    if (!strstr(out, "corio: stack overflow in task \"deep-diver\""))
        FAIL("no overflow message; stderr was: %s", out);
}

static int spawn_many(void *arg)
{
    (void)arg;
    /* Starting the next task (and so making its stack) happens on the
     * stack of the task that suspends: a small one must be enough. */
    enum { N = 3000 };
    static corio_task *t[N];
    for (int i = 0; i < N; i++)
        t[i] = corio_spawn(sleep_short, NULL);
    for (int i = 0; i < N; i++)
        if (corio_join(t[i]) != 0)
            return -1;
    return 0;
}

static int small_spawner(void *arg)
{
    (void)arg;
    corio_task_opts o = {.name = "small", .stack_size = 16 * 1024};
    return corio_join(corio_spawn_opts(spawn_many, NULL, &o));
}

TEST(a_task_with_the_smallest_stack_can_start_thousands)
{
    if (TH_ASAN)
        th_skip("ASan frames need more than the smallest stack");
    ASSERT_OK(corio_run(small_spawner, NULL));
}

TEST(stack_overflow_with_mprotect_guards)
{
    /* The fallback for kernels without MADV_GUARD_INSTALL. */
    setenv("CORIO_STACK_GUARD", "mprotect", 1);
    expect_overflow_message();
}

static int sleep_a_bit(void *arg)
{
    (void)arg;
    return corio_sleep(0.01);
}

static int quick(void *arg)
{
    (void)arg;
    return 0;
}

static int pooled(void *arg)
{
    (void)arg;
    corio_loop *loop = corio_loop_current();
    struct corio__stack_stats st;
    /* Tasks that end before the next starts share one stack. */
    for (int i = 0; i < 1000; i++)
        ASSERT_OK(corio_join(corio_spawn(quick, NULL)));
    corio__stack_stats(loop, &st);
    ASSERT_LE(st.carved, 18); /* main's, one shared, at most one batch */
    ASSERT_EQ(st.in_use, 1);  /* main's */
    size_t carved = st.carved;
    /* A second wave of concurrent tasks reuses the first wave's stacks. */
    corio_task *t[200];
    for (int wave = 0; wave < 2; wave++) {
        for (int i = 0; i < 200; i++)
            t[i] = corio_spawn(sleep_a_bit, NULL);
        for (int i = 0; i < 200; i++)
            ASSERT_OK(corio_join(t[i]));
        corio__stack_stats(loop, &st);
        if (wave == 0)
            carved = st.carved;
        else
            ASSERT_EQ(st.carved, carved);
    }
    ASSERT_GE(carved, 200);
    /* Trimmed stacks go cold and are still usable. */
    corio__stack_trim_all(loop);
    corio__stack_stats(loop, &st);
    ASSERT_EQ(st.hot, 0);
    ASSERT_GE(st.cold, 200);
    for (int i = 0; i < 200; i++)
        t[i] = corio_spawn(sleep_a_bit, NULL);
    for (int i = 0; i < 200; i++)
        ASSERT_OK(corio_join(t[i]));
    corio__stack_stats(loop, &st);
    ASSERT_EQ(st.carved, carved);
    return 0;
}

TEST(stacks_are_pooled_and_trimmed)
{
    ASSERT_OK(corio_run(pooled, NULL));
}

static long resident_pages(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, res = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &size, &res) != 2)
            res = 0;
        fclose(f);
    }
    return res;
}

static int count_maps(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    int n = 0, c;
    if (!f)
        return -1;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

static int lazy(void *arg)
{
    (void)arg;
    enum { N = 5000 };
    static corio_task *t[N];
    int maps0 = count_maps();
    long res0 = resident_pages();
    for (int i = 0; i < N; i++)
        t[i] = corio_spawn(sleep_a_bit, NULL);
    ASSERT_OK(corio_sleep(0.001)); /* all started and sleeping */
    long grown = resident_pages() - res0;
    int maps = count_maps() - maps0;
    for (int i = 0; i < N; i++)
        ASSERT_OK(corio_join(t[i]));
    /* Each sleeping task touched about one page of its 64 KiB stack
     * (ASan adds shadow pages and larger frames). */
    if (grown > N * (TH_ASAN ? 5 : 3) && !th_under_valgrind())
        FAIL("%ld pages resident for %d tasks", grown, N);
    struct corio__stack_stats st;
    corio__stack_stats(corio_loop_current(), &st);
    if (st.guard_inline && !TH_ASAN) {
        /* One mapping per region, not one per guard. (ASan's allocator
         * adds mappings of its own.) */
        ASSERT_LT(maps, 20);
    }
    return 0;
}

TEST(stacks_are_committed_lazily_and_guards_share_mappings)
{
    ASSERT_OK(corio_run(lazy, NULL));
}

static void child_env_overflow(void *arg)
{
    (void)arg;
    setenv("CORIO_STACK_SIZE", "24k", 1);
    corio_task_opts o = {.name = "env-sized"};
    corio_loop *loop = corio_loop_new(NULL);
    corio_task *t = corio_loop_spawn(loop, overflow, NULL, &o);
    corio_loop_run_until_complete(loop, t);
}

TEST(stack_size_from_the_environment)
{
    char out[2048];
    int status = th_fork_capture(child_env_overflow, NULL, out, sizeof out);
    ASSERT_TRUE(WIFSIGNALED(status));
    if (!strstr(out, "task \"env-sized\"") ||
        !strstr(out, "stack 24576 bytes"))
        FAIL("unexpected stderr: %s", out);
}

static int bad_write(void *arg)
{
    volatile char *p = arg;
    p[100] = 1; /* a fault, but not in a guard region */
    return 0;
}

static void child_other_segv(void *arg)
{
    corio_run(bad_write, arg);
}

static int raises(void *arg)
{
    (void)arg;
    raise(SIGSEGV);
    return 0;
}

static void child_raise(void *arg)
{
    (void)arg;
    corio_run(raises, NULL);
}

TEST(other_faults_get_the_default_action)
{
    char out[512];
    char *page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
                      -1, 0);
    ASSERT_TRUE(page != MAP_FAILED);
    int status = th_fork_capture(child_other_segv, page, out, sizeof out);
    ASSERT_TRUE(strstr(out, "stack overflow") == NULL);
    /* The handler that was there before corio's gets the fault: the
     * default action, or ASan's report. */
    if (TH_ASAN) {
        ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0);
        ASSERT_TRUE(strstr(out, "AddressSanitizer") != NULL);
    } else {
        ASSERT_TRUE(WIFSIGNALED(status));
        ASSERT_EQ(WTERMSIG(status), SIGSEGV);
    }
    /* A SIGSEGV sent by raise() is not lost either. */
    status = th_fork_capture(child_raise, NULL, out, sizeof out);
    if (TH_ASAN)
        ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0);
    else
        ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
    munmap(page, 4096);
}

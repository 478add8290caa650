/* SPDX-License-Identifier: MIT */
/* Observability: task descriptions, dumps with backtraces, SIGQUIT dumps,
 * debug mode (slow tasks, unretrieved failures, what keeps a loop open,
 * wrong-thread calls) and the deterministic test mode (seeded shuffle,
 * virtual clock). */
#include "harness.h"

#include <corio.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define RUN(fn) ASSERT_OK(corio_run(fn, NULL))

static int sleeper(void *arg)
{
    (void)arg;
    return corio_sleep(10);
}

static corio_lock lk = CORIO_LOCK_INIT;

static int locker(void *arg)
{
    (void)arg;
    int rc = corio_lock_acquire(&lk);
    if (rc == 0)
        corio_lock_release(&lk);
    return rc;
}

static int info(void *arg)
{
    (void)arg;
    corio_task_opts o = {.name = "napper"};
    corio_task *s = corio_spawn_opts(sleeper, NULL, &o);
    int line = __LINE__ - 1;
    ASSERT_OK(corio_lock_acquire(&lk));
    corio_task *l = corio_spawn(locker, NULL);
    corio_task_info in;
    ASSERT_OK(corio_task_info_get(s, &in));
    ASSERT_STR_EQ(in.state, "new");
    ASSERT_OK(corio_yield());
    ASSERT_OK(corio_task_info_get(s, &in));
    ASSERT_STR_EQ(in.name, "napper");
    ASSERT_STR_EQ(in.state, "suspended");
    ASSERT_TRUE(strncmp(in.waits_on, "sleep", 5) == 0);
    ASSERT_TRUE(strstr(in.file, "test_debug.c") != NULL);
    ASSERT_EQ(in.line, line);
    ASSERT_EQ(in.parent_id, corio_task_id(corio_current()));
    ASSERT_EQ(in.stack_size, 64 * 1024 * (TH_ASAN ? 4 : 1));
    ASSERT_GT(in.stack_used, 0);
    ASSERT_LE(in.stack_used, in.stack_size);
    ASSERT_OK(corio_task_info_get(l, &in));
    ASSERT_TRUE(strncmp(in.waits_on, "lock", 4) == 0);
    ASSERT_OK(corio_task_info_get(corio_current(), &in));
    ASSERT_STR_EQ(in.state, "running");
    ASSERT_STR_EQ(in.waits_on, "");
    ASSERT_ERR(corio_task_info_get(NULL, &in), -EINVAL);
    ASSERT_OK(corio_lock_release(&lk));
    ASSERT_OK(corio_join(l));
    corio_cancel(s);
    ASSERT_ERR(corio_join(s), -ECANCELED);
    return 0;
}

TEST_OPTS(task_info_describes_state_wait_and_site, .labels = "order")
{
    RUN(info);
}

static int reader(void *arg)
{
    int fd = (int)(intptr_t)arg;
    return corio_wait_fd(fd, CORIO_READABLE);
}

static int dump(void *arg)
{
    (void)arg;
    corio_task_opts o = {.name = "napper"};
    corio_task *s = corio_spawn_opts(sleeper, NULL, &o);
    int sv[2];
    ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv));
    corio_task *r = corio_spawn(reader, (void *)(intptr_t)sv[0]);
    ASSERT_OK(corio_yield());
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    ASSERT_EQ(corio_dump_tasks(f), 3);
    fclose(f);
    ASSERT_TRUE(strstr(text, "task ") != NULL);
    ASSERT_TRUE(strstr(text, "\"napper\" suspended on sleep") != NULL);
    ASSERT_TRUE(strstr(text, "read fd") != NULL);
    ASSERT_TRUE(strstr(text, "\"main\" running") != NULL);
    ASSERT_TRUE(strstr(text, "spawned at") != NULL);
    /* The sleeping task's backtrace goes through corio_sleep. */
    ASSERT_TRUE(strstr(text, "corio_sleep") != NULL);
    free(text);
    /* The probe left every task as it was. */
    ASSERT_FALSE(corio_task_done(s));
    ASSERT_EQ(write(sv[1], "x", 1), 1);
    ASSERT_EQ(corio_join(r), CORIO_READABLE);
    corio_cancel(s);
    ASSERT_ERR(corio_join(s), -ECANCELED);
    close(sv[0]);
    close(sv[1]);
    return 0;
}

TEST_OPTS(dump_shows_every_task_with_its_backtrace, .labels = "order")
{
    RUN(dump);
    ASSERT_ERR(corio_dump_tasks(stderr), -EPERM);
}

/* ---- SIGQUIT ---- */

static int spinner(void *arg)
{
    (void)arg;
    double t0 = th_now();
    while (th_now() - t0 < 0.3)
        ; /* never suspends */
    return 0;
}

static atomic_int quit_sent;

/* Spins until the signal is sent, then a little longer for the handler:
 * a fixed spin is not enough where threads are slow to be scheduled
 * (valgrind runs one thread at a time). */
static int quit_spinner(void *arg)
{
    (void)arg;
    double t0 = th_now();
    while (!atomic_load(&quit_sent) && th_now() - t0 < 30)
        ; /* never suspends */
    t0 = th_now();
    while (th_now() - t0 < 0.2)
        ;
    return 0;
}

static void *send_quit(void *arg)
{
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
    /* At the loop's thread, which is running the spinner. */
    pthread_kill(*(pthread_t *)arg, SIGQUIT);
    atomic_store(&quit_sent, 1);
    return NULL;
}

static int quit_main(void *arg)
{
    (void)arg;
    corio_task_opts o = {.name = "spinner"};
    corio_task *sp = corio_spawn_opts(quit_spinner, NULL, &o);
    corio_task_opts o2 = {.name = "napper"};
    corio_task *s = corio_spawn_opts(sleeper, NULL, &o2);
    pthread_t th, self = pthread_self();
    pthread_create(&th, NULL, send_quit, &self);
    corio_join(sp);
    corio_sleep(0.01); /* the loop iterates: the full dump */
    pthread_join(th, NULL);
    corio_cancel(s);
    corio_join(s);
    return 0;
}

static void child_quit(void *arg)
{
    (void)arg;
    if (corio_dump_on_sigquit(true) != 0)
        _exit(3);
    _exit(corio_run(quit_main, NULL));
}

TEST(sigquit_dumps_even_a_task_that_never_suspends)
{
    char out[16384];
    int status = th_fork_capture(child_quit, NULL, out, sizeof out);
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_EQ(WEXITSTATUS(status), 0);
    /* At once, from the handler: the running task and where it is. */
    if (!strstr(out, "the running task is \"spinner\""))
        FAIL("no immediate report: %s", out);
    /* Then the loop's dump, with the sleeping task. */
    ASSERT_TRUE(strstr(out, "\"napper\" suspended on sleep") != NULL);
}

/* ---- debug mode ---- */

static int runs_long(void *arg)
{
    (void)arg;
    corio_task_opts o = {.name = "hog"};
    return corio_join(corio_spawn_opts(spinner, NULL, &o));
}

static void child_slow(void *arg)
{
    (void)arg;
    corio_loop_opts lo = {.debug = true, .slow_task = 0.05};
    corio_loop *loop = corio_loop_new(&lo);
    corio_task *t = corio_loop_spawn(loop, runs_long, NULL, NULL);
    int rc = corio_loop_run_until_complete(loop, t);
    corio_task_unref(t);
    _exit(rc == 0 && corio_loop_close(loop) == 0 ? 0 : 1);
}

TEST(debug_mode_reports_a_task_that_blocks_its_loop)
{
    char out[16384];
    int status = th_fork_capture(child_slow, NULL, out, sizeof out);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* The watchdog, while it runs; then the summary once it suspends. */
    if (!strstr(out, "task") || !strstr(out, "\"hog\" has run for"))
        FAIL("no watchdog report: %s", out);
    ASSERT_TRUE(strstr(out, "\"hog\" ran") != NULL);
}

static int fails(void *arg)
{
    (void)arg;
    return -EIO;
}

static int forgets(void *arg)
{
    (void)arg;
    corio_task_opts o = {.name = "forgotten"};
    corio_task_unref(corio_spawn_opts(fails, NULL, &o));
    return corio_sleep(0.001);
}

static void child_unobserved(void *arg)
{
    (void)arg;
    corio_loop_opts lo = {.debug = true};
    corio_loop *loop = corio_loop_new(&lo);
    corio_task *t = corio_loop_spawn(loop, forgets, NULL, NULL);
    corio_loop_run_until_complete(loop, t);
    /* Refused while t is referenced: the report says why. */
    corio_loop_close(loop);
    corio_task_unref(t);
    _exit(corio_loop_close(loop) == 0 ? 0 : 1);
}

TEST(debug_mode_reports_failures_nobody_retrieved_and_close_blockers)
{
    char out[8192];
    int status = th_fork_capture(child_unobserved, NULL, out, sizeof out);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    if (!strstr(out, "\"forgotten\"") || !strstr(out, "nobody took its"))
        FAIL("no unretrieved-failure report: %s", out);
    ASSERT_TRUE(strstr(out, "cannot close: 1 tasks not freed") != NULL);
}

static corio_loop *dbg_loop;
static int thread_rc;

static void noop(void *arg)
{
    (void)arg;
}

static void *wrong_thread(void *arg)
{
    (void)arg;
    thread_rc = corio_loop_call_soon(dbg_loop, noop, NULL, NULL);
    return NULL;
}

static int calls_from_thread(void *arg)
{
    (void)arg;
    pthread_t th;
    pthread_create(&th, NULL, wrong_thread, NULL);
    while (pthread_tryjoin_np(th, NULL) != 0)
        corio_sleep(0.001);
    return thread_rc;
}

static void child_thread(void *arg)
{
    (void)arg;
    corio_loop_opts lo = {.debug = true};
    dbg_loop = corio_loop_new(&lo);
    corio_task *t = corio_loop_spawn(dbg_loop, calls_from_thread, NULL, NULL);
    int rc = corio_loop_run_until_complete(dbg_loop, t);
    corio_task_unref(t);
    corio_loop_close(dbg_loop);
    _exit(rc == -EPERM ? 0 : 1);
}

TEST(debug_mode_refuses_calls_from_another_thread)
{
    char out[8192];
    int status = th_fork_capture(child_thread, NULL, out, sizeof out);
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_EQ(WEXITSTATUS(status), 0);
    ASSERT_TRUE(strstr(out, "called from another thread") != NULL);
}

/* ---- deterministic mode ---- */

static char order[64];
static int norder;

static int letter(void *arg)
{
    order[norder++] = (char)(intptr_t)arg;
    return 0;
}

static int letters(void *arg)
{
    (void)arg;
    corio_task *t[8];
    for (int i = 0; i < 8; i++)
        t[i] = corio_spawn(letter, (void *)(intptr_t)('a' + i));
    for (int i = 0; i < 8; i++)
        corio_join(t[i]);
    return 0;
}

static void run_seeded(uint64_t seed, char *out)
{
    corio_loop_opts lo = {.seed = seed};
    corio_loop *loop = corio_loop_new(&lo);
    norder = 0;
    corio_task *t = corio_loop_spawn(loop, letters, NULL, NULL);
    ASSERT_OK(corio_loop_run_until_complete(loop, t));
    corio_task_unref(t);
    ASSERT_OK(corio_loop_close(loop));
    order[norder] = 0;
    strcpy(out, order);
}

TEST(a_seed_shuffles_the_ready_queue_reproducibly)
{
    char a[64], b[64], c[64];
    run_seeded(12345, a);
    run_seeded(12345, b);
    ASSERT_STR_EQ(a, b); /* same seed, same interleaving */
    bool differs = false;
    for (uint64_t seed = 1; seed < 20 && !differs; seed++) {
        run_seeded(seed, c);
        differs = strcmp(c, "abcdefgh") != 0;
    }
    ASSERT_TRUE(differs); /* and some seed is not FIFO */
}

/* corio_yield's promise holds under a seed too: every task ready when a
 * task yields runs before it continues, including one it has just
 * spawned while a shuffled batch was under way. */
static int set_flag(void *arg)
{
    *(int *)arg = 1;
    return 0;
}

static int spawn_and_yield(void *arg)
{
    int *missed = arg;
    for (int i = 0; i < 20; i++) {
        int ran = 0;
        corio_task *t = corio_spawn(set_flag, &ran);
        ASSERT_NOT_NULL(t);
        ASSERT_OK(corio_yield());
        *missed += !ran;
        ASSERT_EQ(corio_join(t), 0); /* consumes t */
    }
    return 0;
}

static int yielders(void *arg)
{
    corio_task *t[6];
    for (int i = 0; i < 6; i++)
        ASSERT_NOT_NULL(t[i] = corio_spawn(spawn_and_yield, arg));
    for (int i = 0; i < 6; i++) {
        ASSERT_OK(corio_join(t[i]));
    }
    return 0;
}

TEST(a_yield_under_a_seed_lets_every_ready_task_run_first)
{
    for (uint64_t seed = 1; seed <= 20; seed++) {
        corio_loop_opts lo = {.seed = seed};
        corio_loop *loop = corio_loop_new(&lo);
        ASSERT_NOT_NULL(loop);
        int missed = 0;
        corio_task *t = corio_loop_spawn(loop, yielders, &missed, NULL);
        ASSERT_OK(corio_loop_run_until_complete(loop, t));
        corio_task_unref(t);
        ASSERT_OK(corio_loop_close(loop));
        ASSERT_EQ(missed, 0);
    }
}

static int long_sleep(void *arg)
{
    (void)arg;
    double v0 = corio_time(), r0 = th_now();
    ASSERT_OK(corio_sleep(3600));
    corio_scope s;
    ASSERT_OK(corio_scope_enter(&s, 60));
    ASSERT_ERR(corio_sleep(1e6), -ETIMEDOUT);
    corio_scope_exit(&s);
    ASSERT_NEAR(corio_time() - v0, 3660, 0.01);
    ASSERT_LT(th_now() - r0, 1.0); /* no real time passed */
    return 0;
}

TEST(virtual_time_jumps_to_the_next_timer)
{
    corio_loop_opts lo = {.virtual_time = true};
    corio_loop *loop = corio_loop_new(&lo);
    corio_task *t = corio_loop_spawn(loop, long_sleep, NULL, NULL);
    ASSERT_OK(corio_loop_run_until_complete(loop, t));
    corio_task_unref(t);
    ASSERT_OK(corio_loop_close(loop));
}

/* SPDX-License-Identifier: MIT */
/* Signals: waiting for a signal in a task, handlers, the signal mask put
 * back, cancellation; and corio_run's SIGINT rule, each in a child
 * process: the first SIGINT cancels main, a second ends the process, and
 * a program with its own SIGINT handling is left alone. */
#include "harness.h"

#include <corio.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static bool blocked(int sig)
{
    sigset_t cur;
    pthread_sigmask(SIG_BLOCK, NULL, &cur);
    return sigismember(&cur, sig);
}

static void *kill_later(void *arg)
{
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    kill(getpid(), (int)(intptr_t)arg);
    return NULL;
}

static int wait_main(void *arg)
{
    (void)arg;
    int sigs[] = {SIGUSR1, SIGUSR2};
    corio_signal *s = corio_signal_open(sigs, 2);
    ASSERT_NOT_NULL(s);
    ASSERT_TRUE(blocked(SIGUSR1));
    pthread_t th;
    pthread_create(&th, NULL, kill_later, (void *)(intptr_t)SIGUSR2);
    ASSERT_EQ(corio_signal_wait(s), SIGUSR2);
    pthread_join(th, NULL);
    /* One already pending is returned at once. */
    kill(getpid(), SIGUSR1);
    ASSERT_EQ(corio_signal_wait(s), SIGUSR1);
    corio_signal_close(s);
    ASSERT_FALSE(blocked(SIGUSR1));
    ASSERT_FALSE(blocked(SIGUSR2));
    return 0;
}

TEST(signal_wait_returns_each_signal)
{
    ASSERT_OK(corio_run(wait_main, NULL));
}

static int mask_main(void *arg)
{
    (void)arg;
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &one, NULL);
    int sig = SIGUSR1;
    corio_signal *a = corio_signal_open(&sig, 1);
    corio_signal *b = corio_signal_open(&sig, 1);
    corio_signal_close(a);
    corio_signal_close(b);
    /* It was blocked before: it stays blocked. */
    ASSERT_TRUE(blocked(SIGUSR1));
    pthread_sigmask(SIG_UNBLOCK, &one, NULL);
    int bad[] = {SIGKILL};
    ASSERT_NULL(corio_signal_open(bad, 1));
    ASSERT_EQ(errno, EINVAL);
    return 0;
}

TEST(signal_close_restores_only_what_it_changed)
{
    ASSERT_OK(corio_run(mask_main, NULL));
    int sig = SIGUSR1;
    ASSERT_NULL(corio_signal_open(&sig, 1));
    ASSERT_EQ(errno, EPERM);
}

static int cancel_main(void *arg)
{
    (void)arg;
    int sig = SIGUSR1;
    corio_signal *s = corio_signal_open(&sig, 1);
    corio_scope sc;
    corio_scope_enter(&sc, 0.02);
    ASSERT_ERR(corio_signal_wait(s), -ETIMEDOUT);
    corio_scope_exit(&sc);
    corio_signal_close(s);
    return 0;
}

TEST(signal_wait_is_cancellable)
{
    ASSERT_OK(corio_run(cancel_main, NULL));
}

static int handled;

static void on_usr1(int signo, void *arg)
{
    handled += signo == SIGUSR1 ? *(int *)arg : 1000;
}

static int handler_main(void *arg)
{
    (void)arg;
    static int weight = 1;
    ASSERT_OK(corio_signal_add_handler(SIGUSR1, on_usr1, &weight));
    ASSERT_OK(corio_signal_add_handler(SIGUSR2, on_usr1, &weight));
    kill(getpid(), SIGUSR1);
    while (handled < 1)
        ASSERT_OK(corio_sleep(0.001));
    ASSERT_OK(corio_signal_remove_handler(SIGUSR2));
    ASSERT_ERR(corio_signal_remove_handler(SIGUSR2), -ENOENT);
    kill(getpid(), SIGUSR1);
    while (handled < 2)
        ASSERT_OK(corio_sleep(0.001));
    ASSERT_OK(corio_signal_remove_handler(SIGUSR1));
    ASSERT_EQ(handled, 2);
    ASSERT_ERR(corio_signal_add_handler(SIGKILL, on_usr1, NULL), -EINVAL);
    return 0;
}

TEST(add_signal_handler_calls_the_handler_on_the_loop)
{
    ASSERT_OK(corio_run(handler_main, NULL));
    ASSERT_FALSE(blocked(SIGUSR1));
}

static int leave_handler(void *arg)
{
    (void)arg;
    return corio_signal_add_handler(SIGUSR1, on_usr1, &handled);
}

TEST(corio_run_ends_the_handler_task_left_behind)
{
    ASSERT_OK(corio_run(leave_handler, NULL));
}

/* ---- corio_run and SIGINT, in child processes ---- */

static int ready_fd;

static int sleeps_then_reports(void *arg)
{
    (void)arg;
    ssize_t n = write(ready_fd, "r", 1);
    (void)n;
    int rc = corio_sleep(30);
    return rc == -ECANCELED ? 42 : 1;
}

static int ignores_cancellation(void *arg)
{
    (void)arg;
    corio_scope s;
    corio_scope_enter(&s, -1);
    corio_scope_shield(&s, true);
    ssize_t n = write(ready_fd, "r", 1);
    /* Report the first SIGINT's cancellation (held off by the shield),
     * so that the second is sent only then: two SIGINTs pending at once
     * would be one. */
    double until = th_now() + 30;
    while (!corio_task_cancelling(corio_current()) && th_now() < until)
        corio_sleep(0.001);
    n = write(ready_fd, "c", 1);
    (void)n;
    corio_sleep(30);
    corio_scope_exit(&s);
    return 1;
}

static volatile sig_atomic_t own_handler_ran;

static void own_handler(int sig)
{
    (void)sig;
    own_handler_ran = 1;
}

static int with_own_handler(void *arg)
{
    (void)arg;
    ssize_t n = write(ready_fd, "r", 1);
    (void)n;
    /* Until the handler ran (the SIGINT may come late on a busy
     * machine), then a while longer: no cancellation may come. */
    double until = th_now() + 30;
    int rc = 0;
    while (rc == 0 && !own_handler_ran && th_now() < until)
        rc = corio_sleep(0.005);
    if (rc == 0)
        rc = corio_sleep(0.1);
    return rc == 0 && own_handler_ran ? 43 : 1;
}

/* Run main in a child under corio_run, send it `sigints` SIGINTs once it
 * is ready, and return its wait status. */
static int run_child(corio_fn main, int sigints, bool install_handler)
{
    int p[2];
    ASSERT_OK(pipe(p));
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        ready_fd = p[1];
        if (install_handler)
            signal(SIGINT, own_handler);
        int rc = corio_run(main, NULL);
        /* Everything is as it was. */
        struct sigaction sa;
        sigaction(SIGINT, NULL, &sa);
        if (blocked(SIGINT) ||
            (!install_handler && sa.sa_handler != SIG_DFL))
            _exit(3);
        _exit(rc);
    }
    close(p[1]);
    char c;
    ASSERT_EQ(read(p[0], &c, 1), 1);
    for (int i = 0; i < sigints; i++) {
        /* After the first, each waits for the child's word that the one
         * before was taken (ignores_cancellation sends it). */
        if (i > 0)
            ASSERT_EQ(read(p[0], &c, 1), 1);
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
        kill(pid, SIGINT);
    }
    close(p[0]);
    int status;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    return status;
}

TEST(corio_run_turns_the_first_sigint_into_cancellation)
{
    int st = run_child(sleeps_then_reports, 1, false);
    ASSERT_TRUE(WIFEXITED(st));
    ASSERT_EQ(WEXITSTATUS(st), 42);
}

TEST(corio_run_exits_at_once_on_a_second_sigint)
{
    int st = run_child(ignores_cancellation, 2, false);
    ASSERT_TRUE(WIFSIGNALED(st));
    ASSERT_EQ(WTERMSIG(st), SIGINT);
}

TEST(corio_run_leaves_a_programs_own_sigint_handler_alone)
{
    int st = run_child(with_own_handler, 1, true);
    ASSERT_TRUE(WIFEXITED(st));
    ASSERT_EQ(WEXITSTATUS(st), 43);
}

TEST(corio_run_restores_the_signal_mask)
{
    int sig = 0;
    (void)sig;
    ASSERT_OK(corio_run(cancel_main, NULL));
    ASSERT_FALSE(blocked(SIGINT));
    struct sigaction sa;
    sigaction(SIGINT, NULL, &sa);
    ASSERT_TRUE(sa.sa_handler == SIG_DFL);
}

/* SPDX-License-Identifier: MIT */
/* Subprocesses: pipes, exit codes and signals as asyncio returncodes,
 * communicate (with a timeout), no descriptor leaks into the child, no
 * SIGCHLD handler, no zombies, no SIGPIPE, cancellation of every
 * suspending call, and fault injection. */
#include "harness.h"

#include <corio.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/testing.h"

static const char *const echo_argv[] = {"echo", "hello", NULL};

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

static int exec_main(void *arg)
{
    (void)arg;
    corio_process_opts o = {.stdout_mode = CORIO_STDIO_PIPE};
    corio_process *p = corio_process_exec("echo", echo_argv, &o);
    ASSERT_NOT_NULL(p);
    ASSERT_GT(corio_process_pid(p), 0);
    char buf[64];
    size_t n = 0;
    ssize_t r;
    while ((r = corio_process_read(p, 1, buf + n, sizeof buf - n)) > 0)
        n += (size_t)r;
    ASSERT_EQ(r, 0);
    ASSERT_EQ(n, 6);
    ASSERT_TRUE(memcmp(buf, "hello\n", 6) == 0);
    int status = -1;
    ASSERT_OK(corio_process_wait(p, &status));
    ASSERT_EQ(status, 0);
    ASSERT_OK(corio_process_returncode(p, &status));
    ASSERT_ERR(corio_process_read(p, 2, buf, 1), -EBADF);
    ASSERT_ERR(corio_process_write(p, "x", 1), -EBADF);
    ASSERT_ERR(corio_process_send_signal(p, SIGTERM), -ESRCH);
    corio_process_close(p);
    return 0;
}

TEST(exec_reads_stdout_and_waits)
{
    ASSERT_OK(corio_run(exec_main, NULL));
}

static int status_of(const char *cmd)
{
    corio_process *p = corio_process_shell(cmd, NULL);
    ASSERT_NOT_NULL(p);
    int status = 999;
    ASSERT_OK(corio_process_wait(p, &status));
    corio_process_close(p);
    return status;
}

static int status_main(void *arg)
{
    (void)arg;
    ASSERT_EQ(status_of("exit 3"), 3);
    ASSERT_EQ(status_of("kill -9 $$"), -SIGKILL);
    ASSERT_NULL(corio_process_exec("no-such-program-corio", echo_argv, NULL));
    ASSERT_EQ(errno, ENOENT);
    const char *const argv[] = {"x", NULL};
    ASSERT_NULL(corio_process_exec("/proc/self/fd", argv, NULL));
    ASSERT_EQ(errno, EACCES);
    return 0;
}

TEST(returncodes_follow_asyncio_and_exec_errors_come_back)
{
    ASSERT_OK(corio_run(status_main, NULL));
    ASSERT_EQ(waitpid(-1, NULL, WNOHANG), -1); /* nothing left to reap */
}

static int cat_main(void *arg)
{
    (void)arg;
    corio_process_opts o = {.stdin_mode = CORIO_STDIO_PIPE,
                            .stdout_mode = CORIO_STDIO_PIPE};
    const char *const argv[] = {"cat", NULL};
    corio_process *p = corio_process_exec("cat", argv, &o);
    ASSERT_EQ(corio_process_write(p, "ping", 4), 4);
    char buf[8];
    ASSERT_EQ(corio_process_read(p, 1, buf, sizeof buf), 4);
    ASSERT_TRUE(memcmp(buf, "ping", 4) == 0);
    ASSERT_OK(corio_process_close_stdin(p));
    ASSERT_ERR(corio_process_close_stdin(p), -EBADF);
    ASSERT_EQ(corio_process_read(p, 1, buf, sizeof buf), 0);
    int status;
    ASSERT_OK(corio_process_wait(p, &status));
    ASSERT_EQ(status, 0);
    corio_process_close(p);
    return 0;
}

TEST(stdin_and_stdout_pipes_talk_to_the_child)
{
    ASSERT_OK(corio_run(cat_main, NULL));
}

static int communicate_main(void *arg)
{
    (void)arg;
    enum { N = 1 << 20 }; /* far more than a pipe holds */
    char *in = malloc(N);
    for (int i = 0; i < N; i++)
        in[i] = (char)('a' + i % 26);
    corio_process_opts o = {.stdin_mode = CORIO_STDIO_PIPE,
                            .stdout_mode = CORIO_STDIO_PIPE,
                            .stderr_mode = CORIO_STDIO_PIPE};
    corio_process *p = corio_process_shell("cat; echo oops >&2", &o);
    void *out, *err;
    size_t out_len, err_len;
    ASSERT_OK(corio_process_communicate(p, in, N, &out, &out_len, &err,
                                        &err_len, 10));
    ASSERT_EQ(out_len, N);
    ASSERT_TRUE(memcmp(out, in, N) == 0);
    ASSERT_STR_EQ(err, "oops\n");
    int status;
    ASSERT_OK(corio_process_returncode(p, &status));
    ASSERT_EQ(status, 0);
    free(out);
    free(err);
    free(in);
    corio_process_close(p);
    return 0;
}

TEST(communicate_feeds_and_drains_concurrently)
{
    ASSERT_OK(corio_run(communicate_main, NULL));
}

static int timeout_main(void *arg)
{
    (void)arg;
    corio_process_opts o = {.stdout_mode = CORIO_STDIO_PIPE};
    /* The child says when its output is in the pipe, so that a slow
     * machine's child cannot miss the timeout below. */
    char mark[64], cmd[128];
    snprintf(mark, sizeof mark, "/tmp/corio-partial-%d", (int)getpid());
    unlink(mark);
    snprintf(cmd, sizeof cmd, "echo partial; : > %s; exec sleep 30", mark);
    corio_process *p = corio_process_shell(cmd, &o);
    double until = th_now() + 10;
    while (access(mark, F_OK) != 0 && th_now() < until)
        ASSERT_OK(corio_sleep(0.005));
    ASSERT_OK(access(mark, F_OK));
    unlink(mark);
    void *out;
    size_t out_len;
    double t0 = corio_time();
    ASSERT_ERR(corio_process_communicate(p, NULL, 0, &out, &out_len, NULL,
                                         NULL, 0.2),
               -ETIMEDOUT);
    ASSERT_LT(corio_time() - t0, 5);
    /* What was read before the timeout is kept. */
    ASSERT_STR_EQ(out, "partial\n");
    free(out);
    /* The child keeps running, as with subprocess.communicate. */
    int status;
    ASSERT_ERR(corio_process_returncode(p, &status), -EAGAIN);
    ASSERT_OK(corio_process_terminate(p));
    ASSERT_OK(corio_process_wait(p, &status));
    ASSERT_EQ(status, -SIGTERM);
    corio_process_close(p);
    return 0;
}

TEST(communicate_timeout_keeps_the_output_and_the_child)
{
    ASSERT_OK(corio_run(timeout_main, NULL));
}

/* ---- descriptors ---- */

static int fds_of_child(bool keep, char *buf, size_t cap)
{
    corio_process_opts o = {.stdout_mode = CORIO_STDIO_PIPE,
                            .keep_fds = keep};
    const char *const argv[] = {"ls", "/proc/self/fd", NULL};
    corio_process *p = corio_process_exec("ls", argv, &o);
    ASSERT_NOT_NULL(p);
    size_t n = 0;
    ssize_t r;
    while ((r = corio_process_read(p, 1, buf + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    buf[n] = 0;
    int status;
    corio_process_wait(p, &status);
    corio_process_close(p);
    return status;
}

static int leak_main(void *arg)
{
    (void)arg;
    /* corio's own descriptors exist now (epoll, eventfds, a pidfd of
     * another child, pipes), and one of the application's lacks
     * close-on-exec. */
    corio_process_opts o = {.stdin_mode = CORIO_STDIO_PIPE};
    const char *const argv[] = {"cat", NULL};
    corio_process *other = corio_process_exec("cat", argv, &o);
    int plain = dup(0);
    ASSERT_GE(plain, 3);
    char buf[256];
    ASSERT_OK(fds_of_child(false, buf, sizeof buf));
    /* ls itself holds one for the directory it lists: 3. */
    ASSERT_STR_EQ(buf, "0\n1\n2\n3\n");
    ASSERT_OK(fds_of_child(true, buf, sizeof buf));
    char want[16];
    snprintf(want, sizeof want, "\n%d\n", plain);
    ASSERT_TRUE(strstr(buf, want) != NULL);
    close(plain);
    corio_process_close(other);
    return 0;
}

TEST(no_descriptor_leaks_into_the_child)
{
    ASSERT_OK(corio_run(leak_main, NULL));
}

static int stdio_main(void *arg)
{
    (void)arg;
    corio_process_opts o = {.stdout_mode = CORIO_STDIO_PIPE,
                            .stderr_mode = CORIO_STDIO_STDOUT};
    corio_process *p = corio_process_shell("echo out; echo err >&2", &o);
    void *out;
    size_t len;
    ASSERT_OK(corio_process_communicate(p, NULL, 0, &out, &len, NULL, NULL,
                                        -1));
    ASSERT_STR_EQ(out, "out\nerr\n");
    free(out);
    corio_process_close(p);

    int pp[2];
    ASSERT_OK(pipe2(pp, O_CLOEXEC));
    corio_process_opts f = {.stdin_mode = CORIO_STDIO_DEVNULL,
                            .stdout_mode = CORIO_STDIO_FD,
                            .stdout_fd = pp[1]};
    p = corio_process_shell("cat; echo via-fd", &f);
    int status;
    ASSERT_OK(corio_process_wait(p, &status));
    ASSERT_EQ(status, 0);
    corio_process_close(p);
    close(pp[1]);
    char buf[32] = {0};
    ASSERT_EQ(read(pp[0], buf, sizeof buf), 7);
    ASSERT_STR_EQ(buf, "via-fd\n");
    close(pp[0]);
    return 0;
}

TEST(stdio_modes_devnull_fd_and_stderr_to_stdout)
{
    ASSERT_OK(corio_run(stdio_main, NULL));
}

/* ---- signals, zombies, SIGPIPE ---- */

static int sigchld_main(void *arg)
{
    (void)arg;
    pid_t other = fork();
    if (other == 0)
        _exit(5);
    ASSERT_EQ(status_of("exit 0"), 0);
    struct sigaction sa;
    sigaction(SIGCHLD, NULL, &sa);
    ASSERT_TRUE(sa.sa_handler == SIG_DFL);
    /* corio reaped only its own child. */
    int st;
    ASSERT_EQ(waitpid(other, &st, 0), other);
    ASSERT_EQ(WEXITSTATUS(st), 5);
    return 0;
}

TEST(no_sigchld_handler_and_other_children_are_left_alone)
{
    ASSERT_OK(corio_run(sigchld_main, NULL));
}

static int close_main(void *arg)
{
    (void)arg;
    const char *const argv[] = {"sleep", "30", NULL};
    corio_process *p = corio_process_exec("sleep", argv, NULL);
    pid_t pid = corio_process_pid(p);
    corio_process_close(p);
    /* Killed and reaped: no zombie, no process. */
    ASSERT_EQ(waitpid(pid, NULL, WNOHANG), -1);
    ASSERT_EQ(errno, ECHILD);
    ASSERT_EQ(kill(pid, 0), -1);
    return 0;
}

TEST(close_kills_and_reaps_a_running_child)
{
    ASSERT_OK(corio_run(close_main, NULL));
}

static int sigpipe_main(void *arg)
{
    (void)arg;
    corio_process_opts o = {.stdin_mode = CORIO_STDIO_PIPE};
    corio_process *p = corio_process_shell("exit 0", &o);
    int status;
    ASSERT_OK(corio_process_wait(p, &status));
    static char big[1 << 17];
    ASSERT_ERR(corio_process_write(p, big, sizeof big), -EPIPE);
    sigset_t pending;
    sigpending(&pending);
    ASSERT_FALSE(sigismember(&pending, SIGPIPE));
    corio_process_close(p);
    return 0;
}

TEST(writing_to_a_gone_child_is_epipe_not_sigpipe)
{
    ASSERT_OK(corio_run(sigpipe_main, NULL));
}

/* ---- cancellation ---- */

static int cancel_main(void *arg)
{
    (void)arg;
    corio_process_opts o = {.stdin_mode = CORIO_STDIO_PIPE,
                            .stdout_mode = CORIO_STDIO_PIPE};
    const char *const argv[] = {"sleep", "30", NULL};
    corio_process *p = corio_process_exec("sleep", argv, &o);
    corio_scope s;
    char buf[4];
    corio_scope_enter(&s, 0.02);
    ASSERT_ERR(corio_process_read(p, 1, buf, sizeof buf), -ETIMEDOUT);
    corio_scope_exit(&s);
    corio_scope_enter(&s, 0.02);
    int status;
    ASSERT_ERR(corio_process_wait(p, &status), -ETIMEDOUT);
    corio_scope_exit(&s);
    corio_scope_enter(&s, 0.02);
    static char big[1 << 20]; /* sleep never reads: the pipe fills */
    ssize_t n = corio_process_write(p, big, sizeof big);
    ASSERT_TRUE(n == -ETIMEDOUT || (n > 0 && n < (ssize_t)sizeof big));
    corio_scope_exit(&s);
    ASSERT_OK(corio_process_kill(p));
    ASSERT_OK(corio_process_wait(p, &status));
    ASSERT_EQ(status, -SIGKILL);
    corio_process_close(p);
    return 0;
}

TEST(every_suspending_call_is_cancellable)
{
    ASSERT_OK(corio_run(cancel_main, NULL));
}

static int fault_main(void *arg)
{
    (void)arg;
    corio_process_opts o = {.stdin_mode = CORIO_STDIO_PIPE,
                            .stdout_mode = CORIO_STDIO_PIPE,
                            .stderr_mode = CORIO_STDIO_DEVNULL};
    int before = count_fds();
    for (long n = 1;; n++) {
        corio__fault_syscall(n);
        corio_process *p = corio_process_exec("echo", echo_argv, &o);
        corio__fault_syscall(0);
        if (p) {
            corio_process_close(p);
            break;
        }
        ASSERT_TRUE(errno == EMFILE || errno == EAGAIN || errno == ENOMEM);
        ASSERT_EQ(count_fds(), before);
        ASSERT_LT(n, 20);
    }
    for (long n = 1;; n++) {
        corio__fault_alloc(n);
        corio_process *p = corio_process_exec("echo", echo_argv, &o);
        corio__fault_alloc(0);
        if (p) {
            corio_process_close(p);
            break;
        }
        ASSERT_EQ(errno, ENOMEM);
        ASSERT_EQ(count_fds(), before);
        ASSERT_LT(n, 20);
    }
    ASSERT_EQ(count_fds(), before);
    ASSERT_EQ(waitpid(-1, NULL, WNOHANG), -1);
    return 0;
}

TEST(start_failures_leak_nothing)
{
    ASSERT_OK(corio_run(fault_main, NULL));
}

/* SPDX-License-Identifier: MIT */
/* Waiting for descriptors: corio_fd (level, one-shot armed), corio_wait_fd,
 * and the internal edge-triggered corio__io that sockets use; closing while
 * a task waits, cancellation and deadlines. */
#include "harness.h"

#include <corio.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/core.h"
#include "th_corio.h"

#define RUN(fn) ASSERT_OK(corio_run(fn, NULL))

static int p[2];

static void nonblocking_pipe(void)
{
    ASSERT_OK(pipe2(p, O_NONBLOCK | O_CLOEXEC));
}

static int write_later(void *arg)
{
    (void)arg;
    if (corio_sleep(0.002) < 0)
        return -1;
    return (int)write(p[1], "x", 1);
}

static int readable(void *arg)
{
    (void)arg;
    nonblocking_pipe();
    corio_fd *f = corio_fd_open(p[0]);
    ASSERT_NOT_NULL(f);
    ASSERT_EQ(corio_fd_fileno(f), p[0]);
    corio_task *w = corio_spawn(write_later, NULL);
    double t0 = corio_time();
    ASSERT_EQ(corio_fd_wait(f, CORIO_READABLE), CORIO_READABLE);
    ASSERT_GE(corio_time() - t0, 0.002 - 1e-9);
    ASSERT_EQ(corio_join(w), 1);
    /* Level: the byte is still there, so the next wait returns at once. */
    ASSERT_EQ(corio_fd_wait(f, CORIO_READABLE), CORIO_READABLE);
    char c;
    ASSERT_EQ(read(p[0], &c, 1), 1);
    ASSERT_ERR(corio_fd_wait(f, 0), -EINVAL);
    corio_fd_close(f);
    close(p[0]);
    close(p[1]);
    return 0;
}

TEST(fd_wait_readable_is_level_triggered)
{
    RUN(readable);
}

static int writable(void *arg)
{
    (void)arg;
    nonblocking_pipe();
    static char buf[65536];
    while (write(p[1], buf, sizeof buf) > 0)
        ; /* fill the pipe */
    corio_fd *f = corio_fd_open(p[1]);
    ASSERT_NOT_NULL(f);
    corio_scope s;
    ASSERT_OK(corio_scope_enter(&s, 0.005));
    ASSERT_ERR(corio_fd_wait(f, CORIO_WRITABLE), -ETIMEDOUT);
    corio_scope_exit(&s);
    /* Drain: now writable. */
    while (read(p[0], buf, sizeof buf) > 0)
        ;
    ASSERT_EQ(corio_fd_wait(f, CORIO_WRITABLE | CORIO_READABLE),
              CORIO_WRITABLE);
    corio_fd_close(f);
    close(p[0]);
    close(p[1]);
    return 0;
}

TEST(fd_wait_writable_and_deadline)
{
    RUN(writable);
}

static corio_fd *shared;

static int waits(void *arg)
{
    (void)arg;
    return corio_fd_wait(shared, CORIO_READABLE);
}

static int close_while_waiting(void *arg)
{
    (void)arg;
    nonblocking_pipe();
    shared = corio_fd_open(p[0]);
    corio_task *a = corio_spawn(waits, NULL);
    corio_task *b = corio_spawn(waits, NULL);
    ASSERT_OK(corio_yield());
    /* Closing wakes both with -EBADF, once, and returns after they left. */
    corio_fd_close(shared);
    ASSERT_TRUE(corio_task_done(a));
    ASSERT_ERR(corio_join(a), -EBADF);
    ASSERT_ERR(corio_join(b), -EBADF);
    close(p[0]);
    close(p[1]);
    return 0;
}

TEST_OPTS(closing_wakes_waiters_with_ebadf_once, .labels = "order")
{
    RUN(close_while_waiting);
}

static int cancel_wait(void *arg)
{
    (void)arg;
    nonblocking_pipe();
    shared = corio_fd_open(p[0]);
    corio_task *a = corio_spawn(waits, NULL);
    /* Cancelled while it waits, not before it started. */
    th_yield_until_parked(a, "read fd");
    corio_cancel(a);
    ASSERT_ERR(corio_join(a), -ECANCELED);
    corio_fd_close(shared);
    close(p[0]);
    close(p[1]);
    return 0;
}

TEST(fd_wait_is_a_cancellation_point)
{
    RUN(cancel_wait);
}

static int hangup(void *arg)
{
    (void)arg;
    nonblocking_pipe();
    corio_fd *f = corio_fd_open(p[0]);
    close(p[1]);
    /* A hang-up reports the descriptor as ready (read returns 0). */
    ASSERT_GT(corio_fd_wait(f, CORIO_READABLE), 0);
    char c;
    ASSERT_EQ(read(p[0], &c, 1), 0);
    corio_fd_close(f);
    close(p[0]);
    return 0;
}

TEST(hangup_makes_a_descriptor_ready)
{
    RUN(hangup);
}

static int one_off(void *arg)
{
    (void)arg;
    nonblocking_pipe();
    corio_task *w = corio_spawn(write_later, NULL);
    ASSERT_EQ(corio_wait_fd(p[0], CORIO_READABLE), CORIO_READABLE);
    ASSERT_EQ(corio_join(w), 1);
    ASSERT_ERR(corio_wait_fd(-1, CORIO_READABLE), -EBADF);
    close(p[0]);
    close(p[1]);
    /* A regular file cannot be watched. */
    FILE *tmp = tmpfile();
    ASSERT_ERR(corio_wait_fd(fileno(tmp), CORIO_READABLE), -EPERM);
    fclose(tmp);
    return 0;
}

TEST(wait_fd_once)
{
    RUN(one_off);
}

TEST(fd_outside_a_loop)
{
    errno = 0;
    ASSERT_NULL(corio_fd_open(0));
    ASSERT_EQ(errno, EPERM);
    ASSERT_ERR(corio_fd_wait(NULL, CORIO_READABLE), -EINVAL);
    corio_fd_close(NULL);
    ASSERT_EQ(corio_fd_fileno(NULL), -1);
}

/* ---- the edge-triggered internal descriptor ---- */

static struct corio__io eio;
static int sv[2];

static int edge_reader(void *arg)
{
    (void)arg;
    char buf[64];
    int total = 0;
    while (total < 6) {
        ssize_t n = read(sv[0], buf, sizeof buf);
        if (n > 0) {
            total += (int)n;
            continue;
        }
        if (n < 0 && errno == EAGAIN) {
            corio__io_clear(&eio, CORIO__IN);
            int rc = corio__io_wait(&eio, CORIO__IN);
            if (rc < 0)
                return rc;
            continue;
        }
        return -1;
    }
    return total;
}

static int edge(void *arg)
{
    (void)arg;
    ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv));
    ASSERT_OK(corio__io_watch(corio_loop_current(), &eio, sv[0], false));
    corio_task *r = corio_spawn(edge_reader, NULL);
    for (int i = 0; i < 3; i++) {
        ASSERT_OK(corio_sleep(0.001));
        ASSERT_EQ(write(sv[1], "ab", 2), 2);
    }
    ASSERT_EQ(corio_join(r), 6);
    ASSERT_TRUE(corio__io_unwatch(&eio, NULL));
    close(sv[0]);
    close(sv[1]);
    return 0;
}

TEST(edge_triggered_reads_until_eagain)
{
    RUN(edge);
}

static void *freed;

static void note_free(struct corio__io *io)
{
    freed = io;
}

static int edge_waiter(void *arg)
{
    (void)arg;
    return corio__io_wait(&eio, CORIO__IN);
}

static void close_from_callback(void *arg)
{
    (void)arg;
    /* A callback cannot wait: the last waiter out frees the io. */
    ASSERT_FALSE(corio__io_unwatch(&eio, note_free));
}

static int unwatch_deferred(void *arg)
{
    (void)arg;
    freed = NULL;
    ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv));
    ASSERT_OK(corio__io_watch(corio_loop_current(), &eio, sv[0], false));
    corio__io_clear(&eio, CORIO__IN);
    corio_task *w = corio_spawn(edge_waiter, NULL);
    th_yield_until_parked(w, "read fd");
    corio_loop_call_soon(corio_loop_current(), close_from_callback, NULL,
                         NULL);
    ASSERT_ERR(corio_join(w), -EBADF);
    ASSERT_PTR_EQ(freed, &eio);
    close(sv[0]);
    close(sv[1]);
    return 0;
}

TEST(closing_from_a_callback_frees_after_the_last_waiter)
{
    RUN(unwatch_deferred);
}

static corio_fd *two;

static int wants(void *arg)
{
    return corio_fd_wait(two, (unsigned)(uintptr_t)arg);
}

/* arg: whether the writer waits first. Each order arms the descriptor
 * differently: the second waiter widens the first one's registration
 * (on io_uring, a poll updated in place: a refused update once left a
 * reader behind a writer asleep until the socket had room). */
static int two_waiters(void *arg)
{
    bool writer_first = arg != NULL;
    int sp[2];
    ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sp));
    static char buf[1 << 20];
    while (write(sp[0], buf, sizeof buf) > 0)
        ; /* sp[0] is no longer writable */
    two = corio_fd_open(sp[0]);
    corio_task *r = NULL, *w = NULL;
    if (writer_first) {
        w = corio_spawn(wants, (void *)(uintptr_t)CORIO_WRITABLE);
        th_yield_until_parked(w, "write fd");
    }
    r = corio_spawn(wants, (void *)(uintptr_t)CORIO_READABLE);
    th_yield_until_parked(r, "read fd");
    if (!writer_first) {
        w = corio_spawn(wants, (void *)(uintptr_t)CORIO_WRITABLE);
        th_yield_until_parked(w, "write fd");
    }
    /* Data arrives: only the reader wakes, with only READABLE (a lost
     * wake-up fails here rather than hanging). */
    ASSERT_EQ(write(sp[1], "x", 1), 1);
    corio_scope s;
    ASSERT_OK(corio_scope_enter(&s, 10));
    ASSERT_EQ(corio_join(r), CORIO_READABLE);
    ASSERT_OK(corio_scope_exit(&s));
    ASSERT_FALSE(corio_task_done(w));
    /* Room appears: the writer wakes. */
    while (read(sp[1], buf, sizeof buf) > 0)
        ;
    ASSERT_EQ(corio_join(w), CORIO_WRITABLE);
    corio_fd_close(two);
    close(sp[0]);
    close(sp[1]);
    return 0;
}

TEST(two_waiters_for_different_events)
{
    ASSERT_OK(corio_run(two_waiters, NULL));
}

TEST(a_reader_that_comes_after_a_writer_is_woken)
{
    ASSERT_OK(corio_run(two_waiters, (void *)1));
}

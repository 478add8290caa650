/* SPDX-License-Identifier: MIT */
/* Servers: a handler task per connection, the connection limit, graceful
 * close (handlers finish within the timeout, the rest are cancelled),
 * closing from a handler, a failing handler, and accepting at the
 * descriptor limit (EMFILE): no crash, no busy loop, recovery. */
#include "helpers.h"

#include "core/testing.h"

static int active, peak, served;

static int echo(corio_stream *s, void *arg)
{
    (void)arg;
    active++;
    if (active > peak)
        peak = active;
    char buf[512];
    ssize_t n;
    int rc = 0;
    while ((n = corio_stream_read(s, buf, sizeof buf)) > 0) {
        if ((rc = corio_stream_write(s, buf, (size_t)n)) < 0)
            break;
        if ((rc = corio_stream_drain(s)) < 0)
            break;
    }
    active--;
    served++;
    return n < 0 ? (int)n : rc;
}

static int server_port(corio_server *srv)
{
    struct sockaddr_storage ss;
    ASSERT_OK(corio_sock_local_addr(corio_server_sock(srv), &ss, NULL));
    return corio_addr_port((struct sockaddr *)&ss);
}

static int port;

static int client(void *arg)
{
    int id = (int)(intptr_t)arg;
    corio_stream *s = corio_open_connection("127.0.0.1", port, NULL);
    if (!s)
        return -errno;
    char msg[32], buf[32];
    int n = snprintf(msg, sizeof msg, "client %d\n", id);
    int rc = corio_stream_write(s, msg, (size_t)n);
    if (rc == 0) {
        ssize_t r = corio_stream_readline(s, buf, sizeof buf);
        rc = r == n && memcmp(buf, msg, (size_t)n) == 0 ? 0 : -EPROTO;
    }
    int c = corio_stream_close(s);
    return rc ? rc : c;
}

static int many(void *arg)
{
    (void)arg;
    active = peak = served = 0;
    corio_server *srv = corio_start_server("127.0.0.1", 0, echo, NULL, NULL);
    ASSERT_NOT_NULL(srv);
    port = server_port(srv);
    corio_call calls[50];
    for (int i = 0; i < 50; i++)
        calls[i] = (corio_call){client, (void *)(intptr_t)i, -1};
    ASSERT_OK(corio_gather(calls, 50, 0));
    for (int i = 0; i < 50; i++)
        ASSERT_OK(calls[i].result);
    /* Each handler sees its client's end of stream and ends: soon, but
     * on a slow machine maybe not within a fixed sleep. */
    WAIT_UNTIL(served == 50 && corio_server_connections(srv) == 0, 10);
    ASSERT_EQ(served, 50);
    ASSERT_EQ(corio_server_connections(srv), 0);
    ASSERT_EQ(corio_server_close(srv, 1.0), 0);
    ASSERT_OK(corio_server_close(NULL, 0));
    return 0;
}

TEST(serves_each_connection_in_its_own_task)
{
    RUN(many);
}

static int limited(void *arg)
{
    (void)arg;
    active = peak = served = 0;
    corio_server_opts o = {.max_connections = 3};
    corio_server *srv = corio_start_server("127.0.0.1", 0, echo, NULL, &o);
    ASSERT_NOT_NULL(srv);
    port = server_port(srv);
    /* Ten clients that each hold their connection a while. */
    corio_stream *s[10];
    for (int i = 0; i < 10; i++) {
        s[i] = corio_open_connection("127.0.0.1", port, NULL);
        ASSERT_NOT_NULL(s[i]);
    }
    /* Time to take more than three if the limit did not hold, then
     * until the three are in (a slow machine may take longer). */
    ASSERT_OK(corio_sleep(0.05));
    WAIT_UNTIL(corio_server_connections(srv) >= 3, 10);
    ASSERT_EQ(corio_server_connections(srv), 3);
    ASSERT_EQ(peak, 3);
    /* As connections end, the waiting ones are served, three at once. */
    for (int i = 0; i < 10; i++) {
        char buf[8];
        ASSERT_OK(corio_stream_write(s[i], "ping\n", 5));
        ASSERT_EQ(corio_stream_readline(s[i], buf, sizeof buf), 5);
        ASSERT_OK(corio_stream_close(s[i]));
    }
    WAIT_UNTIL(served == 10, 10);
    ASSERT_EQ(served, 10);
    ASSERT_EQ(peak, 3);
    ASSERT_EQ(corio_server_close(srv, 1.0), 0);
    return 0;
}

TEST(connection_limit)
{
    RUN(limited);
}

static double handler_time;

static int slow_reply(corio_stream *s, void *arg)
{
    (void)arg;
    char buf[16];
    if (corio_stream_readline(s, buf, sizeof buf) <= 0)
        return -1;
    int rc = corio_sleep(handler_time);
    if (rc < 0)
        return rc;
    /* Replies after the server started closing: still delivered. */
    static char big[1 << 20];
    memset(big, 'r', sizeof big);
    return corio_stream_write(s, big, sizeof big);
}

static size_t read_all(corio_stream *s)
{
    static char buf[65536];
    size_t total = 0;
    ssize_t n;
    while ((n = corio_stream_read(s, buf, sizeof buf)) > 0)
        total += (size_t)n;
    return total;
}

static int graceful(void *arg)
{
    (void)arg;
    handler_time = 0.05;
    corio_server *srv = corio_start_server("127.0.0.1", 0, slow_reply, NULL,
                                           NULL);
    port = server_port(srv);
    corio_stream *c = corio_open_connection("127.0.0.1", port, NULL);
    ASSERT_OK(corio_stream_write(c, "go\n", 3));
    ASSERT_OK(corio_sleep(0.01));
    WAIT_UNTIL(corio_server_connections(srv) == 1, 10); /* accepted */
    ASSERT_EQ(corio_server_connections(srv), 1);
    /* The handler ends within the timeout: nothing is cancelled, and its
     * whole reply arrives before the end of the stream. */
    double t0 = corio_time();
    ASSERT_EQ(corio_server_close(srv, 5.0), 0);
    ASSERT_LT(corio_time() - t0, 2.0);
    ASSERT_EQ(read_all(c), 1 << 20);
    ASSERT_OK(corio_stream_close(c));
    /* New connections are refused once the server is closed. */
    errno = 0;
    ASSERT_NULL(corio_open_connection("127.0.0.1", port, NULL));
    ASSERT_EQ(errno, ECONNREFUSED);
    return 0;
}

TEST(graceful_close_waits_for_handlers)
{
    RUN(graceful);
}

static int timeout(void *arg)
{
    (void)arg;
    handler_time = 60;
    corio_server *srv = corio_start_server("127.0.0.1", 0, slow_reply, NULL,
                                           NULL);
    port = server_port(srv);
    corio_stream *c[3];
    for (int i = 0; i < 3; i++) {
        c[i] = corio_open_connection("127.0.0.1", port, NULL);
        ASSERT_OK(corio_stream_write(c[i], "go\n", 3));
    }
    ASSERT_OK(corio_sleep(0.02));
    WAIT_UNTIL(corio_server_connections(srv) == 3, 10);
    ASSERT_EQ(corio_server_connections(srv), 3);
    /* They would take a minute: after the timeout they are cancelled. */
    double t0 = corio_time();
    ASSERT_EQ(corio_server_close(srv, 0.1), 3);
    double dt = corio_time() - t0;
    ASSERT_GE(dt, 0.1 - 1e-9);
    ASSERT_LT(dt, 2.0);
    for (int i = 0; i < 3; i++) {
        ASSERT_EQ(read_all(c[i]), 0);
        corio_stream_close(c[i]);
    }
    /* With timeout 0, at once; a server closed just after it started
     * has handlers that never ran. */
    srv = corio_start_server("127.0.0.1", 0, slow_reply, NULL, NULL);
    port = server_port(srv);
    corio_stream *d = corio_open_connection("127.0.0.1", port, NULL);
    ASSERT_OK(corio_stream_write(d, "go\n", 3));
    ASSERT_OK(corio_sleep(0.02));
    WAIT_UNTIL(corio_server_connections(srv) == 1, 10);
    ASSERT_EQ(corio_server_close(srv, 0), 1);
    corio_stream_close(d);
    srv = corio_start_server("127.0.0.1", 0, slow_reply, NULL, NULL);
    ASSERT_EQ(corio_server_close(srv, 0), 0);
    return 0;
}

TEST(graceful_close_cancels_handlers_after_the_timeout)
{
    RUN(timeout);
}

static corio_server *self_srv;

static int closes_itself(corio_stream *s, void *arg)
{
    (void)s;
    (void)arg;
    return corio_server_close(self_srv, 0) == -EDEADLK ? 0 : -1;
}

static int failing(corio_stream *s, void *arg)
{
    (void)s;
    (void)arg;
    return -EPROTO;
}

static int misuse(void *arg)
{
    (void)arg;
    self_srv = corio_start_server("127.0.0.1", 0, closes_itself, NULL, NULL);
    port = server_port(self_srv);
    corio_stream *c = corio_open_connection("127.0.0.1", port, NULL);
    char buf[4];
    ASSERT_EQ(corio_stream_read(c, buf, sizeof buf), 0);
    corio_stream_close(c);
    ASSERT_EQ(corio_server_close(self_srv, 1), 0);

    /* A handler that fails ends its connection only. */
    corio_server *srv = corio_start_server("127.0.0.1", 0, failing, NULL,
                                           NULL);
    port = server_port(srv);
    for (int i = 0; i < 3; i++) {
        c = corio_open_connection("127.0.0.1", port, NULL);
        ASSERT_NOT_NULL(c);
        ASSERT_EQ(corio_stream_read(c, buf, sizeof buf), 0);
        corio_stream_close(c);
    }
    ASSERT_EQ(corio_server_close(srv, 1), 0);
    errno = 0;
    ASSERT_NULL(corio_start_server("127.0.0.1", 0, NULL, NULL, NULL));
    ASSERT_EQ(errno, EINVAL);
    ASSERT_NULL(corio_server_new(NULL, echo, NULL, NULL));
    return 0;
}

TEST(close_from_a_handler_and_failing_handlers)
{
    RUN(misuse);
}

/* ---- the descriptor limit ---- */

static int lowest_free_fd(void)
{
    int fd = dup(0);
    ASSERT_GE(fd, 0);
    close(fd);
    return fd;
}

static int emfile(void *arg)
{
    (void)arg;
    served = 0;
    corio_server *srv = corio_start_server("127.0.0.1", 0, echo, NULL, NULL);
    port = server_port(srv);
    /* The clients' sockets exist before the limit drops; connecting them
     * needs no new descriptor, accepting does. */
    enum { N = 4 };
    corio_sock *c[N];
    for (int i = 0; i < N; i++) {
        c[i] = corio_sock_new(AF_INET, SOCK_STREAM, 0);
        ASSERT_NOT_NULL(c[i]);
    }
    struct rlimit old;
    ASSERT_OK(getrlimit(RLIMIT_NOFILE, &old));
    struct rlimit low = old;
    low.rlim_cur = (rlim_t)lowest_free_fd();
    ASSERT_OK(setrlimit(RLIMIT_NOFILE, &low));

    struct sockaddr_storage ss;
    socklen_t len;
    ASSERT_OK(corio_addr_parse("127.0.0.1", port, &ss, &len));
    for (int i = 0; i < N; i++)
        ASSERT_OK(corio_sock_connect(c[i], (struct sockaddr *)&ss, len));
    /* Out of descriptors, the server backs off instead of spinning: few
     * accept attempts in 0.3 s (one per 0.1 s backoff), and nothing
     * served. A slow machine's late timers may need longer for the
     * retries; the bound follows the time that passed. */
    corio__fault_syscall(0);
    double t0 = corio_time();
    ASSERT_OK(corio_sleep(0.3));
    WAIT_UNTIL(corio__fault_syscall_calls() >= 2, 10);
    double dt = corio_time() - t0;
    long attempts = corio__fault_syscall_calls();
    ASSERT_GE(attempts, 2); /* it did retry */
    ASSERT_LE(attempts, 7 + (long)(dt / 0.1)); /* 10 in 0.3 s */
    ASSERT_EQ(corio_server_connections(srv), 0);

    /* Descriptors come back: it recovers and serves everyone. */
    ASSERT_OK(setrlimit(RLIMIT_NOFILE, &old));
    for (int i = 0; i < N; i++) {
        ASSERT_EQ(corio_sock_send(c[i], "abc", 3), 3);
        char buf[4];
        ASSERT_EQ(corio_sock_recv(c[i], buf, sizeof buf), 3);
        corio_sock_close(c[i]);
    }
    ASSERT_EQ(corio_server_close(srv, 1.0), 0);
    ASSERT_EQ(served, N);
    return 0;
}

TEST(accept_backs_off_at_the_descriptor_limit_and_recovers)
{
    RUN(emfile);
}

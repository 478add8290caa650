/* SPDX-License-Identifier: MIT */
/* Sockets: connect, accept, send, receive, shutdown and close over TCP;
 * cancellation and deadlines on every suspending call; peer resets; no
 * SIGPIPE; closing while other tasks wait; options, addresses, adopted
 * descriptors; fault injection on the constructors. */
#include "helpers.h"

#include <netinet/tcp.h>
#include <poll.h>
#include <sys/un.h>

#include "core/testing.h"

/* ---- the basics ---- */

static int basic(void *arg)
{
    (void)arg;
    corio_sock *c, *s;
    tcp_pair(&c, &s);
    ASSERT_EQ(corio_sock_send(c, "hello", 5), 5);
    char buf[16];
    ASSERT_EQ(corio_sock_recv(s, buf, sizeof buf), 5);
    ASSERT_TRUE(memcmp(buf, "hello", 5) == 0);
    ASSERT_EQ(corio_sock_send(s, "", 0), 0);
    ASSERT_EQ(corio_sock_recv(s, buf, 0), 0);
    ASSERT_OK(corio_sock_close(c));
    /* End of stream reads as 0, again and again. */
    ASSERT_EQ(corio_sock_recv(s, buf, sizeof buf), 0);
    ASSERT_EQ(corio_sock_recv(s, buf, sizeof buf), 0);
    ASSERT_OK(corio_sock_close(s));
    ASSERT_OK(corio_sock_close(NULL));
    return 0;
}

TEST(send_recv_and_eof)
{
    RUN(basic);
}

static corio_sock *peer;
static size_t got_total;

static int slow_reader(void *arg)
{
    (void)arg;
    static char buf[4096];
    for (;;) {
        ssize_t n = corio_sock_recv(peer, buf, sizeof buf);
        if (n <= 0)
            return (int)n;
        got_total += (size_t)n;
        if (th_rand() % 16 == 0 && corio_sleep(0.0005) < 0)
            return -1;
    }
}

static int send_all(void *arg)
{
    (void)arg;
    corio_sock *c;
    tcp_pair(&c, &peer);
    size_t len = 8 << 20;
    char *big = malloc(len);
    memset(big, 'x', len);
    got_total = 0;
    corio_task *r = corio_spawn(slow_reader, NULL);
    /* One call, many socket buffers' worth: it waits while full. */
    ASSERT_EQ(corio_sock_send(c, big, len), len);
    struct iovec iov[3] = {{big, 1000}, {big, 0}, {big, 3 << 20}};
    ASSERT_EQ(corio_sock_sendv(c, iov, 3), 1000 + (3 << 20));
    ASSERT_OK(corio_sock_shutdown(c, SHUT_WR));
    ASSERT_OK(corio_join(r));
    ASSERT_EQ(got_total, len + 1000 + (3 << 20));
    free(big);
    ASSERT_OK(corio_sock_close(c));
    ASSERT_OK(corio_sock_close(peer));
    return 0;
}

TEST(send_writes_everything)
{
    RUN(send_all);
}

/* ---- cancellation and deadlines ---- */

static corio_sock *shared;

static int recv_task(void *arg)
{
    (void)arg;
    char buf[16];
    return (int)corio_sock_recv(shared, buf, sizeof buf);
}

static int recv_cancel(void *arg)
{
    (void)arg;
    corio_sock *c, *s;
    tcp_pair(&c, &s);
    shared = s;
    corio_task *t = corio_spawn(recv_task, NULL);
    ASSERT_OK(corio_sleep(0.01));
    corio_cancel(t);
    ASSERT_ERR(corio_join(t), -ECANCELED);

    corio_scope sc;
    /* The deadline counts from the scope's start: so does the check (a
     * clock read after it, under ASan, came 37 µs late). */
    double t0 = corio_time();
    ASSERT_OK(corio_scope_enter(&sc, 0.02));
    char buf[4];
    ASSERT_ERR(corio_sock_recv(s, buf, sizeof buf), -ETIMEDOUT);
    ASSERT_GE(corio_time() - t0, 0.02 - 1e-9);
    ASSERT_ERR(corio_scope_exit(&sc), -ETIMEDOUT);

    /* Data waiting does not hide a pending cancellation: the call checks
     * first, so a task reading a busy socket can still be stopped. */
    ASSERT_EQ(corio_sock_send(c, "abc", 3), 3);
    ASSERT_OK(corio_sleep(0.01));
    corio_cancel(corio_current());
    ASSERT_ERR(corio_sock_recv(s, buf, sizeof buf), -ECANCELED);
    ASSERT_EQ(corio_sock_recv(s, buf, sizeof buf), 3);

    ASSERT_OK(corio_sock_close(c));
    ASSERT_OK(corio_sock_close(s));
    return 0;
}

TEST(recv_honours_cancellation_and_deadlines)
{
    RUN(recv_cancel);
}

static int send_cancel(void *arg)
{
    (void)arg;
    corio_sock *c, *s;
    tcp_pair(&c, &s);
    size_t len = 16 << 20;
    char *big = calloc(1, len);
    /* Some bytes fit, then the peer stops reading: a short count. */
    corio_scope sc;
    ASSERT_OK(corio_scope_enter(&sc, 0.05));
    ssize_t n = corio_sock_send(c, big, len);
    ASSERT_GT(n, 0);
    ASSERT_LT(n, (ssize_t)len);
    corio_scope_exit(&sc);
    /* Now nothing fits (once the kernel stopped growing its buffers):
     * the error itself. */
    for (int i = 0; i < 100; i++) {
        ASSERT_OK(corio_sleep(0.02));
        if (fill_sock(c) == 0)
            break;
    }
    ASSERT_OK(corio_scope_enter(&sc, 0.02));
    ASSERT_ERR(corio_sock_send(c, big, len), -ETIMEDOUT);
    corio_scope_exit(&sc);
    free(big);
    ASSERT_OK(corio_sock_close(c));
    ASSERT_OK(corio_sock_close(s));
    return 0;
}

TEST(send_reports_partial_progress_on_deadline)
{
    RUN(send_cancel);
}

static corio_sock *lsock;

static int accept_task(void *arg)
{
    (void)arg;
    corio_sock *s = corio_sock_accept(lsock);
    return s ? 0 : -errno;
}

static int accept_cancel(void *arg)
{
    (void)arg;
    int port;
    lsock = listen_lo(false, &port);
    corio_task *t = corio_spawn(accept_task, NULL);
    ASSERT_OK(corio_sleep(0.01));
    corio_cancel(t);
    ASSERT_ERR(corio_join(t), -ECANCELED);
    corio_scope sc;
    ASSERT_OK(corio_scope_enter(&sc, 0.01));
    errno = 0;
    ASSERT_NULL(corio_sock_accept(lsock));
    ASSERT_EQ(errno, ETIMEDOUT);
    corio_scope_exit(&sc);
    ASSERT_OK(corio_sock_close(lsock));
    return 0;
}

TEST(accept_honours_cancellation_and_deadlines)
{
    RUN(accept_cancel);
}

/* A listener whose accept queue is full: connects to it hang. */
static corio_sock *full_listener(bool v6, int *port, corio_sock **held,
                                 int nheld)
{
    corio_listen_opts lo = {.backlog = 1};
    corio_sock *l = corio_tcp_listen(v6 ? "::1" : "127.0.0.1", 0, &lo);
    ASSERT_NOT_NULL(l);
    struct sockaddr_storage ss;
    ASSERT_OK(corio_sock_local_addr(l, &ss, NULL));
    *port = corio_addr_port((struct sockaddr *)&ss);
    int k = 0;
    for (;;) {
        ASSERT_LT(k, nheld);
        corio_scope sc;
        ASSERT_OK(corio_scope_enter(&sc, 0.05));
        corio_sock *c = corio_tcp_connect(v6 ? "::1" : "127.0.0.1", *port,
                                          NULL);
        corio_scope_exit(&sc);
        if (!c)
            break;
        held[k++] = c;
    }
    return l;
}

static int connect_deadline(void *arg)
{
    (void)arg;
    int port;
    corio_sock *held[8] = {0};
    corio_sock *l = full_listener(false, &port, held, 8);
    corio_scope sc;
    ASSERT_OK(corio_scope_enter(&sc, 0.05));
    errno = 0;
    ASSERT_NULL(corio_tcp_connect("127.0.0.1", port, NULL));
    ASSERT_EQ(errno, ETIMEDOUT);
    corio_scope_exit(&sc);
    /* The low-level connect, too. */
    corio_sock *s = corio_sock_new(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_storage ss;
    socklen_t len;
    ASSERT_OK(corio_addr_parse("127.0.0.1", port, &ss, &len));
    ASSERT_OK(corio_scope_enter(&sc, 0.05));
    ASSERT_ERR(corio_sock_connect(s, (struct sockaddr *)&ss, len),
               -ETIMEDOUT);
    corio_scope_exit(&sc);
    ASSERT_OK(corio_sock_close(s));
    for (int i = 0; i < 8; i++)
        corio_sock_close(held[i]);
    ASSERT_OK(corio_sock_close(l));
    return 0;
}

TEST(connect_honours_deadlines)
{
    RUN(connect_deadline);
}

static int refused(void *arg)
{
    (void)arg;
    int port;
    corio_sock *l = listen_lo(false, &port);
    ASSERT_OK(corio_sock_close(l));
    errno = 0;
    ASSERT_NULL(corio_tcp_connect("127.0.0.1", port, NULL));
    ASSERT_EQ(errno, ECONNREFUSED);
    return 0;
}

TEST(connect_refused)
{
    RUN(refused);
}

/* ---- peer reset, SIGPIPE ---- */

static int reset(void *arg)
{
    (void)arg;
    corio_sock *c, *s;
    tcp_pair(&c, &s);
    reset_close(c);
    ASSERT_OK(corio_sleep(0.01));
    char buf[16];
    ASSERT_ERR(corio_sock_recv(s, buf, sizeof buf), -ECONNRESET);
    /* The next writes fail too, with an error, never a signal. */
    ssize_t n = corio_sock_send(s, "x", 1);
    ASSERT_TRUE(n == -EPIPE || n == -ECONNRESET);
    ASSERT_ERR(corio_sock_send(s, "x", 1), -EPIPE);
    ASSERT_OK(corio_sock_close(s));
    return 0;
}

TEST(peer_reset_is_an_error_on_the_next_read_or_write)
{
    signal(SIGPIPE, SIG_DFL);
    RUN(reset);
}

/* Until s has seen its peer's reset: on loopback it comes at once, but a
 * busy kernel may deliver it later, and a write before it succeeds. */
static void wait_for_reset(corio_sock *s)
{
    struct pollfd p = {.fd = corio_sock_fileno(s)};
    WAIT_UNTIL(poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP)),
               10);
    ASSERT_TRUE(p.revents & (POLLERR | POLLHUP));
}

static int reset_write(void *arg)
{
    (void)arg;
    corio_sock *c, *s;
    tcp_pair(&c, &s);
    reset_close(c);
    wait_for_reset(s);
    ssize_t n = corio_sock_send(s, "x", 1);
    ASSERT_TRUE(n == -EPIPE || n == -ECONNRESET);
    static char big[65536];
    struct iovec iov = {big, sizeof big};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    for (int i = 0; i < 4; i++) {
        n = corio_sock_sendmsg(s, &msg, 0);
        ASSERT_TRUE(n == -EPIPE || n == -ECONNRESET);
        n = corio_sock_sendv(s, &iov, 1);
        ASSERT_TRUE(n == -EPIPE || n == -ECONNRESET);
    }
    ASSERT_OK(corio_sock_close(s));
    return 0;
}

TEST(writes_after_a_reset_never_raise_sigpipe)
{
    /* Default disposition: a SIGPIPE would kill the case. */
    signal(SIGPIPE, SIG_DFL);
    RUN(reset_write);
}

/* ---- closing while other tasks wait ---- */

static int woken, waiting;

static int waiter(void *arg)
{
    (void)arg;
    char buf[4];
    waiting++;
    ssize_t n = corio_sock_recv(shared, buf, sizeof buf);
    woken++;
    return (int)n;
}

static int send_waiter(void *arg)
{
    (void)arg;
    static char big[1 << 20];
    ssize_t n = corio_sock_send(shared, big, sizeof big);
    woken++;
    return n > 0 ? 1 : (int)n;
}

static int close_waiting(void *arg)
{
    (void)arg;
    corio_sock *c, *s;
    tcp_pair(&c, &s);
    shared = s;
    woken = waiting = 0;
    corio_task *a = corio_spawn(waiter, NULL);
    corio_task *b = corio_spawn(waiter, NULL);
    /* Until both wait in recv: a shuffled ready queue (CORIO_SEED) may
     * run this task again before they start. */
    while (waiting < 2)
        ASSERT_OK(corio_yield());
    /* Both wake with -EBADF, once, and close returns after they left. */
    ASSERT_OK(corio_sock_close(s));
    ASSERT_EQ(woken, 2);
    ASSERT_ERR(corio_join(a), -EBADF);
    ASSERT_ERR(corio_join(b), -EBADF);

    /* A sender blocked on a full socket, with some bytes out. */
    corio_sock *s2;
    ASSERT_OK(corio_sock_close(c));
    tcp_pair(&c, &s2);
    fill_sock(c);
    shared = c;
    woken = 0;
    corio_task *w = corio_spawn(send_waiter, NULL);
    ASSERT_OK(corio_sleep(0.01));
    ASSERT_OK(corio_sock_close(c));
    ASSERT_EQ(woken, 1);
    int rc = corio_join(w);
    ASSERT_TRUE(rc == 1 || rc == -EBADF);
    ASSERT_OK(corio_sock_close(s2));
    return 0;
}

TEST(close_wakes_waiting_tasks_with_ebadf_once)
{
    RUN(close_waiting);
}

static void close_cb(void *arg)
{
    corio_sock_close(arg);
}

static int close_from_callback(void *arg)
{
    (void)arg;
    corio_sock *c, *s;
    tcp_pair(&c, &s);
    shared = s;
    woken = waiting = 0;
    corio_task *a = corio_spawn(waiter, NULL);
    /* Until it waits in recv (one yield is not enough when CORIO_SEED
     * shuffles the ready queue). */
    while (waiting < 1)
        ASSERT_OK(corio_yield());
    ASSERT_OK(corio_loop_call_soon(corio_loop_current(), close_cb, s, NULL));
    ASSERT_ERR(corio_join(a), -EBADF);
    ASSERT_OK(corio_sock_close(c));
    return 0;
}

TEST(close_from_a_callback_frees_after_the_waiters)
{
    RUN(close_from_callback);
}

/* ---- sendmsg, recvmsg with descriptors ---- */

static int msgs(void *arg)
{
    (void)arg;
    corio_sock *p[2];
    ASSERT_OK(corio_sock_pair(SOCK_STREAM, p));
    int fds[2];
    ASSERT_OK(pipe(fds));
    char data[] = "fd!";
    struct iovec iov = {data, 3};
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    memset(&ctl, 0, sizeof ctl);
    struct msghdr msg = {.msg_iov = &iov,
                         .msg_iovlen = 1,
                         .msg_control = ctl.buf,
                         .msg_controllen = sizeof ctl.buf};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &fds[1], sizeof(int));
    ASSERT_EQ(corio_sock_sendmsg(p[0], &msg, 0), 3);

    char in[8];
    struct iovec riov = {in, sizeof in};
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } rctl;
    struct msghdr rmsg = {.msg_iov = &riov,
                          .msg_iovlen = 1,
                          .msg_control = rctl.buf,
                          .msg_controllen = sizeof rctl.buf};
    ASSERT_EQ(corio_sock_recvmsg(p[1], &rmsg, MSG_CMSG_CLOEXEC), 3);
    struct cmsghdr *rc = CMSG_FIRSTHDR(&rmsg);
    ASSERT_NOT_NULL(rc);
    ASSERT_EQ(rc->cmsg_type, SCM_RIGHTS);
    int got;
    memcpy(&got, CMSG_DATA(rc), sizeof got);
    ASSERT_EQ(write(got, "z", 1), 1);
    char z;
    ASSERT_EQ(read(fds[0], &z, 1), 1);
    ASSERT_EQ(z, 'z');
    close(got);
    close(fds[0]);
    close(fds[1]);
    ASSERT_OK(corio_sock_close(p[0]));
    ASSERT_OK(corio_sock_close(p[1]));
    return 0;
}

TEST(sendmsg_and_recvmsg_carry_descriptors)
{
    RUN(msgs);
}

/* ---- options, addresses, descriptors ---- */

static int getint(corio_sock *s, int level, int name)
{
    int v = -1;
    socklen_t len = sizeof v;
    ASSERT_OK(getsockopt(corio_sock_fileno(s), level, name, &v, &len));
    return v;
}

static int options(void *arg)
{
    (void)arg;
    corio_sock *c, *s;
    tcp_pair(&c, &s);
    /* Connected TCP sockets start with TCP_NODELAY, as in asyncio. */
    ASSERT_NE(getint(c, IPPROTO_TCP, TCP_NODELAY), 0);
    ASSERT_NE(getint(s, IPPROTO_TCP, TCP_NODELAY), 0);
    ASSERT_OK(corio_sock_set_nodelay(c, false));
    ASSERT_EQ(getint(c, IPPROTO_TCP, TCP_NODELAY), 0);
    ASSERT_OK(corio_sock_set_keepalive(c, true));
    ASSERT_NE(getint(c, SOL_SOCKET, SO_KEEPALIVE), 0);
    ASSERT_OK(corio_sock_set_reuseaddr(c, true));
    ASSERT_NE(getint(c, SOL_SOCKET, SO_REUSEADDR), 0);
    ASSERT_OK(corio_sock_set_reuseport(c, true));
    ASSERT_NE(getint(c, SOL_SOCKET, SO_REUSEPORT), 0);
    ASSERT_ERR(corio_sock_set_nodelay(NULL, true), -EINVAL);

    struct sockaddr_storage a, b;
    socklen_t la, lb;
    ASSERT_OK(corio_sock_local_addr(c, &a, &la));
    ASSERT_OK(corio_sock_peer_addr(s, &b, &lb));
    ASSERT_EQ(la, lb);
    ASSERT_TRUE(memcmp(&a, &b, la) == 0);
    char txt[CORIO_ADDR_STRLEN];
    ASSERT_GT(corio_addr_format((struct sockaddr *)&a, la, txt, sizeof txt),
              0);
    ASSERT_TRUE(strncmp(txt, "127.0.0.1:", 10) == 0);
    ASSERT_EQ(corio_sock_fileno(NULL), -1);
    ASSERT_TRUE(fd_cloexec_nonblock(corio_sock_fileno(c)));
    ASSERT_TRUE(fd_cloexec_nonblock(corio_sock_fileno(s)));

    /* A listener with SO_REUSEADDR on by default, and off on request. */
    corio_sock *l = corio_tcp_listen("127.0.0.1", 0, NULL);
    ASSERT_NE(getint(l, SOL_SOCKET, SO_REUSEADDR), 0);
    ASSERT_TRUE(fd_cloexec_nonblock(corio_sock_fileno(l)));
    ASSERT_OK(corio_sock_close(l));
    corio_listen_opts lo = {.flags = CORIO_SOCK_NO_REUSEADDR |
                                     CORIO_SOCK_REUSEPORT};
    l = corio_tcp_listen("127.0.0.1", 0, &lo);
    ASSERT_EQ(getint(l, SOL_SOCKET, SO_REUSEADDR), 0);
    ASSERT_NE(getint(l, SOL_SOCKET, SO_REUSEPORT), 0);
    ASSERT_OK(corio_sock_close(l));
    ASSERT_OK(corio_sock_close(c));
    ASSERT_OK(corio_sock_close(s));
    return 0;
}

TEST(options_and_addresses)
{
    RUN(options);
}

TEST(address_parsing_and_formatting)
{
    struct sockaddr_storage ss;
    socklen_t len;
    char txt[CORIO_ADDR_STRLEN];
    ASSERT_OK(corio_addr_parse("10.1.2.3", 80, &ss, &len));
    ASSERT_EQ(len, sizeof(struct sockaddr_in));
    ASSERT_EQ(corio_addr_format((struct sockaddr *)&ss, len, txt, sizeof txt),
              11);
    ASSERT_STR_EQ(txt, "10.1.2.3:80");
    ASSERT_OK(corio_addr_parse("[::1]", 443, &ss, &len));
    ASSERT_EQ(corio_addr_port((struct sockaddr *)&ss), 443);
    corio_addr_format((struct sockaddr *)&ss, len, txt, sizeof txt);
    ASSERT_STR_EQ(txt, "[::1]:443");
    ASSERT_OK(corio_addr_parse("fe80::1%1", 1, &ss, &len));
    corio_addr_format((struct sockaddr *)&ss, len, txt, sizeof txt);
    ASSERT_STR_EQ(txt, "[fe80::1%1]:1");
    ASSERT_ERR(corio_addr_parse("localhost", 1, &ss, &len), -EINVAL);
    ASSERT_ERR(corio_addr_parse("1.2.3.4", 70000, &ss, &len), -EINVAL);
    ASSERT_ERR(corio_addr_parse("[1.2.3.4]", 1, &ss, &len), -EINVAL);
    ASSERT_ERR(corio_addr_parse("::1]", 1, &ss, &len), -EINVAL);
    ASSERT_OK(corio_addr_unix("/tmp/x.sock", &ss, &len));
    corio_addr_format((struct sockaddr *)&ss, len, txt, sizeof txt);
    ASSERT_STR_EQ(txt, "/tmp/x.sock");
    ASSERT_OK(corio_addr_unix("@abstract", &ss, &len));
    corio_addr_format((struct sockaddr *)&ss, len, txt, sizeof txt);
    ASSERT_STR_EQ(txt, "@abstract");
    char longpath[200];
    memset(longpath, 'a', sizeof longpath - 1);
    longpath[sizeof longpath - 1] = 0;
    ASSERT_ERR(corio_addr_unix(longpath, &ss, &len), -ENAMETOOLONG);
    ASSERT_ERR(corio_addr_unix("", &ss, &len), -EINVAL);
    ss.ss_family = AF_PACKET;
    ASSERT_ERR(corio_addr_format((struct sockaddr *)&ss, len, txt, 8),
               -EAFNOSUPPORT);
    ASSERT_EQ(corio_addr_port((struct sockaddr *)&ss), -1);
    /* Truncation works as snprintf's. */
    ASSERT_OK(corio_addr_parse("10.1.2.3", 80, &ss, &len));
    ASSERT_EQ(corio_addr_format((struct sockaddr *)&ss, len, txt, 4), 11);
    ASSERT_STR_EQ(txt, "10.");
}

static int adopt(void *arg)
{
    (void)arg;
    int sv[2];
    ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv)); /* blocking */
    corio_sock *a = corio_sock_from_fd(sv[0]);
    corio_sock *b = corio_sock_from_fd(sv[1]);
    ASSERT_NOT_NULL(a);
    ASSERT_NOT_NULL(b);
    ASSERT_TRUE(fd_cloexec_nonblock(sv[0]));
    ASSERT_EQ(corio_sock_send(a, "ab", 2), 2);
    char buf[4];
    ASSERT_EQ(corio_sock_recv(b, buf, sizeof buf), 2);
    /* Not a socket: refused, and left alone. */
    int p[2];
    ASSERT_OK(pipe(p));
    errno = 0;
    ASSERT_NULL(corio_sock_from_fd(p[0]));
    ASSERT_EQ(errno, ENOTSOCK);
    close(p[0]);
    close(p[1]);
    ASSERT_OK(corio_sock_close(a));
    ASSERT_OK(corio_sock_close(b));
    return 0;
}

TEST(sock_from_fd_adopts_a_descriptor)
{
    RUN(adopt);
}

static int lowlevel(void *arg)
{
    (void)arg;
    corio_sock *l = corio_sock_new(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_NOT_NULL(l);
    struct sockaddr_storage ss;
    socklen_t len;
    ASSERT_OK(corio_addr_parse("127.0.0.1", 0, &ss, &len));
    ASSERT_OK(corio_sock_bind(l, (struct sockaddr *)&ss, len));
    ASSERT_OK(corio_sock_listen(l, 0));
    ASSERT_OK(corio_sock_local_addr(l, &ss, &len));
    corio_sock *c = corio_sock_new(AF_INET, SOCK_STREAM, 0);
    /* A socket that lived through a poll first reports "writable, hung
     * up": connect must not take that for the connection. */
    ASSERT_OK(corio_sleep(0.001));
    ASSERT_OK(corio_sock_connect(c, (struct sockaddr *)&ss, len));
    corio_sock *s = corio_sock_accept(l);
    ASSERT_NOT_NULL(s);
    ASSERT_EQ(corio_sock_send(c, "q", 1), 1);
    char q;
    ASSERT_EQ(corio_sock_recv(s, &q, 1), 1);
    ASSERT_ERR(corio_sock_bind(NULL, (struct sockaddr *)&ss, len), -EINVAL);
    ASSERT_ERR(corio_sock_listen(NULL, 1), -EINVAL);
    ASSERT_ERR(corio_sock_connect(NULL, (struct sockaddr *)&ss, len),
               -EINVAL);
    ASSERT_ERR(corio_sock_shutdown(NULL, SHUT_RD), -EINVAL);
    ASSERT_ERR(corio_sock_recv(NULL, &q, 1), -EINVAL);
    ASSERT_ERR(corio_sock_send(NULL, &q, 1), -EINVAL);
    ASSERT_OK(corio_sock_close(c));
    ASSERT_OK(corio_sock_close(s));
    ASSERT_OK(corio_sock_close(l));
    return 0;
}

TEST(low_level_bind_listen_connect)
{
    RUN(lowlevel);
}

TEST(outside_a_loop)
{
    errno = 0;
    ASSERT_NULL(corio_sock_new(AF_INET, SOCK_STREAM, 0));
    ASSERT_EQ(errno, EPERM);
    corio_sock *p[2];
    ASSERT_ERR(corio_sock_pair(SOCK_STREAM, p), -EPERM);
    errno = 0;
    ASSERT_NULL(corio_tcp_connect("127.0.0.1", 1, NULL));
    ASSERT_EQ(errno, EPERM);
    errno = 0;
    ASSERT_NULL(corio_sock_accept(NULL));
    ASSERT_EQ(errno, EINVAL);
}

/* ---- fault injection ---- */

static int faulty(void *arg)
{
    (void)arg;
    int port;
    corio_sock *l = listen_lo(false, &port);
    /* Fail the Nth allocation, then the Nth system call on a seam, for
     * N = 1, 2, ... until the whole connect + accept succeeds: every run
     * ends in success or in a clean error, and leaks nothing. */
    for (int kind = 0; kind < 2; kind++) {
        for (long nth = 1;; nth++) {
            if (kind == 0)
                corio__fault_alloc(nth);
            else
                corio__fault_syscall(nth);
            corio_sock *c = corio_tcp_connect("127.0.0.1", port, NULL);
            corio_sock *s = c ? corio_sock_accept(l) : NULL;
            int e = errno;
            corio__fault_alloc(0);
            corio__fault_syscall(0);
            if (c && !s) {
                /* Out of descriptors, the connection waits in the
                 * backlog: take it. Out of memory, it was dropped. */
                if (e == EMFILE) {
                    s = corio_sock_accept(l);
                    ASSERT_NOT_NULL(s);
                } else {
                    ASSERT_EQ(e, ENOMEM);
                }
                corio_sock_close(c);
                corio_sock_close(s);
                continue;
            }
            corio_sock_close(c);
            corio_sock_close(s);
            if (c && s)
                break;
            ASSERT_LT(nth, 50);
        }
    }
    ASSERT_OK(corio_sock_close(l));
    return 0;
}

TEST(connect_and_accept_under_fault_injection)
{
    RUN(faulty);
}

static corio_sock *kept;

static int open_one(void *arg)
{
    (void)arg;
    kept = corio_sock_new(AF_INET, SOCK_STREAM, 0);
    return kept ? 0 : -errno;
}

static int close_one(void *arg)
{
    (void)arg;
    return corio_sock_close(kept);
}

/* An open socket keeps its loop from closing (the style guide's rule for
 * corio_loop_close); closing it lets the loop go. */
TEST(an_open_socket_keeps_the_loop_open)
{
    corio_loop *loop = corio_loop_new(NULL);
    corio_task *t = corio_loop_spawn(loop, open_one, NULL, NULL);
    ASSERT_OK(corio_loop_run_until_complete(loop, t));
    corio_task_unref(t);
    size_t nh;
    corio_loop_pending(loop, NULL, &nh);
    ASSERT_EQ(nh, 1);
    ASSERT_ERR(corio_loop_close(loop), -EBUSY);
    t = corio_loop_spawn(loop, close_one, NULL, NULL);
    ASSERT_OK(corio_loop_run_until_complete(loop, t));
    corio_task_unref(t);
    ASSERT_OK(corio_loop_close(loop));
}

/* SPDX-License-Identifier: MIT */
/* UDP: datagram boundaries, truncation reported as -EMSGSIZE (and as
 * MSG_TRUNC by recvmsg), sendto / recvfrom, connected endpoints, empty
 * datagrams, options, cancellation and deadlines. */
#include "helpers.h"

static void port_of(corio_sock *s, int *port)
{
    struct sockaddr_storage ss;
    ASSERT_OK(corio_sock_local_addr(s, &ss, NULL));
    *port = corio_addr_port((struct sockaddr *)&ss);
}

static int boundaries(void *arg)
{
    (void)arg;
    int port;
    corio_sock *srv = corio_udp_bind("127.0.0.1", 0, NULL);
    ASSERT_NOT_NULL(srv);
    ASSERT_TRUE(fd_cloexec_nonblock(corio_sock_fileno(srv)));
    port_of(srv, &port);
    corio_sock *cli = corio_udp_connect("127.0.0.1", port, NULL);
    ASSERT_NOT_NULL(cli);
    ASSERT_TRUE(fd_cloexec_nonblock(corio_sock_fileno(cli)));

    static char big[60000];
    memset(big, 'b', sizeof big);
    ASSERT_EQ(corio_sock_send(cli, "a", 1), 1);
    ASSERT_EQ(corio_sock_send(cli, big, 1000), 1000);
    ASSERT_EQ(corio_sock_send(cli, "", 0), 0); /* an empty datagram */
    ASSERT_EQ(corio_sock_send(cli, big, sizeof big), sizeof big);

    static char buf[65536];
    struct sockaddr_storage from;
    socklen_t fromlen = sizeof from;
    /* Each receive returns exactly one datagram. */
    ASSERT_EQ(corio_sock_recvfrom(srv, buf, sizeof buf,
                                  (struct sockaddr *)&from, &fromlen),
              1);
    ASSERT_EQ(corio_sock_recv(srv, buf, sizeof buf), 1000);
    ASSERT_EQ(corio_sock_recv(srv, buf, sizeof buf), 0);
    ASSERT_EQ(corio_sock_recv(srv, buf, sizeof buf), sizeof big);

    /* Reply to the sender's address. */
    ASSERT_EQ(corio_sock_sendto(srv, "pong", 4, (struct sockaddr *)&from,
                                fromlen),
              4);
    ASSERT_EQ(corio_sock_recv(cli, buf, sizeof buf), 4);
    ASSERT_TRUE(memcmp(buf, "pong", 4) == 0);
    /* Too long for UDP at all. */
    static char huge[70000];
    ASSERT_ERR(corio_sock_send(cli, huge, sizeof huge), -EMSGSIZE);
    corio_sock_close(cli);
    corio_sock_close(srv);
    return 0;
}

TEST(datagram_boundaries_are_kept)
{
    RUN(boundaries);
}

static int truncation(void *arg)
{
    (void)arg;
    int port;
    corio_sock *srv = corio_udp_bind("127.0.0.1", 0, NULL);
    port_of(srv, &port);
    corio_sock *cli = corio_udp_connect("127.0.0.1", port, NULL);
    char msg[100];
    for (int i = 0; i < 100; i++)
        msg[i] = (char)i;
    ASSERT_EQ(corio_sock_send(cli, msg, 100), 100);
    ASSERT_EQ(corio_sock_send(cli, msg, 5), 5);
    ASSERT_EQ(corio_sock_send(cli, msg, 100), 100);
    char buf[10];
    /* Too long for the buffer: the first bytes, and -EMSGSIZE. */
    ASSERT_ERR(corio_sock_recv(srv, buf, sizeof buf), -EMSGSIZE);
    ASSERT_TRUE(memcmp(buf, msg, 10) == 0);
    /* The rest of it is gone; the next datagram is whole. */
    ASSERT_EQ(corio_sock_recv(srv, buf, sizeof buf), 5);
    /* recvmsg reports the kernel's MSG_TRUNC. */
    struct iovec iov = {buf, sizeof buf};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    ASSERT_EQ(corio_sock_recvmsg(srv, &m, 0), 10);
    ASSERT_TRUE(m.msg_flags & MSG_TRUNC);
    corio_sock_close(cli);
    corio_sock_close(srv);
    return 0;
}

TEST(a_truncated_datagram_is_reported)
{
    RUN(truncation);
}

static corio_sock *shared;
static int receiving;

static int recv_task(void *arg)
{
    (void)arg;
    char buf[8];
    receiving++;
    return (int)corio_sock_recv(shared, buf, sizeof buf);
}

static int cancel(void *arg)
{
    (void)arg;
    shared = corio_udp_bind(NULL, 0, NULL);
    ASSERT_NOT_NULL(shared);
    corio_task *t = corio_spawn(recv_task, NULL);
    ASSERT_OK(corio_sleep(0.01));
    corio_cancel(t);
    ASSERT_ERR(corio_join(t), -ECANCELED);
    corio_scope sc;
    ASSERT_OK(corio_scope_enter(&sc, 0.01));
    char buf[8];
    ASSERT_ERR(corio_sock_recvfrom(shared, buf, sizeof buf, NULL, NULL),
               -ETIMEDOUT);
    struct iovec iov = {buf, sizeof buf};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    ASSERT_ERR(corio_sock_recvmsg(shared, &m, 0), -ETIMEDOUT);
    ASSERT_ERR(corio_sock_sendto(shared, "x", 1, NULL, 0), -ETIMEDOUT);
    corio_scope_exit(&sc);
    /* Closing wakes a waiting receiver with -EBADF. */
    receiving = 0;
    t = corio_spawn(recv_task, NULL);
    /* Until it waits (one yield is not enough when CORIO_SEED shuffles
     * the ready queue). */
    while (receiving < 1)
        ASSERT_OK(corio_yield());
    ASSERT_OK(corio_sock_close(shared));
    ASSERT_ERR(corio_join(t), -EBADF);
    return 0;
}

TEST(udp_receive_honours_cancellation_and_deadlines)
{
    RUN(cancel);
}

static int opts(void *arg)
{
    (void)arg;
    corio_udp_opts o = {.family = AF_INET6,
                        .flags = CORIO_SOCK_REUSEPORT | CORIO_SOCK_V6ONLY};
    corio_sock *a = corio_udp_bind(NULL, 0, &o);
    ASSERT_NOT_NULL(a);
    int port;
    port_of(a, &port);
    corio_sock *b = corio_udp_bind("::", port, &o);
    ASSERT_NOT_NULL(b);
    corio_udp_opts bo = {.flags = CORIO_SOCK_BROADCAST};
    corio_sock *c = corio_udp_bind("127.0.0.1", 0, &bo);
    int v = 0;
    socklen_t len = sizeof v;
    getsockopt(corio_sock_fileno(c), SOL_SOCKET, SO_BROADCAST, &v, &len);
    ASSERT_NE(v, 0);
    corio_sock *d = corio_udp_connect("127.0.0.1", port, &bo);
    ASSERT_NOT_NULL(d);
    corio_sock_close(d);
    errno = 0;
    ASSERT_NULL(corio_udp_connect("127.0.0.1", 0, NULL));
    ASSERT_EQ(errno, EINVAL);
    corio_sock_close(a);
    corio_sock_close(b);
    corio_sock_close(c);
    return 0;
}

TEST(udp_options)
{
    RUN(opts);
}

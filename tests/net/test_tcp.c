/* SPDX-License-Identifier: MIT */
/* TCP connect and listen: Happy Eyeballs over address lists (a blackholed
 * address, refused ones, IPv6 and IPv4 interleaved), numeric hosts that
 * never reach DNS, names from the hosts file, the listening options and
 * the dual-stack wildcard listener. */
#include "helpers.h"

#include "net/net_int.h"

/* An address list, in the order given: "127.0.0.1", port, ... */
static struct addrinfo *list(int n, const char **hosts, const int *ports)
{
    struct addrinfo *head = NULL, **tail = &head;
    for (int i = 0; i < n; i++) {
        struct sockaddr_storage ss;
        socklen_t len;
        ASSERT_OK(corio_addr_parse(hosts[i], ports[i], &ss, &len));
        *tail = corio__ai_new(ss.ss_family, SOCK_STREAM, 0,
                              (struct sockaddr *)&ss, len);
        ASSERT_NOT_NULL(*tail);
        tail = &(*tail)->ai_next;
    }
    return head;
}

/* A listener whose backlog is full, so that connecting to it hangs (the
 * kernel drops the SYNs), plus the connections that filled it. */
struct blackhole {
    corio_sock *l;
    corio_sock *held[8];
    int port;
};

static void blackhole_open(struct blackhole *b, bool v6)
{
    memset(b, 0, sizeof *b);
    corio_listen_opts lo = {.backlog = 1};
    const char *host = v6 ? "::1" : "127.0.0.1";
    b->l = corio_tcp_listen(host, 0, &lo);
    ASSERT_NOT_NULL(b->l);
    struct sockaddr_storage ss;
    ASSERT_OK(corio_sock_local_addr(b->l, &ss, NULL));
    b->port = corio_addr_port((struct sockaddr *)&ss);
    for (int k = 0;; k++) {
        ASSERT_LT(k, 8);
        corio_scope sc;
        ASSERT_OK(corio_scope_enter(&sc, 0.05));
        b->held[k] = corio_tcp_connect(host, b->port, NULL);
        corio_scope_exit(&sc);
        if (!b->held[k])
            break;
    }
}

static void blackhole_close(struct blackhole *b)
{
    for (int i = 0; i < 8; i++)
        corio_sock_close(b->held[i]);
    corio_sock_close(b->l);
}

static int hang_then_good(void *arg)
{
    (void)arg;
    struct blackhole bh;
    blackhole_open(&bh, false);
    int port;
    corio_sock *l = listen_lo(false, &port);
    const char *hosts[] = {"127.0.0.1", "127.0.0.1"};
    int ports[] = {bh.port, port};
    struct addrinfo *res = list(2, hosts, ports);

    /* The first address hangs: the second starts after the delay and
     * wins; the first attempt is closed. */
    corio_connect_opts o = {.happy_eyeballs_delay = 0.05};
    double t0 = corio_time();
    corio_sock *c = corio__tcp_connect_list(res, &o);
    double dt = corio_time() - t0;
    ASSERT_NOT_NULL(c);
    ASSERT_GE(dt, 0.05 - 1e-9); /* virtual time is exact */
    ASSERT_LT(dt, 1.0);
    struct sockaddr_storage ss;
    ASSERT_OK(corio_sock_peer_addr(c, &ss, NULL));
    ASSERT_EQ(corio_addr_port((struct sockaddr *)&ss), port);
    corio_sock *s = corio_sock_accept(l);
    ASSERT_NOT_NULL(s);
    corio_sock_close(s);
    corio_sock_close(c);

    /* One at a time (delay < 0): the hanging address holds it up. */
    o.happy_eyeballs_delay = -1;
    corio_scope sc;
    ASSERT_OK(corio_scope_enter(&sc, 0.2));
    errno = 0;
    ASSERT_NULL(corio__tcp_connect_list(res, &o));
    ASSERT_EQ(errno, ETIMEDOUT);
    corio_scope_exit(&sc);

    corio_freeaddrinfo(res);
    corio_sock_close(l);
    blackhole_close(&bh);
    return 0;
}

TEST(happy_eyeballs_starts_the_next_address_after_the_delay)
{
    RUN(hang_then_good);
}

static int refused_then_good(void *arg)
{
    (void)arg;
    int dead, port;
    corio_sock *d = listen_lo(false, &dead);
    corio_sock_close(d);
    corio_sock *l = listen_lo(false, &port);
    const char *hosts[] = {"127.0.0.1", "127.0.0.1", "127.0.0.1"};
    int ports[] = {dead, dead, port};
    struct addrinfo *res = list(3, hosts, ports);
    /* A refusal starts the next address at once, not after the delay. */
    corio_connect_opts o = {.happy_eyeballs_delay = 5};
    double t0 = corio_time();
    corio_sock *c = corio__tcp_connect_list(res, &o);
    ASSERT_NOT_NULL(c);
    ASSERT_LT(corio_time() - t0, 1.0);
    corio_sock *s = corio_sock_accept(l);
    corio_sock_close(s);
    corio_sock_close(c);
    /* All refused: the first error. */
    struct addrinfo *bad = list(2, hosts, ports);
    errno = 0;
    ASSERT_NULL(corio__tcp_connect_list(bad, NULL));
    ASSERT_EQ(errno, ECONNREFUSED);
    corio_freeaddrinfo(bad);
    corio_freeaddrinfo(res);
    corio_sock_close(l);
    return 0;
}

TEST(happy_eyeballs_moves_on_at_once_after_a_failure)
{
    RUN(refused_then_good);
}

static int interleaved(void *arg)
{
    (void)arg;
    /* Two IPv6 addresses that hang, then an IPv4 one that answers: with
     * the families interleaved, IPv4 is the second attempt, one delay in
     * (in the given order it would be the third, two delays in). The
     * delay is long enough that a slow machine's late timers do not
     * blur one delay into two. */
    struct blackhole bh;
    blackhole_open(&bh, true);
    int port;
    corio_sock *l = listen_lo(false, &port);
    const char *hosts[] = {"::1", "::1", "127.0.0.1"};
    int ports[] = {bh.port, bh.port, port};
    struct addrinfo *res = list(3, hosts, ports);
    corio_connect_opts o = {.happy_eyeballs_delay = 0.5};
    double t0 = corio_time();
    corio_sock *c = corio__tcp_connect_list(res, &o);
    double dt = corio_time() - t0;
    ASSERT_NOT_NULL(c);
    ASSERT_GE(dt, 0.5 - 1e-9);
    ASSERT_LT(dt, 0.95);
    corio_sock *s = corio_sock_accept(l);
    corio_sock_close(s);
    corio_sock_close(c);
    corio_freeaddrinfo(res);
    corio_sock_close(l);
    blackhole_close(&bh);
    return 0;
}

TEST(happy_eyeballs_interleaves_the_families)
{
    RUN(interleaved);
}

static int he_cancel(void *arg)
{
    (void)arg;
    struct blackhole bh;
    blackhole_open(&bh, false);
    const char *hosts[] = {"127.0.0.1", "127.0.0.1", "127.0.0.1"};
    int ports[] = {bh.port, bh.port, bh.port};
    struct addrinfo *res = list(3, hosts, ports);
    corio_connect_opts o = {.happy_eyeballs_delay = 0.01};
    corio_scope sc;
    ASSERT_OK(corio_scope_enter(&sc, 0.1));
    errno = 0;
    ASSERT_NULL(corio__tcp_connect_list(res, &o));
    ASSERT_EQ(errno, ETIMEDOUT);
    corio_scope_exit(&sc);
    corio_freeaddrinfo(res);
    blackhole_close(&bh);
    return 0;
}

TEST(happy_eyeballs_race_honours_deadlines)
{
    RUN(he_cancel);
}

static int numeric(void *arg)
{
    (void)arg;
    int port;
    corio_sock *l = listen_lo(true, &port);
    corio_sock *c = corio_tcp_connect("::1", port, NULL);
    ASSERT_NOT_NULL(c);
    /* A numeric host never makes the loop's resolver. */
    ASSERT_NULL(corio_loop_current()->dns);
    corio_sock *s = corio_sock_accept(l);
    ASSERT_NOT_NULL(s);
    corio_sock_close(s);
    corio_sock_close(c);
    corio_sock_close(l);
    errno = 0;
    ASSERT_NULL(corio_tcp_connect("127.0.0.1", 0, NULL));
    ASSERT_EQ(errno, EINVAL);
    ASSERT_NULL(corio_tcp_connect(NULL, 80, NULL));
    corio_connect_opts o = {.family = AF_INET};
    errno = 0;
    ASSERT_NULL(corio_tcp_connect("::1", port, &o));
    ASSERT_EQ(errno, EAFNOSUPPORT);
    return 0;
}

TEST(connect_to_a_numeric_host_skips_dns)
{
    RUN(numeric);
}

static int by_name(void *arg)
{
    (void)arg;
    struct fake_dns dns = {0};
    fake_dns_start(&dns);
    int port;
    corio_sock *l = listen_lo(false, &port);
    /* "localhost" comes from /etc/hosts: no query is sent. */
    corio_sock *c = corio_tcp_connect("localhost", port, NULL);
    ASSERT_NOT_NULL(c);
    corio_sock *s = corio_sock_accept(l);
    corio_sock_close(s);
    corio_sock_close(c);
    ASSERT_EQ(dns.queries, 0);
    /* A name only DNS knows. */
    dns.names[0] = "db.corio.test";
    inet_pton(AF_INET, "127.0.0.1", &dns.addrs[0]);
    corio_connect_opts o = {.family = AF_INET};
    c = corio_tcp_connect("db.corio.test", port, &o);
    ASSERT_NOT_NULL(c);
    ASSERT_GT(dns.queries, 0);
    s = corio_sock_accept(l);
    corio_sock_close(s);
    corio_sock_close(c);
    errno = 0;
    ASSERT_NULL(corio_tcp_connect("nothing.corio.test", port, NULL));
    ASSERT_EQ(errno, ENXIO);
    corio_sock_close(l);
    fake_dns_stop(&dns);
    return 0;
}

TEST(connect_by_name_uses_the_resolver)
{
    RUN(by_name);
}

static int local_addr(void *arg)
{
    (void)arg;
    int port;
    corio_sock *l = listen_lo(false, &port);
    struct sockaddr_storage la;
    socklen_t len;
    ASSERT_OK(corio_addr_parse("127.0.0.2", 0, &la, &len));
    corio_connect_opts o = {.local_addr = (struct sockaddr *)&la,
                            .local_addrlen = len};
    corio_sock *c = corio_tcp_connect("127.0.0.1", port, &o);
    ASSERT_NOT_NULL(c);
    corio_sock *s = corio_sock_accept(l);
    struct sockaddr_storage peer;
    ASSERT_OK(corio_sock_peer_addr(s, &peer, &len));
    char txt[CORIO_ADDR_STRLEN];
    corio_addr_format((struct sockaddr *)&peer, len, txt, sizeof txt);
    ASSERT_TRUE(strncmp(txt, "127.0.0.2:", 10) == 0);
    corio_sock_close(s);
    corio_sock_close(c);
    /* A local address of the other family skips every address. */
    errno = 0;
    ASSERT_NULL(corio_tcp_connect("::1", port, &o));
    ASSERT_EQ(errno, EAFNOSUPPORT);
    corio_sock_close(l);
    return 0;
}

TEST(connect_from_a_local_address)
{
    RUN(local_addr);
}

static void connect_to(const char *host, int port, corio_sock *l)
{
    corio_sock *c = corio_tcp_connect(host, port, NULL);
    ASSERT_NOT_NULL(c);
    corio_sock *s = corio_sock_accept(l);
    ASSERT_NOT_NULL(s);
    corio_sock_close(s);
    corio_sock_close(c);
}

static int wildcard(void *arg)
{
    (void)arg;
    /* Every interface, both families on one socket. */
    corio_sock *l = corio_tcp_listen(NULL, 0, NULL);
    ASSERT_NOT_NULL(l);
    struct sockaddr_storage ss;
    ASSERT_OK(corio_sock_local_addr(l, &ss, NULL));
    int port = corio_addr_port((struct sockaddr *)&ss);
    connect_to("127.0.0.1", port, l);
    connect_to("::1", port, l);
    corio_sock_close(l);
    /* IPv6 only. */
    corio_listen_opts o = {.flags = CORIO_SOCK_V6ONLY};
    l = corio_tcp_listen("::", 0, &o);
    ASSERT_NOT_NULL(l);
    ASSERT_OK(corio_sock_local_addr(l, &ss, NULL));
    port = corio_addr_port((struct sockaddr *)&ss);
    connect_to("::1", port, l);
    errno = 0;
    ASSERT_NULL(corio_tcp_connect("127.0.0.1", port, NULL));
    ASSERT_EQ(errno, ECONNREFUSED);
    corio_sock_close(l);
    return 0;
}

TEST(listen_on_every_interface)
{
    RUN(wildcard);
}

static int reuse(void *arg)
{
    (void)arg;
    corio_listen_opts o = {.flags = CORIO_SOCK_REUSEPORT};
    corio_sock *a = corio_tcp_listen("127.0.0.1", 0, &o);
    ASSERT_NOT_NULL(a);
    struct sockaddr_storage ss;
    ASSERT_OK(corio_sock_local_addr(a, &ss, NULL));
    int port = corio_addr_port((struct sockaddr *)&ss);
    corio_sock *b = corio_tcp_listen("127.0.0.1", port, &o);
    ASSERT_NOT_NULL(b);
    /* Without SO_REUSEPORT the port is taken. */
    errno = 0;
    ASSERT_NULL(corio_tcp_listen("127.0.0.1", port, NULL));
    ASSERT_EQ(errno, EADDRINUSE);
    corio_sock_close(a);
    corio_sock_close(b);
    errno = 0;
    ASSERT_NULL(corio_tcp_listen("127.0.0.1", 65536, NULL));
    ASSERT_EQ(errno, EINVAL);
    /* A name: resolved, the first address that binds. */
    struct fake_dns dns = {0};
    fake_dns_start(&dns);
    corio_sock *n = corio_tcp_listen("localhost", 0, NULL);
    ASSERT_NOT_NULL(n);
    corio_sock_close(n);
    fake_dns_stop(&dns);
    return 0;
}

TEST(listen_reuseport_and_address_in_use)
{
    RUN(reuse);
}

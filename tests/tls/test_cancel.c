/* SPDX-License-Identifier: MIT */
/* Cancellation and deadlines in TLS: during the handshake (client and
 * server, the context's handshake timeout, closing a server with
 * handshakes in progress) and during reads and writes, after which the
 * connection still works. A cancelled handshake frees everything: the
 * RUN check finds no descriptor left, and the harness no heap block. */
#include "helpers.h"

/* A peer that accepts TCP and never speaks TLS. */
struct silent {
    corio_sock *listener;
    int port;
};

static void silent_open(struct silent *s)
{
    s->listener = listen_lo(false, &s->port);
}

static int connect_task(void *arg)
{
    struct silent *s = arg;
    corio_tls_ctx *ctx = client_ctx();
    corio_stream *st = tconnect(s->port, ctx, "localhost");
    int rc = st ? 0 : -errno;
    corio_stream_close(st);
    corio_tls_ctx_free(ctx);
    return rc;
}

static int client_deadline(void *arg)
{
    (void)arg;
    struct silent s;
    silent_open(&s);
    corio_tls_ctx *ctx = client_ctx();
    /* A deadline of the task. */
    corio_scope sc;
    ASSERT_OK(corio_scope_enter(&sc, 0.05));
    double t0 = corio_time(); /* the loop's clock: virtual with a seed */
    ASSERT_NULL(tconnect(s.port, ctx, "localhost"));
    ASSERT_ERR(-errno, -ETIMEDOUT);
    ASSERT_ERR(corio_scope_exit(&sc), -ETIMEDOUT);
    ASSERT_GE(corio_time() - t0, 0.049);
    /* The context's own limit on handshakes. */
    ASSERT_OK(corio_tls_ctx_set_handshake_timeout(ctx, 0.05));
    ASSERT_NULL(tconnect(s.port, ctx, "localhost"));
    ASSERT_ERR(-errno, -ETIMEDOUT);
    ASSERT_TRUE(strstr(corio_tls_ctx_error(ctx), "timeout") != NULL);
    /* A cancellation, while the client waits for the server's answer. */
    corio_task *t = corio_spawn(connect_task, &s);
    ASSERT_OK(corio_sleep(0.02));
    corio_cancel(t);
    ASSERT_ERR(corio_join(t), -ECANCELED);
    /* Already cancelled: fails at once. */
    corio_cancel(corio_current());
    ASSERT_NULL(corio_tls_connect("127.0.0.1", s.port, ctx, NULL));
    ASSERT_ERR(-errno, -ECANCELED);
    corio_tls_ctx_free(ctx);
    ASSERT_OK(corio_sock_close(s.listener));
    return 0;
}

TEST(client_handshake_deadline_timeout_and_cancel)
{
    RUN(client_deadline);
}

static int handled;

static int count_handler(corio_stream *s, void *arg)
{
    handled++;
    return echo_handler(s, arg);
}

static int server_timeout(void *arg)
{
    (void)arg;
    corio_tls_ctx *sctx = server_ctx();
    ASSERT_OK(corio_tls_ctx_set_handshake_timeout(sctx, 0.05));
    struct tserver ts;
    tserver_start(&ts, sctx, count_handler, NULL);
    /* Clients that connect and say nothing: the server drops each after
     * its handshake timeout, without calling the handler. */
    corio_sock *quiet[3];
    for (int i = 0; i < 3; i++) {
        quiet[i] = corio_tcp_connect("127.0.0.1", ts.port, NULL);
        ASSERT_NOT_NULL(quiet[i]);
    }
    ASSERT_OK(corio_sleep(0.02));
    WAIT_UNTIL(corio_server_connections(ts.srv) == 3, 10); /* accepted */
    ASSERT_EQ(corio_server_connections(ts.srv), 3);
    char buf[8];
    for (int i = 0; i < 3; i++) {
        ASSERT_EQ(corio_sock_recv(quiet[i], buf, sizeof buf), 0);
        ASSERT_OK(corio_sock_close(quiet[i]));
    }
    ASSERT_EQ(corio_server_connections(ts.srv), 0);
    ASSERT_EQ(handled, 0);
    /* A real client still gets in. */
    corio_tls_ctx *cctx = client_ctx();
    corio_stream *st = tconnect(ts.port, cctx, "localhost");
    ASSERT_NOT_NULL(st);
    roundtrip(st, "hi\n");
    ASSERT_OK(corio_stream_close(st));
    ASSERT_EQ(handled, 1);

    /* Closing the server cancels the handshakes in progress. */
    ASSERT_OK(corio_tls_ctx_set_handshake_timeout(sctx, -1));
    for (int i = 0; i < 3; i++)
        quiet[i] = corio_tcp_connect("127.0.0.1", ts.port, NULL);
    ASSERT_OK(corio_sleep(0.02));
    WAIT_UNTIL(corio_server_connections(ts.srv) == 3, 10); /* accepted */
    ASSERT_EQ(corio_server_close(ts.srv, 0.01), 3);
    for (int i = 0; i < 3; i++) {
        ASSERT_EQ(corio_sock_recv(quiet[i], buf, sizeof buf), 0);
        ASSERT_OK(corio_sock_close(quiet[i]));
    }
    corio_tls_ctx_free(sctx);
    corio_tls_ctx_free(cctx);
    return 0;
}

TEST(server_handshake_timeout_and_close_during_handshakes)
{
    RUN(server_timeout);
}

/* ---- reads and writes ---- */

struct pair {
    corio_tls_ctx *sctx;
    corio_tls_ctx *cctx;
    corio_stream *cli;
    corio_stream *srv;
    corio_sock *ssock;
};

static int server_side(void *arg)
{
    struct pair *p = arg;
    p->srv = corio_tls_wrap(p->ssock, p->sctx, NULL, NULL);
    return p->srv ? 0 : -errno;
}

static void pair_open(struct pair *p)
{
    p->sctx = server_ctx();
    p->cctx = client_ctx();
    corio_sock *c;
    tcp_pair(&c, &p->ssock);
    corio_task *t = corio_spawn(server_side, p);
    p->cli = corio_tls_wrap(c, p->cctx, "localhost", NULL);
    ASSERT_NOT_NULL(p->cli);
    ASSERT_OK(corio_join(t));
    ASSERT_NOT_NULL(p->srv);
}

static void pair_close(struct pair *p)
{
    ASSERT_OK(corio_stream_close(p->cli));
    ASSERT_OK(corio_stream_close(p->srv));
    corio_tls_ctx_free(p->sctx);
    corio_tls_ctx_free(p->cctx);
}

static int reader(void *arg)
{
    char buf[16];
    return (int)corio_stream_read(arg, buf, sizeof buf);
}

static int reads(void *arg)
{
    (void)arg;
    struct pair p;
    pair_open(&p);
    /* A cancelled read. */
    corio_task *t = corio_spawn(reader, p.cli);
    ASSERT_OK(corio_sleep(0.01));
    corio_cancel(t);
    ASSERT_ERR(corio_join(t), -ECANCELED);
    /* A read past its deadline. */
    corio_scope sc;
    char buf[64];
    ASSERT_OK(corio_scope_enter(&sc, 0.02));
    ASSERT_ERR(corio_stream_read(p.cli, buf, sizeof buf), -ETIMEDOUT);
    corio_scope_exit(&sc);
    /* A record that arrives in pieces, with a deadline in between: the
     * half record stays in OpenSSL and the next read completes it. */
    ASSERT_OK(corio_stream_write(p.srv, "after the deadline", 18));
    ASSERT_OK(corio_stream_drain(p.srv));
    ASSERT_EQ(corio_stream_readexactly(p.cli, buf, 18), 18);
    ASSERT_TRUE(memcmp(buf, "after the deadline", 18) == 0);
    /* Data waiting does not let a cancelled task through. */
    ASSERT_OK(corio_stream_write(p.srv, "x", 1));
    ASSERT_OK(corio_sleep(0.01));
    corio_cancel(corio_current());
    ASSERT_ERR(corio_stream_read(p.cli, buf, sizeof buf), -ECANCELED);
    ASSERT_EQ(corio_stream_read(p.cli, buf, sizeof buf), 1);
    pair_close(&p);
    return 0;
}

TEST(reads_cancelled_or_timed_out_leave_the_connection_working)
{
    RUN(reads);
}

/* A relay between two sockets, for a man in the middle that can split
 * what passes into two halves with a pause between them. */
struct relay {
    corio_sock *from;
    corio_sock *to;
    bool split;
};

static int relay_task(void *arg)
{
    struct relay *r = arg;
    char buf[16384];
    for (;;) {
        ssize_t n = corio_sock_recv(r->from, buf, sizeof buf);
        if (n <= 0)
            return 0;
        size_t half = r->split && n > 1 ? (size_t)n / 2 : (size_t)n;
        if (corio_sock_send(r->to, buf, half) < 0)
            return 0;
        if (half < (size_t)n) {
            corio_sleep(0.1);
            if (corio_sock_send(r->to, buf + half, (size_t)n - half) < 0)
                return 0;
        }
    }
}

static int slow_record(void *arg)
{
    (void)arg;
    corio_tls_ctx *sctx = server_ctx();
    corio_tls_ctx *cctx = client_ctx();
    /* client c2 <-> s2 relay c1 <-> s1 server */
    corio_sock *c1, *s1, *c2, *s2;
    tcp_pair(&c1, &s1);
    tcp_pair(&c2, &s2);
    struct relay down = {c1, s2, false}, up = {s2, c1, false};
    corio_task *rt[2] = {corio_spawn(relay_task, &down),
                         corio_spawn(relay_task, &up)};
    struct pair p = {.sctx = sctx, .ssock = s1};
    corio_task *t = corio_spawn(server_side, &p);
    corio_stream *cli = corio_tls_wrap(c2, cctx, "localhost", NULL);
    ASSERT_NOT_NULL(cli);
    ASSERT_OK(corio_join(t));
    ASSERT_NOT_NULL(p.srv);
    /* Read once so that the server's tickets have passed, then split the
     * next record: the client's deadline strikes with half of it in. */
    ASSERT_OK(corio_stream_write(p.srv, "a", 1));
    char buf[64];
    ASSERT_EQ(corio_stream_read(cli, buf, sizeof buf), 1);
    down.split = true;
    ASSERT_OK(corio_stream_write(p.srv, "0123456789", 10));
    corio_scope sc;
    ASSERT_OK(corio_scope_enter(&sc, 0.05));
    ASSERT_ERR(corio_stream_read(cli, buf, sizeof buf), -ETIMEDOUT);
    corio_scope_exit(&sc);
    /* The half record waited inside OpenSSL; the rest completes it. */
    ASSERT_EQ(corio_stream_readexactly(cli, buf, 10), 10);
    ASSERT_TRUE(memcmp(buf, "0123456789", 10) == 0);
    down.split = false;
    ASSERT_OK(corio_stream_close(cli));
    ASSERT_OK(corio_stream_close(p.srv));
    for (int i = 0; i < 2; i++)
        ASSERT_OK(corio_join(rt[i]));
    ASSERT_OK(corio_sock_close(c1));
    ASSERT_OK(corio_sock_close(s2));
    corio_tls_ctx_free(sctx);
    corio_tls_ctx_free(cctx);
    return 0;
}

TEST(deadline_with_half_a_record_in_keeps_it)
{
    RUN(slow_record);
}

static int writes(void *arg)
{
    (void)arg;
    struct pair p;
    pair_open(&p);
    /* The reader does not read: a large write fills the sockets, and a
     * drain past its deadline returns -ETIMEDOUT with the data kept. */
    size_t n = 8u << 20;
    unsigned char *out = malloc(n);
    for (size_t i = 0; i < n; i++)
        out[i] = pattern(9, i);
    ASSERT_OK(corio_stream_write(p.cli, out, n));
    corio_scope sc;
    ASSERT_OK(corio_scope_enter(&sc, 0.05));
    ASSERT_ERR(corio_stream_drain(p.cli), -ETIMEDOUT);
    corio_scope_exit(&sc);
    ASSERT_GT(corio_stream_write_buffered(p.cli), 0);
    /* Now read it all: every byte arrives, in order. */
    unsigned char *in = malloc(n);
    ASSERT_EQ(corio_stream_readexactly(p.srv, in, n), (ssize_t)n);
    ASSERT_TRUE(memcmp(in, out, n) == 0);
    ASSERT_OK(corio_stream_drain(p.cli));
    free(in);
    free(out);
    pair_close(&p);
    return 0;
}

TEST(drain_past_its_deadline_keeps_the_data)
{
    RUN(writes);
}

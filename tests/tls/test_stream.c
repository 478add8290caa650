/* SPDX-License-Identifier: MIT */
/* TLS streams: the stream API over TLS, large transfers both ways at once,
 * many concurrent connections, clean shutdown in both directions
 * (close_notify), truncation and reset detection, and switching a plain
 * stream to TLS (STARTTLS). */
#include "helpers.h"

/* A connected pair of TLS streams over loopback: cli and srv. */
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

static void pair_free_ctx(struct pair *p)
{
    corio_tls_ctx_free(p->sctx);
    corio_tls_ctx_free(p->cctx);
}

/* ---- the stream API ---- */

static int lines(void *arg)
{
    (void)arg;
    struct pair p;
    pair_open(&p);
    ASSERT_OK(corio_stream_write(p.cli, "one\ntwo\nthree|four", 18));
    char buf[64];
    ASSERT_EQ(corio_stream_readline(p.srv, buf, sizeof buf), 4);
    ASSERT_EQ(corio_stream_readuntil(p.srv, buf, sizeof buf, "|", 1), 10);
    ASSERT_TRUE(memcmp(buf, "two\nthree|", 10) == 0);
    ASSERT_EQ(corio_stream_readexactly(p.srv, buf, 4), 4);
    char a[] = "a", bc[] = "bc", def[] = "def\n";
    struct iovec iov[3] = {{a, 1}, {bc, 2}, {def, 4}};
    ASSERT_OK(corio_stream_writev(p.srv, iov, 3));
    ASSERT_EQ(corio_stream_readline(p.cli, buf, sizeof buf), 7);
    ASSERT_TRUE(memcmp(buf, "abcdef\n", 7) == 0);
    ASSERT_OK(corio_stream_close(p.cli));
    ASSERT_EQ(corio_stream_read(p.srv, buf, sizeof buf), 0);
    ASSERT_TRUE(corio_stream_at_eof(p.srv));
    ASSERT_OK(corio_stream_close(p.srv));
    pair_free_ctx(&p);
    return 0;
}

TEST(stream_calls_over_tls)
{
    RUN(lines);
}

/* ---- large transfers ---- */

struct xfer {
    corio_stream *st;
    size_t n;
    uint64_t seed;
    int rc;
};

static int send_pattern(void *arg)
{
    struct xfer *x = arg;
    static _Thread_local unsigned char chunk[100003];
    size_t off = 0;
    while (off < x->n) {
        size_t k = x->n - off < sizeof chunk ? x->n - off : sizeof chunk;
        for (size_t i = 0; i < k; i++)
            chunk[i] = pattern(x->seed, off + i);
        int rc = corio_stream_write(x->st, chunk, k);
        if (rc == 0)
            rc = corio_stream_drain(x->st);
        if (rc < 0)
            return x->rc = rc;
        off += k;
    }
    return x->rc = corio_stream_write_eof(x->st);
}

static int recv_pattern(void *arg)
{
    struct xfer *x = arg;
    char *buf = malloc(70000);
    size_t off = 0;
    for (;;) {
        /* Vary the size: direct reads and buffered ones. */
        size_t want = 1 + th_rand() % 70000;
        ssize_t n = corio_stream_read(x->st, buf, want);
        if (n < 0) {
            free(buf);
            return x->rc = (int)n;
        }
        if (n == 0)
            break;
        for (ssize_t i = 0; i < n; i++)
            if ((unsigned char)buf[i] != pattern(x->seed, off + (size_t)i))
                FAIL("byte %zu differs", off + (size_t)i);
        off += (size_t)n;
    }
    free(buf);
    ASSERT_EQ(off, x->n);
    return x->rc = 0;
}

static int bulk(void *arg)
{
    (void)arg;
    struct pair p;
    pair_open(&p);
    /* 8 MiB each way at once: both sides write and read concurrently, so
     * socket buffers fill and every pending-write path runs. */
    size_t n = 8u << 20;
    struct xfer up_tx = {p.cli, n, 1, 1}, up_rx = {p.srv, n, 1, 1};
    struct xfer dn_tx = {p.srv, n + 12345, 2, 1};
    struct xfer dn_rx = {p.cli, n + 12345, 2, 1};
    corio_task *t[4] = {
        corio_spawn(send_pattern, &up_tx), corio_spawn(recv_pattern, &up_rx),
        corio_spawn(send_pattern, &dn_tx), corio_spawn(recv_pattern, &dn_rx)};
    for (int i = 0; i < 4; i++)
        ASSERT_OK(corio_join(t[i]));
    ASSERT_OK(up_tx.rc);
    ASSERT_OK(up_rx.rc);
    ASSERT_OK(dn_tx.rc);
    ASSERT_OK(dn_rx.rc);
    ASSERT_OK(corio_stream_close(p.cli));
    ASSERT_OK(corio_stream_close(p.srv));
    pair_free_ctx(&p);
    return 0;
}

TEST_OPTS(large_transfers_both_ways_at_once, .timeout = 120)
{
    RUN(bulk);
}

static int big_write(void *arg)
{
    (void)arg;
    struct pair p;
    pair_open(&p);
    /* One write much larger than the socket buffers: the stream buffers
     * what TLS did not take and its flusher sends it. */
    size_t n = 6u << 20;
    unsigned char *buf = malloc(n);
    for (size_t i = 0; i < n; i++)
        buf[i] = pattern(3, i);
    ASSERT_OK(corio_stream_write(p.cli, buf, n));
    struct xfer rx = {p.srv, n, 3, 1};
    corio_task *t = corio_spawn(recv_pattern, &rx);
    ASSERT_OK(corio_stream_close(p.cli)); /* delivers everything first */
    ASSERT_OK(corio_join(t));
    ASSERT_OK(rx.rc);
    ASSERT_OK(corio_stream_close(p.srv));
    free(buf);
    pair_free_ctx(&p);
    return 0;
}

TEST(one_large_write_then_close_delivers_everything)
{
    RUN(big_write);
}

/* ---- many connections ---- */

struct client_job {
    int port;
    corio_tls_ctx *ctx;
    int id;
};

static int one_client(void *arg)
{
    struct client_job *j = arg;
    corio_stream *st = tconnect(j->port, j->ctx, "localhost");
    if (!st)
        return -errno;
    size_t n = 65536 + (size_t)j->id * 17;
    struct xfer tx = {st, n, (uint64_t)j->id + 100, 1};
    struct xfer rx = {st, n, (uint64_t)j->id + 100, 1};
    corio_task *t = corio_spawn(send_pattern, &tx);
    recv_pattern(&rx);
    int rc = corio_join(t);
    if (!rc)
        rc = tx.rc ? tx.rc : rx.rc;
    int crc = corio_stream_close(st);
    return rc ? rc : crc;
}

/* Echo until end of stream, then end our side too. */
static int echo_eof(corio_stream *s, void *arg)
{
    int rc = echo_handler(s, arg);
    return rc < 0 ? rc : corio_stream_write_eof(s);
}

static int many(void *arg)
{
    (void)arg;
    corio_tls_ctx *sctx = server_ctx();
    corio_tls_ctx *cctx = client_ctx();
    struct tserver ts;
    tserver_start(&ts, sctx, echo_eof, NULL);
    enum { N = 100 };
    static struct client_job jobs[N];
    corio_task *t[N];
    for (int i = 0; i < N; i++) {
        jobs[i] = (struct client_job){ts.port, cctx, i};
        t[i] = corio_spawn(one_client, &jobs[i]);
        ASSERT_NOT_NULL(t[i]);
    }
    for (int i = 0; i < N; i++)
        ASSERT_OK(corio_join(t[i]));
    tserver_stop(&ts);
    corio_tls_ctx_free(sctx);
    corio_tls_ctx_free(cctx);
    return 0;
}

TEST_OPTS(hundred_concurrent_connections, .timeout = 120)
{
    RUN(many);
}

/* ---- the end of a connection ---- */

static int half_close(void *arg)
{
    (void)arg;
    struct pair p;
    pair_open(&p);
    char buf[64];
    /* The client ends its side (close_notify); the server sees a clean
     * end of stream and can still answer. */
    ASSERT_OK(corio_stream_write(p.cli, "request", 7));
    ASSERT_OK(corio_stream_write_eof(p.cli));
    ASSERT_ERR(corio_stream_write(p.cli, "more", 4), -EPIPE);
    ASSERT_EQ(corio_stream_readexactly(p.srv, buf, 7), 7);
    ASSERT_EQ(corio_stream_read(p.srv, buf, sizeof buf), 0);
    ASSERT_TRUE(corio_stream_at_eof(p.srv));
    ASSERT_OK(corio_stream_write(p.srv, "answer", 6));
    /* Then the server closes gracefully: its close_notify ends the
     * client's reading cleanly too. */
    ASSERT_OK(corio_stream_close(p.srv));
    ASSERT_EQ(corio_stream_readexactly(p.cli, buf, 6), 6);
    ASSERT_TRUE(memcmp(buf, "answer", 6) == 0);
    ASSERT_EQ(corio_stream_read(p.cli, buf, sizeof buf), 0);
    ASSERT_TRUE(corio_stream_at_eof(p.cli));
    ASSERT_STR_EQ(corio_tls_error(p.cli), "");
    ASSERT_OK(corio_stream_close(p.cli));
    pair_free_ctx(&p);
    return 0;
}

TEST(clean_shutdown_both_ways_with_close_notify)
{
    RUN(half_close);
}

static int truncation(void *arg)
{
    (void)arg;
    struct pair p;
    pair_open(&p);
    ASSERT_OK(corio_stream_write(p.srv, "partial", 7));
    ASSERT_OK(corio_stream_drain(p.srv));
    /* An aborted close (a scope already expired) sends no close_notify:
     * TCP ends without it, which the client must not take for a clean
     * end. */
    corio_scope sc;
    ASSERT_OK(corio_scope_enter(&sc, 0));
    ASSERT_ERR(corio_stream_close(p.srv), -ETIMEDOUT);
    corio_scope_exit(&sc);
    char buf[64];
    ASSERT_EQ(corio_stream_readexactly(p.cli, buf, 7), 7);
    ASSERT_ERR(corio_stream_read(p.cli, buf, sizeof buf), -ECONNRESET);
    if (!strstr(corio_tls_error(p.cli), "close_notify"))
        FAIL("error text: %s", corio_tls_error(p.cli));
    /* The error sticks, and closing afterwards is quiet. */
    ASSERT_ERR(corio_stream_read(p.cli, buf, sizeof buf), -ECONNRESET);
    ASSERT_OK(corio_stream_close(p.cli));
    pair_free_ctx(&p);
    return 0;
}

TEST(truncation_without_close_notify_is_econnreset)
{
    RUN(truncation);
}

static int reset(void *arg)
{
    (void)arg;
    struct pair p;
    pair_open(&p);
    /* A reset under the TLS stream: reads and writes fail, no SIGPIPE.
     * SO_LINGER 0 and an aborted close make the server's side reset. */
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    ASSERT_OK(setsockopt(corio_sock_fileno(corio_stream_sock(p.srv)),
                         SOL_SOCKET, SO_LINGER, &lg, sizeof lg));
    corio_scope sc;
    ASSERT_OK(corio_scope_enter(&sc, 0));
    corio_stream_close(p.srv);
    corio_scope_exit(&sc);
    char buf[16];
    ssize_t n = corio_stream_read(p.cli, buf, sizeof buf);
    ASSERT_ERR(n, -ECONNRESET);
    int rc = 0;
    for (int i = 0; i < 100 && rc == 0; i++)
        rc = corio_stream_write(p.cli, buf, sizeof buf);
    ASSERT_TRUE(rc == -ECONNRESET || rc == -EPIPE);
    rc = corio_stream_close(p.cli); /* reports the connection's error */
    ASSERT_TRUE(rc == 0 || rc == -ECONNRESET || rc == -EPIPE);
    pair_free_ctx(&p);
    return 0;
}

TEST(peer_reset_fails_reads_and_writes)
{
    RUN(reset);
}

/* ---- STARTTLS ---- */

struct starttls {
    corio_stream *plain;
    corio_tls_ctx *ctx;
    int rc;
    bool inject;
};

static int starttls_server(void *arg)
{
    struct starttls *s = arg;
    char line[64];
    ssize_t n = corio_stream_readline(s->plain, line, sizeof line);
    if (n != 10 || memcmp(line, "STARTTLS\r\n", 10) != 0)
        return s->rc = -EPROTO;
    corio_stream_write(s->plain, "220 go ahead\r\n", 14);
    corio_stream *tls = corio_tls_wrap_stream(s->plain, s->ctx, NULL);
    if (!tls)
        return s->rc = -errno;
    n = corio_stream_readline(tls, line, sizeof line);
    corio_stream_write(tls, line, (size_t)n);
    s->rc = corio_stream_close(tls);
    return 0;
}

static int starttls(void *arg)
{
    (void)arg;
    corio_tls_ctx *sctx = server_ctx();
    corio_tls_ctx *cctx = client_ctx();
    corio_sock *c, *s;
    tcp_pair(&c, &s);
    struct starttls st = {corio_stream_open(s, NULL), sctx, 1, false};
    corio_task *t = corio_spawn(starttls_server, &st);
    corio_stream *plain = corio_stream_open(c, NULL);
    ASSERT_OK(corio_stream_write(plain, "STARTTLS\r\n", 10));
    char line[64];
    ASSERT_EQ(corio_stream_readline(plain, line, sizeof line), 14);
    corio_stream *tls = corio_tls_wrap_stream(plain, cctx, "localhost");
    ASSERT_NOT_NULL(tls);
    ASSERT_STR_EQ(corio_tls_version(tls), "TLSv1.3");
    roundtrip(tls, "secret\n");
    ASSERT_OK(corio_stream_close(tls));
    ASSERT_OK(corio_join(t));
    ASSERT_OK(st.rc);

    /* Bytes that arrive with the go-ahead, before the handshake, were not
     * protected: the switch refuses them (the STARTTLS injection). */
    tcp_pair(&c, &s);
    corio_sock *raw = s;
    plain = corio_stream_open(c, NULL);
    ASSERT_EQ(corio_sock_send(raw, "220 go ahead\r\nEVIL", 18), 18);
    ASSERT_EQ(corio_stream_readline(plain, line, sizeof line), 14);
    ASSERT_NULL(corio_tls_wrap_stream(plain, cctx, "localhost"));
    ASSERT_ERR(-errno, -EPROTO);
    ASSERT_OK(corio_sock_close(raw));
    /* Not over a socket, or NULL. */
    ASSERT_NULL(corio_tls_wrap_stream(NULL, cctx, "localhost"));
    ASSERT_ERR(-errno, -EINVAL);
    corio_tls_ctx_free(sctx);
    corio_tls_ctx_free(cctx);
    return 0;
}

TEST(starttls_switches_a_plain_stream_and_refuses_early_bytes)
{
    RUN(starttls);
}

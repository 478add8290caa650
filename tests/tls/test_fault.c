/* SPDX-License-Identifier: MIT */
/* Fault injection: fail the Nth allocation (corio's seams, which also
 * fail the OpenSSL constructors corio calls) in every path of the TLS
 * module that acquires something, for N = 1, 2, ... until the path
 * succeeds. Every run must end in success or a clean error, and leave no
 * heap block (the harness) and no descriptor (RUN) behind. */
#include "helpers.h"

#include "core/testing.h"

/* The client and the server share the thread, and so the countdown: a
 * failure may strike either side, and the other then sees the connection
 * end. Either way the error is one of these. */
static void clean_error(int rc)
{
    if (rc != -ENOMEM && rc != -ECONNRESET && rc != -EPROTO && rc != -EPIPE)
        FAIL("unexpected error %d (%s)", rc, th_errname(-rc));
}

static int contexts(void *arg)
{
    (void)arg;
    certs_make();
    for (long nth = 1;; nth++) {
        corio__fault_alloc(nth);
        corio_tls_ctx *ctx = corio_tls_ctx_new(CORIO_TLS_SERVER);
        int rc = ctx ? 0 : -errno;
        if (ctx) {
            static const char *const protos[] = {"h2", "http/1.1"};
            rc = corio_tls_ctx_set_alpn(ctx, protos, 2);
            if (rc == 0)
                rc = corio_tls_ctx_load_cert_chain(ctx, certs.server,
                                                   certs.server_key);
            if (rc == 0)
                rc = corio_tls_ctx_add_cert_chain(ctx, certs.other,
                                                  certs.other_key);
            if (rc == 0)
                rc = corio_tls_ctx_add_cert_chain(ctx, certs.wild,
                                                  certs.wild_key);
        }
        bool fired = corio__fault_alloc_calls() >= nth;
        corio__fault_alloc(0);
        corio_tls_ctx_free(ctx);
        if (!fired) {
            ASSERT_OK(rc);
            break;
        }
        ASSERT_TRUE(rc == 0 || rc == -ENOMEM);
        ASSERT_LT(nth, 200);
    }
    return 0;
}

TEST(context_under_fault_injection)
{
    RUN(contexts);
}

static int client_side(void *arg)
{
    (void)arg;
    corio_tls_ctx *sctx = server_ctx();
    corio_tls_ctx *cctx = client_ctx();
    struct tserver ts;
    tserver_start(&ts, sctx, echo_handler, NULL);
    /* A first connection fills the session cache; the loop below then
     * takes the resuming path too. */
    for (int round = 0; round < 2; round++) {
        for (long nth = 1;; nth++) {
            corio_sock *sock = corio_tcp_connect("127.0.0.1", ts.port, NULL);
            ASSERT_NOT_NULL(sock);
            corio__fault_alloc(nth);
            corio_stream *st = corio_tls_wrap(sock, cctx, "localhost", NULL);
            int rc = st ? 0 : -errno;
            if (st) {
                rc = corio_stream_write(st, "ping\n", 5);
                char buf[8];
                if (rc == 0)
                    rc = (int)corio_stream_readexactly(st, buf, 5);
                rc = rc == 5 ? 0 : rc < 0 ? rc : -EIO;
            }
            bool fired = corio__fault_alloc_calls() >= nth;
            corio__fault_alloc(0);
            if (st)
                corio_stream_close(st);
            else
                ASSERT_OK(corio_sock_close(sock));
            if (!fired) {
                ASSERT_OK(rc);
                break;
            }
            if (rc)
                clean_error(rc);
            ASSERT_LT(nth, 200);
        }
    }
    tserver_stop(&ts);
    corio_tls_ctx_free(sctx);
    corio_tls_ctx_free(cctx);
    return 0;
}

TEST(client_connection_under_fault_injection)
{
    RUN(client_side);
}

struct accept_job {
    corio_tls_ctx *ctx;
    corio_sock *sock;
    long nth;
    int rc;
    bool fired; /* the Nth allocation came */
};

static int accept_faulty(void *arg)
{
    struct accept_job *j = arg;
    /* The countdown is per thread: set it in the task that allocates, the
     * client's allocations come before the handshake reaches here. */
    corio__fault_alloc(j->nth);
    corio_stream *st = corio_tls_wrap(j->sock, j->ctx, NULL, NULL);
    j->rc = st ? 0 : -errno;
    if (st) {
        char buf[8];
        ssize_t n = corio_stream_readexactly(st, buf, 5);
        if (n == 5)
            j->rc = corio_stream_write(st, buf, 5);
        else
            j->rc = n < 0 ? (int)n : -EIO;
    }
    j->fired = corio__fault_alloc_calls() >= j->nth;
    corio__fault_alloc(0);
    if (st)
        corio_stream_close(st);
    else
        corio_sock_close(j->sock);
    return 0;
}

static int server_side(void *arg)
{
    (void)arg;
    corio_tls_ctx *sctx = server_ctx();
    corio_tls_ctx *cctx = client_ctx();
    ASSERT_OK(corio_tls_ctx_set_session_cache(cctx, 0));
    for (long nth = 1;; nth++) {
        corio_sock *c;
        struct accept_job j = {.ctx = sctx, .nth = nth};
        tcp_pair(&c, &j.sock);
        corio_task *t = corio_spawn(accept_faulty, &j);
        /* Run the server's start (its allocations) before the client's. */
        ASSERT_OK(corio_yield());
        corio_stream *st = corio_tls_wrap(c, cctx, "localhost", NULL);
        if (st) {
            char buf[8];
            corio_stream_write(st, "ping\n", 5);
            corio_stream_readexactly(st, buf, 5);
            corio_stream_close(st);
        } else {
            ASSERT_OK(corio_sock_close(c));
        }
        ASSERT_OK(corio_join(t));
        if (!j.fired) {
            ASSERT_OK(j.rc);
            break;
        }
        if (j.rc)
            clean_error(j.rc);
        ASSERT_LT(nth, 200);
    }
    corio_tls_ctx_free(sctx);
    corio_tls_ctx_free(cctx);
    return 0;
}

TEST(server_connection_under_fault_injection)
{
    RUN(server_side);
}

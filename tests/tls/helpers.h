/* SPDX-License-Identifier: MIT */
/* Helpers the TLS tests share: contexts for the test certificates, a TLS
 * server on 127.0.0.1 run by the test, connecting a client by address
 * with a name to verify (no test resolves a name), and an echo handler. */
#ifndef CORIO_TEST_TLS_HELPERS_H
#define CORIO_TEST_TLS_HELPERS_H

#include "../net/helpers.h"
#include "certs.h"

#include <corio/tls.h>

static inline corio_tls_ctx *server_ctx(void)
{
    certs_make();
    corio_tls_ctx *ctx = corio_tls_ctx_new(CORIO_TLS_SERVER);
    ASSERT_NOT_NULL(ctx);
    ASSERT_OK(corio_tls_ctx_load_cert_chain(ctx, certs.server,
                                            certs.server_key));
    return ctx;
}

static inline corio_tls_ctx *client_ctx(void)
{
    certs_make();
    corio_tls_ctx *ctx = corio_tls_ctx_new(CORIO_TLS_CLIENT);
    ASSERT_NOT_NULL(ctx);
    ASSERT_OK(corio_tls_ctx_load_verify(ctx, certs.ca, NULL));
    return ctx;
}

/* A TLS server on 127.0.0.1 and a free port. */
struct tserver {
    corio_server *srv;
    int port;
};

static inline void tserver_start(struct tserver *t, corio_tls_ctx *ctx,
                                 corio_server_fn fn, void *arg)
{
    t->srv = corio_tls_start_server("127.0.0.1", 0, ctx, fn, arg, NULL);
    ASSERT_NOT_NULL(t->srv);
    struct sockaddr_storage ss;
    ASSERT_OK(corio_sock_local_addr(corio_server_sock(t->srv), &ss, NULL));
    t->port = corio_addr_port((struct sockaddr *)&ss);
}

static inline void tserver_stop(struct tserver *t)
{
    ASSERT_GE(corio_server_close(t->srv, 5.0), 0);
}

/* A TLS client connection to 127.0.0.1:port, checking the certificate
 * against name. NULL with errno set. */
static inline corio_stream *tconnect(int port, corio_tls_ctx *ctx,
                                     const char *name)
{
    corio_sock *sock = corio_tcp_connect("127.0.0.1", port, NULL);
    ASSERT_NOT_NULL(sock);
    corio_stream *st = corio_tls_wrap(sock, ctx, name, NULL);
    if (!st) {
        int e = errno;
        ASSERT_OK(corio_sock_close(sock));
        errno = e;
    }
    return st;
}

/* Echo every byte until the end of the stream. */
static inline int echo_handler(corio_stream *s, void *arg)
{
    (void)arg;
    char buf[16384];
    ssize_t n;
    while ((n = corio_stream_read(s, buf, sizeof buf)) > 0) {
        int rc = corio_stream_write(s, buf, (size_t)n);
        if (rc == 0)
            rc = corio_stream_drain(s);
        if (rc < 0)
            return rc;
    }
    return (int)n;
}

/* Send msg and read its echo. */
static inline void roundtrip(corio_stream *st, const char *msg)
{
    size_t n = strlen(msg);
    char buf[256];
    ASSERT_OK(corio_stream_write(st, msg, n));
    ASSERT_EQ(corio_stream_readexactly(st, buf, n), (ssize_t)n);
    ASSERT_TRUE(memcmp(buf, msg, n) == 0);
}

#endif

/* SPDX-License-Identifier: MIT */
/* TLS servers: corio's server (src/net/server.c) with a stream maker that
 * runs the handshake in each connection's handler task, so a slow or
 * failing handshake holds up only its own connection, and the handler
 * gets a TLS stream. The server keeps a reference to the context until
 * it is closed. */
#include "tls/tls_int.h"

/* The server's stream maker: the handshake, under the context's timeout. */
static corio_stream *open_tls(corio_sock *sock, const corio_stream_opts *opts,
                              void *arg)
{
    return corio_tls_wrap(sock, arg, NULL, opts);
}

static void unref(void *arg)
{
    corio__tls_ctx_unref(arg);
}

corio_server *corio_tls_server_new(corio_sock *listener, corio_tls_ctx *ctx,
                                   corio_server_fn fn, void *arg,
                                   const corio_server_opts *opts)
{
    if (!ctx || ctx->role != CORIO_TLS_SERVER) {
        errno = EINVAL;
        return NULL;
    }
    corio__tls_ctx_ref(ctx);
    corio_server *srv = corio__server_new_open(listener, fn, arg, opts,
                                               open_tls, ctx, unref);
    if (!srv) {
        int e = errno;
        corio__tls_ctx_unref(ctx);
        errno = e;
    }
    return srv;
}

corio_server *corio_tls_start_server(const char *host, int port,
                                     corio_tls_ctx *ctx, corio_server_fn fn,
                                     void *arg,
                                     const corio_server_opts *opts)
{
    if (!ctx || !fn || ctx->role != CORIO_TLS_SERVER) {
        errno = EINVAL;
        return NULL;
    }
    corio_sock *l = corio_tcp_listen(host, port, opts ? &opts->listen : NULL);
    if (!l)
        return NULL;
    corio_server *srv = corio_tls_server_new(l, ctx, fn, arg, opts);
    if (!srv) {
        int e = errno;
        corio_sock_close(l);
        errno = e;
    }
    return srv;
}

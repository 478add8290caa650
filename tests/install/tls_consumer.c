/* SPDX-License-Identifier: MIT */
/* A program outside the tree, built against an installed corio_tls: it
 * must compile from the installed headers alone, link OpenSSL through
 * pkg-config or CMake, and run a handshake (against a peer that does not
 * speak TLS, so that it needs no certificate). */
#include <corio.h>
#include <corio/tls.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

static int plain_peer(void *arg)
{
    corio_sock *s = arg;
    char buf[512];
    corio_sock_recv(s, buf, sizeof buf); /* the ClientHello */
    corio_sock_send(s, "HTTP/1.0 400 Bad Request\r\n\r\n", 28);
    return corio_sock_close(s);
}

static int entry(void *arg)
{
    (void)arg;
    corio_tls_ctx *ctx = corio_tls_ctx_new(CORIO_TLS_CLIENT);
    if (!ctx)
        return -errno;
    corio_tls_ctx_set_verify(ctx, CORIO_TLS_VERIFY_NONE);
    corio_sock *pair[2];
    if (corio_sock_pair(SOCK_STREAM, pair) < 0)
        return -1;
    corio_task *t = corio_spawn(plain_peer, pair[1]);
    corio_stream *s = corio_tls_wrap(pair[0], ctx, NULL, NULL);
    int rc = s ? 0 : -errno;
    printf("corio_tls: a handshake with a plain peer: %s (%s)\n",
           strerror(-rc), corio_tls_ctx_error(ctx));
    corio_stream_close(s);
    if (!s)
        corio_sock_close(pair[0]);
    corio_join(t);
    corio_tls_ctx_free(ctx);
    return rc == -EPROTO ? 0 : 1;
}

int main(void)
{
    return corio_run(entry, NULL) == 0 ? 0 : 1;
}

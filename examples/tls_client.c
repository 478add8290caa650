/* SPDX-License-Identifier: MIT */
/* Fetch a page over HTTPS and print it: a TLS connection is a corio_stream
 * like any other. The certificate is checked against the system's trust
 * store, or against CAFILE if one is given.
 *
 *     tls_client HOST PORT [PATH [CAFILE]]
 *
 * Build: cc tls_client.c $(pkg-config --cflags --libs corio_tls) */
#include <corio.h>
#include <corio/tls.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct args {
    const char *host;
    int port;
    const char *path;
    const char *cafile;
};

static int fetch(void *arg)
{
    struct args *a = arg;
    corio_tls_ctx *ctx = corio_tls_ctx_new(CORIO_TLS_CLIENT);
    if (!ctx)
        return -errno;
    static const char *const alpn[] = {"http/1.1"};
    corio_tls_ctx_set_alpn(ctx, alpn, 1);
    if (a->cafile && corio_tls_ctx_load_verify(ctx, a->cafile, NULL) < 0) {
        fprintf(stderr, "tls_client: %s: %s\n", a->cafile,
                corio_tls_ctx_error(ctx));
        corio_tls_ctx_free(ctx);
        return -EINVAL;
    }

    /* Connect, shake hands, check the certificate against the host. */
    corio_stream *s = corio_tls_connect(a->host, a->port, ctx, NULL);
    if (!s) {
        int rc = -errno;
        fprintf(stderr, "tls_client: %s:%d: %s (%s)\n", a->host, a->port,
                strerror(-rc), corio_tls_ctx_error(ctx));
        corio_tls_ctx_free(ctx);
        return rc;
    }
    fprintf(stderr, "tls_client: %s, %s, server %s\n", corio_tls_version(s),
            corio_tls_cipher(s), corio_tls_peer_subject(s));

    char req[512];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n",
                     a->path, a->host);
    int rc = corio_stream_write(s, req, (size_t)n);

    /* Print the response until the server ends the stream. */
    char buf[16384];
    ssize_t got = 0;
    while (rc == 0 && (got = corio_stream_read(s, buf, sizeof buf)) > 0)
        fwrite(buf, 1, (size_t)got, stdout);
    if (rc == 0 && got < 0)
        rc = (int)got;
    if (rc == -ECONNRESET)
        fprintf(stderr, "tls_client: %s\n", corio_tls_error(s));
    corio_stream_close(s);
    corio_tls_ctx_free(ctx);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: tls_client HOST PORT [PATH [CAFILE]]\n");
        return 2;
    }
    struct args a = {argv[1], atoi(argv[2]), argc > 3 ? argv[3] : "/",
                     argc > 4 ? argv[4] : NULL};
    int rc = corio_run(fetch, &a);
    return rc < 0 ? 1 : 0;
}

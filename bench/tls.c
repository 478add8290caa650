/* SPDX-License-Identifier: MIT */
/* Workloads (t) and (u): TLS handshakes per second and bulk throughput,
 * corio against `openssl s_server` and `openssl s_time` on the same
 * certificate (bench/tlsbench.py runs them).
 *
 * Server: serves files from a directory as `openssl s_server -WWW` does:
 * a handshake, "GET /name HTTP/1.0", "HTTP/1.0 200 ok" and the file, then
 * close_notify. Prints "port N"; runs until SIGTERM or SIGINT.
 *     bench_tls server CERT KEY DIR PORT
 * Client: for SECONDS, CONC tasks each connect, shake hands (no
 * verification, as s_time), GET PATH, read to the end and close; with
 * --reuse, resuming the session (s_time -reuse). Prints one JSON line.
 *     bench_tls client HOST PORT PATH SECONDS [CONC] [--reuse] */
#include <corio.h>
#include <corio/tls.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#define CHUNK 16384 /* s_server -WWW writes the file in 16 KiB pieces */

/* ---- server ---- */

static const char *docroot;
static sigset_t stop;

static int serve_file(corio_stream *s, void *arg)
{
    (void)arg;
    char line[1024];
    ssize_t n = corio_stream_readline(s, line, sizeof line);
    if (n < 14 || memcmp(line, "GET /", 5) != 0)
        return n < 0 ? (int)n : -EPROTO;
    char *end = strchr(line + 5, ' ');
    if (!end)
        return -EPROTO;
    *end = '\0';
    /* Skip the rest of the request's head. */
    char rest[1024];
    while ((n = corio_stream_readline(s, rest, sizeof rest)) > 2)
        ;
    if (n < 0)
        return (int)n;
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", docroot, line + 5);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return corio_stream_write(s, "HTTP/1.0 404 Not Found\r\n\r\n", 26);
    static const char head[] = "HTTP/1.0 200 ok\r\n"
                               "Content-type: text/plain\r\n\r\n";
    int rc = corio_stream_write(s, head, sizeof head - 1);
    char *buf = malloc(CHUNK);
    ssize_t k;
    /* The file sits in the page cache: plain reads, as s_server's. */
    while (rc == 0 && buf && (k = read(fd, buf, CHUNK)) > 0) {
        rc = corio_stream_write(s, buf, (size_t)k);
        if (rc == 0)
            rc = corio_stream_drain(s);
    }
    free(buf);
    close(fd);
    return rc;
}

static int wait_stop(void)
{
    int fd = signalfd(-1, &stop, SFD_NONBLOCK | SFD_CLOEXEC);
    corio_fd *f = corio_fd_open(fd);
    if (!f)
        return -1;
    int rc = corio_fd_wait(f, CORIO_READABLE);
    corio_fd_close(f);
    close(fd);
    return rc;
}

struct server_args {
    const char *cert;
    const char *key;
    int port;
};

static int server(void *arg)
{
    struct server_args *a = arg;
    corio_tls_ctx *ctx = corio_tls_ctx_new(CORIO_TLS_SERVER);
    if (!ctx || corio_tls_ctx_load_cert_chain(ctx, a->cert, a->key) < 0) {
        fprintf(stderr, "bench_tls: %s\n", corio_tls_ctx_error(ctx));
        return 1;
    }
    corio_server *srv =
        corio_tls_start_server("127.0.0.1", a->port, ctx, serve_file, NULL,
                               NULL);
    corio_tls_ctx_free(ctx);
    if (!srv)
        return 1;
    struct sockaddr_storage ss;
    corio_sock_local_addr(corio_server_sock(srv), &ss, NULL);
    printf("port %d\n", corio_addr_port((struct sockaddr *)&ss));
    fflush(stdout);
    wait_stop();
    corio_server_close(srv, 0);
    return 0;
}

/* ---- client ---- */

struct client_args {
    const char *host;
    int port;
    const char *path;
    double until;
    corio_tls_ctx *ctx;
    long conns;
    long resumed;
    long failed;
    uint64_t bytes;
};

static int client_task(void *arg)
{
    struct client_args *a = arg;
    char req[512];
    int reqlen = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\n\r\n",
                          a->path);
    char *buf = malloc(65536);
    while (corio_time() < a->until) {
        corio_stream *s = corio_tls_connect(a->host, a->port, a->ctx, NULL);
        if (!s) {
            a->failed++;
            if (a->failed > 100)
                break;
            continue;
        }
        a->resumed += corio_tls_resumed(s);
        int rc = corio_stream_write(s, req, (size_t)reqlen);
        ssize_t n;
        while (rc == 0 && (n = corio_stream_read(s, buf, 65536)) > 0)
            a->bytes += (uint64_t)n;
        corio_stream_close(s);
        a->conns++;
    }
    free(buf);
    return 0;
}

struct run {
    struct client_args base;
    int conc;
    bool reuse;
    double secs;
};

/* The client's main task: CONC tasks for SECONDS, then one JSON line. */
static int client(void *arg)
{
    struct run *r = arg;
    corio_tls_ctx *ctx = corio_tls_ctx_new(CORIO_TLS_CLIENT);
    if (!ctx)
        return 1;
    corio_tls_ctx_set_verify(ctx, CORIO_TLS_VERIFY_NONE);
    if (!r->reuse)
        corio_tls_ctx_set_session_cache(ctx, 0);
    struct client_args *a = calloc((size_t)r->conc, sizeof *a);
    corio_task **t = calloc((size_t)r->conc, sizeof *t);
    double t0 = corio_time();
    for (int i = 0; i < r->conc; i++) {
        a[i] = r->base;
        a[i].ctx = ctx;
        a[i].until = t0 + r->secs;
        t[i] = corio_spawn(client_task, &a[i]);
    }
    long conns = 0, failed = 0, resumed = 0;
    uint64_t bytes = 0;
    for (int i = 0; i < r->conc; i++) {
        corio_join(t[i]);
        conns += a[i].conns;
        resumed += a[i].resumed;
        failed += a[i].failed;
        bytes += a[i].bytes;
    }
    double wall = corio_time() - t0;
    printf("{\"conns\": %ld, \"resumed\": %ld, \"failed\": %ld, "
           "\"bytes\": %llu, "
           "\"seconds\": %.4f, \"conns_per_s\": %.1f, "
           "\"mb_per_s\": %.2f}\n",
           conns, resumed, failed, (unsigned long long)bytes, wall,
           conns / wall,
           (double)bytes / 1e6 / wall);
    free(a);
    free(t);
    corio_tls_ctx_free(ctx);
    return failed && !conns;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    if (argc >= 6 && strcmp(argv[1], "server") == 0) {
        struct server_args a = {argv[2], argv[3], atoi(argv[5])};
        docroot = argv[4];
        sigemptyset(&stop);
        sigaddset(&stop, SIGTERM);
        sigaddset(&stop, SIGINT);
        sigprocmask(SIG_BLOCK, &stop, NULL);
        return corio_run(server, &a) != 0;
    }
    if (argc >= 6 && strcmp(argv[1], "client") == 0) {
        struct run r = {.base = {.host = argv[2],
                                 .port = atoi(argv[3]),
                                 .path = argv[4]},
                        .conc = 1,
                        .secs = atof(argv[5])};
        for (int i = 6; i < argc; i++) {
            if (strcmp(argv[i], "--reuse") == 0)
                r.reuse = true;
            else
                r.conc = atoi(argv[i]);
        }
        if (r.conc < 1)
            r.conc = 1;
        return corio_run(client, &r) != 0;
    }
    fprintf(stderr, "usage: bench_tls server CERT KEY DIR PORT\n"
                    "       bench_tls client HOST PORT PATH SECONDS [CONC] "
                    "[--reuse]\n");
    return 2;
}

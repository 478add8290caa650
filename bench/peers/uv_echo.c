/* SPDX-License-Identifier: MIT */
/* Workloads (m) and (n), libuv's side: an echo server written with
 * callbacks, as a careful libuv user would: uv_try_write first, and a
 * copied uv_write only for what the socket did not take. TCP_NODELAY, as
 * the other servers have it. Prints "port N" once listening.
 * Usage: bench_uv_echo PORT */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

static uv_loop_t *loop;

struct wreq {
    uv_write_t req;
    uv_buf_t buf;
};

static void on_close(uv_handle_t *h)
{
    free(h);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    (void)h;
    (void)hint;
    static char slab[65536]; /* one read at a time: one buffer will do */
    buf->base = slab;
    buf->len = sizeof slab;
}

static void on_written(uv_write_t *req, int status)
{
    struct wreq *w = (struct wreq *)req;
    if (status < 0)
        uv_close((uv_handle_t *)req->handle, on_close);
    free(w->buf.base);
    free(w);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    if (n < 0) {
        uv_close((uv_handle_t *)s, on_close);
        return;
    }
    if (n == 0)
        return;
    uv_buf_t b = uv_buf_init(buf->base, (unsigned)n);
    int k = uv_try_write(s, &b, 1);
    if (k == n)
        return;
    if (k < 0 && k != UV_EAGAIN) {
        uv_close((uv_handle_t *)s, on_close);
        return;
    }
    if (k < 0)
        k = 0;
    struct wreq *w = malloc(sizeof *w);
    w->buf = uv_buf_init(malloc((size_t)(n - k)), (unsigned)(n - k));
    memcpy(w->buf.base, buf->base + k, (size_t)(n - k));
    uv_write(&w->req, s, &w->buf, 1, on_written);
}

static void on_connection(uv_stream_t *server, int status)
{
    if (status < 0)
        return;
    uv_tcp_t *c = malloc(sizeof *c);
    uv_tcp_init(loop, c);
    if (uv_accept(server, (uv_stream_t *)c) == 0) {
        uv_tcp_nodelay(c, 1);
        uv_read_start((uv_stream_t *)c, on_alloc, on_read);
    } else {
        uv_close((uv_handle_t *)c, on_close);
    }
}

static void on_signal(uv_signal_t *h, int signum)
{
    (void)signum;
    uv_stop(h->loop);
}

int main(int argc, char **argv)
{
    loop = uv_default_loop();
    uv_tcp_t server;
    uv_tcp_init(loop, &server);
    struct sockaddr_in addr;
    uv_ip4_addr("127.0.0.1", argc > 1 ? atoi(argv[1]) : 0, &addr);
    if (uv_tcp_bind(&server, (const struct sockaddr *)&addr, 0) ||
        uv_listen((uv_stream_t *)&server, SOMAXCONN, on_connection)) {
        fprintf(stderr, "bench_uv_echo: cannot listen\n");
        return 1;
    }
    struct sockaddr_storage ss;
    int len = sizeof ss;
    uv_tcp_getsockname(&server, (struct sockaddr *)&ss, &len);
    printf("port %d\n", ntohs(((struct sockaddr_in *)&ss)->sin_port));
    fflush(stdout);
    uv_signal_t sig;
    uv_signal_init(loop, &sig);
    uv_signal_start(&sig, on_signal, SIGTERM);
    uv_run(loop, UV_RUN_DEFAULT);
    return 0;
}

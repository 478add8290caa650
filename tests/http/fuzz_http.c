/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the HTTP request path: each input is the bytes of
 * one connection, written to a socket pair whose other end a connection
 * task serves (parser, limits, routing, middleware, bodies, responses,
 * files), as it would serve a client; the answers are read and dropped.
 * Built with clang's -fsanitize=fuzzer,address in sanitizer builds
 * (tests/http/fuzz.cmake), with the HTTP sources and llhttp compiled in
 * so that the fuzzer sees their coverage. One loop lives for the whole
 * run; every input runs as a task on it. */
#include "http/http_int.h"

#include <corio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static corio_loop *loop;
static corio_http_app *app;
static corio_http_server srv; /* connection state, without a listener */
static char dir[64];
static const uint8_t *input;
static size_t input_len;

static int h_hello(corio_http_req *req, void *arg)
{
    (void)arg;
    return corio_http_resp_text(req, 200, "Hello, World!");
}

static int h_echo(corio_http_req *req, void *arg)
{
    (void)arg;
    const char *body;
    ssize_t n = corio_http_req_body(req, &body);
    if (n < 0)
        return (int)n;
    return corio_http_resp_send(req, 200, "application/octet-stream", body,
                                (size_t)n);
}

static int h_stream(corio_http_req *req, void *arg)
{
    (void)arg;
    char buf[5];
    ssize_t n;
    while ((n = corio_http_req_read(req, buf, sizeof buf)) > 0) {
        int rc = corio_http_resp_write(req, buf, (size_t)n);
        if (rc < 0)
            return rc;
    }
    return n < 0 ? (int)n : corio_http_resp_end(req);
}

static int h_json(corio_http_req *req, void *arg)
{
    (void)arg;
    corio_http_json j;
    corio_http_json_init(&j);
    corio_http_json_begin_object(&j);
    corio_http_json_key(&j, "id");
    corio_http_json_string(&j, corio_http_req_param(req, "id"));
    corio_http_json_key(&j, "q");
    corio_http_json_string(&j, corio_http_req_query(req, "q"));
    corio_http_json_key(&j, "ua");
    corio_http_json_string(&j, corio_http_req_header(req, "user-agent"));
    corio_http_json_key(&j, "rest");
    corio_http_json_string(&j, corio_http_req_param(req, "rest"));
    corio_http_json_end_object(&j);
    int rc = corio_http_resp_json(req, 200, &j);
    corio_http_json_free(&j);
    return rc;
}

static int h_fail(corio_http_req *req, void *arg)
{
    (void)req;
    (void)arg;
    return -EIO;
}

static int mw(corio_http_req *req, void *arg)
{
    (void)arg;
    if (corio_http_req_header(req, "x-deny"))
        return corio_http_resp_error(req, 403);
    int rc = corio_http_next(req);
    if (rc >= 0)
        corio_http_resp_add_header(req, "X-Mw", "1");
    return rc;
}

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/corio-fuzz-http-XXXXXX");
    if (!mkdtemp(dir))
        abort();
    char path[128];
    snprintf(path, sizeof path, "%s/a.txt", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        abort();
    for (int i = 0; i < 1000; i++)
        fprintf(f, "line %d\n", i);
    fclose(f);
    app = corio_http_app_new();
    corio_http_app_route(app, "GET", "/", h_hello, NULL);
    corio_http_app_route(app, "POST", "/echo", h_echo, NULL);
    corio_http_app_route(app, "PUT", "/stream", h_stream, NULL);
    corio_http_app_route(app, NULL, "/u/{id}/{rest...}", h_json, NULL);
    corio_http_app_route(app, "GET", "/fail", h_fail, NULL);
    corio_http_app_static(app, "/s", dir);
    corio_http_app_use(app, mw, NULL);
}

static int init_server(void *arg)
{
    (void)arg;
    corio_http_server_opts o = {
        .max_request_line = 512, .max_header_bytes = 1024,
        .max_headers = 16, .max_body = 2048, .header_timeout = 0.5,
        .body_timeout = 0.5, .idle_timeout = 0.5, .write_timeout = 0.5};
    corio_http_server_opts full;
    corio__http_opts(&full, &o);
    return corio__http_server_init(&srv, app, &full);
}

/* The client: the input, then the end of the stream. */
static int feed(void *arg)
{
    corio_sock *s = arg;
    if (input_len)
        corio_sock_send(s, input, input_len);
    corio_sock_shutdown(s, SHUT_WR);
    return 0;
}

static int drop(void *arg)
{
    corio_sock *s = arg;
    char buf[4096];
    while (corio_sock_recv(s, buf, sizeof buf) > 0)
        ;
    return 0;
}

static int one(void *arg)
{
    (void)arg;
    corio_sock *pair[2];
    if (corio_sock_pair(SOCK_STREAM, pair) < 0)
        abort();
    corio_stream *st = corio_stream_open(pair[1], NULL);
    if (!st)
        abort();
    corio_task *w = corio_spawn(feed, pair[0]);
    corio_task *r = corio_spawn(drop, pair[0]);
    int rc = corio__http_serve(st, &srv);
    if (rc < 0) {
        corio_scope sc;
        corio_scope_enter(&sc, 0);
        corio_stream_close(st);
        corio_scope_exit(&sc);
    } else {
        corio_stream_close(st);
    }
    corio_join(w);
    corio_join(r);
    corio_sock_close(pair[0]);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!loop) {
        loop = corio_loop_new(NULL);
        if (!loop)
            abort();
        setup();
        corio_task *t = corio_loop_spawn(loop, init_server, NULL, NULL);
        if (corio_loop_run_until_complete(loop, t) != 0)
            abort();
        corio_task_unref(t);
    }
    input = data;
    input_len = size;
    corio_task *t = corio_loop_spawn(loop, one, NULL, NULL);
    if (!t || corio_loop_run_until_complete(loop, t) != 0)
        abort();
    corio_task_unref(t);
    return 0;
}

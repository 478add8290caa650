/* SPDX-License-Identifier: MIT */
/* Helpers the HTTP tests share: a server for an application on a free
 * loopback port, a raw client that writes exact bytes and reads responses
 * back (status, header fields, body decoded from chunks), and the test
 * application most cases talk to. The client is written against the wire,
 * not against the server's code, so that it checks what a real client
 * would see. */
#ifndef CORIO_TEST_HTTP_HELPERS_H
#define CORIO_TEST_HTTP_HELPERS_H

#include "../net/helpers.h"

#include <corio/http.h>
#include <stdarg.h>
#include <strings.h>

/* ---- servers ---- */

static inline corio_http_server *
start_http(corio_http_app *app, const corio_http_server_opts *o, int *port)
{
    corio_http_server *srv = corio_http_start_server("127.0.0.1", 0, app, o);
    ASSERT_NOT_NULL(srv);
    *port = corio_http_server_port(srv);
    ASSERT_GT(*port, 0);
    return srv;
}

/* ---- a raw client ---- */

static inline corio_stream *dial(int port)
{
    corio_stream *s = corio_open_connection("127.0.0.1", port, NULL);
    ASSERT_NOT_NULL(s);
    return s;
}

static inline void put(corio_stream *s, const void *p, size_t n)
{
    ASSERT_OK(corio_stream_write(s, p, n));
    ASSERT_OK(corio_stream_drain(s));
}

static inline void puts_(corio_stream *s, const char *str)
{
    put(s, str, strlen(str));
}

static inline void putf(corio_stream *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static inline void putf(corio_stream *s, const char *fmt, ...)
{
    char buf[8192];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    ASSERT_LT(n, (int)sizeof buf);
    put(s, buf, (size_t)n);
}

/* A response as a client sees it. */
struct resp {
    int status;
    char head[8192];    /* the header fields, "Name: value\r\n" each */
    char *body;         /* malloc'd, NUL-terminated */
    size_t len;
    size_t cap;         /* body's allocation */
    bool chunked;
    bool has_length;
};

static inline void resp_free(struct resp *r)
{
    free(r->body);
    r->body = NULL;
}

/* The value of header field name in r, or NULL (a static copy). */
static inline const char *rhdr(const struct resp *r, const char *name)
{
    static char val[1024];
    size_t n = strlen(name);
    const char *p = r->head;
    while (*p) {
        const char *eol = strstr(p, "\r\n");
        if (!eol)
            break;
        if ((size_t)(eol - p) > n && strncasecmp(p, name, n) == 0 &&
            p[n] == ':') {
            const char *v = p + n + 1;
            while (*v == ' ')
                v++;
            size_t k = (size_t)(eol - v);
            if (k >= sizeof val)
                k = sizeof val - 1;
            memcpy(val, v, k);
            val[k] = '\0';
            return val;
        }
        p = eol + 2;
    }
    return NULL;
}

/* Geometric growth: a streamed answer comes in chunks of a few bytes,
 * and a realloc per chunk is quadratic under ASan, whose realloc always
 * copies (a 1 MB body took minutes). */
static inline void body_add(struct resp *r, const char *p, size_t n)
{
    if (r->len + n + 1 > r->cap) {
        size_t cap = r->cap > 64 ? r->cap : 64;
        while (cap < r->len + n + 1)
            cap *= 2;
        r->body = realloc(r->body, cap);
        ASSERT_NOT_NULL(r->body);
        r->cap = cap;
    }
    memcpy(r->body + r->len, p, n);
    r->len += n;
    r->body[r->len] = '\0';
}

/* Read one response from s (head: it answers a HEAD request, so it has no
 * body). The status; 0 if the connection ended before a status line; a
 * negative errno for a read error or a malformed response. */
static inline int read_resp(corio_stream *s, struct resp *r, bool head)
{
    memset(r, 0, sizeof *r);
    r->body = calloc(1, 1);
    r->cap = 1;
    char line[8192];
    ssize_t n = corio_stream_readline(s, line, sizeof line);
    if (n <= 0)
        return n == 0 ? 0 : (int)n;
    if (n < 14 || strncmp(line, "HTTP/1.1 ", 9) != 0)
        return -EPROTO;
    r->status = atoi(line + 9);
    size_t hl = 0;
    int64_t length = -1;
    for (;;) {
        n = corio_stream_readline(s, line, sizeof line);
        if (n <= 0)
            return n == 0 ? -EPIPE : (int)n;
        if (n == 2 && line[0] == '\r')
            break;
        if (hl + (size_t)n + 1 > sizeof r->head)
            return -EMSGSIZE;
        memcpy(r->head + hl, line, (size_t)n);
        hl += (size_t)n;
        r->head[hl] = '\0';
        if (strncasecmp(line, "content-length:", 15) == 0) {
            length = strtoll(line + 15, NULL, 10);
            r->has_length = true;
        }
        if (strncasecmp(line, "transfer-encoding:", 18) == 0 &&
            strstr(line, "chunked"))
            r->chunked = true;
    }
    if (head || r->status < 200 || r->status == 204 || r->status == 304)
        return r->status;
    char buf[16384];
    if (r->chunked) {
        for (;;) {
            n = corio_stream_readline(s, line, sizeof line);
            if (n <= 0)
                return -EPIPE;
            size_t size = strtoul(line, NULL, 16);
            if (size == 0) {
                /* trailers, then the blank line */
                do {
                    n = corio_stream_readline(s, line, sizeof line);
                    if (n <= 0)
                        return -EPIPE;
                } while (!(n == 2 && line[0] == '\r'));
                break;
            }
            while (size) {
                size_t k = size < sizeof buf ? size : sizeof buf;
                if (corio_stream_readexactly(s, buf, k) != (ssize_t)k)
                    return -EPIPE;
                body_add(r, buf, k);
                size -= k;
            }
            if (corio_stream_readexactly(s, buf, 2) != 2 ||
                memcmp(buf, "\r\n", 2) != 0)
                return -EPROTO;
        }
    } else if (length >= 0) {
        while (length) {
            size_t k = (size_t)length < sizeof buf ? (size_t)length
                                                   : sizeof buf;
            if (corio_stream_readexactly(s, buf, k) != (ssize_t)k)
                return -EPIPE;
            body_add(r, buf, k);
            length -= (int64_t)k;
        }
    } else {
        while ((n = corio_stream_read(s, buf, sizeof buf)) > 0)
            body_add(r, buf, (size_t)n);
    }
    return r->status;
}

/* Whether the server has closed s (the next read is the end of the
 * stream, within a second). */
static inline bool closed_by_server(corio_stream *s)
{
    corio_scope sc;
    corio_scope_enter(&sc, 1.0);
    char b[256];
    ssize_t n;
    while ((n = corio_stream_read(s, b, sizeof b)) > 0)
        ;
    corio_scope_exit(&sc);
    return n == 0 || n == -ECONNRESET;
}

/* Send req on a fresh connection, read one response, close. */
static inline int ask(int port, const char *req, struct resp *r)
{
    corio_stream *s = dial(port);
    puts_(s, req);
    int st = read_resp(s, r, strncmp(req, "HEAD ", 5) == 0);
    corio_stream_close(s);
    return st;
}

/* ---- the test application ---- */

static int h_hello(corio_http_req *req, void *arg)
{
    (void)arg;
    return corio_http_resp_text(req, 200, "Hello, World!");
}

/* The path parameter back: lets pipelining check the order. */
static int h_n(corio_http_req *req, void *arg)
{
    (void)arg;
    return corio_http_resp_text(req, 200, corio_http_req_param(req, "i"));
}

/* The whole body back. */
static int h_echo(corio_http_req *req, void *arg)
{
    (void)arg;
    const char *body;
    ssize_t n = corio_http_req_body(req, &body);
    if (n < 0)
        return (int)n;
    if (strlen(body) != (size_t)n && memchr(body, 0, (size_t)n) == NULL)
        return -EPROTO; /* not NUL-terminated */
    return corio_http_resp_send(req, 200, "application/octet-stream", body,
                                (size_t)n);
}

/* The body back as it comes, in small reads, as a chunked response. */
static int h_echo_stream(corio_http_req *req, void *arg)
{
    (void)arg;
    char buf[7];
    ssize_t n;
    int rc = corio_http_resp_start(req);
    if (rc < 0)
        return rc;
    while ((n = corio_http_req_read(req, buf, sizeof buf)) > 0)
        if ((rc = corio_http_resp_write(req, buf, (size_t)n)) < 0)
            return rc;
    return n < 0 ? (int)n : corio_http_resp_end(req);
}

/* n chunks of "chunk k\n". */
static int h_stream(corio_http_req *req, void *arg)
{
    (void)arg;
    int n = atoi(corio_http_req_param(req, "n"));
    for (int i = 0; i < n; i++) {
        char line[32];
        int k = snprintf(line, sizeof line, "chunk %d\n", i);
        int rc = corio_http_resp_write(req, line, (size_t)k);
        if (rc < 0)
            return rc;
        if (i % 10 == 9 && (rc = corio_yield()) < 0)
            return rc;
    }
    return corio_http_resp_end(req);
}

static int sleeps_started, sleeps_done, sleeps_cancelled;

static int h_sleep(corio_http_req *req, void *arg)
{
    (void)arg;
    sleeps_started++;
    int rc = corio_sleep(atoi(corio_http_req_param(req, "ms")) / 1000.0);
    if (rc < 0) {
        sleeps_cancelled++;
        return rc;
    }
    sleeps_done++;
    return corio_http_resp_text(req, 200, "slept");
}

static int h_fail(corio_http_req *req, void *arg)
{
    (void)req;
    (void)arg;
    return -EIO;
}

/* Reads the body slowly, counting how it starts and ends. */
static int body_reads_started, body_reads_failed;

static int h_slow_body(corio_http_req *req, void *arg)
{
    (void)arg;
    char buf[64];
    ssize_t n;
    size_t total = 0;
    body_reads_started++;
    while ((n = corio_http_req_read(req, buf, sizeof buf)) > 0)
        total += (size_t)n;
    if (n < 0) {
        body_reads_failed++;
        return (int)n;
    }
    char msg[32];
    snprintf(msg, sizeof msg, "%zu", total);
    return corio_http_resp_text(req, 200, msg);
}

static inline corio_http_app *test_app(void)
{
    corio_http_app *app = corio_http_app_new();
    ASSERT_NOT_NULL(app);
    ASSERT_OK(corio_http_app_route(app, "GET", "/", h_hello, NULL));
    ASSERT_OK(corio_http_app_route(app, "GET", "/n/{i}", h_n, NULL));
    ASSERT_OK(corio_http_app_route(app, "POST", "/echo", h_echo, NULL));
    ASSERT_OK(corio_http_app_route(app, "POST", "/echo-stream", h_echo_stream,
                                   NULL));
    ASSERT_OK(corio_http_app_route(app, "GET", "/stream/{n}", h_stream, NULL));
    ASSERT_OK(corio_http_app_route(app, "GET", "/sleep/{ms}", h_sleep, NULL));
    ASSERT_OK(corio_http_app_route(app, "GET", "/fail", h_fail, NULL));
    ASSERT_OK(corio_http_app_route(app, "POST", "/slow-body", h_slow_body,
                                   NULL));
    return app;
}

#endif

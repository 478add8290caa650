/* SPDX-License-Identifier: MIT */
/* Limits and malformed requests: every one gets its answer (414, 431,
 * 413, 400, 501, 505, 408) and the connection closes after it; request
 * smuggling attempts never get a second request parsed; slow clients
 * (slowloris, slow bodies) and idle connections are timed out; the
 * connection cap holds. */
#include "helpers.h"

static corio_http_app *app;
static corio_http_server *srv;
static int port;

static void setup(const corio_http_server_opts *o)
{
    app = test_app();
    srv = start_http(app, o, &port);
}

static void teardown(void)
{
    ASSERT_OK(corio_http_server_close(srv, 1.0));
    corio_http_app_free(app);
}

/* Send req (n bytes); the answer must be status, with Connection: close,
 * and then the end of the connection, with nothing more answered. */
static void refused(const char *req, size_t n, int status)
{
    corio_stream *s = dial(port);
    put(s, req, n);
    struct resp r;
    int st = read_resp(s, &r, false);
    if (st != status)
        FAIL("%.60s...: got %d, want %d", req, st, status);
    ASSERT_STR_EQ(rhdr(&r, "Connection"), "close");
    resp_free(&r);
    ASSERT_TRUE(closed_by_server(s));
    corio_stream_close(s);
}

static void refused_s(const char *req, int status)
{
    refused(req, strlen(req), status);
}

static int too_long(void *arg)
{
    (void)arg;
    corio_http_server_opts o = {.max_request_line = 100,
                                .max_header_bytes = 1000,
                                .max_headers = 10};
    setup(&o);
    char req[4096];
    /* The request line. */
    int n = snprintf(req, sizeof req, "GET /%0200d HTTP/1.1\r\nHost: x\r\n\r\n",
                     0);
    refused(req, (size_t)n, 414);
    /* ... also when it never ends. */
    memset(req, 'a', 300);
    memcpy(req, "GET /", 5);
    refused(req, 300, 414);
    /* One header too large, and all of them too large together. */
    n = snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: x\r\nBig: %01500d\r\n\r\n",
                 0);
    refused(req, (size_t)n, 431);
    n = snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: x\r\n");
    for (int i = 0; i < 9; i++)
        n += snprintf(req + n, sizeof req - (size_t)n, "H%d: %0115d\r\n", i, 0);
    n += snprintf(req + n, sizeof req - (size_t)n, "\r\n");
    refused(req, (size_t)n, 431);
    /* Too many. */
    n = snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: x\r\n");
    for (int i = 0; i < 11; i++)
        n += snprintf(req + n, sizeof req - (size_t)n, "H%d: v\r\n", i);
    n += snprintf(req + n, sizeof req - (size_t)n, "\r\n");
    refused(req, (size_t)n, 431);
    /* At the limits it works. */
    struct resp r;
    n = snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: x\r\n");
    for (int i = 0; i < 9; i++)
        n += snprintf(req + n, sizeof req - (size_t)n, "H%d: v\r\n", i);
    n += snprintf(req + n, sizeof req - (size_t)n, "\r\n");
    ASSERT_EQ(ask(port, req, &r), 200);
    resp_free(&r);
    teardown();
    return 0;
}

TEST(too_long_request_line_414_headers_431)
{
    RUN(too_long);
}

static int body_limit(void *arg)
{
    (void)arg;
    corio_http_server_opts o = {.max_body = 100};
    setup(&o);
    char req[512];
    /* Content-Length over the limit: 413 before the body is read. */
    refused_s("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n",
              413);
    /* A chunked body that grows over it. */
    int n = snprintf(req, sizeof req,
                     "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
                     "chunked\r\n\r\n40\r\n%064d\r\n40\r\n%064d\r\n0\r\n\r\n",
                     0, 0);
    refused(req, (size_t)n, 413);
    /* The same for a streaming reader. */
    n = snprintf(req, sizeof req,
                 "POST /echo-stream HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
                 "chunked\r\n\r\n40\r\n%064d\r\n40\r\n%064d\r\n0\r\n\r\n",
                 0, 0);
    corio_stream *s = dial(port);
    put(s, req, (size_t)n);
    struct resp r;
    /* The streamed answer has begun: it is cut short instead. */
    ASSERT_NE(read_resp(s, &r, false), 200);
    resp_free(&r);
    corio_stream_close(s);
    /* At the limit it works. */
    n = snprintf(req, sizeof req,
                 "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n"
                 "%0100d", 7);
    ASSERT_EQ(ask(port, req, &r), 200);
    ASSERT_EQ(r.len, 100);
    resp_free(&r);
    teardown();
    return 0;
}

TEST(body_over_the_limit_413)
{
    RUN(body_limit);
}

static int malformed(void *arg)
{
    (void)arg;
    setup(NULL);
    refused_s("GARBAGE\r\n\r\n", 400);
    refused_s("GET / HTTP/1.1\r\nHost x\r\n\r\n", 400);
    refused_s("GET / HTTP/1.1\nHost: x\n\n", 400);
    refused_s("GET / HTTP/1.1\r\n\r\n", 400);           /* no Host */
    refused_s("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400);
    refused_s("GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400); /* space before : */
    refused_s("GET / HTTP/1.1\r\nHost: x\r\nFoo: a\r\n b\r\n\r\n", 400);
    refused_s("GET noslash HTTP/1.1\r\nHost: x\r\n\r\n", 400);
    refused_s("\x01\x02\x03 / HTTP/1.1\r\n\r\n", 400);
    refused_s("BREW / HTTP/1.1\r\nHost: x\r\n\r\n", 501);
    refused_s("GET / HTTP/1.2\r\nHost: x\r\n\r\n", 505);
    refused_s("GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505);
    refused_s("GET / HTTP/0.9\r\nHost: x\r\n\r\n", 505);
    refused_s("GET / HTTX/1.1\r\nHost: x\r\n\r\n", 400);
    refused_s("CONNECT example.com:443 HTTP/1.1\r\nHost: x\r\n\r\n", 501);
    refused_s("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n"
              "\r\n", 501);
    refused_s("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, "
              "chunked\r\n\r\n0\r\n\r\n", 501);
    refused_s("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
              "\r\nzz\r\nab\r\n0\r\n\r\n", 400);
    refused_s("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
              "\r\nffffffffffffffffffff\r\n", 400);
    /* A body that ends early. */
    corio_stream *s = dial(port);
    puts_(s, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n"
             "abc");
    ASSERT_OK(corio_stream_write_eof(s));
    struct resp r;
    int st = read_resp(s, &r, false);
    ASSERT_TRUE(st == 400 || st == 0);
    resp_free(&r);
    corio_stream_close(s);
    teardown();
    return 0;
}

TEST(malformed_requests_400_501_505)
{
    RUN(malformed);
}

/* The smuggled request must never be answered: the first gets 400, then
 * the connection ends. */
static void smuggle(const char *req)
{
    corio_stream *s = dial(port);
    puts_(s, req);
    struct resp r;
    ASSERT_EQ(read_resp(s, &r, false), 400);
    ASSERT_STR_EQ(rhdr(&r, "Connection"), "close");
    resp_free(&r);
    ASSERT_EQ(read_resp(s, &r, false), 0);
    resp_free(&r);
    corio_stream_close(s);
}

static int smuggling(void *arg)
{
    (void)arg;
    setup(NULL);
    /* CL.TE and TE.CL */
    smuggle("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n"
            "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /n/666 HTTP/1.1\r\n"
            "Host: x\r\n\r\n");
    smuggle("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
            "Content-Length: 4\r\n\r\n5c\r\nGET /n/666 HTTP/1.1\r\nHost: x\r\n"
            "\r\n0\r\n\r\n");
    /* Duplicate and conflicting Content-Length, lists, signs, spaces. */
    smuggle("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
            "Content-Length: 3\r\n\r\nabcGET /n/666 HTTP/1.1\r\nHost: x\r\n\r\n");
    smuggle("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
            "Content-Length: 40\r\n\r\nabcGET /n/666 HTTP/1.1\r\nHost: x\r\n"
            "\r\n");
    smuggle("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 3\r\n\r\n"
            "abcGET /n/666 HTTP/1.1\r\nHost: x\r\n\r\n");
    smuggle("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\n"
            "abcGET /n/666 HTTP/1.1\r\nHost: x\r\n\r\n");
    smuggle("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 0x3\r\n\r\n"
            "abcGET /n/666 HTTP/1.1\r\nHost: x\r\n\r\n");
    smuggle("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length : 3\r\n\r\n"
            "abcGET /n/666 HTTP/1.1\r\nHost: x\r\n\r\n");
    /* Transfer-Encoding variants: chunked not last, twice, obfuscated. */
    smuggle("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, "
            "identity\r\n\r\n0\r\n\r\nGET /n/666 HTTP/1.1\r\nHost: x\r\n\r\n");
    smuggle("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
            "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /n/666 HTTP/1.1\r\n"
            "Host: x\r\n\r\n");
    smuggle("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n chunked"
            "\r\n\r\n0\r\n\r\nGET /n/666 HTTP/1.1\r\nHost: x\r\n\r\n");
    teardown();
    return 0;
}

TEST(request_smuggling_never_parses_a_second_request)
{
    RUN(smuggling);
}

static int slowloris(void *arg)
{
    (void)arg;
    corio_http_server_opts o = {.header_timeout = 0.3};
    setup(&o);
    /* A byte every 50 ms: the head never completes in time. */
    corio_stream *s = dial(port);
    const char *req = "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaa";
    double t0 = corio_time();
    struct resp r;
    for (const char *p = req; *p; p++) {
        if (corio_stream_write(s, p, 1) < 0)
            break;
        if (corio_sleep(0.05) < 0)
            break;
        if (corio_time() - t0 > 0.5)
            break;
    }
    ASSERT_EQ(read_resp(s, &r, false), 408);
    ASSERT_STR_EQ(rhdr(&r, "Connection"), "close");
    resp_free(&r);
    double dt = corio_time() - t0;
    ASSERT_GE(dt, 0.3 - 1e-9);
    ASSERT_LT(dt, 1.0);
    ASSERT_TRUE(closed_by_server(s));
    corio_stream_close(s);
    /* A connection that sends nothing is closed without a word. */
    s = dial(port);
    ASSERT_EQ(read_resp(s, &r, false), 0);
    resp_free(&r);
    corio_stream_close(s);
    teardown();
    return 0;
}

TEST(slowloris_gets_408)
{
    RUN(slowloris);
}

static int idle(void *arg)
{
    (void)arg;
    corio_http_server_opts o = {.idle_timeout = 0.2};
    setup(&o);
    corio_stream *s = dial(port);
    struct resp r;
    puts_(s, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_EQ(read_resp(s, &r, false), 200);
    resp_free(&r);
    double t0 = corio_time();
    ASSERT_EQ(read_resp(s, &r, false), 0); /* closed, silently */
    resp_free(&r);
    ASSERT_GE(corio_time() - t0, 0.2 - 1e-9);
    ASSERT_LT(corio_time() - t0, 1.0);
    corio_stream_close(s);
    WAIT_UNTIL(corio_http_server_connections(srv) == 0, 10);
    ASSERT_EQ(corio_http_server_connections(srv), 0);
    teardown();
    return 0;
}

TEST(idle_keep_alive_connection_times_out)
{
    RUN(idle);
}

static int slow_body(void *arg)
{
    (void)arg;
    corio_http_server_opts o = {.body_timeout = 0.2};
    setup(&o);
    body_reads_failed = 0;
    corio_stream *s = dial(port);
    puts_(s, "POST /slow-body HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
             "\r\n0123456789");
    struct resp r;
    ASSERT_EQ(read_resp(s, &r, false), 408);
    resp_free(&r);
    ASSERT_TRUE(closed_by_server(s));
    ASSERT_EQ(body_reads_failed, 1);
    corio_stream_close(s);
    teardown();
    return 0;
}

TEST(body_timeout_gets_408)
{
    RUN(slow_body);
}

static int capped(void *arg)
{
    (void)arg;
    corio_http_server_opts o = {.max_connections = 3};
    setup(&o);
    corio_stream *s[6];
    struct resp r;
    for (int i = 0; i < 6; i++)
        s[i] = dial(port);
    /* Time to take more than three if the cap did not hold, then until
     * the three are in (a slow machine may take longer). */
    ASSERT_OK(corio_sleep(0.05));
    WAIT_UNTIL(corio_http_server_connections(srv) >= 3, 10);
    ASSERT_EQ(corio_http_server_connections(srv), 3);
    /* The others wait in the backlog and are served as slots free up. */
    for (int i = 0; i < 6; i++) {
        puts_(s[i], "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        ASSERT_EQ(read_resp(s[i], &r, false), 200);
        resp_free(&r);
        ASSERT_LE(corio_http_server_connections(srv), 3);
        corio_stream_close(s[i]);
    }
    teardown();
    return 0;
}

TEST(connection_cap)
{
    RUN(capped);
}

/* SPDX-License-Identifier: MIT */
/* HTTP/1.1 conformance: keep-alive and HTTP/1.0, pipelining of 100
 * requests answered in order, HEAD, Content-Length and chunked request
 * bodies (split at every byte boundary), streamed request and response
 * bodies, Expect: 100-continue, and bodies larger than the read buffer. */
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

static int keep_alive(void *arg)
{
    (void)arg;
    setup(NULL);
    corio_stream *s = dial(port);
    struct resp r;
    for (int i = 0; i < 5; i++) {
        putf(s, "GET /n/%d HTTP/1.1\r\nHost: x\r\n\r\n", i);
        ASSERT_EQ(read_resp(s, &r, false), 200);
        ASSERT_EQ(atoi(r.body), i);
        ASSERT_NULL(rhdr(&r, "Connection"));
        ASSERT_STR_EQ(rhdr(&r, "Content-Type"), "text/plain; charset=utf-8");
        ASSERT_NOT_NULL(rhdr(&r, "Date"));
        resp_free(&r);
    }
    ASSERT_EQ(corio_http_server_connections(srv), 1);
    /* Connection: close ends it after the answer, which says so. */
    puts_(s, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    ASSERT_EQ(read_resp(s, &r, false), 200);
    ASSERT_STR_EQ(rhdr(&r, "Connection"), "close");
    resp_free(&r);
    ASSERT_TRUE(closed_by_server(s));
    corio_stream_close(s);
    teardown();
    return 0;
}

TEST(keep_alive_serves_many_requests_on_one_connection)
{
    RUN(keep_alive);
}

static int http10(void *arg)
{
    (void)arg;
    setup(NULL);
    /* HTTP/1.0 closes after each answer unless asked to keep alive. */
    corio_stream *s = dial(port);
    puts_(s, "GET / HTTP/1.0\r\n\r\n");
    struct resp r;
    ASSERT_EQ(read_resp(s, &r, false), 200);
    ASSERT_STR_EQ(r.body, "Hello, World!");
    ASSERT_STR_EQ(rhdr(&r, "Connection"), "close");
    resp_free(&r);
    ASSERT_TRUE(closed_by_server(s));
    corio_stream_close(s);

    s = dial(port);
    for (int i = 0; i < 3; i++) {
        puts_(s, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        ASSERT_EQ(read_resp(s, &r, false), 200);
        ASSERT_STR_EQ(rhdr(&r, "Connection"), "keep-alive");
        resp_free(&r);
    }
    /* A streamed answer to HTTP/1.0 has no chunks: the close ends it. */
    puts_(s, "GET /stream/3 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    ASSERT_EQ(read_resp(s, &r, false), 200);
    ASSERT_FALSE(r.chunked);
    ASSERT_STR_EQ(r.body, "chunk 0\nchunk 1\nchunk 2\n");
    resp_free(&r);
    corio_stream_close(s);
    teardown();
    return 0;
}

TEST(http_1_0_closes_unless_kept_alive)
{
    RUN(http10);
}

static int pipelining(void *arg)
{
    (void)arg;
    setup(NULL);
    corio_stream *s = dial(port);
    /* 100 requests in one write, some with bodies; the answers come in
     * order. */
    static char all[100 * 128];
    size_t n = 0;
    for (int i = 0; i < 100; i++) {
        if (i % 10 == 5)
            n += (size_t)snprintf(all + n, sizeof all - n,
                                  "POST /echo HTTP/1.1\r\nHost: x\r\n"
                                  "Content-Length: 4\r\n\r\n%04d",
                                  i);
        else
            n += (size_t)snprintf(all + n, sizeof all - n,
                                  "GET /n/%d HTTP/1.1\r\nHost: x\r\n\r\n", i);
    }
    put(s, all, n);
    for (int i = 0; i < 100; i++) {
        struct resp r;
        ASSERT_EQ(read_resp(s, &r, false), 200);
        ASSERT_EQ(atoi(r.body), i);
        resp_free(&r);
    }
    corio_stream_close(s);
    teardown();
    return 0;
}

TEST(pipelining_100_requests_answers_in_order)
{
    RUN(pipelining);
}

static int pipelined_slow(void *arg)
{
    (void)arg;
    setup(NULL);
    /* The first answer does not wait for a slow handler behind it (a
     * second long, so that a slow machine's first answer cannot look
     * held). */
    corio_stream *s = dial(port);
    puts_(s, "GET /n/1 HTTP/1.1\r\nHost: x\r\n\r\n"
             "GET /sleep/1000 HTTP/1.1\r\nHost: x\r\n\r\n");
    struct resp r;
    double t0 = corio_time();
    ASSERT_EQ(read_resp(s, &r, false), 200);
    ASSERT_LT(corio_time() - t0, 0.8);
    resp_free(&r);
    ASSERT_EQ(read_resp(s, &r, false), 200);
    ASSERT_STR_EQ(r.body, "slept");
    resp_free(&r);
    corio_stream_close(s);
    teardown();
    return 0;
}

TEST(pipelined_answer_is_not_held_behind_a_slow_handler)
{
    RUN(pipelined_slow);
}

static int head(void *arg)
{
    (void)arg;
    setup(NULL);
    corio_stream *s = dial(port);
    puts_(s, "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n");
    struct resp r;
    ASSERT_EQ(read_resp(s, &r, true), 200);
    ASSERT_STR_EQ(rhdr(&r, "Content-Length"), "13");
    resp_free(&r);
    /* No body came: the next answer starts right there. */
    puts_(s, "HEAD /stream/5 HTTP/1.1\r\nHost: x\r\n\r\n"
             "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_EQ(read_resp(s, &r, true), 200);
    resp_free(&r);
    ASSERT_EQ(read_resp(s, &r, false), 200);
    ASSERT_STR_EQ(r.body, "Hello, World!");
    resp_free(&r);
    corio_stream_close(s);
    teardown();
    return 0;
}

TEST(head_gets_headers_without_a_body)
{
    RUN(head);
}

static const char *const chunked_reqs[2] = {
    "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    "5\r\nhello\r\n1;ext=1\r\n,\r\n6\r\n world\r\n0\r\nTrailer: t\r\n\r\n",
    "POST /echo-stream HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
    "chunked\r\n\r\n"
    "5\r\nhello\r\n1;ext=1\r\n,\r\n6\r\n world\r\n0\r\nTrailer: t\r\n\r\n",
};

static int chunked_split(void *arg)
{
    (void)arg;
    setup(NULL);
    corio_stream *s = dial(port);
    /* Every split point, on one keep-alive connection, with the
     * whole-body reader and with the streaming one. */
    for (int stream = 0; stream < 2; stream++) {
        const char *req = chunked_reqs[stream];
        size_t n = strlen(req);
        for (size_t i = 1; i < n; i++) {
            put(s, req, i);
            ASSERT_OK(corio_sleep(0.001));
            put(s, req + i, n - i);
            struct resp r;
            ASSERT_EQ(read_resp(s, &r, false), 200);
            ASSERT_STR_EQ(r.body, "hello, world");
            ASSERT_EQ(r.chunked, stream);
            resp_free(&r);
        }
    }
    corio_stream_close(s);
    teardown();
    return 0;
}

TEST_OPTS(chunked_body_split_at_every_byte_boundary, .timeout = 120)
{
    RUN(chunked_split);
}

static int content_length(void *arg)
{
    (void)arg;
    setup(NULL);
    corio_stream *s = dial(port);
    /* A body sent byte by byte, then a body of 0 bytes. */
    puts_(s, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n");
    for (int i = 0; i < 10; i++) {
        char ch = (char)('0' + i);
        put(s, &ch, 1);
        ASSERT_OK(corio_yield());
    }
    struct resp r;
    ASSERT_EQ(read_resp(s, &r, false), 200);
    ASSERT_STR_EQ(r.body, "0123456789");
    resp_free(&r);
    puts_(s, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    ASSERT_EQ(read_resp(s, &r, false), 200);
    ASSERT_EQ(r.len, 0);
    resp_free(&r);
    corio_stream_close(s);
    teardown();
    return 0;
}

TEST(content_length_body_in_pieces)
{
    RUN(content_length);
}

struct big {
    int port;
    size_t size;
    bool chunked;
    bool stream;
};

/* Send a body of b->size pattern bytes and check it comes back. */
static int big_body_client(void *arg)
{
    struct big *b = arg;
    corio_stream *s = dial(b->port);
    const char *path = b->stream ? "/echo-stream" : "/echo";
    if (b->chunked)
        putf(s, "POST %s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
                "chunked\r\n\r\n", path);
    else
        putf(s, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n",
             path, b->size);
    static unsigned char chunk[10000];
    size_t sent = 0;
    while (sent < b->size) {
        size_t k = b->size - sent < sizeof chunk ? b->size - sent
                                                 : sizeof chunk;
        for (size_t i = 0; i < k; i++)
            chunk[i] = pattern(7, sent + i);
        if (b->chunked)
            putf(s, "%zx\r\n", k);
        put(s, chunk, k);
        if (b->chunked)
            puts_(s, "\r\n");
        sent += k;
    }
    if (b->chunked)
        puts_(s, "0\r\n\r\n");
    struct resp r;
    ASSERT_EQ(read_resp(s, &r, false), 200);
    ASSERT_EQ(r.len, b->size);
    for (size_t i = 0; i < b->size; i++)
        if ((unsigned char)r.body[i] != pattern(7, i))
            FAIL("byte %zu differs", i);
    resp_free(&r);
    corio_stream_close(s);
    return 0;
}

static int big_bodies(void *arg)
{
    (void)arg;
    corio_http_server_opts o = {.max_body = 4 << 20};
    setup(&o);
    size_t sizes[] = {1, 5000, 70000, 1000000};
    for (size_t i = 0; i < 4; i++)
        for (int mode = 0; mode < 4; mode++) {
            struct big b = {port, sizes[i], mode & 1, mode & 2};
            ASSERT_OK(big_body_client(&b));
        }
    teardown();
    return 0;
}

TEST_OPTS(bodies_larger_than_the_buffer_whole_and_streamed, .timeout = 120)
{
    RUN(big_bodies);
}

static int expect(void *arg)
{
    (void)arg;
    setup(NULL);
    corio_stream *s = dial(port);
    /* The client waits for 100 Continue before it sends the body. */
    puts_(s, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
             "Expect: 100-continue\r\n\r\n");
    struct resp r;
    ASSERT_EQ(read_resp(s, &r, false), 100);
    resp_free(&r);
    puts_(s, "hello");
    ASSERT_EQ(read_resp(s, &r, false), 200);
    ASSERT_STR_EQ(r.body, "hello");
    resp_free(&r);
    /* A handler that answers without reading: no 100, and the connection
     * closes after the answer (the body may or may not come). */
    puts_(s, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
             "Expect: 100-continue\r\n\r\n");
    ASSERT_EQ(read_resp(s, &r, false), 405);
    ASSERT_STR_EQ(rhdr(&r, "Connection"), "close");
    resp_free(&r);
    ASSERT_TRUE(closed_by_server(s));
    corio_stream_close(s);
    /* An expectation we cannot meet: 417. */
    ASSERT_EQ(ask(port, "GET / HTTP/1.1\r\nHost: x\r\nExpect: magic\r\n\r\n",
                  &r), 417);
    resp_free(&r);
    teardown();
    return 0;
}

TEST(expect_100_continue)
{
    RUN(expect);
}

static int streaming(void *arg)
{
    (void)arg;
    setup(NULL);
    corio_stream *s = dial(port);
    puts_(s, "GET /stream/1000 HTTP/1.1\r\nHost: x\r\n\r\n");
    struct resp r;
    ASSERT_EQ(read_resp(s, &r, false), 200);
    ASSERT_TRUE(r.chunked);
    ASSERT_FALSE(r.has_length);
    char *p = r.body;
    for (int i = 0; i < 1000; i++) {
        char want[32];
        int k = snprintf(want, sizeof want, "chunk %d\n", i);
        ASSERT_EQ(strncmp(p, want, (size_t)k), 0);
        p += k;
    }
    ASSERT_EQ(*p, '\0');
    resp_free(&r);
    /* The connection goes on after a chunked answer. */
    puts_(s, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_EQ(read_resp(s, &r, false), 200);
    resp_free(&r);
    corio_stream_close(s);
    teardown();
    return 0;
}

TEST(streamed_response_is_chunked)
{
    RUN(streaming);
}

static int unread_body(void *arg)
{
    (void)arg;
    setup(NULL);
    /* A handler that ignores a small body: it is drained, and the next
     * request on the connection is parsed after it. */
    corio_stream *s = dial(port);
    puts_(s, "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n"
             "GET /n/9 HTGET /n/2 HTTP/1.1\r\nHost: x\r\n\r\n");
    struct resp r;
    ASSERT_EQ(read_resp(s, &r, false), 200);
    ASSERT_STR_EQ(r.body, "Hello, World!");
    resp_free(&r);
    ASSERT_EQ(read_resp(s, &r, false), 200);
    ASSERT_STR_EQ(r.body, "2");
    resp_free(&r);
    corio_stream_close(s);
    teardown();
    return 0;
}

TEST(an_unread_body_is_drained_not_parsed)
{
    RUN(unread_body);
}

static int absolute_form(void *arg)
{
    (void)arg;
    setup(NULL);
    struct resp r;
    ASSERT_EQ(ask(port, "GET http://example.com/n/4?x=1 HTTP/1.1\r\n"
                        "Host: example.com\r\n\r\n", &r), 200);
    ASSERT_STR_EQ(r.body, "4");
    resp_free(&r);
    ASSERT_EQ(ask(port, "GET /n/%41%20b HTTP/1.1\r\nHost: x\r\n\r\n", &r),
              200);
    ASSERT_STR_EQ(r.body, "A b");
    resp_free(&r);
    ASSERT_EQ(ask(port, "GET /n/a%00b HTTP/1.1\r\nHost: x\r\n\r\n", &r), 400);
    resp_free(&r);
    ASSERT_EQ(ask(port, "GET /n/a%zz HTTP/1.1\r\nHost: x\r\n\r\n", &r), 400);
    resp_free(&r);
    teardown();
    return 0;
}

TEST(targets_absolute_form_and_escapes)
{
    RUN(absolute_form);
}

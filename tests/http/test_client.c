/* SPDX-License-Identifier: MIT */
/* The HTTP client against corio's own HTTP server on loopback: methods,
 * header fields both ways, bodies whole and streamed (bounded memory),
 * streamed request bodies, redirects, timeouts and deadlines,
 * cancellation, connection reuse, 1,000 fetches from 100 tasks, errors,
 * cookies, names through corio's resolver (no threads), HTTPS
 * verification, and every allocation failing in turn. */
#include "client_helpers.h"

#ifdef CLIENT_TEST_TLS
#include "../tls/certs.h"
#include <corio/tls.h>
#endif

static corio_http_app *app;
static corio_http_server *srv;
static int port;
static char base[64]; /* "http://127.0.0.1:PORT" */

static void up(void)
{
    app = client_app();
    srv = start_http(app, NULL, &port);
    snprintf(base, sizeof base, "http://127.0.0.1:%d", port);
    endless_ended = slow_cancelled = slow_started = 0;
}

static void down(void)
{
    ASSERT_ERR(corio_http_server_close(srv, 1.0) >= 0, 1);
    corio_http_app_free(app);
}

static const char *url(const char *path)
{
    static char buf[4][512];
    static int i;
    char *u = buf[i++ % 4];
    snprintf(u, sizeof buf[0], "%s%s", base, path);
    return u;
}

static corio_http_session *session(const corio_http_session_opts *o)
{
    corio_http_session *s = corio_http_session_new(o);
    ASSERT_NOT_NULL(s);
    return s;
}

/* ---- basics ---- */

static int get_hello(void *arg)
{
    (void)arg;
    up();
    corio_http_session *s = session(NULL);
    corio_http_response *r;
    ASSERT_OK(corio_http_get(s, url("/"), &r));
    ASSERT_EQ(corio_http_response_status(r), 200);
    ASSERT_EQ(corio_http_response_version(r), 11);
    ASSERT_EQ(corio_http_response_redirects(r), 0);
    ASSERT_STR_EQ(corio_http_response_url(r), url("/"));
    size_t len;
    const char *body = corio_http_response_body(r, &len);
    ASSERT_STR_EQ(body, "Hello, World!");
    ASSERT_EQ(len, 13);
    /* Header fields are found whatever their case. */
    ASSERT_STR_EQ(corio_http_response_header(r, "content-type"),
                  "text/plain; charset=utf-8");
    ASSERT_STR_EQ(corio_http_response_header(r, "CONTENT-LENGTH"), "13");
    ASSERT_NULL(corio_http_response_header(r, "X-Nothing"));
    /* A whole body can be read too; then it is consumed. */
    char buf[8];
    ASSERT_EQ(corio_http_response_read(r, buf, 5), 5);
    ASSERT_EQ(memcmp(buf, "Hello", 5), 0);
    ASSERT_STR_EQ(corio_http_response_body(r, NULL), ", World!");
    corio_http_response_close(r);
    ASSERT_OK(corio_http_session_close(s));
    down();
    return 0;
}

TEST_OPTS(get_returns_status_headers_and_body,
          .labels = "net", .timeout = CASE_TIMEOUT)
{
    RUN(get_hello);
}

static int methods(void *arg)
{
    (void)arg;
    up();
    corio_http_session *s = session(NULL);
    const char *ms[] = {"GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"};
    for (size_t i = 0; i < sizeof ms / sizeof *ms; i++) {
        char *body;
        corio_http_request_opts o = {0};
        bool with_body = i == 1 || i == 2 || i == 4;
        if (with_body) {
            o.body = "payload";
            o.body_len = 7;
        }
        ASSERT_EQ(fetch_text(s, ms[i], url("/echo"), &o, &body), 200);
        ASSERT_STR_EQ(echoed(body, "method"), ms[i]);
        ASSERT_STR_EQ(echoed(body, "length"), with_body ? "7" : "0");
        if (with_body) {
            ASSERT_TRUE(strstr(body, "\n\npayload") != NULL);
            ASSERT_STR_EQ(echoed(body, "Content-Type"),
                          "application/octet-stream");
        }
        free(body);
    }
    /* HEAD: the head only. */
    corio_http_response *r;
    ASSERT_OK(corio_http_fetch(s, "HEAD", url("/echo"), NULL, &r));
    ASSERT_EQ(corio_http_response_status(r), 200);
    size_t len = 99;
    corio_http_response_body(r, &len);
    ASSERT_EQ(len, 0);
    corio_http_response_close(r);
    /* A POST without a body sends an empty one. */
    char *body;
    ASSERT_EQ(fetch_text(s, "POST", url("/echo"), NULL, &body), 200);
    ASSERT_STR_EQ(echoed(body, "length"), "0");
    free(body);
    /* Not a method. */
    ASSERT_ERR(corio_http_fetch(s, "GE T", url("/"), NULL, &r), -EINVAL);
    ASSERT_NULL(r);
    ASSERT_ERR(corio_http_fetch(s, "", url("/"), NULL, &r), -EINVAL);
    ASSERT_OK(corio_http_session_close(s));
    down();
    return 0;
}

TEST_OPTS(get_post_put_delete_and_any_method,
          .labels = "net", .timeout = CASE_TIMEOUT)
{
    RUN(methods);
}

static int headers(void *arg)
{
    (void)arg;
    up();
    const char *sh[] = {"X-Session: from-session", "X-Test: session-default",
                        NULL};
    corio_http_session_opts so = {.headers = sh, .user_agent = "crawler/1"};
    corio_http_session *s = session(&so);
    char *body;
    ASSERT_EQ(fetch_text(s, "GET", url("/echo"), NULL, &body), 200);
    ASSERT_STR_EQ(echoed(body, "X-Session"), "from-session");
    ASSERT_STR_EQ(echoed(body, "X-Test"), "session-default");
    ASSERT_STR_EQ(echoed(body, "User-Agent"), "crawler/1");
    free(body);
    /* A request's field replaces the session's of the same name. */
    const char *rh[] = {"x-test: per-request", NULL};
    corio_http_request_opts o = {.headers = rh};
    ASSERT_EQ(fetch_text(s, "GET", url("/echo"), &o, &body), 200);
    ASSERT_STR_EQ(echoed(body, "X-Session"), "from-session");
    ASSERT_STR_EQ(echoed(body, "X-Test"), "per-request");
    free(body);
    /* Response fields: by name, and all in order. */
    corio_http_response *r;
    ASSERT_OK(corio_http_get(s, url("/echo"), &r));
    ASSERT_STR_EQ(corio_http_response_header(r, "x-reply"), "yes");
    ASSERT_STR_EQ(corio_http_response_header(r, "X-MULTI"), "one");
    size_t n = corio_http_response_header_count(r);
    int multi = 0;
    for (size_t i = 0; i < n; i++) {
        const char *name, *value;
        ASSERT_OK(corio_http_response_header_at(r, i, &name, &value));
        if (strcasecmp(name, "x-multi") == 0)
            ASSERT_STR_EQ(value, multi++ ? "two" : "one");
    }
    ASSERT_EQ(multi, 2);
    ASSERT_ERR(corio_http_response_header_at(r, n, NULL, NULL), -ERANGE);
    corio_http_response_close(r);
    /* No header injection. */
    const char *bad[] = {"X-Evil: a\r\nX-Injected: b", NULL};
    corio_http_request_opts ob = {.headers = bad};
    ASSERT_ERR(corio_http_fetch(s, "GET", url("/"), &ob, &r), -EINVAL);
    const char *noname[] = {": x", NULL};
    ob.headers = noname;
    ASSERT_ERR(corio_http_fetch(s, "GET", url("/"), &ob, &r), -EINVAL);
    ASSERT_OK(corio_http_session_close(s));
    corio_http_session_opts bs = {.headers = bad};
    ASSERT_NULL(corio_http_session_new(&bs));
    ASSERT_EQ(errno, EINVAL);
    down();
    return 0;
}

TEST_OPTS(header_fields_both_ways, .labels = "net", .timeout = CASE_TIMEOUT)
{
    RUN(headers);
}

/* ---- redirects ---- */

static int redirects(void *arg)
{
    (void)arg;
    up();
    corio_http_session *s = session(NULL);
    corio_http_response *r;
    /* Followed. */
    ASSERT_OK(corio_http_get(s, url("/redirect/3"), &r));
    ASSERT_EQ(corio_http_response_status(r), 200);
    ASSERT_EQ(corio_http_response_redirects(r), 3);
    ASSERT_STR_EQ(corio_http_response_url(r), url("/redirect/0"));
    ASSERT_STR_EQ(corio_http_response_body(r, NULL), "done");
    corio_http_response_close(r);
    /* The limit: max_redirects are followed, one more fails. */
    corio_http_request_opts o = {.max_redirects = 3};
    ASSERT_OK(corio_http_fetch(s, "GET", url("/redirect/3"), &o, &r));
    corio_http_response_close(r);
    o.max_redirects = 2;
    ASSERT_ERR(corio_http_fetch(s, "GET", url("/redirect/3"), &o, &r),
               -ELOOP);
    ASSERT_TRUE(strstr(corio_http_session_error(s), "redirect") != NULL);
    /* Disabled: the 3xx is the answer. */
    o.max_redirects = CORIO_HTTP_NO_REDIRECTS;
    ASSERT_OK(corio_http_fetch(s, "GET", url("/redirect/3"), &o, &r));
    ASSERT_EQ(corio_http_response_status(r), 302);
    ASSERT_STR_EQ(corio_http_response_header(r, "Location"), "/redirect/2");
    ASSERT_STR_EQ(corio_http_response_body(r, NULL), "moved");
    corio_http_response_close(r);
    /* A session that never follows. */
    corio_http_session_opts so = {.max_redirects = CORIO_HTTP_NO_REDIRECTS};
    corio_http_session *s2 = session(&so);
    ASSERT_EQ(fetch_text(s2, "GET", url("/redirect/1"), NULL, NULL), 302);
    ASSERT_OK(corio_http_session_close(s2));
    /* 303 goes on with a GET; 307 and 308 keep the method and body. */
    char path[256], *body;
    corio_http_request_opts po = {.body = "data", .body_len = 4};
    snprintf(path, sizeof path, "/goto?code=303&to=%s", url("/echo"));
    ASSERT_EQ(fetch_text(s, "POST", url(path), &po, &body), 200);
    ASSERT_STR_EQ(echoed(body, "method"), "GET");
    ASSERT_STR_EQ(echoed(body, "length"), "0");
    free(body);
    snprintf(path, sizeof path, "/goto?code=307&to=/echo");
    ASSERT_EQ(fetch_text(s, "POST", url(path), &po, &body), 200);
    ASSERT_STR_EQ(echoed(body, "method"), "POST");
    ASSERT_STR_EQ(echoed(body, "length"), "4");
    free(body);
    snprintf(path, sizeof path, "/goto?code=308&to=/echo");
    ASSERT_EQ(fetch_text(s, "PUT", url(path), &po, &body), 200);
    ASSERT_STR_EQ(echoed(body, "method"), "PUT");
    free(body);
    /* 302 after a POST: a GET, as browsers and aiohttp do. */
    snprintf(path, sizeof path, "/goto?code=302&to=/echo");
    ASSERT_EQ(fetch_text(s, "POST", url(path), &po, &body), 200);
    ASSERT_STR_EQ(echoed(body, "method"), "GET");
    free(body);
    /* A Location that is not http(s) is not followed. */
    ASSERT_EQ(fetch_text(s, "GET", url("/goto?to=ftp://x/"), NULL, NULL),
              302);
    /* A loop ends at the limit. */
    ASSERT_ERR(fetch_text(s, "GET", url("/loop"), NULL, NULL), -ELOOP);
    ASSERT_OK(corio_http_session_close(s));
    down();
    return 0;
}

TEST_OPTS(redirects_followed_limited_and_disabled,
          .labels = "net", .timeout = CASE_TIMEOUT)
{
    RUN(redirects);
}

static int cross_origin(void *arg)
{
    (void)arg;
    up();
    struct fake_dns d = {.names = {"other.test"}};
    inet_pton(AF_INET, "127.0.0.1", &d.addrs[0]);
    fake_dns_start(&d);
    corio_http_session *s = session(NULL);
    const char *auth[] = {"Authorization: Bearer secret", NULL};
    corio_http_request_opts o = {.headers = auth};
    char path[256], *body;
    /* Same origin: it goes along. */
    ASSERT_EQ(fetch_text(s, "GET", url("/goto?to=/echo"), &o, &body), 200);
    ASSERT_STR_EQ(echoed(body, "Authorization"), "Bearer secret");
    free(body);
    /* Another origin (a name, resolved by corio): it stays behind. */
    snprintf(path, sizeof path, "/goto?to=http://other.test:%d/echo", port);
    corio_http_response *r;
    ASSERT_OK(corio_http_fetch(s, "GET", url(path), &o, &r));
    ASSERT_EQ(corio_http_response_status(r), 200);
    ASSERT_STR_EQ(echoed(corio_http_response_body(r, NULL),
                         "Authorization"),
                  "-");
    char want[64];
    snprintf(want, sizeof want, "http://other.test:%d/echo", port);
    ASSERT_STR_EQ(corio_http_response_url(r), want);
    corio_http_response_close(r);
    ASSERT_OK(corio_http_session_close(s));
    fake_dns_stop(&d);
    down();
    return 0;
}

TEST_OPTS(authorization_does_not_follow_a_redirect_to_another_origin,
          .labels = "net", .timeout = CASE_TIMEOUT)
{
    RUN(cross_origin);
}

/* ---- bodies ---- */

static int chunked(void *arg)
{
    (void)arg;
    up();
    corio_http_session *s = session(NULL);
    /* Whole. */
    corio_http_response *r;
    ASSERT_OK(corio_http_get(s, url("/lines/1000"), &r));
    ASSERT_EQ(corio_http_response_status(r), 200);
    ASSERT_STR_EQ(corio_http_response_header(r, "Transfer-Encoding"),
                  "chunked");
    size_t len;
    const char *b = corio_http_response_body(r, &len);
    ASSERT_TRUE(strncmp(b, "line 0\nline 1\n", 14) == 0);
    ASSERT_TRUE(strstr(b, "line 999\n") != NULL);
    ASSERT_EQ(b[len - 1], '\n');
    corio_http_response_close(r);
    /* Streamed: the same bytes, read in pieces of 7. */
    corio_http_request_opts o = {.flags = CORIO_HTTP_STREAM};
    ASSERT_OK(corio_http_fetch(s, "GET", url("/lines/1000"), &o, &r));
    ASSERT_NULL(corio_http_response_body(r, NULL));
    char *all = malloc(len + 1);
    size_t got = 0;
    ssize_t n;
    while ((n = corio_http_response_read(r, all + got, 7)) > 0)
        got += (size_t)n;
    ASSERT_EQ(n, 0);
    ASSERT_EQ(got, len);
    all[got] = '\0';
    ASSERT_TRUE(strstr(all, "line 999\n") != NULL);
    ASSERT_EQ(corio_http_response_read(r, all, 1), 0);
    free(all);
    corio_http_response_close(r);
    ASSERT_OK(corio_http_session_close(s));
    down();
    return 0;
}

TEST_OPTS(chunked_responses_whole_and_streamed,
          .labels = "net", .timeout = CASE_TIMEOUT)
{
    RUN(chunked);
}

static int large(void *arg)
{
    (void)arg;
    up();
    corio_http_session *s = session(NULL);
    corio_http_request_opts o = {.flags = CORIO_HTTP_STREAM};
    corio_http_response *r;
    ASSERT_OK(corio_http_fetch(s, "GET", url("/big/65536"), &o, &r));
    static unsigned char buf[10000];
    uint64_t off = 0;
    ssize_t n;
    int reads = 0;
    while ((n = corio_http_response_read(r, buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n; i++)
            if (buf[i] != pattern(7, off + (uint64_t)i))
                FAIL("byte %" PRIu64 " differs", off + (uint64_t)i);
        off += (uint64_t)n;
        /* A slow reader now and then: the transfer must pause, not
         * buffer. */
        if (++reads % 512 == 0)
            ASSERT_OK(corio_sleep(0.001));
    }
    ASSERT_EQ(n, 0);
    ASSERT_EQ(off, (uint64_t)64 << 20);
    /* Memory stayed bounded: 64 KiB high water plus one write from
     * libcurl (16 KiB, more when it decompresses). */
    size_t peak = corio__http_response_peak(r);
    ASSERT_GT(peak, 0);
    ASSERT_LE(peak, 160 * 1024);
    corio_http_response_close(r);
    /* A whole body over max_body fails (the session's, or the request's). */
    corio_http_request_opts w = {.max_body = 100000};
    ASSERT_ERR(corio_http_fetch(s, "GET", url("/big/1000"), &w, &r),
               -EMSGSIZE);
    ASSERT_TRUE(strstr(corio_http_session_error(s), "100000") != NULL);
    w.max_body = 1024 * 1024;
    ASSERT_OK(corio_http_fetch(s, "GET", url("/big/1000"), &w, &r));
    size_t len;
    corio_http_response_body(r, &len);
    ASSERT_EQ(len, 1000 * 1024);
    corio_http_response_close(r);
    ASSERT_OK(corio_http_session_close(s));
    down();
    return 0;
}

TEST_OPTS(a_64_mib_body_streams_with_bounded_memory,
          .labels = "net", .timeout = CASE_TIMEOUT_BIG)
{
    RUN(large);
}

/* A streamed request body: len bytes of pattern(3, i), in pieces of
 * varied sizes, with a suspension now and then. */
struct src {
    uint64_t len;
    uint64_t off;
    uint64_t sum;
    int calls;
    int fail_at; /* return -EIO on this call (0: never) */
};

static ssize_t produce(void *buf, size_t cap, void *arg)
{
    struct src *p = arg;
    if (++p->calls == p->fail_at)
        return -EIO;
    if (p->calls % 3 == 0) {
        int rc = corio_sleep(0);
        if (rc < 0)
            return rc;
    }
    size_t k = 1 + (size_t)(th_rand() % cap);
    if (k > p->len - p->off)
        k = (size_t)(p->len - p->off);
    unsigned char *b = buf;
    for (size_t i = 0; i < k; i++) {
        b[i] = pattern(3, p->off + i);
        p->sum += b[i];
    }
    p->off += k;
    return (ssize_t)k;
}

static int upload(void *arg)
{
    (void)arg;
    up();
    corio_http_session *s = session(NULL);
    char *body, want[64];
    /* Chunked (length unknown), then with a Content-Length. */
    for (int sized = 0; sized < 2; sized++) {
        struct src p = {.len = 5u << 20};
        corio_http_request_opts o = {.body_fn = produce, .body_arg = &p};
        if (sized)
            o.body_size = (int64_t)p.len;
        ASSERT_EQ(fetch_text(s, "PUT", url("/sum"), &o, &body), 200);
        snprintf(want, sizeof want, "%" PRIu64 " %" PRIu64 " %s", p.len,
                 p.sum, sized ? "length" : "chunked");
        ASSERT_STR_EQ(body, want);
        ASSERT_GT(p.calls, 10);
        free(body);
    }
    /* An empty one. */
    struct src e = {.len = 0};
    corio_http_request_opts o = {.body_fn = produce, .body_arg = &e};
    ASSERT_EQ(fetch_text(s, "POST", url("/sum"), &o, &body), 200);
    ASSERT_STR_EQ(body, "0 0 chunked");
    free(body);
    /* The callback's error ends the request with it. */
    struct src f = {.len = 1u << 20, .fail_at = 5};
    o.body_arg = &f;
    corio_http_response *r;
    ASSERT_ERR(corio_http_fetch(s, "POST", url("/sum"), &o, &r), -EIO);
    ASSERT_NULL(r);
    /* A 307 is not followed with a body that cannot be sent again. (The
     * route takes no query string: the server under test loses it on a
     * chunked request.) */
    struct src g = {.len = 100};
    o.body_arg = &g;
    ASSERT_EQ(fetch_text(s, "POST", url("/to-sum"), &o, NULL), 307);
    /* Not both kinds of body. */
    o.body = "x";
    o.body_len = 1;
    ASSERT_ERR(corio_http_fetch(s, "POST", url("/sum"), &o, &r), -EINVAL);
    ASSERT_OK(corio_http_session_close(s));
    down();
    return 0;
}

TEST_OPTS(a_request_body_streams_from_a_callback,
          .labels = "net", .timeout = CASE_TIMEOUT)
{
    RUN(upload);
}

/* Sequential requests of a session run on one pooled libcurl handle,
 * which keeps its options from one request to the next (it is not
 * reset): no method, body, size limit or timeout may leak into the next
 * request. */
static int pooled_handle(void *arg)
{
    (void)arg;
    up();
    corio_http_session_opts so = {.timeout = -1}; /* none by default */
    corio_http_session *s = session(&so);
    char *body;
    corio_http_response *r;
    /* A streamed body, then requests without one. */
    struct src p = {.len = 100000};
    corio_http_request_opts up_o = {.body_fn = produce, .body_arg = &p,
                                    .body_size = 100000};
    ASSERT_EQ(fetch_text(s, "PUT", url("/sum"), &up_o, NULL), 200);
    ASSERT_EQ(fetch_text(s, "GET", url("/echo"), NULL, &body), 200);
    ASSERT_STR_EQ(echoed(body, "method"), "GET");
    ASSERT_STR_EQ(echoed(body, "length"), "0");
    free(body);
    /* HEAD, then a GET that has its body again. */
    ASSERT_OK(corio_http_fetch(s, "HEAD", url("/echo"), NULL, &r));
    corio_http_response_close(r);
    ASSERT_EQ(fetch_text(s, "GET", url("/echo"), NULL, &body), 200);
    ASSERT_STR_EQ(echoed(body, "method"), "GET");
    free(body);
    /* A whole body, then a DELETE without one, then a streamed body after
     * a whole one. */
    corio_http_request_opts bo = {.body = "abc", .body_len = 3};
    ASSERT_EQ(fetch_text(s, "POST", url("/echo"), &bo, &body), 200);
    ASSERT_STR_EQ(echoed(body, "length"), "3");
    free(body);
    ASSERT_EQ(fetch_text(s, "DELETE", url("/echo"), NULL, &body), 200);
    ASSERT_STR_EQ(echoed(body, "method"), "DELETE");
    ASSERT_STR_EQ(echoed(body, "length"), "0");
    free(body);
    struct src q = {.len = 5000};
    corio_http_request_opts sq = {.body_fn = produce, .body_arg = &q};
    ASSERT_EQ(fetch_text(s, "POST", url("/sum"), &sq, &body), 200);
    char want[64];
    snprintf(want, sizeof want, "%" PRIu64 " %" PRIu64 " chunked", q.len,
             q.sum);
    ASSERT_STR_EQ(body, want);
    free(body);
    /* A small max_body, then a request without it. */
    corio_http_request_opts mo = {.max_body = 1024};
    ASSERT_ERR(corio_http_fetch(s, "GET", url("/big/64"), &mo, &r),
               -EMSGSIZE);
    ASSERT_EQ(fetch_text(s, "GET", url("/big/64"), NULL, NULL), 200);
    /* A short timeout, then a slow request without one. */
    corio_http_request_opts to = {.timeout = 0.1};
    ASSERT_ERR(corio_http_fetch(s, "GET", url("/sleep/300"), &to, &r),
               -ETIMEDOUT);
    ASSERT_EQ(fetch_text(s, "GET", url("/sleep/300"), NULL, &body), 200);
    ASSERT_STR_EQ(body, "slept");
    free(body);
    ASSERT_OK(corio_http_session_close(s));
    down();
    return 0;
}

TEST_OPTS(a_pooled_handle_carries_nothing_into_the_next_request,
          .labels = "net", .timeout = CASE_TIMEOUT)
{
    RUN(pooled_handle);
}

/* ---- timeouts, deadlines, cancellation ---- */

static int connect_timeout(void *arg)
{
    (void)arg;
    /* A listener with a full backlog: the kernel drops further SYNs, so
     * a connect neither succeeds nor fails. */
    corio_sock *l = corio_tcp_listen("127.0.0.1", 0, &(corio_listen_opts){
                                                         .backlog = 1});
    ASSERT_NOT_NULL(l);
    ASSERT_OK(listen(corio_sock_fileno(l), 0));
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    ASSERT_OK(corio_sock_local_addr(l, &ss, &sl));
    int lport = corio_addr_port((struct sockaddr *)&ss);
    int fill[3];
    for (int i = 0; i < 3; i++) {
        fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                         0);
        connect(fill[i], (struct sockaddr *)&ss, sl);
    }
    ASSERT_OK(corio_sleep(0.1));
    corio_http_session_opts so = {.connect_timeout = 0.3};
    corio_http_session *s = session(&so);
    char u[64];
    snprintf(u, sizeof u, "http://127.0.0.1:%d/", lport);
    double t0 = corio_time();
    corio_http_response *r;
    ASSERT_ERR(corio_http_get(s, u, &r), -ETIMEDOUT);
    double dt = corio_time() - t0;
    ASSERT_GE(dt, 0.25 - 1e-9);
    ASSERT_LT(dt, 2.0);
    ASSERT_TRUE(corio_http_session_error(s)[0] != '\0');
    ASSERT_OK(corio_http_session_close(s));
    for (int i = 0; i < 3; i++)
        close(fill[i]);
    ASSERT_OK(corio_sock_close(l));
    return 0;
}

TEST_OPTS(connect_timeout_against_a_full_backlog,
          .labels = "net", .timeout = CASE_TIMEOUT)
{
    RUN(connect_timeout);
}

static int total_timeout(void *arg)
{
    (void)arg;
    up();
    corio_http_session_opts so = {.timeout = 0.2};
    corio_http_session *s = session(&so);
    corio_http_response *r;
    double t0 = corio_time();
    ASSERT_ERR(corio_http_get(s, url("/sleep/5000"), &r), -ETIMEDOUT);
    ASSERT_LT(corio_time() - t0, 1.5);
    /* The request's own timeout wins over the session's. */
    corio_http_request_opts o = {.timeout = -1};
    ASSERT_EQ(fetch_text(s, "GET", url("/sleep/300"), &o, NULL), 200);
    o.timeout = 0.1;
    t0 = corio_time();
    ASSERT_ERR(corio_http_fetch(s, "GET", url("/sleep/5000"), &o, &r),
               -ETIMEDOUT);
    ASSERT_LT(corio_time() - t0, 1.0);
    /* It covers the body of a streamed response too. */
    o.timeout = 0.3;
    o.flags = CORIO_HTTP_STREAM;
    ASSERT_OK(corio_http_fetch(s, "GET", url("/endless"), &o, &r));
    static char buf[65536];
    ssize_t n;
    while ((n = corio_http_response_read(r, buf, sizeof buf)) > 0)
        ;
    ASSERT_ERR(n, -ETIMEDOUT);
    corio_http_response_close(r);
    ASSERT_OK(corio_http_session_close(s));
    down();
    return 0;
}

TEST_OPTS(total_timeout_ends_the_request,
          .labels = "net", .timeout = CASE_TIMEOUT)
{
    RUN(total_timeout);
}

static int deadline(void *arg)
{
    (void)arg;
    up();
    corio_http_session *s = session(NULL);
    corio_http_response *r;
    corio_scope sc;
    ASSERT_OK(corio_scope_enter(&sc, 0.2));
    double t0 = corio_time();
    ASSERT_ERR(corio_http_get(s, url("/sleep/5000"), &r), -ETIMEDOUT);
    ASSERT_ERR(corio_scope_exit(&sc), -ETIMEDOUT);
    ASSERT_LT(corio_time() - t0, 1.0);
    ASSERT_NULL(r);
    /* The transfer ended: the server sees its client go. */
    WAIT_UNTIL(slow_cancelled != 0, 10);
    ASSERT_EQ(slow_cancelled, 1);
    /* A streamed body read past a deadline: the transfer stops, and
     * later reads say so again. */
    corio_http_request_opts o = {.flags = CORIO_HTTP_STREAM};
    ASSERT_OK(corio_http_fetch(s, "GET", url("/endless"), &o, &r));
    char buf[16384];
    ASSERT_OK(corio_scope_enter(&sc, 0.1));
    ssize_t n;
    while ((n = corio_http_response_read(r, buf, sizeof buf)) > 0)
        ;
    ASSERT_ERR(n, -ETIMEDOUT);
    corio_scope_exit(&sc);
    while ((n = corio_http_response_read(r, buf, sizeof buf)) > 0)
        ;
    ASSERT_ERR(n, -ETIMEDOUT);
    corio_http_response_close(r);
    WAIT_UNTIL(endless_ended != 0, 10);
    ASSERT_EQ(endless_ended, 1);
    /* The session still works. */
    ASSERT_EQ(fetch_text(s, "GET", url("/"), NULL, NULL), 200);
    ASSERT_OK(corio_http_session_close(s));
    down();
    return 0;
}

TEST_OPTS(a_scope_deadline_ends_the_transfer,
          .labels = "net", .timeout = CASE_TIMEOUT)
{
    RUN(deadline);
}

struct reader {
    corio_http_session *s;
    uint64_t got;
    corio_event started;
};

static int read_endless(void *arg)
{
    struct reader *rd = arg;
    corio_http_request_opts o = {.flags = CORIO_HTTP_STREAM};
    corio_http_response *r;
    int rc = corio_http_fetch(rd->s, "GET", url("/endless"), &o, &r);
    if (rc < 0)
        return rc;
    char buf[16384];
    ssize_t n;
    while ((n = corio_http_response_read(r, buf, sizeof buf)) > 0) {
        rd->got += (uint64_t)n;
        if (rd->got > (1u << 20))
            corio_event_set(&rd->started);
    }
    corio_http_response_close(r);
    return (int)n;
}

static int fetch_slow(void *arg)
{
    corio_http_response *r;
    int rc = corio_http_get(arg, url("/sleep/5000"), &r);
    if (rc == 0)
        corio_http_response_close(r);
    return rc;
}

static int cancel(void *arg)
{
    (void)arg;
    up();
    int fds = th_count_fds();
    corio_http_session *s = session(NULL);
    /* Mid-body. */
    struct reader rd = {.s = s};
    corio_event_init(&rd.started);
    corio_task *t = corio_spawn(read_endless, &rd);
    ASSERT_OK(corio_event_wait(&rd.started));
    corio_cancel(t);
    ASSERT_ERR(corio_join(t), -ECANCELED);
    WAIT_UNTIL(endless_ended != 0, 10);
    ASSERT_EQ(endless_ended, 1);
    /* While waiting for the head: once the request is at the server. */
    t = corio_spawn(fetch_slow, s);
    WAIT_UNTIL(slow_started == 1, 10);
    ASSERT_EQ(slow_started, 1);
    corio_cancel(t);
    ASSERT_ERR(corio_join(t), -ECANCELED);
    WAIT_UNTIL(slow_cancelled != 0, 10);
    ASSERT_EQ(slow_cancelled, 1);
    /* Before it even started. */
    t = corio_spawn(fetch_slow, s);
    corio_cancel(t);
    ASSERT_ERR(corio_join(t), -ECANCELED);
    ASSERT_EQ(fetch_text(s, "GET", url("/"), NULL, NULL), 200);
    ASSERT_OK(corio_http_session_close(s));
    /* Every descriptor the client opened is closed again, and so are
     * the server's ends once its handlers see that (soon, however slow
     * the machine). */
    WAIT_UNTIL(th_count_fds() == fds, 10);
    ASSERT_EQ(th_count_fds(), fds);
    down();
    return 0;
}

TEST_OPTS(cancelling_the_task_stops_the_transfer,
          .labels = "net", .timeout = CASE_TIMEOUT)
{
    RUN(cancel);
}

static int close_meanwhile(void *arg)
{
    (void)arg;
    up();
    corio_http_session *s = session(NULL);
    corio_task *t = corio_spawn(fetch_slow, s);
    /* A streamed response outlives its session: what it has stays
     * readable, then -EBADF. */
    corio_http_request_opts o = {.flags = CORIO_HTTP_STREAM};
    corio_http_response *r;
    ASSERT_OK(corio_http_fetch(s, "GET", url("/lines/10"), &o, &r));
    ASSERT_OK(corio_sleep(0.05));
    ASSERT_OK(corio_http_session_close(s));
    ASSERT_ERR(corio_join(t), -EBADF);
    char buf[256];
    ssize_t n, got = 0;
    while ((n = corio_http_response_read(r, buf, sizeof buf)) > 0)
        got += n;
    /* All ten lines ("line 0\n" ... "line 9\n") if the transfer had
     * ended, else what had come, then -EBADF. */
    ASSERT_TRUE(n == 0 ? got == 70 : n == -EBADF);
    ASSERT_EQ(corio_http_response_status(r), 200);
    corio_http_response_close(r);
    ASSERT_OK(corio_http_session_close(NULL));
    down();
    return 0;
}

TEST_OPTS(closing_the_session_ends_its_requests,
          .labels = "net", .timeout = CASE_TIMEOUT)
{
    RUN(close_meanwhile);
}

/* ---- connections ---- */

static int reuse(void *arg)
{
    (void)arg;
    up();
    corio_http_session *s = session(NULL);
    char *first = NULL;
    for (int i = 0; i < 20; i++) {
        char *body;
        ASSERT_EQ(fetch_text(s, "GET", url("/conn"), NULL, &body), 200);
        if (!first)
            first = body;
        else {
            ASSERT_STR_EQ(body, first);
            free(body);
        }
    }
    /* Also across a streamed response read to its end, and bodies. */
    corio_http_request_opts o = {.flags = CORIO_HTTP_STREAM};
    corio_http_response *r;
    ASSERT_OK(corio_http_fetch(s, "GET", url("/lines/100"), &o, &r));
    char buf[4096];
    while (corio_http_response_read(r, buf, sizeof buf) > 0)
        ;
    corio_http_response_close(r);
    corio_http_request_opts po = {.body = "x", .body_len = 1};
    ASSERT_EQ(fetch_text(s, "POST", url("/echo"), &po, NULL), 200);
    char *body;
    ASSERT_EQ(fetch_text(s, "GET", url("/conn"), NULL, &body), 200);
    ASSERT_STR_EQ(body, first);
    free(body);
    free(first);
    ASSERT_EQ(corio_http_server_connections(srv), 1);
    ASSERT_OK(corio_http_session_close(s));
    down();
    return 0;
}

TEST_OPTS(sequential_requests_reuse_one_connection,
          .labels = "net", .timeout = CASE_TIMEOUT)
{
    RUN(reuse);
}

struct crowd {
    corio_http_session *s;
    int per_task;
    int ok;
};

static int crowd_task(void *arg)
{
    struct crowd *c = arg;
    for (int i = 0; i < c->per_task; i++) {
        char path[32];
        snprintf(path, sizeof path, "/echo?i=%d", i);
        char *body;
        int st = fetch_text(c->s, "GET", url(path), NULL, &body);
        if (st != 200)
            return st < 0 ? st : -EPROTO;
        free(body);
        c->ok++;
    }
    return 0;
}

static int many(void *arg)
{
    (void)arg;
    corio_http_server_opts so = {.listen = {.backlog = 1024}};
    app = client_app();
    srv = start_http(app, &so, &port);
    snprintf(base, sizeof base, "http://127.0.0.1:%d", port);
    corio_http_session *s = session(NULL);
    struct crowd c = {.s = s, .per_task = 10};
    corio_task *ts[100];
    for (int i = 0; i < 100; i++)
        ts[i] = corio_spawn(crowd_task, &c);
    for (int i = 0; i < 100; i++)
        ASSERT_OK(corio_join(ts[i]));
    ASSERT_EQ(c.ok, 1000);
    /* At most the session's 100 connections. */
    ASSERT_LE(corio_http_server_connections(srv), 100);
    ASSERT_OK(corio_http_session_close(s));
    down();
    return 0;
}

TEST_OPTS(a_thousand_fetches_from_a_hundred_tasks, .labels = "net",
          .timeout = CASE_TIMEOUT_BIG)
{
    RUN(many);
}

/* ---- errors ---- */

static int errors(void *arg)
{
    (void)arg;
    struct fake_dns d = {.names = {"www.corio.test"}};
    inet_pton(AF_INET, "127.0.0.1", &d.addrs[0]);
    fake_dns_start(&d);
    corio_http_session *s = session(NULL);
    corio_http_response *r = (corio_http_response *)1;
    char u[128];
    snprintf(u, sizeof u, "http://127.0.0.1:%d/", dead_port());
    ASSERT_ERR(corio_http_get(s, u, &r), -ECONNREFUSED);
    ASSERT_NULL(r);
    ASSERT_TRUE(corio_http_session_error(s)[0] != '\0');
    ASSERT_ERR(corio_http_get(s, "http://", &r), -EINVAL);
    ASSERT_ERR(corio_http_get(s, "no url at all", &r), -EINVAL);
    ASSERT_ERR(corio_http_get(s, "ftp://127.0.0.1/", &r),
               -EPROTONOSUPPORT);
    ASSERT_ERR(corio_http_get(s, "file:///etc/passwd", &r),
               -EPROTONOSUPPORT);
    /* DNS: through corio's resolver (the test's DNS server). */
    ASSERT_ERR(corio_http_get(s, "http://nothing.invalid/", &r), -ENXIO);
    ASSERT_TRUE(strstr(corio_http_session_error(s), "nothing.invalid") !=
                NULL);
    snprintf(u, sizeof u, "http://www.corio.test:%d/", dead_port());
    ASSERT_ERR(corio_http_get(s, u, &r), -ECONNREFUSED);
    /* Misuse. */
    ASSERT_ERR(corio_http_get(NULL, "http://x/", &r), -EINVAL);
    ASSERT_ERR(corio_http_get(s, NULL, &r), -EINVAL);
    ASSERT_ERR(corio_http_get(s, "http://x/", NULL), -EINVAL);
    corio_http_request_opts o = {.max_redirects = -2};
    ASSERT_ERR(corio_http_fetch(s, "GET", "http://x/", &o, &r), -EINVAL);
    ASSERT_EQ(corio_http_response_status(NULL), 0);
    ASSERT_NULL(corio_http_response_header(NULL, "x"));
    ASSERT_ERR(corio_http_response_read(NULL, u, 1), -EINVAL);
    corio_http_response_close(NULL);
    corio_http_session_opts bad = {.http_version = 15};
    ASSERT_NULL(corio_http_session_new(&bad));
    ASSERT_EQ(errno, EINVAL);
    ASSERT_OK(corio_http_session_close(s));
    fake_dns_stop(&d);
    return 0;
}

TEST_OPTS(errors_refused_bad_url_and_dns_failure,
          .labels = "net", .timeout = CASE_TIMEOUT)
{
    RUN(errors);
}

TEST_OPTS(a_session_needs_a_loop, .labels = "net", .timeout = CASE_TIMEOUT)
{
    ASSERT_NULL(corio_http_session_new(NULL));
    ASSERT_EQ(errno, EPERM);
}

static int by_name(void *arg)
{
    (void)arg;
    up();
    struct fake_dns d = {.names = {"www.corio.test"}};
    inet_pton(AF_INET, "127.0.0.1", &d.addrs[0]);
    fake_dns_start(&d);
    corio_http_session *s = session(NULL);
    int threads = thread_count();
    char u[128];
    snprintf(u, sizeof u, "http://www.corio.test:%d/", port);
    ASSERT_EQ(fetch_text(s, "GET", u, NULL, NULL), 200);
    int q = d.queries;
    ASSERT_GT(q, 0);
    /* The session remembers the answer. */
    ASSERT_EQ(fetch_text(s, "GET", u, NULL, NULL), 200);
    ASSERT_EQ(d.queries, q);
    /* The session keeps the last URL's origin parsed: URLs that differ
     * only in the port, one after the other, each get their own. */
    char dead[128];
    snprintf(dead, sizeof dead, "http://www.corio.test:%d/x", dead_port());
    corio_http_response *r;
    for (int i = 0; i < 3; i++) {
        ASSERT_EQ(fetch_text(s, "GET", u, NULL, NULL), 200);
        ASSERT_ERR(corio_http_get(s, dead, &r), -ECONNREFUSED);
    }
    /* libcurl resolved nothing itself: no resolver thread ever ran. */
    ASSERT_EQ(thread_count(), threads);
    ASSERT_OK(corio_http_session_close(s));
    fake_dns_stop(&d);
    down();
    return 0;
}

TEST_OPTS(names_resolve_through_corio_without_threads,
          .labels = "net", .timeout = CASE_TIMEOUT)
{
    RUN(by_name);
}

static int cookies(void *arg)
{
    (void)arg;
    up();
    corio_http_session_opts so = {.cookies = true};
    corio_http_session *s = session(&so);
    corio_http_session *plain = session(NULL);
    char *body;
    ASSERT_EQ(fetch_text(s, "GET", url("/setcookie"), NULL, NULL), 200);
    ASSERT_EQ(fetch_text(s, "GET", url("/echo"), NULL, &body), 200);
    ASSERT_STR_EQ(echoed(body, "Cookie"), "flavour=ginger");
    free(body);
    ASSERT_EQ(fetch_text(plain, "GET", url("/setcookie"), NULL, NULL), 200);
    ASSERT_EQ(fetch_text(plain, "GET", url("/echo"), NULL, &body), 200);
    ASSERT_STR_EQ(echoed(body, "Cookie"), "-");
    free(body);
    ASSERT_OK(corio_http_session_close(s));
    ASSERT_OK(corio_http_session_close(plain));
    down();
    return 0;
}

TEST_OPTS(a_session_keeps_cookies_if_asked,
          .labels = "net", .timeout = CASE_TIMEOUT)
{
    RUN(cookies);
}

/* ---- HTTPS ---- */
#ifdef CLIENT_TEST_TLS

static int https(void *arg)
{
    (void)arg;
    corio_tls_ctx *tls = corio_tls_ctx_new(CORIO_TLS_SERVER);
    ASSERT_NOT_NULL(tls);
    ASSERT_OK(corio_tls_ctx_load_cert_chain(tls, certs.server,
                                            certs.server_key));
    app = client_app();
    corio_http_server_opts so = {.tls = tls};
    srv = start_http(app, &so, &port);
    char u[128];
    snprintf(u, sizeof u, "https://localhost:%d/", port);
    corio_http_response *r;
    /* Verification is on by default: the test CA is nobody's. */
    corio_http_session *s = session(NULL);
    ASSERT_ERR(corio_http_get(s, u, &r), -EKEYREJECTED);
    ASSERT_TRUE(corio_http_session_error(s)[0] != '\0');
    ASSERT_OK(corio_http_session_close(s));
    /* With the CA: by name and by address. */
    corio_http_session_opts ca = {.ca_file = certs.ca};
    s = session(&ca);
    ASSERT_EQ(fetch_text(s, "GET", u, NULL, NULL), 200);
    snprintf(u, sizeof u, "https://127.0.0.1:%d/echo", port);
    ASSERT_EQ(fetch_text(s, "GET", u, NULL, NULL), 200);
    ASSERT_OK(corio_http_session_close(s));
    /* Another CA's certificate is refused. */
    corio_http_session_opts rogue = {.ca_file = certs.rogue_ca};
    s = session(&rogue);
    ASSERT_ERR(corio_http_get(s, u, &r), -EKEYREJECTED);
    ASSERT_OK(corio_http_session_close(s));
    /* Off only when asked. */
    corio_http_session_opts off = {.insecure = true};
    s = session(&off);
    ASSERT_EQ(fetch_text(s, "GET", u, NULL, NULL), 200);
    ASSERT_OK(corio_http_session_close(s));
    down();
    corio_tls_ctx_free(tls);
    return 0;
}

TEST_OPTS(https_verifies_certificates_by_default,
          .labels = "net", .timeout = CASE_TIMEOUT)
{
    certs_make();
    RUN(https);
}
#endif


/* SPDX-License-Identifier: MIT */
/* The HTTP client against a server that is not corio's: Python's
 * http.server (client_peer.py, started by each case): methods and
 * header fields, redirects, chunked bodies, a 64 MiB body with a
 * Content-Length streamed in bounded memory, timeouts and deadlines,
 * cancellation, connection reuse, HTTPS, and every allocation failing in
 * turn (the server is out of the process, so only the client's fail). */
#include "client_helpers.h"

#include "core/testing.h"

#ifdef CLIENT_TEST_TLS
#include "../tls/certs.h"
#endif

static struct peer py;
static char base[64];

static const char *url(const char *path)
{
    static char buf[4][256];
    static int i;
    char *u = buf[i++ % 4];
    snprintf(u, 256, "%s%s", base, path);
    return u;
}

static void with_peer(corio_fn fn)
{
    peer_start(&py, NULL);
    snprintf(base, sizeof base, "http://127.0.0.1:%d", py.port);
    RUN(fn);
    peer_stop(&py);
}

static corio_http_session *session(const corio_http_session_opts *o)
{
    corio_http_session *s = corio_http_session_new(o);
    ASSERT_NOT_NULL(s);
    return s;
}

static int basics(void *arg)
{
    (void)arg;
    corio_http_session *s = session(NULL);
    char *body;
    ASSERT_EQ(fetch_text(s, "GET", url("/"), NULL, &body), 200);
    ASSERT_STR_EQ(body, "Hello from Python");
    free(body);
    const char *h[] = {"X-Test: from-corio", NULL};
    const char *ms[] = {"GET", "POST", "PUT", "DELETE", "PATCH"};
    for (size_t i = 0; i < sizeof ms / sizeof *ms; i++) {
        corio_http_request_opts o = {.headers = h};
        if (i == 1 || i == 2) {
            o.body = "0123456789";
            o.body_len = 10;
        }
        corio_http_response *r;
        ASSERT_OK(corio_http_fetch(s, ms[i], url("/echo"), &o, &r));
        ASSERT_EQ(corio_http_response_status(r), 200);
        ASSERT_STR_EQ(corio_http_response_header(r, "x-reply"), "python");
        const char *b = corio_http_response_body(r, NULL);
        ASSERT_STR_EQ(echoed(b, "method"), ms[i]);
        ASSERT_STR_EQ(echoed(b, "X-Test"), "from-corio");
        if (o.body)
            ASSERT_TRUE(strstr(b, "length=10\n\n0123456789") != NULL);
        corio_http_response_close(r);
    }
    ASSERT_EQ(fetch_text(s, "GET", url("/missing"), NULL, NULL), 404);
    ASSERT_OK(corio_http_session_close(s));
    return 0;
}

TEST_OPTS(methods_and_header_fields_against_python, .timeout = CASE_TIMEOUT)
{
    with_peer(basics);
}

static int redirects(void *arg)
{
    (void)arg;
    corio_http_session *s = session(NULL);
    corio_http_response *r;
    ASSERT_OK(corio_http_get(s, url("/redirect/5"), &r));
    ASSERT_EQ(corio_http_response_status(r), 200);
    ASSERT_EQ(corio_http_response_redirects(r), 5);
    ASSERT_STR_EQ(corio_http_response_body(r, NULL), "done");
    corio_http_response_close(r);
    corio_http_request_opts o = {.max_redirects = 4};
    ASSERT_ERR(corio_http_fetch(s, "GET", url("/redirect/5"), &o, &r),
               -ELOOP);
    o.max_redirects = CORIO_HTTP_NO_REDIRECTS;
    ASSERT_OK(corio_http_fetch(s, "GET", url("/redirect/5"), &o, &r));
    ASSERT_EQ(corio_http_response_status(r), 302);
    ASSERT_STR_EQ(corio_http_response_header(r, "location"), "/redirect/4");
    corio_http_response_close(r);
    ASSERT_OK(corio_http_session_close(s));
    return 0;
}

TEST_OPTS(redirects_against_python, .timeout = CASE_TIMEOUT)
{
    with_peer(redirects);
}

static int chunked(void *arg)
{
    (void)arg;
    corio_http_session *s = session(NULL);
    char *body;
    ASSERT_EQ(fetch_text(s, "GET", url("/chunked/500"), NULL, &body), 200);
    ASSERT_TRUE(strncmp(body, "chunk 0\nchunk 1\n", 16) == 0);
    ASSERT_TRUE(strstr(body, "chunk 499\n") != NULL);
    size_t len = strlen(body);
    free(body);
    corio_http_request_opts o = {.flags = CORIO_HTTP_STREAM};
    corio_http_response *r;
    ASSERT_OK(corio_http_fetch(s, "GET", url("/chunked/500"), &o, &r));
    char buf[100];
    size_t got = 0;
    ssize_t n;
    while ((n = corio_http_response_read(r, buf, sizeof buf)) > 0)
        got += (size_t)n;
    ASSERT_EQ(n, 0);
    ASSERT_EQ(got, len);
    corio_http_response_close(r);
    ASSERT_OK(corio_http_session_close(s));
    return 0;
}

TEST_OPTS(chunked_bodies_against_python, .timeout = CASE_TIMEOUT)
{
    with_peer(chunked);
}

static int large(void *arg)
{
    (void)arg;
    corio_http_session *s = session(NULL);
    corio_http_request_opts o = {.flags = CORIO_HTTP_STREAM};
    corio_http_response *r;
    ASSERT_OK(corio_http_fetch(s, "GET", url("/big/65536"), &o, &r));
    ASSERT_STR_EQ(corio_http_response_header(r, "Content-Length"),
                  "67108864");
    static unsigned char buf[32768];
    uint64_t off = 0;
    ssize_t n;
    while ((n = corio_http_response_read(r, buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n; i++)
            if (buf[i] != (unsigned char)(31 * (off + (uint64_t)i) + 7))
                FAIL("byte %" PRIu64 " differs", off + (uint64_t)i);
        off += (uint64_t)n;
    }
    ASSERT_EQ(n, 0);
    ASSERT_EQ(off, (uint64_t)64 << 20);
    ASSERT_LE(corio__http_response_peak(r), 160 * 1024);
    corio_http_response_close(r);
    /* A Content-Length over max_body fails before the body comes. */
    corio_http_request_opts w = {.max_body = 1 << 20};
    double t0 = corio_time();
    ASSERT_ERR(corio_http_fetch(s, "GET", url("/big/65536"), &w, &r),
               -EMSGSIZE);
    ASSERT_LT(corio_time() - t0, 2.0);
    ASSERT_OK(corio_http_session_close(s));
    return 0;
}

TEST_OPTS(a_64_mib_body_with_a_length_against_python,
          .timeout = CASE_TIMEOUT_BIG)
{
    with_peer(large);
}

static int timeouts(void *arg)
{
    (void)arg;
    corio_http_session_opts so = {.timeout = 0.2};
    corio_http_session *s = session(&so);
    corio_http_response *r;
    double t0 = corio_time();
    ASSERT_ERR(corio_http_get(s, url("/sleep/3000"), &r), -ETIMEDOUT);
    ASSERT_LT(corio_time() - t0, 1.5);
    ASSERT_OK(corio_http_session_close(s));
    s = session(NULL);
    corio_scope sc;
    ASSERT_OK(corio_scope_enter(&sc, 0.2));
    t0 = corio_time();
    ASSERT_ERR(corio_http_get(s, url("/sleep/3000"), &r), -ETIMEDOUT);
    ASSERT_ERR(corio_scope_exit(&sc), -ETIMEDOUT);
    ASSERT_LT(corio_time() - t0, 1.5);
    ASSERT_EQ(fetch_text(s, "GET", url("/sleep/10"), NULL, NULL), 200);
    ASSERT_OK(corio_http_session_close(s));
    return 0;
}

TEST_OPTS(timeouts_and_deadlines_against_python, .timeout = CASE_TIMEOUT)
{
    with_peer(timeouts);
}

struct endless {
    corio_http_session *s;
    uint64_t got;
    corio_event started;
};

static int read_endless(void *arg)
{
    struct endless *e = arg;
    corio_http_request_opts o = {.flags = CORIO_HTTP_STREAM};
    corio_http_response *r;
    int rc = corio_http_fetch(e->s, "GET", url("/endless"), &o, &r);
    if (rc < 0)
        return rc;
    char buf[16384];
    ssize_t n;
    while ((n = corio_http_response_read(r, buf, sizeof buf)) > 0)
        if ((e->got += (uint64_t)n) > (1u << 20))
            corio_event_set(&e->started);
    corio_http_response_close(r);
    return (int)n;
}

static int cancel(void *arg)
{
    (void)arg;
    int fds = th_count_fds();
    corio_http_session *s = session(NULL);
    struct endless e = {.s = s};
    corio_event_init(&e.started);
    corio_task *t = corio_spawn(read_endless, &e);
    ASSERT_OK(corio_event_wait(&e.started));
    corio_cancel(t);
    ASSERT_ERR(corio_join(t), -ECANCELED);
    ASSERT_EQ(fetch_text(s, "GET", url("/"), NULL, NULL), 200);
    ASSERT_OK(corio_http_session_close(s));
    ASSERT_EQ(th_count_fds(), fds);
    return 0;
}

TEST_OPTS(cancellation_mid_body_against_python, .timeout = CASE_TIMEOUT)
{
    with_peer(cancel);
}

static int reuse(void *arg)
{
    (void)arg;
    corio_http_session *s = session(NULL);
    char *first = NULL, *body;
    for (int i = 0; i < 10; i++) {
        ASSERT_EQ(fetch_text(s, "GET", url("/conn"), NULL, &body), 200);
        if (!first) {
            first = body;
            continue;
        }
        ASSERT_STR_EQ(body, first);
        free(body);
    }
    free(first);
    ASSERT_OK(corio_http_session_close(s));
    return 0;
}

TEST_OPTS(connection_reuse_against_python, .timeout = CASE_TIMEOUT)
{
    with_peer(reuse);
}

struct many {
    corio_http_session *s;
    int ok;
};

static int many_task(void *arg)
{
    struct many *m = arg;
    for (int i = 0; i < 10; i++) {
        if (fetch_text(m->s, "GET", url("/echo"), NULL, NULL) != 200)
            return -EPROTO;
        m->ok++;
    }
    return 0;
}

static int many(void *arg)
{
    (void)arg;
    corio_http_session *s = session(NULL);
    struct many m = {.s = s};
    corio_task *ts[20];
    for (int i = 0; i < 20; i++)
        ts[i] = corio_spawn(many_task, &m);
    for (int i = 0; i < 20; i++)
        ASSERT_OK(corio_join(ts[i]));
    ASSERT_EQ(m.ok, 200);
    ASSERT_OK(corio_http_session_close(s));
    return 0;
}

TEST_OPTS(concurrent_fetches_against_python, .timeout = CASE_TIMEOUT)
{
    with_peer(many);
}

#ifdef CLIENT_TEST_TLS
static int https(void *arg)
{
    (void)arg;
    char u[128];
    snprintf(u, sizeof u, "https://localhost:%d/", py.port);
    corio_http_response *r;
    corio_http_session *s = session(NULL);
    ASSERT_ERR(corio_http_get(s, u, &r), -EKEYREJECTED);
    ASSERT_OK(corio_http_session_close(s));
    corio_http_session_opts ca = {.ca_file = certs.ca};
    s = session(&ca);
    char *body;
    ASSERT_EQ(fetch_text(s, "GET", u, NULL, &body), 200);
    ASSERT_STR_EQ(body, "Hello from Python");
    free(body);
    ASSERT_OK(corio_http_session_close(s));
    return 0;
}

TEST_OPTS(https_against_python, .timeout = CASE_TIMEOUT)
{
    certs_make();
    const char *tls[] = {"--tls", certs.server, certs.server_key, NULL};
    peer_start(&py, tls);
    RUN(https);
    peer_stop(&py);
}
#endif

/* Each allocation the client makes fails in turn: every run ends in
 * success or -ENOMEM, with nothing left behind (the harness counts), and
 * the session still works afterwards. Allocation n fails (0: none); the
 * allocations counted go to *calls. */
static int faults_one(long n, long *calls)
{
    corio__fault_alloc(n);
    corio_http_session *s = corio_http_session_new(NULL);
    int rc = s ? 0 : -errno;
    corio_http_response *r;
    corio_http_request_opts o = {.body = "abc", .body_len = 3};
    if (rc == 0)
        rc = corio_http_fetch(s, "POST", url("/redirect/2"), &o, &r);
    if (rc == 0) {
        corio_http_response_close(r);
        o.flags = CORIO_HTTP_STREAM;
        rc = corio_http_fetch(s, "GET", url("/chunked/50"), &o, &r);
    }
    if (rc == 0) {
        char buf[64];
        ssize_t k;
        while ((k = corio_http_response_read(r, buf, sizeof buf)) > 0)
            ;
        rc = (int)k;
        corio_http_response_close(r);
    }
    *calls = corio__fault_alloc_calls();
    corio__fault_alloc(0);
    /* A failure inside one of libcurl's callbacks once left the multi
     * handle dead, the failed fetch waiting for good and later ones
     * too. */
    int st = s ? fetch_text(s, "GET", url("/"), NULL, NULL) : 200;
    if (st != 200)
        FAIL("allocation %ld failing left the session broken: %d (%s)", n,
             st, corio_http_session_error(s));
    corio_http_session_close(s);
    return rc;
}

static int faults(void *arg)
{
    (void)arg;
    long calls;
    ASSERT_OK(faults_one(0, &calls));
    bool done = false;
    for (long n = 1; !done && n < 1000; n++) {
        int rc = faults_one(n, &calls);
        if (rc == 0 && calls < n)
            done = true;
        else if (rc != 0 && rc != -ENOMEM)
            FAIL("allocation %ld failing gave %d (%s)", n, rc,
                 th_errname(-rc));
    }
    ASSERT_TRUE(done);
    return 0;
}

TEST_OPTS(every_allocation_failing_in_turn_is_a_clean_error,
          .timeout = CASE_TIMEOUT_BIG)
{
    with_peer(faults);
}

/* Each system call of the client's that has a seam (its sockets, its
 * epoll set and the watches in it, the loop's registrations) fails in
 * turn: every run ends in success or the call's error, and the session
 * still works afterwards. A watch that cannot be added fails the
 * transfers waiting on it rather than leaving them waiting for good. */
static int syscall_faults_one(long n, long *calls)
{
    corio__fault_syscall(n);
    corio_http_session *s = corio_http_session_new(NULL);
    int rc = s ? 0 : -errno;
    corio_http_response *r;
    if (rc == 0)
        rc = corio_http_get(s, url("/redirect/1"), &r);
    if (rc == 0) {
        corio_http_response_close(r);
        rc = fetch_text(s, "GET", url("/chunked/20"), NULL, NULL);
        rc = rc == 200 ? 0 : rc;
    }
    *calls = corio__fault_syscall_calls();
    corio__fault_syscall(0);
    int st = s ? fetch_text(s, "GET", url("/"), NULL, NULL) : 200;
    if (st != 200)
        FAIL("system call %ld failing left the session broken: %d (%s)", n,
             st, corio_http_session_error(s));
    corio_http_session_close(s);
    return rc;
}

static int syscall_faults(void *arg)
{
    (void)arg;
    long calls;
    int fds = th_count_fds();
    ASSERT_OK(syscall_faults_one(0, &calls));
    bool done = false;
    for (long n = 1; !done && n < 200; n++) {
        int rc = syscall_faults_one(n, &calls);
        if (rc == 0 && calls < n)
            done = true;
        else if (rc != 0 && rc != -EMFILE && rc != -ENOSPC &&
                 rc != -ENOMEM)
            FAIL("system call %ld failing gave %d (%s)", n, rc,
                 th_errname(-rc));
    }
    ASSERT_TRUE(done);
    ASSERT_EQ(th_count_fds(), fds);
    return 0;
}

TEST_OPTS(every_system_call_failing_in_turn_is_a_clean_error,
          .timeout = CASE_TIMEOUT_BIG)
{
    with_peer(syscall_faults);
}

/* SPDX-License-Identifier: MIT */
/* Fault injection on the server's resource paths: every allocation and
 * every seam system call made through corio's seams fails in turn (N = 1,
 * 2, ... until the scenario runs through), on the server side and in the
 * client streams that talk to it. Each run must end in success or a clean
 * error: a failed request is answered with 500 (or its connection is
 * closed), nothing hangs, and no heap block is left behind. */
#include "helpers.h"

#include "core/testing.h"

static int f_hello(corio_http_req *req, void *arg)
{
    (void)arg;
    return corio_http_resp_text(req, 200, "hello");
}

static int f_user(corio_http_req *req, void *arg)
{
    (void)arg;
    corio_http_json j;
    corio_http_json_init(&j);
    corio_http_json_begin_object(&j);
    corio_http_json_key(&j, "id");
    corio_http_json_string(&j, corio_http_req_param(req, "id"));
    corio_http_json_key(&j, "q");
    const char *q = corio_http_req_query(req, "q");
    if (q)
        corio_http_json_string(&j, q);
    else
        corio_http_json_null(&j);
    corio_http_json_end_object(&j);
    int rc = corio_http_resp_json(req, 200, &j);
    corio_http_json_free(&j);
    return rc;
}

static int f_echo(corio_http_req *req, void *arg)
{
    (void)arg;
    const char *body;
    ssize_t n = corio_http_req_body(req, &body);
    if (n < 0)
        return (int)n;
    return corio_http_resp_send(req, 200, "application/octet-stream", body,
                                (size_t)n);
}

static int f_stream(corio_http_req *req, void *arg)
{
    (void)arg;
    int rc = corio_http_resp_start(req);
    for (int i = 0; i < 3 && rc == 0; i++)
        rc = corio_http_resp_write(req, "chunk;", 6);
    if (rc == 0)
        rc = corio_http_resp_end(req);
    return rc;
}

static int mw_header(corio_http_req *req, void *arg)
{
    (void)arg;
    int rc = corio_http_next(req);
    if (!corio_http_resp_started(req))
        corio_http_resp_add_header(req, "X-Seen", "yes");
    return rc;
}

/* One request on s; the status, 0 if the server closed the connection, or
 * a negative errno from the client side. */
static int ask_once(corio_stream *s, const char *req, struct resp *r)
{
    int rc = corio_stream_write(s, req, strlen(req));
    if (rc == 0)
        rc = corio_stream_drain(s);
    if (rc < 0)
        return rc;
    return read_resp(s, r, false);
}

static const char *const requests[] = {
    "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    "GET /users/42?q=a%20b HTTP/1.1\r\nHost: x\r\n\r\n",
    "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nabcde",
    ("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
     "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"),
    "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n",
    "GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n",
    "GET /static/file.txt HTTP/1.1\r\nHost: x\r\n\r\n",
};
static const int expect[] = {200, 200, 200, 200, 200, 404, 200};

static const char *dir;

/* 0 when every request got its answer; 1 when the server failed one
 * cleanly (a 500, a 503 when it could not take the connection on, or a
 * closed connection); a negative errno otherwise. A hang here is a
 * path that mishandles a fault: CORIO_FAULT_TRACE=1 prints where each
 * injected fault hits. */
static int scenario(void *arg)
{
    (void)arg;
    int rc = 0, clean = 0;
    corio_http_server *srv = NULL;
    corio_http_app *app = corio_http_app_new();
    if (!app)
        return -errno;
    if ((rc = corio_http_app_route(app, "GET", "/", f_hello, NULL)) < 0 ||
        (rc = corio_http_app_route(app, "GET", "/users/{id}", f_user,
                                   NULL)) < 0 ||
        (rc = corio_http_app_route(app, "POST", "/echo", f_echo, NULL)) < 0 ||
        (rc = corio_http_app_route(app, "GET", "/stream", f_stream, NULL)) <
            0 ||
        (rc = corio_http_app_static(app, "/static", dir)) < 0 ||
        (rc = corio_http_app_use(app, mw_header, NULL)) < 0)
        goto out;
    srv = corio_http_start_server("127.0.0.1", 0, app, NULL);
    if (!srv) {
        rc = -errno;
        goto out;
    }
    int port = corio_http_server_port(srv);
    for (int conn = 0; conn < 2 && rc == 0 && !clean; conn++) {
        corio_stream *s = corio_open_connection("127.0.0.1", port, NULL);
        if (!s) {
            rc = -errno;
            break;
        }
        for (size_t i = 0; i < sizeof requests / sizeof *requests; i++) {
            struct resp r = {0};
            int st = ask_once(s, requests[i], &r);
            resp_free(&r);
            if (st == 500 || st == 503 || st == 0 || st == -EPIPE ||
                st == -ECONNRESET) {
                clean = 1; /* the server failed this one, and said so */
                break;
            }
            if (st < 0) {
                rc = st;
                break;
            }
            if (st != expect[i]) {
                fprintf(stderr, "request %zu: status %d\n", i, st);
                rc = -EPROTO;
                break;
            }
        }
        corio_stream_close(s);
    }
out:
    if (srv) {
        int c = corio_http_server_close(srv, 1.0);
        if (c < 0 && rc == 0)
            rc = c;
    }
    corio_http_app_free(app);
    return rc < 0 ? rc : clean;
}

/* Walk N over the seam named by inject until the scenario no longer
 * reaches it; returns how many runs failed. */
static int walk(void (*inject)(long), long (*calls)(void), const int *ok,
                size_t nok)
{
    long base = corio__alloc_live_blocks();
    int failures = 0;
    for (long nth = 1;; nth++) {
        inject(nth);
        int rc = corio_run(scenario, NULL);
        long made = calls();
        inject(0);
        if (corio__alloc_live_blocks() != base)
            FAIL("N=%ld: %ld heap blocks left (rc %d)", nth,
                 corio__alloc_live_blocks() - base, rc);
        bool fine = rc >= 0;
        for (size_t i = 0; i < nok && !fine; i++)
            fine = rc == ok[i];
        if (!fine)
            FAIL("N=%ld: unexpected %s", nth, th_errname(-rc));
        if (rc != 0)
            failures++;
        if (made < nth) { /* the fault was never reached */
            ASSERT_OK(rc);
            break;
        }
        if (nth > 20000)
            FAIL("no end in sight");
    }
    return failures;
}

static char tmpdir[64];

static void make_dir(void)
{
    strcpy(tmpdir, "/tmp/corio-http-fault-XXXXXX");
    ASSERT_NOT_NULL(mkdtemp(tmpdir));
    char path[128];
    snprintf(path, sizeof path, "%s/file.txt", tmpdir);
    FILE *f = fopen(path, "w");
    ASSERT_NOT_NULL(f);
    fputs("static text\n", f);
    fclose(f);
    dir = tmpdir;
}

static void remove_dir(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/file.txt", tmpdir);
    unlink(path);
    rmdir(tmpdir);
}

TEST(the_scenario_runs_through_without_faults)
{
    make_dir();
    ASSERT_OK(corio_run(scenario, NULL));
    remove_dir();
}

TEST_OPTS(every_allocation_failure_is_a_clean_error, .timeout = 300)
{
    make_dir();
    static const int ok[] = {-ENOMEM};
    int failures = walk(corio__fault_alloc, corio__fault_alloc_calls, ok, 1);
    fprintf(stderr, "%d runs failed cleanly\n", failures);
    ASSERT_GT(failures, 10);
    remove_dir();
}

TEST_OPTS(every_system_call_failure_is_a_clean_error, .timeout = 300)
{
    make_dir();
    /* A seam system call fails as the seam says (EMFILE for the calls
     * that make descriptors, ENOMEM for the others), or with what the
     * kernel says when a connection cannot be made. */
    static const int ok[] = {-ENOMEM, -EMFILE, -ECONNREFUSED, -ECONNRESET,
                             -EPIPE};
    int failures =
        walk(corio__fault_syscall, corio__fault_syscall_calls, ok, 5);
    fprintf(stderr, "%d runs failed cleanly\n", failures);
    ASSERT_GT(failures, 3);
    remove_dir();
}

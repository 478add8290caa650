/* SPDX-License-Identifier: MIT */
/* The server's life: a failing handler answers 500 to its own client
 * only; a client that disconnects cancels its handler (mid-body or while
 * the handler waits); a graceful shutdown closes idle connections at
 * once, lets requests in progress finish within the grace period and
 * cancels the rest; 1,000 clients at once. */
#include "helpers.h"

#include <sys/resource.h>

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

static int failing(void *arg)
{
    (void)arg;
    setup(NULL);
    corio_stream *a = dial(port);
    corio_stream *b = dial(port);
    struct resp r;
    puts_(a, "GET /fail HTTP/1.1\r\nHost: x\r\n\r\n");
    puts_(b, "GET /sleep/50 HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_EQ(read_resp(a, &r, false), 500);
    ASSERT_STR_EQ(r.body, "500 Internal Server Error\n");
    resp_free(&r);
    /* The failure was its own: its connection goes on, and so does the
     * other one. */
    puts_(a, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_EQ(read_resp(a, &r, false), 200);
    resp_free(&r);
    ASSERT_EQ(read_resp(b, &r, false), 200);
    ASSERT_STR_EQ(r.body, "slept");
    resp_free(&r);
    corio_stream_close(a);
    corio_stream_close(b);
    teardown();
    return 0;
}

TEST(a_failing_handler_gets_its_client_a_500)
{
    RUN(failing);
}

static int disconnect(void *arg)
{
    (void)arg;
    setup(NULL);
    sleeps_started = sleeps_cancelled = sleeps_done = 0;
    body_reads_started = body_reads_failed = 0;
    /* While the handler waits. */
    corio_stream *s = dial(port);
    puts_(s, "GET /sleep/5000 HTTP/1.1\r\nHost: x\r\n\r\n");
    WAIT_UNTIL(sleeps_started == 1, 10);
    ASSERT_EQ(sleeps_started, 1);
    ASSERT_EQ(corio_http_server_connections(srv), 1);
    double t0 = corio_time();
    corio_stream_close(s);
    while (sleeps_cancelled == 0 && corio_time() - t0 < 2)
        ASSERT_OK(corio_sleep(0.01));
    ASSERT_EQ(sleeps_cancelled, 1);
    ASSERT_EQ(sleeps_done, 0);
    ASSERT_LT(corio_time() - t0, 1.0);
    /* Mid-body. */
    s = dial(port);
    puts_(s, "POST /slow-body HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n"
             "\r\n0123456789");
    WAIT_UNTIL(body_reads_started == 1, 10);
    ASSERT_EQ(body_reads_started, 1);
    corio_stream_close(s);
    t0 = corio_time();
    while (body_reads_failed == 0 && corio_time() - t0 < 2)
        ASSERT_OK(corio_sleep(0.01));
    ASSERT_EQ(body_reads_failed, 1);
    while (corio_http_server_connections(srv) && corio_time() - t0 < 2)
        ASSERT_OK(corio_sleep(0.01));
    ASSERT_EQ(corio_http_server_connections(srv), 0);
    teardown();
    return 0;
}

TEST(a_client_that_disconnects_cancels_its_handler)
{
    RUN(disconnect);
}

struct shut {
    corio_stream *busy;   /* a request in progress */
    corio_stream *idle;   /* a connection waiting for its next request */
    int busy_status;
};

static int busy_client(void *arg)
{
    struct shut *sh = arg;
    struct resp r;
    sh->busy_status = read_resp(sh->busy, &r, false);
    if (sh->busy_status == 200 && !rhdr(&r, "Connection"))
        sh->busy_status = -1; /* must say it closes */
    resp_free(&r);
    return 0;
}

static int graceful(void *arg)
{
    (void)arg;
    setup(NULL);
    sleeps_started = sleeps_cancelled = sleeps_done = 0;
    struct shut sh = {dial(port), dial(port), 0};
    struct resp r;
    puts_(sh.idle, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_EQ(read_resp(sh.idle, &r, false), 200);
    resp_free(&r);
    /* The handler's 0.2 s sleep starts after t_req. */
    double t_req = corio_time();
    puts_(sh.busy, "GET /sleep/200 HTTP/1.1\r\nHost: x\r\n\r\n");
    WAIT_UNTIL(sleeps_started == 1, 10);
    ASSERT_EQ(sleeps_started, 1);
    corio_task *t = corio_spawn(busy_client, &sh);
    /* The idle connection closes at once; the busy one finishes its
     * request, then closes; nothing is cancelled. */
    double t0 = corio_time();
    ASSERT_EQ(corio_http_server_close(srv, 5.0), 0);
    double dt = corio_time() - t0;
    /* Close waited for the handler (however late this task got here). */
    ASSERT_EQ(sleeps_done, 1);
    ASSERT_GE(corio_time() - t_req, 0.2 - 1e-9);
    ASSERT_LT(dt, 2.0);
    ASSERT_OK(corio_join(t));
    ASSERT_EQ(sh.busy_status, 200);
    ASSERT_EQ(sleeps_done, 1);
    ASSERT_TRUE(closed_by_server(sh.busy));
    ASSERT_TRUE(closed_by_server(sh.idle));
    corio_stream_close(sh.busy);
    corio_stream_close(sh.idle);
    errno = 0;
    ASSERT_NULL(corio_open_connection("127.0.0.1", port, NULL));
    ASSERT_EQ(errno, ECONNREFUSED);
    corio_http_app_free(app);
    return 0;
}

TEST(graceful_shutdown_lets_requests_finish_and_closes_idle_ones)
{
    RUN(graceful);
}

static int grace_over(void *arg)
{
    (void)arg;
    setup(NULL);
    sleeps_started = sleeps_cancelled = sleeps_done = 0;
    corio_stream *s = dial(port);
    puts_(s, "GET /sleep/10000 HTTP/1.1\r\nHost: x\r\n\r\n");
    WAIT_UNTIL(sleeps_started == 1, 10); /* the request is in progress */
    ASSERT_EQ(sleeps_started, 1);
    double t0 = corio_time();
    ASSERT_EQ(corio_http_server_close(srv, 0.2), 1);
    double dt = corio_time() - t0;
    ASSERT_GE(dt, 0.2 - 1e-9);
    ASSERT_LT(dt, 2.0);
    ASSERT_EQ(sleeps_cancelled, 1);
    struct resp r;
    ASSERT_EQ(read_resp(s, &r, false), 0);
    resp_free(&r);
    corio_stream_close(s);
    corio_http_app_free(app);
    return 0;
}

TEST(graceful_shutdown_cancels_what_outlasts_the_grace_period)
{
    RUN(grace_over);
}

static int many_port;
static int many_ok;

static int many_client(void *arg)
{
    int id = (int)(intptr_t)arg;
    corio_stream *s = corio_open_connection("127.0.0.1", many_port, NULL);
    if (!s)
        return -errno;
    struct resp r;
    int rc = 0;
    for (int i = 0; i < 3 && rc == 0; i++) {
        char req[64];
        int n = snprintf(req, sizeof req,
                         "GET /n/%d HTTP/1.1\r\nHost: x\r\n\r\n", id * 10 + i);
        if ((rc = corio_stream_write(s, req, (size_t)n)) < 0)
            break;
        if (read_resp(s, &r, false) != 200 || atoi(r.body) != id * 10 + i)
            rc = -EPROTO;
        resp_free(&r);
        if (rc == 0 && (rc = corio_sleep(0.001 * (id % 7))) < 0)
            break;
    }
    corio_stream_close(s);
    if (rc == 0)
        many_ok++;
    return rc;
}

static int thousand(void *arg)
{
    (void)arg;
    setup(NULL);
    many_port = port;
    many_ok = 0;
    enum { N = 1000 };
    static corio_call calls[N];
    for (int i = 0; i < N; i++)
        calls[i] = (corio_call){many_client, (void *)(intptr_t)i, -1};
    ASSERT_OK(corio_gather(calls, N, 0));
    ASSERT_EQ(many_ok, N);
    teardown();
    return 0;
}

TEST_OPTS(a_thousand_concurrent_clients, .timeout = 120)
{
    /* Two descriptors per client, in one process. */
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < 2200) {
        if (rl.rlim_max < 2200)
            th_skip("RLIMIT_NOFILE is below 2200");
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    RUN(thousand);
}

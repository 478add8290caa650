/* SPDX-License-Identifier: MIT */
/* Helpers the HTTP client tests share: an application for corio's HTTP
 * server with what a client needs to meet (echo, redirects, chunked and
 * endless bodies, slow answers, cookies, the connection's port), a
 * Python http.server peer (client_peer.py) started per case, and small
 * wrappers around the client's calls. */
#ifndef CORIO_TEST_HTTP_CLIENT_HELPERS_H
#define CORIO_TEST_HTTP_CLIENT_HELPERS_H

#include "helpers.h"

#include <corio/http.h>
#include <dirent.h>
#include <sys/prctl.h>
#include <sys/wait.h>

/* Time limits of the cases, in seconds. Each takes well under a second
 * (the 64 MiB ones a few tenths): the limits only keep a case that hangs
 * from holding CI for minutes. Sanitizer runs scale them
 * (CORIO_TEST_TIMEOUT_SCALE), and CTest's own limit is six times more. */
#define CASE_TIMEOUT 20
#define CASE_TIMEOUT_BIG 30

/* The test build's view of a streamed response's buffer (client_int.h). */
size_t corio__http_response_peak(const corio_http_response *r);

/* ---- the application ---- */

static int endless_ended;   /* /endless handlers that saw the client go */
static int slow_cancelled;  /* /sleep handlers cancelled */
static int slow_started;    /* /sleep handlers that began their sleep */

/* What the client sent, back as text, then the body. */
static int c_echo(corio_http_req *req, void *arg)
{
    (void)arg;
    const char *body = "";
    ssize_t n = 0;
    if (strcmp(corio_http_req_method(req), "HEAD") != 0) {
        corio_http_req_set_max_body(req, 0);
        n = corio_http_req_body(req, &body);
        if (n < 0)
            return (int)n;
    }
    const char *names[] = {"X-Test", "X-Session", "Content-Type",
                           "Authorization", "Cookie", "Transfer-Encoding",
                           "User-Agent"};
    char head[2048];
    int k = snprintf(head, sizeof head, "method=%s\n",
                     corio_http_req_method(req));
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        const char *v = corio_http_req_header(req, names[i]);
        k += snprintf(head + k, sizeof head - (size_t)k, "%s=%s\n", names[i],
                      v ? v : "-");
    }
    k += snprintf(head + k, sizeof head - (size_t)k, "length=%zd\n\n", n);
    char *out = malloc((size_t)k + (size_t)n + 1);
    memcpy(out, head, (size_t)k);
    memcpy(out + k, body, (size_t)n);
    corio_http_resp_add_header(req, "X-Reply", "yes");
    corio_http_resp_add_header(req, "X-Multi", "one");
    corio_http_resp_add_header(req, "x-multi", "two");
    int rc = corio_http_resp_send(req, 200, "text/plain", out,
                                  (size_t)k + (size_t)n);
    free(out);
    return rc;
}

/* /redirect/{n}: n redirects (302) down to /redirect/0, which answers. */
static int c_redirect(corio_http_req *req, void *arg)
{
    (void)arg;
    int n = atoi(corio_http_req_param(req, "n"));
    if (n <= 0)
        return corio_http_resp_text(req, 200, "done");
    char loc[64];
    snprintf(loc, sizeof loc, "/redirect/%d", n - 1);
    corio_http_resp_add_header(req, "Location", loc);
    return corio_http_resp_text(req, 302, "moved");
}

/* /goto?code=..&to=..: a redirect of the given status to the given URL. */
static int c_goto(corio_http_req *req, void *arg)
{
    (void)arg;
    const char *code = corio_http_req_query(req, "code");
    int status = code ? atoi(code) : 302;
    corio_http_resp_add_header(req, "Location",
                               corio_http_req_query(req, "to"));
    if (strcmp(corio_http_req_method(req), "HEAD") != 0) {
        const char *b;
        corio_http_req_body(req, &b); /* drain it */
    }
    return corio_http_resp_text(req, status, "go");
}

/* /to-sum: a 307 to /sum (no query string: see test_client.c). */
static int c_to_sum(corio_http_req *req, void *arg)
{
    (void)arg;
    corio_http_resp_add_header(req, "Location", "/sum");
    const char *b;
    corio_http_req_body(req, &b); /* drain it */
    return corio_http_resp_text(req, 307, "go");
}

/* /loop: a redirect to itself. */
static int c_loop(corio_http_req *req, void *arg)
{
    (void)arg;
    corio_http_resp_add_header(req, "Location", "/loop");
    return corio_http_resp_text(req, 302, "again");
}

/* /lines/{n}: n lines "line k\n" in a chunked body, a write each. */
static int c_lines(corio_http_req *req, void *arg)
{
    (void)arg;
    int n = atoi(corio_http_req_param(req, "n"));
    for (int i = 0; i < n; i++) {
        char line[32];
        int k = snprintf(line, sizeof line, "line %d\n", i);
        int rc = corio_http_resp_write(req, line, (size_t)k);
        if (rc < 0)
            return rc;
    }
    return corio_http_resp_end(req);
}

/* /big/{kib}: kib KiB of pattern(7, i), chunked, in 64 KiB writes. */
static int c_big(corio_http_req *req, void *arg)
{
    (void)arg;
    uint64_t total = (uint64_t)atoll(corio_http_req_param(req, "kib")) * 1024;
    static unsigned char buf[65536];
    for (uint64_t off = 0; off < total;) {
        size_t k = total - off < sizeof buf ? (size_t)(total - off)
                                            : sizeof buf;
        for (size_t i = 0; i < k; i++)
            buf[i] = pattern(7, off + i);
        int rc = corio_http_resp_write(req, buf, k);
        if (rc < 0)
            return rc;
        off += k;
    }
    return corio_http_resp_end(req);
}

/* /endless: writes until the client goes away. */
static int c_endless(corio_http_req *req, void *arg)
{
    (void)arg;
    static char buf[16384];
    memset(buf, 'e', sizeof buf);
    for (;;) {
        int rc = corio_http_resp_write(req, buf, sizeof buf);
        if (rc < 0) {
            endless_ended++;
            return rc;
        }
    }
}

/* /sleep/{ms}: answers after ms milliseconds. */
static int c_sleep(corio_http_req *req, void *arg)
{
    (void)arg;
    slow_started++;
    int rc = corio_sleep(atoi(corio_http_req_param(req, "ms")) / 1000.0);
    if (rc < 0) {
        slow_cancelled++;
        return rc;
    }
    return corio_http_resp_text(req, 200, "slept");
}

/* /conn: the client's port, which tells connections apart. */
static int c_conn(corio_http_req *req, void *arg)
{
    (void)arg;
    struct sockaddr_storage ss;
    corio_sock_peer_addr(corio_stream_sock(corio_http_req_stream(req)), &ss,
                         NULL);
    char msg[16];
    snprintf(msg, sizeof msg, "%d", corio_addr_port((struct sockaddr *)&ss));
    return corio_http_resp_text(req, 200, msg);
}

/* /sum: the request body's length and byte sum, read in pieces. */
static int c_sum(corio_http_req *req, void *arg)
{
    (void)arg;
    corio_http_req_set_max_body(req, 0);
    unsigned char buf[8192];
    uint64_t len = 0, sum = 0;
    ssize_t n;
    while ((n = corio_http_req_read(req, buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n; i++)
            sum += buf[i];
        len += (uint64_t)n;
    }
    if (n < 0)
        return (int)n;
    char msg[64];
    snprintf(msg, sizeof msg, "%" PRIu64 " %" PRIu64 " %s", len, sum,
             corio_http_req_content_length(req) < 0 ? "chunked" : "length");
    return corio_http_resp_text(req, 200, msg);
}

static int c_setcookie(corio_http_req *req, void *arg)
{
    (void)arg;
    corio_http_resp_add_header(req, "Set-Cookie", "flavour=ginger; Path=/");
    return corio_http_resp_text(req, 200, "set");
}

static inline corio_http_app *client_app(void)
{
    corio_http_app *app = corio_http_app_new();
    ASSERT_NOT_NULL(app);
    ASSERT_OK(corio_http_app_route(app, "GET", "/", h_hello, NULL));
    ASSERT_OK(corio_http_app_route(app, "*", "/echo", c_echo, NULL));
    ASSERT_OK(corio_http_app_route(app, "GET", "/redirect/{n}", c_redirect,
                                   NULL));
    ASSERT_OK(corio_http_app_route(app, "*", "/goto", c_goto, NULL));
    ASSERT_OK(corio_http_app_route(app, "GET", "/loop", c_loop, NULL));
    ASSERT_OK(corio_http_app_route(app, "POST", "/to-sum", c_to_sum, NULL));
    ASSERT_OK(corio_http_app_route(app, "GET", "/lines/{n}", c_lines, NULL));
    ASSERT_OK(corio_http_app_route(app, "GET", "/big/{kib}", c_big, NULL));
    ASSERT_OK(corio_http_app_route(app, "GET", "/endless", c_endless, NULL));
    ASSERT_OK(corio_http_app_route(app, "GET", "/sleep/{ms}", c_sleep, NULL));
    ASSERT_OK(corio_http_app_route(app, "GET", "/conn", c_conn, NULL));
    ASSERT_OK(corio_http_app_route(app, "*", "/sum", c_sum, NULL));
    ASSERT_OK(corio_http_app_route(app, "GET", "/setcookie", c_setcookie,
                                   NULL));
    return app;
}

/* ---- client shortcuts ---- */

/* Fetch url whole; the status, or the error. *body (if not NULL) gets a
 * malloc'd NUL-terminated copy of the body. */
static inline int fetch_text(corio_http_session *s, const char *method,
                             const char *url,
                             const corio_http_request_opts *o, char **body)
{
    corio_http_response *r;
    int rc = corio_http_fetch(s, method, url, o, &r);
    if (rc < 0)
        return rc;
    size_t len;
    const char *b = corio_http_response_body(r, &len);
    ASSERT_NOT_NULL(b);
    ASSERT_EQ(b[len], '\0');
    if (body)
        *body = strdup(b);
    rc = corio_http_response_status(r);
    corio_http_response_close(r);
    return rc;
}

/* The value of line "name=" in an /echo answer (a static copy). */
static inline const char *echoed(const char *body, const char *name)
{
    static char val[512];
    size_t n = strlen(name);
    for (const char *p = body; p && *p; p = strchr(p, '\n')) {
        if (*p == '\n')
            p++;
        if (strncmp(p, name, n) == 0 && p[n] == '=') {
            size_t k = strcspn(p + n + 1, "\n");
            if (k >= sizeof val)
                k = sizeof val - 1;
            memcpy(val, p + n + 1, k);
            val[k] = '\0';
            return val;
        }
        if (*p == '\n')
            break;
    }
    return NULL;
}

static inline int thread_count(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return -1;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

/* A port nothing listens on (bound, then closed). */
static inline int dead_port(void)
{
    int port;
    corio_sock *l = listen_lo(false, &port);
    ASSERT_OK(corio_sock_close(l));
    return port;
}

/* ---- the Python peer (tests/http/client_peer.py) ---- */

struct peer {
    pid_t pid;
    int port;
};

#ifndef CLIENT_PEER_SCRIPT
#define CLIENT_PEER_SCRIPT "client_peer.py"
#endif

/* Start the peer (extra arguments: "--tls", cert, key), outside the
 * loop; skip the case if python3 is missing. */
static inline void peer_start(struct peer *p, const char *const *extra)
{
    if (access("/usr/bin/python3", X_OK) != 0)
        th_skip("no /usr/bin/python3");
    int fds[2];
    ASSERT_OK(pipe2(fds, O_CLOEXEC));
    const char *argv[8] = {"/usr/bin/python3", CLIENT_PEER_SCRIPT};
    int i = 2;
    for (; extra && *extra && i < 7; extra++)
        argv[i++] = *extra;
    argv[i] = NULL;
    pid_t parent = getpid();
    fflush(stdout);
    fflush(stderr);
    p->pid = fork();
    ASSERT_TRUE(p->pid >= 0);
    if (p->pid == 0) {
        /* The peer dies with the test. A test the harness kills on its
         * time limit cannot stop it, and a peer left running holds
         * CTest's output pipe open, so CTest waited for its own, much
         * longer, timeout (750 s for a 120 s case). */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        dup2(fds[1], 1);
        extern char **environ;
        execve(argv[0], (char *const *)argv, environ);
        _exit(127);
    }
    close(fds[1]);
    char line[64] = "";
    size_t n = 0;
    while (n < sizeof line - 1) {
        ssize_t k = read(fds[0], line + n, 1);
        if (k <= 0 || line[n] == '\n')
            break;
        n++;
    }
    line[n] = '\0';
    close(fds[0]);
    if (sscanf(line, "port %d", &p->port) != 1) {
        kill(p->pid, SIGKILL);
        waitpid(p->pid, NULL, 0);
        FAIL("the Python peer did not start: \"%s\"", line);
    }
}

static inline void peer_stop(struct peer *p)
{
    kill(p->pid, SIGTERM);
    waitpid(p->pid, NULL, 0);
}

#endif

/* SPDX-License-Identifier: MIT */
/* HTTP servers: a corio_server (or a TLS one from corio_tls) whose
 * handler is the connection task of conn.c, the list of connections a
 * graceful shutdown walks, the task that notices clients leaving while
 * their handler runs, and web.run_app's counterpart, on one loop or on
 * one loop per core.
 *
 * Disconnects: a client that closes its connection while a handler runs
 * must cancel that handler, though nobody reads the socket then. Each
 * connection's socket is added once to an epoll set of the server's own,
 * for EPOLLRDHUP only and edge-triggered, so nothing fires while requests
 * come and go; a task waits on that set and cancels the connection's
 * task when its client hangs up during a handler (as Go's net/http
 * cancels the request's context from its background read). */
#include "http/http_int.h"

#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#ifdef CORIO_HTTP_HAVE_TLS
#include "corio/tls.h"
#endif

#define MONITOR_BATCH 64

static double or_default(double v, double dflt)
{
    return v == 0 ? dflt : v;
}

void corio__http_opts(corio_http_server_opts *o,
                      const corio_http_server_opts *in)
{
    if (in)
        *o = *in;
    else
        memset(o, 0, sizeof *o);
    if (!o->max_connections)
        o->max_connections = HTTP_MAX_CONNECTIONS;
    if (!o->max_request_line || o->max_request_line > (1u << 30))
        o->max_request_line = HTTP_MAX_REQUEST_LINE;
    if (!o->max_header_bytes || o->max_header_bytes > (1u << 30))
        o->max_header_bytes = HTTP_MAX_HEADER_BYTES;
    if (!o->max_headers || o->max_headers > 65536)
        o->max_headers = HTTP_MAX_HEADERS;
    if (!o->max_body)
        o->max_body = HTTP_MAX_BODY;
    o->header_timeout = or_default(o->header_timeout, HTTP_HEADER_TIMEOUT);
    o->body_timeout = or_default(o->body_timeout, HTTP_BODY_TIMEOUT);
    o->idle_timeout = or_default(o->idle_timeout, HTTP_IDLE_TIMEOUT);
    o->write_timeout = or_default(o->write_timeout, HTTP_WRITE_TIMEOUT);
    o->shutdown_timeout =
        or_default(o->shutdown_timeout, HTTP_SHUTDOWN_TIMEOUT);
}

/* ---- the disconnect monitor ---- */

/* Whether the client of c has gone: a reset or an error, or the end of
 * its stream with nothing left unread (bytes still unread are a
 * pipelined request from a client that half-closed after it). A TLS
 * connection ends with a close_notify record, which is data: there the
 * end of the stream alone counts. */
static bool client_gone(const corio_http_req *c, uint32_t ev)
{
    if (ev & (EPOLLHUP | EPOLLERR))
        return true;
    if (c->srv->tls)
        return true;
    char b;
    ssize_t n = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR);
}

/* End the waits for a request that have lasted too long: the first
 * request of a connection has header_timeout, later ones idle_timeout. */
static void sweep(corio_http_server *srv)
{
    int64_t now = corio__http_now(srv);
    int64_t first = srv->o.header_timeout < 0
                        ? INT64_MAX
                        : (int64_t)(srv->o.header_timeout * 1e9);
    int64_t idle = srv->o.idle_timeout < 0
                       ? INT64_MAX
                       : (int64_t)(srv->o.idle_timeout * 1e9);
    for (struct corio__list *l = srv->conns.next; l != &srv->conns;
         l = l->next) {
        corio_http_req *c = container_of(l, corio_http_req, link);
        if (c->idle && !c->idle_ended &&
            now - c->idle_since >= (c->nreq_first ? first : idle)) {
            c->idle_ended = true;
            corio_cancel(c->task);
        }
    }
}

static int monitor(void *arg)
{
    corio_http_server *srv = arg;
    struct epoll_event ev[MONITOR_BATCH];
    int64_t swept = corio__http_now(srv);
    for (;;) {
        corio_scope sc;
        int rc = corio_scope_enter(&sc, srv->sweep);
        if (rc < 0)
            return rc;
        rc = corio_fd_wait(srv->epf, CORIO_READABLE);
        int timed_out = corio_scope_exit(&sc) == -ETIMEDOUT;
        if (rc < 0 && !timed_out)
            return rc == -ECANCELED || rc == -EBADF ? 0 : rc;
        if (corio__http_now(srv) - swept >= (int64_t)(srv->sweep * 1e9)) {
            swept = corio__http_now(srv);
            sweep(srv);
        }
        if (rc < 0)
            continue;
        int n = epoll_wait(srv->epfd, ev, MONITOR_BATCH, 0);
        /* Connections unregister before they end, and this loop does not
         * suspend, so every pointer here is live. */
        for (int i = 0; i < n; i++) {
            corio_http_req *c = ev[i].data.ptr;
            if (c->in_handler && !c->gone && client_gone(c, ev[i].events)) {
                c->gone = true;
                corio_cancel(c->task);
            }
        }
    }
}

void corio__http_monitor_add(corio_http_req *c)
{
    corio_http_server *srv = c->srv;
    if (srv->epfd < 0 || c->fd < 0)
        return;
    struct epoll_event ev = {.events = EPOLLRDHUP | EPOLLET,
                             .data.ptr = c};
    c->monitored = epoll_ctl(srv->epfd, EPOLL_CTL_ADD, c->fd, &ev) == 0;
}

void corio__http_monitor_del(corio_http_req *c)
{
    if (c->monitored)
        epoll_ctl(c->srv->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    c->monitored = false;
}

/* ---- servers ---- */

int corio__http_server_init(corio_http_server *srv, corio_http_app *app,
                            const corio_http_server_opts *o)
{
    memset(srv, 0, sizeof *srv);
    srv->app = app;
    srv->o = *o;
    srv->loop = corio_loop_current();
    srv->tls = o->tls != NULL;
    corio__list_init(&srv->conns);
    /* Sweep four times per shortest wait timeout: a wait ends between
     * its limit and 1.25 times it. */
    srv->sweep = 1.0;
    if (o->idle_timeout > 0 && o->idle_timeout / 4 < srv->sweep)
        srv->sweep = o->idle_timeout / 4;
    if (o->header_timeout > 0 && o->header_timeout / 4 < srv->sweep)
        srv->sweep = o->header_timeout / 4;
    if (srv->sweep < 0.005)
        srv->sweep = 0.005;
    srv->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (srv->epfd < 0)
        return -errno;
    srv->epf = corio_fd_open(srv->epfd);
    if (!srv->epf)
        goto err_close;
    static const corio_task_opts topts = {.name = "corio-http-monitor"};
    srv->monitor = corio_spawn_opts(monitor, srv, &topts);
    if (!srv->monitor)
        goto err_fd;
    return 0;

err_fd:
    corio_fd_close(srv->epf);
err_close:
    close(srv->epfd);
    srv->epfd = -1;
    return -ENOMEM;
}

void corio__http_server_fini(corio_http_server *srv)
{
    if (srv->monitor) {
        corio_cancel(srv->monitor);
        corio_join(srv->monitor);
        srv->monitor = NULL;
    }
    corio_fd_close(srv->epf);
    srv->epf = NULL;
    if (srv->epfd >= 0)
        close(srv->epfd);
    srv->epfd = -1;
}

corio_http_server *corio_http_server_new(corio_sock *listener,
                                         corio_http_app *app,
                                         const corio_http_server_opts *opts)
{
    if (!listener || !app) {
        errno = EINVAL;
        return NULL;
    }
#ifndef CORIO_HTTP_HAVE_TLS
    if (opts && opts->tls) {
        errno = EPROTONOSUPPORT;
        return NULL;
    }
#endif
    if (!corio_loop_current()) {
        errno = EPERM;
        return NULL;
    }
    corio_http_server *srv = http_malloc(sizeof *srv);
    if (!srv) {
        errno = ENOMEM;
        return NULL;
    }
    corio_http_server_opts o;
    corio__http_opts(&o, opts);
    int rc = corio__http_server_init(srv, app, &o);
    if (rc < 0) {
        http_free(srv);
        errno = -rc;
        return NULL;
    }
    corio_server_opts so = {
        .max_connections = o.max_connections,
        .listen = o.listen,
        .stack_size = o.stack_size,
    };
#ifdef CORIO_HTTP_HAVE_TLS
    if (o.tls)
        srv->srv = corio_tls_server_new(listener, o.tls, corio__http_serve,
                                        srv, &so);
    else
#endif
        srv->srv = corio_server_new(listener, corio__http_serve, srv, &so);
    if (!srv->srv) {
        int e = errno;
        corio__http_server_fini(srv);
        http_free(srv);
        errno = e;
        return NULL;
    }
    return srv;
}

corio_http_server *corio_http_start_server(const char *host, int port,
                                           corio_http_app *app,
                                           const corio_http_server_opts *opts)
{
    if (!app) {
        errno = EINVAL;
        return NULL;
    }
    corio_sock *l = corio_tcp_listen(host, port, opts ? &opts->listen : NULL);
    if (!l)
        return NULL;
    corio_http_server *srv = corio_http_server_new(l, app, opts);
    if (!srv) {
        int e = errno;
        corio_sock_close(l);
        errno = e;
    }
    return srv;
}

int corio_http_server_port(const corio_http_server *srv)
{
    if (!srv)
        return -EINVAL;
    struct sockaddr_storage ss;
    int rc = corio_sock_local_addr(corio_server_sock(srv->srv), &ss, NULL);
    if (rc < 0)
        return rc;
    return corio_addr_port((struct sockaddr *)&ss);
}

size_t corio_http_server_connections(const corio_http_server *srv)
{
    return srv ? srv->nconns : 0;
}

int corio_http_server_close(corio_http_server *srv, double grace)
{
    if (!srv)
        return 0;
    corio_task *self = corio_current();
    if (!self)
        return -EPERM;
    for (struct corio__list *l = srv->conns.next; l != &srv->conns;
         l = l->next)
        if (container_of(l, corio_http_req, link)->task == self)
            return -EDEADLK;
    /* Connections waiting for a request end now; the others end after
     * the response they are working on (closing turns keep-alive off). */
    srv->closing = true;
    for (struct corio__list *l = srv->conns.next; l != &srv->conns;
         l = l->next) {
        corio_http_req *c = container_of(l, corio_http_req, link);
        if (c->idle && !c->idle_ended) {
            c->idle_ended = true;
            corio_cancel(c->task);
        }
    }
    int rc = corio_server_close(srv->srv, grace);
    corio__http_server_fini(srv);
    http_free(srv);
    return rc;
}

/* ---- web.run_app ---- */

struct run {
    corio_http_app *app;
    const char *host;
    int port;
    corio_http_server_opts o;
    corio_http_server *srv; /* one loop's server */
    int bound;              /* the port it listens on */
};

/* Start the server on this loop, report the port. */
static int run_start(void *arg)
{
    struct run *r = arg;
    corio_http_server_opts o = r->o;
    if (o.loops > 1)
        o.listen.flags |= CORIO_SOCK_REUSEPORT;
    r->srv = corio_http_start_server(r->host, r->port, r->app, &o);
    if (!r->srv)
        return -errno;
    r->bound = corio_http_server_port(r->srv);
    return 0;
}

static int run_stop(void *arg)
{
    struct run *r = arg;
    int rc = corio_http_server_close(r->srv, r->o.shutdown_timeout);
    r->srv = NULL;
    return rc;
}

/* One loop: serve until SIGINT or SIGTERM (blocked by corio_http_run, so
 * corio_run leaves SIGINT to us), then shut down. */
static int run_main(void *arg)
{
    struct run *r = arg;
    static const int sigs[] = {SIGINT, SIGTERM};
    corio_signal *s = corio_signal_open(sigs, 2);
    if (!s)
        return -errno;
    int rc = run_start(r);
    if (rc == 0) {
        if (r->o.ready)
            r->o.ready(r->bound, r->o.ready_arg);
        rc = corio_signal_wait(s);
        if (rc > 0)
            rc = 0;
        run_stop(r);
    }
    corio_signal_close(s);
    return rc;
}

/* Run fn(arg) on loop and wait for it from this thread. */
static int run_on(corio_loop *loop, corio_fn fn, void *arg)
{
    corio_submission *s = corio_loop_submit(loop, fn, arg);
    if (!s)
        return -errno;
    int result = 0;
    int rc = corio_submission_wait(s, -1, &result);
    corio_submission_free(s);
    return rc < 0 ? rc : result;
}

/* Several loops: each runs a server of its own on the shared port (loop 0
 * picks it when port is 0); this thread waits for the signal. */
static int run_multi(struct run *base, const sigset_t *stop)
{
    unsigned n = base->o.loops;
    corio_multi_opts mo = {.loops = n, .pin = base->o.pin};
    corio_multi *m = corio_multi_new(&mo);
    if (!m)
        return -errno;
    n = corio_multi_size(m);
    struct run *r = http_calloc(n, sizeof *r);
    if (!r) {
        corio_multi_close(m);
        return -ENOMEM;
    }
    int rc = 0;
    unsigned started = 0;
    int port = base->port;
    for (; started < n; started++) {
        r[started] = *base;
        r[started].port = port;
        rc = run_on(corio_multi_loop(m, started), run_start, &r[started]);
        if (rc < 0)
            break;
        port = r[started].bound;
    }
    if (rc == 0) {
        if (base->o.ready)
            base->o.ready(port, base->o.ready_arg);
        int sig;
        sigwait(stop, &sig);
    }
    for (unsigned i = 0; i < started; i++)
        run_on(corio_multi_loop(m, i), run_stop, &r[i]);
    http_free(r);
    corio_multi_close(m);
    return rc;
}

int corio_http_run(corio_http_app *app, const char *host, int port,
                   const corio_http_server_opts *opts)
{
    if (!app || port < 0 || port > 65535)
        return -EINVAL;
    if (corio_loop_current())
        return -EBUSY;
    struct run r = {.app = app, .host = host, .port = port};
    corio__http_opts(&r.o, opts);
    /* Blocked here, the signals wait for us (a signalfd, or sigwait)
     * instead of ending the process, and corio_run does not take
     * SIGINT for itself. */
    sigset_t stop, old;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, &old);
    int rc = r.o.loops > 1 ? run_multi(&r, &stop) : corio_run(run_main, &r);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

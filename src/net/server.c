/* SPDX-License-Identifier: MIT */
/* Servers (asyncio.start_server): an accepting task and a handler task per
 * connection. The server keeps every handler on a list so that none
 * outlives it: closing stops the acceptor, waits for the handlers up to a
 * timeout and then cancels the rest. A handler that fails does not touch
 * its siblings (unlike a corio_group, where one failure cancels all).
 *
 * Out of descriptors, accept(2) fails with EMFILE and leaves the
 * connection in the backlog, where the edge-triggered listener will not
 * report it again: the acceptor sleeps until a connection of its own ends
 * (which frees a descriptor) or 0.1 s passes, then tries accept again. */
#include "net/net_int.h"

#include "core/waitq.h"

#include <unistd.h>

#define BACKOFF_NS 100000000 /* 0.1 s: accept's pause when out of fds */
#define ACCEPT_BATCH 64      /* accepts before the acceptor yields */

/* One connection being served; lives on the heap from accept to the end
 * of its handler. */
struct conn {
    struct corio__list link; /* on srv->conns */
    corio_server *srv;
    corio_sock *sock;        /* until the handler's stream owns it */
    corio_task *task;        /* the handler's task (borrowed) */
};

struct corio_server {
    corio_loop *loop;
    corio_sock *lsock;        /* the listener, owned */
    corio_server_fn fn;
    void *arg;
    corio_server_opts opts;
    corio__server_open_fn open; /* makes each stream (TLS), or NULL */
    void *open_arg;             /* open's, freed with open_free */
    void (*open_free)(void *);
    corio_task *acceptor;     /* the accepting task while it runs */
    struct corio__list conns; /* struct conn, being served */
    size_t nconns;
    bool closing;             /* no more accepting */
    bool cancelling;          /* handlers are being cancelled */
    corio_task *closer;       /* waiting for the acceptor or handlers */
    struct corio__wq slot;    /* the acceptor, waiting for a handler to end */
};

/* A handler ended (or never started): a descriptor and a slot are free. */
static void conn_done(corio_server *srv, struct conn *c)
{
    corio__list_remove(&c->link);
    srv->nconns--;
    corio__free(c);
    corio__wq_wake_all(&srv->slot, 0);
    if (srv->closer && !srv->nconns)
        corio__wake(srv->closer, 0);
}

/* Close a stream after its handler: gracefully if it succeeded, else at
 * once (a scope that has already expired makes every wait fail). */
static void close_stream(corio_stream *st, bool graceful)
{
    if (graceful) {
        corio_stream_close(st);
        return;
    }
    corio_scope sc;
    int rc = corio_scope_enter(&sc, 0);
    corio_stream_close(st);
    if (rc == 0)
        corio_scope_exit(&sc);
}

static int serve(void *arg)
{
    struct conn *c = arg;
    corio_server *srv = c->srv;
    corio_stream *st =
        srv->open ? srv->open(c->sock, &srv->opts.stream, srv->open_arg)
                  : corio_stream_open(c->sock, &srv->opts.stream);
    int rc;
    if (st) {
        c->sock = NULL;
        rc = srv->fn(st, srv->arg);
        close_stream(st, rc >= 0 && !srv->cancelling);
    } else {
        rc = -errno;
        corio_sock_close(c->sock);
    }
    conn_done(srv, c);
    /* Handlers' failures are theirs; the task's result is not watched. */
    return rc == -ECANCELED ? rc : 0;
}

/* The handler's task ended before serve ran: cancelled by close before it
 * started, or there was no stack for it. The connection ends here. */
static void never_served(void *arg)
{
    struct conn *c = arg;
    corio_sock_close(c->sock);
    conn_done(c->srv, c);
}

/* Park the acceptor on the slot queue until a handler ends, or until
 * wake_at. Returns what the park returned. */
static int wait_slot(corio_server *srv, corio_loop *loop, corio_task *self,
                     int64_t wake_at)
{
    struct corio__wq_node n = {.task = self};
    corio__wq_push(&srv->slot, &n);
    corio__waiting(self, CORIO__WAIT_OTHER, srv);
    int rc = corio__park(loop, self, wake_at);
    corio__wq_remove(&srv->slot, &n);
    return rc;
}

static int accept_loop(void *arg)
{
    corio_server *srv = arg;
    corio_loop *loop;
    corio_task *self = corio__self(&loop);
    unsigned batch = 0;
    int rc = 0;

    while (!srv->closing) {
        if (srv->opts.max_connections &&
            srv->nconns >= srv->opts.max_connections) {
            rc = wait_slot(srv, loop, self, CORIO__NEVER);
            if (rc < 0 && rc != CORIO__WAKE_TIMER)
                break;
            continue;
        }
        if (++batch == ACCEPT_BATCH) {
            /* Let the new handlers run during a flood of connections. */
            batch = 0;
            if ((rc = corio_yield()) < 0)
                break;
        }
        corio_sock *s = corio_sock_accept(srv->lsock);
        if (!s) {
            rc = -errno;
            if (rc == -ECANCELED || rc == -ETIMEDOUT || rc == -EBADF ||
                rc == -EINVAL || rc == -ENOTSOCK)
                break;
            /* Out of descriptors or memory: back off. */
            rc = wait_slot(srv, loop, self,
                           corio__add_ns(corio__loop_clock(loop),
                                         BACKOFF_NS));
            if (rc < 0 && rc != CORIO__WAKE_TIMER)
                break;
            continue;
        }
        struct conn *c = corio__calloc(1, sizeof *c);
        corio_task_opts topts = {.name = "corio-server-conn",
                                 .stack_size = srv->opts.stack_size};
        corio_task *t = c ? corio_spawn_opts(serve, c, &topts) : NULL;
        if (!t) {
            corio__free(c);
            corio_sock_close(s);
            rc = wait_slot(srv, loop, self,
                           corio__add_ns(corio__loop_clock(loop),
                                         BACKOFF_NS));
            if (rc < 0 && rc != CORIO__WAKE_TIMER)
                break;
            continue;
        }
        corio__task_on_unstarted(t, never_served);
        c->srv = srv;
        c->sock = s;
        c->task = t;
        corio__list_push_back(&srv->conns, &c->link);
        srv->nconns++;
        corio_task_unref(t);
    }
    srv->acceptor = NULL;
    if (srv->closer)
        corio__wake(srv->closer, 0);
    return 0;
}

/* The acceptor ended before it ran: cancelled by close, or there was no
 * stack for it. Nothing will accept: close the listener, so that clients
 * are refused rather than left waiting in its backlog. */
static void acceptor_lost(void *arg)
{
    corio_server *srv = arg;
    srv->acceptor = NULL;
    corio_sock_close(srv->lsock);
    srv->lsock = NULL;
    if (srv->closer)
        corio__wake(srv->closer, 0);
}

corio_server *corio__server_new_open(corio_sock *listener,
                                     corio_server_fn fn, void *arg,
                                     const corio_server_opts *opts,
                                     corio__server_open_fn open,
                                     void *open_arg,
                                     void (*open_free)(void *))
{
    corio_loop *loop = corio__tls_loop;
    if (!listener || !fn) {
        errno = EINVAL;
        return NULL;
    }
    if (!loop) {
        errno = EPERM;
        return NULL;
    }
    corio_server *srv = corio__calloc(1, sizeof *srv);
    if (!srv) {
        errno = ENOMEM;
        return NULL;
    }
    srv->loop = loop;
    srv->lsock = listener;
    listener->accept_many = true; /* accepts until closed */
    srv->fn = fn;
    srv->arg = arg;
    srv->open = open;
    srv->open_arg = open_arg;
    srv->open_free = open_free;
    if (opts)
        srv->opts = *opts;
    corio__list_init(&srv->conns);
    corio_task_opts topts = {.name = "corio-server-accept"};
    srv->acceptor = corio_loop_spawn(loop, accept_loop, srv, &topts);
    if (!srv->acceptor) {
        corio__free(srv);
        errno = ENOMEM;
        return NULL;
    }
    /* The acceptor clears srv->acceptor when it ends; the server keeps no
     * reference, and a closer waits for that instead. */
    corio__task_on_unstarted(srv->acceptor, acceptor_lost);
    corio_task_unref(srv->acceptor);
    return srv;
}

corio_server *corio_server_new(corio_sock *listener, corio_server_fn fn,
                               void *arg, const corio_server_opts *opts)
{
    return corio__server_new_open(listener, fn, arg, opts, NULL, NULL, NULL);
}

/* Make a server on a fresh listener; the listener is closed on failure. */
static corio_server *serve_listener(corio_sock *l, corio_server_fn fn,
                                    void *arg, const corio_server_opts *opts)
{
    if (!l)
        return NULL;
    corio_server *srv = corio_server_new(l, fn, arg, opts);
    if (!srv) {
        int e = errno;
        corio_sock_close(l);
        errno = e;
    }
    return srv;
}

corio_server *corio_start_server(const char *host, int port,
                                 corio_server_fn fn, void *arg,
                                 const corio_server_opts *opts)
{
    if (!fn) {
        errno = EINVAL;
        return NULL;
    }
    return serve_listener(corio_tcp_listen(host, port,
                                           opts ? &opts->listen : NULL),
                          fn, arg, opts);
}

corio_server *corio_start_unix_server(const char *path, corio_server_fn fn,
                                      void *arg,
                                      const corio_server_opts *opts)
{
    if (!fn) {
        errno = EINVAL;
        return NULL;
    }
    return serve_listener(corio_unix_listen(path,
                                            opts ? &opts->listen : NULL),
                          fn, arg, opts);
}

corio_sock *corio_server_sock(corio_server *srv)
{
    return srv ? srv->lsock : NULL;
}

size_t corio_server_connections(const corio_server *srv)
{
    return srv ? srv->nconns : 0;
}

int corio_server_close(corio_server *srv, double timeout)
{
    corio_loop *loop;
    corio_task *self = corio__self(&loop);
    if (!srv)
        return 0;
    if (!self || loop != srv->loop)
        return -EPERM;
    for (struct corio__list *l = srv->conns.next; l != &srv->conns;
         l = l->next)
        if (container_of(l, struct conn, link)->task == self)
            return -EDEADLK; /* it would wait for itself */

    /* Stop accepting: cancel the acceptor and wait until it has left. */
    srv->closing = true;
    srv->closer = self;
    if (srv->acceptor) {
        corio_task *a = srv->acceptor;
        corio_cancel(a);
        /* (If it has not run yet, it ends in acceptor_lost.) */
        while (srv->acceptor) {
            corio__waiting(self, CORIO__WAIT_CLEANUP, srv);
            corio__park_nocancel(loop, self);
        }
    }
    corio_sock_close(srv->lsock);
    srv->lsock = NULL;

    /* Give the handlers until the deadline. */
    int rc = 0;
    if (timeout != 0) {
        int64_t until = timeout < 0 ? CORIO__NEVER
                                    : corio__add_ns(corio__loop_clock(loop),
                                                    corio__sec_to_ns(timeout));
        while (srv->nconns) {
            corio__waiting(self, CORIO__WAIT_OTHER, srv);
            int r = corio__park(loop, self, until);
            if (r == CORIO__WAKE_TIMER)
                break;
            if (r < 0) {
                rc = r; /* cancelled: cancel the handlers now */
                break;
            }
        }
    }

    /* Cancel the rest, and wait for them whatever happens. A handler that
     * has not started yet never will: never_served ends its connection. */
    int cancelled = 0;
    srv->cancelling = true;
    for (struct corio__list *l = srv->conns.next; l != &srv->conns;
         l = l->next) {
        corio_cancel(container_of(l, struct conn, link)->task);
        cancelled++;
    }
    while (srv->nconns) {
        corio__waiting(self, CORIO__WAIT_CLEANUP, srv);
        corio__park_nocancel(loop, self);
    }
    if (srv->open_free)
        srv->open_free(srv->open_arg);
    corio__free(srv);
    return rc < 0 ? rc : cancelled;
}

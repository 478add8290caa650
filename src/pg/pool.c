/* SPDX-License-Identifier: MIT */
/* The connection pool (asyncpg.Pool): a semaphore of max_size permits,
 * one per connection handed out, so waiting acquirers are served in FIFO
 * order and a cancelled one takes nothing; idle connections on two
 * stacks, clean and dirty. Releasing never suspends: a connection that
 * may carry session state is reset by its next acquirer, and one known
 * clean (asyncpg resets every one, which costs it half its throughput)
 * goes back as it is. */
#include "pg/pg_int.h"

#include "corio/loop.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

struct corio_pg_pool {
    char *conninfo;          /* owned */
    corio_pg_pool_opts opts; /* with the defaults filled in */
    corio_sem permits;       /* max_size; one per connection handed out */
    struct corio_pg *clean;  /* idle, known clean: most recent first */
    struct corio_pg *dirty;  /* idle, to reset before use */
    unsigned size;           /* connections open or being opened */
    unsigned nidle;
    unsigned out;            /* handed out */
    unsigned waiting;        /* tasks in corio_sem_acquire */
    unsigned inside;         /* tasks inside acquire, using the pool */
    bool closed;
    uint64_t connects, resets, clean_releases, discarded;
};

static void pool_free(struct corio_pg_pool *p)
{
    pg_free(p->conninfo);
    pg_free(p);
}

/* The pool's memory goes once it is closed and nobody uses it. */
static void maybe_free(struct corio_pg_pool *p)
{
    if (p->closed && !p->out && !p->inside)
        pool_free(p);
}

static void drop(struct corio_pg_pool *p, struct corio_pg *c)
{
    c->pool = NULL;
    p->size--;
    corio_pg_close(c);
}

static struct corio_pg *pop_idle(struct corio_pg_pool *p)
{
    struct corio_pg **list = p->clean ? &p->clean : &p->dirty;
    struct corio_pg *c = *list;
    if (c) {
        *list = c->pnext;
        c->pnext = NULL;
        p->nidle--;
    }
    return c;
}

static void push_idle(struct corio_pg_pool *p, struct corio_pg *c)
{
    struct corio_pg **list = c->dirty ? &p->dirty : &p->clean;
    c->pnext = *list;
    *list = c;
    c->idle_since = corio_time();
    p->nidle++;
}

/* Whether an idle connection is still there, without a round trip: a
 * server that went away (restart, idle timeout, pg_terminate_backend)
 * left an error message and an end of file in the socket. */
static bool alive(struct corio_pg *c)
{
    if (c->broken || !c->fd)
        return false;
    for (int i = 0; i < 4; i++) {
        char b;
        ssize_t n = recv(PQsocket(c->pq), &b, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n == 0)
            return false;
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK;
        /* Something came while idle (a notice, a notification, the
         * server's goodbye): let libpq read it and look again. */
        if (!PQconsumeInput(c->pq) || PQstatus(c->pq) != CONNECTION_OK)
            return false;
    }
    return PQstatus(c->pq) == CONNECTION_OK;
}

/* Close idle connections beyond min_size that sat unused too long. */
static void trim(struct corio_pg_pool *p)
{
    if (p->opts.max_idle < 0 || p->size <= p->opts.min_size)
        return;
    double limit = corio_time() - p->opts.max_idle;
    struct corio_pg **lists[2] = {&p->clean, &p->dirty};
    for (int i = 0; i < 2; i++) {
        for (struct corio_pg **pp = lists[i];
             *pp && p->size > p->opts.min_size;) {
            struct corio_pg *c = *pp;
            if (c->idle_since < limit) {
                *pp = c->pnext;
                p->nidle--;
                drop(p, c);
            } else {
                pp = &c->pnext;
            }
        }
    }
}

static struct corio_pg *connect_one(struct corio_pg_pool *p)
{
    unsigned cache = p->opts.no_stmt_cache ? 0 : p->opts.stmt_cache;
    p->size++;
    struct corio_pg *c = corio__pg_connect(p->conninfo, cache);
    if (!c) {
        p->size--;
        return NULL;
    }
    c->pool = p;
    p->connects++;
    return c;
}

corio_pg_pool *corio_pg_pool_new(const char *conninfo,
                                 const corio_pg_pool_opts *opts)
{
    corio_pg_pool_opts o = opts ? *opts : (corio_pg_pool_opts){0};
    if (!o.max_size)
        o.max_size = 10;
    if (o.max_idle == 0)
        o.max_idle = 300;
    if (o.ping_after == 0)
        o.ping_after = 30;
    if (!o.stmt_cache)
        o.stmt_cache = 100;
    if (!conninfo || o.min_size > o.max_size || o.max_size > INT32_MAX) {
        errno = EINVAL;
        return NULL;
    }
    if (!corio_current()) {
        errno = EPERM;
        return NULL;
    }
    struct corio_pg_pool *p = pg_calloc(1, sizeof *p);
    size_t len = strlen(conninfo) + 1;
    if (p)
        p->conninfo = pg_malloc(len);
    if (!p || !p->conninfo) {
        if (p)
            pool_free(p);
        errno = ENOMEM;
        return NULL;
    }
    memcpy(p->conninfo, conninfo, len);
    p->opts = o;
    corio_sem_init(&p->permits, (long)o.max_size, false);
    for (unsigned i = 0; i < o.min_size; i++) {
        struct corio_pg *c = connect_one(p);
        if (!c) {
            int e = errno;
            corio_pg_pool_close(p);
            errno = e;
            return NULL;
        }
        push_idle(p, c);
    }
    return p;
}

/* Make an idle connection ready to hand out: it must be alive, answer a
 * round trip after a long idle time, and be reset if dirty. 0; a negative
 * errno when it is unusable (it has been closed); -ECANCELED or
 * -ETIMEDOUT when the caller was cancelled (it went back to the idle
 * list). */
static int prepare(struct corio_pg_pool *p, struct corio_pg *c)
{
    if (!alive(c)) {
        p->discarded++;
        drop(p, c);
        return -ECONNRESET;
    }
    int rc = 0;
    if (p->opts.ping_after >= 0 &&
        corio_time() - c->idle_since > p->opts.ping_after)
        rc = corio__pg_ping(c);
    if (rc == 0 && c->dirty) {
        rc = corio__pg_reset(c);
        p->resets += rc == 0;
    }
    if (rc == -ECANCELED || rc == -ETIMEDOUT) {
        if (c->broken) {
            drop(p, c);
        } else {
            /* The cleanup left it usable: keep it for the next one. */
            c->dirty = true;
            push_idle(p, c);
        }
        return rc;
    }
    if (rc < 0) {
        p->discarded++;
        drop(p, c);
    }
    return rc;
}

corio_pg *corio_pg_pool_acquire(corio_pg_pool *p, double timeout)
{
    int rc = 0;
    if (!p || timeout != timeout)
        rc = -EINVAL;
    else if (p->closed)
        rc = -ESHUTDOWN;
    else if (!corio_current())
        rc = -EPERM;
    if (rc < 0) {
        errno = -rc;
        return NULL;
    }
    p->inside++;
    corio_scope s;
    corio_scope_enter(&s, timeout);
    p->waiting++;
    rc = corio_sem_acquire(&p->permits);
    p->waiting--;
    bool permit = rc == 0; /* a cancelled acquirer took none */
    if (permit && p->closed)
        rc = -ESHUTDOWN;
    struct corio_pg *c = NULL;
    while (rc == 0) {
        c = pop_idle(p);
        if (!c) {
            c = connect_one(p);
            rc = c ? 0 : -errno;
            break;
        }
        rc = prepare(p, c);
        if (rc == 0 || rc == -ECANCELED || rc == -ETIMEDOUT)
            break;
        rc = 0; /* that one was lost and closed: the next, or connect */
    }
    corio_scope_exit(&s);
    p->inside--;
    if (rc < 0) {
        if (permit)
            corio_sem_release(&p->permits);
        maybe_free(p);
        errno = -rc;
        return NULL;
    }
    p->out++;
    return c;
}

void corio_pg_pool_release(corio_pg_pool *p, corio_pg *c)
{
    if (!p || !c || c->pool != p)
        return;
    p->out--;
    if (p->closed || c->broken || c->owner || c->closing) {
        drop(p, c);
    } else {
        if (c->in_pipeline || c->copy ||
            PQtransactionStatus(c->pq) != PQTRANS_IDLE)
            c->dirty = true;
        if (p->opts.always_reset)
            c->dirty = true;
        if (!c->dirty)
            p->clean_releases++; /* a dirty one counts when reset */
        push_idle(p, c);
        trim(p);
    }
    if (!p->closed)
        corio_sem_release(&p->permits);
    maybe_free(p);
}

void corio__pg_pool_forget(struct corio_pg_pool *p, struct corio_pg *c)
{
    /* corio_pg_close on a connection handed out: it leaves the pool. */
    c->pool = NULL;
    p->size--;
    p->out--;
    if (!p->closed)
        corio_sem_release(&p->permits);
    maybe_free(p);
}

void corio_pg_pool_close(corio_pg_pool *p)
{
    if (!p || p->closed)
        return;
    p->closed = true;
    /* Wake every waiting acquirer: each finds the pool closed. */
    for (unsigned i = p->waiting; i; i--)
        corio_sem_release(&p->permits);
    struct corio_pg *c;
    while ((c = pop_idle(p)))
        drop(p, c);
    maybe_free(p);
}

int corio_pg_pool_stats(const corio_pg_pool *p, corio_pg_pool_info *st)
{
    if (!p || !st)
        return -EINVAL;
    st->size = p->size;
    st->idle = p->nidle;
    st->in_use = p->out;
    st->waiting = p->waiting;
    st->connects = p->connects;
    st->resets = p->resets;
    st->clean = p->clean_releases;
    st->discarded = p->discarded;
    return 0;
}

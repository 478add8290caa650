/* SPDX-License-Identifier: MIT */
/* Asynchronous name resolution on c-ares, driven by the corio loop. Each
 * loop has one c-ares channel, made on first use and destroyed with the
 * loop (loop->dns_free). c-ares tells us through its socket-state callback
 * which descriptors to watch; they are registered one-shot with the loop.
 *
 * No hidden task drives c-ares. The tasks waiting for lookups take turns:
 * one of them, the leader, parks on all of c-ares's sockets at once with
 * c-ares's next timeout as its wake-up time, and calls ares_process_fd;
 * the others park until c-ares calls back with their result, or until the
 * leader leaves (its lookup done, or it was cancelled) and promotes one of
 * them. A task that gives up (cancellation, deadline) leaves its request
 * on the heap for c-ares to call back into later; the request is freed
 * then. When no task waits any more, ares_cancel ends the abandoned
 * queries, so an idle loop has no c-ares socket or timer left.
 *
 * A cross build for a target without c-ares (CORIO_HAVE_CARES unset)
 * answers numeric hosts only. */
#include "net/net_int.h"

#include "core/waitq.h"
#include "corio/dns.h"

#ifdef CORIO_HAVE_CARES
#include <ares.h>
#endif
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* ---- result lists ---- */

struct addrinfo *corio__ai_new(int family, int socktype, int protocol,
                               const struct sockaddr *addr, socklen_t len)
{
    /* The node and its address in one block, the address aligned. */
    size_t head = (sizeof(struct addrinfo) + 15) & ~(size_t)15;
    struct addrinfo *ai = corio__calloc(1, head + len);
    if (!ai)
        return NULL;
    ai->ai_family = family;
    ai->ai_socktype = socktype;
    ai->ai_protocol = protocol;
    ai->ai_addrlen = len;
    ai->ai_addr = (struct sockaddr *)((char *)ai + head);
    memcpy(ai->ai_addr, addr, len);
    return ai;
}

void corio_freeaddrinfo(struct addrinfo *res)
{
    while (res) {
        struct addrinfo *next = res->ai_next;
        corio__free(res->ai_canonname);
        corio__free(res);
        res = next;
    }
}

/* Copy a list from libc's getaddrinfo or from c-ares into our own. */
static int copy_libc(const struct addrinfo *in, struct addrinfo **out)
{
    struct addrinfo *head = NULL, **tail = &head;
    for (; in; in = in->ai_next) {
        *tail = corio__ai_new(in->ai_family, in->ai_socktype,
                              in->ai_protocol, in->ai_addr, in->ai_addrlen);
        if (!*tail)
            goto err;
        if (in->ai_canonname &&
            !((*tail)->ai_canonname = corio__strdup(in->ai_canonname)))
            goto err;
        tail = &(*tail)->ai_next;
    }
    *out = head;
    return 0;
err:
    corio_freeaddrinfo(head);
    return -ENOMEM;
}

/* Numeric host and service: libc answers without any I/O. 1 if it did
 * (*out set), 0 if the host or service is a name, or a negative errno. */
static int numeric(const char *host, const char *service,
                   const struct addrinfo *hints, struct addrinfo **out)
{
    struct addrinfo h = {0};
    if (hints) {
        h.ai_family = hints->ai_family;
        h.ai_socktype = hints->ai_socktype;
        h.ai_protocol = hints->ai_protocol;
        h.ai_flags = hints->ai_flags & (AI_PASSIVE | AI_CANONNAME);
    }
    h.ai_flags |= AI_NUMERICHOST | AI_NUMERICSERV;
    struct addrinfo *res;
    int rc = getaddrinfo(host, service, &h, &res);
    if (rc == EAI_NONAME)
        return 0;
    if (rc == EAI_MEMORY)
        return -ENOMEM;
    if (rc == EAI_FAMILY || rc == EAI_ADDRFAMILY)
        return -EAFNOSUPPORT;
    if (rc)
        return -EINVAL;
    rc = copy_libc(res, out);
    freeaddrinfo(res);
    return rc < 0 ? rc : 1;
}

#ifdef CORIO_HAVE_CARES

/* Wake codes of our own, below the core's (see CORIO__WAKE_*). */
#define WAKE_RESCAN (-100201)  /* the leader's set of sockets changed */
#define WAKE_PROMOTE (-100202) /* a waiting task may lead now */

/* Sockets a leader parks on at once; c-ares opens one per server it is
 * talking to, so more means sockets beyond it wait for c-ares's
 * timeouts. */
#define MAX_WAIT 16

/* A socket c-ares opened, watched one-shot: armed for each wait. */
struct dsock {
    struct corio__io io;
    struct dsock *next;
    bool r, w; /* what c-ares wants to hear about */
};

/* The resolver of one loop, in loop->dns. */
struct dns {
    corio_loop *loop;
    ares_channel ch;
    struct dsock *socks;         /* owned */
    corio_task *leader;          /* the task driving c-ares now, or NULL */
    struct corio__list waiting;  /* struct lookup of other waiting tasks */
    size_t live;                 /* lookups a task still waits for */
    size_t pending;              /* lookups c-ares has not called back */
};

/* One ares_getaddrinfo call; on the heap until c-ares calls back. */
struct lookup {
    struct dns *dns;
    corio_task *task;        /* the waiting task; NULL once it gave up */
    struct corio__list link; /* on dns->waiting while parked there */
    bool done;
    int status;              /* ARES_* */
    struct ares_addrinfo *res;
};

static int lib_status = ARES_ENOTINITIALIZED;
static pthread_once_t lib_once = PTHREAD_ONCE_INIT;

static void lib_init(void)
{
#ifdef CORIO_TESTING
    /* c-ares's memory goes through the seams too: the tests' leak check
     * and fault injection cover it. */
    lib_status = ares_library_init_mem(ARES_LIB_INIT_ALL, corio__malloc,
                                       corio__free, corio__realloc);
#else
    lib_status = ares_library_init(ARES_LIB_INIT_ALL);
#endif
}

/* A c-ares status as a negative errno (dns.h lists them). */
static int ares_err(int status)
{
    switch (status) {
    case ARES_SUCCESS:
        return 0;
    case ARES_ENOTFOUND:
        return -ENXIO;
    case ARES_ENODATA:
        return -ENODATA;
    case ARES_ESERVFAIL:
        return -EAGAIN;
    case ARES_EREFUSED:
    case ARES_ECONNREFUSED:
        return -ECONNREFUSED;
    case ARES_EFORMERR:
    case ARES_EBADRESP:
    case ARES_EBADQUERY:
        return -EPROTO;
    case ARES_ETIMEOUT:
        return -ETIMEDOUT;
    case ARES_ENOMEM:
        return -ENOMEM;
    case ARES_ECANCELLED:
    case ARES_EDESTRUCTION:
        return -ECANCELED;
    case ARES_EBADNAME:
    case ARES_EBADSTR:
    case ARES_EBADFLAGS:
    case ARES_ESERVICE:
        return -EINVAL;
    case ARES_EBADFAMILY:
        return -EAFNOSUPPORT;
    case ARES_ENOTIMP:
        return -ENOSYS;
    default:
        return -EIO;
    }
}

static int copy_ares(const struct ares_addrinfo *in, bool canon,
                     struct addrinfo **out)
{
    struct addrinfo *head = NULL, **tail = &head;
    for (const struct ares_addrinfo_node *n = in->nodes; n; n = n->ai_next) {
        *tail = corio__ai_new(n->ai_family, n->ai_socktype, n->ai_protocol,
                              n->ai_addr, n->ai_addrlen);
        if (!*tail)
            goto err;
        tail = &(*tail)->ai_next;
    }
    if (head && canon) {
        /* The canonical name ends the chain of aliases. */
        const char *name = in->name;
        for (const struct ares_addrinfo_cname *c = in->cnames; c;
             c = c->next)
            name = c->name;
        if (name && !(head->ai_canonname = corio__strdup(name)))
            goto err;
    }
    *out = head;
    return head ? 0 : -ENODATA;
err:
    corio_freeaddrinfo(head);
    return -ENOMEM;
}

/* ---- the channel and its sockets ---- */

static struct dsock *find_sock(struct dns *d, int fd)
{
    for (struct dsock *ds = d->socks; ds; ds = ds->next)
        if (ds->io.fd == fd)
            return ds;
    return NULL;
}

static void drop_sock(struct dns *d, struct dsock *ds)
{
    struct dsock **pp = &d->socks;
    while (*pp != ds)
        pp = &(*pp)->next;
    *pp = ds->next;
    /* Wakes the leader if it waits on it; nobody counts as inside (the
     * leader parks with nodes of its own), so this never waits. */
    corio__io_unwatch(&ds->io, NULL);
    corio__free(ds);
}

/* c-ares's socket-state callback: watch fd for what it asks, or stop. */
static void on_state(void *data, ares_socket_t fd, int readable,
                     int writable)
{
    struct dns *d = data;
    struct dsock *ds = find_sock(d, fd);
    if (!readable && !writable) {
        if (ds)
            drop_sock(d, ds);
    } else {
        if (!ds) {
            ds = corio__calloc(1, sizeof *ds);
            if (!ds)
                return; /* c-ares's timeouts still end the query */
            if (corio__io_watch_internal(d->loop, &ds->io, fd, true) < 0) {
                corio__free(ds);
                return;
            }
            ds->next = d->socks;
            d->socks = ds;
        }
        ds->r = readable;
        ds->w = writable;
    }
    /* The leader's set of sockets changed under it. */
    if (d->leader)
        corio__wake(d->leader, WAKE_RESCAN);
}

/* c-ares made a socket: close-on-exec, as all of corio's descriptors. */
static int on_socket(ares_socket_t fd, int type, void *data)
{
    (void)type;
    (void)data;
    return fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 ? -1 : 0;
}

static void dns_free(corio_loop *loop)
{
    struct dns *d = loop->dns;
    /* Calls back every lookup left (all abandoned: no task is alive) and
     * reports every socket closed. */
    ares_destroy(d->ch);
    while (d->socks)
        drop_sock(d, d->socks);
    corio__free(d);
    loop->dns = NULL;
    loop->dns_free = NULL;
}

static int init_channel(struct dns *d)
{
    struct ares_options o = {.sock_state_cb = on_state,
                             .sock_state_cb_data = d};
    int rc = ares_init_options(&d->ch, &o, ARES_OPT_SOCK_STATE_CB);
    if (rc != ARES_SUCCESS)
        return ares_err(rc);
    ares_set_socket_callback(d->ch, on_socket, NULL);
    return 0;
}

/* The loop's resolver, made on first use. */
static int get_dns(corio_loop *loop, struct dns **out)
{
    if (loop->dns) {
        *out = loop->dns;
        return 0;
    }
    pthread_once(&lib_once, lib_init);
    if (lib_status != ARES_SUCCESS)
        return ares_err(lib_status);
    struct dns *d = corio__calloc(1, sizeof *d);
    if (!d)
        return -ENOMEM;
    d->loop = loop;
    corio__list_init(&d->waiting);
    int rc = init_channel(d);
    if (rc < 0) {
        corio__free(d);
        return rc;
    }
    loop->dns = d;
    loop->dns_free = dns_free;
    *out = d;
    return 0;
}

int corio_dns_set_servers(const char *servers)
{
    corio_loop *loop = corio__tls_loop;
    if (!loop)
        return -EPERM;
    struct dns *d = NULL;
    int rc = get_dns(loop, &d);
    if (rc < 0)
        return rc;
    if (d->pending)
        return -EBUSY;
    if (!servers) {
        /* Back to /etc/resolv.conf: a fresh channel reads it again. */
        ares_channel old = d->ch;
        rc = init_channel(d);
        if (rc < 0) {
            d->ch = old;
            return rc;
        }
        ares_destroy(old);
        return 0;
    }
    rc = ares_set_servers_ports_csv(d->ch, servers);
    if (rc == ARES_ENOTIMP)
        return -EBUSY;
    return rc == ARES_EBADSTR ? -EINVAL : ares_err(rc);
}

/* ---- lookups ---- */

static void on_result(void *arg, int status, int timeouts,
                      struct ares_addrinfo *res)
{
    (void)timeouts;
    struct lookup *l = arg;
    l->dns->pending--;
    if (!l->task) {
        /* Its task gave up; nothing else refers to l. */
        if (res)
            ares_freeaddrinfo(res);
        corio__free(l);
        return;
    }
    l->done = true;
    l->status = status;
    l->res = res;
    corio__wake(l->task, 0); /* fails if it is running: it will look */
}

/* Drive c-ares until l is done: park on its sockets and timeout, process
 * what happened. 0, or -ECANCELED / -ETIMEDOUT. */
static int lead(struct dns *d, corio_loop *loop, corio_task *self,
                struct lookup *l)
{
    struct {
        struct corio__wq_node node;
        struct corio__wq *q; /* where node was pushed */
        int fd;
        bool r, w, fired;
    } w[MAX_WAIT];

    while (!l->done) {
        int n = 0;
        for (struct dsock *ds = d->socks; ds && n < MAX_WAIT; ds = ds->next) {
            unsigned ev = (ds->r ? CORIO__IN : 0) | (ds->w ? CORIO__OUT : 0);
            if (corio__backend_arm(loop, &ds->io, ev) < 0)
                continue;
            /* data: the events wanted, as corio_fd's waiters say. */
            w[n].node = (struct corio__wq_node){
                .task = self, .data = (void *)(uintptr_t)ev};
            w[n].q = &ds->io.wait[0]; /* one-shot wakes queue 0 */
            w[n].fd = ds->io.fd;
            w[n].r = ds->r;
            w[n].w = ds->w;
            corio__wq_push(w[n].q, &w[n].node);
            n++;
        }
        struct timeval tv;
        struct timeval *tvp = ares_timeout(d->ch, NULL, &tv);
        int64_t wake_at = CORIO__NEVER;
        if (tvp)
            wake_at = corio__add_ns(corio__loop_clock(loop),
                                    (int64_t)tv.tv_sec * 1000000000 +
                                        (int64_t)tv.tv_usec * 1000);
        corio__waiting(self, CORIO__WAIT_OTHER, d);
        int rc = corio__park(loop, self, wake_at);
        /* A node a waker popped marks its socket ready. A socket c-ares
         * closed meanwhile had its nodes popped too, and its memory freed:
         * remove only nodes still linked, which does not touch q. */
        for (int i = 0; i < n; i++) {
            w[i].fired = !w[i].node.linked;
            corio__wq_remove(w[i].q, &w[i].node);
        }
        if (rc == -ECANCELED || rc == -ETIMEDOUT)
            return rc;
        bool any = false;
        for (int i = 0; i < n; i++)
            if (w[i].fired) {
                /* c-ares ignores descriptors it no longer has. */
                ares_process_fd(d->ch, w[i].r ? w[i].fd : ARES_SOCKET_BAD,
                                w[i].w ? w[i].fd : ARES_SOCKET_BAD);
                any = true;
            }
        if (!any) /* a timeout, or a change of sockets */
            ares_process_fd(d->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    }
    return 0;
}

/* Hand the lead to a waiting task, if there is no leader. */
static void promote(struct dns *d)
{
    if (d->leader)
        return;
    for (struct corio__list *p = d->waiting.next; p != &d->waiting;
         p = p->next) {
        struct lookup *l = container_of(p, struct lookup, link);
        if (corio__wake(l->task, WAKE_PROMOTE))
            return;
    }
}

/* Wait until l is done, leading when nobody else does. 0 when done, or
 * -ECANCELED / -ETIMEDOUT (then l is still pending). */
static int wait_lookup(struct dns *d, corio_loop *loop, corio_task *self,
                       struct lookup *l)
{
    int rc = 0;
    while (!l->done) {
        if (!d->leader) {
            d->leader = self;
            rc = lead(d, loop, self, l);
            d->leader = NULL;
            promote(d);
            if (rc < 0)
                break;
            continue;
        }
        corio__list_push_back(&d->waiting, &l->link);
        corio__waiting(self, CORIO__WAIT_OTHER, d);
        rc = corio__park(loop, self, CORIO__NEVER);
        corio__list_remove(&l->link);
        if (rc == -ECANCELED || rc == -ETIMEDOUT)
            break;
        rc = 0; /* done, or promoted */
    }
    return rc;
}

/* Flags of getaddrinfo(3) that c-ares knows. */
static int ares_flags(int f)
{
    int out = ARES_AI_ENVHOSTS; /* honour CARES_HOSTS */
    if (f & AI_PASSIVE)
        out |= ARES_AI_PASSIVE;
    if (f & AI_CANONNAME)
        out |= ARES_AI_CANONNAME;
    if (f & AI_NUMERICHOST)
        out |= ARES_AI_NUMERICHOST;
    if (f & AI_NUMERICSERV)
        out |= ARES_AI_NUMERICSERV;
    if (f & AI_V4MAPPED)
        out |= ARES_AI_V4MAPPED;
    if (f & AI_ALL)
        out |= ARES_AI_ALL;
    return out;
}

/* Resolve a name with the loop's resolver. */
static int lookup_name(const char *host, const char *service, int flags,
                       const struct addrinfo *hints, struct addrinfo **res)
{
    int rc;
    corio_loop *loop;
    corio_task *self = corio__self(&loop);
    if (!self)
        return -EPERM;
    rc = corio__net_checkpoint();
    struct dns *d = NULL;
    if (!rc)
        rc = get_dns(loop, &d);
    if (rc < 0)
        return rc;
    struct lookup *l = corio__calloc(1, sizeof *l);
    if (!l)
        return -ENOMEM;
    l->dns = d;
    l->task = self;
    corio__list_init(&l->link);
    d->live++;
    d->pending++;
    struct ares_addrinfo_hints ah = {.ai_flags = ares_flags(flags)};
    if (hints) {
        ah.ai_family = hints->ai_family;
        ah.ai_socktype = hints->ai_socktype;
        ah.ai_protocol = hints->ai_protocol;
    }
    /* c-ares 1.18 takes service "0" for an unknown service; without one
     * the port is 0 all the same. */
    if (service && host && strcmp(service, "0") == 0)
        service = NULL;
    ares_getaddrinfo(d->ch, host, service, &ah, on_result, l);
    if (!l->done && d->leader)
        corio__wake(d->leader, WAKE_RESCAN); /* a new timeout to heed */

    rc = wait_lookup(d, loop, self, l);
    d->live--;
    if (l->done) {
        /* The answer came, even if a cancellation raced it: it wins, and
         * the cancellation waits for the next suspension. */
        corio__repend(self, rc);
        rc = ares_err(l->status);
        if (!rc)
            rc = copy_ares(l->res, flags & AI_CANONNAME, res);
        if (l->res)
            ares_freeaddrinfo(l->res);
        corio__free(l);
    } else {
        l->task = NULL; /* on_result frees it */
    }
    /* Nobody waits: end the abandoned queries, closing c-ares's sockets. */
    if (!d->live && d->pending)
        ares_cancel(d->ch);
    return rc;
}

#else /* no c-ares (a cross build for a target without it) */

int corio_dns_set_servers(const char *servers)
{
    (void)servers;
    return corio__tls_loop ? -ENOSYS : -EPERM;
}

/* Names cannot be resolved without the resolver. */
static int lookup_name(const char *host, const char *service, int flags,
                       const struct addrinfo *hints, struct addrinfo **res)
{
    (void)host;
    (void)service;
    (void)flags;
    (void)hints;
    (void)res;
    return -ENOSYS;
}

#endif

int corio_getaddrinfo(const char *host, const char *service,
                      const struct addrinfo *hints, struct addrinfo **res)
{
    if (!res || (!host && !service))
        return -EINVAL;
    *res = NULL;
    int flags = hints ? hints->ai_flags : 0;
    int rc = numeric(host, service, hints, res);
    if (rc)
        return rc < 0 ? rc : 0;
    if ((flags & AI_NUMERICHOST) && host)
        return -EINVAL; /* not a numeric host */
    return lookup_name(host, service, flags, hints, res);
}

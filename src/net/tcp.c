/* SPDX-License-Identifier: MIT */
/* TCP: connecting with Happy Eyeballs (RFC 8305, asyncio's staggered
 * race) and listening. The race runs in the calling task, without helper
 * tasks: it parks on every connecting socket at once, with the time the
 * next address is due as its wake-up time. */
#include "net/net_int.h"

#include "core/waitq.h"
#include "corio/dns.h"

#include <string.h>
#include <unistd.h>

#define HE_DEFAULT_NS 250000000 /* 0.25 s, RFC 8305's recommendation */

/* One address being tried. */
struct attempt {
    corio_sock *s;              /* connecting; NULL before and after */
    struct corio__wq_node node; /* on s's writers while the race parks */
};

/* Order addresses as asyncio's _interleave_addrinfos does: the first of
 * the first family, then the families alternating (A0 B0 A1 B1 ...), so
 * that a broken family costs one delay, not one per address. */
static void interleave(const struct addrinfo *res, const struct addrinfo **out,
                       size_t n)
{
    int fam = res->ai_family;
    const struct addrinfo *pa = res, *pb = res;
    size_t k = 0;
    while (k < n) {
        /* The next address of the first family, then the next other. */
        while (pa && pa->ai_family != fam)
            pa = pa->ai_next;
        if (pa) {
            out[k++] = pa;
            pa = pa->ai_next;
        }
        while (pb && pb->ai_family == fam)
            pb = pb->ai_next;
        if (pb) {
            out[k++] = pb;
            pb = pb->ai_next;
        }
    }
}

/* Start connecting to ai: 1 if connected at once (*out set), 0 if in
 * progress (*out set), or a negative errno. */
static int start(const struct addrinfo *ai, const corio_connect_opts *opts,
                 corio_sock **out)
{
    const struct sockaddr *local = opts ? opts->local_addr : NULL;
    if (local && local->sa_family != ai->ai_family)
        return -EAFNOSUPPORT;
    corio_sock *s = corio_sock_new(ai->ai_family, SOCK_STREAM,
                                   ai->ai_protocol);
    if (!s)
        return -errno;
    int rc = local ? corio_sock_bind(s, local, opts->local_addrlen) : 0;
    if (rc == 0) {
        if (connect(s->io.fd, ai->ai_addr, ai->ai_addrlen) == 0)
            rc = 1;
        else if (errno == EINPROGRESS)
            rc = 0;
        else
            rc = -errno;
    }
    if (rc < 0) {
        corio_sock_close(s);
        return rc;
    }
    /* Forget what a fresh socket reported (writable, hung up) before it
     * was connecting: only the connection's own events count. */
    corio__io_clear(&s->io, CORIO__IN | CORIO__OUT);
    *out = s;
    return rc;
}

/* Check a connecting attempt whose socket reported writable: 0 connected,
 * 1 still connecting, or its error. */
static int outcome(corio_sock *s)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(s->io.fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        return -errno;
    if (err)
        return -err;
    struct sockaddr_storage ss;
    len = sizeof ss;
    if (getpeername(s->io.fd, (struct sockaddr *)&ss, &len) == 0)
        return 0;
    if (errno != ENOTCONN)
        return -errno;
    corio__io_clear(&s->io, CORIO__OUT);
    return 1;
}

corio_sock *corio__tcp_connect_list(const struct addrinfo *res,
                                    const corio_connect_opts *opts)
{
    corio_loop *loop;
    corio_task *self = corio__self(&loop);
    if (!self) {
        errno = EPERM;
        return NULL;
    }
    size_t n = 0;
    for (const struct addrinfo *ai = res; ai; ai = ai->ai_next)
        n++;
    if (!n) {
        errno = EADDRNOTAVAIL;
        return NULL;
    }
    const struct addrinfo **order = corio__malloc(n * sizeof *order);
    struct attempt *at = corio__calloc(n, sizeof *at);
    if (!order || !at) {
        corio__free(order);
        corio__free(at);
        errno = ENOMEM;
        return NULL;
    }
    interleave(res, order, n);

    double d = opts ? opts->happy_eyeballs_delay : 0;
    int64_t delay = d < 0 ? -1 : d == 0 ? HE_DEFAULT_NS : corio__sec_to_ns(d);
    size_t next = 0;   /* next address to start */
    size_t active = 0; /* attempts connecting now */
    int64_t next_at = 0;
    int first_err = 0;
    int rc = 0;
    corio_sock *win = NULL;

    for (;;) {
        /* Start the next address if none is connecting, or if the delay
         * since the last start has passed. */
        int64_t now = corio__loop_clock(loop);
        while (next < n && !win &&
               (active == 0 || (delay >= 0 && now >= next_at))) {
            size_t i = next++;
            rc = start(order[i], opts, &at[i].s);
            if (rc == 1) {
                win = at[i].s;
                at[i].s = NULL;
            } else if (rc < 0) {
                if (!first_err)
                    first_err = rc;
            } else {
                active++;
                next_at = corio__add_ns(now, delay < 0 ? 0 : delay);
            }
        }
        /* Look at every attempt that reported writable. */
        bool failed = false;
        for (size_t i = 0; i < next && !win; i++) {
            corio_sock *s = at[i].s;
            if (!s || !(s->io.ready & CORIO__OUT))
                continue;
            rc = outcome(s);
            if (rc == 0) {
                win = s;
                at[i].s = NULL;
            } else if (rc < 0) {
                /* A failure starts the next address at once. */
                if (!first_err)
                    first_err = rc;
                corio_sock_close(s);
                at[i].s = NULL;
                active--;
                failed = true;
            }
        }
        if (win)
            break;
        if (!active && next == n) {
            rc = first_err ? first_err : -ECONNREFUSED;
            break;
        }
        if (failed || !active)
            continue;

        /* Park on every connecting socket, until the next start is due
         * (io_uring arms a poll on each first: -ENOMEM fails the connect,
         * as would any allocation). */
        int wrc = 0;
        for (size_t i = 0; i < next && wrc == 0; i++)
            if (at[i].s)
                wrc = corio__io_want(&at[i].s->io, CORIO__OUT);
        if (wrc < 0) {
            rc = wrc;
            break;
        }
        for (size_t i = 0; i < next; i++)
            if (at[i].s) {
                at[i].node.task = self;
                corio__wq_push(&at[i].s->io.wait[1], &at[i].node);
            }
        corio__waiting(self, CORIO__WAIT_WRITE, NULL);
        rc = corio__park(loop, self,
                         next < n && delay >= 0 ? next_at : CORIO__NEVER);
        for (size_t i = 0; i < next; i++)
            if (at[i].s)
                corio__wq_remove(&at[i].s->io.wait[1], &at[i].node);
        if (rc < 0 && rc != CORIO__WAKE_TIMER)
            break; /* -ECANCELED or -ETIMEDOUT */
    }

    for (size_t i = 0; i < n; i++)
        corio_sock_close(at[i].s);
    corio__free(order);
    corio__free(at);
    if (!win) {
        errno = -rc;
        return NULL;
    }
    corio_sock_set_nodelay(win, true);
    return win;
}

corio_sock *corio_tcp_connect(const char *host, int port,
                              const corio_connect_opts *opts)
{
    corio_loop *loop;
    if (!host || port <= 0 || port > 65535) {
        errno = EINVAL;
        return NULL;
    }
    if (!corio__self(&loop)) {
        errno = EPERM;
        return NULL;
    }
    int rc = corio__net_checkpoint();
    struct addrinfo *res = NULL;
    if (!rc)
        rc = corio__net_resolve(host, port, opts ? opts->family : 0,
                                SOCK_STREAM, 0, &res);
    if (rc < 0) {
        errno = -rc;
        return NULL;
    }
    corio_sock *s = corio__tcp_connect_list(res, opts);
    int e = errno;
    corio_freeaddrinfo(res);
    errno = e;
    return s;
}

corio_sock *corio_tcp_listen(const char *host, int port,
                             const corio_listen_opts *opts)
{
    int backlog = opts && opts->backlog > 0 ? opts->backlog : SOMAXCONN;
    return corio__net_open_bound(host, port, 0, SOCK_STREAM,
                                 opts ? opts->flags : 0, backlog);
}

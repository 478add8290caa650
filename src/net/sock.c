/* SPDX-License-Identifier: MIT */
/* The socket object: creation, the suspending operations (connect,
 * accept, send, receive), options, addresses and close. Each operation
 * tries its system call first and parks on the edge-triggered descriptor
 * only after EAGAIN, so a socket with data waiting costs one system call
 * per read and no context switch. */
#include "net/net_int.h"

#include "corio/dns.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <unistd.h>

/* Buffers handed to one sendmsg when sending an iovec array: enough for
 * any real use, small enough for a task's stack. */
#define SEND_WINDOW 16

int corio__net_socket(int family, int type, int protocol)
{
    if (corio__fail_syscall()) {
        errno = EMFILE;
        return -1;
    }
    return socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
}

corio_sock *corio__sock_wrap(int fd, int family, int type)
{
    corio_loop *loop = corio__tls_loop;
    if (!loop) {
        errno = EPERM;
        return NULL;
    }
    corio_sock *s = corio__malloc(sizeof *s);
    if (!s) {
        errno = ENOMEM;
        return NULL;
    }
    int rc = corio__io_watch(loop, &s->io, fd, false);
    if (rc < 0) {
        corio__free(s);
        errno = -rc;
        return NULL;
    }
    s->family = family;
    s->type = type;
    s->drained = false;
    s->accept_many = false;
    return s;
}

corio_sock *corio_sock_new(int family, int type, int protocol)
{
    if (!corio__tls_loop) {
        errno = EPERM;
        return NULL;
    }
    type &= ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
    int fd = corio__net_socket(family, type, protocol);
    if (fd < 0)
        return NULL;
    corio_sock *s = corio__sock_wrap(fd, family, type);
    if (!s) {
        int e = errno;
        close(fd);
        errno = e;
    }
    return s;
}

corio_sock *corio_sock_from_fd(int fd)
{
    int type, family;
    socklen_t len = sizeof type;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
        return NULL; /* errno: EBADF, ENOTSOCK */
    len = sizeof family;
    if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &family, &len) < 0)
        return NULL;
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
        fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
        return NULL;
    return corio__sock_wrap(fd, family, type);
}

static void free_sock(struct corio__io *io)
{
    corio__free(container_of(io, corio_sock, io));
}

int corio_sock_close(corio_sock *s)
{
    if (!s)
        return 0;
    int fd = s->io.fd;
    /* Wake the waiting tasks and let them leave first. They return
     * -EBADF without touching the descriptor again, so closing it at
     * once is safe even when a callback closes and they still have to
     * run (then the last of them frees s). */
    bool now = corio__io_unwatch(&s->io, free_sock);
    int rc = 0;
    if (close(fd) < 0 && errno != EINTR)
        rc = -errno; /* Linux closes the descriptor even on EINTR */
    if (now)
        free_sock(&s->io);
    return rc;
}

int corio_sock_fileno(const corio_sock *s)
{
    return s ? s->io.fd : -1;
}

int corio_sock_bind(corio_sock *s, const struct sockaddr *addr,
                    socklen_t len)
{
    if (!s || !addr)
        return -EINVAL;
    return bind(s->io.fd, addr, len) < 0 ? -errno : 0;
}

int corio_sock_listen(corio_sock *s, int backlog)
{
    if (!s)
        return -EINVAL;
    return listen(s->io.fd, backlog > 0 ? backlog : SOMAXCONN) < 0 ? -errno
                                                                   : 0;
}

/* ---- connect ---- */

/* Whether a connect in progress has completed: 0 when connected, 1 while
 * it is still in progress, or the connection's error. */
static int connect_result(int fd)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        return -errno;
    if (err)
        return -err;
    struct sockaddr_storage ss;
    len = sizeof ss;
    if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0)
        return 0;
    return errno == ENOTCONN ? 1 : -errno;
}

int corio_sock_connect(corio_sock *s, const struct sockaddr *addr,
                       socklen_t len)
{
    corio_loop *loop;
    corio_task *self = corio__self(&loop);

    if (!s || !addr)
        return -EINVAL;
    if (s->io.closed)
        return -EBADF;
    int rc = corio__net_checkpoint();
    if (rc)
        return rc;
    int64_t backoff = 1000000; /* 1 ms, for a full Unix backlog */
    for (;;) {
        if (connect(s->io.fd, addr, len) == 0)
            return 0;
        int e = errno;
        if (e == EINPROGRESS || e == EINTR)
            break; /* completes in the background: wait below */
        if (e != EAGAIN || s->family != AF_UNIX)
            return -e;
        /* A Unix listener's backlog is full. Such a socket gets no event
         * when room frees up, so retry after a growing pause. */
        if (!self)
            return -EAGAIN;
        corio__waiting(self, CORIO__WAIT_OTHER, s);
        rc = corio__park(loop, self,
                         corio__add_ns(corio__loop_clock(loop), backoff));
        if (rc != CORIO__WAKE_TIMER)
            return rc < 0 ? rc : -EAGAIN;
        if (backoff < 64000000)
            backoff *= 2;
    }
    /* Forget readiness seen before the connect started (a new socket
     * reports itself writable and hung up), then wait for the outcome. */
    corio__io_clear(&s->io, CORIO__IN | CORIO__OUT);
    for (;;) {
        rc = corio__sock_wait(s, CORIO__OUT);
        if (rc < 0)
            return rc;
        rc = connect_result(s->io.fd);
        if (rc <= 0)
            return rc;
        corio__io_clear(&s->io, CORIO__OUT); /* woken early: wait on */
    }
}

/* ---- accept ---- */

/* Errors accept(2) reports for a connection that failed before it was
 * accepted: the next one may be fine (accept(2), "Error handling"). */
static bool accept_retry(int e)
{
    switch (e) {
    case EINTR:
    case ECONNABORTED:
    case EPROTO:
    case ENETDOWN:
    case ENOPROTOOPT:
    case EHOSTDOWN:
    case ENONET:
    case EHOSTUNREACH:
    case EOPNOTSUPP:
    case ENETUNREACH:
    case EPERM: /* a firewall refused it */
        return true;
    default:
        return false;
    }
}

corio_sock *corio_sock_accept(corio_sock *l)
{
    if (!l) {
        errno = EINVAL;
        return NULL;
    }
    int rc = l->io.closed ? -EBADF : corio__net_checkpoint();
    if (rc) {
        errno = -rc;
        return NULL;
    }
    /* io_uring: an accept request, or a server's multishot one. */
    bool ring = l->io.ring && corio__tls_loop->current;
    for (;;) {
        int fd;
        if (ring) {
            fd = corio__uring_accept(&l->io, l->accept_many);
            if (fd < 0) {
                if (accept_retry(-fd))
                    continue;
                errno = -fd;
                return NULL;
            }
        } else {
            fd = corio__fail_syscall()
                     ? (errno = EMFILE, -1)
                     : accept4(l->io.fd, NULL, NULL,
                               SOCK_NONBLOCK | SOCK_CLOEXEC);
        }
        if (fd >= 0) {
            corio_sock *s = corio__sock_wrap(fd, l->family, l->type);
            if (!s) {
                int e = errno;
                close(fd);
                errno = e;
                return NULL;
            }
            if (l->type == SOCK_STREAM &&
                (l->family == AF_INET || l->family == AF_INET6))
                corio_sock_set_nodelay(s, true);
            return s;
        }
        int e = errno;
        if (accept_retry(e))
            continue;
        if (e != EAGAIN) {
            errno = e;
            return NULL;
        }
        corio__io_clear(&l->io, CORIO__IN);
        rc = corio__sock_wait(l, CORIO__IN);
        if (rc < 0) {
            errno = -rc;
            return NULL;
        }
    }
}

int corio__sock_wait(corio_sock *s, unsigned dir)
{
    return corio__io_wait(&s->io, dir);
}

int corio__net_check(void)
{
    return corio__net_checkpoint();
}

/* ---- receiving ---- */

ssize_t corio__sock_try_recv(corio_sock *s, void *buf, size_t len)
{
    for (;;) {
        ssize_t n = recv(s->io.fd, buf, len, 0);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN)
            corio__io_clear(&s->io, CORIO__IN);
        return -errno;
    }
}

/* recvmsg until data (or an error) comes. A datagram longer than the
 * buffers is reported by the kernel's MSG_TRUNC in msg_flags. */
static ssize_t recv_msg(corio_sock *s, struct msghdr *msg, int flags)
{
    if (s->io.closed)
        return -EBADF;
    int rc = corio__net_checkpoint();
    if (rc)
        return rc;
    if (s->io.ring && corio__tls_loop->current)
        return corio__uring_recvmsg(&s->io, msg, flags);
    for (;;) {
        ssize_t n = recvmsg(s->io.fd, msg, flags);
        if (n >= 0)
            return n;
        int e = errno;
        if (e == EINTR)
            continue;
        if (e != EAGAIN)
            return -e;
        corio__io_clear(&s->io, CORIO__IN);
        rc = corio__sock_wait(s, CORIO__IN);
        if (rc < 0)
            return rc;
    }
}

ssize_t corio_sock_recv(corio_sock *s, void *buf, size_t len)
{
    return corio_sock_recvfrom(s, buf, len, NULL, NULL);
}

ssize_t corio_sock_recvfrom(corio_sock *s, void *buf, size_t len,
                            struct sockaddr *from, socklen_t *fromlen)
{
    if (!s || (!buf && len))
        return -EINVAL;
    if (s->type == SOCK_STREAM && !from) {
        /* The hot path of every stream read: plain recv, no msghdr. */
        if (s->io.closed)
            return -EBADF;
        int rc = corio__net_checkpoint();
        if (rc || !len)
            return rc; /* a read of nothing would wait for data */
        if (s->io.ring && corio__tls_loop->current) {
            /* io_uring: one request, which the kernel completes when
             * data comes; no readiness round trip. */
            return corio__uring_recv(&s->io, buf, len, 0);
        }
        if (s->drained && !(s->io.ready & (CORIO__IN | CORIO__HUP))) {
            /* The last read emptied the queue and nothing came since:
             * recv would say EAGAIN. Save that system call (a third of
             * an echo's), as libuv and tokio do after a short read. */
            rc = corio__sock_wait(s, CORIO__IN);
            if (rc < 0)
                return rc;
        }
        for (;;) {
            ssize_t n = recv(s->io.fd, buf, len, 0);
            if (n >= 0) {
                /* A short read from a stream socket took everything the
                 * kernel had. Input arriving after it is a new edge,
                 * which the loop reports by setting the bit again. A
                 * read can also stop short at the end of the stream,
                 * which the loop reported once already: the HUP bit
                 * stays set for that. */
                s->drained = n > 0 && (size_t)n < len;
                if (s->drained)
                    corio__io_clear(&s->io, CORIO__IN);
                return n;
            }
            int e = errno;
            if (e == EINTR)
                continue;
            if (e != EAGAIN)
                return -e;
            corio__io_clear(&s->io, CORIO__IN);
            rc = corio__sock_wait(s, CORIO__IN);
            if (rc < 0)
                return rc;
        }
    }
    struct iovec iov = {.iov_base = buf, .iov_len = len};
    struct msghdr msg = {
        .msg_name = from,
        .msg_namelen = from && fromlen ? *fromlen : 0,
        .msg_iov = &iov,
        .msg_iovlen = 1,
    };
    ssize_t n = recv_msg(s, &msg, 0);
    if (n < 0)
        return n;
    if (from && fromlen)
        *fromlen = msg.msg_namelen;
    if (msg.msg_flags & MSG_TRUNC)
        return -EMSGSIZE; /* buf holds the datagram's first len bytes */
    return n;
}

ssize_t corio_sock_recvmsg(corio_sock *s, struct msghdr *msg, int flags)
{
    if (!s || !msg)
        return -EINVAL;
    return recv_msg(s, msg, flags & ~MSG_DONTWAIT);
}

/* ---- sending ---- */

ssize_t corio__sock_try_sendv(corio_sock *s, const struct iovec *iov,
                              int iovcnt)
{
    struct msghdr msg = {
        .msg_iov = (struct iovec *)iov,
        .msg_iovlen = (size_t)iovcnt,
    };
    for (;;) {
        ssize_t n = sendmsg(s->io.fd, &msg, MSG_NOSIGNAL);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN)
            corio__io_clear(&s->io, CORIO__OUT);
        return -errno;
    }
}

/* Send msg (its name and control too), waiting while the socket buffer is
 * full. A stream socket gets every byte; a datagram socket one datagram.
 * The bytes sent, or, if none, a negative errno: callers learn how far a
 * send got before an error or a cancellation. */
static ssize_t send_msg(corio_sock *s, const struct msghdr *m, int flags)
{
    if (s->io.closed)
        return -EBADF;
    int rc = corio__net_checkpoint();
    if (rc)
        return rc;

    bool stream = s->type == SOCK_STREAM;
    bool ring = s->io.ring && corio__tls_loop->current;
    const struct iovec *iov = m->msg_iov;
    size_t left = m->msg_iovlen;
    size_t off = 0; /* bytes of iov[0] already sent */
    size_t done = 0;
    struct msghdr h = *m;
    struct iovec win[SEND_WINDOW];

    flags |= MSG_NOSIGNAL;
    for (;;) {
        /* Skip what is sent, then hand the kernel a window of buffers,
         * the first one trimmed by what it already took. */
        while (left && iov->iov_len == off) {
            iov++;
            left--;
            off = 0;
        }
        if (stream && !left)
            return (ssize_t)done; /* all of it, or there was nothing */
        size_t n = left < SEND_WINDOW ? left : SEND_WINDOW;
        for (size_t i = 0; i < n; i++)
            win[i] = iov[i];
        if (n) {
            win[0].iov_base = (char *)win[0].iov_base + off;
            win[0].iov_len -= off;
        }
        h.msg_iov = win;
        h.msg_iovlen = n;
        ssize_t r;
        if (ring && done && (rc = corio__net_checkpoint()) != 0)
            return (ssize_t)done; /* cancelled between two parts */
        if (ring) {
            /* io_uring: the kernel waits for room itself. A plain send
             * where one buffer is all there is (cheaper than sendmsg). */
            if (n == 1 && !h.msg_name && !h.msg_control)
                r = corio__uring_send(&s->io, win[0].iov_base,
                                      win[0].iov_len, flags);
            else
                r = corio__uring_sendmsg(&s->io, &h, flags);
            if (r < 0)
                return done ? (ssize_t)done : r;
        } else {
            r = sendmsg(s->io.fd, &h, flags);
        }
        if (r >= 0) {
            done += (size_t)r;
            if (!stream)
                return r;
            /* Ancillary data went with the first bytes. */
            h.msg_control = NULL;
            h.msg_controllen = 0;
            size_t adv = (size_t)r;
            while (adv) {
                size_t room = iov->iov_len - off;
                if (adv < room) {
                    off += adv;
                    break;
                }
                adv -= room;
                iov++;
                left--;
                off = 0;
            }
            continue;
        }
        int e = errno;
        if (e == EINTR)
            continue;
        if (e != EAGAIN)
            return done ? (ssize_t)done : -e;
        corio__io_clear(&s->io, CORIO__OUT);
        rc = corio__sock_wait(s, CORIO__OUT);
        if (rc < 0)
            return done ? (ssize_t)done : rc;
    }
}

ssize_t corio_sock_send(corio_sock *s, const void *buf, size_t len)
{
    if (!s || (!buf && len))
        return -EINVAL;
    struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    return send_msg(s, &msg, 0);
}

ssize_t corio_sock_sendv(corio_sock *s, const struct iovec *iov, int iovcnt)
{
    if (!s || iovcnt < 0 || (!iov && iovcnt))
        return -EINVAL;
    struct msghdr msg = {.msg_iov = (struct iovec *)iov,
                         .msg_iovlen = (size_t)iovcnt};
    return send_msg(s, &msg, 0);
}

ssize_t corio_sock_sendto(corio_sock *s, const void *buf, size_t len,
                          const struct sockaddr *to, socklen_t tolen)
{
    if (!s || (!buf && len))
        return -EINVAL;
    struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
    struct msghdr msg = {
        .msg_name = (void *)to,
        .msg_namelen = to ? tolen : 0,
        .msg_iov = &iov,
        .msg_iovlen = 1,
    };
    return send_msg(s, &msg, 0);
}

ssize_t corio_sock_sendmsg(corio_sock *s, const struct msghdr *msg,
                           int flags)
{
    if (!s || !msg)
        return -EINVAL;
    return send_msg(s, msg, flags & ~MSG_DONTWAIT);
}

int corio_sock_shutdown(corio_sock *s, int how)
{
    if (!s)
        return -EINVAL;
    return shutdown(s->io.fd, how) < 0 ? -errno : 0;
}

/* ---- options and addresses ---- */

static int set_int(corio_sock *s, int level, int name, int v)
{
    if (!s)
        return -EINVAL;
    return setsockopt(s->io.fd, level, name, &v, sizeof v) < 0 ? -errno : 0;
}

int corio_sock_set_nodelay(corio_sock *s, bool on)
{
    return set_int(s, IPPROTO_TCP, TCP_NODELAY, on);
}

int corio_sock_set_keepalive(corio_sock *s, bool on)
{
    return set_int(s, SOL_SOCKET, SO_KEEPALIVE, on);
}

int corio_sock_set_reuseaddr(corio_sock *s, bool on)
{
    return set_int(s, SOL_SOCKET, SO_REUSEADDR, on);
}

int corio_sock_set_reuseport(corio_sock *s, bool on)
{
    return set_int(s, SOL_SOCKET, SO_REUSEPORT, on);
}

static int get_addr(const corio_sock *s, struct sockaddr_storage *addr,
                    socklen_t *len, bool peer)
{
    if (!s || !addr)
        return -EINVAL;
    socklen_t n = sizeof *addr;
    int rc = peer ? getpeername(s->io.fd, (struct sockaddr *)addr, &n)
                  : getsockname(s->io.fd, (struct sockaddr *)addr, &n);
    if (rc < 0)
        return -errno;
    if (len)
        *len = n;
    return 0;
}

int corio_sock_local_addr(const corio_sock *s, struct sockaddr_storage *addr,
                          socklen_t *len)
{
    return get_addr(s, addr, len, false);
}

int corio_sock_peer_addr(const corio_sock *s, struct sockaddr_storage *addr,
                         socklen_t *len)
{
    return get_addr(s, addr, len, true);
}

/* ---- bound sockets, for listeners and UDP ---- */

/* Open, configure and bind one socket for ai; listen if backlog > 0. */
static corio_sock *bind_one(const struct sockaddr *addr, socklen_t len,
                            int socktype, unsigned flags, int backlog,
                            bool dual)
{
    corio_sock *s = corio_sock_new(addr->sa_family, socktype, 0);
    if (!s)
        return NULL;
    int rc = 0;
    /* Listeners reuse the address by default (asyncio on Unix); UDP does
     * not, since that lets another socket steal its datagrams. */
    if (backlog > 0 && !(flags & CORIO_SOCK_NO_REUSEADDR))
        rc = corio_sock_set_reuseaddr(s, true);
    if (!rc && (flags & CORIO_SOCK_REUSEPORT))
        rc = corio_sock_set_reuseport(s, true);
    if (!rc && (flags & CORIO_SOCK_BROADCAST))
        rc = set_int(s, SOL_SOCKET, SO_BROADCAST, 1);
    if (!rc && addr->sa_family == AF_INET6)
        rc = set_int(s, IPPROTO_IPV6, IPV6_V6ONLY,
                     (flags & CORIO_SOCK_V6ONLY) || !dual);
    if (!rc)
        rc = corio_sock_bind(s, addr, len);
    if (!rc && backlog > 0)
        rc = corio_sock_listen(s, backlog);
    if (rc) {
        corio_sock_close(s);
        errno = -rc;
        return NULL;
    }
    return s;
}

corio_sock *corio__net_open_bound(const char *host, int port, int family,
                                  int socktype, unsigned flags, int backlog)
{
    if (port < 0 || port > 65535) {
        errno = EINVAL;
        return NULL;
    }
    if (!host || !*host) {
        /* Every interface: [::] taking IPv4 too, unless the system has
         * no IPv6 or only IPv4 was asked for. */
        if (family != AF_INET) {
            struct sockaddr_in6 a6 = {.sin6_family = AF_INET6,
                                      .sin6_port = htons((uint16_t)port),
                                      .sin6_addr = IN6ADDR_ANY_INIT};
            corio_sock *s = bind_one((struct sockaddr *)&a6, sizeof a6,
                                     socktype, flags, backlog,
                                     family != AF_INET6);
            if (s || family == AF_INET6 ||
                (errno != EAFNOSUPPORT && errno != EADDRNOTAVAIL))
                return s;
        }
        struct sockaddr_in a4 = {.sin_family = AF_INET,
                                 .sin_port = htons((uint16_t)port),
                                 .sin_addr.s_addr = htonl(INADDR_ANY)};
        return bind_one((struct sockaddr *)&a4, sizeof a4, socktype, flags,
                        backlog, false);
    }
    struct addrinfo *res;
    int rc = corio__net_resolve(host, port, family, socktype, AI_PASSIVE,
                                &res);
    if (rc < 0) {
        errno = -rc;
        return NULL;
    }
    int first = 0;
    corio_sock *s = NULL;
    for (struct addrinfo *ai = res; ai && !s; ai = ai->ai_next) {
        s = bind_one(ai->ai_addr, ai->ai_addrlen, socktype, flags, backlog,
                     true);
        if (!s && !first)
            first = errno;
    }
    corio_freeaddrinfo(res);
    if (!s)
        errno = first ? first : EADDRNOTAVAIL;
    return s;
}

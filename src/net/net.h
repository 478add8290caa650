/* SPDX-License-Identifier: MIT */
/* What the net module shows other modules: the socket object, the
 * non-suspending socket primitives, and the transport interface under a
 * corio_stream, which a TLS layer implements to give TLS connections the
 * same stream API as plain sockets. */
#ifndef CORIO_NET_NET_H
#define CORIO_NET_NET_H

#include <stdbool.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "core/core.h"
#include "corio/net.h"
#include "corio/stream.h"

/* A socket: a descriptor registered once, edge-triggered, with the loop.
 * Operations try the system call first and park on io only after EAGAIN
 * (core.md, "Descriptors"). */
struct corio_sock {
    struct corio__io io; /* the descriptor and its waiting tasks */
    int family;          /* AF_INET, AF_INET6, AF_UNIX ... */
    int type;            /* SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET */
    bool drained;        /* stream sockets: a read returned less than it
                            asked for, so the receive queue was empty;
                            until the loop reports new input, the next
                            read waits first instead of meeting EAGAIN */
    bool accept_many;    /* a server's listener: on io_uring, one
                            multishot request accepts ahead of the
                            accepting task (set by server.c) */
};

/* The entry check of every suspending call: -ECANCELED or -ETIMEDOUT if
 * the running task has a cancellation pending or a deadline passed, else
 * 0. Operations that complete without parking would otherwise never see
 * them, and a task reading a busy socket could not be stopped. */
static inline int corio__net_checkpoint(void)
{
    corio_loop *loop;
    corio_task *t = corio__self(&loop);
    if (t && unlikely(t->cancel_pending || t->scope))
        return corio__checkpoint(t);
    return 0;
}

/* The functions below are exported (CORIO_API, though not public): a TLS
 * library built as a shared library of its own calls them. */

/* One sendmsg without waiting: bytes sent, -EAGAIN (the owner's readiness
 * is cleared), or another negative errno. MSG_NOSIGNAL is added. */
CORIO_API ssize_t corio__sock_try_sendv(corio_sock *s,
                                        const struct iovec *iov, int iovcnt);
/* One recv without waiting: bytes, 0 at end of stream, -EAGAIN (readiness
 * cleared) or another negative errno. */
CORIO_API ssize_t corio__sock_try_recv(corio_sock *s, void *buf, size_t len);
/* Park until s is ready for dir (CORIO__IN / CORIO__OUT) after a try met
 * EAGAIN: 0, -ECANCELED, -ETIMEDOUT, -EBADF, -EPERM. */
CORIO_API int corio__sock_wait(corio_sock *s, unsigned dir);
/* corio__net_checkpoint, for modules built as libraries of their own
 * (the inline one reads the loop's thread-local, which is not exported). */
CORIO_API int corio__net_check(void);

/* ---- the transport under a stream ----
 *
 * A stream reads and writes through a transport: a plain socket (the
 * stream embeds one, see stream.c) or a TLS connection, which the TLS
 * module implements and hands to corio__stream_new. The stream calls the
 * transport from tasks only, and never from two tasks in the same
 * direction at once: one reader at a time, and one writer at a time
 * (try_writev calls never overlap a write in progress, since they do not
 * suspend). A TLS read may have to write (and a write read) on the
 * socket; the transport handles that inside these calls.
 */
struct corio__transport;

struct corio__transport_ops {
    /* Read up to len (> 0) bytes, suspending until at least one is there:
     * the count, 0 at end of stream, or a negative errno (-ECANCELED and
     * -ETIMEDOUT from the task, -EBADF if closed meanwhile). A clean end
     * of stream is 0; a truncated TLS stream (no close_notify) is an
     * error (-ECONNRESET). */
    ssize_t (*read)(struct corio__transport *t, void *buf, size_t len);
    /* Take what can be written now without suspending: the bytes taken
     * (> 0), -EAGAIN if none, or a negative errno. The bytes taken are
     * the transport's to deliver. */
    ssize_t (*try_writev)(struct corio__transport *t, const struct iovec *iov,
                          int iovcnt);
    /* Suspend until try_writev can take more (after -EAGAIN): 0 or a
     * negative errno. */
    int (*wait_writable)(struct corio__transport *t);
    /* Send end of stream after everything taken so far (TCP: shutdown
     * SHUT_WR; TLS: close_notify). May suspend. 0 or a negative errno. */
    int (*shutdown)(struct corio__transport *t);
    /* Close and free the transport. Tasks waiting inside it wake with
     * -EBADF, and (from a task) close waits for them to leave. graceful:
     * the stream ended cleanly, so unread input may be discarded first
     * to avoid a reset that could destroy data still in flight to the
     * peer. 0 or a negative errno; the transport is freed regardless. */
    int (*close)(struct corio__transport *t, bool graceful);
    /* The socket underneath (borrowed), or NULL. */
    corio_sock *(*sock)(struct corio__transport *t);
};

struct corio__transport {
    const struct corio__transport_ops *ops;
};

/* A stream over any transport, which it owns from then on (on failure it
 * stays the caller's). NULL with errno set. */
CORIO_API corio_stream *corio__stream_new(struct corio__transport *t,
                                          const corio_stream_opts *opts);

/* The transport under s (borrowed), NULL once closed: lets the TLS module
 * recognise its own streams (by ops) for its accessors. */
CORIO_API struct corio__transport *corio__stream_transport(corio_stream *s);

/* Take the socket out of a stream over a socket and free the stream, for
 * protocols that switch to TLS on the connection (STARTTLS). Sends what is
 * buffered first. 0 and *sock; or -EINVAL (not over a socket), -EBUSY
 * (another task is inside the stream), -EPROTO (unread input is buffered,
 * or the stream ended: bytes that came before the switch must not pass
 * for bytes after it), the
 * connection's error, -ECANCELED, -ETIMEDOUT; the stream is then
 * unchanged. Suspends (while buffered data is unsent). */
CORIO_API int corio__stream_detach(corio_stream *s, corio_sock **sock);

/* How a server makes the stream a handler gets from an accepted socket
 * (the TLS module's handshake), called in the connection's task: the
 * stream, or NULL with errno set (the socket then stays the caller's). */
typedef corio_stream *(*corio__server_open_fn)(corio_sock *sock,
                                               const corio_stream_opts *opts,
                                               void *arg);

/* corio_server_new with open making each connection's stream; free(arg)
 * runs when the server is closed (not if this fails). */
CORIO_API corio_server *corio__server_new_open(corio_sock *listener,
                                               corio_server_fn fn, void *arg,
                                               const corio_server_opts *opts,
                                               corio__server_open_fn open,
                                               void *open_arg,
                                               void (*open_free)(void *));

#endif

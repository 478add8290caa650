/* SPDX-License-Identifier: MIT */
/* Streams and servers: asyncio's StreamReader and StreamWriter as one
 * buffered corio_stream over a connection, and asyncio.start_server, which
 * runs a handler task per connection. A read that fails consumes nothing:
 * the data it had gathered stays in the stream for the next call. */
#ifndef CORIO_STREAM_H
#define CORIO_STREAM_H

#include <stdbool.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "corio/common.h"
#include "corio/net.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct corio_stream corio_stream;

/* Options of a stream; zero-initialise and set what you need. */
typedef struct corio_stream_opts {
    /* How far readline and readuntil look for their separator (asyncio's
     * limit). 0: 64 KiB. */
    size_t limit;
    /* Write buffer watermarks: once the unsent data exceeds high_water,
     * corio_stream_drain waits until it is back at low_water or below.
     * 0: 64 KiB and high_water / 4, asyncio's defaults. */
    size_t high_water;
    size_t low_water;
} corio_stream_opts;

/* A stream over a connected stream socket, which it owns from then on
 * (corio_stream_close closes it). opts may be NULL. NULL with errno set
 * (EINVAL, ENOMEM); the socket then stays the caller's. Never suspends. */
CORIO_API corio_stream *corio_stream_open(corio_sock *sock,
                                          const corio_stream_opts *opts);

/* asyncio.open_connection: corio_tcp_connect(host, port, NULL) and a
 * stream over the connection. NULL with errno set, as corio_tcp_connect.
 * Suspends; cancellation point. */
CORIO_API corio_stream *corio_open_connection(const char *host, int port,
                                              const corio_stream_opts *opts);

/* asyncio.open_unix_connection: the same over a Unix domain socket.
 * Suspends; cancellation point. */
CORIO_API corio_stream *
corio_open_unix_connection(const char *path, const corio_stream_opts *opts);

/* ---- reading ---- */

/* Read up to n bytes (StreamReader.read(n)): from the buffer if it holds
 * any, else waiting for data. The count, 0 at end of stream (or n == 0),
 * or a negative errno (-ECONNRESET, -ECANCELED, -ETIMEDOUT, -EBADF if the
 * stream is closed meanwhile, -EBUSY if another task is reading it).
 * Suspends; cancellation point. */
CORIO_API ssize_t corio_stream_read(corio_stream *s, void *buf, size_t n);

/* Read exactly n bytes (StreamReader.readexactly): n, or -EPIPE if the
 * stream ended first (asyncio's IncompleteReadError). Like every read that
 * fails (end of stream, an error, a cancellation, a deadline), it consumes
 * nothing: the partial data stays buffered, and corio_stream_read returns
 * it. Suspends; cancellation point. */
CORIO_API ssize_t corio_stream_readexactly(corio_stream *s, void *buf,
                                           size_t n);

/* Read up to and including the separator (StreamReader.readuntil) into
 * buf (cap bytes): the length, separator included. Errors consume
 * nothing: -ENOBUFS if the separator is not within the stream's limit
 * (asyncio's LimitOverrunError), -EMSGSIZE if the data up to it does not
 * fit in cap, -EPIPE if the stream ended first (IncompleteReadError),
 * -EINVAL for an empty separator, or a read error. Suspends; cancellation
 * point. */
CORIO_API ssize_t corio_stream_readuntil(corio_stream *s, void *buf,
                                         size_t cap, const void *sep,
                                         size_t seplen);

/* Read a line, "\n" included (StreamReader.readline). At the end of the
 * stream it returns the last, unterminated line, then 0. Errors as
 * corio_stream_readuntil, without -EPIPE. Suspends; cancellation point. */
CORIO_API ssize_t corio_stream_readline(corio_stream *s, void *buf,
                                        size_t cap);

/* Whether the stream has ended and its buffer is empty (at_eof). Never
 * suspends. */
CORIO_API bool corio_stream_at_eof(const corio_stream *s);

/* Bytes received and not yet read. Never suspends. */
CORIO_API size_t corio_stream_buffered(const corio_stream *s);

/* ---- writing ---- */

/* Queue n bytes (StreamWriter.write): they are sent at once as far as the
 * socket takes them, the rest is buffered and sent in the background.
 * Never waits: pair it with corio_stream_drain to bound the buffer. 0, or
 * a negative errno: the connection's error (-EPIPE, -ECONNRESET) once one
 * has been seen, -EPIPE after corio_stream_write_eof, -ENOMEM. Never
 * suspends. */
CORIO_API int corio_stream_write(corio_stream *s, const void *buf, size_t n);

/* corio_stream_write of iovcnt buffers. Never suspends. */
CORIO_API int corio_stream_writev(corio_stream *s, const struct iovec *iov,
                                  int iovcnt);

/* Bytes written and not yet handed to the socket. Never suspends. */
CORIO_API size_t corio_stream_write_buffered(const corio_stream *s);

/* Wait until the write buffer is small enough (StreamWriter.drain): at
 * once if it never exceeded the high watermark, else once it is down to
 * the low one. 0, the connection's error, -ECANCELED, -ETIMEDOUT, -EBADF
 * if the stream is closed meanwhile. Suspends; cancellation point. */
CORIO_API int corio_stream_drain(corio_stream *s);

/* Send everything written, then end of stream (write_eof); reading goes
 * on. 0 or the connection's error. Suspends; cancellation point. */
CORIO_API int corio_stream_write_eof(corio_stream *s);

/* Close the stream gracefully (StreamWriter.close + wait_closed): send
 * every written byte, then end of stream, then close the socket. Other
 * tasks waiting on the stream wake with -EBADF; close waits for them to
 * leave and always frees s. Returns 0 if everything was delivered to the
 * socket, else why not (the connection's error, or -ECANCELED /
 * -ETIMEDOUT: a cancelled or timed-out close drops what was unsent, so a
 * scope with a zero timeout aborts the connection). NULL is allowed.
 * Suspends (while data is unsent); cancellation point. */
CORIO_API int corio_stream_close(corio_stream *s);

/* The stream's socket (borrowed), for options and addresses. Never
 * suspends. */
CORIO_API corio_sock *corio_stream_sock(corio_stream *s);

/* ---- servers (asyncio.start_server) ---- */

typedef struct corio_server corio_server;

/* A connection handler: runs in a task of its own per connection. It
 * borrows the stream; the server closes it once the handler returns
 * (gracefully if the handler returned >= 0, else by aborting). */
typedef int (*corio_server_fn)(corio_stream *s, void *arg);

/* Options of a server; zero-initialise and set what you need. */
typedef struct corio_server_opts {
    /* Connections served at once; at the limit, accepting pauses until a
     * handler ends (the kernel's backlog holds the rest). 0: no limit. */
    size_t max_connections;
    corio_listen_opts listen;  /* backlog and flags of the listener */
    corio_stream_opts stream;  /* options of each connection's stream */
    size_t stack_size;         /* of handler tasks; 0: the loop's */
} corio_server_opts;

/* Listen on host and port (as corio_tcp_listen) and serve each connection
 * with fn(stream, arg) in a task of its own, from an accepting task, until
 * corio_server_close. Out of descriptors (EMFILE), accepting backs off
 * until a connection ends or 0.1 s passes. opts may be NULL. NULL with
 * errno set. Suspends (only to resolve a name); cancellation point. */
CORIO_API corio_server *corio_start_server(const char *host, int port,
                                           corio_server_fn fn, void *arg,
                                           const corio_server_opts *opts);

/* The same on a Unix domain socket at path (asyncio.start_unix_server).
 * Never suspends. */
CORIO_API corio_server *
corio_start_unix_server(const char *path, corio_server_fn fn, void *arg,
                        const corio_server_opts *opts);

/* Serve an existing listening socket, which the server owns from then on
 * (on failure it stays the caller's). NULL with errno set. Never
 * suspends. */
CORIO_API corio_server *corio_server_new(corio_sock *listener,
                                         corio_server_fn fn, void *arg,
                                         const corio_server_opts *opts);

/* The listening socket (borrowed), for its address. Never suspends. */
CORIO_API corio_sock *corio_server_sock(corio_server *srv);

/* Connections being served now. Never suspends. */
CORIO_API size_t corio_server_connections(const corio_server *srv);

/* Close the server gracefully: stop accepting, close the listener, wait up
 * to timeout seconds (< 0: no limit) for the handlers to end, then cancel
 * the rest and wait for them; then free srv. Returns how many handlers
 * had to be cancelled, or -ECANCELED / -ETIMEDOUT if the caller was
 * cancelled or timed out while waiting (the handlers are then cancelled
 * at once, and srv is still freed). -EPERM outside a task and -EDEADLK
 * from one of srv's handlers (nothing happens then). NULL is allowed.
 * Suspends; cancellation point. */
CORIO_API int corio_server_close(corio_server *srv, double timeout);

/* ---- one server per core ---- */

/* A set of loops, one per core (include/corio/multi.h). */
typedef struct corio_multi corio_multi;

/* Several loops serving one port. */
typedef struct corio_multi_server corio_multi_server;

/* Serve fn on host and port on every loop of m: each loop listens on a
 * socket of its own bound with SO_REUSEPORT, so the kernel spreads new
 * connections over the loops, and serves them as corio_start_server does
 * (opts as there; CORIO_SOCK_REUSEPORT is added). Port 0 picks one free
 * port that all share (corio_multi_server_port). Call it from a thread
 * that runs none of m's loops: it blocks until every loop listens. NULL
 * with errno set: as corio_start_server, EDEADLK from one of m's loops,
 * EINVAL. Never suspends (it blocks the calling thread). */
CORIO_API corio_multi_server *
corio_multi_server_start(corio_multi *m, const char *host, int port,
                         corio_server_fn fn, void *arg,
                         const corio_server_opts *opts);

/* The port the servers listen on, or -EINVAL for NULL. Never suspends. */
CORIO_API int corio_multi_server_port(const corio_multi_server *ms);

/* Close every loop's server as corio_server_close(srv, timeout) does,
 * then free ms. Returns how many handlers had to be cancelled in all, or
 * the first error; -EDEADLK (nothing happens) from one of m's loops. NULL
 * is allowed. Never suspends: it blocks the calling thread, like
 * corio_multi_close. */
CORIO_API int corio_multi_server_close(corio_multi_server *ms,
                                       double timeout);

#ifdef __cplusplus
}
#endif
#endif

/* SPDX-License-Identifier: MIT */
/* Sockets: TCP, UDP and Unix domain sockets as suspending calls, asyncio's
 * loop.sock_* and create_connection / create_server / create_datagram_
 * endpoint in sequential form. Every descriptor is non-blocking and
 * close-on-exec, no send raises SIGPIPE, and closing a socket wakes the
 * other tasks waiting on it with -EBADF. */
#ifndef CORIO_NET_H
#define CORIO_NET_H

#include <stdbool.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "corio/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A socket registered with the loop of the thread that made it. */
typedef struct corio_sock corio_sock;

/* ---- addresses ---- */

/* Room for any address corio_addr_format writes, with its NUL. */
#define CORIO_ADDR_STRLEN 112

/* Fill *addr and *len from a numeric host ("127.0.0.1", "::1", "[::1]",
 * "fe80::1%eth0") and a port. Never resolves a name. 0, or -EINVAL for
 * anything else (a name, a port outside 0..65535, NULL). Never suspends. */
CORIO_API int corio_addr_parse(const char *host, int port,
                               struct sockaddr_storage *addr,
                               socklen_t *len);

/* A Unix domain address for path; a path starting with '@' names the
 * Linux abstract namespace. 0, -ENAMETOOLONG, or -EINVAL for NULL or "".
 * Never suspends. */
CORIO_API int corio_addr_unix(const char *path, struct sockaddr_storage *addr,
                              socklen_t *len);

/* Write addr as text: "1.2.3.4:80", "[::1]:80", or a Unix path ("@name"
 * for an abstract one). Returns the length it needed, as snprintf does
 * (CORIO_ADDR_STRLEN bytes are always enough), or -EAFNOSUPPORT. Never
 * suspends. */
CORIO_API int corio_addr_format(const struct sockaddr *addr, socklen_t len,
                                char *buf, size_t cap);

/* The port of an IPv4 or IPv6 address, -1 for other families. Never
 * suspends. */
CORIO_API int corio_addr_port(const struct sockaddr *addr);

/* ---- any socket ---- */

/* socket(2) made non-blocking and close-on-exec and registered with the
 * loop running in this thread. NULL with errno set (EPERM with no loop,
 * the errors of socket(2), ENOMEM). Never suspends. */
CORIO_API corio_sock *corio_sock_new(int family, int type, int protocol);

/* Adopt the socket fd (an accepted or inherited one): corio makes it
 * non-blocking and close-on-exec and closes it in corio_sock_close. NULL
 * with errno set (ENOTSOCK, EPERM with no loop, ENOMEM); the descriptor
 * then stays the caller's. Never suspends. */
CORIO_API corio_sock *corio_sock_from_fd(int fd);

/* Close the socket: other tasks' pending operations on it wake with
 * -EBADF (once), close waits (in a task) for them to leave, closes the
 * descriptor and frees s whatever happens. 0 or the error of close(2).
 * NULL is allowed. Never suspends, except to let woken tasks leave. */
CORIO_API int corio_sock_close(corio_sock *s);

/* The descriptor, for setsockopt and the like; -1 for NULL. Do not close
 * it or make it blocking. Never suspends. */
CORIO_API int corio_sock_fileno(const corio_sock *s);

/* bind(2) and listen(2). 0 or a negative errno. Never suspend. */
CORIO_API int corio_sock_bind(corio_sock *s, const struct sockaddr *addr,
                              socklen_t len);
CORIO_API int corio_sock_listen(corio_sock *s, int backlog);

/* connect(2), waiting for the connection to complete (loop.sock_connect).
 * 0; the connection's error (-ECONNREFUSED, -ETIMEDOUT ...); -ECANCELED
 * or -ETIMEDOUT from the task; -EBADF if closed meanwhile. After an error
 * the socket cannot be connected again: close it. Suspends; cancellation
 * point. */
CORIO_API int corio_sock_connect(corio_sock *s, const struct sockaddr *addr,
                                 socklen_t len);

/* Accept a connection on a listening socket (loop.sock_accept). Aborted
 * connections are skipped. A new TCP connection has TCP_NODELAY on, as
 * in asyncio and Go. NULL with errno set: ECANCELED, ETIMEDOUT, EBADF
 * (closed meanwhile), EMFILE or ENFILE (out of descriptors: the
 * connection waits in the backlog), ENOMEM, EINVAL. Suspends;
 * cancellation point. */
CORIO_API corio_sock *corio_sock_accept(corio_sock *listener);

/* Receive up to len bytes (loop.sock_recv): the count, 0 at end of stream
 * (or for an empty datagram), or a negative errno (-ECONNRESET after a
 * peer reset, -ECANCELED, -ETIMEDOUT, -EBADF). On a datagram socket one
 * call takes one datagram; if it was longer than len, buf holds its first
 * len bytes, the rest is lost and the result is -EMSGSIZE. Suspends;
 * cancellation point. */
CORIO_API ssize_t corio_sock_recv(corio_sock *s, void *buf, size_t len);

/* corio_sock_recv that also stores the sender's address (from and fromlen
 * may be NULL; *fromlen is the room in from on entry). Suspends;
 * cancellation point. */
CORIO_API ssize_t corio_sock_recvfrom(corio_sock *s, void *buf, size_t len,
                                      struct sockaddr *from,
                                      socklen_t *fromlen);

/* recvmsg(2) once data is there: the byte count, with msg->msg_flags
 * reporting MSG_TRUNC and MSG_CTRUNC as the kernel sets them. Suspends;
 * cancellation point. */
CORIO_API ssize_t corio_sock_recvmsg(corio_sock *s, struct msghdr *msg,
                                     int flags);

/* Send all len bytes (loop.sock_sendall), waiting while the socket buffer
 * is full; on a datagram socket, send one datagram. Returns len, or, if
 * an error, a cancellation or a deadline struck after some bytes went
 * out, how many did (a short count); a negative errno if none did
 * (-EPIPE or -ECONNRESET after a peer reset; never SIGPIPE). Suspends;
 * cancellation point. */
CORIO_API ssize_t corio_sock_send(corio_sock *s, const void *buf, size_t len);

/* corio_sock_send over iovcnt buffers (writev): all bytes, or a short
 * count as above. Suspends; cancellation point. */
CORIO_API ssize_t corio_sock_sendv(corio_sock *s, const struct iovec *iov,
                                   int iovcnt);

/* Send one datagram to an address (to may be NULL on a connected
 * socket). The count or a negative errno (-EMSGSIZE if it is too long).
 * Suspends; cancellation point. */
CORIO_API ssize_t corio_sock_sendto(corio_sock *s, const void *buf,
                                    size_t len, const struct sockaddr *to,
                                    socklen_t tolen);

/* sendmsg(2) with MSG_NOSIGNAL added: on a stream socket every byte of
 * msg's buffers (ancillary data goes with the first), returned as
 * corio_sock_sendv does; on a datagram socket one datagram. Suspends;
 * cancellation point. */
CORIO_API ssize_t corio_sock_sendmsg(corio_sock *s, const struct msghdr *msg,
                                     int flags);

/* shutdown(2): SHUT_WR sends end of stream after the data already sent.
 * 0 or a negative errno. Never suspends. */
CORIO_API int corio_sock_shutdown(corio_sock *s, int how);

/* Socket options: TCP_NODELAY, SO_KEEPALIVE, SO_REUSEADDR, SO_REUSEPORT.
 * 0 or a negative errno. Never suspend. */
CORIO_API int corio_sock_set_nodelay(corio_sock *s, bool on);
CORIO_API int corio_sock_set_keepalive(corio_sock *s, bool on);
CORIO_API int corio_sock_set_reuseaddr(corio_sock *s, bool on);
CORIO_API int corio_sock_set_reuseport(corio_sock *s, bool on);

/* The local (getsockname) or peer (getpeername) address into *addr, its
 * length into *len if len is not NULL. 0 or a negative errno (-ENOTCONN).
 * Never suspend. */
CORIO_API int corio_sock_local_addr(const corio_sock *s,
                                    struct sockaddr_storage *addr,
                                    socklen_t *len);
CORIO_API int corio_sock_peer_addr(const corio_sock *s,
                                   struct sockaddr_storage *addr,
                                   socklen_t *len);

/* ---- TCP ---- */

/* Options of corio_tcp_connect; zero-initialise and set what you need. */
typedef struct corio_connect_opts {
    /* Happy Eyeballs (RFC 8305, asyncio's happy_eyeballs_delay): seconds
     * to wait for an attempt before starting the next address while it
     * still connects. 0: 0.25 s. Negative: one address at a time. */
    double happy_eyeballs_delay;
    /* AF_UNSPEC (0), AF_INET or AF_INET6. */
    int family;
    /* Bind to this address before connecting (asyncio's local_addr);
     * NULL: any. Addresses of another family are skipped. */
    const struct sockaddr *local_addr;
    socklen_t local_addrlen;
} corio_connect_opts;

/* Connect to host (a name, resolved with corio_getaddrinfo, or a numeric
 * address, which skips DNS) and port (loop.create_connection). Tries
 * every address, the two families interleaved, starting the next one
 * when an attempt fails or after the Happy Eyeballs delay; the first
 * connection wins and the others are closed. TCP_NODELAY is on. opts may
 * be NULL. NULL with errno set: the first attempt's error if all failed,
 * a resolver error (see corio_getaddrinfo), ECANCELED, ETIMEDOUT, EINVAL,
 * EPERM outside a task. Suspends; cancellation point. */
CORIO_API corio_sock *corio_tcp_connect(const char *host, int port,
                                        const corio_connect_opts *opts);

/* Flags of corio_listen_opts and corio_udp_opts. */
#define CORIO_SOCK_REUSEPORT 1u    /* SO_REUSEPORT: share the port */
#define CORIO_SOCK_NO_REUSEADDR 2u /* listeners: leave SO_REUSEADDR off
                                      (it is on by default, as asyncio
                                      has it on Unix) */
#define CORIO_SOCK_V6ONLY 4u       /* IPv6 sockets take no IPv4 */
#define CORIO_SOCK_BROADCAST 8u    /* UDP: SO_BROADCAST */

/* Options of the listening calls; zero-initialise. */
typedef struct corio_listen_opts {
    int backlog;    /* 0: SOMAXCONN */
    unsigned flags; /* CORIO_SOCK_* */
} corio_listen_opts;

/* A listening TCP socket on host and port (port 0: any free port;
 * corio_sock_local_addr tells which). host NULL or "" listens on every
 * interface, IPv6 and IPv4 on one socket where the system has IPv6; a
 * name is resolved and the first address that binds is used. opts may be
 * NULL. NULL with errno set. Suspends (only to resolve a name);
 * cancellation point. */
CORIO_API corio_sock *corio_tcp_listen(const char *host, int port,
                                       const corio_listen_opts *opts);

/* ---- UDP ---- */

/* Options of the UDP calls; zero-initialise. */
typedef struct corio_udp_opts {
    int family;     /* AF_UNSPEC (0), AF_INET or AF_INET6 */
    unsigned flags; /* CORIO_SOCK_REUSEPORT, CORIO_SOCK_BROADCAST,
                       CORIO_SOCK_V6ONLY */
} corio_udp_opts;

/* A UDP socket bound to host and port (NULL host: every interface; port
 * 0: any), for corio_sock_sendto / corio_sock_recvfrom. NULL with errno
 * set. Suspends (only to resolve a name); cancellation point. */
CORIO_API corio_sock *corio_udp_bind(const char *host, int port,
                                     const corio_udp_opts *opts);

/* A UDP socket connected to host and port: corio_sock_send and
 * corio_sock_recv exchange datagrams with that peer only. NULL with errno
 * set. Suspends (only to resolve a name); cancellation point. */
CORIO_API corio_sock *corio_udp_connect(const char *host, int port,
                                        const corio_udp_opts *opts);

/* ---- Unix domain sockets ---- */

/* Connect a stream socket to path. NULL with errno set (ENOENT,
 * ECONNREFUSED, ECANCELED, ETIMEDOUT ...). Suspends; cancellation
 * point. */
CORIO_API corio_sock *corio_unix_connect(const char *path);

/* A listening stream socket at path. A stale socket file left at path is
 * removed first, as asyncio does; any other file there is an error
 * (EADDRINUSE). opts may be NULL; its flags are ignored. NULL with errno
 * set. Never suspends. */
CORIO_API corio_sock *corio_unix_listen(const char *path,
                                        const corio_listen_opts *opts);

/* A datagram socket bound to local (NULL: unbound) and connected to peer
 * (NULL: not connected). NULL with errno set. Never suspends. */
CORIO_API corio_sock *corio_unix_dgram(const char *local, const char *peer);

/* A connected pair (socketpair(2), AF_UNIX) of type SOCK_STREAM,
 * SOCK_DGRAM or SOCK_SEQPACKET into pair[0] and pair[1]. 0 or a negative
 * errno (nothing is stored then). Never suspends. */
CORIO_API int corio_sock_pair(int type, corio_sock *pair[2]);

#ifdef __cplusplus
}
#endif
#endif

/* SPDX-License-Identifier: MIT */
/* Internals the files of the net module share and keep to themselves:
 * wrapping descriptors, resolving host and port, opening bound sockets,
 * and the resolver's hook into the loop. */
#ifndef CORIO_NET_INT_H
#define CORIO_NET_INT_H

#include <netdb.h>

#include "net/net.h"

/* Wrap fd (non-blocking, close-on-exec already) as a socket of the loop
 * running in this thread. NULL with errno set; fd stays the caller's. */
CORIO_HIDDEN corio_sock *corio__sock_wrap(int fd, int family, int type);

/* A non-blocking, close-on-exec socket(2), through the fault injector:
 * the descriptor or -1 with errno set. */
CORIO_HIDDEN int corio__net_socket(int family, int type, int protocol);

/* Resolve host and port for socktype into a list freed with
 * corio_freeaddrinfo. Numeric hosts never reach DNS, and do not suspend;
 * host NULL or "" with AI_PASSIVE in flags is the wildcard address. 0 or
 * a negative errno (those of corio_getaddrinfo). */
CORIO_HIDDEN int corio__net_resolve(const char *host, int port, int family,
                                    int socktype, int flags,
                                    struct addrinfo **res);

/* One node of a corio_getaddrinfo list, address included, in one block.
 * NULL if out of memory. */
CORIO_HIDDEN struct addrinfo *corio__ai_new(int family, int socktype,
                                            int protocol,
                                            const struct sockaddr *addr,
                                            socklen_t len);

/* A socket of socktype bound to host and port with the CORIO_SOCK_*
 * flags, listening with backlog if backlog > 0. host NULL or "": every
 * interface (IPv6 and IPv4 on one socket where possible). NULL with errno
 * set. */
CORIO_HIDDEN corio_sock *corio__net_open_bound(const char *host, int port,
                                               int family, int socktype,
                                               unsigned flags, int backlog);

/* Connect to the first address of res that answers, with Happy Eyeballs
 * (tcp.c; tests call it with address lists of their own). NULL with
 * errno set. */
CORIO_HIDDEN corio_sock *
corio__tcp_connect_list(const struct addrinfo *res,
                        const corio_connect_opts *opts);

#endif

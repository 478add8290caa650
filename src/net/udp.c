/* SPDX-License-Identifier: MIT */
/* UDP endpoints (asyncio's create_datagram_endpoint): a socket bound to a
 * local address, or one connected to a peer. Datagrams keep their
 * boundaries; corio_sock_recv and corio_sock_recvfrom report a datagram
 * that did not fit with -EMSGSIZE. */
#include "net/net_int.h"

#include "corio/dns.h"

corio_sock *corio_udp_bind(const char *host, int port,
                           const corio_udp_opts *opts)
{
    return corio__net_open_bound(host, port, opts ? opts->family : 0,
                                 SOCK_DGRAM, opts ? opts->flags : 0, 0);
}

corio_sock *corio_udp_connect(const char *host, int port,
                              const corio_udp_opts *opts)
{
    if (!host || port <= 0 || port > 65535) {
        errno = EINVAL;
        return NULL;
    }
    struct addrinfo *res;
    int rc = corio__net_resolve(host, port, opts ? opts->family : 0,
                                SOCK_DGRAM, 0, &res);
    if (rc < 0) {
        errno = -rc;
        return NULL;
    }
    /* A UDP connect only sets the peer, so the first address that takes
     * it is the one: nothing answers to tell a dead address from a live
     * one. */
    corio_sock *s = NULL;
    int first = 0;
    for (struct addrinfo *ai = res; ai && !s; ai = ai->ai_next) {
        s = corio_sock_new(ai->ai_family, SOCK_DGRAM, 0);
        if (!s) {
            rc = -errno;
        } else {
            unsigned fl = opts ? opts->flags : 0;
            rc = 0;
            if (fl & CORIO_SOCK_BROADCAST) {
                int on = 1;
                if (setsockopt(s->io.fd, SOL_SOCKET, SO_BROADCAST, &on,
                               sizeof on) < 0)
                    rc = -errno;
            }
            if (!rc && (fl & CORIO_SOCK_REUSEPORT))
                rc = corio_sock_set_reuseport(s, true);
            if (!rc)
                rc = corio_sock_connect(s, ai->ai_addr, ai->ai_addrlen);
            if (rc) {
                corio_sock_close(s);
                s = NULL;
            }
        }
        if (rc && !first)
            first = rc;
    }
    corio_freeaddrinfo(res);
    if (!s)
        errno = -first;
    return s;
}

/* SPDX-License-Identifier: MIT */
/* Name resolution that never blocks the loop: asyncio's loop.getaddrinfo,
 * on c-ares driven by the corio loop. Each loop has one resolver, made on
 * first use and freed with the loop. Names in the hosts file are answered
 * from it; numeric hosts never reach the resolver. */
#ifndef CORIO_DNS_H
#define CORIO_DNS_H

#include <netdb.h>
#include <sys/socket.h>

#include "corio/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Resolve host and service (a port number or a service name; either may
 * be NULL, not both) as getaddrinfo(3) does, into a list freed with
 * corio_freeaddrinfo. hints may be NULL; its ai_family, ai_socktype,
 * ai_protocol and the flags AI_PASSIVE, AI_NUMERICHOST, AI_NUMERICSERV,
 * AI_CANONNAME, AI_V4MAPPED and AI_ALL apply. The hosts file is
 * /etc/hosts, or the file the CARES_HOSTS environment variable names.
 * 0, or a negative errno: -ENXIO (no such name), -ENODATA (the name has no
 * address of the family asked), -EAGAIN (the server failed; try later),
 * -ECONNREFUSED, -EPROTO (a bad answer), -EINVAL (a malformed name or
 * service), -ECANCELED and -ETIMEDOUT (the task's, or the resolver gave
 * up), -ENOMEM, -EPERM outside a task (for names), -ENOSYS for names in
 * a build without c-ares. Suspends (not for numeric hosts); cancellation
 * point. */
CORIO_API int corio_getaddrinfo(const char *host, const char *service,
                                const struct addrinfo *hints,
                                struct addrinfo **res);

/* Free a list from corio_getaddrinfo. NULL is allowed. Never suspends. */
CORIO_API void corio_freeaddrinfo(struct addrinfo *res);

/* Use these name servers in the current loop's resolver, instead of those
 * of /etc/resolv.conf: a comma-separated list of "host", "host:port",
 * "[v6]:port". NULL goes back to the system's servers. 0, -EINVAL for a
 * malformed list, -EBUSY while lookups are in flight, -ENOMEM, -EPERM
 * with no loop. Never suspends. */
CORIO_API int corio_dns_set_servers(const char *servers);

#ifdef __cplusplus
}
#endif
#endif

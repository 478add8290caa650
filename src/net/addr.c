/* SPDX-License-Identifier: MIT */
/* Socket addresses: parsing numeric hosts, Unix paths, formatting, and
 * resolving a host and port for the connecting and listening calls, where
 * numeric hosts are answered here and never reach the DNS resolver. */
#include "net/net_int.h"

#include "corio/dns.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

/* Copy host into buf without the brackets of "[v6]"; false if it does
 * not fit or the brackets do not match. */
static bool unbracket(const char *host, char *buf, size_t cap)
{
    size_t n = strlen(host);
    if (host[0] == '[') {
        if (n < 2 || host[n - 1] != ']')
            return false;
        host++;
        n -= 2;
    }
    if (n >= cap)
        return false;
    memcpy(buf, host, n);
    buf[n] = '\0';
    return true;
}

int corio_addr_parse(const char *host, int port, struct sockaddr_storage *ss,
                     socklen_t *len)
{
    char buf[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
    if (!host || !ss || port < 0 || port > 65535 ||
        !unbracket(host, buf, sizeof buf))
        return -EINVAL;
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    if (host[0] != '[' && inet_pton(AF_INET, buf, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        if (len)
            *len = sizeof *a4;
        return 0;
    }
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    char *scope = strchr(buf, '%');
    if (scope)
        *scope++ = '\0';
    if (inet_pton(AF_INET6, buf, &a6->sin6_addr) != 1)
        return -EINVAL;
    if (scope) {
        /* A zone: an interface name or its index. */
        char *end;
        unsigned long id = strtoul(scope, &end, 10);
        if (*end || !*scope)
            id = if_nametoindex(scope);
        if (!id)
            return -EINVAL;
        a6->sin6_scope_id = (uint32_t)id;
    }
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons((uint16_t)port);
    if (len)
        *len = sizeof *a6;
    return 0;
}

int corio_addr_unix(const char *path, struct sockaddr_storage *ss,
                    socklen_t *len)
{
    if (!path || !*path || !ss)
        return -EINVAL;
    struct sockaddr_un *un = (struct sockaddr_un *)ss;
    size_t n = strlen(path);
    /* Abstract names fill sun_path without a terminating NUL. */
    bool abstract = path[0] == '@';
    if (n > sizeof un->sun_path - (abstract ? 0 : 1))
        return -ENAMETOOLONG;
    memset(ss, 0, sizeof *ss);
    un->sun_family = AF_UNIX;
    memcpy(un->sun_path, path, n);
    if (abstract)
        un->sun_path[0] = '\0';
    if (len)
        *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
                           (abstract ? 0 : 1));
    return 0;
}

int corio_addr_format(const struct sockaddr *sa, socklen_t len, char *buf,
                      size_t cap)
{
    char host[INET6_ADDRSTRLEN];
    if (!sa)
        return -EINVAL;
    if (!buf)
        cap = 0;
    switch (sa->sa_family) {
    case AF_INET: {
        const struct sockaddr_in *a4 = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &a4->sin_addr, host, sizeof host);
        return snprintf(buf, cap, "%s:%u", host, ntohs(a4->sin_port));
    }
    case AF_INET6: {
        const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &a6->sin6_addr, host, sizeof host);
        if (a6->sin6_scope_id)
            return snprintf(buf, cap, "[%s%%%u]:%u", host,
                            (unsigned)a6->sin6_scope_id,
                            ntohs(a6->sin6_port));
        return snprintf(buf, cap, "[%s]:%u", host, ntohs(a6->sin6_port));
    }
    case AF_UNIX: {
        const struct sockaddr_un *un = (const struct sockaddr_un *)sa;
        size_t off = offsetof(struct sockaddr_un, sun_path);
        size_t n = len > off ? len - off : 0;
        if (n > sizeof un->sun_path)
            n = sizeof un->sun_path;
        if (n && un->sun_path[0] == '\0') /* abstract: no NUL inside */
            return snprintf(buf, cap, "@%.*s", (int)(n - 1),
                            un->sun_path + 1);
        return snprintf(buf, cap, "%.*s", (int)strnlen(un->sun_path, n),
                        un->sun_path);
    }
    default:
        return -EAFNOSUPPORT;
    }
}

int corio_addr_port(const struct sockaddr *sa)
{
    if (sa && sa->sa_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)sa)->sin_port);
    if (sa && sa->sa_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
    return -1;
}

/* The wildcard addresses for host NULL: IPv6 first, where the system has
 * it, as getaddrinfo(NULL, ..., AI_PASSIVE) orders them. */
static int wildcard(int port, int family, int socktype, struct addrinfo **res)
{
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6,
                              .sin6_port = htons((uint16_t)port),
                              .sin6_addr = IN6ADDR_ANY_INIT};
    struct sockaddr_in a4 = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_ANY)};
    struct addrinfo *head = NULL, **tail = &head;
    if (family != AF_INET) {
        *tail = corio__ai_new(AF_INET6, socktype, 0, (struct sockaddr *)&a6,
                              sizeof a6);
        if (!*tail)
            goto err;
        tail = &(*tail)->ai_next;
    }
    if (family != AF_INET6) {
        *tail = corio__ai_new(AF_INET, socktype, 0, (struct sockaddr *)&a4,
                              sizeof a4);
        if (!*tail)
            goto err;
    }
    *res = head;
    return 0;
err:
    corio_freeaddrinfo(head);
    return -ENOMEM;
}

int corio__net_resolve(const char *host, int port, int family, int socktype,
                       int flags, struct addrinfo **res)
{
    if (port < 0 || port > 65535)
        return -EINVAL;
    if (!host || !*host) {
        if (!(flags & AI_PASSIVE))
            return -EINVAL;
        return wildcard(port, family, socktype, res);
    }
    struct sockaddr_storage ss;
    socklen_t len;
    if (corio_addr_parse(host, port, &ss, &len) == 0) {
        /* Numeric: no resolver, no suspension. */
        if (family && family != ss.ss_family)
            return -EAFNOSUPPORT;
        *res = corio__ai_new(ss.ss_family, socktype, 0,
                             (struct sockaddr *)&ss, len);
        return *res ? 0 : -ENOMEM;
    }
    char service[8];
    snprintf(service, sizeof service, "%d", port);
    struct addrinfo hints = {.ai_family = family,
                             .ai_socktype = socktype,
                             .ai_flags = flags | AI_NUMERICSERV};
    return corio_getaddrinfo(host, service, &hints, res);
}

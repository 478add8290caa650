/* SPDX-License-Identifier: MIT */
/* Unix domain sockets: stream connections and listeners, datagram
 * sockets, and socket pairs. Paths starting with '@' name the Linux
 * abstract namespace. */
#include "net/net_int.h"

#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

corio_sock *corio_unix_connect(const char *path)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int rc = corio_addr_unix(path, &ss, &len);
    if (rc < 0) {
        errno = -rc;
        return NULL;
    }
    corio_sock *s = corio_sock_new(AF_UNIX, SOCK_STREAM, 0);
    if (!s)
        return NULL;
    rc = corio_sock_connect(s, (struct sockaddr *)&ss, len);
    if (rc < 0) {
        corio_sock_close(s);
        errno = -rc;
        return NULL;
    }
    return s;
}

/* Remove a socket file left at path by a process that is gone: only a
 * socket, and only if nothing listens on it any more. */
static void remove_stale(const char *path, const struct sockaddr *addr,
                         socklen_t len)
{
    struct stat st;
    if (path[0] == '@' || lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode))
        return;
    int fd = corio__net_socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0)
        return;
    /* A live listener accepts (or, with a full backlog, says EAGAIN). */
    if (connect(fd, addr, len) < 0 && errno == ECONNREFUSED)
        unlink(path);
    close(fd);
}

corio_sock *corio_unix_listen(const char *path, const corio_listen_opts *opts)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int rc = corio_addr_unix(path, &ss, &len);
    if (rc < 0) {
        errno = -rc;
        return NULL;
    }
    remove_stale(path, (struct sockaddr *)&ss, len);
    corio_sock *s = corio_sock_new(AF_UNIX, SOCK_STREAM, 0);
    if (!s)
        return NULL;
    rc = corio_sock_bind(s, (struct sockaddr *)&ss, len);
    if (!rc)
        rc = corio_sock_listen(s, opts ? opts->backlog : 0);
    if (rc < 0) {
        corio_sock_close(s);
        errno = -rc;
        return NULL;
    }
    return s;
}

corio_sock *corio_unix_dgram(const char *local, const char *peer)
{
    struct sockaddr_storage ss;
    socklen_t len;
    corio_sock *s = corio_sock_new(AF_UNIX, SOCK_DGRAM, 0);
    if (!s)
        return NULL;
    int rc = 0;
    if (local) {
        rc = corio_addr_unix(local, &ss, &len);
        if (!rc)
            rc = corio_sock_bind(s, (struct sockaddr *)&ss, len);
    }
    if (!rc && peer) {
        rc = corio_addr_unix(peer, &ss, &len);
        if (!rc && connect(s->io.fd, (struct sockaddr *)&ss, len) < 0)
            rc = -errno;
    }
    if (rc < 0) {
        corio_sock_close(s);
        errno = -rc;
        return NULL;
    }
    return s;
}

int corio_sock_pair(int type, corio_sock *pair[2])
{
    int fd[2];
    if (!pair)
        return -EINVAL;
    if (!corio__tls_loop)
        return -EPERM;
    type &= ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (corio__fail_syscall())
        return -EMFILE;
    if (socketpair(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fd) < 0)
        return -errno;
    corio_sock *a = corio__sock_wrap(fd[0], AF_UNIX, type);
    corio_sock *b = a ? corio__sock_wrap(fd[1], AF_UNIX, type) : NULL;
    if (!b) {
        int e = errno;
        if (a)
            corio_sock_close(a);
        else
            close(fd[0]);
        close(fd[1]);
        return -e;
    }
    pair[0] = a;
    pair[1] = b;
    return 0;
}

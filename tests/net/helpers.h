/* SPDX-License-Identifier: MIT */
/* Helpers the networking tests share: running a case's main task with a
 * check that it leaves no descriptor open, loopback listeners, connected
 * pairs, a filled socket, and a tiny DNS server on 127.0.0.1 so that no
 * test ever sends a query off the machine. */
#ifndef CORIO_TEST_NET_HELPERS_H
#define CORIO_TEST_NET_HELPERS_H

#include "harness.h"

#include <arpa/inet.h>
#include <corio.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static inline int th_count_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

/* Descriptors open before a check, inherited ones among them. */
static bool fd_was_open[4096];

static inline void fd_snapshot(void)
{
    memset(fd_was_open, 0, sizeof fd_was_open);
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (atoi(e->d_name) < 4096)
            fd_was_open[atoi(e->d_name)] = true;
    if (d)
        closedir(d);
}

/* Whether every descriptor opened since fd_snapshot() is close-on-exec. */
static inline bool new_fds_cloexec(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return false;
    bool ok = true;
    struct dirent *e;
    while ((e = readdir(d))) {
        int fd = atoi(e->d_name);
        if (fd < 4096 && fd_was_open[fd])
            continue;
        if (fd != dirfd(d) && !(fcntl(fd, F_GETFD) & FD_CLOEXEC)) {
            char link[64], target[256] = "";
            snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
            ssize_t n = readlink(link, target, sizeof target - 1);
            fprintf(stderr, "descriptor %d (%s) is not close-on-exec\n", fd,
                    n > 0 ? target : "?");
            ok = false;
        }
    }
    closedir(d);
    return ok;
}

/* In a task: sleep in small steps until cond holds, for at most secs of
 * real time (the loop's clock may be virtual), for a state that other
 * tasks or the kernel reach soon however slowly the machine runs (ASan,
 * an overloaded CI). The caller asserts cond afterwards. */
#define WAIT_UNTIL(cond, secs)                                               \
    do {                                                                     \
        double th_until = th_now() + (secs);                                 \
        while (!(cond) && th_now() < th_until)                               \
            ASSERT_OK(corio_sleep(0.001));                                   \
    } while (0)

/* In a task: until at least n bytes wait in s's receive queue. A peer's
 * send over loopback is there at once, unless a busy kernel defers it. */
static inline void wait_inq(corio_sock *s, int n)
{
    int q = 0;
    WAIT_UNTIL(ioctl(corio_sock_fileno(s), FIONREAD, &q) == 0 && q >= n, 10);
    ASSERT_GE(q, n);
}

/* Run fn as the main task; it must return 0 and leave no descriptor. */
#define RUN(fn)                                                              \
    do {                                                                     \
        int th_fds = th_count_fds();                                         \
        ASSERT_OK(corio_run(fn, NULL));                                      \
        ASSERT_EQ(th_count_fds(), th_fds);                                   \
    } while (0)

/* A TCP listener on 127.0.0.1 (or ::1) and a free port; its port. */
static inline corio_sock *listen_lo(bool v6, int *port)
{
    corio_sock *l = corio_tcp_listen(v6 ? "::1" : "127.0.0.1", 0, NULL);
    ASSERT_NOT_NULL(l);
    struct sockaddr_storage ss;
    ASSERT_OK(corio_sock_local_addr(l, &ss, NULL));
    *port = corio_addr_port((struct sockaddr *)&ss);
    ASSERT_GT(*port, 0);
    return l;
}

/* A connected TCP pair over loopback: c (client side), s (server side). */
static inline void tcp_pair(corio_sock **c, corio_sock **s)
{
    int port;
    corio_sock *l = listen_lo(false, &port);
    *c = corio_tcp_connect("127.0.0.1", port, NULL);
    ASSERT_NOT_NULL(*c);
    *s = corio_sock_accept(l);
    ASSERT_NOT_NULL(*s);
    ASSERT_OK(corio_sock_close(l));
}

/* Fill s's send path (and the peer's receive buffer) until a send would
 * wait; returns the bytes that went in. */
static inline size_t fill_sock(corio_sock *s)
{
    static char junk[65536];
    size_t total = 0;
    for (;;) {
        ssize_t n = send(corio_sock_fileno(s), junk, sizeof junk,
                         MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n <= 0)
            break;
        total += (size_t)n;
    }
    return total;
}

/* Make the peer of s see a reset: SO_LINGER 0 and close. */
static inline void reset_close(corio_sock *s)
{
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    ASSERT_OK(setsockopt(corio_sock_fileno(s), SOL_SOCKET, SO_LINGER, &lg,
                         sizeof lg));
    ASSERT_OK(corio_sock_close(s));
}

static inline bool fd_cloexec_nonblock(int fd)
{
    return (fcntl(fd, F_GETFD) & FD_CLOEXEC) &&
           (fcntl(fd, F_GETFL) & O_NONBLOCK);
}

/* Deterministic test data: byte i of stream `seed`. */
static inline unsigned char pattern(uint64_t seed, uint64_t i)
{
    uint64_t x = (i / 8 + 1) * 0x9E3779B97F4A7C15ull ^ seed;
    x ^= x >> 29;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 32;
    return (unsigned char)(x >> (8 * (i % 8)));
}

/* ---- a DNS server for the tests, on 127.0.0.1 ----
 *
 * Answers A queries for the names in its table, NODATA for other types of
 * those names, NXDOMAIN for anything else; a "silent" server answers
 * nothing (for deadlines). Names ending in ".slow" are answered after
 * `delay` seconds. It counts the queries it saw. Runs as a task. */
struct fake_dns {
    corio_sock *sock;
    int port;
    int queries;
    bool silent;
    double delay;
    const char *names[4];      /* answered with addrs[i] */
    struct in_addr addrs[4];
    corio_task *task;
};

/* Read a DNS name at off into out ("a.b.c"); the offset after it. */
static inline size_t dns_name(const unsigned char *p, size_t n, size_t off,
                              char *out, size_t cap)
{
    size_t k = 0;
    while (off < n && p[off]) {
        size_t len = p[off++];
        if (k && k < cap - 1)
            out[k++] = '.';
        for (size_t i = 0; i < len && off < n; i++, off++)
            if (k < cap - 1)
                out[k++] = (char)p[off];
    }
    out[k] = '\0';
    return off + 1;
}

struct fake_reply {
    struct fake_dns *d;
    struct sockaddr_storage to;
    socklen_t tolen;
    unsigned char buf[512];
    size_t len;
};

static int fake_send_later(void *arg)
{
    struct fake_reply *r = arg;
    if (corio_sleep(r->d->delay) == 0)
        corio_sock_sendto(r->d->sock, r->buf, r->len,
                          (struct sockaddr *)&r->to, r->tolen);
    free(r);
    return 0;
}

static int fake_dns_serve(void *arg)
{
    struct fake_dns *d = arg;
    for (;;) {
        struct fake_reply *r = calloc(1, sizeof *r);
        r->d = d;
        r->tolen = sizeof r->to;
        ssize_t n = corio_sock_recvfrom(d->sock, r->buf, sizeof r->buf,
                                        (struct sockaddr *)&r->to, &r->tolen);
        if (n < 0) {
            free(r);
            return n == -ECANCELED || n == -EBADF ? 0 : (int)n;
        }
        d->queries++;
        if (d->silent || n < 12) {
            free(r);
            continue;
        }
        char name[256];
        size_t q = dns_name(r->buf, (size_t)n, 12, name, sizeof name);
        unsigned qtype = (unsigned)(r->buf[q] << 8 | r->buf[q + 1]);
        size_t qend = q + 4;
        int idx = -1;
        for (int i = 0; i < 4 && d->names[i]; i++)
            if (strcasecmp(name, d->names[i]) == 0)
                idx = i;
        r->buf[2] = (unsigned char)(0x80 | (r->buf[2] & 0x01)); /* QR, RD */
        r->buf[3] = 0x80 | (idx < 0 ? 3 : 0);                  /* RA, rcode */
        r->buf[6] = r->buf[7] = 0;                             /* ANCOUNT */
        r->buf[8] = r->buf[9] = r->buf[10] = r->buf[11] = 0;
        size_t len = qend;
        if (idx >= 0 && qtype == 1) {
            static const unsigned char rr[] = {0xc0, 0x0c, 0, 1, 0, 1, 0,
                                               0,    0,    60, 0, 4};
            memcpy(r->buf + len, rr, sizeof rr);
            len += sizeof rr;
            memcpy(r->buf + len, &d->addrs[idx], 4);
            len += 4;
            r->buf[7] = 1;
        }
        r->len = len;
        size_t nl = strlen(name);
        if (nl > 5 && strcmp(name + nl - 5, ".slow") == 0) {
            corio_task *t = corio_spawn(fake_send_later, r);
            corio_task_unref(t);
            continue;
        }
        corio_sock_sendto(d->sock, r->buf, len, (struct sockaddr *)&r->to,
                          r->tolen);
        free(r);
    }
}

/* Start the server and point the loop's resolver at it. */
static inline void fake_dns_start(struct fake_dns *d)
{
    d->sock = corio_udp_bind("127.0.0.1", 0, NULL);
    ASSERT_NOT_NULL(d->sock);
    struct sockaddr_storage ss;
    ASSERT_OK(corio_sock_local_addr(d->sock, &ss, NULL));
    d->port = corio_addr_port((struct sockaddr *)&ss);
    char csv[64];
    snprintf(csv, sizeof csv, "127.0.0.1:%d", d->port);
    ASSERT_OK(corio_dns_set_servers(csv));
    d->task = corio_spawn(fake_dns_serve, d);
    ASSERT_NOT_NULL(d->task);
}

static inline void fake_dns_stop(struct fake_dns *d)
{
    corio_cancel(d->task);
    int rc = corio_join(d->task); /* -ECANCELED if it never ran */
    ASSERT_TRUE(rc == 0 || rc == -ECANCELED);
    ASSERT_OK(corio_sock_close(d->sock));
}

#endif

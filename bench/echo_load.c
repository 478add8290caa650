/* SPDX-License-Identifier: MIT */
/* The load generator of workloads (m) and (n), in plain C on epoll so that
 * it is the same for every server and not the bottleneck.
 *
 * Ping-pong: CONNS connections each send SIZE bytes, wait for the echo,
 * and send again, for SECONDS (after WARMUP seconds not counted). Prints
 * one JSON line: round trips per second, and the round-trip latency's
 * median, p99 and p99.9 in microseconds.
 *
 * Idle (--idle): open CONNS connections, each echoes one 64-byte message
 * (so the server has set each one up), print {"ready": CONNS}, then hold
 * them open until standard input closes.
 *
 * Connections are closed with a reset (SO_LINGER 0), so that repeated runs
 * leave no TIME_WAIT sockets behind to exhaust the local ports.
 * Usage: bench_echo_load HOST PORT CONNS SIZE SECONDS [WARMUP]
 *        bench_echo_load --idle HOST PORT CONNS */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HIST_US 100000 /* latency histogram: 1 µs buckets up to 100 ms */

struct conn {
    int fd;
    size_t got;      /* bytes of the echo received */
    int64_t sent_at; /* ns */
};

static uint32_t hist[HIST_US + 1];
static char msg[65536];

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_echo_load: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* Open n connections to addr, in batches so that the listener's backlog
 * never overflows; each has TCP_NODELAY and is non-blocking. */
static struct conn *connect_all(int ep, struct sockaddr_in *addr, int n)
{
    struct conn *c = calloc((size_t)n, sizeof *c);
    struct epoll_event evs[256];
    for (int base = 0; base < n; base += 256) {
        int end = base + 256 < n ? base + 256 : n;
        for (int i = base; i < end; i++) {
            c[i].fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
            if (c[i].fd < 0)
                die("socket");
            int one = 1;
            setsockopt(c[i].fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            struct linger lg = {1, 0};
            setsockopt(c[i].fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
            if (connect(c[i].fd, (struct sockaddr *)addr, sizeof *addr) < 0 &&
                errno != EINPROGRESS)
                die("connect");
            struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = &c[i]};
            if (epoll_ctl(ep, EPOLL_CTL_ADD, c[i].fd, &ev) < 0)
                die("epoll_ctl");
        }
        for (int left = end - base; left > 0;) {
            int k = epoll_wait(ep, evs, 256, 10000);
            if (k <= 0)
                die("connect timeout");
            for (int j = 0; j < k; j++) {
                struct conn *x = evs[j].data.ptr;
                int err = 0;
                socklen_t len = sizeof err;
                getsockopt(x->fd, SOL_SOCKET, SO_ERROR, &err, &len);
                if (err) {
                    errno = err;
                    die("connect");
                }
                struct epoll_event ev = {.events = EPOLLIN, .data.ptr = x};
                epoll_ctl(ep, EPOLL_CTL_MOD, x->fd, &ev);
                left--;
            }
        }
    }
    return c;
}

static void send_msg(struct conn *c, size_t size)
{
    c->got = 0;
    c->sent_at = now_ns();
    if (send(c->fd, msg, size, MSG_NOSIGNAL) != (ssize_t)size)
        die("send");
}

/* Read what is there; true once the whole echo is in. */
static int read_echo(struct conn *c, size_t size)
{
    char buf[65536];
    ssize_t n = recv(c->fd, buf, size - c->got, 0);
    if (n == 0) {
        errno = ECONNRESET;
        die("the server closed a connection");
    }
    if (n < 0) {
        if (errno == EAGAIN)
            return 0;
        die("recv");
    }
    c->got += (size_t)n;
    return c->got == size;
}

static double percentile(uint64_t total, double p)
{
    uint64_t want = (uint64_t)(p * (double)total), seen = 0;
    for (int i = 0; i <= HIST_US; i++) {
        seen += hist[i];
        if (seen > want)
            return i;
    }
    return HIST_US;
}

static void close_all(struct conn *c, int n)
{
    for (int i = 0; i < n; i++)
        close(c[i].fd);
    free(c);
}

static int idle(struct sockaddr_in *addr, int n)
{
    int ep = epoll_create1(0);
    double t0 = (double)now_ns() / 1e9;
    struct conn *c = connect_all(ep, addr, n);
    /* One echo each, in batches, so every connection is set up. */
    struct epoll_event evs[256];
    for (int base = 0; base < n; base += 256) {
        int end = base + 256 < n ? base + 256 : n;
        for (int i = base; i < end; i++)
            send_msg(&c[i], 64);
        for (int left = end - base; left > 0;) {
            int k = epoll_wait(ep, evs, 256, 10000);
            if (k <= 0)
                die("echo timeout");
            for (int j = 0; j < k; j++)
                if (read_echo(evs[j].data.ptr, 64))
                    left--;
        }
    }
    printf("{\"ready\": %d, \"setup_s\": %.3f}\n", n,
           (double)now_ns() / 1e9 - t0);
    fflush(stdout);
    char b[64];
    while (read(0, b, sizeof b) > 0)
        ;
    close_all(c, n);
    return 0;
}

int main(int argc, char **argv)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    bool idle_mode = argc > 1 && strcmp(argv[1], "--idle") == 0;
    if (idle_mode ? argc != 5 : argc < 6) {
        fprintf(stderr, "usage: bench_echo_load HOST PORT CONNS SIZE SECONDS "
                        "[WARMUP]\n       bench_echo_load --idle HOST PORT "
                        "CONNS\n");
        return 2;
    }
    char **a = argv + idle_mode;
    struct sockaddr_in addr = {.sin_family = AF_INET,
                               .sin_port = htons((uint16_t)atoi(a[2]))};
    if (inet_pton(AF_INET, a[1], &addr.sin_addr) != 1) {
        fprintf(stderr, "bench_echo_load: HOST must be an IPv4 address\n");
        return 2;
    }
    int n = atoi(a[3]);
    if (n <= 0)
        return 2;
    if (idle_mode)
        return idle(&addr, n);

    size_t size = (size_t)atol(a[4]);
    double secs = atof(a[5]);
    double warm = argc > 6 ? atof(argv[6]) : (secs / 10 < 1 ? secs / 10 : 1);
    if (size == 0 || size > sizeof msg || !(secs > 0))
        return 2;
    memset(msg, 'e', size);
    int ep = epoll_create1(0);
    struct conn *c = connect_all(ep, &addr, n);

    int64_t start = now_ns();
    int64_t count_from = start + (int64_t)(warm * 1e9);
    int64_t end = count_from + (int64_t)(secs * 1e9);
    uint64_t rts = 0;
    for (int i = 0; i < n; i++)
        send_msg(&c[i], size);
    struct epoll_event evs[512];
    int64_t t = start;
    while (t < end) {
        int k = epoll_wait(ep, evs, 512, 100);
        if (k < 0 && errno != EINTR)
            die("epoll_wait");
        t = now_ns();
        for (int j = 0; j < k; j++) {
            struct conn *x = evs[j].data.ptr;
            if (!read_echo(x, size))
                continue;
            if (t >= count_from) {
                int64_t us = (t - x->sent_at) / 1000;
                hist[us > HIST_US ? HIST_US : us]++;
                rts++;
            }
            send_msg(x, size);
        }
    }
    double measured = (double)(t - count_from) / 1e9;
    printf("{\"conns\": %d, \"size\": %zu, \"seconds\": %.3f, "
           "\"round_trips\": %llu, \"rt_per_s\": %.1f, \"p50_us\": %.0f, "
           "\"p99_us\": %.0f, \"p999_us\": %.0f}\n",
           n, size, measured, (unsigned long long)rts, (double)rts / measured,
           percentile(rts, 0.5), percentile(rts, 0.99),
           percentile(rts, 0.999));
    close_all(c, n);
    return 0;
}

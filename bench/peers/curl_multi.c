/* SPDX-License-Identifier: MIT */
/* Workload (x), the C reference: the same crawl on libcurl alone, as its
 * documentation's multi examples write it: CONCURRENCY easy handles in
 * one multi handle, each given the next URL as soon as it is done, and
 * driven in one of two ways:
 *
 * - by curl_multi_perform and curl_multi_poll (poll(2) over every socket
 *   on every round), the simplest;
 * - with --socket, by curl_multi_socket_action on epoll, as an event loop
 *   must drive it (libcurl's hiperfifo example), which is how corio's
 *   client drives it.
 *
 * No tasks, no loop: what corio's client costs on top of libcurl is the
 * difference. A warm-up of N/10 pages comes first, untimed. Prints one
 * line of JSON, as bench_http_crawl does.
 * Usage: bench_curl_multi N URL [CONCURRENCY] [--socket] */
#include <curl/curl.h>

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

struct crawl {
    CURLM *multi;
    int ep;          /* --socket: the epoll set of libcurl's sockets */
    long timeout_ms; /* --socket: libcurl's timer, -1 for none */
    const char *url; /* the prefix each page number is appended to */
    long next;       /* the next page number */
    long end;        /* one past the last page of this phase */
    long failed;
    uint64_t bytes;
};

static size_t on_write(char *p, size_t size, size_t n, void *arg)
{
    (void)p;
    struct crawl *c = arg;
    c->bytes += size * n;
    return size * n;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Give easy the next page, if there is one left: 1 if it was added. */
static int start(struct crawl *c, CURL *easy)
{
    if (c->next >= c->end)
        return 0;
    char url[512];
    snprintf(url, sizeof url, "%s%ld", c->url, c->next++);
    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_multi_add_handle(c->multi, easy);
    return 1;
}

/* Check the transfers that ended and give their handles the next pages;
 * returns the change in the number running. */
static long reap(struct crawl *c)
{
    long d = 0;
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(c->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        CURL *e = m->easy_handle;
        long status = 0;
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
        if (m->data.result != CURLE_OK || status != 200)
            c->failed++;
        curl_multi_remove_handle(c->multi, e);
        d += start(c, e) - 1;
    }
    return d;
}

/* --socket: CURLMOPT_SOCKETFUNCTION and CURLMOPT_TIMERFUNCTION. */
static int on_socket(CURL *e, curl_socket_t fd, int what, void *arg,
                     void *known)
{
    (void)e;
    struct crawl *c = arg;
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(c->ep, EPOLL_CTL_DEL, fd, NULL);
        curl_multi_assign(c->multi, fd, NULL);
        return 0;
    }
    struct epoll_event ev = {
        .events = (what & CURL_POLL_IN ? EPOLLIN : 0) |
                  (what & CURL_POLL_OUT ? EPOLLOUT : 0),
        .data.fd = fd};
    if (known)
        return epoll_ctl(c->ep, EPOLL_CTL_MOD, fd, &ev) < 0 ? -1 : 0;
    curl_multi_assign(c->multi, fd, c);
    return epoll_ctl(c->ep, EPOLL_CTL_ADD, fd, &ev) < 0 ? -1 : 0;
}

static int on_timer(CURLM *m, long ms, void *arg)
{
    (void)m;
    ((struct crawl *)arg)->timeout_ms = ms;
    return 0;
}

/* Fetch pages [c->next, end) on the n handles; the seconds it took. */
static double phase(struct crawl *c, CURL **easy, long n, long end)
{
    double t0 = now();
    c->end = end;
    long running = 0;
    for (long i = 0; i < n; i++)
        running += start(c, easy[i]);
    int still;
    while (running > 0) {
        if (c->ep < 0) {
            curl_multi_perform(c->multi, &still);
            running += reap(c);
            if (running > 0)
                curl_multi_poll(c->multi, NULL, 0, 1000, NULL);
            continue;
        }
        struct epoll_event evs[64];
        int k = epoll_wait(c->ep, evs, 64,
                           c->timeout_ms < 0 ? 1000 : (int)c->timeout_ms);
        if (k <= 0)
            curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &still);
        for (int i = 0; i < k; i++) {
            uint32_t ev = evs[i].events;
            int bits = (ev & EPOLLIN ? CURL_CSELECT_IN : 0) |
                       (ev & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
                       (ev & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
            curl_multi_socket_action(c->multi, evs[i].data.fd, bits, &still);
        }
        if (c->timeout_ms == 0)
            curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &still);
        running += reap(c);
    }
    return now() - t0;
}

int main(int argc, char **argv)
{
    int sock = argc > 3 && strcmp(argv[argc - 1], "--socket") == 0;
    argc -= sock;
    if (argc < 3) {
        fprintf(stderr,
                "usage: bench_curl_multi N URL [CONCURRENCY] [--socket]\n");
        return 2;
    }
    long n = atol(argv[1]);
    long conc = argc > 3 ? atol(argv[3]) : 64;
    if (n <= 0 || conc <= 0) {
        fprintf(stderr, "bench_curl_multi: bad count\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct crawl c = {.multi = curl_multi_init(), .url = argv[2], .ep = -1,
                      .timeout_ms = -1};
    if (sock) {
        c.ep = epoll_create1(EPOLL_CLOEXEC);
        if (c.ep < 0)
            return 1;
        curl_multi_setopt(c.multi, CURLMOPT_SOCKETFUNCTION, on_socket);
        curl_multi_setopt(c.multi, CURLMOPT_SOCKETDATA, &c);
        curl_multi_setopt(c.multi, CURLMOPT_TIMERFUNCTION, on_timer);
        curl_multi_setopt(c.multi, CURLMOPT_TIMERDATA, &c);
    }
    curl_multi_setopt(c.multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, conc);
    curl_multi_setopt(c.multi, CURLMOPT_MAXCONNECTS, conc);
    CURL **easy = calloc((size_t)conc, sizeof *easy);
    for (long i = 0; easy && i < conc; i++) {
        easy[i] = curl_easy_init();
        curl_easy_setopt(easy[i], CURLOPT_WRITEFUNCTION, on_write);
        curl_easy_setopt(easy[i], CURLOPT_WRITEDATA, &c);
        curl_easy_setopt(easy[i], CURLOPT_NOSIGNAL, 1L);
    }
    if (!c.multi || !easy)
        return 1;
    long warm = n / 10 ? n / 10 : 1;
    phase(&c, easy, conc, warm);
    long warm_failed = c.failed;
    c.bytes = 0;
    double secs = phase(&c, easy, conc, warm + n);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("{\"requests\": %ld, \"concurrency\": %ld, \"secs\": %.6f, "
           "\"req_per_s\": %.1f, \"bytes\": %" PRIu64 ", \"failed\": %ld, "
           "\"warmup\": %ld, \"backend\": \"%s\", "
           "\"maxrss_kib\": %ld}\n",
           n, conc, secs, (double)n / secs, c.bytes, c.failed - warm_failed,
           warm, sock ? "multi-socket+epoll" : "multi+poll", ru.ru_maxrss);
    for (long i = 0; i < conc; i++)
        curl_easy_cleanup(easy[i]);
    free(easy);
    curl_multi_cleanup(c.multi);
    curl_global_cleanup();
    if (c.ep >= 0)
        close(c.ep);
    return c.failed ? 1 : 0;
}

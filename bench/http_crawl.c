/* SPDX-License-Identifier: MIT */
/* Workload (x), corio's side: a crawl of N small pages from a local
 * server (nginx in bench/run) with CONCURRENCY requests in flight, on one
 * corio_http_session: CONCURRENCY tasks each take the next page number
 * and GET URL<number> (URL http://127.0.0.1:PORT/page/ gives /page/0,
 * /page/1 ...), read the whole body and check the status. A warm-up of
 * N/10 pages (connections opened, caches filled) comes first, untimed.
 * Prints one line of JSON: requests/s over the N pages, and the bytes
 * and failures seen. bench/crawlbench.py runs it against the peers.
 * Usage: bench_http_crawl N URL [CONCURRENCY] */
#include "bench.h"

#include <corio.h>
#include <corio/http.h>

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct crawl {
    corio_http_session *session;
    const char *url; /* the prefix each page number is appended to */
    long next;       /* the next page number to fetch */
    long end;        /* one past the last page of this phase */
    long failed;     /* pages that failed or were not 200 */
    uint64_t bytes;  /* body bytes received */
    int first_err;   /* the first failed fetch's error, for the message */
    int bad_status;  /* the first status other than 200 */
};

/* One of the CONCURRENCY tasks: fetch pages until there are none left.
 * The loop is single-threaded, so next needs no atomics. */
static int worker(void *arg)
{
    struct crawl *c = arg;
    char url[512];
    while (c->next < c->end) {
        snprintf(url, sizeof url, "%s%ld", c->url, c->next++);
        corio_http_response *r;
        int rc = corio_http_get(c->session, url, &r);
        if (rc < 0) {
            c->failed++;
            c->first_err = c->first_err ? c->first_err : rc;
            continue;
        }
        size_t len;
        corio_http_response_body(r, &len);
        c->bytes += len;
        int st = corio_http_response_status(r);
        if (st != 200) {
            c->failed++;
            c->bad_status = c->bad_status ? c->bad_status : st;
        }
        corio_http_response_close(r);
    }
    return 0;
}

/* Fetch pages [c->next, end) with n tasks; the seconds it took. */
static double phase(struct crawl *c, long end, long n)
{
    double t0 = corio_time();
    c->end = end;
    corio_task **ts = malloc((size_t)n * sizeof *ts);
    if (!ts)
        return -1;
    for (long i = 0; i < n; i++)
        ts[i] = corio_spawn(worker, c);
    for (long i = 0; i < n; i++)
        if (ts[i])
            corio_join(ts[i]);
    free(ts);
    return corio_time() - t0;
}

struct args {
    long n;
    const char *url;
    long conc;
};

static int bench(void *arg)
{
    struct args *a = arg;
    /* One connection per task, kept alive: the crawler's pool. */
    corio_http_session_opts so = {.max_connections = (size_t)a->conc};
    struct crawl c = {.session = corio_http_session_new(&so),
                      .url = a->url};
    if (!c.session) {
        perror("bench_http_crawl: session");
        return 1;
    }
    long warm = a->n / 10 ? a->n / 10 : 1;
    phase(&c, warm, a->conc);
    long warm_failed = c.failed;
    c.bytes = 0;
    double secs = phase(&c, warm + a->n, a->conc);
    if (c.first_err)
        fprintf(stderr, "bench_http_crawl: %ld pages failed, the first with "
                        "%s\n",
                c.failed, strerror(-c.first_err));
    else if (c.bad_status)
        fprintf(stderr, "bench_http_crawl: %ld pages failed, the first with "
                        "status %d\n",
                c.failed, c.bad_status);
    printf("{\"requests\": %ld, \"concurrency\": %ld, \"secs\": %.6f, "
           "\"req_per_s\": %.1f, \"bytes\": %" PRIu64 ", \"failed\": %ld, "
           "\"warmup\": %ld, \"backend\": \"%s\", \"maxrss_kib\": %ld}\n",
           a->n, a->conc, secs, (double)a->n / secs, c.bytes,
           c.failed - warm_failed, warm,
           corio_loop_backend(corio_loop_current()), bench_maxrss_kib());
    corio_http_session_close(c.session);
    return c.failed ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_http_crawl N URL [CONCURRENCY]\n");
        return 2;
    }
    struct args a = {.n = bench_arg_long(argc, argv, 1, 0),
                     .url = argv[2],
                     .conc = bench_arg_long(argc, argv, 3, 64)};
    return corio_run(bench, &a);
}

/* SPDX-License-Identifier: MIT */
/* crawler [--concurrency|-c WORKERS] [-t TIMEOUT] [-n MAX] URL...: fetch
 * the pages at the URLs and, from HTML pages, the pages they link to on the same
 * origin (scheme, host and port), each once, up to MAX pages (100). One
 * line per page: the status (or the error), the body's size and the URL;
 * then a summary. The asyncio crawler of "500 Lines or Less" in C:
 *
 *   - one corio_http_session (aiohttp.ClientSession) for every request,
 *     so that connections are reused and at most WORKERS are open;
 *   - WORKERS tasks (4) take URLs from a corio_queue (asyncio.Queue) and
 *     put the links they find on it: their number bounds the
 *     concurrency, and corio_queue_join tells when every URL put has
 *     been crawled;
 *   - each request has TIMEOUT seconds (10), redirects included (the
 *     session's timeout, aiohttp's ClientTimeout(total=...)).
 *
 * Exit status: 0 if every page was fetched (whatever its status), 1 if
 * some failed, 2 for bad arguments. */
#include <corio.h>
#include <corio/http.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct crawl {
    corio_http_session *session;
    corio_queue *todo;     /* URLs (malloc'd strings) to fetch */
    char **seen;           /* every URL ever queued: a hash set */
    size_t seen_cap;       /* slots, a power of two */
    size_t seen_n;
    size_t max_pages;
    char **roots;          /* the URLs given: links may go to their
                              origins */
    int nroots;
    /* What came of it. */
    size_t pages;
    size_t failed;
    uint64_t bytes;
};

/* ---- URLs ---- */

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

/* Add url to the seen set: true if it is new. The set never holds more
 * than max_pages URLs, so it is sized for them once. */
static bool seen_add(struct crawl *c, const char *url)
{
    size_t i = hash(url) & (c->seen_cap - 1);
    for (; c->seen[i]; i = (i + 1) & (c->seen_cap - 1))
        if (strcmp(c->seen[i], url) == 0)
            return false;
    if (!(c->seen[i] = strdup(url)))
        return false;
    c->seen_n++;
    return true;
}

/* The length of url's origin, "http://host:port" without the path; 0 if
 * url is not http or https. */
static size_t origin_len(const char *url)
{
    size_t n;
    if (strncasecmp(url, "http://", 7) == 0)
        n = 7;
    else if (strncasecmp(url, "https://", 8) == 0)
        n = 8;
    else
        return 0;
    return n + strcspn(url + n, "/?#");
}

/* The absolute URL of link found on page base (malloc'd), or NULL for
 * links that lead elsewhere: other schemes (mailto:, javascript:), or
 * other origins than the roots'. Handles absolute links, "/path" and
 * "path" (relative to base's directory); a crawler for the wild would
 * resolve "../" and normalise too. */
static char *resolve(const struct crawl *c, const char *base,
                     const char *link, size_t len)
{
    len = len < strcspn(link, "#") ? len : strcspn(link, "#");
    if (len == 0 || memchr(link, ' ', len) ||
        (len >= 2 && link[0] == '/' && link[1] == '/'))
        return NULL; /* empty, a fragment, or scheme-relative (rare) */
    const char *colon = memchr(link, ':', len);
    const char *slash = memchr(link, '/', len);
    char *url;
    if (colon && (!slash || colon < slash)) {
        url = strndup(link, len); /* it has a scheme: absolute */
    } else {
        /* What of base to keep: its origin for "/path", its directory
         * (up to the last '/' of the path) for "path". */
        size_t head = origin_len(base);
        if (link[0] != '/') {
            size_t end = head + strcspn(base + head, "?#");
            while (end > head && base[end - 1] != '/')
                end--;
            head = end;
        }
        url = malloc(head + 1 + len + 1);
        if (url) {
            memcpy(url, base, head);
            if (link[0] != '/' && (head == 0 || url[head - 1] != '/'))
                url[head++] = '/'; /* base was "http://host" */
            memcpy(url + head, link, len);
            url[head + len] = '\0';
        }
    }
    size_t o = url ? origin_len(url) : 0;
    for (int i = 0; o && i < c->nroots; i++)
        if (origin_len(c->roots[i]) == o &&
            strncasecmp(url, c->roots[i], o) == 0)
            return url;
    free(url);
    return NULL;
}

/* Queue url if it is new and there is room; the queue takes url (or it
 * is freed). */
static void enqueue(struct crawl *c, char *url)
{
    if (c->seen_n >= c->max_pages || !seen_add(c, url) ||
        corio_queue_put(c->todo, url) < 0)
        free(url);
}

/* Queue the links of an HTML page: the values of its href attributes. */
static void follow_links(struct crawl *c, const char *base, const char *html)
{
    for (const char *p = html; *p; p++) {
        if (strncasecmp(p, "href=", 5) != 0)
            continue;
        char quote = p[5];
        if (quote != '"' && quote != '\'')
            continue;
        const char *end = strchr(p + 6, quote);
        if (!end)
            break;
        char *url = resolve(c, base, p + 6, (size_t)(end - (p + 6)));
        if (url)
            enqueue(c, url);
        p = end;
    }
}

/* ---- the workers ---- */

/* Fetch url, print what came of it, and queue the links of an HTML
 * page. */
static void crawl_one(struct crawl *c, const char *url)
{
    corio_http_response *r;
    int rc = corio_http_get(c->session, url, &r);
    if (rc < 0) {
        /* The reason, as libcurl or corio gives it, is there until this
         * task next suspends. */
        printf("ERR %-24s %s (%s)\n", strerror(-rc), url,
               corio_http_session_error(c->session));
        c->failed++;
        return;
    }
    size_t len;
    const char *body = corio_http_response_body(r, &len);
    printf("%3d %8zu bytes %s", corio_http_response_status(r), len, url);
    if (corio_http_response_redirects(r) > 0)
        printf(" -> %s", corio_http_response_url(r));
    printf("\n");
    c->pages++;
    c->bytes += len;
    const char *type = corio_http_response_header(r, "Content-Type");
    if (corio_http_response_status(r) == 200 && type &&
        strncasecmp(type, "text/html", 9) == 0)
        /* Links are relative to where the redirects led. */
        follow_links(c, corio_http_response_url(r), body);
    corio_http_response_close(r);
}

/* A worker: crawl URLs from the queue until it is shut down. */
static int worker(void *arg)
{
    struct crawl *c = arg;
    for (;;) {
        void *url;
        int rc = corio_queue_get(c->todo, &url);
        if (rc == -ESHUTDOWN)
            return 0; /* all done */
        if (rc < 0)
            return rc;
        crawl_one(c, url);
        free(url);
        corio_queue_task_done(c->todo);
    }
}

/* ---- main ---- */

struct args {
    int workers;
    double timeout;
    size_t max_pages;
    char **urls;
    int nurls;
};

static int crawl_main(void *arg)
{
    struct args *a = arg;
    struct crawl c = {.max_pages = a->max_pages, .roots = a->urls,
                      .nroots = a->nurls};
    /* One session for the whole crawl: its pool keeps a connection per
     * worker open between requests. */
    corio_http_session_opts so = {.timeout = a->timeout,
                                  .max_connections = (size_t)a->workers};
    c.session = corio_http_session_new(&so);
    c.todo = corio_queue_new(NULL);
    c.seen_cap = 16;
    while (c.seen_cap < 2 * c.max_pages)
        c.seen_cap *= 2;
    c.seen = calloc(c.seen_cap, sizeof *c.seen);
    if (!c.session || !c.todo || !c.seen) {
        perror("crawler");
        return 1;
    }
    double t0 = corio_time();
    for (int i = 0; i < a->nurls; i++) {
        char *url = strdup(a->urls[i]);
        if (url)
            enqueue(&c, url);
    }
    corio_group *g = corio_group_open();
    for (int i = 0; g && i < a->workers; i++)
        if (corio_group_spawn(g, worker, &c, NULL, NULL) < 0)
            corio_group_cancel(g);
    if (!g) {
        perror("crawler");
        return 1;
    }
    /* Every URL queued has been crawled: the workers can go. */
    int rc = corio_queue_join(c.todo);
    corio_queue_shutdown(c.todo, false);
    if (corio_group_close(g) < 0 || rc < 0)
        rc = -1;
    double secs = corio_time() - t0;
    printf("crawled %zu pages, %zu failed, %.1f KiB in %.2f s "
           "(%.0f pages/s, %d workers)\n",
           c.pages, c.failed, (double)c.bytes / 1024, secs,
           (double)(c.pages + c.failed) / (secs > 0 ? secs : 1e-9),
           a->workers);
    corio_queue_close(c.todo);
    corio_http_session_close(c.session);
    for (size_t i = 0; i < c.seen_cap; i++)
        free(c.seen[i]);
    free(c.seen);
    return rc < 0 || c.failed ? 1 : 0;
}

int main(int argc, char **argv)
{
    struct args a = {.workers = 4, .timeout = 10, .max_pages = 100};
    int i = 1;
    for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
        if (strcmp(argv[i], "-c") == 0 ||
            strcmp(argv[i], "--concurrency") == 0)
            a.workers = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "-t") == 0)
            a.timeout = atof(argv[i + 1]);
        else if (strcmp(argv[i], "-n") == 0)
            a.max_pages = (size_t)atol(argv[i + 1]);
        else
            break;
    }
    a.urls = argv + i;
    a.nurls = argc - i;
    for (int k = 0; k < a.nurls; k++)
        if (!origin_len(a.urls[k]))
            a.nurls = 0;
    if (a.nurls < 1 || a.workers < 1 || a.timeout <= 0 || a.max_pages < 1) {
        fprintf(stderr, "usage: crawler [--concurrency|-c WORKERS] "
                        "[-t TIMEOUT] [-n MAX] http://URL...\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    return corio_run(crawl_main, &a);
}

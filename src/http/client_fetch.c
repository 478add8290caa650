/* SPDX-License-Identifier: MIT */
/* HTTP client requests and responses: a fetch resolves the URL's host
 * with corio's resolver, sets up a libcurl easy handle, and waits in the
 * calling task for the head or the whole body; redirects are followed
 * here, hop by hop, as aiohttp does, so that every host a request goes to
 * is resolved by corio. libcurl's callbacks (below) copy the head and the
 * body into the response and set its event; they never suspend. */
#include "http/client_int.h"

#include "corio/scope.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

/* What a task waits for in await(). */
enum { WAIT_DONE, WAIT_HEAD, WAIT_DATA };

/* Record why the request failed, in our words (libcurl's text goes to
 * r->errbuf). */
static void fail_msg(corio_http_response *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void fail_msg(corio_http_response *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->msg, sizeof r->msg, fmt, ap);
    va_end(ap);
}

/* Tell the session why r failed with rc, if it still has one. */
static void report(corio_http_response *r, int rc)
{
    corio_http_session *s = r->session;
    if (!s)
        return;
    const char *why = r->msg[0] ? r->msg
                      : r->errbuf[0] ? r->errbuf
                                     : strerror(-rc);
    snprintf(s->errmsg, sizeof s->errmsg, "%s", why);
}

static bool is_token(const char *p)
{
    static const char tchar[] = "!#$%&'*+-.^_`|~";
    if (!*p)
        return false;
    for (; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
              (ch >= 'A' && ch <= 'Z') || strchr(tchar, ch)))
            return false;
    }
    return true;
}

/* ---- the head ---- */

static int head_grow(corio_http_response *r, size_t need)
{
    if (r->hlen + need > r->hcap) {
        size_t cap = r->hcap ? r->hcap : 1024;
        while (cap < r->hlen + need)
            cap *= 2;
        char *b = hc_realloc(r->hbuf, cap);
        if (!b)
            return -ENOMEM;
        r->hbuf = b;
        r->hcap = cap;
    }
    return 0;
}

/* Store the field name: value. */
static int head_add(corio_http_response *r, const char *name, size_t nlen,
                    const char *val, size_t vlen)
{
    if (head_grow(r, nlen + vlen + 2) < 0)
        return -ENOMEM;
    if (r->nh == r->nhcap) {
        size_t cap = r->nhcap ? r->nhcap * 2 : 16;
        size_t *o = hc_realloc(r->hofs, cap * sizeof *o);
        if (!o)
            return -ENOMEM;
        r->hofs = o;
        r->nhcap = cap;
    }
    r->hofs[r->nh++] = r->hlen;
    memcpy(r->hbuf + r->hlen, name, nlen);
    r->hbuf[r->hlen + nlen] = '\0';
    memcpy(r->hbuf + r->hlen + nlen + 1, val, vlen);
    r->hbuf[r->hlen + nlen + 1 + vlen] = '\0';
    r->hlen += nlen + vlen + 2;
    return 0;
}

/* An obsolete folded line: more of the last field's value. */
static int head_fold(corio_http_response *r, const char *val, size_t vlen)
{
    if (!r->nh)
        return 0;
    if (head_grow(r, vlen + 1) < 0)
        return -ENOMEM;
    r->hbuf[r->hlen - 1] = ' '; /* the old value's NUL */
    memcpy(r->hbuf + r->hlen, val, vlen);
    r->hbuf[r->hlen + vlen] = '\0';
    r->hlen += vlen + 1;
    return 0;
}

static const char *head_get(const corio_http_response *r, const char *name)
{
    for (size_t i = 0; i < r->nh; i++) {
        const char *n = r->hbuf + r->hofs[i];
        if (strcasecmp(n, name) == 0)
            return n + strlen(n) + 1;
    }
    return NULL;
}

/* The absolute URL a Location leads to from r's URL, if it is http or
 * https (malloc'd), else NULL. */
static char *redirect_target(corio_http_response *r, const char *loc)
{
    CURLU *u = curl_url();
    if (!u)
        return NULL;
    char *out = NULL;
    char *scheme = NULL;
    if (curl_url_set(u, CURLUPART_URL, r->url, 0) == CURLUE_OK &&
        curl_url_set(u, CURLUPART_URL, loc, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        (strcasecmp(scheme, "http") == 0 ||
         strcasecmp(scheme, "https") == 0)) {
        char *url = NULL;
        if (curl_url_get(u, CURLUPART_URL, &url, 0) == CURLUE_OK) {
            out = hc_strdup(url);
            curl_free(url);
        }
    }
    curl_free(scheme);
    curl_url_cleanup(u);
    return out;
}

static bool is_redirect(long code)
{
    return code == 301 || code == 302 || code == 303 || code == 307 ||
           code == 308;
}

/* The blank line after a head. Interim heads (1xx) are forgotten; a
 * redirect to follow is noted (its body will be skipped); a final head
 * wakes the task. false aborts the transfer (r->err says why). */
static bool head_end(corio_http_response *r)
{
    long code = 0;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &code);
    if (code >= 100 && code < 200)
        return true; /* 100 Continue, 101 (h2c), 103: the final one follows */
    long ver = 0;
    curl_easy_getinfo(r->easy, CURLINFO_HTTP_VERSION, &ver);
    r->status = (int)code;
    r->version = ver == CURL_HTTP_VERSION_1_0   ? 10
                 : ver == CURL_HTTP_VERSION_2_0 ? 20
                 : ver == CURL_HTTP_VERSION_3   ? 30
                                                : 11;
    r->head_done = true;
    const char *loc = head_get(r, "Location");
    /* A streamed request body cannot be sent again: a 307 or 308 is the
     * answer then. */
    if (is_redirect(code) && r->redirects_left >= 0 && loc &&
        !(r->body_fn && (code == 307 || code == 308))) {
        if (r->redirects_left == 0) {
            r->err = -ELOOP;
            fail_msg(r, "too many redirects (%d)", r->nredirects);
            return false;
        }
        r->next_url = redirect_target(r, loc);
        if (r->next_url)
            return true;
        /* Not http(s), or not a URL: the 3xx is the answer. */
    }
    r->head_final = true;
    if (!(r->flags & CORIO_HTTP_STREAM)) {
        /* Room for the whole body at once when its length is known. */
        curl_off_t cl = -1;
        curl_easy_getinfo(r->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
        if (cl > 0 && (uint64_t)cl <= r->max_body && !r->buf) {
            r->buf = hc_malloc((size_t)cl + 1);
            if (r->buf)
                r->cap = (size_t)cl + 1;
        }
    }
    corio_event_set(&r->ev);
    return true;
}

/* CURLOPT_HEADERFUNCTION: one line of a head at a time, CRLF included.
 * Every hop is a transfer of its own, so after a final head only
 * trailers come, which are ignored, as aiohttp does. */
static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    corio_http_response *r = arg;
    size_t len = size * n;
    if (r->head_done)
        return len;
    if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
        r->nh = 0; /* a new head (after an interim one) */
        r->hlen = 0;
        return len;
    }
    size_t k = len;
    while (k && (p[k - 1] == '\n' || p[k - 1] == '\r'))
        k--;
    if (k == 0)
        return head_end(r) ? len : 0;
    int rc;
    if (p[0] == ' ' || p[0] == '\t') {
        size_t i = 0;
        while (i < k && (p[i] == ' ' || p[i] == '\t'))
            i++;
        rc = head_fold(r, p + i, k - i);
    } else {
        const char *colon = memchr(p, ':', k);
        if (!colon)
            return len; /* not a field: ignore it */
        size_t nlen = (size_t)(colon - p);
        while (nlen && (p[nlen - 1] == ' ' || p[nlen - 1] == '\t'))
            nlen--;
        size_t v = (size_t)(colon + 1 - p);
        while (v < k && (p[v] == ' ' || p[v] == '\t'))
            v++;
        size_t vend = k;
        while (vend > v && (p[vend - 1] == ' ' || p[vend - 1] == '\t'))
            vend--;
        rc = head_add(r, p, nlen, p + v, vend - v);
    }
    if (rc < 0) {
        r->err = rc;
        return 0;
    }
    return len;
}

/* ---- the body ---- */

/* Append n bytes to the unread body, moving what is left to the front or
 * growing the buffer as needed. Keeps a NUL after the bytes. */
static int body_add(corio_http_response *r, const char *p, size_t n)
{
    if (r->off + r->len + n + 1 > r->cap) {
        if (r->off) {
            memmove(r->buf, r->buf + r->off, r->len);
            r->off = 0;
        }
        if (r->len + n + 1 > r->cap) {
            size_t cap = r->cap ? r->cap : 16384;
            while (cap < r->len + n + 1)
                cap *= 2;
            char *b = hc_realloc(r->buf, cap);
            if (!b)
                return -ENOMEM;
            r->buf = b;
            r->cap = cap;
        }
    }
    memcpy(r->buf + r->off + r->len, p, n);
    r->len += n;
    r->buf[r->off + r->len] = '\0';
    if (r->len > r->peak)
        r->peak = r->len;
    return 0;
}

/* CURLOPT_WRITEFUNCTION: body bytes. A streamed body pauses the transfer
 * while the reader is behind (libcurl keeps this call's bytes and gives
 * them again when resumed), so memory stays bounded; a whole body stops
 * at max_body. The body of a redirect being followed is dropped. */
static size_t on_write(char *p, size_t size, size_t n, void *arg)
{
    corio_http_response *r = arg;
    size_t len = size * n;
    if (!r->head_final)
        return len;
    if (r->flags & CORIO_HTTP_STREAM) {
        if (r->len >= HC_HIGH_WATER) {
            r->recv_paused = true;
            return CURL_WRITEFUNC_PAUSE;
        }
    } else if (r->len + len > r->max_body) {
        r->err = -EMSGSIZE;
        fail_msg(r, "the body is over %zu bytes", r->max_body);
        return 0;
    }
    if (body_add(r, p, len) < 0) {
        r->err = -ENOMEM;
        return 0;
    }
    if (r->flags & CORIO_HTTP_STREAM)
        corio_event_set(&r->ev);
    return len;
}

/* CURLOPT_READFUNCTION: bytes of a streamed request body, from what the
 * task got from body_fn; when they run out, pause the upload and ask the
 * task for more. */
static size_t on_read(char *buf, size_t size, size_t n, void *arg)
{
    corio_http_response *r = arg;
    size_t room = size * n;
    size_t avail = r->up_len - r->up_off;
    if (avail) {
        size_t k = avail < room ? avail : room;
        memcpy(buf, r->up + r->up_off, k);
        r->up_off += k;
        return k;
    }
    if (r->up_eof)
        return 0;
    r->up_need = true;
    r->send_paused = true;
    corio_event_set(&r->ev);
    return CURL_READFUNC_PAUSE;
}

/* ---- waiting ---- */

/* Stop r's transfer with error rc (a cancellation, a deadline, body_fn's
 * error): libcurl forgets it, so no callback writes into r any more. */
static int halt(corio_http_response *r, int rc)
{
    corio__hc_stop(r);
    if (!r->done) {
        r->done = true;
        r->err = rc;
    }
    return rc;
}

/* Get the next piece of a streamed request body from body_fn (it may
 * suspend) and let the upload go on. 0 or a negative errno. */
static int feed(corio_http_response *r)
{
    r->up_need = false;
    ssize_t n = r->body_fn(r->up, HC_UPLOAD_CHUNK, r->body_arg);
    if (r->done)
        return 0; /* the transfer ended meanwhile (or the session) */
    if (n < 0) {
        fail_msg(r, "the request body failed: %s", strerror((int)-n));
        return (int)n;
    }
    if (n > HC_UPLOAD_CHUNK) {
        fail_msg(r, "the request body callback returned too much");
        return -EINVAL;
    }
    r->up_len = (size_t)n;
    r->up_off = 0;
    r->up_eof = n == 0;
    if (r->send_paused) {
        r->send_paused = false;
        return corio__hc_pause_update(r);
    }
    return 0;
}

static bool ready(const corio_http_response *r, int what)
{
    switch (what) {
    case WAIT_HEAD:
        return r->head_done;
    case WAIT_DATA:
        return r->len > 0;
    default:
        return false;
    }
}

/* Wait in the calling task until what is there or the transfer ends,
 * feeding a streamed request body meanwhile. A cancellation, a deadline
 * or body_fn's error stops the transfer. 0 (check r->done and r->err) or
 * a negative errno. When the session closes meanwhile, r is detached and
 * done with -EBADF. */
static int await(corio_http_response *r, int what)
{
    for (;;) {
        if (r->done || ready(r, what))
            return 0;
        int rc;
        if (r->up_need) {
            rc = feed(r);
            if (rc < 0)
                return halt(r, rc);
            continue;
        }
        corio_event_clear(&r->ev);
        rc = corio_event_wait(&r->ev);
        if (rc < 0)
            return halt(r, rc);
    }
}

/* ---- requests ---- */

/* Whether field h is called name. */
static bool named(const char *h, const char *name)
{
    size_t n = strlen(name);
    return strncasecmp(h, name, n) == 0 && h[n] == ':';
}

/* Whether list l has a field of the name h has. */
static bool has_field(const struct curl_slist *l, const char *h)
{
    size_t n = strcspn(h, ":");
    for (; l; l = l->next)
        if (strncasecmp(l->data, h, n) == 0 && l->data[n] == ':')
            return true;
    return false;
}

/* The header fields this hop sends: the request's, the session's it does
 * not replace, and for a body a Content-Type (libcurl's default would be
 * a form's) and no "Expect: 100-continue" (aiohttp sends none either; it
 * costs a round trip, or a second's wait on servers that ignore it).
 * Authorization does not follow a redirect to another origin. Without
 * any of that the session's list goes as it is. */
static int build_headers(corio_http_response *r)
{
    corio_http_session *s = r->session;
    curl_slist_free_all(r->hdrs);
    r->hdrs = NULL;
    r->own_hdrs = r->req_headers || r->has_body || r->drop_auth;
    if (!r->own_hdrs)
        return 0;
    struct curl_slist *l = NULL;
#define ADD(h)                                                               \
    do {                                                                     \
        struct curl_slist *t_ = curl_slist_append(l, h);                     \
        if (!t_) {                                                           \
            curl_slist_free_all(l);                                          \
            return -ENOMEM;                                                  \
        }                                                                    \
        l = t_;                                                              \
    } while (0)
    for (const struct curl_slist *p = r->req_headers; p; p = p->next)
        if (!(r->drop_auth && named(p->data, "Authorization")))
            ADD(p->data);
    for (const struct curl_slist *p = s->headers; p; p = p->next)
        if (!has_field(r->req_headers, p->data) &&
            !(r->drop_auth && named(p->data, "Authorization")))
            ADD(p->data);
    if (r->has_body) {
        if (!has_field(l, "Content-Type:"))
            ADD("Content-Type: application/octet-stream");
        ADD("Expect:");
    }
#undef ADD
    r->hdrs = l;
    return 0;
}

static long to_ms(double seconds)
{
    double ms = ceil(seconds * 1e3);
    if (ms < 1)
        return 1;
    return ms > 0x7fffffff ? 0x7fffffff : (long)ms;
}

/* This hop's settings on r->easy (reset, with the session's settings).
 * dns_spent: seconds the name took to resolve, which count against the
 * connect timeout. 0 or a negative errno. */
static int configure(corio_http_response *r, double dns_spent)
{
    corio_http_session *s = r->session;
    CURL *e = r->easy;
    double now = corio_loop_time(s->loop);
    if (now >= r->deadline) {
        fail_msg(r, "the request timed out");
        return -ETIMEDOUT;
    }
    CURLcode c = CURLE_OK;
#define SET(opt, val)                                                        \
    do {                                                                     \
        if (c == CURLE_OK)                                                   \
            c = curl_easy_setopt(e, opt, val);                               \
    } while (0)
    /* A pooled handle keeps the options of its last request (no
     * curl_easy_reset, which costs a fresh setup of the session's): so
     * every option a request may set is set here, to its default if this
     * request does not want it. */
    SET(CURLOPT_URL, r->url);
    /* Wait for a connection that may multiplex (HTTP/2) rather than open
     * another: only for https, where HTTP/2 is offered. For http it would
     * hold every concurrent request to a new host until the first one's
     * response is in. */
    SET(CURLOPT_PIPEWAIT, s->http_version == CURL_HTTP_VERSION_2TLS &&
                              strncasecmp(r->url, "https:", 6) == 0
                              ? 1L
                              : 0L);
    SET(CURLOPT_PRIVATE, (char *)r);
    SET(CURLOPT_OPENSOCKETDATA, r);
    SET(CURLOPT_ERRORBUFFER, r->errbuf);
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, r);
    SET(CURLOPT_WRITEFUNCTION, on_write);
    SET(CURLOPT_WRITEDATA, r);
    SET(CURLOPT_HTTPHEADER, r->own_hdrs ? r->hdrs : s->headers);
    SET(CURLOPT_RESOLVE, r->resolve); /* NULL: none (the last one's list
                                          is freed) */
    SET(CURLOPT_TIMEOUT_MS,
        isfinite(r->deadline) ? to_ms(r->deadline - now) : 0L);
    SET(CURLOPT_CONNECTTIMEOUT_MS,
        r->connect_timeout < 0 ? 0x7fffffffL
                               : to_ms(r->connect_timeout - dns_spent));
    SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)(r->flags & CORIO_HTTP_STREAM
                                                    ? 0
                                                    : r->max_body));
    /* The body's options go back to their defaults, then the method:
     * HTTPGET clears NOBODY, POST and UPLOAD, and comes last because
     * setting POSTFIELDS, even to NULL, turns POST on. */
    const char *m = r->method;
    SET(CURLOPT_CUSTOMREQUEST, (char *)NULL);
    SET(CURLOPT_POSTFIELDS, (char *)NULL);
    SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)-1);
    SET(CURLOPT_READFUNCTION, (curl_read_callback)NULL);
    SET(CURLOPT_READDATA, (void *)NULL);
    SET(CURLOPT_HTTPGET, 1L);
    if (strcmp(m, "HEAD") == 0) {
        SET(CURLOPT_NOBODY, 1L);
    } else if (r->has_body) {
        SET(CURLOPT_POST, 1L);
        if (r->body_fn) {
            SET(CURLOPT_READFUNCTION, on_read);
            SET(CURLOPT_READDATA, r);
            SET(CURLOPT_POSTFIELDSIZE_LARGE,
                (curl_off_t)(r->body_size > 0 ? r->body_size : -1));
        } else {
            SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
            SET(CURLOPT_POSTFIELDS, r->body_len ? r->body : "");
        }
        if (strcmp(m, "POST") != 0)
            SET(CURLOPT_CUSTOMREQUEST, m);
    } else if (strcmp(m, "GET") != 0) {
        SET(CURLOPT_CUSTOMREQUEST, m);
    }
#undef SET
    if (c != CURLE_OK) {
        fail_msg(r, "libcurl: %s", curl_easy_strerror(c));
        return corio__hc_error(c, e);
    }
    return 0;
}

/* Whether host (as libcurl's URL parser gives it) is a numeric address,
 * which libcurl uses without resolving. */
static bool numeric_host(const char *host)
{
    struct in_addr a;
    return host[0] == '[' || inet_pton(AF_INET, host, &a) == 1;
}

/* The "scheme://authority" prefix of url: its length, or 0 if url has
 * no "://" early on (then it is parsed every time). Two URLs with the same
 * prefix have the same scheme, host and port. */
static size_t url_prefix(const char *url)
{
    const char *sep = strstr(url, "://");
    if (!sep || sep - url > 16)
        return 0;
    return (size_t)(sep + 3 - url) + strcspn(sep + 3, "/?#");
}

/* Split r->url: its host (into host, HC_HOST_MAX bytes) and port. 0 or a
 * negative errno. The session keeps the last result, keyed by the URL's
 * prefix, so that a crawl of one site parses its origin once. */
static int parse_url(corio_http_response *r, char *host, int *port)
{
    corio_http_session *s = r->session;
    size_t plen = url_prefix(r->url);
    if (plen && plen == s->url_prefix_len &&
        memcmp(r->url, s->url_prefix, plen) == 0) {
        strcpy(host, s->url_host);
        *port = s->url_port;
        return 0;
    }
    CURLU *u = curl_url();
    if (!u)
        return -ENOMEM;
    int rc = 0;
    char *scheme = NULL;
    char *p = NULL;
    char *h = NULL;
    CURLUcode uc = curl_url_set(u, CURLUPART_URL, r->url, 0);
    if (uc != CURLUE_OK) {
        fail_msg(r, "bad URL %s: %s", r->url, curl_url_strerror(uc));
        rc = uc == CURLUE_OUT_OF_MEMORY ? -ENOMEM : -EINVAL;
        goto out;
    }
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        (strcasecmp(scheme, "http") != 0 &&
         strcasecmp(scheme, "https") != 0)) {
        fail_msg(r, "not an http or https URL: %s", r->url);
        rc = -EPROTONOSUPPORT;
        goto out;
    }
    unsigned hflags = 0;
#ifdef CURLU_PUNYCODE
    hflags |= CURLU_PUNYCODE; /* the name libcurl will look up */
#endif
    if (curl_url_get(u, CURLUPART_HOST, &h, hflags) != CURLUE_OK || !*h) {
        fail_msg(r, "no host in URL %s", r->url);
        rc = -EINVAL;
        goto out;
    }
    if (strlen(h) >= HC_HOST_MAX) {
        fail_msg(r, "host name too long in URL %s", r->url);
        rc = -EINVAL;
        goto out;
    }
    if (curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT) !=
        CURLUE_OK) {
        fail_msg(r, "no port for URL %s", r->url);
        rc = -EINVAL;
        goto out;
    }
    strcpy(host, h);
    *port = atoi(p);
    if (plen) { /* remember it; without memory, the next parse is full */
        char *copy = hc_malloc(plen);
        if (copy) {
            memcpy(copy, r->url, plen);
            hc_free(s->url_prefix);
            s->url_prefix = copy;
            s->url_prefix_len = plen;
            strcpy(s->url_host, host);
            s->url_port = *port;
        }
    }
out:
    curl_free(h);
    curl_free(p);
    curl_free(scheme);
    curl_url_cleanup(u);
    return rc;
}

/* Start one hop of the request: resolve the host (suspends), set the
 * easy handle up, fill the first piece of a streamed body (suspends),
 * and hand the transfer to libcurl. 0 or a negative errno. */
static int hop(corio_http_response *r)
{
    char host[HC_HOST_MAX];
    int port;
    int rc = parse_url(r, host, &port);
    if (rc < 0)
        return rc;
    /* Authorization stays with the first origin. */
    char origin[320];
    snprintf(origin, sizeof origin, "%s:%d", host, port);
    if (!r->origin) {
        r->origin = hc_strdup(origin);
        if (!r->origin)
            return -ENOMEM;
    } else if (strcasecmp(r->origin, origin) != 0) {
        r->drop_auth = true;
    }
    corio_http_session *s = r->session;
    double t0 = corio_loop_time(s->loop);
    const char *entry = NULL;
    if (!numeric_host(host)) {
        double dl = r->deadline;
        if (r->connect_timeout >= 0 && t0 + r->connect_timeout < dl)
            dl = t0 + r->connect_timeout;
        rc = corio__hc_resolve(r, host, port, dl, &entry);
    }
    if (rc < 0)
        return rc;
    s = r->session; /* still there: corio__hc_resolve checked */
    double spent = corio_loop_time(s->loop) - t0;
    curl_slist_free_all(r->resolve);
    r->resolve = NULL;
    if (entry) {
        r->resolve = curl_slist_append(NULL, entry);
        if (!r->resolve)
            return -ENOMEM;
    }
    rc = build_headers(r);
    if (rc < 0)
        return rc;
    if (!r->easy) {
        r->easy = corio__hc_easy_get(s);
        if (!r->easy)
            return -ENOMEM;
    }
    rc = configure(r, spent);
    if (rc < 0)
        return rc;
    if (r->body_fn) {
        rc = feed(r); /* the first piece, before libcurl asks */
        if (rc < 0)
            return rc;
        if (r->done)
            return r->err; /* the session closed meanwhile */
    }
    return corio__hc_start(r->session, r);
}

/* Turn r into the next hop of a redirect: its URL, its method (303, and
 * 301 or 302 after a POST, go on with a GET without the body, as
 * browsers, aiohttp and libcurl do), and an empty head and body. */
static int next_hop(corio_http_response *r)
{
    int st = r->status;
    if ((st == 303 && strcmp(r->method, "HEAD") != 0) ||
        ((st == 301 || st == 302) && strcmp(r->method, "POST") == 0)) {
        char *m = hc_strdup("GET");
        if (!m)
            return -ENOMEM;
        hc_free(r->method);
        r->method = m;
        r->has_body = false;
        r->body = NULL;
        r->body_len = 0;
        r->body_fn = NULL;
    }
    hc_free(r->url);
    r->url = r->next_url;
    r->next_url = NULL;
    r->nredirects++;
    r->redirects_left--;
    r->status = 0;
    r->version = 0;
    r->nh = 0;
    r->hlen = 0;
    r->head_done = false;
    r->head_final = false;
    r->off = 0;
    r->len = 0;
    r->recv_paused = false;
    r->open_err = 0;
    r->done = false;
    r->err = 0;
    r->errbuf[0] = '\0';
    return corio__hc_easy_reuse(r->session, r->easy);
}

/* Run the request to its final head (streamed) or its end, following
 * redirects. 0 or a negative errno. */
static int run(corio_http_response *r)
{
    int first = r->flags & CORIO_HTTP_STREAM ? WAIT_HEAD : WAIT_DONE;
    for (;;) {
        int rc = hop(r);
        if (rc < 0)
            return rc;
        rc = await(r, first);
        if (rc < 0)
            return rc;
        if (r->done && r->err)
            return r->err;
        if (!r->head_done) {
            fail_msg(r, "no response head");
            return -EPROTO;
        }
        if (r->head_final)
            return 0;
        /* A redirect to follow: let its body pass, so that the
         * connection can be reused, then go on. */
        rc = await(r, WAIT_DONE);
        if (rc < 0)
            return rc;
        if (r->err)
            return r->err;
        rc = next_hop(r);
        if (rc < 0)
            return rc;
    }
}

static double pick(double v, double session)
{
    if (v == 0 || isnan(v))
        return session;
    return v < 0 ? -1 : v;
}

int corio_http_fetch(corio_http_session *s, const char *method,
                     const char *url, const corio_http_request_opts *o,
                     corio_http_response **resp)
{
    static const corio_http_request_opts none;
    if (!resp)
        return -EINVAL;
    *resp = NULL;
    if (!s || !method || !url)
        return -EINVAL;
    if (!o)
        o = &none;
    if (!is_token(method) || (o->body && o->body_fn) || o->body_size < 0 ||
        o->max_redirects < CORIO_HTTP_NO_REDIRECTS) {
        snprintf(s->errmsg, sizeof s->errmsg, "invalid request options");
        return -EINVAL;
    }
    for (const char *const *h = o->headers; h && *h; h++) {
        if (!corio__hc_header_ok(*h)) {
            snprintf(s->errmsg, sizeof s->errmsg,
                     "invalid header field: %.100s", *h);
            return -EINVAL;
        }
    }
    if (!corio_current())
        return -EPERM;
    if (s->closing)
        return -EBADF;
    corio_http_response *r = hc_calloc(1, sizeof *r);
    if (!r)
        return -ENOMEM;
    corio__list_init(&r->link);
    corio_event_init(&r->ev);
    r->session = s;
    corio__list_push_back(&s->xfers, &r->link);
    int rc = -ENOMEM;
    r->method = hc_strdup(method);
    r->url = hc_strdup(url);
    if (!r->method || !r->url)
        goto fail;
    for (const char *const *h = o->headers; h && *h; h++) {
        struct curl_slist *l = curl_slist_append(r->req_headers, *h);
        if (!l)
            goto fail;
        r->req_headers = l;
    }
    double t = pick(o->timeout, s->timeout);
    r->deadline = t < 0 ? INFINITY : corio_loop_time(s->loop) + t;
    r->connect_timeout = pick(o->connect_timeout, s->connect_timeout);
    r->redirects_left = o->max_redirects == 0 ? s->max_redirects
                                              : o->max_redirects;
    r->max_body = o->max_body ? o->max_body : s->max_body;
    r->flags = o->flags;
    if (o->body_fn) {
        r->has_body = true;
        r->body_fn = o->body_fn;
        r->body_arg = o->body_arg;
        r->body_size = o->body_size;
        r->up = hc_malloc(HC_UPLOAD_CHUNK);
        if (!r->up)
            goto fail;
    } else if (o->body) {
        r->has_body = true;
        r->body = o->body;
        r->body_len = o->body_len;
        /* A streamed fetch returns before the upload may have ended. */
        if ((r->flags & CORIO_HTTP_STREAM) && o->body_len) {
            r->body_copy = hc_malloc(o->body_len);
            if (!r->body_copy)
                goto fail;
            memcpy(r->body_copy, o->body, o->body_len);
            r->body = r->body_copy;
        }
    } else if (strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
               strcmp(method, "PATCH") == 0) {
        r->has_body = true; /* an empty one: "Content-Length: 0" */
    }
    rc = run(r);
    if (rc < 0)
        goto fail;
    *resp = r;
    return 0;

fail:
    report(r, rc);
    corio_http_response_close(r);
    return rc;
}

int corio_http_get(corio_http_session *s, const char *url,
                   corio_http_response **resp)
{
    return corio_http_fetch(s, "GET", url, NULL, resp);
}

/* ---- responses ---- */

int corio_http_response_status(const corio_http_response *r)
{
    return r ? r->status : 0;
}

int corio_http_response_version(const corio_http_response *r)
{
    return r ? r->version : 0;
}

const char *corio_http_response_url(const corio_http_response *r)
{
    return r ? r->url : NULL;
}

int corio_http_response_redirects(const corio_http_response *r)
{
    return r ? r->nredirects : 0;
}

const char *corio_http_response_header(const corio_http_response *r,
                                       const char *name)
{
    return r && name ? head_get(r, name) : NULL;
}

size_t corio_http_response_header_count(const corio_http_response *r)
{
    return r ? r->nh : 0;
}

int corio_http_response_header_at(const corio_http_response *r, size_t i,
                                  const char **name, const char **value)
{
    if (!r || i >= r->nh)
        return -ERANGE;
    const char *n = r->hbuf + r->hofs[i];
    if (name)
        *name = n;
    if (value)
        *value = n + strlen(n) + 1;
    return 0;
}

const void *corio_http_response_body(const corio_http_response *r,
                                     size_t *len)
{
    if (len)
        *len = 0;
    if (!r || (r->flags & CORIO_HTTP_STREAM))
        return NULL;
    if (len)
        *len = r->len;
    return r->buf ? r->buf + r->off : "";
}

ssize_t corio_http_response_read(corio_http_response *r, void *buf, size_t n)
{
    if (!r || (!buf && n))
        return -EINVAL;
    if (!n)
        return 0;
    for (;;) {
        if (r->len) {
            size_t k = r->len < n ? r->len : n;
            memcpy(buf, r->buf + r->off, k);
            r->off += k;
            r->len -= k;
            if (!r->len)
                r->off = 0;
            /* Resume a paused transfer once the reader has caught up;
             * libcurl hands over the bytes it held back at once. */
            if (r->recv_paused && r->len <= HC_LOW_WATER && r->session) {
                r->recv_paused = false;
                int rc = corio__hc_pause_update(r);
                if (rc < 0)
                    halt(r, rc);
            }
            return (ssize_t)k;
        }
        if (r->done) {
            if (r->err && r->session)
                report(r, r->err);
            return r->err;
        }
        if (!r->session)
            return -EBADF;
        if (r->recv_paused) {
            r->recv_paused = false;
            int rc = corio__hc_pause_update(r);
            if (rc < 0)
                return halt(r, rc);
            continue;
        }
        if (!corio_current())
            return -EPERM;
        int rc = await(r, WAIT_DATA);
        if (rc < 0)
            return rc;
    }
}

void corio_http_response_close(corio_http_response *r)
{
    if (!r)
        return;
    corio_http_session *s = r->session;
    if (s) {
        corio__hc_stop(r);
        corio__list_remove(&r->link);
        corio__hc_easy_put(s, r->easy);
    } else if (r->easy) {
        curl_easy_cleanup(r->easy);
    }
    curl_slist_free_all(r->req_headers);
    curl_slist_free_all(r->hdrs);
    curl_slist_free_all(r->resolve);
    hc_free(r->method);
    hc_free(r->url);
    hc_free(r->next_url);
    hc_free(r->origin);
    hc_free(r->body_copy);
    hc_free(r->up);
    hc_free(r->hbuf);
    hc_free(r->hofs);
    hc_free(r->buf);
    hc_free(r);
}

#ifdef CORIO_TESTING
size_t corio__http_response_peak(const corio_http_response *r)
{
    return r ? r->peak : 0;
}
#endif

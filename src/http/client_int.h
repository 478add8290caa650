/* SPDX-License-Identifier: MIT */
/* What the files of the HTTP client share: the session (a libcurl multi
 * handle driven by the corio loop) and the response, which is also the
 * transfer in progress. client.c drives libcurl; client_fetch.c builds
 * requests, follows redirects and hands bodies to tasks.
 *
 * corio_http is a library of its own over libcorio.so, so the client calls
 * only corio's public API (corio_fd, tasks, events, scopes, the
 * resolver). The allocation seams are hidden in libcorio.so; the test
 * build links everything statically and reaches them, as src/tls does.
 *
 * The one rule that keeps libcurl safe in a loop of stackful tasks: no
 * task ever suspends inside a libcurl call or callback. libcurl's
 * callbacks only copy bytes into a response and set its event; user code
 * that may suspend (a streamed request body) runs in the fetching task,
 * between libcurl calls. */
#ifndef CORIO_HTTP_CLIENT_INT_H
#define CORIO_HTTP_CLIENT_INT_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"
#include "core/list.h"
#include "corio/http_client.h"
#include "corio/io.h"
#include "corio/loop.h"
#include "corio/sync.h"
#include "corio/task.h"

#ifdef CORIO_TESTING
#include "core/core.h"
#define hc_malloc corio__malloc
#define hc_calloc corio__calloc
#define hc_realloc corio__realloc
#define hc_free corio__free
#define hc_strdup corio__strdup
#define hc_fail_syscall corio__fail_syscall
#else
#include <stdlib.h>
#include <string.h>
#define hc_malloc malloc
#define hc_calloc calloc
#define hc_realloc realloc
#define hc_free free
#define hc_strdup strdup
#define hc_fail_syscall() false
#endif

#define HC_ERRLEN 256 /* room for an error text, NUL included */

/* A streamed body pauses libcurl once this much is buffered and unread,
 * and resumes it once the reader has taken it down to HC_LOW_WATER: the
 * buffer never holds more than HC_HIGH_WATER plus one write from libcurl
 * (CURL_MAX_WRITE_SIZE, 16 KiB, more for a decompressed chunk). */
#define HC_HIGH_WATER (64 * 1024)
#define HC_LOW_WATER (16 * 1024)
/* A streamed request body is fetched from its callback this much at a
 * time. */
#define HC_UPLOAD_CHUNK (64 * 1024)

/* What the session knows of one of libcurl's sockets, indexed by
 * descriptor. libcurl says which events it wants (CURLMOPT_SOCKETFUNCTION);
 * the session keeps the descriptor in its epoll set after libcurl stops
 * wanting it (a kept-alive connection between requests) and removes it
 * only when it reports an event nobody wants or libcurl closes it, which
 * saves two epoll_ctl calls per request on a reused connection. */
struct hc_sock {
    uint32_t want;    /* EPOLLIN / EPOLLOUT libcurl wants now; 0: none */
    uint32_t armed;   /* the events the epoll set has for it */
    bool registered;  /* in the epoll set */
};

/* One cached name resolution: "host:port" and the addresses libcurl is
 * told to use for it (CURLOPT_RESOLVE "host:port:addr,addr"). */
struct hc_dns {
    struct hc_dns *next; /* in its hash bucket */
    double expires;      /* loop time; re-resolved after it */
    char *entry;         /* "host:port:addr,...", owned */
    size_t keylen;       /* the "host:port" prefix */
};

#define HC_HOST_MAX 264 /* a DNS name (253), or an IPv6 literal in [] */

struct corio_http_session {
    corio_loop *loop;       /* the loop it belongs to */
    CURLM *multi;           /* owned: transfers and the connection pool */
    CURLSH *share;          /* owned: TLS sessions and, if on, cookies */
    int epfd;               /* owned: epoll set of libcurl's sockets */
    corio_fd *epwatch;      /* the loop's watch on epfd */
    corio_task *driver;     /* the task waiting on epfd (a reference), or
                               NULL before the first transfer */
    bool driver_started;    /* it has run (a task cancelled before it
                               first runs never does) */
    bool orphan;            /* closed from a loop callback: the task frees
                               the struct when it wakes */
    struct hc_sock *socks;  /* owned, indexed by descriptor */
    size_t nsocks;
    corio_handle timer;     /* libcurl's timeout (CURLMOPT_TIMERFUNCTION) */
    bool timer_set;
    double timer_due;       /* loop time it fires at */
    bool closing;           /* in corio_http_session_close */
    int glue_err;           /* a callback of ours could not do what libcurl
                               asked (watch a socket, set the timer): the
                               transfers in the multi handle fail with
                               this error once the libcurl call returns */
    struct corio__list xfers; /* responses attached to the session */
    CURL **idle;            /* owned: easy handles to reuse */
    size_t nidle;
    /* The last URL parsed: its "scheme://authority" prefix (owned) and
     * what it gave. A crawl's URLs share it, and curl_url costs about a
     * tenth of a request's CPU. */
    char *url_prefix;
    size_t url_prefix_len;
    char url_host[HC_HOST_MAX];
    int url_port;
    struct hc_dns **dns;    /* owned: resolutions, hash buckets */
    size_t ndns_buckets;
    size_t ndns;
    /* Defaults (copied from the options). */
    struct curl_slist *headers; /* owned: the session's header fields */
    char *user_agent;           /* owned */
    char *ca_file;              /* owned, or NULL */
    double timeout;             /* seconds; < 0: none */
    double connect_timeout;
    int max_redirects;          /* < 0: do not follow */
    size_t max_body;
    long http_version;          /* CURL_HTTP_VERSION_* */
    bool insecure;
    bool cookies;
    char errmsg[HC_ERRLEN];     /* the last failure's text */
};

/* A response, and the transfer that fills it. Owned by the task that
 * fetched it; while it is attached (on session->xfers) libcurl's callbacks
 * write into it from whatever task drives libcurl, and the session may
 * detach it (set session to NULL) when it closes. */
struct corio_http_response {
    struct corio__list link;     /* on session->xfers while attached */
    corio_http_session *session; /* NULL once detached */
    CURL *easy;                  /* owned while set up */
    bool in_multi;               /* easy is added to session->multi */
    corio_event ev;              /* set when something changed: the head
                                    arrived, body bytes, done, upload
                                    wanted */
    /* The request. */
    char *method;                /* owned */
    char *url;                   /* owned: this hop's URL */
    struct curl_slist *req_headers; /* owned: the request's own fields */
    struct curl_slist *hdrs;     /* owned: the list sent if own_hdrs */
    bool own_hdrs;               /* false: send the session's list */
    struct curl_slist *resolve;  /* owned: CURLOPT_RESOLVE of this hop */
    const void *body;            /* the caller's, or copy (owned) */
    void *body_copy;             /* owned: body kept for a streamed fetch */
    size_t body_len;
    corio_http_body_fn body_fn;
    void *body_arg;
    int64_t body_size;
    bool has_body;
    double deadline;             /* loop time the request must end by */
    double connect_timeout;      /* seconds; < 0: none */
    int redirects_left;          /* < 0: do not follow */
    size_t max_body;
    unsigned flags;              /* CORIO_HTTP_STREAM */
    char *origin;                /* owned: "host:port" of the first hop */
    bool drop_auth;              /* a redirect left the origin */
    /* Upload of body_fn's bytes. */
    char *up;                    /* owned: HC_UPLOAD_CHUNK bytes */
    size_t up_len;
    size_t up_off;
    bool up_eof;                 /* body_fn returned 0 */
    bool up_need;                /* libcurl asked for more: call body_fn */
    bool send_paused;            /* the read callback paused the upload */
    /* The response head. */
    int status;
    int version;                 /* 10, 11, 20, 30 */
    char *hbuf;                  /* owned: "name\0value\0" per field */
    size_t hlen;
    size_t hcap;
    size_t *hofs;                /* owned: offset of each field's name */
    size_t nh;
    size_t nhcap;
    bool head_done;              /* this hop's final head is complete */
    bool head_final;             /* ... and it is the response's (not a
                                    redirect being followed) */
    char *next_url;              /* owned: where a followed redirect goes */
    int nredirects;
    /* The body. */
    char *buf;                   /* owned: received bytes, from off */
    size_t off;
    size_t len;                  /* unread bytes at buf + off */
    size_t cap;
    size_t peak;                 /* the most ever buffered (tests) */
    bool recv_paused;            /* the write callback paused the body */
    int open_err;                /* why our open-socket callback failed
                                    (-ENOMEM, -EMFILE): the error of a
                                    connect that fails for it */
    /* The end. */
    bool done;                   /* the transfer ended (or was stopped) */
    int err;                     /* its error, negative; 0: success */
    char errbuf[CURL_ERROR_SIZE]; /* libcurl's text (CURLOPT_ERRORBUFFER) */
    char msg[HC_ERRLEN];         /* our own text, which wins over it */
};

/* ---- client.c ---- */

/* Process-wide libcurl initialisation, once. 0 or -ENOMEM. */
int corio__hc_global_init(void);

/* An easy handle from the session's pool, reset, or a new one; NULL if
 * out of memory. */
CURL *corio__hc_easy_get(corio_http_session *s);
/* Give an easy handle back (removed from the multi handle) to s's pool,
 * or clean it up if s is NULL or the pool is full. */
void corio__hc_easy_put(corio_http_session *s, CURL *easy);
/* Reset an easy handle for the next hop of a request and apply s's
 * settings again. 0 or a negative errno. */
int corio__hc_easy_reuse(corio_http_session *s, CURL *easy);

/* Add r's easy handle to the multi handle. 0 or a negative errno. */
int corio__hc_start(corio_http_session *s, corio_http_response *r);
/* Stop r's transfer if it is running (the easy handle leaves the multi
 * handle; its connection is closed if the transfer was mid-way). Other
 * transfers may end meanwhile (the glue failed, see glue_err). */
void corio__hc_stop(corio_http_response *r);
/* Pause or resume r's transfer to match r->recv_paused and
 * r->send_paused; delivering what libcurl held back may call r's
 * callbacks at once. 0 or a negative errno. */
int corio__hc_pause_update(corio_http_response *r);

/* The addresses for host:port as a CURLOPT_RESOLVE entry, from r's
 * session's cache or resolved now with corio_getaddrinfo (suspends),
 * bounded by deadline (loop time). *entry is borrowed from the cache. 0
 * or a negative errno (and the session's error text says why); -EBADF if
 * the session was closed meanwhile. */
int corio__hc_resolve(corio_http_response *r, const char *host, int port,
                      double deadline, const char **entry);

/* Whether h is a "Name: value" line a caller may send. */
bool corio__hc_header_ok(const char *h);

/* The negative errno for a libcurl result. */
int corio__hc_error(CURLcode code, CURL *easy);


#ifdef CORIO_TESTING
/* The most body bytes r ever held unread (memory bound of streaming). */
CORIO_API size_t corio__http_response_peak(const corio_http_response *r);
#endif

#endif

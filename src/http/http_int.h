/* SPDX-License-Identifier: MIT */
/* What the files of the HTTP server share: the application (routes,
 * middleware), the server, and the connection object that is also the
 * request handlers see (struct corio_http_req), with the buffer layouts
 * the parser and the response writer work in.
 *
 * corio_http is a library of its own (libcorio_http.so over libcorio.so
 * and, where OpenSSL is, libcorio_tls.so), so it calls only what those
 * export: the public API and the CORIO_API internals of src/net/net.h.
 * The allocation seams are hidden in libcorio.so; the test build links
 * everything statically and reaches them (as src/tls does). */
#ifndef CORIO_HTTP_INT_H
#define CORIO_HTTP_INT_H

#include "corio/http.h"
#include "corio/io.h"
#include "corio/loop.h"
#include "corio/multi.h"
#include "corio/pool.h"
#include "corio/scope.h"
#include "corio/signal.h"
#include "corio/task.h"
#include "core/list.h"
#include "net/net.h"

#include <llhttp.h>

#ifdef CORIO_TESTING
#define http_malloc corio__malloc
#define http_calloc corio__calloc
#define http_realloc corio__realloc
#define http_free corio__free
#else
#include <stdlib.h>
#define http_malloc malloc
#define http_calloc calloc
#define http_realloc realloc
#define http_free free
#endif

/* Defaults of corio_http_server_opts. */
#define HTTP_MAX_CONNECTIONS 10000
#define HTTP_MAX_REQUEST_LINE 8192
#define HTTP_MAX_HEADER_BYTES 16384
#define HTTP_MAX_HEADERS 100
#define HTTP_MAX_BODY (1u << 20)
#define HTTP_HEADER_TIMEOUT 10.0
#define HTTP_BODY_TIMEOUT 30.0
#define HTTP_IDLE_TIMEOUT 60.0
#define HTTP_WRITE_TIMEOUT 30.0
#define HTTP_SHUTDOWN_TIMEOUT 10.0

#define HTTP_MAX_PARAMS 16   /* route parameters per pattern */
#define HTTP_RESERVE 64      /* room for a status line before the headers */
#define HTTP_COPY_MAX 4096   /* bodies up to this are copied and buffered */

/* ---- applications (router.c) ---- */

enum { SEG_LIT, SEG_PARAM, SEG_TAIL };

/* One segment of a compiled pattern: literal text, or a parameter's name.
 * Both point into the route's copy of the pattern, NUL-terminated. */
struct seg {
    const char *text;
    size_t len;
    int kind; /* SEG_* */
};

struct route {
    char *method;             /* owned; NULL: any method */
    char *pattern;            /* owned; split in place into segs */
    struct seg *segs;         /* owned */
    size_t nsegs;
    size_t nparams;
    corio_http_handler_fn fn;
    void *arg;
    char *dir;                /* static routes: the directory (owned) */
};

struct mw {
    corio_http_middleware_fn fn;
    void *arg;
};

struct corio_http_app {
    struct route *routes;     /* owned, nroutes used */
    size_t nroutes, rcap;
    struct mw *mws;           /* owned, nmws used */
    size_t nmws, mcap;
    corio_http_error_fn err_fn;
    void *err_arg;
};

/* ---- servers (server.c) ---- */

struct corio_http_server {
    corio_server *srv;        /* the TCP (or TLS) server underneath */
    corio_http_app *app;      /* borrowed */
    corio_http_server_opts o; /* the options, defaults filled in */
    corio_loop *loop;
    bool tls;                 /* connections are TLS streams */
    bool closing;             /* shutting down: no keep-alive */
    struct corio__list conns; /* struct corio_http_req, open connections */
    size_t nconns;
    /* Client disconnects: an epoll set of the connections' sockets
     * (EPOLLRDHUP, edge-triggered), watched by a task that cancels the
     * handler of a connection whose client has gone. */
    int epfd;                 /* owned, or -1 */
    corio_fd *epf;            /* epfd watched by the loop */
    corio_task *monitor;      /* a reference */
    /* The same task enforces the idle and first-request timeouts: a
     * connection waiting for a request stamps idle_since, and the task
     * cancels the connection's task once the wait is too long. A deadline
     * per wait would cost a clock read, a cancel scope and a timer per
     * request; this costs two stores. */
    double sweep;             /* seconds between sweeps */
};

/* The loop's clock at the start of its current iteration, in ns (core.h),
 * read without a system call. */
static inline int64_t corio__http_now(const corio_http_server *srv)
{
    return srv->loop->now;
}

/* ---- connections and requests (conn.c) ----
 *
 * Read buffer, during a request (offsets from rbuf):
 *
 *   rbuf [0 ... msg ... body ... bpos ... bend ... rpos ... rend ... rcap)
 *              \ head /        \decoded, /        \ raw,   /
 *                               unread body         unparsed
 *
 * The head (request line and header fields) stays where it is from the
 * end of its parsing until the request is over, so that the handler's
 * strings (NUL-terminated in place) stay valid. Body bytes are decoded in
 * place: the parser hands over each piece of a chunked body and it is
 * moved down to bend, so the decoded body is contiguous and never larger
 * than the raw bytes it came from. Header spans are offsets from msg,
 * which compaction moves while the head is still being read.
 *
 * Write buffer: wbuf [0 ... wbeg ... wdone ... rstart ... wlen ... wcap)
 *                           \ finished, /      \ this response,
 *                             unsent            being built /
 *
 * A response is built after HTTP_RESERVE bytes at rstart; its status line
 * is written into them, right-aligned, once the status is final. */

struct hdr {
    uint32_t name, name_len;   /* offsets from msg */
    uint32_t value, value_len;
};

struct param {
    const char *name;          /* the route's */
    const char *value;         /* in scratch */
};

enum { RESP_NONE, RESP_HEAD, RESP_BUFFERED, RESP_STREAM, RESP_DONE };

struct corio_http_req {
    /* The connection. */
    corio_http_server *srv;
    corio_stream *st;          /* borrowed from the server */
    corio_task *task;          /* the connection's task (borrowed) */
    struct corio__list link;   /* on srv->conns */
    int fd;                    /* the socket's descriptor */
    bool monitored;            /* in srv->epfd */
    bool in_handler;           /* the handler chain is running */
    bool gone;                 /* the monitor saw the client leave */
    bool keep_alive;           /* another request may follow */
    bool nreq_first;           /* no request served yet */
    bool idle;                 /* parked waiting for a request's first
                                  bytes: the monitor may end the wait */
    bool idle_ended;           /* the monitor (or a shutdown) ended it */
    int64_t idle_since;        /* when that wait began (loop clock, ns) */
    llhttp_t parser;

    /* Input. */
    char *rbuf;                /* owned */
    size_t rcap, rpos, rend;
    size_t msg;                /* first byte of the current request */
    size_t head_end;           /* end of its head (offset from rbuf) */

    /* Parsing state of the current request. */
    struct hdr *hdrs;          /* owned, nhdrs used of hcap */
    uint32_t nhdrs, hcap;
    uint32_t url, url_len;     /* the target: offset from msg */
    int perr;                  /* status of an error a callback found */
    bool url_done, hdr_done, msg_done;
    bool in_field;             /* the last span was a field name */
    bool fold;                 /* obs-fold or a split value: 400 */

    /* The request. */
    const char *method;        /* static */
    char *path;                /* in scratch */
    const char *query;         /* raw, in rbuf */
    char *qpairs;              /* decoded "name\0value\0..." in scratch */
    size_t nq;
    bool q_parsed;
    int64_t content_length;    /* -1: chunked */
    bool head;                 /* HEAD: no response body */
    bool has_body;             /* a body follows the head */
    bool expect_continue;      /* the client waits for 100 Continue */
    bool sent_continue;
    bool body_read;            /* the handler asked for the body */
    size_t body;               /* where decoded body bytes start */
    size_t bpos, bend;         /* decoded, unread: rbuf[bpos, bend) */
    uint64_t body_total;       /* decoded body bytes so far */
    uint64_t max_body;         /* 0: no limit */
    int body_status;           /* 413 or 400 from a failed body read */
    char *big;                 /* owned: a whole body that did not fit */
    size_t bigcap;
    void *data;                /* corio_http_req_set_data */

    /* Routing. */
    const struct route *route; /* or NULL */
    int route_status;          /* 404 or 405 when route is NULL */
    char allow[64];            /* 405: the methods that would match */
    struct param params[HTTP_MAX_PARAMS];
    size_t nparams;
    size_t mw_next;            /* the chain's next middleware */
    bool handler_ran;

    /* Per-request strings: the decoded path, query and parameters. */
    char *scratch;             /* owned */
    size_t scap, slen;

    /* Output. */
    char *wbuf;                /* owned */
    size_t wcap, wbeg, wdone, wlen;
    size_t rstart;             /* this response's reserve */
    size_t hend;               /* where its blank line starts (buffered) */
    int status;
    int rstate;                /* RESP_* */
    bool chunked_out;          /* streaming with chunks */
    bool close_delimited;      /* streaming to HTTP/1.0: close ends it */
    bool user_length;          /* the handler added Content-Length */
    bool user_ctype;           /* the handler added Content-Type */
    bool conn_hdr;             /* Connection: close is in the headers */
    int64_t out_length;        /* declared Content-Length, or -1 */
    uint64_t out_sent;         /* body bytes streamed */
    corio_handle flush_h;      /* a pending flush of pipelined output */
};

/* Serve one connection over st: corio_server's handler (arg: the
 * server). */
CORIO_HIDDEN int corio__http_serve(corio_stream *st, void *arg);

/* Fill in the defaults of o. */
CORIO_HIDDEN void corio__http_opts(corio_http_server_opts *o,
                                   const corio_http_server_opts *in);

/* Initialise a server with no listener yet (srv->srv NULL): the state
 * connections share. 0 or a negative errno. */
CORIO_HIDDEN int corio__http_server_init(corio_http_server *srv,
                                         corio_http_app *app,
                                         const corio_http_server_opts *o);
/* Free what corio__http_server_init made (the monitor task included). */
CORIO_HIDDEN void corio__http_server_fini(corio_http_server *srv);

/* The monitor: add and remove a connection (conn.c calls them). */
CORIO_HIDDEN void corio__http_monitor_add(corio_http_req *c);
CORIO_HIDDEN void corio__http_monitor_del(corio_http_req *c);

/* Body: wait for more decoded bytes. 1 if there are some, 0 at the end
 * of the body, or a negative errno (conn.c). */
CORIO_HIDDEN int corio__http_body_more(corio_http_req *c);

/* ---- routing (router.c) ---- */

/* Find req's route, or set route_status to 404/405 (and allow). Route
 * parameters go to scratch. */
CORIO_HIDDEN void corio__http_route(corio_http_req *c);

/* Call the app's error page for status, falling back to the built-in
 * one; returns what corio_http_resp_send returned. */
CORIO_HIDDEN int corio__http_error_page(corio_http_req *c, int status);

/* ---- responses (resp.c) ---- */

/* Reserve n more bytes at the end of wbuf. 0 or -ENOMEM. */
CORIO_HIDDEN int corio__http_wreserve(corio_http_req *c, size_t n);

/* Append bytes to wbuf (reserved or not). 0 or -ENOMEM. */
CORIO_HIDDEN int corio__http_wappend(corio_http_req *c, const void *p,
                                     size_t n);

/* Finish the current response after the handler chain returned rc:
 * error pages, the status line, Connection: close if the connection
 * ends. 0, or a negative errno if the connection must be dropped. */
CORIO_HIDDEN int corio__http_finish(corio_http_req *c, int rc);

/* Hand wbuf's finished responses to the stream (never suspends). 0 or
 * the connection's error. */
CORIO_HIDDEN int corio__http_flush(corio_http_req *c);

/* corio__http_flush, then wait while the stream holds more than its high
 * watermark (write_timeout). Suspends. */
CORIO_HIDDEN int corio__http_flush_wait(corio_http_req *c);

/* Commit the status and headers of a response whose body follows: chunked
 * (or close-delimited) unless length >= 0. Written to wbuf, not sent. */
CORIO_HIDDEN int corio__http_commit(corio_http_req *c, int64_t length);

/* A minimal response for an error found before a request could be
 * handled (400, 408, 414, 431, 501, 505 ...), with Connection: close. */
CORIO_HIDDEN int corio__http_plain_error(corio_http_req *c, int status);

/* Append the Date header (cached per second and thread). */
CORIO_HIDDEN int corio__http_date(corio_http_req *c);

/* HTTP date text (IMF-fixdate) of t into buf (30 bytes): its length. */
CORIO_HIDDEN size_t corio__http_fmt_date(time_t t, char *buf);
/* Parse an HTTP date (IMF-fixdate, RFC 850 or asctime): the time, or -1. */
CORIO_HIDDEN time_t corio__http_parse_date(const char *s);

/* Case-insensitive comparison of s (n bytes) with the NUL-terminated
 * lower-case word w. */
CORIO_HIDDEN bool corio__http_ieq(const char *s, size_t n, const char *w);

/* Whether c is a token character (RFC 9110 tchar). */
CORIO_HIDDEN bool corio__http_tchar(unsigned char c);

/* Reserve n bytes of scratch: a pointer to them, or NULL. Scratch only
 * grows between requests, so pointers stay valid during one. */
CORIO_HIDDEN char *corio__http_scratch(corio_http_req *c, size_t n);

#endif

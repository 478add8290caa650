/* SPDX-License-Identifier: MIT */
/* HTTP/1.1 servers: aiohttp.web in sequential C. An application holds the
 * routes (method and path pattern, with parameters: "/users/{id}"),
 * middleware and error pages; a server serves it on a port, one task per
 * connection, with keep-alive, pipelining, chunked bodies, static files
 * and limits on everything a client sends. A handler is a plain C
 * function that may suspend: it reads the request and writes the
 * response through the same corio_http_req. Include corio/http.h. */
#ifndef CORIO_HTTP_SERVER_H
#define CORIO_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "corio/common.h"
#include "corio/http.h" /* corio_http_json; it includes this file */
#include "corio/net.h"
#include "corio/stream.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Routes, middleware and error pages (web.Application). */
typedef struct corio_http_app corio_http_app;
/* A server serving an application on a listening socket. */
typedef struct corio_http_server corio_http_server;
/* One request and its response (web.Request and web.Response in one). */
typedef struct corio_http_req corio_http_req;
/* A TLS server context (corio/tls.h), for HTTPS. */
typedef struct corio_tls_ctx corio_tls_ctx;

/* A request handler: arg is the one given with the route. Returns >= 0 on
 * success; a negative errno makes the server answer 500 (or the status a
 * failed body read recorded: 413, 400) if no response was started. */
typedef int (*corio_http_handler_fn)(corio_http_req *req, void *arg);

/* Middleware: runs around the rest of the chain, which it calls with
 * corio_http_next (aiohttp's @web.middleware), or answers itself. */
typedef int (*corio_http_middleware_fn)(corio_http_req *req, void *arg);

/* An error page: answer req with status (404, 405, 413, 500 ...),
 * usually with corio_http_resp_send. Returns >= 0 if it answered. */
typedef int (*corio_http_error_fn)(corio_http_req *req, int status,
                                   void *arg);

/* ---- applications ---- */

/* An empty application: no routes (every request gets 404), no
 * middleware, the built-in error pages. NULL with errno set (ENOMEM).
 * Never suspends. */
CORIO_API corio_http_app *corio_http_app_new(void);

/* Free the application. Servers using it must be closed first. NULL is
 * allowed. Never suspends. */
CORIO_API void corio_http_app_free(corio_http_app *app);

/* Route requests for method ("GET", "POST" ...; NULL or "*": any) whose
 * path matches pattern to fn(req, arg) (app.router.add_route). A pattern
 * is a path of literal segments and parameters: "{name}" matches one
 * segment, "{name...}" the rest of the path (at the end only). Routes are
 * tried in the order added; a GET route also answers HEAD. A path that
 * matches only routes of other methods gets 405 with an Allow header.
 * 0, -EINVAL (bad pattern or method), -ENOMEM. Never suspends. */
CORIO_API int corio_http_app_route(corio_http_app *app, const char *method,
                                   const char *pattern,
                                   corio_http_handler_fn fn, void *arg);

/* Serve the files under directory dir at URL prefix (GET and HEAD;
 * app.router.add_static): "/static" and dir "/srv/www" serve
 * /srv/www/css/a.css as "/static/css/a.css", with corio_http_resp_file.
 * Paths with ".." segments get 404. 0, -EINVAL, -ENOMEM. Never
 * suspends. */
CORIO_API int corio_http_app_static(corio_http_app *app, const char *prefix,
                                    const char *dir);

/* Add middleware; the first added runs outermost. 0, -EINVAL, -ENOMEM.
 * Never suspends. */
CORIO_API int corio_http_app_use(corio_http_app *app,
                                 corio_http_middleware_fn fn, void *arg);

/* Run the rest of req's chain: the next middleware, or the handler (or
 * the 404/405 page if no route matched). Returns what it returned;
 * -EALREADY if the handler has already run. Suspends (if the handler
 * does); cancellation point. */
CORIO_API int corio_http_next(corio_http_req *req);

/* Answer errors (404, 405, 413, 500, and the statuses of
 * corio_http_resp_error) with fn instead of the built-in text pages. The
 * built-in page is used if fn answers nothing. Errors found before a
 * request could be parsed (400, 408, 414, 431, 501, 505) always get the
 * built-in page. 0 or -EINVAL. Never suspends. */
CORIO_API int corio_http_app_set_error_page(corio_http_app *app,
                                            corio_http_error_fn fn,
                                            void *arg);

/* ---- servers ---- */

/* Options of a server; zero-initialise and set what you need. Zero means
 * the default; a negative time means no limit. */
typedef struct corio_http_server_opts {
    size_t max_connections;  /* served at once; more wait in the backlog.
                                0: 10,000 */
    size_t max_request_line; /* bytes of the request line; longer: 414.
                                0: 8 KiB */
    size_t max_header_bytes; /* bytes of the header fields; more: 431.
                                0: 16 KiB */
    size_t max_headers;      /* header fields; more: 431. 0: 100 */
    size_t max_body;         /* bytes of a request body; more: 413 (a
                                handler may raise it per request). 0: 1 MiB */
    double header_timeout;   /* seconds from a request's first byte to its
                                last header; then 408. 0: 10 */
    double body_timeout;     /* seconds a body read waits for data. 0: 30 */
    double idle_timeout;     /* seconds a keep-alive connection waits for
                                its next request. 0: 60 */
    double write_timeout;    /* seconds a response waits for the client to
                                take data. 0: 30 */
    corio_listen_opts listen; /* backlog and flags (CORIO_SOCK_REUSEPORT) */
    size_t stack_size;       /* of connection tasks; 0: the loop's */
    corio_tls_ctx *tls;      /* HTTPS with this server context (corio_tls);
                                NULL: plain HTTP */
    /* corio_http_run only: */
    unsigned loops;          /* loops (threads) serving the port, each on a
                                listener of its own (SO_REUSEPORT); 0: 1 */
    bool pin;                /* pin loop i to the i-th allowed CPU */
    double shutdown_timeout; /* grace period at SIGINT/SIGTERM. 0: 10 */
    void (*ready)(int port, void *arg); /* called once listening */
    void *ready_arg;
} corio_http_server_opts;

/* Serve app on host and port (port 0: a free one; host NULL or "": every
 * interface), as corio_start_server does, with a task per connection.
 * The app must outlive the server. opts may be NULL. NULL with errno set
 * (as corio_tcp_listen; EPROTONOSUPPORT for tls in a build without
 * corio_tls; EINVAL). Suspends (only to resolve a name); cancellation
 * point. */
CORIO_API corio_http_server *
corio_http_start_server(const char *host, int port, corio_http_app *app,
                        const corio_http_server_opts *opts);

/* Serve app on a listening socket, which the server owns from then on (on
 * failure it stays the caller's). NULL with errno set. Never suspends. */
CORIO_API corio_http_server *
corio_http_server_new(corio_sock *listener, corio_http_app *app,
                      const corio_http_server_opts *opts);

/* The port the server listens on, or -EINVAL. Never suspends. */
CORIO_API int corio_http_server_port(const corio_http_server *srv);

/* Connections open now. Never suspends. */
CORIO_API size_t corio_http_server_connections(const corio_http_server *srv);

/* Shut the server down gracefully: stop accepting, close the connections
 * that wait for a request, let requests in progress finish (their
 * responses say "Connection: close") for up to grace seconds (< 0: no
 * limit), then cancel the rest; then free srv. Returns how many
 * connections had to be cancelled, or -ECANCELED / -ETIMEDOUT if the
 * caller was (srv is freed all the same); -EDEADLK from one of srv's own
 * handlers, -EPERM outside a task (nothing happens then). NULL is
 * allowed. Suspends; cancellation point. */
CORIO_API int corio_http_server_close(corio_http_server *srv, double grace);

/* web.run_app: serve app on host and port until SIGINT or SIGTERM, then
 * shut down gracefully (opts->shutdown_timeout). Call it from a plain
 * thread, not from a task: it runs its own loop, or opts->loops loops on
 * threads of their own. The two signals are blocked in the calling thread
 * while it runs. opts->ready, if set, is called with the port once the
 * server listens (with one loop, in that loop's task; with several, in
 * the calling thread). 0, or a negative errno if the server could not
 * start (-EBUSY in a thread that runs a loop). Never suspends (it runs
 * the loop in the calling thread, which it blocks until the shutdown is
 * over). */
CORIO_API int corio_http_run(corio_http_app *app, const char *host, int port,
                             const corio_http_server_opts *opts);

/* ---- the request ----
 * Strings are NUL-terminated and valid until the handler returns. */

/* The method ("GET"), the request target as sent ("/a%20b?x=1"), the path
 * with %-escapes decoded except %2F ("/a b"), and the raw query string
 * after '?' ("x=1"; "" if none). Never suspend. */
CORIO_API const char *corio_http_req_method(const corio_http_req *req);
CORIO_API const char *corio_http_req_target(const corio_http_req *req);
CORIO_API const char *corio_http_req_path(const corio_http_req *req);
CORIO_API const char *corio_http_req_query_string(const corio_http_req *req);

/* The HTTP version: 10 or 11. Never suspends. */
CORIO_API int corio_http_req_version(const corio_http_req *req);

/* The Content-Length of the body, 0 if it has none, -1 if it is chunked.
 * Never suspends. */
CORIO_API int64_t corio_http_req_content_length(const corio_http_req *req);

/* The first value of query parameter name, decoded ('+' and %-escapes),
 * "" for a name without '=', or NULL if absent (request.query). Never
 * suspends. */
CORIO_API const char *corio_http_req_query(corio_http_req *req,
                                           const char *name);

/* The value of route parameter name ("{id}"), decoded, or NULL
 * (request.match_info). Never suspends. */
CORIO_API const char *corio_http_req_param(const corio_http_req *req,
                                           const char *name);

/* The value of the first header field called name (case-insensitive), or
 * NULL (request.headers). Never suspends. */
CORIO_API const char *corio_http_req_header(const corio_http_req *req,
                                            const char *name);

/* The number of header fields, and field i's name and value (either
 * pointer may be NULL): 0, or -ERANGE. Never suspend. */
CORIO_API size_t corio_http_req_header_count(const corio_http_req *req);
CORIO_API int corio_http_req_header_at(const corio_http_req *req, size_t i,
                                       const char **name,
                                       const char **value);

/* Read up to n bytes of the body (request.content.read(n)), decoded from
 * chunked if it was; sends "100 Continue" first if the client asked for
 * it. The count, 0 at the end of the body, or a negative errno: -EMSGSIZE
 * (the body is over the limit: the server answers 413 if the handler does
 * not), -EPROTO (malformed chunked body: 400), -EPIPE (the client went
 * away), -ETIMEDOUT (body_timeout, or the task's deadline), -ECANCELED.
 * Suspends; cancellation point. */
CORIO_API ssize_t corio_http_req_read(corio_http_req *req, void *buf,
                                      size_t n);

/* Read the whole body (request.read()) and point *body at it (the bytes
 * are NUL-terminated); returns its length or a negative errno as
 * corio_http_req_read. *body stays valid until the handler returns.
 * Suspends; cancellation point. */
CORIO_API ssize_t corio_http_req_body(corio_http_req *req, const char **body);

/* The body limit for this request (client_max_size), before the body is
 * read; 0 means no limit. 0 or -EALREADY. Never suspends. */
CORIO_API int corio_http_req_set_max_body(corio_http_req *req, size_t max);

/* The connection's stream (borrowed), for addresses (corio_stream_sock)
 * and TLS details; do not read or write it. Never suspends. */
CORIO_API corio_stream *corio_http_req_stream(corio_http_req *req);

/* A pointer for middleware and handlers to share (request["key"]); NULL
 * at the start of each request. Never suspend. */
CORIO_API void corio_http_req_set_data(corio_http_req *req, void *data);
CORIO_API void *corio_http_req_data(const corio_http_req *req);

/* ---- the response ---- */

/* Set the status of the response (default 200) or read it back. Setting
 * it: 0, -EINVAL (outside 100..999), -EALREADY once the response has
 * started. Never suspend. */
CORIO_API int corio_http_resp_set_status(corio_http_req *req, int status);
CORIO_API int corio_http_resp_status(const corio_http_req *req);

/* Add a header field to the response. Date, Content-Length,
 * Transfer-Encoding and Connection are the server's. 0; -EINVAL (a name
 * that is not a token, a value with CR, LF or NUL); -EALREADY once the
 * headers are sent (streaming, files, large bodies); -ENOMEM. Never
 * suspends. */
CORIO_API int corio_http_resp_add_header(corio_http_req *req,
                                         const char *name, const char *value);

/* Answer with status, a Content-Type (NULL: none) and a body of len
 * bytes, which is copied (web.Response). Middleware may still add headers
 * after it unless the body is over 4 KiB, which is sent at once. HEAD
 * requests get the headers only. 0, -EALREADY (already answered),
 * -EINVAL, -ENOMEM, or a connection error. Never suspends. */
CORIO_API int corio_http_resp_send(corio_http_req *req, int status,
                                   const char *content_type, const void *body,
                                   size_t len);

/* corio_http_resp_send of a string as text/plain; charset=utf-8. Never
 * suspends. */
CORIO_API int corio_http_resp_text(corio_http_req *req, int status,
                                   const char *text);

/* corio_http_resp_send of the JSON in j as application/json (web.
 * json_response). -EINVAL if j holds an error. Never suspends. */
CORIO_API int corio_http_resp_json(corio_http_req *req, int status,
                                   const corio_http_json *j);

/* Answer with the application's error page for status (raise
 * web.HTTPNotFound()). 0 or a negative errno as corio_http_resp_send.
 * Suspends (if the error page does); cancellation point. */
CORIO_API int corio_http_resp_error(corio_http_req *req, int status);

/* Streaming (web.StreamResponse): send the status and headers now, then
 * the body in pieces, chunked unless a Content-Length header was added
 * (HTTP/1.0 clients get a body ended by closing the connection); end it
 * with corio_http_resp_end (a handler that returns >= 0 ends it too).
 * Each write waits while the client is slow to read (write_timeout).
 * 0, -EALREADY, -EINVAL (more than the Content-Length), -EPIPE or
 * -ECONNRESET (the client went away), -ETIMEDOUT, -ECANCELED. Suspends;
 * cancellation point. */
CORIO_API int corio_http_resp_start(corio_http_req *req);
CORIO_API int corio_http_resp_write(corio_http_req *req, const void *buf,
                                    size_t len);
CORIO_API int corio_http_resp_end(corio_http_req *req);

/* Whether the status and headers have gone out, so that they can no
 * longer change (StreamResponse.prepared). Never suspends. */
CORIO_API bool corio_http_resp_started(const corio_http_req *req);

/* Answer with the file at path (web.FileResponse): its type from the
 * name's extension, Last-Modified and an ETag, 304 for a matching
 * If-None-Match or If-Modified-Since, 206 for one byte range (416 if it
 * is outside the file), 404 if it is missing or not a regular file, 403
 * if it cannot be opened. The body goes out with sendfile(2) over plain
 * connections. 0 once answered (errors included), or a connection error
 * as corio_http_resp_write. Suspends; cancellation point. */
CORIO_API int corio_http_resp_file(corio_http_req *req, const char *path);

#ifdef __cplusplus
}
#endif
#endif

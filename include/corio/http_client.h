/* SPDX-License-Identifier: MIT */
/* HTTP clients: aiohttp.ClientSession in sequential C, on libcurl's
 * multi-socket interface driven by the corio loop, so that many tasks
 * fetch at once on one loop without threads. A session holds the
 * defaults, the connection pool (keep-alive, HTTP/2 over TLS where the
 * server offers it) and, optionally, a cookie jar; a fetch returns a
 * response whose body is read whole or streamed. Include corio/http.h. */
#ifndef CORIO_HTTP_CLIENT_H
#define CORIO_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "corio/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Defaults, the connection pool and the cookie jar (aiohttp.ClientSession).
 * It belongs to the loop that made it. */
typedef struct corio_http_session corio_http_session;
/* A response: status, header fields, and the body, whole or streamed
 * (aiohttp.ClientResponse). */
typedef struct corio_http_response corio_http_response;

/* A streamed request body: fill buf with up to len bytes and return how
 * many, 0 at the end of the body, or a negative errno to abort the
 * request (the fetch then returns it). It runs in the fetching task and
 * may suspend. */
typedef ssize_t (*corio_http_body_fn)(void *buf, size_t len, void *arg);

/* max_redirects: do not follow redirects; the 3xx response is returned. */
#define CORIO_HTTP_NO_REDIRECTS (-1)

/* http_version of the options. */
#define CORIO_HTTP_VERSION_DEFAULT 0 /* HTTP/2 over TLS where the server
                                        offers it (ALPN), else HTTP/1.1 */
#define CORIO_HTTP_VERSION_1_1 11    /* HTTP/1.1 only */
#define CORIO_HTTP_VERSION_2 20      /* HTTP/2, also over plain TCP (an
                                        Upgrade: h2c request) */

/* Options of a session; zero-initialise and set what you need. Zero means
 * the default; a negative time means no limit. */
typedef struct corio_http_session_opts {
    double timeout;         /* seconds for a whole request, redirects and
                               body included (ClientTimeout.total). 0: 300 */
    double connect_timeout; /* seconds to resolve and connect. 0: 30 */
    int max_redirects;      /* redirects followed (301, 302, 303, 307,
                               308); more fail with -ELOOP. 0: 10;
                               CORIO_HTTP_NO_REDIRECTS: none */
    size_t max_body;        /* bytes of a body read whole; more fail with
                               -EMSGSIZE. 0: 64 MiB */
    size_t max_connections; /* connections open at once; more requests
                               wait for one (TCPConnector's limit). 0: 100 */
    size_t max_connections_per_host; /* 0: no limit */
    const char *const *headers; /* sent with every request: "Name: value"
                                   strings, NULL-terminated; copied */
    const char *user_agent; /* NULL: "corio/<version>" */
    const char *ca_file;    /* PEM file of the CAs to verify servers
                               against; NULL: the system's */
    bool insecure;          /* do not verify servers' certificates */
    bool cookies;           /* keep the cookies servers set, and send them
                               back (a CookieJar) */
    int http_version;       /* CORIO_HTTP_VERSION_* */
} corio_http_session_opts;

/* Flags of a request. */
#define CORIO_HTTP_STREAM 1u /* return once the header fields are in, and
                                read the body with corio_http_response_read
                                (memory stays bounded whatever its size) */

/* Options of a request; zero-initialise and set what you need. Zero means
 * the session's value. */
typedef struct corio_http_request_opts {
    const char *const *headers; /* "Name: value" strings, NULL-terminated;
                                   they replace session headers of the
                                   same name */
    const void *body;           /* a body of body_len bytes; it must stay
                                   valid until the fetch returns */
    size_t body_len;
    corio_http_body_fn body_fn; /* or a streamed body (not both) */
    void *body_arg;
    int64_t body_size;          /* body_fn's total length, sent as
                                   Content-Length; 0: unknown, sent
                                   chunked */
    double timeout;             /* < 0: no limit */
    double connect_timeout;
    int max_redirects;          /* or CORIO_HTTP_NO_REDIRECTS */
    size_t max_body;
    unsigned flags;             /* CORIO_HTTP_STREAM */
} corio_http_request_opts;

/* ---- sessions ---- */

/* A session for the loop running in this thread (aiohttp.ClientSession()).
 * opts may be NULL. NULL with errno set: EPERM with no running loop,
 * EINVAL (a malformed header, a negative max_redirects other than
 * CORIO_HTTP_NO_REDIRECTS, an unknown http_version), ENOMEM, EMFILE.
 * Never suspends. */
CORIO_API corio_http_session *
corio_http_session_new(const corio_http_session_opts *opts);

/* Close the session (ClientSession.close): requests in progress and
 * responses still streaming end (their calls return -EBADF), pooled
 * connections close, and s is freed whatever happens. Responses must
 * still be closed by their owners. 0; NULL is allowed. Never suspends,
 * except to let the session's own task end. */
CORIO_API int corio_http_session_close(corio_http_session *s);

/* Why the last request of s that failed did, as libcurl or corio says it
 * ("" if none): read it right after the failed call, before the task
 * suspends again. Never suspends. */
CORIO_API const char *corio_http_session_error(const corio_http_session *s);

/* ---- requests ---- */

/* Send a request with method ("GET", "POST", "PUT", "DELETE", "HEAD" or
 * any other token) to url (http:// or https://) and store the response in
 * *resp (session.request). Redirects are followed, names resolved with
 * corio's resolver, connections reused. Without CORIO_HTTP_STREAM it
 * returns once the whole body is in; with it, once the header fields are.
 * Any HTTP status is a success: check corio_http_response_status. opts
 * may be NULL. 0, or a negative errno (nothing is stored then): -EINVAL
 * (a bad URL, method or header), -EPROTONOSUPPORT (not http or https),
 * -ENXIO and the other errors of corio_getaddrinfo (resolving),
 * -ECONNREFUSED, -EHOSTUNREACH, -ENETUNREACH (connecting), -ETIMEDOUT
 * (the request's timeouts, or the task's deadline), -ECANCELED,
 * -EKEYREJECTED (the server's certificate was refused), -EPROTO (a
 * malformed response or a TLS failure), -ECONNRESET (the server closed
 * the connection without a response), -EPIPE (the body ended early),
 * -ELOOP (too many redirects), -EMSGSIZE (the body is over max_body),
 * -EBADF (the session was closed meanwhile), -ENOMEM, -EMFILE or -ENOSPC
 * (no descriptor, or no epoll watch, for a connection), -EPERM outside a
 * task, an error of body_fn, -EIO (another libcurl error). The reason is
 * in corio_http_session_error. Suspends; cancellation point. */
CORIO_API int corio_http_fetch(corio_http_session *s, const char *method,
                               const char *url,
                               const corio_http_request_opts *opts,
                               corio_http_response **resp);

/* corio_http_fetch(s, "GET", url, NULL, resp) (session.get). Suspends;
 * cancellation point. */
CORIO_API int corio_http_get(corio_http_session *s, const char *url,
                             corio_http_response **resp);

/* ---- responses ---- */

/* The status code (200), the HTTP version (10, 11, 20 or 30), the URL
 * after redirects (response.url), and how many redirects led to it
 * (len(response.history)). 0 or NULL for NULL. Never suspend. */
CORIO_API int corio_http_response_status(const corio_http_response *r);
CORIO_API int corio_http_response_version(const corio_http_response *r);
CORIO_API const char *corio_http_response_url(const corio_http_response *r);
CORIO_API int corio_http_response_redirects(const corio_http_response *r);

/* The value of the first header field called name (case-insensitive), or
 * NULL (response.headers). Never suspends. */
CORIO_API const char *corio_http_response_header(const corio_http_response *r,
                                                 const char *name);

/* The number of header fields, and field i's name and value (either
 * pointer may be NULL): 0, or -ERANGE. Never suspend. */
CORIO_API size_t
corio_http_response_header_count(const corio_http_response *r);
CORIO_API int corio_http_response_header_at(const corio_http_response *r,
                                            size_t i, const char **name,
                                            const char **value);

/* The body of a response fetched whole, not yet consumed by
 * corio_http_response_read (response.read()), NUL-terminated; its length
 * in *len if len is not NULL. NULL for a streamed response. Never
 * suspends. */
CORIO_API const void *corio_http_response_body(const corio_http_response *r,
                                               size_t *len);

/* Read up to n bytes of the body (response.content.read(n)), waiting for
 * them if the response is streamed. The count, 0 at the end of the body,
 * or a negative errno: the fetch's transfer errors (-ETIMEDOUT,
 * -ECONNRESET, -EPIPE ...), -ECANCELED or -ETIMEDOUT from the task (the
 * transfer then stops, and later reads return the same), -EBADF if the
 * session was closed, -EINVAL. Suspends; cancellation point. */
CORIO_API ssize_t corio_http_response_read(corio_http_response *r, void *buf,
                                           size_t n);

/* Free the response (response.release()); a body still streaming stops
 * and its connection closes. NULL is allowed. Never suspends. */
CORIO_API void corio_http_response_close(corio_http_response *r);

#ifdef __cplusplus
}
#endif
#endif

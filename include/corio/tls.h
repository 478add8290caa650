/* SPDX-License-Identifier: MIT */
/* TLS over corio streams, on OpenSSL 3 (Python's ssl module and asyncio's
 * start_tls in sequential form). A TLS connection is a corio_stream like
 * any other: read, write, drain and close work unchanged, and close sends
 * close_notify. This is the corio_tls library (pkg-config corio_tls, CMake
 * corio::corio_tls); the core library does not depend on OpenSSL. */
#ifndef CORIO_TLS_H
#define CORIO_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include "corio/common.h"
#include "corio/net.h"
#include "corio/stream.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A TLS configuration shared by many connections (ssl.SSLContext): role,
 * certificates, verification, ALPN, versions, session cache. */
typedef struct corio_tls_ctx corio_tls_ctx;

/* Roles of corio_tls_ctx_new. */
#define CORIO_TLS_CLIENT 0
#define CORIO_TLS_SERVER 1

/* Verification modes of corio_tls_ctx_set_verify (ssl.CERT_*). */
#define CORIO_TLS_VERIFY_NONE 0     /* do not check the peer */
#define CORIO_TLS_VERIFY_OPTIONAL 1 /* servers: ask for a client certificate
                                       and check it if one is sent */
#define CORIO_TLS_VERIFY_REQUIRED 2 /* the peer must present a valid one */

/* Protocol versions (their wire values), for corio_tls_ctx_set_versions. */
#define CORIO_TLS_VERSION_1_2 0x0303
#define CORIO_TLS_VERSION_1_3 0x0304

/* ---- contexts ---- */

/* A context for clients (verification REQUIRED, against the system's
 * trust store unless corio_tls_ctx_load_verify names other CAs; a session
 * cache for resumption) or servers (no client certificates asked; load
 * one with corio_tls_ctx_load_cert_chain). TLS 1.2 or later. NULL with
 * errno set (EINVAL, ENOMEM). Never suspends. */
CORIO_API corio_tls_ctx *corio_tls_ctx_new(int role);

/* Release the context. Connections and servers made with it keep what
 * they need until they close. NULL is allowed. Never suspends. */
CORIO_API void corio_tls_ctx_free(corio_tls_ctx *ctx);

/* Trust the CA certificates in cafile (PEM, may be NULL) and/or the
 * hashed directory capath (may be NULL), instead of the system store.
 * 0, -ENOENT (or another errno of opening them), -EBADMSG (no usable
 * certificate), -EINVAL. Never suspends. */
CORIO_API int corio_tls_ctx_load_verify(corio_tls_ctx *ctx, const char *cafile,
                                        const char *capath);

/* The certificate chain (PEM, leaf first) and its private key (keyfile
 * NULL: in certfile) this side presents: a server's, or a client's
 * certificate. 0, -ENOENT, -EBADMSG (unreadable), -EKEYREJECTED (the key
 * does not match the certificate), -EINVAL. Never suspends. */
CORIO_API int corio_tls_ctx_load_cert_chain(corio_tls_ctx *ctx,
                                            const char *certfile,
                                            const char *keyfile);

/* A server's further certificate chain (PEM, leaf first) and key, for
 * several names on one address: a client that asks for a name (SNI) gets
 * the first added chain whose certificate covers it (subjectAltName,
 * wildcards too), else load_cert_chain's chain, or the first added one if
 * none was loaded. Add them before the context serves. 0, -ENOENT,
 * -EBADMSG, -EKEYREJECTED, -ENOMEM, -EINVAL (a client context too).
 * Never suspends. */
CORIO_API int corio_tls_ctx_add_cert_chain(corio_tls_ctx *ctx,
                                           const char *certfile,
                                           const char *keyfile);

/* How to check the peer: CORIO_TLS_VERIFY_*. Clients also check the name
 * they connect to. 0 or -EINVAL. Never suspends. */
CORIO_API int corio_tls_ctx_set_verify(corio_tls_ctx *ctx, int mode);

/* ALPN protocols in order of preference ("h2", "http/1.1"); n 0 clears.
 * A server picks its first that the client offers and refuses a client
 * that offers only others. 0, -EINVAL (empty or over 255 bytes), -ENOMEM.
 * Never suspends. */
CORIO_API int corio_tls_ctx_set_alpn(corio_tls_ctx *ctx,
                                     const char *const *protos, size_t n);

/* Lowest and highest protocol versions (CORIO_TLS_VERSION_*; 0: TLS 1.2
 * and the highest there is). 0 or -EINVAL. Never suspends. */
CORIO_API int corio_tls_ctx_set_versions(corio_tls_ctx *ctx, int min,
                                         int max);

/* Session resumption. Clients remember the last session of up to entries
 * servers (host and port; default 64) and offer it on the next
 * connection; servers keep up to entries sessions and issue tickets
 * (default: OpenSSL's). 0 turns resumption off. 0 or -EINVAL. Never
 * suspends. */
CORIO_API int corio_tls_ctx_set_session_cache(corio_tls_ctx *ctx,
                                              size_t entries);

/* The limit on each handshake, in seconds (asyncio's
 * ssl_handshake_timeout; default 60; < 0: none). 0 or -EINVAL. Never
 * suspends. */
CORIO_API int corio_tls_ctx_set_handshake_timeout(corio_tls_ctx *ctx,
                                                  double seconds);

/* Why the last call on ctx or handshake with it failed, as OpenSSL says
 * it ("" if none). Valid until the next failure. Never suspends. */
CORIO_API const char *corio_tls_ctx_error(const corio_tls_ctx *ctx);

/* The OpenSSL SSL_CTX (borrowed), for settings corio does not wrap
 * (cipher lists, curves). Never suspends. */
CORIO_API void *corio_tls_ctx_openssl(corio_tls_ctx *ctx);

/* ---- connections ---- */

/* Run the TLS handshake on a connected socket and return a stream over
 * the TLS connection, which owns sock from then on. Clients send
 * server_hostname as SNI (an IP address is not sent) and check the
 * certificate against it; it may be NULL only with verification off.
 * Servers ignore it. opts may be NULL. NULL with errno set: EKEYREJECTED
 * (a certificate was refused, by us or the peer), EPROTO (a protocol
 * error or alert), ENOPROTOOPT (no common ALPN protocol), ECONNRESET (the
 * peer left), ETIMEDOUT (the context's handshake timeout or a deadline),
 * ECANCELED, EINVAL, ENOMEM; the reason is in corio_tls_ctx_error. The
 * socket then stays the caller's: close it. Suspends; cancellation point.
 */
CORIO_API corio_stream *corio_tls_wrap(corio_sock *sock, corio_tls_ctx *ctx,
                                       const char *server_hostname,
                                       const corio_stream_opts *opts);

/* Switch a plain stream to TLS (STARTTLS, asyncio's start_tls): send what
 * it has buffered, then corio_tls_wrap its socket. plain is gone after
 * the call, whatever happens (on failure its connection is closed).
 * Unread input buffered in plain fails with EPROTO (bytes sent before the
 * switch must not pass for protected ones); EBUSY if another task reads
 * plain; EINVAL if it is not over a socket; else as corio_tls_wrap.
 * Suspends; cancellation point. */
CORIO_API corio_stream *corio_tls_wrap_stream(corio_stream *plain,
                                              corio_tls_ctx *ctx,
                                              const char *server_hostname);

/* corio_tcp_connect(host, port) and corio_tls_wrap with host as the
 * server name (asyncio.open_connection with ssl=). NULL with errno set.
 * Suspends; cancellation point. */
CORIO_API corio_stream *corio_tls_connect(const char *host, int port,
                                          corio_tls_ctx *ctx,
                                          const corio_stream_opts *opts);

/* corio_start_server and corio_server_new for TLS: each connection's
 * handshake runs in its handler task, and the handler gets the TLS
 * stream; connections whose handshake fails are closed without reaching
 * it. Close with corio_server_close. NULL with errno set. Suspends (only
 * to resolve a name); cancellation point. corio_tls_server_new never
 * suspends. */
CORIO_API corio_server *corio_tls_start_server(const char *host, int port,
                                               corio_tls_ctx *ctx,
                                               corio_server_fn fn, void *arg,
                                               const corio_server_opts *opts);
CORIO_API corio_server *corio_tls_server_new(corio_sock *listener,
                                             corio_tls_ctx *ctx,
                                             corio_server_fn fn, void *arg,
                                             const corio_server_opts *opts);

/* ---- what a TLS stream negotiated (NULL or false for other streams) ----
 * Strings are the stream's and valid until it closes. Never suspend. */

/* The ALPN protocol agreed on, or NULL. Never suspends. */
CORIO_API const char *corio_tls_alpn(corio_stream *s);
/* Whether the handshake resumed an earlier session. Never suspends. */
CORIO_API bool corio_tls_resumed(corio_stream *s);
/* The peer certificate's subject (RFC 2253: "CN=example.com,O=Example"),
 * or NULL if the peer sent none. Never suspends. */
CORIO_API const char *corio_tls_peer_subject(corio_stream *s);
/* The protocol version ("TLSv1.3") and cipher suite
 * ("TLS_AES_256_GCM_SHA384"). Never suspend. */
CORIO_API const char *corio_tls_version(corio_stream *s);
CORIO_API const char *corio_tls_cipher(corio_stream *s);
/* The server name (SNI) the client asked for, or NULL. Never suspends. */
CORIO_API const char *corio_tls_server_name(corio_stream *s);
/* Why the stream's last TLS operation failed, as OpenSSL says it ("" if
 * none; NULL for other streams). Never suspends. */
CORIO_API const char *corio_tls_error(corio_stream *s);
/* The OpenSSL SSL object (borrowed), for what corio does not wrap; do not
 * read, write or shut it down yourself. Never suspends. */
CORIO_API void *corio_tls_openssl(corio_stream *s);

#ifdef __cplusplus
}
#endif
#endif

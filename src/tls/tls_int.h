/* SPDX-License-Identifier: MIT */
/* What the files of the TLS module share: the context and connection
 * objects, allocation through the core's seams in the test build, and
 * OpenSSL errors as negative errno values with their text.
 *
 * corio_tls is a library of its own (libcorio_tls.so over libcorio.so),
 * so it may call only what libcorio exports: the public API and the
 * CORIO_API internals of src/net/net.h. The allocation seams are hidden
 * in libcorio.so; the test build links both libraries statically and
 * reaches them, which is all fault injection needs. */
#ifndef CORIO_TLS_INT_H
#define CORIO_TLS_INT_H

#include <openssl/ssl.h>
#include <pthread.h>
#include <stdatomic.h>

#include "corio/tls.h"
#include "net/net.h"

#ifdef CORIO_TESTING
#define tls_malloc corio__malloc
#define tls_calloc corio__calloc
#define tls_realloc corio__realloc
#define tls_free corio__free
#else
#include <stdlib.h>
#define tls_malloc malloc
#define tls_calloc calloc
#define tls_realloc realloc
#define tls_free free
#endif

#define TLS_ERRLEN 200 /* room for an error text, NUL included */

/* One remembered client session: the last one a server (key: name or
 * address, and port) gave us. */
struct tls_session {
    char *key;           /* owned */
    SSL_SESSION *sess;   /* one reference */
    uint64_t used;       /* ctx->clock when last stored or taken (LRU) */
};

/* A server's further certificate, presented to clients that ask for a
 * name it covers (SNI). */
struct tls_cert {
    X509 *leaf;              /* one reference each */
    EVP_PKEY *key;
    STACK_OF(X509) *chain;
};

struct corio_tls_ctx {
    SSL_CTX *ssl;            /* owned: freed with the last reference */
    int role;                /* CORIO_TLS_CLIENT or CORIO_TLS_SERVER */
    atomic_int refs;         /* the user's, plus one per connection and
                                server made with it */
    int verify;              /* CORIO_TLS_VERIFY_* */
    bool ca_loaded;          /* load_verify named CAs: no system store */
    atomic_bool defaults;    /* the system store is loaded (lazily, at the
                                first connection that verifies) */
    double handshake_timeout; /* seconds; < 0: none */
    unsigned char *alpn;     /* owned: protocols in wire format (a length
                                byte before each), or NULL */
    size_t alpn_len;
    size_t cache_max;        /* client sessions remembered; 0: none */
    pthread_mutex_t lock;    /* guards cache, err and loading the store:
                                a context may serve loops in several
                                threads */
    struct tls_session *cache; /* owned, ncache used of cache_max */
    size_t ncache;
    uint64_t clock;          /* LRU stamps */
    char err[TLS_ERRLEN];    /* the last failure's text */
    struct tls_cert *names;  /* owned: corio_tls_ctx_add_cert_chain's */
    size_t nnames;
};

/* Context references, taken by connections and servers. */
CORIO_HIDDEN corio_tls_ctx *corio__tls_ctx_ref(corio_tls_ctx *ctx);
CORIO_HIDDEN void corio__tls_ctx_unref(corio_tls_ctx *ctx);

/* Prepare ctx for a connection: load the system trust store the first
 * time one verifies without CAs of its own. */
CORIO_HIDDEN void corio__tls_ctx_ready(corio_tls_ctx *ctx);

/* The client session cache: a new reference to the session remembered
 * for key, or NULL; and remembering one (takes the reference sess on
 * success: true). */
CORIO_HIDDEN SSL_SESSION *corio__tls_cache_get(corio_tls_ctx *ctx,
                                               const char *key);
CORIO_HIDDEN bool corio__tls_cache_put(corio_tls_ctx *ctx, const char *key,
                                       SSL_SESSION *sess);

/* OpenSSL's new-session callback on clients (conn.c): a session arrived
 * (after a handshake, or a TLS 1.3 ticket during a read); remember it
 * under the connection's key. 1 if it keeps the reference. */
CORIO_HIDDEN int corio__tls_on_new_session(SSL *ssl, SSL_SESSION *sess);

/* Record text as ctx's last error. */
CORIO_HIDDEN void corio__tls_ctx_set_error(corio_tls_ctx *ctx,
                                           const char *text);

/* The failure of an SSL call on ssl, whose SSL_get_error was code, as a
 * negative errno, with its reason written to buf (TLS_ERRLEN bytes).
 * sockerr is the socket error the transport met (0 if none) and eof
 * whether the socket reached end of stream. Drains OpenSSL's error queue,
 * which is per thread and shared by every task of the loop. */
CORIO_HIDDEN int corio__tls_map_error(SSL *ssl, int code, int sockerr,
                                      bool eof, char *buf);

/* The errors OpenSSL queued for a failed call on a context, as a negative
 * errno (dflt if none is more telling), their text on ctx. */
CORIO_HIDDEN int corio__tls_ctx_fail(corio_tls_ctx *ctx, int dflt);

/* Whether the test build asks the next OpenSSL constructor to fail: the
 * allocation seam's countdown covers OpenSSL's objects too (its own
 * allocations do not go through the seam, since its global state would
 * look like a leak). Always false in the library build. */
CORIO_HIDDEN bool corio__tls_fail_alloc(void);

#endif

/* SPDX-License-Identifier: MIT */
/* TLS contexts (ssl.SSLContext): an OpenSSL SSL_CTX with corio's defaults,
 * the settings corio wraps, the client session cache, and OpenSSL's
 * errors as negative errno values. A context is refcounted internally so
 * that its connections and servers keep it alive after the user frees
 * it; it may serve loops in several threads (the lock guards what
 * connections change). */
#include "tls/tls_int.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define DEFAULT_CACHE 64             /* client sessions remembered */
#define DEFAULT_HANDSHAKE_TIMEOUT 60.0 /* asyncio's ssl_handshake_timeout */
#define SID_CTX "corio"              /* server session id context */

bool corio__tls_fail_alloc(void)
{
#ifdef CORIO_TESTING
    void *p = corio__malloc(1);
    if (!p)
        return true;
    corio__free(p);
#endif
    return false;
}

/* ---- errors ---- */

void corio__tls_ctx_set_error(corio_tls_ctx *ctx, const char *text)
{
    pthread_mutex_lock(&ctx->lock);
    snprintf(ctx->err, sizeof ctx->err, "%s", text);
    pthread_mutex_unlock(&ctx->lock);
}

/* The text of one queued error: OpenSSL's reason, or its full string for
 * errors without one. */
static void describe(unsigned long e, char *buf, size_t cap)
{
    const char *r = ERR_reason_error_string(e);
    if (r && ERR_GET_LIB(e) == ERR_LIB_SYS)
        snprintf(buf, cap, "system: %s", strerror(ERR_GET_REASON(e)));
    else if (r)
        snprintf(buf, cap, "%s", r);
    else
        ERR_error_string_n(e, buf, cap);
}

/* Reasons that mean a certificate was refused: ours by the peer (its
 * alert) or the peer's by us. */
static bool cert_refused(int reason)
{
    switch (reason) {
    case SSL_R_CERTIFICATE_VERIFY_FAILED:
    case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
    case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
    case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
    case SSL_R_TLSV1_ALERT_ACCESS_DENIED:
    case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
    case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
        return true;
    default:
        return false;
    }
}

/* One OpenSSL error as an errno value (positive). */
static int errno_of(unsigned long e)
{
    int lib = ERR_GET_LIB(e);
    int reason = ERR_GET_REASON(e);
    if (lib == ERR_LIB_SYS)
        return reason ? reason : EIO;
    if (reason == ERR_R_MALLOC_FAILURE)
        return ENOMEM;
    if (lib != ERR_LIB_SSL)
        return EPROTO;
    if (cert_refused(reason))
        return EKEYREJECTED;
    switch (reason) {
    case SSL_R_NO_APPLICATION_PROTOCOL:
    case SSL_R_TLSV1_ALERT_NO_APPLICATION_PROTOCOL:
        return ENOPROTOOPT;
    case SSL_R_UNEXPECTED_EOF_WHILE_READING:
        return ECONNRESET;
    case SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC:
    case SSL_R_SSLV3_ALERT_BAD_RECORD_MAC:
        return EBADMSG;
    default:
        return EPROTO;
    }
}

int corio__tls_map_error(SSL *ssl, int code, int sockerr, bool eof, char *buf)
{
    unsigned long first = ERR_get_error();
    ERR_clear_error();
    if (code == SSL_ERROR_SYSCALL || (code == SSL_ERROR_SSL && !first)) {
        /* The transport failed, not TLS. */
        if (sockerr) {
            snprintf(buf, TLS_ERRLEN, "socket: %s", strerror(-sockerr));
            return sockerr;
        }
        if (eof || !first) {
            snprintf(buf, TLS_ERRLEN,
                     "the peer closed the connection without close_notify "
                     "(truncated)");
            return -ECONNRESET;
        }
    }
    if (!first) {
        snprintf(buf, TLS_ERRLEN, "TLS failure (code %d)", code);
        return -EPROTO;
    }
    describe(first, buf, TLS_ERRLEN);
    int e = errno_of(first);
    if (ERR_GET_LIB(first) == ERR_LIB_SSL &&
        ERR_GET_REASON(first) == SSL_R_CERTIFICATE_VERIFY_FAILED) {
        long v = SSL_get_verify_result(ssl);
        size_t n = strlen(buf);
        snprintf(buf + n, TLS_ERRLEN - n, ": %s",
                 X509_verify_cert_error_string(v));
    } else if (e == ECONNRESET) {
        snprintf(buf, TLS_ERRLEN, "the peer closed the connection without "
                                  "close_notify (truncated)");
    }
    return -e;
}

int corio__tls_ctx_fail(corio_tls_ctx *ctx, int dflt)
{
    unsigned long first = 0;
    unsigned long e;
    int sys = 0;
    bool mem = false;
    while ((e = ERR_get_error())) {
        if (!first)
            first = e;
        if (ERR_GET_LIB(e) == ERR_LIB_SYS && !sys)
            sys = ERR_GET_REASON(e);
        if (ERR_GET_REASON(e) == ERR_R_MALLOC_FAILURE)
            mem = true;
    }
    char buf[TLS_ERRLEN];
    if (first)
        describe(first, buf, sizeof buf);
    else
        snprintf(buf, sizeof buf, "%s", strerror(-dflt));
    corio__tls_ctx_set_error(ctx, buf);
    return sys ? -sys : mem ? -ENOMEM : dflt;
}

/* ---- the client session cache ---- */

SSL_SESSION *corio__tls_cache_get(corio_tls_ctx *ctx, const char *key)
{
    SSL_SESSION *sess = NULL;
    pthread_mutex_lock(&ctx->lock);
    for (size_t i = 0; i < ctx->ncache; i++) {
        if (strcmp(ctx->cache[i].key, key) == 0) {
            sess = ctx->cache[i].sess;
            SSL_SESSION_up_ref(sess);
            ctx->cache[i].used = ++ctx->clock;
            break;
        }
    }
    pthread_mutex_unlock(&ctx->lock);
    return sess;
}

static void drop_entry(corio_tls_ctx *ctx, size_t i)
{
    tls_free(ctx->cache[i].key);
    SSL_SESSION_free(ctx->cache[i].sess);
    ctx->cache[i] = ctx->cache[--ctx->ncache];
}

bool corio__tls_cache_put(corio_tls_ctx *ctx, const char *key,
                          SSL_SESSION *sess)
{
    bool ok = false;
    pthread_mutex_lock(&ctx->lock);
    if (!ctx->cache_max)
        goto out;
    for (size_t i = 0; i < ctx->ncache; i++) {
        if (strcmp(ctx->cache[i].key, key) == 0) {
            /* The newest session replaces the old one. */
            SSL_SESSION_free(ctx->cache[i].sess);
            ctx->cache[i].sess = sess;
            ctx->cache[i].used = ++ctx->clock;
            ok = true;
            goto out;
        }
    }
    if (!ctx->cache) {
        ctx->cache = tls_calloc(ctx->cache_max, sizeof *ctx->cache);
        if (!ctx->cache)
            goto out;
    }
    if (ctx->ncache == ctx->cache_max) {
        size_t old = 0;
        for (size_t i = 1; i < ctx->ncache; i++)
            if (ctx->cache[i].used < ctx->cache[old].used)
                old = i;
        drop_entry(ctx, old);
    }
    size_t n = strlen(key) + 1;
    char *k = tls_malloc(n);
    if (!k)
        goto out;
    memcpy(k, key, n);
    ctx->cache[ctx->ncache++] =
        (struct tls_session){.key = k, .sess = sess, .used = ++ctx->clock};
    ok = true;
out:
    pthread_mutex_unlock(&ctx->lock);
    return ok;
}

static void cache_clear(corio_tls_ctx *ctx)
{
    while (ctx->ncache)
        drop_entry(ctx, ctx->ncache - 1);
    tls_free(ctx->cache);
    ctx->cache = NULL;
}

/* ---- ALPN on the server: its first protocol that the client offers ---- */

static int on_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                   const unsigned char *in, unsigned int inlen, void *arg)
{
    (void)ssl;
    corio_tls_ctx *ctx = arg;
    if (!ctx->alpn)
        return SSL_TLSEXT_ERR_NOACK;
    unsigned char *sel;
    int rc = SSL_select_next_proto(&sel, outlen, ctx->alpn,
                                   (unsigned)ctx->alpn_len, in, inlen);
    if (rc != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_ALERT_FATAL; /* RFC 7301: no overlap */
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

/* ---- contexts ---- */

corio_tls_ctx *corio_tls_ctx_new(int role)
{
    if (role != CORIO_TLS_CLIENT && role != CORIO_TLS_SERVER) {
        errno = EINVAL;
        return NULL;
    }
    corio_tls_ctx *ctx = tls_calloc(1, sizeof *ctx);
    if (!ctx)
        goto err;
    if (corio__tls_fail_alloc())
        goto err_free_ctx;
    ERR_clear_error();
    ctx->ssl = SSL_CTX_new(role == CORIO_TLS_CLIENT ? TLS_client_method()
                                                    : TLS_server_method());
    if (!ctx->ssl)
        goto err_free_ctx;
    ERR_clear_error();
    pthread_mutex_init(&ctx->lock, NULL);
    atomic_init(&ctx->refs, 1);
    atomic_init(&ctx->defaults, false);
    ctx->role = role;
    ctx->handshake_timeout = DEFAULT_HANDSHAKE_TIMEOUT;
    SSL_CTX_set_app_data(ctx->ssl, ctx);
    SSL_CTX_set_min_proto_version(ctx->ssl, TLS1_2_VERSION);
    /* Renegotiation would make a read write and a write read in TLS 1.2;
     * read-ahead lets one recv take several records; an idle connection
     * gives its 16 KiB record buffers back (as nginx does), which keeps
     * many idle connections cheap. */
    SSL_CTX_set_options(ctx->ssl, SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_mode(ctx->ssl, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                                   SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_read_ahead(ctx->ssl, 1);
    if (role == CORIO_TLS_CLIENT) {
        ctx->verify = CORIO_TLS_VERIFY_REQUIRED;
        SSL_CTX_set_verify(ctx->ssl, SSL_VERIFY_PEER, NULL);
        ctx->cache_max = DEFAULT_CACHE;
        SSL_CTX_set_session_cache_mode(ctx->ssl,
                                       SSL_SESS_CACHE_CLIENT |
                                           SSL_SESS_CACHE_NO_INTERNAL_STORE);
        SSL_CTX_sess_set_new_cb(ctx->ssl, corio__tls_on_new_session);
    } else {
        ctx->verify = CORIO_TLS_VERIFY_NONE;
        SSL_CTX_set_verify(ctx->ssl, SSL_VERIFY_NONE, NULL);
        SSL_CTX_set_session_id_context(ctx->ssl,
                                       (const unsigned char *)SID_CTX,
                                       sizeof SID_CTX - 1);
        SSL_CTX_set_alpn_select_cb(ctx->ssl, on_alpn, ctx);
    }
    return ctx;

err_free_ctx:
    ERR_clear_error();
    tls_free(ctx);
err:
    errno = ENOMEM;
    return NULL;
}

corio_tls_ctx *corio__tls_ctx_ref(corio_tls_ctx *ctx)
{
    atomic_fetch_add_explicit(&ctx->refs, 1, memory_order_relaxed);
    return ctx;
}

static void cert_free(struct tls_cert *c)
{
    EVP_PKEY_free(c->key);
    X509_free(c->leaf);
    sk_X509_pop_free(c->chain, X509_free);
}

void corio__tls_ctx_unref(corio_tls_ctx *ctx)
{
    /* acq_rel: the last one out sees every other owner's writes. */
    if (atomic_fetch_sub_explicit(&ctx->refs, 1, memory_order_acq_rel) != 1)
        return;
    cache_clear(ctx);
    for (size_t i = 0; i < ctx->nnames; i++)
        cert_free(&ctx->names[i]);
    tls_free(ctx->names);
    SSL_CTX_free(ctx->ssl);
    tls_free(ctx->alpn);
    pthread_mutex_destroy(&ctx->lock);
    tls_free(ctx);
}

void corio_tls_ctx_free(corio_tls_ctx *ctx)
{
    if (ctx)
        corio__tls_ctx_unref(ctx);
}

void corio__tls_ctx_ready(corio_tls_ctx *ctx)
{
    /* acquire: a thread that sees the flag sees the loaded store. */
    if (ctx->verify == CORIO_TLS_VERIFY_NONE || ctx->ca_loaded ||
        atomic_load_explicit(&ctx->defaults, memory_order_acquire))
        return;
    pthread_mutex_lock(&ctx->lock);
    if (!atomic_load_explicit(&ctx->defaults, memory_order_relaxed)) {
        /* A missing system store makes every verification fail, which
         * the handshake reports; nothing to do here. */
        SSL_CTX_set_default_verify_paths(ctx->ssl);
        ERR_clear_error();
        atomic_store_explicit(&ctx->defaults, true, memory_order_release);
    }
    pthread_mutex_unlock(&ctx->lock);
}

int corio_tls_ctx_load_verify(corio_tls_ctx *ctx, const char *cafile,
                              const char *capath)
{
    if (!ctx || (!cafile && !capath))
        return -EINVAL;
    struct stat st;
    if (capath && stat(capath, &st) < 0) {
        int rc = -errno;
        corio__tls_ctx_set_error(ctx, strerror(-rc));
        return rc;
    }
    ERR_clear_error();
    if (!SSL_CTX_load_verify_locations(ctx->ssl, cafile, capath))
        return corio__tls_ctx_fail(ctx, -EBADMSG);
    ctx->ca_loaded = true;
    return 0;
}

/* Read a PEM certificate chain (leaf first) from path. 0 or a negative
 * errno, the reason on ctx. */
static int read_chain(corio_tls_ctx *ctx, const char *path, X509 **leaf,
                      STACK_OF(X509) **chain)
{
    BIO *b = BIO_new_file(path, "r");
    if (!b)
        return corio__tls_ctx_fail(ctx, -EIO);
    *leaf = PEM_read_bio_X509_AUX(b, NULL, NULL, NULL);
    if (!*leaf) {
        BIO_free(b);
        return corio__tls_ctx_fail(ctx, -EBADMSG);
    }
    *chain = sk_X509_new_null();
    X509 *x;
    while (*chain && (x = PEM_read_bio_X509(b, NULL, NULL, NULL))) {
        if (!sk_X509_push(*chain, x)) {
            X509_free(x);
            break;
        }
    }
    /* The end of the file leaves a "no start line" error behind. */
    ERR_clear_error();
    BIO_free(b);
    if (!*chain) {
        X509_free(*leaf);
        corio__tls_ctx_set_error(ctx, strerror(ENOMEM));
        return -ENOMEM;
    }
    return 0;
}

/* Read a chain and its key (keyfile NULL: in certfile), and check that
 * they match. 0 and all three set, or a negative errno (the reason on
 * ctx) and none. */
static int read_cert_key(corio_tls_ctx *ctx, const char *certfile,
                         const char *keyfile, struct tls_cert *c)
{
    ERR_clear_error();
    int rc = read_chain(ctx, certfile, &c->leaf, &c->chain);
    if (rc < 0)
        return rc;
    c->key = NULL;
    BIO *b = BIO_new_file(keyfile ? keyfile : certfile, "r");
    if (!b) {
        rc = corio__tls_ctx_fail(ctx, -EIO);
        goto fail;
    }
    c->key = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
    BIO_free(b);
    if (!c->key) {
        rc = corio__tls_ctx_fail(ctx, -EBADMSG);
        goto fail;
    }
    if (!X509_check_private_key(c->leaf, c->key)) {
        corio__tls_ctx_fail(ctx, -EKEYREJECTED);
        corio__tls_ctx_set_error(ctx, "the private key does not match the "
                                      "certificate");
        rc = -EKEYREJECTED;
        goto fail;
    }
    return 0;
fail:
    cert_free(c);
    return rc;
}

int corio_tls_ctx_load_cert_chain(corio_tls_ctx *ctx, const char *certfile,
                                  const char *keyfile)
{
    if (!ctx || !certfile)
        return -EINVAL;
    struct tls_cert c;
    int rc = read_cert_key(ctx, certfile, keyfile, &c);
    if (rc < 0)
        return rc;
    /* All or nothing: the context changes only if everything loaded. */
    if (!SSL_CTX_use_cert_and_key(ctx->ssl, c.leaf, c.key, c.chain, 1))
        rc = corio__tls_ctx_fail(ctx, -EKEYREJECTED);
    cert_free(&c);
    return rc;
}

/* OpenSSL's certificate callback, on a server once it has read the
 * ClientHello: present the first added chain that covers the name the
 * client asked for; else load_cert_chain's, or the first added one if
 * there is none. The context outlives its connections (they hold a
 * reference), so arg stays valid. */
static int pick_cert(SSL *ssl, void *arg)
{
    corio_tls_ctx *ctx = arg;
    const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    const struct tls_cert *c = NULL;
    for (size_t i = 0; name && i < ctx->nnames && !c; i++)
        if (X509_check_host(ctx->names[i].leaf, name, 0, 0, NULL) == 1)
            c = &ctx->names[i];
    if (!c && !SSL_get_certificate(ssl))
        c = &ctx->names[0];
    return !c || SSL_use_cert_and_key(ssl, c->leaf, c->key, c->chain, 1);
}

int corio_tls_ctx_add_cert_chain(corio_tls_ctx *ctx, const char *certfile,
                                 const char *keyfile)
{
    if (!ctx || !certfile || ctx->role != CORIO_TLS_SERVER)
        return -EINVAL;
    struct tls_cert c;
    int rc = read_cert_key(ctx, certfile, keyfile, &c);
    if (rc < 0)
        return rc;
    struct tls_cert *v =
        tls_realloc(ctx->names, (ctx->nnames + 1) * sizeof *v);
    if (!v) {
        cert_free(&c);
        corio__tls_ctx_set_error(ctx, strerror(ENOMEM));
        return -ENOMEM;
    }
    ctx->names = v;
    ctx->names[ctx->nnames++] = c;
    if (ctx->nnames == 1)
        SSL_CTX_set_cert_cb(ctx->ssl, pick_cert, ctx);
    return 0;
}

int corio_tls_ctx_set_verify(corio_tls_ctx *ctx, int mode)
{
    if (!ctx || mode < CORIO_TLS_VERIFY_NONE ||
        mode > CORIO_TLS_VERIFY_REQUIRED)
        return -EINVAL;
    int flags = SSL_VERIFY_NONE;
    if (mode != CORIO_TLS_VERIFY_NONE)
        flags = SSL_VERIFY_PEER;
    if (mode == CORIO_TLS_VERIFY_REQUIRED && ctx->role == CORIO_TLS_SERVER)
        flags |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(ctx->ssl, flags, NULL);
    ctx->verify = mode;
    return 0;
}

int corio_tls_ctx_set_alpn(corio_tls_ctx *ctx, const char *const *protos,
                           size_t n)
{
    if (!ctx || (n && !protos))
        return -EINVAL;
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        size_t k = protos[i] ? strlen(protos[i]) : 0;
        if (k == 0 || k > 255)
            return -EINVAL;
        len += k + 1;
    }
    unsigned char *wire = NULL;
    if (n) {
        wire = tls_malloc(len);
        if (!wire)
            return -ENOMEM;
        unsigned char *p = wire;
        for (size_t i = 0; i < n; i++) {
            size_t k = strlen(protos[i]);
            *p++ = (unsigned char)k;
            memcpy(p, protos[i], k);
            p += k;
        }
    }
    if (ctx->role == CORIO_TLS_CLIENT) {
        /* 0 is success here, unlike the rest of OpenSSL. */
        if (SSL_CTX_set_alpn_protos(ctx->ssl, wire, (unsigned)len) != 0) {
            tls_free(wire);
            ERR_clear_error();
            return -ENOMEM;
        }
    }
    tls_free(ctx->alpn);
    ctx->alpn = wire;
    ctx->alpn_len = len;
    return 0;
}

static bool version_ok(int v)
{
    return v == 0 || v == CORIO_TLS_VERSION_1_2 || v == CORIO_TLS_VERSION_1_3;
}

int corio_tls_ctx_set_versions(corio_tls_ctx *ctx, int min, int max)
{
    if (!ctx || !version_ok(min) || !version_ok(max) ||
        (min && max && min > max))
        return -EINVAL;
    SSL_CTX_set_min_proto_version(ctx->ssl, min ? min : TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(ctx->ssl, max);
    return 0;
}

int corio_tls_ctx_set_session_cache(corio_tls_ctx *ctx, size_t entries)
{
    if (!ctx)
        return -EINVAL;
    if (ctx->role == CORIO_TLS_CLIENT) {
        pthread_mutex_lock(&ctx->lock);
        cache_clear(ctx);
        ctx->cache_max = entries;
        pthread_mutex_unlock(&ctx->lock);
        return 0;
    }
    if (entries == 0) {
        SSL_CTX_set_session_cache_mode(ctx->ssl, SSL_SESS_CACHE_OFF);
        SSL_CTX_set_options(ctx->ssl, SSL_OP_NO_TICKET);
        SSL_CTX_set_num_tickets(ctx->ssl, 0);
    } else {
        SSL_CTX_set_session_cache_mode(ctx->ssl, SSL_SESS_CACHE_SERVER);
        SSL_CTX_sess_set_cache_size(ctx->ssl, (long)entries);
        SSL_CTX_clear_options(ctx->ssl, SSL_OP_NO_TICKET);
        SSL_CTX_set_num_tickets(ctx->ssl, 2);
    }
    return 0;
}

int corio_tls_ctx_set_handshake_timeout(corio_tls_ctx *ctx, double seconds)
{
    if (!ctx || seconds != seconds)
        return -EINVAL;
    ctx->handshake_timeout = seconds;
    return 0;
}

const char *corio_tls_ctx_error(const corio_tls_ctx *ctx)
{
    return ctx ? ctx->err : "";
}

void *corio_tls_ctx_openssl(corio_tls_ctx *ctx)
{
    return ctx ? ctx->ssl : NULL;
}

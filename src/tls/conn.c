/* SPDX-License-Identifier: MIT */
/* TLS connections: an OpenSSL SSL object driven without blocking under a
 * corio_stream, as the stream's transport (src/net/net.h). OpenSSL never
 * suspends: its BIO takes ciphertext from the socket with one recv and
 * queues what it writes in the connection's output buffer; the transport
 * sends that buffer and, when OpenSSL wants input or the socket is full,
 * parks the task on the socket outside OpenSSL. So an SSL call is never
 * interrupted halfway, a reader and a writer task can share a connection,
 * and a cancelled wait leaves the connection as it was.
 *
 * Output buffer:  obuf [0 ... opos ... oend ... ocap)
 *                            \ unsent /
 * Plaintext the stream hands over is reported as taken only once all its
 * ciphertext is in the kernel (pend bytes wait for that), so the bytes a
 * stream counts as sent never sit in this buffer with nobody to send them.
 */
#include "tls/tls_int.h"

#include <arpa/inet.h>
#include <assert.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

#define BATCH 65536            /* plaintext encrypted before one send */
#define GATHER 16384           /* small iovecs are joined up to this */
#define OBUF_MIN 4096
#define OBUF_KEEP 16384        /* an empty obuf larger than this is freed */
#define DISCARD_MAX (256 * 1024) /* unread input a graceful close drops */

struct tls {
    struct corio__transport base; /* ops = &tls_ops */
    corio_sock *sock;      /* owned */
    SSL *ssl;              /* owned; its BIO points back here */
    corio_tls_ctx *ctx;    /* a reference */
    char *obuf;            /* owned: ciphertext to send, [opos, oend) */
    size_t ocap;
    size_t opos;
    size_t oend;
    uint64_t osent;        /* ciphertext bytes sent, ever */
    uint64_t oqueued;      /* ciphertext bytes queued in obuf, ever */
    size_t pend;           /* plaintext encrypted into obuf, not reported
                              to the stream until osent reaches pend_end */
    uint64_t pend_end;
    char *gather;          /* owned: GATHER bytes for small iovecs */
    int sockerr;           /* the socket error the BIO met, or 0 */
    int fatal;             /* the connection's error once TLS failed (the
                              SSL object may not be used then), or 0 */
    bool eof;              /* the socket reached end of stream */
    bool shut;             /* close_notify is queued */
    char *key;             /* owned: the client session cache key */
    char *alpn;            /* owned, made on demand */
    char *subject;         /* owned, made on demand */
    char err[TLS_ERRLEN];  /* the last failure's text */
};

static const struct corio__transport_ops tls_ops;

/* ---- the BIO: OpenSSL's view of the socket, never blocking ---- */

static BIO_METHOD *bio_method;
static pthread_once_t bio_once = PTHREAD_ONCE_INIT;

/* Make room for n more bytes in obuf; false if out of memory. */
static bool obuf_reserve(struct tls *c, size_t n)
{
    if (c->ocap - c->oend >= n)
        return true;
    if (c->opos) {
        memmove(c->obuf, c->obuf + c->opos, c->oend - c->opos);
        c->oend -= c->opos;
        c->opos = 0;
        if (c->ocap - c->oend >= n)
            return true;
    }
    size_t cap = c->ocap ? c->ocap : OBUF_MIN;
    while (cap - c->oend < n)
        cap *= 2;
    char *p = tls_realloc(c->obuf, cap);
    if (!p)
        return false;
    c->obuf = p;
    c->ocap = cap;
    return true;
}

/* OpenSSL writes a record: queue it; the transport sends it. */
static int bio_write(BIO *b, const char *data, int len)
{
    struct tls *c = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (len <= 0)
        return 0;
    if (!obuf_reserve(c, (size_t)len)) {
        c->sockerr = -ENOMEM;
        return -1;
    }
    memcpy(c->obuf + c->oend, data, (size_t)len);
    c->oend += (size_t)len;
    c->oqueued += (size_t)len;
    return len;
}

/* OpenSSL wants ciphertext: one recv, or "retry" if there is none yet. */
static int bio_read(BIO *b, char *buf, int len)
{
    struct tls *c = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (len <= 0)
        return 0;
    ssize_t n = corio__sock_try_recv(c->sock, buf, (size_t)len);
    if (n > 0)
        return (int)n;
    if (n == 0) {
        c->eof = true;
        return 0;
    }
    if (n == -EAGAIN) {
        BIO_set_retry_read(b);
        return -1;
    }
    c->sockerr = (int)n;
    return -1;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)num;
    (void)ptr;
    struct tls *c = BIO_get_data(b);
    switch (cmd) {
    case BIO_CTRL_FLUSH:
        return 1; /* the transport sends obuf after each SSL call */
    case BIO_CTRL_EOF:
        return c && c->eof;
    default:
        return 0;
    }
}

static int bio_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

static void make_method(void)
{
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
                                 "corio socket");
    if (m && BIO_meth_set_write(m, bio_write) &&
        BIO_meth_set_read(m, bio_read) && BIO_meth_set_ctrl(m, bio_ctrl) &&
        BIO_meth_set_create(m, bio_create))
        bio_method = m;
    else
        BIO_meth_free(m);
}

/* ---- sending ---- */

/* Send obuf as far as the socket takes it: 0 when empty, -EAGAIN, or the
 * socket's error (which breaks the connection). Never suspends. */
static int flush_some(struct tls *c)
{
    while (c->opos < c->oend) {
        struct iovec iov = {.iov_base = c->obuf + c->opos,
                            .iov_len = c->oend - c->opos};
        ssize_t n = corio__sock_try_sendv(c->sock, &iov, 1);
        if (n > 0) {
            c->opos += (size_t)n;
            c->osent += (uint64_t)n;
            continue;
        }
        if (n == -EAGAIN)
            return -EAGAIN;
        c->sockerr = n < 0 ? (int)n : -EIO;
        if (!c->fatal)
            c->fatal = c->sockerr;
        snprintf(c->err, sizeof c->err, "socket: %s", strerror(-c->sockerr));
        return c->sockerr;
    }
    c->opos = c->oend = 0;
    return 0;
}

/* A connection about to wait for input gives back an empty output buffer
 * that a bulk transfer grew, so that idle connections stay small. */
static void obuf_trim(struct tls *c)
{
    if (c->opos == c->oend && c->ocap > OBUF_KEEP) {
        tls_free(c->obuf);
        c->obuf = NULL;
        c->ocap = 0;
        c->opos = c->oend = 0;
    }
}

/* Send all of obuf, waiting for the socket. 0 or a negative errno.
 * Suspends. */
static int flush_all(struct tls *c)
{
    for (;;) {
        int rc = flush_some(c);
        if (rc != -EAGAIN)
            return rc;
        rc = corio__sock_wait(c->sock, CORIO__OUT);
        if (rc < 0)
            return rc; /* c may be closed: touch nothing */
    }
}

/* An SSL call on c failed with code: record why, and if it is fatal,
 * remember it. Returns the negative errno. */
static int fail(struct tls *c, int code)
{
    int rc = corio__tls_map_error(c->ssl, code, c->sockerr, c->eof, c->err);
    c->fatal = rc;
    return rc;
}

/* ---- the transport ---- */

static ssize_t t_read(struct corio__transport *t, void *buf, size_t len)
{
    struct tls *c = (struct tls *)t;
    if (c->fatal)
        return c->fatal;
    int rc = corio__net_check();
    if (rc)
        return rc;
    for (;;) {
        size_t n;
        ERR_clear_error();
        int r = SSL_read_ex(c->ssl, buf, len, &n);
        int code = r > 0 ? SSL_ERROR_NONE : SSL_get_error(c->ssl, r);
        /* Reading may have queued records (a key update's answer): send
         * them if the socket takes them; a writer sends the rest. A
         * socket error here is for the next call. */
        if (c->opos < c->oend)
            flush_some(c);
        if (r > 0)
            return (ssize_t)n;
        if (c->fatal)
            return c->fatal;
        switch (code) {
        case SSL_ERROR_WANT_READ:
            obuf_trim(c);
            rc = corio__sock_wait(c->sock, CORIO__IN);
            if (rc < 0)
                return rc; /* c may be closed: touch nothing */
            break;
        case SSL_ERROR_ZERO_RETURN:
            return 0; /* close_notify: a clean end of stream */
        default:
            return fail(c, code);
        }
    }
}

/* Locate byte off of iov: the element index and the offset in it. */
static int iov_seek(const struct iovec *iov, int iovcnt, size_t off,
                    size_t *at)
{
    int i = 0;
    while (i < iovcnt && off >= iov[i].iov_len) {
        off -= iov[i].iov_len;
        i++;
    }
    *at = off;
    return i;
}

/* The next plaintext to encrypt, from byte off of iov: up to BATCH bytes
 * of one element, or small elements joined in the gather buffer. The
 * length, 0 if none is left, -ENOMEM. */
static ssize_t next_piece(struct tls *c, const struct iovec *iov, int iovcnt,
                          size_t off, const void **p)
{
    size_t at;
    int i = iov_seek(iov, iovcnt, off, &at);
    if (i == iovcnt)
        return 0;
    size_t left = iov[i].iov_len - at;
    if (left >= GATHER / 4 || i + 1 == iovcnt) {
        *p = (const char *)iov[i].iov_base + at;
        return (ssize_t)(left < BATCH ? left : BATCH);
    }
    if (!c->gather && !(c->gather = tls_malloc(GATHER)))
        return -ENOMEM;
    size_t n = 0;
    for (; i < iovcnt && n < GATHER; i++, at = 0) {
        size_t k = iov[i].iov_len - at;
        if (k > GATHER - n)
            k = GATHER - n;
        memcpy(c->gather + n, (const char *)iov[i].iov_base + at, k);
        n += k;
    }
    *p = c->gather;
    return (ssize_t)n;
}

static ssize_t t_try_writev(struct corio__transport *t,
                            const struct iovec *iov, int iovcnt)
{
    struct tls *c = (struct tls *)t;
    if (c->fatal)
        return c->fatal;
    if (c->shut)
        return -EPIPE;
    size_t total = 0;
    for (int i = 0; i < iovcnt; i++)
        total += iov[i].iov_len;
    int rc = flush_some(c);
    if (rc < 0 && rc != -EAGAIN)
        return rc;
    size_t taken = 0;
    if (c->pend) {
        /* The stream offers the bytes of the last call again first. */
        assert(total >= c->pend);
        if (total < c->pend)
            return -EIO;
        if (c->osent < c->pend_end)
            return -EAGAIN;
        taken = c->pend;
        c->pend = 0;
    }
    /* Encrypt a batch, send it, and go on while the socket takes it all. */
    while (taken < total && c->opos == c->oend) {
        const void *p;
        ssize_t n = next_piece(c, iov, iovcnt, taken, &p);
        if (n <= 0) {
            if (n < 0 && !taken)
                return n;
            break;
        }
        /* Room for the batch's records at once (a record adds at most
         * 5 + 16 + 1 bytes in TLS 1.3, 5 + 16 + 8 in TLS 1.2 with GCM,
         * more with CBC), rather than growing step by step. */
        if (!obuf_reserve(c, (size_t)n + ((size_t)n / 16384 + 1) * 128)) {
            if (!taken)
                return -ENOMEM;
            break;
        }
        size_t w;
        ERR_clear_error();
        int r = SSL_write_ex(c->ssl, p, (size_t)n, &w);
        if (r <= 0) {
            rc = fail(c, SSL_get_error(c->ssl, r));
            flush_some(c); /* the alert, if any */
            return taken ? (ssize_t)taken : rc;
        }
        c->pend = w;
        c->pend_end = c->oqueued;
        rc = flush_some(c);
        if (rc < 0 && rc != -EAGAIN)
            return taken ? (ssize_t)taken : rc;
        if (c->osent < c->pend_end)
            break; /* the socket is full: pend waits */
        taken += c->pend;
        c->pend = 0;
    }
    return taken ? (ssize_t)taken : -EAGAIN;
}

static int t_wait_writable(struct corio__transport *t)
{
    struct tls *c = (struct tls *)t;
    if (c->fatal)
        return c->fatal;
    if (c->opos == c->oend)
        return 0;
    return corio__sock_wait(c->sock, CORIO__OUT);
}

static int t_shutdown(struct corio__transport *t)
{
    struct tls *c = (struct tls *)t;
    if (c->fatal)
        return -ENOTCONN; /* no close_notify after a failure */
    int rc = corio__net_check();
    if (rc)
        return rc;
    if (!c->shut) {
        ERR_clear_error();
        int r = SSL_shutdown(c->ssl);
        if (r < 0) {
            int code = SSL_get_error(c->ssl, r);
            if (code != SSL_ERROR_WANT_READ && code != SSL_ERROR_WANT_WRITE)
                return fail(c, code);
        }
        c->shut = true;
    }
    rc = flush_all(c);
    if (rc < 0)
        return rc;
    /* TCP's end of stream after close_notify, for peers that wait for
     * it. */
    rc = corio_sock_shutdown(c->sock, SHUT_WR);
    return rc == -ENOTCONN ? 0 : rc;
}

static void free_conn(struct tls *c)
{
    SSL_free(c->ssl); /* frees the BIO */
    corio__tls_ctx_unref(c->ctx);
    tls_free(c->obuf);
    tls_free(c->gather);
    tls_free(c->key);
    tls_free(c->alpn);
    tls_free(c->subject);
    tls_free(c);
}

static int t_close(struct corio__transport *t, bool graceful)
{
    struct tls *c = (struct tls *)t;
    if (graceful && !c->fatal) {
        /* Unread input would make close(2) reset the connection, which can
         * destroy what the peer has not read yet: drop it. */
        char buf[4096];
        size_t n = 0;
        ssize_t r;
        while (n < DISCARD_MAX &&
               (r = corio__sock_try_recv(c->sock, buf, sizeof buf)) > 0)
            n += (size_t)r;
    }
    /* Tasks waiting on the socket wake with -EBADF and leave without
     * touching c, and close waits for them (from a task). */
    int rc = corio_sock_close(c->sock);
    free_conn(c);
    return rc;
}

static corio_sock *t_sock(struct corio__transport *t)
{
    return ((struct tls *)t)->sock;
}

static const struct corio__transport_ops tls_ops = {
    .read = t_read,
    .try_writev = t_try_writev,
    .wait_writable = t_wait_writable,
    .shutdown = t_shutdown,
    .close = t_close,
    .sock = t_sock,
};

/* ---- sessions ---- */

int corio__tls_on_new_session(SSL *ssl, SSL_SESSION *sess)
{
    struct tls *c = SSL_get_app_data(ssl);
    if (!c || !c->key || !SSL_SESSION_is_resumable(sess))
        return 0;
    return corio__tls_cache_put(c->ctx, c->key, sess) ? 1 : 0;
}

/* ---- the handshake ---- */

/* Whether name is an IP address (IPv6 may be in brackets); its bare form
 * goes to ip (INET6_ADDRSTRLEN bytes). */
static bool ip_literal(const char *name, char *ip)
{
    size_t n = strlen(name);
    if (n >= INET6_ADDRSTRLEN + 2)
        return false;
    if (n > 2 && name[0] == '[' && name[n - 1] == ']') {
        memcpy(ip, name + 1, n - 2);
        ip[n - 2] = '\0';
    } else {
        memcpy(ip, name, n + 1);
    }
    unsigned char a[16];
    return inet_pton(AF_INET, ip, a) == 1 || inet_pton(AF_INET6, ip, a) == 1;
}

/* The session cache key: the server's name (or address) and port. */
static char *session_key(corio_sock *sock, const char *name)
{
    struct sockaddr_storage ss;
    char addr[CORIO_ADDR_STRLEN];
    if (corio_sock_peer_addr(sock, &ss, NULL) < 0 ||
        corio_addr_format((struct sockaddr *)&ss, sizeof ss, addr,
                          sizeof addr) < 0)
        return NULL;
    int port = corio_addr_port((struct sockaddr *)&ss);
    size_t cap = (name ? strlen(name) : 0) + sizeof addr + 16;
    char *key = tls_malloc(cap);
    if (!key)
        return NULL;
    if (name)
        snprintf(key, cap, "%s:%d", name, port);
    else
        snprintf(key, cap, "%s", addr);
    return key;
}

/* Set up the client side: SNI, the name to verify, a remembered session.
 * 0 or a negative errno. */
static int client_setup(struct tls *c, const char *name)
{
    corio_tls_ctx *ctx = c->ctx;
    char ip[INET6_ADDRSTRLEN + 2];
    bool is_ip = name && ip_literal(name, ip);
    if (name && !is_ip && !SSL_set_tlsext_host_name(c->ssl, name))
        return -ENOMEM;
    if (ctx->verify != CORIO_TLS_VERIFY_NONE) {
        X509_VERIFY_PARAM *vp = SSL_get0_param(c->ssl);
        if (is_ip) {
            if (!X509_VERIFY_PARAM_set1_ip_asc(vp, ip))
                return -EINVAL;
        } else {
            SSL_set_hostflags(c->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
            if (!SSL_set1_host(c->ssl, name))
                return -ENOMEM;
        }
    }
    if (ctx->cache_max) {
        c->key = session_key(c->sock, is_ip ? ip : name);
        SSL_SESSION *sess = c->key ? corio__tls_cache_get(ctx, c->key) : NULL;
        if (sess) {
            if (SSL_SESSION_is_resumable(sess))
                SSL_set_session(c->ssl, sess);
            SSL_SESSION_free(sess);
        }
    }
    return 0;
}

/* A connection object for sock, not yet shaken hands. NULL with *rc set. */
static struct tls *conn_new(corio_sock *sock, corio_tls_ctx *ctx,
                            const char *name, int *rc)
{
    pthread_once(&bio_once, make_method);
    struct tls *c = tls_calloc(1, sizeof *c);
    if (!c || !bio_method)
        goto err_nomem;
    c->base.ops = &tls_ops;
    c->sock = sock;
    c->ctx = corio__tls_ctx_ref(ctx);
    corio__tls_ctx_ready(ctx);
    if (corio__tls_fail_alloc())
        goto err_free_conn;
    c->ssl = SSL_new(ctx->ssl);
    if (!c->ssl)
        goto err_free_conn;
    BIO *b = corio__tls_fail_alloc() ? NULL : BIO_new(bio_method);
    if (!b)
        goto err_free_conn;
    BIO_set_data(b, c);
    SSL_set_bio(c->ssl, b, b);
    SSL_set_app_data(c->ssl, c);
    if (ctx->role == CORIO_TLS_CLIENT) {
        SSL_set_connect_state(c->ssl);
        *rc = client_setup(c, name);
        if (*rc < 0) {
            free_conn(c);
            return NULL;
        }
    } else {
        SSL_set_accept_state(c->ssl);
    }
    return c;

err_free_conn:
    free_conn(c);
    c = NULL;
err_nomem:
    tls_free(c);
    ERR_clear_error();
    *rc = -ENOMEM;
    return NULL;
}

/* Shake hands: 0 or a negative errno (the reason in c->err). Suspends. */
static int handshake(struct tls *c)
{
    for (;;) {
        ERR_clear_error();
        int r = SSL_do_handshake(c->ssl);
        int code = r == 1 ? SSL_ERROR_NONE : SSL_get_error(c->ssl, r);
        if (code != SSL_ERROR_NONE && code != SSL_ERROR_WANT_READ &&
            code != SSL_ERROR_WANT_WRITE) {
            int rc = fail(c, code);
            flush_some(c); /* tell the peer why (the alert), if we can */
            return rc;
        }
        int rc = flush_all(c);
        if (rc < 0) {
            if (!c->err[0])
                snprintf(c->err, sizeof c->err, "%s", strerror(-rc));
            return rc;
        }
        if (code == SSL_ERROR_NONE)
            return 0;
        if (code == SSL_ERROR_WANT_READ) {
            rc = corio__sock_wait(c->sock, CORIO__IN);
            if (rc < 0) {
                snprintf(c->err, sizeof c->err, "handshake: %s",
                         strerror(-rc));
                return rc;
            }
        }
    }
}

corio_stream *corio_tls_wrap(corio_sock *sock, corio_tls_ctx *ctx,
                             const char *server_hostname,
                             const corio_stream_opts *opts)
{
    int rc;
    if (!sock || !ctx ||
        (ctx->role == CORIO_TLS_CLIENT && !server_hostname &&
         ctx->verify != CORIO_TLS_VERIFY_NONE)) {
        if (ctx)
            corio__tls_ctx_set_error(ctx, "a client that verifies needs "
                                          "the server's name");
        errno = EINVAL;
        return NULL;
    }
    if ((rc = corio__net_check()) < 0) {
        corio__tls_ctx_set_error(ctx, strerror(-rc));
        errno = -rc;
        return NULL;
    }
    struct tls *c = conn_new(sock, ctx, server_hostname, &rc);
    if (!c) {
        corio__tls_ctx_set_error(ctx, strerror(-rc));
        errno = -rc;
        return NULL;
    }
    corio_scope sc;
    bool scoped = ctx->handshake_timeout >= 0 &&
                  corio_scope_enter(&sc, ctx->handshake_timeout) == 0;
    rc = handshake(c);
    if (scoped && corio_scope_exit(&sc) == -ETIMEDOUT && rc == -ETIMEDOUT)
        snprintf(c->err, sizeof c->err, "the handshake took longer than "
                                        "the context's timeout");
    corio_stream *st = NULL;
    if (rc == 0) {
        st = corio__stream_new(&c->base, opts);
        if (!st) {
            rc = -errno;
            snprintf(c->err, sizeof c->err, "%s", strerror(-rc));
        }
    }
    if (!st) {
        corio__tls_ctx_set_error(ctx, c->err);
        c->sock = NULL; /* the caller's again */
        free_conn(c);
        errno = -rc;
    }
    return st;
}

/* Close a stream at once (a scope that has already expired makes every
 * wait in it fail). */
static void abort_stream(corio_stream *s)
{
    corio_scope sc;
    int rc = corio_scope_enter(&sc, 0);
    corio_stream_close(s);
    if (rc == 0)
        corio_scope_exit(&sc);
}

corio_stream *corio_tls_wrap_stream(corio_stream *plain, corio_tls_ctx *ctx,
                                    const char *server_hostname)
{
    if (!plain || !ctx) {
        if (plain)
            abort_stream(plain);
        errno = EINVAL;
        return NULL;
    }
    corio_sock *sock;
    int rc = corio__stream_detach(plain, &sock);
    if (rc < 0) {
        corio__tls_ctx_set_error(ctx, rc == -EPROTO
                                          ? "plaintext input came before "
                                            "the switch to TLS"
                                          : strerror(-rc));
        abort_stream(plain);
        errno = -rc;
        return NULL;
    }
    corio_stream *st = corio_tls_wrap(sock, ctx, server_hostname, NULL);
    if (!st) {
        int e = errno;
        corio_sock_close(sock);
        errno = e;
    }
    return st;
}

corio_stream *corio_tls_connect(const char *host, int port,
                                corio_tls_ctx *ctx,
                                const corio_stream_opts *opts)
{
    if (!host || !ctx) {
        errno = EINVAL;
        return NULL;
    }
    corio_sock *sock = corio_tcp_connect(host, port, NULL);
    if (!sock) {
        int e = errno;
        corio__tls_ctx_set_error(ctx, strerror(e));
        errno = e;
        return NULL;
    }
    corio_stream *st = corio_tls_wrap(sock, ctx, host, opts);
    if (!st) {
        int e = errno;
        corio_sock_close(sock);
        errno = e;
    }
    return st;
}

/* ---- accessors ---- */

static struct tls *tls_of(corio_stream *s)
{
    struct corio__transport *t = corio__stream_transport(s);
    return t && t->ops == &tls_ops ? (struct tls *)t : NULL;
}

const char *corio_tls_alpn(corio_stream *s)
{
    struct tls *c = tls_of(s);
    if (!c)
        return NULL;
    if (!c->alpn) {
        const unsigned char *p;
        unsigned int n;
        SSL_get0_alpn_selected(c->ssl, &p, &n);
        if (!n || !(c->alpn = tls_malloc(n + 1)))
            return NULL;
        memcpy(c->alpn, p, n);
        c->alpn[n] = '\0';
    }
    return c->alpn;
}

bool corio_tls_resumed(corio_stream *s)
{
    struct tls *c = tls_of(s);
    return c && SSL_session_reused(c->ssl);
}

const char *corio_tls_peer_subject(corio_stream *s)
{
    struct tls *c = tls_of(s);
    if (!c)
        return NULL;
    if (!c->subject) {
        X509 *x = SSL_get0_peer_certificate(c->ssl);
        if (!x)
            return NULL;
        BIO *b = BIO_new(BIO_s_mem());
        if (!b)
            goto out;
        X509_NAME_print_ex(b, X509_get_subject_name(x), 0, XN_FLAG_RFC2253);
        char *p;
        long n = BIO_get_mem_data(b, &p);
        if (n >= 0 && (c->subject = tls_malloc((size_t)n + 1))) {
            memcpy(c->subject, p, (size_t)n);
            c->subject[n] = '\0';
        }
        BIO_free(b);
    }
out:
    ERR_clear_error();
    return c->subject;
}

const char *corio_tls_version(corio_stream *s)
{
    struct tls *c = tls_of(s);
    return c ? SSL_get_version(c->ssl) : NULL;
}

const char *corio_tls_cipher(corio_stream *s)
{
    struct tls *c = tls_of(s);
    return c ? SSL_get_cipher_name(c->ssl) : NULL;
}

const char *corio_tls_server_name(corio_stream *s)
{
    struct tls *c = tls_of(s);
    return c ? SSL_get_servername(c->ssl, TLSEXT_NAMETYPE_host_name) : NULL;
}

const char *corio_tls_error(corio_stream *s)
{
    struct tls *c = tls_of(s);
    return c ? c->err : NULL;
}

void *corio_tls_openssl(corio_stream *s)
{
    struct tls *c = tls_of(s);
    return c ? c->ssl : NULL;
}

/* SPDX-License-Identifier: MIT */
/* Streams: asyncio's StreamReader and StreamWriter in one object over a
 * transport (a socket, or TLS from the tls module). The common path costs
 * what the socket calls cost: a read with an empty buffer and a large
 * destination goes straight into the caller's memory, and a write with
 * nothing queued goes straight to the socket. Only data the socket did not
 * take is copied into the write buffer, which a background task (the
 * flusher, as asyncio's transport does from the loop) sends as the socket
 * drains.
 *
 * Read buffer:   rbuf [0 ... rpos ... rend ... rcap)
 *                           \ unread /
 * Write buffer:  wbuf [0 ... wpos ... wend ... wcap)
 *                           \ unsent /
 */
#include "net/net.h"

#include "core/waitq.h"

#include <string.h>

#define RBUF_MIN 2048          /* first read buffer; it doubles each time a
                                  read fills it, up to RBUF_MAX */
#define RBUF_MAX 65536
#define DIRECT_MIN 2048        /* reads this large skip an empty buffer */
#define WBUF_MIN 16384         /* first write buffer */
#define DEFAULT_LIMIT 65536    /* asyncio's _DEFAULT_LIMIT */
#define DEFAULT_HIGH 65536     /* asyncio's default high watermark */
#define DISCARD_MAX (256 * 1024) /* unread input a graceful close drops */

/* ---- the socket transport, embedded in socket streams ---- */

struct sock_transport {
    struct corio__transport base;
    corio_sock *sock; /* owned */
};

static corio_sock *sock_of(struct corio__transport *t)
{
    return ((struct sock_transport *)t)->sock;
}

static ssize_t st_read(struct corio__transport *t, void *buf, size_t len)
{
    return corio_sock_recv(sock_of(t), buf, len);
}

static ssize_t st_try_writev(struct corio__transport *t,
                             const struct iovec *iov, int iovcnt)
{
    return corio__sock_try_sendv(sock_of(t), iov, iovcnt);
}

static int st_wait_writable(struct corio__transport *t)
{
    return corio__sock_wait(sock_of(t), CORIO__OUT);
}

static int st_shutdown(struct corio__transport *t)
{
    return corio_sock_shutdown(sock_of(t), SHUT_WR);
}

static int st_close(struct corio__transport *t, bool graceful)
{
    corio_sock *s = sock_of(t);
    if (graceful) {
        /* Unread input makes close(2) send a reset instead of a FIN, and
         * a reset can destroy data the peer has not read yet. Drop what
         * has arrived so the close stays graceful. A small buffer: this
         * usually reads nothing, and a page-sized one would make every
         * connection's task touch one more stack page as it ends. */
        char buf[256];
        size_t n = 0;
        ssize_t r;
        while (n < DISCARD_MAX &&
               (r = corio__sock_try_recv(s, buf, sizeof buf)) > 0)
            n += (size_t)r;
    }
    return corio_sock_close(s);
}

static corio_sock *st_sock(struct corio__transport *t)
{
    return sock_of(t);
}

static const struct corio__transport_ops sock_ops = {
    .read = st_read,
    .try_writev = st_try_writev,
    .wait_writable = st_wait_writable,
    .shutdown = st_shutdown,
    .close = st_close,
    .sock = st_sock,
};

/* ---- the stream ---- */

struct corio_stream {
    struct corio__transport *t; /* owned; NULL once closed */
    struct sock_transport st;   /* t, for a stream over a socket */

    /* Reading. */
    char *rbuf;    /* owned; NULL until data is first buffered */
    size_t rcap;
    size_t rpos;   /* unread data is rbuf[rpos, rend) */
    size_t rend;
    size_t limit;  /* readuntil's reach */
    int rerr;      /* the connection's read error, reported from then on */
    bool eof;      /* the transport reported end of stream */
    bool rfull;    /* the last fill filled the buffer: grow it next time */
    bool reading;  /* a task is in a read call (one at a time) */

    /* Writing. */
    char *wbuf;    /* owned */
    size_t wcap;
    size_t wpos;   /* unsent data is wbuf[wpos, wend) */
    size_t wend;
    size_t high;   /* watermarks of drain */
    size_t low;
    int werr;      /* the connection's write error, reported from then on */
    bool paused;   /* went over high; drain waits until low */
    bool wshut;    /* no more writes: write_eof or close */
    bool inline_flush;    /* a task in drain or close is sending wbuf */
    bool flusher_started; /* the flusher has run (and counts in busy) */
    corio_task *flusher;  /* the background sender (a reference), or
                             NULL */
    struct corio__wq drainers;  /* tasks waiting for the buffer to shrink */

    /* Lifetime. */
    unsigned busy;       /* tasks inside calls that suspend */
    corio_task *closer;  /* the closing task, waiting for busy == 0 */
    bool closing;
    bool free_later;     /* closed from a callback: the last task frees */
};

static void destroy(corio_stream *s)
{
    corio__free(s->rbuf);
    corio__free(s->wbuf);
    corio__free(s);
}

/* Errors that describe the connection rather than the call: reported by
 * every later call. A cancellation, a deadline or a close is not. */
static bool sticky(ssize_t rc)
{
    return rc < 0 && rc != -ECANCELED && rc != -ETIMEDOUT && rc != -EBADF &&
           rc != -ENOMEM && rc != -EAGAIN && rc != -EPERM;
}

/* A task enters a call that may suspend; leave() must follow. */
static int enter(corio_stream *s)
{
    if (s->closing)
        return -EBADF;
    s->busy++;
    return 0;
}

/* The last task out lets a closer go on, or frees the stream for a closer
 * that was a callback. Touch nothing of s after it. */
static void leave(corio_stream *s)
{
    if (--s->busy)
        return;
    if (s->closer)
        corio__wake(s->closer, 0);
    else if (s->free_later)
        destroy(s);
}

static corio_stream *alloc_stream(const corio_stream_opts *opts)
{
    if (!corio__tls_loop) {
        errno = EPERM;
        return NULL;
    }
    corio_stream *s = corio__calloc(1, sizeof *s);
    if (!s) {
        errno = ENOMEM;
        return NULL;
    }
    s->limit = opts && opts->limit ? opts->limit : DEFAULT_LIMIT;
    s->high = opts && opts->high_water ? opts->high_water : DEFAULT_HIGH;
    s->low = opts && opts->low_water ? opts->low_water : s->high / 4;
    if (s->low > s->high)
        s->low = s->high;
    return s;
}

corio_stream *corio__stream_new(struct corio__transport *t,
                                const corio_stream_opts *opts)
{
    if (!t) {
        errno = EINVAL;
        return NULL;
    }
    corio_stream *s = alloc_stream(opts);
    if (s)
        s->t = t;
    return s;
}

corio_stream *corio_stream_open(corio_sock *sock,
                                const corio_stream_opts *opts)
{
    if (!sock || sock->type != SOCK_STREAM) {
        errno = EINVAL;
        return NULL;
    }
    corio_stream *s = alloc_stream(opts);
    if (!s)
        return NULL;
    s->st.base.ops = &sock_ops;
    s->st.sock = sock;
    s->t = &s->st.base;
    return s;
}

corio_stream *corio_open_connection(const char *host, int port,
                                    const corio_stream_opts *opts)
{
    corio_sock *sock = corio_tcp_connect(host, port, NULL);
    if (!sock)
        return NULL;
    corio_stream *s = corio_stream_open(sock, opts);
    if (!s) {
        int e = errno;
        corio_sock_close(sock);
        errno = e;
    }
    return s;
}

corio_stream *corio_open_unix_connection(const char *path,
                                         const corio_stream_opts *opts)
{
    corio_sock *sock = corio_unix_connect(path);
    if (!sock)
        return NULL;
    corio_stream *s = corio_stream_open(sock, opts);
    if (!s) {
        int e = errno;
        corio_sock_close(sock);
        errno = e;
    }
    return s;
}

corio_sock *corio_stream_sock(corio_stream *s)
{
    return s && s->t ? s->t->ops->sock(s->t) : NULL;
}

struct corio__transport *corio__stream_transport(corio_stream *s)
{
    return s ? s->t : NULL;
}

/* ---- reading ---- */

static size_t unread(const corio_stream *s)
{
    return s->rend - s->rpos;
}

/* Hand n buffered bytes to the caller. */
static void take(corio_stream *s, void *buf, size_t n)
{
    if (!n)
        return; /* rbuf may be NULL */
    memcpy(buf, s->rbuf + s->rpos, n);
    s->rpos += n;
    if (s->rpos == s->rend) {
        s->rpos = s->rend = 0;
        if (s->rcap > RBUF_MAX) {
            /* Grown for a long line or a put-back: give it back. */
            corio__free(s->rbuf);
            s->rbuf = NULL;
            s->rcap = 0;
        }
    }
}

/* Make the read buffer hold at least cap bytes; false if out of memory. */
static bool rbuf_reserve(corio_stream *s, size_t cap)
{
    if (s->rcap >= cap)
        return true;
    char *p = corio__realloc(s->rbuf, cap);
    if (!p)
        return false;
    s->rbuf = p;
    s->rcap = cap;
    return true;
}

/* Read once from the transport into the buffer, which may grow up to
 * max bytes: the count, 0 at end of stream, -ENOBUFS if the buffer is
 * full at max, or an error. Suspends. */
static ssize_t fill(corio_stream *s, size_t max)
{
    if (s->rpos && s->rend == s->rcap) {
        /* Move the unread data to the front to make room. */
        memmove(s->rbuf, s->rbuf + s->rpos, unread(s));
        s->rend -= s->rpos;
        s->rpos = 0;
    }
    /* Start small (an idle connection keeps its buffer) and grow while
     * reads fill it, as libuv and tokio size theirs. */
    if (s->rend == s->rcap || (s->rfull && !s->rend && s->rcap < max)) {
        if (s->rcap >= max)
            return -ENOBUFS;
        size_t cap = s->rcap ? s->rcap * 2 : RBUF_MIN;
        if (cap > max)
            cap = max > RBUF_MIN ? max : RBUF_MIN;
        if (!rbuf_reserve(s, cap))
            return -ENOMEM;
    }
    size_t room = s->rcap - s->rend;
    ssize_t r = s->t->ops->read(s->t, s->rbuf + s->rend, room);
    if (r > 0) {
        s->rend += (size_t)r;
        s->rfull = (size_t)r == room;
    }
    return r;
}

/* Start a read that has to wait for data: 0, or why it cannot. */
static int read_enter(corio_stream *s)
{
    if (s->rerr)
        return s->rerr;
    if (s->reading)
        return -EBUSY;
    int rc = enter(s);
    if (rc)
        return rc;
    s->reading = true;
    return 0;
}

/* A read result from the transport: end of stream and connection errors
 * are remembered. */
static void note(corio_stream *s, ssize_t r)
{
    if (r == 0)
        s->eof = true;
    else if (sticky(r))
        s->rerr = (int)r;
}

static void read_leave(corio_stream *s)
{
    s->reading = false;
    leave(s);
}

ssize_t corio_stream_read(corio_stream *s, void *buf, size_t n)
{
    if (!s || (!buf && n))
        return -EINVAL;
    size_t avail = unread(s);
    if (avail) {
        if (n > avail)
            n = avail;
        take(s, buf, n);
        return (ssize_t)n;
    }
    if (!n || s->eof)
        return 0;
    int rc = read_enter(s);
    if (rc)
        return rc;
    ssize_t r;
    if (n >= DIRECT_MIN) {
        /* Large reads skip the buffer: no copy, and a stream that is only
         * read this way never allocates one (idle connections stay
         * small). */
        r = s->t->ops->read(s->t, buf, n);
    } else {
        r = fill(s, RBUF_MAX);
        if (r > 0) {
            if ((size_t)r < n)
                n = (size_t)r;
            take(s, buf, n);
            r = (ssize_t)n;
        }
    }
    note(s, r);
    read_leave(s);
    return r;
}

/* Put back got bytes a failed readexactly had taken, so that it consumes
 * nothing. The buffer is empty then: every byte read went to buf. */
static int put_back(corio_stream *s, const void *buf, size_t got)
{
    if (!got)
        return 0;
    if (!rbuf_reserve(s, got))
        return -ENOMEM;
    memcpy(s->rbuf, buf, got);
    s->rpos = 0;
    s->rend = got;
    return 0;
}

ssize_t corio_stream_readexactly(corio_stream *s, void *buf, size_t n)
{
    if (!s || (!buf && n))
        return -EINVAL;
    size_t avail = unread(s);
    if (avail >= n) {
        take(s, buf, n);
        return (ssize_t)n;
    }
    if (s->eof)
        return -EPIPE;
    int rc = read_enter(s);
    if (rc)
        return rc;
    char *p = buf;
    size_t got = avail;
    take(s, p, avail);
    ssize_t r = 0;
    while (got < n) {
        size_t need = n - got;
        if (need >= DIRECT_MIN) {
            r = s->t->ops->read(s->t, p + got, need);
            if (r > 0)
                got += (size_t)r;
        } else {
            r = fill(s, RBUF_MAX);
            if (r > 0) {
                size_t k = unread(s) < need ? unread(s) : need;
                take(s, p + got, k);
                got += k;
            }
        }
        if (r <= 0)
            break;
    }
    ssize_t result = (ssize_t)n;
    if (got < n) {
        note(s, r);
        result = r == 0 ? -EPIPE : r;
        if (put_back(s, p, got) < 0)
            result = -ENOMEM; /* the partial data is lost */
    }
    read_leave(s);
    return result;
}

/* readuntil and readline: look for sep in the buffer, reading more while
 * it is not there, up to the limit. Consumes only on success. */
static ssize_t until(corio_stream *s, void *buf, size_t cap, const void *sep,
                     size_t seplen, bool line)
{
    if (!s || !sep || !seplen || (!buf && cap))
        return -EINVAL;
    size_t off = 0; /* where the next search starts, past rpos */
    bool entered = false;
    ssize_t rc;
    for (;;) {
        size_t avail = unread(s);
        if (avail >= off + seplen) {
            const char *base = s->rbuf + s->rpos;
            const char *hit = memmem(base + off, avail - off, sep, seplen);
            if (hit) {
                size_t isep = (size_t)(hit - base);
                size_t len = isep + seplen;
                if (isep > s->limit)
                    rc = -ENOBUFS;
                else if (len > cap)
                    rc = -EMSGSIZE;
                else {
                    take(s, buf, len);
                    rc = (ssize_t)len;
                }
                break;
            }
            off = avail + 1 - seplen;
            if (off > s->limit) {
                rc = -ENOBUFS; /* asyncio's LimitOverrunError */
                break;
            }
        }
        if (s->eof) {
            /* readline returns the unterminated last line. */
            if (!line)
                rc = -EPIPE;
            else if (avail > cap)
                rc = -EMSGSIZE;
            else {
                take(s, buf, avail);
                rc = (ssize_t)avail;
            }
            break;
        }
        if (!entered) {
            rc = read_enter(s);
            if (rc)
                break;
            entered = true;
        }
        ssize_t r = fill(s, s->limit + seplen);
        note(s, r);
        if (r < 0) {
            rc = r;
            break;
        }
    }
    if (entered)
        read_leave(s);
    return rc;
}

ssize_t corio_stream_readuntil(corio_stream *s, void *buf, size_t cap,
                               const void *sep, size_t seplen)
{
    return until(s, buf, cap, sep, seplen, false);
}

ssize_t corio_stream_readline(corio_stream *s, void *buf, size_t cap)
{
    return until(s, buf, cap, "\n", 1, true);
}

bool corio_stream_at_eof(const corio_stream *s)
{
    return s && s->eof && !unread(s);
}

size_t corio_stream_buffered(const corio_stream *s)
{
    return s ? unread(s) : 0;
}

/* ---- writing ---- */

static size_t unsent(const corio_stream *s)
{
    return s->wend - s->wpos;
}

/* Whether some task will send the buffer without being asked: a flusher
 * that runs or will run (one cancelled before it started never will), or
 * a task flushing from drain or close. */
static bool sender(const corio_stream *s)
{
    return s->inline_flush || (s->flusher && !corio_task_done(s->flusher));
}

/* The buffer shrank (or failed): let drain and close look again. */
static void shrunk(corio_stream *s)
{
    if (s->paused && unsent(s) <= s->low)
        s->paused = false;
    corio__wq_wake_all(&s->drainers, 0);
}

/* Send the buffer until it is empty, waiting for the transport as needed.
 * 0, the connection's error (also stored in werr), or -ECANCELED,
 * -ETIMEDOUT, -EBADF. Suspends. */
static int flush(corio_stream *s)
{
    while (unsent(s)) {
        struct iovec iov = {.iov_base = s->wbuf + s->wpos,
                            .iov_len = unsent(s)};
        ssize_t r = s->t->ops->try_writev(s->t, &iov, 1);
        if (r > 0) {
            s->wpos += (size_t)r;
            if (s->wpos == s->wend)
                s->wpos = s->wend = 0;
            if (s->paused && unsent(s) <= s->low)
                shrunk(s);
            continue;
        }
        if (r != -EAGAIN) {
            s->werr = r < 0 ? (int)r : -EIO;
            shrunk(s);
            return s->werr;
        }
        int rc = s->t->ops->wait_writable(s->t);
        if (rc < 0)
            return rc;
    }
    s->paused = false;
    if (s->wcap > 4 * WBUF_MIN) {
        /* A burst grew the buffer: do not keep it for an idle stream. */
        corio__free(s->wbuf);
        s->wbuf = NULL;
        s->wcap = 0;
    }
    shrunk(s);
    return 0;
}

/* The background sender, started when a write leaves data unsent. */
static int flush_task(void *arg)
{
    corio_stream *s = arg;
    s->busy++;
    s->flusher_started = true;
    flush(s);
    corio_task *t = s->flusher;
    s->flusher = NULL;
    leave(s);
    corio_task_unref(t);
    return 0; /* errors are the stream's, reported by its calls */
}

static void start_flusher(corio_stream *s)
{
    static const corio_task_opts opts = {.name = "corio-stream-flush"};
    corio_task_unref(s->flusher); /* one that was cancelled unstarted */
    s->flusher = corio_spawn_opts(flush_task, s, &opts);
    s->flusher_started = false;
    /* If that failed, drain and close send the data. */
}

/* Append iov (from byte skip on) to the write buffer. */
static int queue(corio_stream *s, const struct iovec *iov, int iovcnt,
                 size_t skip, size_t total)
{
    size_t need = total - skip;
    if (s->wcap - s->wend < need) {
        if (s->wpos) {
            memmove(s->wbuf, s->wbuf + s->wpos, unsent(s));
            s->wend -= s->wpos;
            s->wpos = 0;
        }
        if (s->wcap - s->wend < need) {
            size_t cap = s->wcap ? s->wcap : WBUF_MIN;
            while (cap - s->wend < need)
                cap *= 2;
            char *p = corio__realloc(s->wbuf, cap);
            if (!p)
                return -ENOMEM;
            s->wbuf = p;
            s->wcap = cap;
        }
    }
    for (int i = 0; i < iovcnt; i++) {
        size_t len = iov[i].iov_len;
        const char *base = iov[i].iov_base;
        if (skip >= len) {
            skip -= len;
            continue;
        }
        memcpy(s->wbuf + s->wend, base + skip, len - skip);
        s->wend += len - skip;
        skip = 0;
    }
    return 0;
}

int corio_stream_writev(corio_stream *s, const struct iovec *iov, int iovcnt)
{
    if (!s || iovcnt < 0 || (!iov && iovcnt))
        return -EINVAL;
    if (s->werr)
        return s->werr;
    if (s->closing || !s->t)
        return -EBADF;
    if (s->wshut)
        return -EPIPE;
    size_t total = 0;
    for (int i = 0; i < iovcnt; i++)
        total += iov[i].iov_len;
    if (!total)
        return 0;
    size_t sent = 0;
    if (!unsent(s) && !sender(s)) {
        /* Nothing queued: try the socket first, as asyncio's transport
         * does. */
        ssize_t r = s->t->ops->try_writev(s->t, iov, iovcnt);
        if (r >= 0)
            sent = (size_t)r;
        else if (r != -EAGAIN)
            return s->werr = (int)r;
        if (sent == total)
            return 0;
    }
    if (queue(s, iov, iovcnt, sent, total) < 0) {
        /* Part of the data may have gone out: the stream is broken. */
        if (sent)
            s->werr = -ENOMEM;
        return -ENOMEM;
    }
    if (unsent(s) > s->high)
        s->paused = true;
    if (!sender(s))
        start_flusher(s);
    return 0;
}

int corio_stream_write(corio_stream *s, const void *buf, size_t n)
{
    if (!buf && n)
        return -EINVAL;
    struct iovec iov = {.iov_base = (void *)buf, .iov_len = n};
    return corio_stream_writev(s, &iov, 1);
}

size_t corio_stream_write_buffered(const corio_stream *s)
{
    return s ? unsent(s) : 0;
}

/* Wait until the buffer is empty (all) or no longer paused. The flusher
 * sends it if there is one; otherwise the caller does. Suspends. */
static int wait_buffer(corio_stream *s, bool all)
{
    int rc = enter(s);
    if (rc)
        return rc;
    corio_loop *loop;
    corio_task *self = corio__self(&loop);
    while (!s->werr && (all ? unsent(s) != 0 : s->paused)) {
        if (!self) {
            rc = -EPERM;
            break;
        }
        if (!sender(s)) {
            s->inline_flush = true;
            rc = flush(s);
            s->inline_flush = false;
            if (rc)
                break;
            continue;
        }
        struct corio__wq_node n = {.task = self};
        corio__wq_push(&s->drainers, &n);
        corio__waiting(self, CORIO__WAIT_WRITE, s);
        rc = corio__park(loop, self, CORIO__NEVER);
        corio__wq_remove(&s->drainers, &n);
        if (rc < 0)
            break;
    }
    if (!rc && s->werr)
        rc = s->werr;
    leave(s);
    return rc;
}

int corio_stream_drain(corio_stream *s)
{
    if (!s)
        return -EINVAL;
    if (s->werr)
        return s->werr;
    int rc = corio__net_checkpoint();
    if (rc || !s->paused)
        return rc;
    return wait_buffer(s, false);
}

int corio_stream_write_eof(corio_stream *s)
{
    if (!s)
        return -EINVAL;
    if (s->werr)
        return s->werr;
    if (s->wshut)
        return 0;
    int rc = corio__net_checkpoint();
    if (rc)
        return rc;
    s->wshut = true; /* no writes may slip in behind the end */
    rc = wait_buffer(s, true);
    if (rc == 0)
        rc = s->t->ops->shutdown(s->t);
    if (rc < 0 && !sticky(rc))
        s->wshut = false; /* cancelled: nothing happened */
    return rc;
}

int corio__stream_detach(corio_stream *s, corio_sock **sock)
{
    if (!s || !sock || !s->t || s->t != &s->st.base)
        return -EINVAL;
    if (s->closing || s->reading)
        return -EBUSY;
    if (s->werr)
        return s->werr;
    int rc = corio__net_checkpoint();
    if (rc)
        return rc;
    if (unsent(s) && (rc = wait_buffer(s, true)) < 0)
        return rc;
    /* The flusher, if it ran, has left: it wakes wait_buffer and leaves
     * without suspending in between. */
    if (s->busy || s->reading)
        return -EBUSY;
    if (unread(s) || s->eof)
        return -EPROTO;
    if (s->rerr)
        return s->rerr;
    if (s->flusher) {
        corio_cancel(s->flusher); /* spawned, never ran: it never will */
        corio_task_unref(s->flusher);
    }
    *sock = s->st.sock;
    destroy(s);
    return 0;
}

int corio_stream_close(corio_stream *s)
{
    if (!s)
        return 0;
    corio_loop *loop;
    corio_task *self = corio__self(&loop);
    int rc = 0;

    /* Deliver what is buffered, then end of stream. */
    if (s->werr)
        rc = s->werr;
    else if (unsent(s))
        rc = self ? wait_buffer(s, true) : -EPERM;
    if (!rc && !s->wshut)
        rc = s->t->ops->shutdown(s->t);
    if (rc == -ENOTCONN)
        rc = 0; /* the peer is gone: nothing was left to send */
    s->closing = true;
    s->wshut = true;

    /* A flusher that never ran is cancelled before it starts (it then
     * ends without running); one that runs is woken below. */
    if (s->flusher && !s->flusher_started) {
        corio_cancel(s->flusher);
        corio_task_unref(s->flusher);
        s->flusher = NULL;
    }
    corio__wq_wake_all(&s->drainers, -EBADF);
    int crc = s->t->ops->close(s->t, rc == 0);
    s->t = NULL;
    if (!rc)
        rc = crc;

    /* Wait for the tasks still inside the stream's calls to leave. */
    if (s->busy) {
        if (!self || loop != corio__tls_loop) {
            s->free_later = true;
            return rc;
        }
        s->closer = self;
        while (s->busy) {
            corio__waiting(self, CORIO__WAIT_CLEANUP, s);
            corio__park_nocancel(loop, self);
        }
        s->closer = NULL;
    }
    destroy(s);
    return rc;
}

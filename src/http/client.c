/* SPDX-License-Identifier: MIT */
/* HTTP client sessions: a libcurl multi handle driven by the corio loop
 * through libcurl's multi-socket interface. libcurl's sockets go into an
 * epoll set of the session's own, which the loop watches as one
 * descriptor (corio_fd); a task of the session waits on it and hands the
 * ready sockets to curl_multi_socket_action. libcurl's timer is a loop
 * callback. Names are resolved with corio's resolver before a transfer
 * starts and given to libcurl (CURLOPT_RESOLVE), so libcurl never starts
 * its resolver thread. docs/internals/http.md tells the story. */
#include "http/client_int.h"

#include "corio/dns.h"
#include "corio/scope.h"
#include "corio/version.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

/* Easy handles a session keeps for reuse, and DNS entries it caches. */
#define IDLE_MAX 64
#define DNS_MAX 4096
#define DNS_TTL 60.0 /* seconds, as libcurl's own DNS cache */
/* The session's task runs libcurl (and OpenSSL under it): give it room. */
#define DRIVER_STACK (256 * 1024)

/* ---- libcurl, once per process ---- */

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static CURLcode init_rc;

static void global_init(void)
{
    init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int corio__hc_global_init(void)
{
    pthread_once(&init_once, global_init);
    return init_rc == CURLE_OK ? 0 : -ENOMEM;
}

/* The errno libcurl saw for a failed connect, send or receive, or dflt. */
static int os_errno(CURL *easy, int dflt)
{
    long e = 0;
    if (easy)
        curl_easy_getinfo(easy, CURLINFO_OS_ERRNO, &e);
    return e > 0 ? -(int)e : dflt;
}

int corio__hc_error(CURLcode code, CURL *easy)
{
    switch (code) {
    case CURLE_OK:
        return 0;
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_NOT_BUILT_IN:
        return -EPROTONOSUPPORT;
    case CURLE_URL_MALFORMAT:
    case CURLE_BAD_FUNCTION_ARGUMENT:
    case CURLE_UNKNOWN_OPTION:
        return -EINVAL;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return -ENXIO;
    case CURLE_COULDNT_CONNECT:
        return os_errno(easy, -ECONNREFUSED);
    case CURLE_OPERATION_TIMEDOUT:
        return -ETIMEDOUT;
    case CURLE_OUT_OF_MEMORY:
        return -ENOMEM;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CRL_BADFILE:
        return -EKEYREJECTED;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_USE_SSL_FAILED:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_HTTP3:
    case CURLE_QUIC_CONNECT_ERROR:
    case CURLE_BAD_CONTENT_ENCODING:
        return -EPROTO;
    case CURLE_SEND_ERROR:
        return os_errno(easy, -EPIPE);
    case CURLE_RECV_ERROR:
        return os_errno(easy, -ECONNRESET);
    case CURLE_GOT_NOTHING:
        return -ECONNRESET;
    case CURLE_PARTIAL_FILE:
    case CURLE_SEND_FAIL_REWIND:
        return -EPIPE;
    case CURLE_TOO_MANY_REDIRECTS:
        return -ELOOP;
    case CURLE_ABORTED_BY_CALLBACK:
        return -ECANCELED;
    case CURLE_FILESIZE_EXCEEDED:
        return -EMSGSIZE;
    case CURLE_LOGIN_DENIED:
    case CURLE_REMOTE_ACCESS_DENIED:
        return -EACCES;
    case CURLE_AGAIN:
        return -EAGAIN;
    default:
        return -EIO;
    }
}

/* ---- libcurl's sockets ---- */

/* Room in s->socks for descriptor fd. 0 or -ENOMEM. */
static int socks_grow(corio_http_session *s, int fd)
{
    if ((size_t)fd < s->nsocks)
        return 0;
    size_t n = s->nsocks ? s->nsocks : 64;
    while (n <= (size_t)fd)
        n *= 2;
    struct hc_sock *k = hc_realloc(s->socks, n * sizeof *k);
    if (!k)
        return -ENOMEM;
    memset(k + s->nsocks, 0, (n - s->nsocks) * sizeof *k);
    s->socks = k;
    s->nsocks = n;
    return 0;
}

/* Put fd in the epoll set for events (or change them). The set may still
 * hold a descriptor of that number that was closed behind its back, or
 * not hold one it was told about: try the other operation then. */
static int sock_arm(corio_http_session *s, int fd, struct hc_sock *k,
                    uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.fd = fd};
    int op = k->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    /* ENOSPC: the user's epoll watches are used up. */
    int rc = hc_fail_syscall() ? (errno = ENOSPC, -1)
                               : epoll_ctl(s->epfd, op, fd, &ev);
    if (rc < 0 && op == EPOLL_CTL_MOD && errno == ENOENT)
        rc = epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev);
    else if (rc < 0 && op == EPOLL_CTL_ADD && errno == EEXIST)
        rc = epoll_ctl(s->epfd, EPOLL_CTL_MOD, fd, &ev);
    if (rc < 0)
        return -errno;
    k->registered = true;
    k->armed = events;
    return 0;
}

static void sock_disarm(corio_http_session *s, int fd, struct hc_sock *k)
{
    if (k->registered)
        epoll_ctl(s->epfd, EPOLL_CTL_DEL, fd, NULL);
    k->registered = false;
    k->armed = 0;
}

static int drive(void *arg);

/* A callback of ours could not do what libcurl asked. It must not say so
 * to libcurl: a socket or timer callback returning -1 marks the whole
 * multi handle dead, and libcurl then fails each transfer only when it
 * next runs it, which for a transfer whose socket is not watched or
 * whose timeout is not set is never: the fetch waited for good. The
 * error is kept instead, and settle() fails the transfers with it once
 * the libcurl call has returned. */
static void glue_fail(corio_http_session *s, int err)
{
    if (!s->glue_err)
        s->glue_err = err;
}

/* After every libcurl call that may call back: if the glue failed in it,
 * every transfer in the multi handle ends with the error (any of them may
 * be waiting for the socket or the timeout that was lost; with HTTP/2 a
 * socket is shared). Removing them calls back again, which may fail
 * again: hence the loop, which ends once no transfer is left in. */
static void settle(corio_http_session *s)
{
    while (s->glue_err) {
        int err = s->glue_err;
        s->glue_err = 0;
        for (struct corio__list *n = s->xfers.next; n != &s->xfers;
             n = n->next) {
            corio_http_response *r =
                container_of(n, corio_http_response, link);
            if (!r->in_multi)
                continue;
            curl_multi_remove_handle(s->multi, r->easy);
            r->in_multi = false;
            r->done = true;
            if (!r->err) {
                r->err = err;
                snprintf(r->msg, sizeof r->msg,
                         "could not watch the transfer's socket or "
                         "timeout: %s",
                         strerror(-err));
            }
            corio_event_set(&r->ev);
        }
    }
}

/* Make sure the session's task runs: it is started with the first
 * transfer, and again if something (a loop's shutdown) cancelled it. 0 or
 * a negative errno. */
static int driver_ensure(corio_http_session *s)
{
    if (s->driver) {
        if (!corio_task_done(s->driver))
            return 0;
        corio_task_unref(s->driver);
        s->driver = NULL;
    }
    corio_task_opts o = {.name = "corio_http session",
                         .stack_size = DRIVER_STACK};
    corio_task *t = corio_loop_spawn(s->loop, drive, s, &o);
    if (!t)
        return -errno;
    s->driver = t;
    s->driver_started = false;
    return 0;
}

/* CURLMOPT_SOCKETFUNCTION: libcurl wants fd watched for what, or no
 * longer (CURL_POLL_REMOVE). A socket libcurl stops wanting stays in the
 * epoll set, disarmed lazily: a reused connection is wanted again by the
 * next request, usually at once. Failures go to glue_fail, never to
 * libcurl. */
static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp,
                     void *socketp)
{
    corio_http_session *s = userp;
    (void)easy;
    (void)socketp;
    if (fd < 0)
        return 0;
    uint32_t want = 0;
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
        want |= EPOLLIN;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
        want |= EPOLLOUT;
    if (!want) { /* CURL_POLL_REMOVE, CURL_POLL_NONE */
        if ((size_t)fd < s->nsocks)
            s->socks[fd].want = 0;
        return 0;
    }
    /* open_socket made room for fd already: this is for a socket that
     * did not come from it. */
    int rc = socks_grow(s, fd);
    if (rc == 0) {
        struct hc_sock *k = &s->socks[fd];
        k->want = want;
        if (!k->registered || k->armed != want)
            rc = sock_arm(s, fd, k, want);
    }
    /* corio__hc_start started the task; this restarts it if it was
     * cancelled since. */
    if (rc == 0 && !s->closing)
        rc = driver_ensure(s);
    if (rc < 0)
        glue_fail(s, rc);
    return 0;
}

/* CURLOPT_OPENSOCKETFUNCTION, with the response as clientp: libcurl's
 * connections, made close-on-exec (libcurl's own socket() call is not),
 * so that subprocesses do not inherit them. Room for the descriptor in
 * s->socks is made here, where a failure fails only this connect (with
 * r->open_err), rather than in on_socket, where it would fail the whole
 * session's transfers. */
static curl_socket_t open_socket(void *clientp, curlsocktype purpose,
                                 struct curl_sockaddr *a)
{
    corio_http_response *r = clientp;
    if (purpose != CURLSOCKTYPE_IPCXN)
        return CURL_SOCKET_BAD;
    int fd = hc_fail_syscall()
                 ? (errno = EMFILE, -1)
                 : socket(a->family,
                          a->socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                          a->protocol);
    if (fd < 0) {
        if (r)
            r->open_err = -errno;
        return CURL_SOCKET_BAD;
    }
    int rc = r && r->session ? socks_grow(r->session, fd) : 0;
    if (rc < 0) {
        close(fd);
        r->open_err = rc;
        return CURL_SOCKET_BAD;
    }
    return fd;
}

/* CURLOPT_CLOSESOCKETFUNCTION: forget fd before closing it, so that a new
 * socket of the same number starts afresh. */
static int close_socket(void *clientp, curl_socket_t fd)
{
    corio_http_session *s = clientp;
    if (fd >= 0 && (size_t)fd < s->nsocks) {
        sock_disarm(s, fd, &s->socks[fd]);
        s->socks[fd].want = 0;
    }
    return close(fd);
}

/* ---- completion ---- */

/* Collect the transfers libcurl has finished: each leaves the multi
 * handle, records its result and wakes its task. Called after every
 * curl_multi_socket_action, never from inside a libcurl call. */
static void check_done(corio_http_session *s)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(s->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        CURL *easy = m->easy_handle;
        CURLcode code = m->data.result; /* m dies with the removal */
        char *p = NULL;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, &p);
        corio_http_response *r = (corio_http_response *)p;
        /* The error before the removal: the connection's errno is the
         * easy handle's until then. A callback's own error wins, and so
         * does the reason our open-socket callback refused a socket. */
        int err = corio__hc_error(code, easy);
        if (code == CURLE_COULDNT_CONNECT && r && r->open_err) {
            err = r->open_err;
            snprintf(r->msg, sizeof r->msg, "could not open a socket: %s",
                     strerror(-err));
        }
        curl_multi_remove_handle(s->multi, easy);
        if (!r)
            continue;
        r->in_multi = false;
        if (!r->err)
            r->err = err;
        r->done = true;
        corio_event_set(&r->ev);
    }
    settle(s);
}

static void action(corio_http_session *s, curl_socket_t fd, int mask)
{
    int running;
    curl_multi_socket_action(s->multi, fd, mask, &running);
    settle(s);
}

/* libcurl's timeout came. */
static void timer_fired(void *arg)
{
    corio_http_session *s = arg;
    s->timer_set = false;
    action(s, CURL_SOCKET_TIMEOUT, 0);
    check_done(s);
}

/* CURLMOPT_TIMERFUNCTION: call back in ms milliseconds (< 0: never). A
 * timer already due no later is kept: firing early is harmless (libcurl
 * checks its own deadlines and sets the timer again), and libcurl asks
 * for "now" on every new transfer. A timer that cannot be set goes to
 * glue_fail, never to libcurl. */
static int on_timer(CURLM *multi, long ms, void *userp)
{
    corio_http_session *s = userp;
    (void)multi;
    double due = corio_loop_time(s->loop) + (double)ms / 1e3;
    if (s->timer_set) {
        if (ms >= 0 && corio_handle_pending(s->timer) &&
            s->timer_due <= due)
            return 0;
        corio_handle_cancel(s->timer);
        s->timer_set = false;
    }
    if (ms < 0 || s->closing)
        return 0;
    int rc = corio_loop_call_later(s->loop, (double)ms / 1e3, timer_fired, s,
                                   &s->timer);
    if (rc < 0) {
        glue_fail(s, rc);
        return 0;
    }
    s->timer_set = true;
    s->timer_due = due;
    return 0;
}

/* Hand a ready socket to libcurl, or take it out of the epoll set if
 * libcurl no longer wants it (a kept-alive connection the server closed,
 * say). */
static void dispatch(corio_http_session *s, const struct epoll_event *ev)
{
    int fd = ev->data.fd;
    if (fd < 0 || (size_t)fd >= s->nsocks)
        return;
    struct hc_sock *k = &s->socks[fd];
    if (!k->want) {
        sock_disarm(s, fd, k);
        return;
    }
    int mask = 0;
    uint32_t e = ev->events;
    if ((k->want & EPOLLIN) && (e & (EPOLLIN | EPOLLHUP | EPOLLERR)))
        mask |= CURL_CSELECT_IN;
    if ((k->want & EPOLLOUT) && (e & (EPOLLOUT | EPOLLHUP | EPOLLERR)))
        mask |= CURL_CSELECT_OUT;
    if (e & EPOLLERR)
        mask |= CURL_CSELECT_ERR;
    action(s, fd, mask);
}

/* The session's task: wait until a socket in the epoll set is ready,
 * hand every ready one to libcurl, collect finished transfers; again.
 * It never touches the session after a wait without first checking
 * whether the session is closing: a session closed from a loop callback
 * (which cannot wait for this task) is left for it to free. */
static int drive(void *arg)
{
    corio_http_session *s = arg;
    struct epoll_event evs[64];
    s->driver_started = true;
    for (;;) {
        int rc = corio_fd_wait(s->epwatch, CORIO_READABLE);
        if (s->closing) {
            if (s->orphan)
                hc_free(s);
            return 0;
        }
        if (rc < 0)
            return rc; /* cancelled from outside: driver_ensure restarts */
        int n;
        do {
            n = epoll_wait(s->epfd, evs, 64, 0);
            for (int i = 0; i < n; i++)
                dispatch(s, &evs[i]);
        } while (n == 64 || (n < 0 && errno == EINTR));
        check_done(s);
    }
}

/* ---- transfers ---- */

int corio__hc_start(corio_http_session *s, corio_http_response *r)
{
    /* The session's task first, where failing fails only this request. */
    int rc = driver_ensure(s);
    if (rc < 0)
        return rc;
    CURLMcode m = curl_multi_add_handle(s->multi, r->easy);
    if (m != CURLM_OK)
        return m == CURLM_OUT_OF_MEMORY ? -ENOMEM : -EINVAL;
    r->in_multi = true;
    /* This transfer may have failed already (done, with r->err). */
    settle(s);
    return 0;
}

void corio__hc_stop(corio_http_response *r)
{
    if (r->in_multi && r->session) {
        curl_multi_remove_handle(r->session->multi, r->easy);
        r->in_multi = false;
        settle(r->session);
    }
    r->in_multi = false; /* detached: the session removed it */
}

int corio__hc_pause_update(corio_http_response *r)
{
    if (!r->in_multi)
        return 0;
    int bits = (r->recv_paused ? CURLPAUSE_RECV : 0) |
               (r->send_paused ? CURLPAUSE_SEND : 0);
    CURLcode c = curl_easy_pause(r->easy, bits);
    settle(r->session); /* which may have ended r: its caller checks */
    if (c != CURLE_OK)
        return r->err ? r->err : corio__hc_error(c, r->easy);
    return 0;
}

/* The session's settings on a fresh or reset easy handle. The request's
 * own come in client_fetch.c. */
static int easy_setup(corio_http_session *s, CURL *e)
{
    CURLcode c = CURLE_OK;
#define SET(opt, val)                                                        \
    do {                                                                     \
        if (c == CURLE_OK)                                                   \
            c = curl_easy_setopt(e, opt, val);                               \
    } while (0)
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    /* Environment proxies are ignored, as aiohttp does without
     * trust_env; libcurl would otherwise resolve them in a thread. */
    SET(CURLOPT_PROXY, "");
    SET(CURLOPT_OPENSOCKETFUNCTION, open_socket);
    /* Its data, the response, is set per request (client_fetch.c). */
    SET(CURLOPT_CLOSESOCKETFUNCTION, close_socket);
    SET(CURLOPT_CLOSESOCKETDATA, s);
    SET(CURLOPT_SHARE, s->share);
    SET(CURLOPT_USERAGENT, s->user_agent);
    SET(CURLOPT_ACCEPT_ENCODING, "");
    SET(CURLOPT_HTTP_VERSION, s->http_version);
    if (s->ca_file)
        SET(CURLOPT_CAINFO, s->ca_file);
    if (s->insecure) {
        SET(CURLOPT_SSL_VERIFYPEER, 0L);
        SET(CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (s->cookies)
        SET(CURLOPT_COOKIEFILE, "");
#undef SET
    return c == CURLE_OK ? 0 : corio__hc_error(c, e);
}

/* curl_easy_reset, without the leak it has: CURLOPT_COOKIEFILE (the
 * cookie engine's switch) appends to a list of cookie files that libcurl
 * 7.88's reset forgets without freeing. Setting it to NULL frees the
 * list; the cookies stay in the share. */
static void easy_reset(corio_http_session *s, CURL *e)
{
    if (s->cookies)
        curl_easy_setopt(e, CURLOPT_COOKIEFILE, (char *)NULL);
    curl_easy_reset(e);
}

/* A handle for a request: a pooled one keeps the session's setup, and
 * configure() (client_fetch.c) sets every option a request may change. */
CURL *corio__hc_easy_get(corio_http_session *s)
{
    if (s->nidle)
        return s->idle[--s->nidle];
    CURL *e = curl_easy_init();
    if (!e)
        return NULL;
    if (easy_setup(s, e) < 0) {
        curl_easy_cleanup(e);
        return NULL;
    }
    return e;
}

/* Pool easy for the next request, after unhooking what points into the
 * response that used it (the response goes away; the next configure()
 * sets the rest). */
void corio__hc_easy_put(corio_http_session *s, CURL *easy)
{
    if (!easy)
        return;
    if (!s || s->closing || s->nidle == IDLE_MAX) {
        curl_easy_cleanup(easy);
        return;
    }
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, (char *)NULL);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, (char *)NULL);
    curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, (void *)NULL);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, (void *)NULL);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, (void *)NULL);
    curl_easy_setopt(easy, CURLOPT_READDATA, (void *)NULL);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
    curl_easy_setopt(easy, CURLOPT_RESOLVE, (struct curl_slist *)NULL);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, (char *)NULL);
    s->idle[s->nidle++] = easy;
}

int corio__hc_easy_reuse(corio_http_session *s, CURL *easy)
{
    easy_reset(s, easy);
    return easy_setup(s, easy);
}

/* ---- names ----
 *
 * A small hash table of "host:port" -> CURLOPT_RESOLVE entry. libcurl
 * keeps entries given with CURLOPT_RESOLVE in its own cache for good;
 * this one decides when a name is resolved again (DNS_TTL). */

static uint64_t dns_hash(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603u; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211u;
    return h;
}

static void dns_clear(corio_http_session *s)
{
    for (size_t b = 0; b < s->ndns_buckets; b++) {
        struct hc_dns *d = s->dns[b];
        while (d) {
            struct hc_dns *next = d->next;
            hc_free(d->entry);
            hc_free(d);
            d = next;
        }
        s->dns[b] = NULL;
    }
    s->ndns = 0;
}

static struct hc_dns **dns_slot(corio_http_session *s, const char *key,
                                size_t keylen)
{
    struct hc_dns **p = &s->dns[dns_hash(key, keylen) & (s->ndns_buckets -
                                                          1)];
    while (*p && ((*p)->keylen != keylen ||
                  memcmp((*p)->entry, key, keylen) != 0))
        p = &(*p)->next;
    return p;
}

/* Add entry (owned from now on) to the cache, replacing an older one. */
static int dns_put(corio_http_session *s, char *entry, size_t keylen)
{
    if (!s->dns) {
        s->dns = hc_calloc(64, sizeof *s->dns);
        if (!s->dns)
            return -ENOMEM;
        s->ndns_buckets = 64;
    }
    if (s->ndns >= DNS_MAX)
        dns_clear(s);
    struct hc_dns **p = dns_slot(s, entry, keylen);
    struct hc_dns *d = *p;
    if (!d) {
        d = hc_calloc(1, sizeof *d);
        if (!d)
            return -ENOMEM;
        *p = d;
        s->ndns++;
    }
    hc_free(d->entry);
    d->entry = entry;
    d->keylen = keylen;
    d->expires = corio_loop_time(s->loop) + DNS_TTL;
    return 0;
}

/* "host:port:a1,a2,..." from a resolver answer; NULL if out of memory
 * or without an address. IPv6 addresses go in brackets. */
static char *dns_entry(const char *key, const struct addrinfo *res)
{
    size_t cap = strlen(key) + 2;
    for (const struct addrinfo *a = res; a; a = a->ai_next)
        cap += INET6_ADDRSTRLEN + 3;
    char *out = hc_malloc(cap);
    if (!out)
        return NULL;
    size_t n = (size_t)snprintf(out, cap, "%s:", key);
    int count = 0;
    for (const struct addrinfo *a = res; a && count < 16; a = a->ai_next) {
        char addr[INET6_ADDRSTRLEN];
        const void *src;
        if (a->ai_family == AF_INET)
            src = &((const struct sockaddr_in *)a->ai_addr)->sin_addr;
        else if (a->ai_family == AF_INET6)
            src = &((const struct sockaddr_in6 *)a->ai_addr)->sin6_addr;
        else
            continue;
        if (!inet_ntop(a->ai_family, src, addr, sizeof addr))
            continue;
        n += (size_t)snprintf(out + n, cap - n,
                              a->ai_family == AF_INET6 ? "%s[%s]" : "%s%s",
                              count ? "," : "", addr);
        count++;
    }
    if (!count) {
        hc_free(out);
        return NULL;
    }
    return out;
}

int corio__hc_resolve(corio_http_response *r, const char *host, int port,
                      double deadline, const char **entry)
{
    corio_http_session *s = r->session;
    char key[300];
    int keylen = snprintf(key, sizeof key, "%s:%d", host, port);
    if (keylen < 0 || (size_t)keylen >= sizeof key) {
        snprintf(r->msg, sizeof r->msg, "host name too long");
        return -EINVAL;
    }
    if (s->dns) {
        struct hc_dns *d = *dns_slot(s, key, (size_t)keylen);
        if (d && d->expires > corio_loop_time(s->loop)) {
            *entry = d->entry;
            return 0;
        }
    }
    char svc[8];
    snprintf(svc, sizeof svc, "%d", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    corio_scope sc;
    int rc = corio_scope_enter_at(&sc, deadline);
    if (rc < 0)
        return rc;
    rc = corio_getaddrinfo(host, svc, &hints, &res);
    corio_scope_exit(&sc);
    /* The task suspended: the session may have been closed meanwhile. */
    s = r->session;
    if (!s) {
        corio_freeaddrinfo(res);
        return -EBADF;
    }
    if (rc < 0) {
        snprintf(r->msg, sizeof r->msg, "could not resolve host %s: %s",
                 host, strerror(-rc));
        return rc;
    }
    char *e = dns_entry(key, res);
    corio_freeaddrinfo(res);
    if (!e) {
        snprintf(r->msg, sizeof r->msg,
                 "could not resolve host %s: no address", host);
        return -ENOMEM;
    }
    rc = dns_put(s, e, (size_t)keylen);
    if (rc < 0) {
        hc_free(e);
        return rc;
    }
    *entry = e;
    return 0;
}

/* ---- sessions ---- */

/* Whether h is a header field line a caller may send: "Name: value" with
 * a token for a name and no CR, LF or NUL (no header injection). */
bool corio__hc_header_ok(const char *h)
{
    static const char tchar[] = "!#$%&'*+-.^_`|~";
    size_t i = 0;
    for (; h[i] && h[i] != ':'; i++) {
        unsigned char ch = (unsigned char)h[i];
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
              (ch >= 'A' && ch <= 'Z') || strchr(tchar, ch)))
            return false;
    }
    if (i == 0 || h[i] != ':')
        return false;
    return strpbrk(h + i, "\r\n") == NULL;
}

static double pick_time(double v, double dflt)
{
    if (isnan(v))
        return dflt;
    if (v == 0)
        return dflt;
    return v < 0 ? -1 : v;
}

corio_http_session *corio_http_session_new(const corio_http_session_opts *o)
{
    static const corio_http_session_opts none;
    if (!o)
        o = &none;
    corio_loop *loop = corio_loop_current();
    if (!loop) {
        errno = EPERM;
        return NULL;
    }
    long version;
    switch (o->http_version) {
    case CORIO_HTTP_VERSION_DEFAULT:
        version = CURL_HTTP_VERSION_2TLS;
        break;
    case CORIO_HTTP_VERSION_1_1:
        version = CURL_HTTP_VERSION_1_1;
        break;
    case CORIO_HTTP_VERSION_2:
        version = CURL_HTTP_VERSION_2_0;
        break;
    default:
        errno = EINVAL;
        return NULL;
    }
    if (o->max_redirects < CORIO_HTTP_NO_REDIRECTS) {
        errno = EINVAL;
        return NULL;
    }
    for (const char *const *h = o->headers; h && *h; h++) {
        if (!corio__hc_header_ok(*h)) {
            errno = EINVAL;
            return NULL;
        }
    }
    if (corio__hc_global_init() < 0) {
        errno = ENOMEM;
        return NULL;
    }
    int err = ENOMEM;
    corio_http_session *s = hc_calloc(1, sizeof *s);
    if (!s)
        goto err;
    s->loop = loop;
    s->epfd = -1;
    corio__list_init(&s->xfers);
    s->timeout = pick_time(o->timeout, 300);
    s->connect_timeout = pick_time(o->connect_timeout, 30);
    s->max_redirects = o->max_redirects ? o->max_redirects : 10;
    s->max_body = o->max_body ? o->max_body : (size_t)64 << 20;
    s->http_version = version;
    s->insecure = o->insecure;
    s->cookies = o->cookies;
    for (const char *const *h = o->headers; h && *h; h++) {
        struct curl_slist *l = curl_slist_append(s->headers, *h);
        if (!l)
            goto err_free;
        s->headers = l;
    }
    if (o->user_agent)
        s->user_agent = hc_strdup(o->user_agent);
    else
        s->user_agent = hc_strdup("corio/" CORIO_VERSION_STRING);
    if (!s->user_agent)
        goto err_free;
    if (o->ca_file && !(s->ca_file = hc_strdup(o->ca_file)))
        goto err_free;
    s->idle = hc_malloc(IDLE_MAX * sizeof *s->idle);
    if (!s->idle)
        goto err_free;
    s->epfd = hc_fail_syscall() ? (errno = EMFILE, -1)
                                : epoll_create1(EPOLL_CLOEXEC);
    if (s->epfd < 0) {
        err = errno;
        goto err_free;
    }
    s->epwatch = corio_fd_open(s->epfd);
    if (!s->epwatch) {
        err = errno;
        goto err_free;
    }
    s->share = curl_share_init();
    if (!s->share)
        goto err_free;
    curl_share_setopt(s->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    if (s->cookies)
        curl_share_setopt(s->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_COOKIE);
    s->multi = curl_multi_init();
    if (!s->multi)
        goto err_free;
    long conns = o->max_connections ? (long)o->max_connections : 100;
    curl_multi_setopt(s->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(s->multi, CURLMOPT_SOCKETDATA, s);
    curl_multi_setopt(s->multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(s->multi, CURLMOPT_TIMERDATA, s);
    curl_multi_setopt(s->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, conns);
    curl_multi_setopt(s->multi, CURLMOPT_MAXCONNECTS, conns);
    curl_multi_setopt(s->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
                      (long)o->max_connections_per_host);
    return s;

err_free:
    if (s->multi)
        curl_multi_cleanup(s->multi);
    if (s->share)
        curl_share_cleanup(s->share);
    corio_fd_close(s->epwatch);
    if (s->epfd >= 0)
        close(s->epfd);
    hc_free(s->idle);
    hc_free(s->ca_file);
    hc_free(s->user_agent);
    curl_slist_free_all(s->headers);
    hc_free(s);
err:
    errno = err;
    return NULL;
}

int corio_http_session_close(corio_http_session *s)
{
    if (!s)
        return 0;
    s->closing = true;
    /* Detach every response: its transfer stops, its easy handle goes
     * (it must not outlive the share), and a task waiting in it wakes
     * and finds it detached (-EBADF). Its data stay the owner's. */
    struct corio__list *n;
    while ((n = corio__list_pop_front(&s->xfers))) {
        corio_http_response *r = container_of(n, corio_http_response, link);
        corio__hc_stop(r);
        if (r->easy)
            curl_easy_cleanup(r->easy);
        r->easy = NULL;
        r->session = NULL;
        if (!r->done) {
            r->done = true;
            r->err = -EBADF;
        }
        corio_event_set(&r->ev);
    }
    while (s->nidle)
        curl_easy_cleanup(s->idle[--s->nidle]);
    /* The session's task: from a task, wait for it to end (shielded, so
     * that close always completes); from a loop callback, which cannot
     * wait, leave the struct for the task to free when it wakes. */
    bool orphan = false;
    if (s->driver) {
        corio_task *d = s->driver;
        s->driver = NULL;
        if (corio_task_done(d)) {
            corio_task_unref(d);
        } else if (corio_current()) {
            corio_cancel(d);
            corio_scope sc;
            corio_scope_enter(&sc, -1);
            corio_scope_shield(&sc, true);
            corio_join(d);
            corio_scope_exit(&sc);
        } else {
            /* A task cancelled before it first ran never runs. */
            orphan = s->driver_started;
            corio_cancel(d);
            corio_task_unref(d);
        }
    }
    /* Pooled connections close through close_socket, which needs the
     * epoll set. */
    curl_multi_cleanup(s->multi);
    curl_share_cleanup(s->share);
    if (s->timer_set)
        corio_handle_cancel(s->timer);
    corio_fd_close(s->epwatch);
    close(s->epfd);
    dns_clear(s);
    hc_free(s->dns);
    hc_free(s->url_prefix);
    hc_free(s->socks);
    hc_free(s->idle);
    hc_free(s->ca_file);
    hc_free(s->user_agent);
    curl_slist_free_all(s->headers);
    if (orphan)
        s->orphan = true; /* the task frees s */
    else
        hc_free(s);
    return 0;
}

const char *corio_http_session_error(const corio_http_session *s)
{
    return s ? s->errmsg : "";
}

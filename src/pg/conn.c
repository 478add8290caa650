/* SPDX-License-Identifier: MIT */
/* Connections: connecting without blocking the loop (host names are
 * resolved with corio_getaddrinfo and handed to libpq as hostaddr), the
 * waits that drive libpq's non-blocking mode, errors, cancelling a
 * statement on the server when its task is cancelled, notifications and
 * close. Every wait goes through corio_fd, level-triggered: libpq reads
 * at most a buffer per call and may leave data in the socket, which an
 * edge-triggered registration would never report again. */
#include "pg/pg_int.h"

#include "corio/dns.h"
#include "corio/loop.h"
#include "corio/net.h"
#include "corio/pool.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Why the last connect of this thread failed; read right after the call,
 * before the task suspends again (as errno). */
static _Thread_local char connect_err[512];

static void set_connect_error(const char *msg)
{
    snprintf(connect_err, sizeof connect_err, "%s", msg ? msg : "");
    size_t n = strlen(connect_err);
    while (n && (connect_err[n - 1] == '\n' || connect_err[n - 1] == ' '))
        connect_err[--n] = '\0';
}

const char *corio_pg_connect_error(void)
{
    return connect_err;
}

/* ---- errors ---- */

void corio__pg_clear_error(struct corio_pg *c)
{
    PQclear(c->err_res);
    c->err_res = NULL;
    pg_free(c->err_msg);
    c->err_msg = NULL;
    c->err_state[0] = '\0';
    c->has_err = false;
}

void corio__pg_set_error(struct corio_pg *c, const char *state,
                         const char *msg)
{
    corio__pg_clear_error(c);
    c->has_err = true;
    if (state)
        snprintf(c->err_state, sizeof c->err_state, "%s", state);
    if (!msg || !*msg)
        msg = "unknown error";
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        n--;
    c->err_msg = pg_malloc(n + 1);
    if (c->err_msg) {
        memcpy(c->err_msg, msg, n);
        c->err_msg[n] = '\0';
    }
}

void corio__pg_set_error_res(struct corio_pg *c, PGresult *res)
{
    corio__pg_clear_error(c);
    c->has_err = true;
    c->err_res = res;
}

/* Map our field numbers to libpq's. */
static int diag_code(int field)
{
    switch (field) {
    case CORIO_PG_SQLSTATE:
        return PG_DIAG_SQLSTATE;
    case CORIO_PG_MESSAGE:
        return PG_DIAG_MESSAGE_PRIMARY;
    case CORIO_PG_DETAIL:
        return PG_DIAG_MESSAGE_DETAIL;
    case CORIO_PG_HINT:
        return PG_DIAG_MESSAGE_HINT;
    case CORIO_PG_SEVERITY:
        return PG_DIAG_SEVERITY_NONLOCALIZED;
    case CORIO_PG_POSITION:
        return PG_DIAG_STATEMENT_POSITION;
    case CORIO_PG_CONSTRAINT:
        return PG_DIAG_CONSTRAINT_NAME;
    default:
        return -1;
    }
}

const char *corio_pg_result_error(const corio_pg_result *r, int field)
{
    const PGresult *res = (const PGresult *)r;
    int code = diag_code(field);
    if (!res || code < 0 || !corio__pg_res_failed(res))
        return NULL;
    if (PQresultStatus(res) == PGRES_PIPELINE_ABORTED)
        return field == CORIO_PG_MESSAGE
                   ? "skipped: an earlier statement of the pipeline "
                     "segment failed"
                   : NULL;
    const char *v = PQresultErrorField(res, code);
    if (!v && field == CORIO_PG_MESSAGE)
        v = PQresultErrorMessage(res); /* an error libpq made itself */
    return v;
}

const char *corio_pg_error(const corio_pg *c, int field)
{
    if (!c || !c->has_err)
        return NULL;
    if (c->err_res)
        return corio_pg_result_error((const corio_pg_result *)c->err_res,
                                     field);
    if (field == CORIO_PG_MESSAGE)
        return c->err_msg ? c->err_msg : "out of memory";
    if (field == CORIO_PG_SQLSTATE)
        return c->err_state[0] ? c->err_state : NULL;
    return NULL;
}

bool corio__pg_res_failed(const PGresult *res)
{
    switch (PQresultStatus(res)) {
    case PGRES_FATAL_ERROR:
    case PGRES_NONFATAL_ERROR:
    case PGRES_BAD_RESPONSE:
    case PGRES_PIPELINE_ABORTED:
        return true;
    default:
        return false;
    }
}

int corio_pg_result_status(const corio_pg_result *r)
{
    const PGresult *res = (const PGresult *)r;
    if (!res)
        return -EINVAL;
    if (PQresultStatus(res) == PGRES_PIPELINE_ABORTED)
        return -ECONNABORTED;
    return corio__pg_res_failed(res) ? -EREMOTEIO : 0;
}

/* ---- session state, for the pool's reset ---- */

/* Commands that leave no session state behind. Anything else (SET,
 * LISTEN, DECLARE, CREATE TEMP TABLE, PREPARE ...) makes the connection
 * dirty; so does a statement whose text pg_sql_stateful flags. */
static const char *const clean_tags[] = {
    "", "SELECT", "INSERT", "UPDATE", "DELETE", "MERGE", "COPY", "FETCH",
    "MOVE", "BEGIN", "START", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE",
    "SHOW", "EXPLAIN", "NOTIFY", "TRUNCATE", "LOCK",
};

void corio__pg_note_command(struct corio_pg *c, const PGresult *res)
{
    const char *tag = PQcmdStatus((PGresult *)res);
    size_t n = strcspn(tag, " ");
    /* DISCARD ALL and DEALLOCATE ALL drop our prepared statements. */
    if (!strncmp(tag, "DISCARD", n) && n == 7)
        corio__pg_cache_clear(c);
    if (!strcmp(tag, "DEALLOCATE ALL"))
        corio__pg_cache_clear(c);
    if (c->dirty)
        return;
    for (size_t i = 0; i < sizeof clean_tags / sizeof *clean_tags; i++)
        if (strlen(clean_tags[i]) == n && !strncmp(tag, clean_tags[i], n))
            return;
    c->dirty = true;
}

bool corio__pg_sql_stateful(const char *sql)
{
    return strcasestr(sql, "advisory") || strcasestr(sql, "set_config");
}

/* ---- waiting ---- */

/* Whether OpenSSL holds decrypted bytes libpq has not read yet: the
 * socket will not report them, so a wait would hang. */
static bool ssl_pending(PGconn *pq)
{
    if (!PQsslInUse(pq))
        return false;
    SSL *ssl = PQsslStruct(pq, "OpenSSL");
    return ssl && SSL_pending(ssl) > 0;
}

int corio__pg_wait(struct corio_pg *c, unsigned events)
{
    if (!c->fd)
        return c->closing ? -EBADF : -ECONNRESET;
    if ((events & CORIO_READABLE) && ssl_pending(c->pq))
        return CORIO_READABLE;
    int rc = corio_fd_wait(c->fd, events);
    if (rc == -EBADF && !c->closing)
        rc = -ECONNRESET; /* another task found the connection lost */
    return rc;
}

int corio__pg_lost(struct corio_pg *c)
{
    if (!c->broken) {
        c->broken = true;
        const char *msg = PQerrorMessage(c->pq);
        corio__pg_set_error(c, NULL,
                            msg && *msg ? msg : "connection to server lost");
        if (c->fd) {
            corio_fd *f = c->fd;
            c->fd = NULL;
            corio_fd_close(f);
        }
    }
    return c->closing ? -EBADF : -ECONNRESET;
}

int corio__pg_flush(struct corio_pg *c)
{
    for (;;) {
        int r = PQflush(c->pq);
        if (r == 0)
            return 0;
        if (r < 0)
            return corio__pg_lost(c);
        /* Wait for both: the server may be blocked sending to us (libpq's
         * rule for non-blocking flushes). */
        int rc = corio__pg_wait(c, CORIO_READABLE | CORIO_WRITABLE);
        if (rc < 0)
            return rc;
        if ((rc & CORIO_READABLE) && !PQconsumeInput(c->pq))
            return corio__pg_lost(c);
    }
}

int corio__pg_wait_result(struct corio_pg *c)
{
    while (PQisBusy(c->pq)) {
        int rc = corio__pg_wait(c, CORIO_READABLE);
        if (rc < 0)
            return rc;
        if (!PQconsumeInput(c->pq))
            return corio__pg_lost(c);
    }
    return 0;
}

/* Read and drop the rest of a COPY TO. */
static int discard_copy_out(struct corio_pg *c)
{
    for (;;) {
        char *buf = NULL;
        int n = PQgetCopyData(c->pq, &buf, 1);
        if (n > 0) {
            PQfreemem(buf);
            continue;
        }
        if (n < 0)
            return n == -1 ? 0 : corio__pg_lost(c);
        int rc = corio__pg_wait(c, CORIO_READABLE);
        if (rc < 0)
            return rc;
        if (!PQconsumeInput(c->pq))
            return corio__pg_lost(c);
    }
}

/* End a COPY FROM that nobody will feed, with an error message. */
static int abort_copy_in(struct corio_pg *c, const char *why)
{
    for (;;) {
        int r = PQputCopyEnd(c->pq, why);
        if (r > 0)
            return corio__pg_flush(c);
        if (r < 0)
            return corio__pg_lost(c);
        int rc = corio__pg_wait(c, CORIO_READABLE | CORIO_WRITABLE);
        if (rc < 0)
            return rc;
        if ((rc & CORIO_READABLE) && !PQconsumeInput(c->pq))
            return corio__pg_lost(c);
    }
}

/* Keep the more telling of two results: the first error, else the last
 * result. */
static PGresult *keep_result(PGresult *kept, PGresult *r)
{
    if (kept && corio__pg_res_failed(kept)) {
        PQclear(r);
        return kept;
    }
    PQclear(kept);
    return r;
}

PGresult *corio__pg_collect(struct corio_pg *c, int *rcp, bool stop_at_copy)
{
    PGresult *kept = NULL;
    int rc;
    for (;;) {
        rc = corio__pg_wait_result(c);
        if (rc < 0)
            break;
        PGresult *r = PQgetResult(c->pq);
        if (!r)
            break;
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT ||
            st == PGRES_COPY_BOTH) {
            if (stop_at_copy) {
                PQclear(kept);
                *rcp = 0;
                return r;
            }
            /* A COPY through corio_pg_exec: refuse it politely. */
            PQclear(r);
            rc = st == PGRES_COPY_IN
                     ? abort_copy_in(c, "use corio_pg_copy_from")
                     : st == PGRES_COPY_OUT ? discard_copy_out(c)
                                            : corio__pg_lost(c);
            if (rc < 0)
                break;
            continue;
        }
        if (!corio__pg_res_failed(r))
            corio__pg_note_command(c, r);
        kept = keep_result(kept, r);
    }
    if (rc < 0) {
        PQclear(kept);
        *rcp = rc;
        return NULL;
    }
    *rcp = 0;
    return kept;
}

/* ---- cancellation ---- */

/* PQcancel on a pool thread: libpq 15 has no non-blocking cancel, and it
 * keeps the cancel key private (writing the CancelRequest ourselves would
 * mean reading PGcancel's layout), so the blocking call runs where it
 * blocks nobody. It connects to the server, sends the key and waits for
 * the server to close; PGcancel is safe to use from another thread. */
static int cancel_fn(void *arg)
{
    char err[256];
    return PQcancel(arg, err, sizeof err) ? 0 : -EIO;
}

/* Results of one command during cleanup: note whether the server
 * reports the cancellation (57014), keep the first error or the last
 * result. COPY is ended, not served. */
static int drain_command(struct corio_pg *c, PGresult **got, bool *cancelled)
{
    for (;;) {
        int rc = corio__pg_wait_result(c);
        if (rc < 0)
            return rc;
        PGresult *r = PQgetResult(c->pq);
        if (!r)
            return 0;
        switch (PQresultStatus(r)) {
        case PGRES_COPY_IN:
            PQclear(r);
            rc = abort_copy_in(c, "canceled");
            break;
        case PGRES_COPY_OUT:
            PQclear(r);
            rc = discard_copy_out(c);
            break;
        case PGRES_PIPELINE_SYNC:
            PQclear(r);
            return 0; /* no NULL follows a Sync's result */
        default: {
            const char *st = PQresultErrorField(r, PG_DIAG_SQLSTATE);
            if (st && !strcmp(st, "57014"))
                *cancelled = true;
            if (!corio__pg_res_failed(r))
                corio__pg_note_command(c, r);
            *got = keep_result(*got, r);
            break;
        }
        }
        if (rc < 0)
            return rc;
    }
}

/* Drain what the pipeline still expects. */
int corio__pg_drain_pipeline(struct corio_pg *c, bool *cancelled)
{
    int rc = 0;
    if (c->unsynced) {
        if (!PQpipelineSync(c->pq))
            return corio__pg_lost(c);
        c->unsynced = false;
        rc = corio__pg_push_expect(c, PG_EXP_SYNC, NULL);
        if (rc < 0)
            return rc;
    }
    rc = corio__pg_flush(c);
    while (rc == 0 && c->exp_len) {
        struct pg_expect e = c->exp[c->exp_head];
        if (e.kind == PG_EXP_FLUSH) {
            corio__pg_pop_expect(c);
            continue;
        }
        PGresult *got = NULL;
        rc = drain_command(c, &got, cancelled);
        if (rc == 0 && e.kind == PG_EXP_PREP && e.stmt)
            e.stmt->ready = got && !corio__pg_res_failed(got);
        PQclear(got);
        if (rc == 0)
            corio__pg_pop_expect(c);
    }
    return rc;
}

int corio__pg_abandon(struct corio_pg *c, int rc, PGresult **res)
{
    if (c->closing)
        return -EBADF;
    if (c->broken || !c->fd)
        return -ECONNRESET;
    /* Cleanup must complete whatever happens to the task meanwhile: a
     * shield keeps the task's cancellation and outer deadlines out, and
     * the scope's own deadline bounds it. */
    corio_scope s;
    corio_scope_enter(&s, PG_CLEANUP_TIMEOUT);
    corio_scope_shield(&s, true);
    int r = corio__pg_flush(c);
    /* A COPY FROM is ended by the client: no cancel request needed. */
    if (r == 0 && c->copy != 'i' && c->cancel)
        r = corio_to_thread(cancel_fn, c->cancel);
    PGresult *got = NULL;
    bool cancelled = false;
    if (r == 0 && c->in_pipeline)
        r = corio__pg_drain_pipeline(c, &cancelled);
    else if (r == 0)
        r = drain_command(c, &got, &cancelled);
    c->copy = 0;
    int how = corio_scope_exit(&s);
    if (c->closing) {
        PQclear(got);
        return -EBADF;
    }
    if (r < 0 || how < 0) {
        /* Could not bring it back in time: give the connection up. */
        PQclear(got);
        if (!c->broken) {
            corio__pg_lost(c);
            corio__pg_set_error(c, NULL,
                                "connection given up: the server did not "
                                "answer the cancel in time");
        }
        return rc;
    }
    if (got && !cancelled && res && !c->in_pipeline) {
        /* The statement completed before the cancel reached it: the
         * result wins, and the task's cancellation waits for its next
         * suspension (a deadline is level-triggered and needs nothing). */
        *res = got;
        if (rc == -ECANCELED)
            corio_cancel(corio_current());
        return 0;
    }
    if (got && corio__pg_res_failed(got))
        corio__pg_set_error_res(c, got);
    else
        PQclear(got);
    return rc;
}

/* ---- operations ---- */

int corio__pg_begin_op(struct corio_pg *c)
{
    if (!c)
        return -EINVAL;
    if (c->closing)
        return -EBADF;
    if (!corio_current())
        return -EPERM;
    if (c->broken)
        return -ENOTCONN;
    if (c->owner || c->in_pipeline || c->copy)
        return -EBUSY;
    /* A task already cancelled sends nothing to the server. */
    int rc = corio_checkpoint_if_cancelled();
    if (rc < 0)
        return rc;
    c->owner = corio_current();
    corio__pg_clear_error(c);
    return 0;
}

int corio__pg_end_op(struct corio_pg *c, int rc)
{
    c->owner = NULL;
    if (c->closing)
        corio_event_set(&c->idle);
    corio__pg_kick_listeners(c);
    return rc;
}

void corio__pg_kick_listeners(struct corio_pg *c)
{
    for (struct pg_listener *l = c->listeners; l; l = l->next)
        corio_scope_cancel(l->scope);
}

int corio__pg_reserve_expect(struct corio_pg *c, unsigned n)
{
    if (c->exp_cap - c->exp_len >= n)
        return 0;
    unsigned cap = c->exp_cap ? c->exp_cap : 64;
    while (cap - c->exp_len < n)
        cap *= 2;
    struct pg_expect *e = pg_malloc(cap * sizeof *e);
    if (!e)
        return -ENOMEM;
    for (unsigned i = 0; i < c->exp_len; i++)
        e[i] = c->exp[(c->exp_head + i) % c->exp_cap];
    pg_free(c->exp);
    c->exp = e;
    c->exp_cap = cap;
    c->exp_head = 0;
    return 0;
}

int corio__pg_push_expect(struct corio_pg *c, uint8_t kind,
                          struct pg_stmt *s)
{
    int rc = corio__pg_reserve_expect(c, 1);
    if (rc < 0)
        return rc;
    struct pg_expect *e = &c->exp[(c->exp_head + c->exp_len) % c->exp_cap];
    e->kind = kind;
    e->stmt = s;
    if (s)
        s->refs++;
    c->exp_len++;
    return 0;
}

void corio__pg_pop_expect(struct corio_pg *c)
{
    struct pg_expect *e = &c->exp[c->exp_head];
    if (e->stmt)
        corio__pg_cache_unref(c, e->stmt);
    c->exp_head = (c->exp_head + 1) % c->exp_cap;
    c->exp_len--;
}

/* ---- connecting ---- */

/* A growing string. */
struct sb {
    char *p;
    size_t len;
    size_t cap;
    bool oom;
};

static void sb_add(struct sb *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->len + n + 1) * 2;
        char *p = pg_realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

/* The i-th entry of a comma-separated list, or NULL past its end. */
static const char *list_item(const char *list, int i, size_t *len)
{
    const char *p = list;
    for (; i > 0; i--) {
        p = strchr(p, ',');
        if (!p)
            return NULL;
        p++;
    }
    *len = strcspn(p, ",");
    return p;
}

/* Turn the host names of host (a libpq host list) into addresses: for
 * each address, one entry in *hosts (the name, kept for TLS checks and
 * the password file), *addrs (the address) and *ports. Unix socket paths
 * and numeric hosts pass through. 0 and NULLs when there is nothing to
 * resolve, 1 with the three lists, or a negative errno. */
static int resolve_hosts(const char *host, const char *port, char **hosts,
                         char **addrs, char **ports)
{
    struct sb h = {0}, a = {0}, p = {0};
    bool any = false;
    int rc = 0;
    size_t nports = 0, len;
    while (port && list_item(port, (int)nports, &len))
        nports++;
    for (int i = 0;; i++) {
        const char *item = list_item(host, i, &len);
        if (!item)
            break;
        char name[256];
        if (len >= sizeof name) {
            set_connect_error("host name too long");
            rc = -EINVAL;
            goto out;
        }
        memcpy(name, item, len);
        name[len] = '\0';
        size_t plen = 0;
        const char *pi = nports > 1 ? list_item(port, i, &plen)
                         : nports ? list_item(port, 0, &plen) : "";
        if (!pi)
            pi = "";
        struct sockaddr_storage ss;
        socklen_t sl;
        bool pass = !*name || name[0] == '/' || name[0] == '@' ||
                    corio_addr_parse(name, 0, &ss, &sl) == 0;
        struct addrinfo *res = NULL;
        if (!pass) {
            struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
            rc = corio_getaddrinfo(name, NULL, &hints, &res);
            if (rc < 0) {
                char msg[400];
                snprintf(msg, sizeof msg,
                         "could not translate host name \"%s\" to address: "
                         "%s",
                         name, strerror(-rc));
                set_connect_error(msg);
                goto out;
            }
            any = true;
        }
        for (struct addrinfo *ai = res;; ai = ai->ai_next) {
            if (!pass && !ai)
                break;
            char num[INET6_ADDRSTRLEN] = "";
            if (!pass) {
                const void *ad =
                    ai->ai_family == AF_INET6
                        ? (const void *)&((struct sockaddr_in6 *)
                                              ai->ai_addr)->sin6_addr
                        : (const void *)&((struct sockaddr_in *)
                                              ai->ai_addr)->sin_addr;
                inet_ntop(ai->ai_family, ad, num, sizeof num);
            }
            if (h.len) {
                sb_add(&h, ",", 1);
                sb_add(&a, ",", 1);
                sb_add(&p, ",", 1);
            }
            sb_add(&h, name, strlen(name));
            sb_add(&a, num, strlen(num));
            sb_add(&p, pi, plen);
            if (pass)
                break;
        }
        corio_freeaddrinfo(res);
    }
    if (h.oom || a.oom || p.oom) {
        set_connect_error("out of memory");
        rc = -ENOMEM;
        goto out;
    }
    if (any) {
        *hosts = h.p;
        *addrs = a.p;
        *ports = p.p;
        return 1;
    }
out:
    pg_free(h.p);
    pg_free(a.p);
    pg_free(p.p);
    return rc;
}

/* Server notices (NOTICE, WARNING) are dropped: a library does not write
 * to stderr. */
static void ignore_notice(void *arg, const PGresult *res)
{
    (void)arg;
    (void)res;
}

/* Drive PQconnectPoll until the connection is made. The socket can
 * change at every step (libpq tries the next address on its own), so
 * each wait watches the descriptor of the moment, and stops watching it
 * before libpq may close it. */
static int poll_connect(PGconn *pq)
{
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    for (;;) {
        if (st == PGRES_POLLING_OK)
            return 0;
        if (st == PGRES_POLLING_FAILED) {
            set_connect_error(PQerrorMessage(pq));
            return -ECONNREFUSED;
        }
        corio_fd *f = corio_fd_open(PQsocket(pq));
        if (!f) {
            int e = errno;
            set_connect_error(strerror(e));
            return -e;
        }
        int rc = 0;
        if (st == PGRES_POLLING_READING) {
            if (!ssl_pending(pq))
                rc = corio_fd_wait(f, CORIO_READABLE);
        } else {
            rc = corio_fd_wait(f, CORIO_WRITABLE);
        }
        corio_fd_close(f);
        if (rc < 0) {
            set_connect_error(rc == -ETIMEDOUT ? "timeout expired"
                                               : strerror(-rc));
            return rc;
        }
        st = PQconnectPoll(pq);
    }
}

/* Connect with the options parsed from conninfo, host names replaced by
 * addresses. Returns the libpq connection or NULL and a negative errno in
 * *rcp. */
static PGconn *start(PQconninfoOption *opts, int *rcp)
{
    const char *host = NULL, *hostaddr = NULL, *port = NULL;
    size_t n = 0;
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        n++;
        if (!o->val)
            continue;
        if (!strcmp(o->keyword, "host"))
            host = o->val;
        else if (!strcmp(o->keyword, "hostaddr"))
            hostaddr = o->val;
        else if (!strcmp(o->keyword, "port"))
            port = o->val;
    }
    if (!host)
        host = getenv("PGHOST");
    if (!hostaddr)
        hostaddr = getenv("PGHOSTADDR");
    if (!port)
        port = getenv("PGPORT");
    char *hosts = NULL, *addrs = NULL, *ports = NULL;
    int rc = 0;
    if (host && *host && !(hostaddr && *hostaddr)) {
        rc = resolve_hosts(host, port, &hosts, &addrs, &ports);
        if (rc < 0) {
            *rcp = rc;
            return NULL;
        }
    }
    const char **keys = pg_calloc(n + 4, sizeof *keys);
    const char **vals = pg_calloc(n + 4, sizeof *vals);
    PGconn *pq = NULL;
    if (!keys || !vals) {
        set_connect_error("out of memory");
        *rcp = -ENOMEM;
        goto out;
    }
    size_t k = 0;
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (!o->val)
            continue;
        if (hosts && (!strcmp(o->keyword, "host") ||
                      !strcmp(o->keyword, "hostaddr") ||
                      !strcmp(o->keyword, "port")))
            continue;
        keys[k] = o->keyword;
        vals[k++] = o->val;
    }
    if (hosts) {
        keys[k] = "host";
        vals[k++] = hosts;
        keys[k] = "hostaddr";
        vals[k++] = addrs;
        keys[k] = "port";
        vals[k++] = ports;
    }
    pq = PQconnectStartParams(keys, vals, 0);
    if (!pq) {
        set_connect_error("out of memory");
        *rcp = -ENOMEM;
        goto out;
    }
    PQsetNoticeReceiver(pq, ignore_notice, NULL);
    if (PQstatus(pq) == CONNECTION_BAD) {
        set_connect_error(PQerrorMessage(pq));
        PQfinish(pq);
        pq = NULL;
        *rcp = -ECONNREFUSED;
        goto out;
    }
    *rcp = 0;
out:
    pg_free(keys);
    pg_free(vals);
    pg_free(hosts);
    pg_free(addrs);
    pg_free(ports);
    return pq;
}

/* The connect_timeout of the options or the environment, in seconds (0:
 * none); libpq takes values below 2 as 2. */
static double connect_timeout(const PQconninfoOption *opts)
{
    const char *v = getenv("PGCONNECT_TIMEOUT");
    for (const PQconninfoOption *o = opts; o->keyword; o++)
        if (o->val && !strcmp(o->keyword, "connect_timeout"))
            v = o->val;
    double t = v ? atof(v) : 0;
    return t <= 0 ? 0 : t < 2 ? 2 : t;
}

struct corio_pg *corio__pg_connect(const char *conninfo, unsigned cache_max)
{
    connect_err[0] = '\0';
    if (!conninfo) {
        set_connect_error("conninfo is NULL");
        errno = EINVAL;
        return NULL;
    }
    if (!corio_current()) {
        set_connect_error("corio_pg_connect needs a task");
        errno = EPERM;
        return NULL;
    }
    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &perr);
    if (!opts) {
        set_connect_error(perr ? perr : "out of memory");
        int e = perr ? EINVAL : ENOMEM;
        PQfreemem(perr);
        errno = e;
        return NULL;
    }
    struct corio_pg *c = pg_calloc(1, sizeof *c);
    if (!c) {
        PQconninfoFree(opts);
        set_connect_error("out of memory");
        errno = ENOMEM;
        return NULL;
    }
    double tmo = connect_timeout(opts);
    corio_scope s;
    corio_scope_enter(&s, tmo > 0 ? tmo : -1);
    int rc = 0;
    PGconn *pq = start(opts, &rc);
    PQconninfoFree(opts);
    if (pq)
        rc = poll_connect(pq);
    if (corio_scope_exit(&s) == -ETIMEDOUT && rc == -ETIMEDOUT)
        set_connect_error("timeout expired");
    if (rc < 0)
        goto err;
    if (PQsetnonblocking(pq, 1) < 0) {
        set_connect_error(PQerrorMessage(pq));
        rc = -ECONNREFUSED;
        goto err;
    }
    c->pq = pq;
    c->cache_max = cache_max;
    corio_event_init(&c->idle);
    c->cancel = PQgetCancel(pq);
    c->fd = corio_fd_open(PQsocket(pq));
    if (!c->cancel || !c->fd) {
        rc = c->fd ? -ENOMEM : -errno;
        set_connect_error(strerror(-rc));
        c->pq = NULL;
        PQfreeCancel(c->cancel);
        if (c->fd)
            corio_fd_close(c->fd);
        goto err;
    }
    return c;
err:
    PQfinish(pq);
    pg_free(c);
    errno = -rc;
    return NULL;
}

corio_pg *corio_pg_connect(const char *conninfo)
{
    return corio__pg_connect(conninfo, 100);
}

/* ---- state ---- */

int corio_pg_status(const corio_pg *c)
{
    if (!c)
        return -EINVAL;
    if (c->broken || c->closing)
        return -ENOTCONN;
    if (c->owner || c->in_pipeline || c->copy)
        return CORIO_PG_BUSY;
    switch (PQtransactionStatus(c->pq)) {
    case PQTRANS_IDLE:
        return CORIO_PG_IDLE;
    case PQTRANS_INTRANS:
        return CORIO_PG_IN_TX;
    case PQTRANS_INERROR:
        return CORIO_PG_FAILED;
    case PQTRANS_ACTIVE:
        return CORIO_PG_BUSY;
    default:
        return -ENOTCONN;
    }
}

int corio_pg_set_stmt_cache(corio_pg *c, unsigned size)
{
    if (!c)
        return -EINVAL;
    if (c->nstmts)
        return -EBUSY;
    c->cache_max = size;
    return 0;
}

/* ---- notifications ---- */

static corio_pg_notification *convert(struct corio_pg *c, PGnotify *n)
{
    size_t cl = strlen(n->relname) + 1;
    size_t pl = strlen(n->extra) + 1;
    corio_pg_notification *out = pg_malloc(sizeof *out + cl + pl);
    if (!out) {
        c->held = n; /* not lost: the next call hands it out */
        errno = ENOMEM;
        return NULL;
    }
    char *p = (char *)(out + 1);
    memcpy(p, n->relname, cl);
    out->channel = p;
    memcpy(p + cl, n->extra, pl);
    out->payload = p + cl;
    out->pid = n->be_pid;
    PQfreemem(n);
    return out;
}

corio_pg_notification *corio_pg_notification_wait(corio_pg *c)
{
    int rc = 0;
    if (!c)
        rc = -EINVAL;
    else if (c->closing)
        rc = -EBADF;
    else if (!corio_current())
        rc = -EPERM;
    if (rc < 0) {
        errno = -rc;
        return NULL;
    }
    for (;;) {
        if (c->closing) {
            errno = EBADF;
            return NULL;
        }
        PGnotify *n = c->held;
        c->held = NULL;
        /* While another task runs an operation on c, leave the socket to
         * it: that task waits for the socket's readiness, and a read here
         * could take its result away before epoll reports it (epoll does
         * not report data that is gone), leaving it waiting for ever for
         * what is already in libpq's buffer. It reads notifications with
         * its result, and kicks us when it ends. */
        if (!n && !c->broken && !c->owner) {
            if (!PQconsumeInput(c->pq))
                corio__pg_lost(c);
            n = PQnotifies(c->pq);
        }
        if (n)
            return convert(c, n);
        if (c->broken) {
            errno = c->closing ? EBADF : ENOTCONN;
            return NULL;
        }
        /* Wait for the socket, or for the end of the operation running on
         * c: it cancels our scope so that we look at what it read. */
        struct pg_listener l = {.next = c->listeners};
        corio_scope s;
        corio_scope_enter(&s, -1);
        l.scope = &s;
        c->listeners = &l;
        rc = c->owner ? corio_sleep(INFINITY)
                      : corio__pg_wait(c, CORIO_READABLE);
        struct pg_listener **pp = &c->listeners;
        while (*pp != &l)
            pp = &(*pp)->next;
        *pp = l.next;
        int how = corio_scope_exit(&s);
        if (rc == -ECANCELED && how == -ECANCELED)
            continue; /* kicked: look again */
        if (rc < 0) {
            errno = c->closing ? EBADF : -rc;
            return NULL;
        }
    }
}

void corio_pg_notification_free(corio_pg_notification *n)
{
    pg_free(n);
}

/* ---- close ---- */

void corio__pg_free_conn(struct corio_pg *c)
{
    if (c->fd) {
        corio_fd_close(c->fd);
        c->fd = NULL;
    }
    corio__pg_cache_clear(c);
    pg_free(c->buckets);
    while (c->exp_len)
        corio__pg_pop_expect(c);
    pg_free(c->exp);
    PQclear(c->prep_err);
    PQfreemem(c->copybuf);
    PQfreemem(c->held);
    PQfreeCancel(c->cancel);
    PQfinish(c->pq);
    corio__pg_clear_error(c);
    pg_free(c);
}

int corio_pg_close(corio_pg *c)
{
    if (!c)
        return 0;
    if (c->pool)
        corio__pg_pool_forget(c->pool, c);
    c->closing = true;
    /* Wake the tasks waiting on the socket with -EBADF; this returns once
     * they have left the wait. */
    if (c->fd) {
        corio_fd *f = c->fd;
        c->fd = NULL;
        corio_fd_close(f);
    }
    /* An operation may be waiting elsewhere (the cancel request on a pool
     * thread uses c->cancel): let it finish, whatever the caller's
     * cancellation state. */
    if (corio_current() && ((c->owner && c->owner != corio_current()) ||
                            c->listeners)) {
        corio_scope s;
        corio_scope_enter(&s, -1);
        corio_scope_shield(&s, true);
        while (c->owner && c->owner != corio_current())
            corio_event_wait(&c->idle);
        /* Tasks in corio_pg_notification_wait that waited for the end of
         * an operation rather than on the socket: let them leave. */
        while (c->listeners) {
            corio__pg_kick_listeners(c);
            corio_yield();
        }
        corio_scope_exit(&s);
    }
    corio__pg_free_conn(c);
    return 0;
}

/* SPDX-License-Identifier: MIT */
/* Pipeline mode and COPY: the operations that span several calls. A
 * pipeline queues statements in libpq's buffer and keeps, in the
 * connection's ring, what each will send back (a statement's result, the
 * result of a Parse the cache added, a Sync), so that results reach the
 * caller in order and the internal ones are consumed on the way. */
#include "pg/pg_int.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

/* Checks for a call inside a pipeline. */
static int pipe_check(struct corio_pg *c)
{
    if (!c)
        return -EINVAL;
    if (c->closing)
        return -EBADF;
    if (!corio_current())
        return -EPERM;
    if (c->broken)
        return -ENOTCONN;
    if (!c->in_pipeline || c->owner)
        return -EBUSY;
    return 0;
}

int corio_pg_pipeline_enter(corio_pg *c, unsigned flags)
{
    if (!c || (flags & ~CORIO_PG_ATOMIC))
        return -EINVAL;
    if (c->closing)
        return -EBADF;
    if (c->broken)
        return -ENOTCONN;
    if (c->owner || c->in_pipeline || c->copy ||
        !PQenterPipelineMode(c->pq))
        return -EBUSY;
    c->in_pipeline = true;
    c->atomic = flags & CORIO_PG_ATOMIC;
    c->unsynced = false;
    c->flush_asked = false;
    return 0;
}

/* Make room for n more expected results, so that a statement is never
 * half queued for want of memory. */
static int reserve(struct corio_pg *c, unsigned n)
{
    return corio__pg_reserve_expect(c, n);
}

int corio_pg_pipeline_send(corio_pg *c, const char *sql,
                           const corio_pg_params *p)
{
    int rc = pipe_check(c);
    if (rc < 0)
        return rc;
    static const corio_pg_params none;
    if (!p)
        p = &none;
    if (!sql || p->n < 0 || (p->n > 0 && !p->values))
        return -EINVAL;
    if ((rc = reserve(c, 3)) < 0)
        return rc;
    /* A ready cached statement is used by name. On a miss, with room in
     * the cache, the statement is prepared in the same round trip; a
     * statement whose Parse is still in flight runs unnamed. */
    struct pg_stmt *s = NULL, *use = NULL;
    bool prep = false;
    if (!p->no_cache && c->cache_max) {
        s = corio__pg_cache_find(c, sql, p->n, p->types);
        if (s && s->ready) {
            corio__pg_cache_touch(c, s);
            use = s;
        } else if (!s && c->nstmts < c->cache_max) {
            char ev[24];
            use = corio__pg_cache_add(c, sql, p->n, p->types, ev);
            prep = use != NULL;
        }
    }
    if (use ? use->stateful : corio__pg_sql_stateful(sql))
        c->dirty = true;
    if (prep) {
        if (!PQsendPrepare(c->pq, use->name, sql, p->n,
                           (const Oid *)p->types)) {
            corio__pg_cache_remove(c, use);
            goto failed;
        }
        corio__pg_push_expect(c, PG_EXP_PREP, use);
    }
    int ok = use ? PQsendQueryPrepared(c->pq, use->name, p->n, p->values,
                                       p->lengths, p->formats,
                                       p->result_format)
                 : PQsendQueryParams(c->pq, sql, p->n,
                                     (const Oid *)p->types, p->values,
                                     p->lengths, p->formats,
                                     p->result_format);
    if (!ok)
        goto failed;
    corio__pg_push_expect(c, PG_EXP_STMT, use);
    if (c->atomic) {
        c->unsynced = true;
        c->flush_asked = false;
        return 0;
    }
    /* Each statement in a segment of its own: an error fails only it. */
    if (!PQpipelineSync(c->pq))
        return corio__pg_lost(c);
    corio__pg_push_expect(c, PG_EXP_SYNC, NULL);
    return 0;
failed:
    if (PQstatus(c->pq) == CONNECTION_BAD)
        return corio__pg_lost(c);
    corio__pg_set_error(c, NULL, PQerrorMessage(c->pq));
    return -EINVAL;
}

int corio_pg_pipeline_sync(corio_pg *c)
{
    int rc = pipe_check(c);
    if (rc < 0)
        return rc;
    if (c->unsynced) {
        if ((rc = reserve(c, 1)) < 0)
            return rc;
        if (!PQpipelineSync(c->pq))
            return corio__pg_lost(c);
        corio__pg_push_expect(c, PG_EXP_SYNC, NULL);
        c->unsynced = false;
    }
    c->owner = corio_current();
    /* A cancelled flush leaves the rest in libpq's buffer for the next. */
    return corio__pg_end_op(c, corio__pg_flush(c));
}

/* Read the NULL that ends a command's results. */
static int end_of_command(struct corio_pg *c)
{
    for (;;) {
        int rc = corio__pg_wait_result(c);
        if (rc < 0)
            return rc;
        PGresult *z = PQgetResult(c->pq);
        if (!z)
            return 0;
        PQclear(z);
    }
}

/* The next user statement's result: PREP and SYNC entries on the way are
 * consumed. NULL and a negative errno in *rcp on failure. */
static PGresult *next_result(struct corio_pg *c, int *rcp)
{
    for (;;) {
        if (!c->exp_len) {
            *rcp = -ENOMSG;
            return NULL;
        }
        struct pg_expect e = c->exp[c->exp_head];
        if (e.kind == PG_EXP_FLUSH) {
            corio__pg_pop_expect(c);
            continue;
        }
        int rc = corio__pg_wait_result(c);
        if (rc < 0) {
            *rcp = rc;
            return NULL;
        }
        PGresult *r = PQgetResult(c->pq);
        if (!r) {
            corio__pg_set_error(c, NULL, "the server sent no result");
            *rcp = -EPROTO;
            return NULL;
        }
        if (e.kind == PG_EXP_SYNC) {
            PQclear(r); /* PGRES_PIPELINE_SYNC; no NULL follows it */
            corio__pg_pop_expect(c);
            continue;
        }
        rc = end_of_command(c);
        if (rc < 0) {
            PQclear(r);
            *rcp = rc;
            return NULL;
        }
        struct pg_stmt *s = e.stmt;
        if (e.kind == PG_EXP_PREP) {
            if (corio__pg_res_failed(r)) {
                /* Report the Parse's error as the statement's. */
                if (!s->orphan)
                    corio__pg_cache_remove(c, s);
                PQclear(c->prep_err);
                c->prep_err = r;
                c->prep_err_stmt = s;
            } else {
                s->ready = true;
                PQclear(r);
            }
            corio__pg_pop_expect(c);
            continue;
        }
        if (s && c->prep_err && c->prep_err_stmt == s &&
            PQresultStatus(r) == PGRES_PIPELINE_ABORTED) {
            PQclear(r);
            r = c->prep_err;
            c->prep_err = NULL;
            c->prep_err_stmt = NULL;
        }
        if (corio__pg_res_failed(r)) {
            if (s && !s->orphan && corio__pg_stale(r))
                corio__pg_cache_remove(c, s);
            corio__pg_set_error(
                c, PQresultErrorField(r, PG_DIAG_SQLSTATE),
                corio_pg_result_error((corio_pg_result *)r,
                                      CORIO_PG_MESSAGE));
        } else {
            corio__pg_note_command(c, r);
        }
        corio__pg_pop_expect(c);
        *rcp = 0;
        return r;
    }
}

corio_pg_result *corio_pg_pipeline_recv(corio_pg *c)
{
    int rc = pipe_check(c);
    if (rc == 0 && !c->exp_len)
        rc = -ENOMSG;
    if (rc < 0) {
        errno = -rc;
        return NULL;
    }
    c->owner = corio_current();
    corio__pg_clear_error(c);
    /* An open atomic segment: have the server send what it has. */
    if (c->unsynced && !c->flush_asked) {
        if (!PQsendFlushRequest(c->pq))
            rc = corio__pg_lost(c);
        c->flush_asked = true;
    }
    if (rc == 0)
        rc = corio__pg_flush(c);
    PGresult *r = NULL;
    if (rc == 0)
        r = next_result(c, &rc);
    if (rc == -ECANCELED || rc == -ETIMEDOUT)
        rc = corio__pg_abandon(c, rc, NULL);
    corio__pg_end_op(c, rc);
    if (rc < 0)
        errno = -rc;
    return (corio_pg_result *)r;
}

int corio_pg_pipeline_exit(corio_pg *c)
{
    int rc = pipe_check(c);
    if (rc < 0)
        return rc;
    c->owner = corio_current();
    bool cancelled = false;
    rc = corio__pg_drain_pipeline(c, &cancelled);
    if (rc == -ECANCELED || rc == -ETIMEDOUT)
        rc = corio__pg_abandon(c, rc, NULL);
    PQclear(c->prep_err);
    c->prep_err = NULL;
    c->prep_err_stmt = NULL;
    if (rc == 0 || !c->exp_len) {
        if (!c->broken && !PQexitPipelineMode(c->pq)) {
            corio__pg_set_error(c, NULL, PQerrorMessage(c->pq));
            rc = rc < 0 ? rc : -EPROTO;
        } else {
            c->in_pipeline = false;
        }
    }
    if (c->broken)
        c->in_pipeline = false;
    return corio__pg_end_op(c, rc);
}

/* ---- COPY ---- */

/* Send a COPY statement and wait for the server to enter COPY mode. */
static int copy_start(struct corio_pg *c, const char *sql,
                      ExecStatusType want, uint8_t mode)
{
    int rc = corio__pg_begin_op(c);
    if (rc < 0)
        return rc;
    if (!sql)
        return corio__pg_end_op(c, -EINVAL);
    PGresult *r = NULL;
    if (!PQsendQuery(c->pq, sql)) {
        rc = PQstatus(c->pq) == CONNECTION_BAD ? corio__pg_lost(c) : -EINVAL;
        if (rc == -EINVAL)
            corio__pg_set_error(c, NULL, PQerrorMessage(c->pq));
        return corio__pg_end_op(c, rc);
    }
    rc = corio__pg_flush(c);
    if (rc == 0)
        r = corio__pg_collect(c, &rc, true);
    if (rc == -ECANCELED || rc == -ETIMEDOUT)
        rc = corio__pg_abandon(c, rc, &r);
    if (rc < 0)
        return corio__pg_end_op(c, rc);
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_EMPTY_QUERY;
    if (st == want) {
        PQclear(r);
        c->copy = mode;
        c->copy_unflushed = 0;
        return corio__pg_end_op(c, 0);
    }
    if (r && corio__pg_res_failed(r)) {
        corio__pg_set_error_res(c, r);
        return corio__pg_end_op(c, -EREMOTEIO);
    }
    PQclear(r);
    /* Some other statement, maybe a COPY the other way: finish it. */
    if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT)
        PQclear(corio__pg_collect(c, &rc, false));
    if (rc == 0)
        corio__pg_set_error(c, NULL,
                            want == PGRES_COPY_IN
                                ? "not a COPY ... FROM STDIN statement"
                                : "not a COPY ... TO STDOUT statement");
    return corio__pg_end_op(c, rc < 0 ? rc : -EPROTO);
}

int corio_pg_copy_from(corio_pg *c, const char *sql)
{
    return copy_start(c, sql, PGRES_COPY_IN, 'i');
}

int corio_pg_copy_to(corio_pg *c, const char *sql)
{
    return copy_start(c, sql, PGRES_COPY_OUT, 'o');
}

/* Checks for a call during a COPY. */
static int copy_check(struct corio_pg *c, uint8_t mode)
{
    if (!c)
        return -EINVAL;
    if (c->closing)
        return -EBADF;
    if (!corio_current())
        return -EPERM;
    if (c->broken)
        return -ENOTCONN;
    if (c->copy != mode || c->owner)
        return -EBUSY;
    c->owner = corio_current();
    corio__pg_clear_error(c);
    return 0;
}

/* Flush COPY data every this many bytes, so that a slow server holds the
 * writer back instead of libpq's buffer growing without bound. */
#define COPY_FLUSH_EVERY (256 * 1024)

int corio_pg_copy_write(corio_pg *c, const void *buf, size_t len)
{
    int rc = copy_check(c, 'i');
    if (rc < 0)
        return rc;
    if (!buf && len)
        return corio__pg_end_op(c, -EINVAL);
    const char *p = buf;
    while (len && rc == 0) {
        int chunk = len > (1u << 30) ? 1 << 30 : (int)len;
        int r = PQputCopyData(c->pq, p, chunk);
        if (r > 0) {
            p += chunk;
            len -= (size_t)chunk;
            c->copy_unflushed += (size_t)chunk;
            continue;
        }
        if (r < 0) {
            rc = corio__pg_lost(c);
            break;
        }
        rc = corio__pg_wait(c, CORIO_READABLE | CORIO_WRITABLE);
        if (rc > 0)
            rc = (rc & CORIO_READABLE) && !PQconsumeInput(c->pq)
                     ? corio__pg_lost(c)
                     : 0;
    }
    if (rc == 0 && c->copy_unflushed >= COPY_FLUSH_EVERY) {
        rc = corio__pg_flush(c);
        c->copy_unflushed = 0;
    }
    if (rc == -ECANCELED || rc == -ETIMEDOUT)
        rc = corio__pg_abandon(c, rc, NULL);
    return corio__pg_end_op(c, rc);
}

int64_t corio_pg_copy_end(corio_pg *c, const char *error)
{
    int rc = copy_check(c, 'i');
    if (rc < 0)
        return rc;
    for (;;) {
        int r = PQputCopyEnd(c->pq, error);
        if (r > 0)
            break;
        if (r < 0) {
            rc = corio__pg_lost(c);
            break;
        }
        rc = corio__pg_wait(c, CORIO_READABLE | CORIO_WRITABLE);
        if (rc < 0)
            break;
        if ((rc & CORIO_READABLE) && !PQconsumeInput(c->pq)) {
            rc = corio__pg_lost(c);
            break;
        }
        rc = 0;
    }
    PGresult *res = NULL;
    if (rc == 0)
        rc = corio__pg_flush(c);
    if (rc == 0) {
        c->copy = 0;
        res = corio__pg_collect(c, &rc, false);
    }
    if (rc == -ECANCELED || rc == -ETIMEDOUT)
        rc = corio__pg_abandon(c, rc, &res);
    c->copy = 0;
    int64_t n = rc;
    if (rc == 0 && res && corio__pg_res_failed(res)) {
        corio__pg_set_error_res(c, res);
        n = rc = -EREMOTEIO;
    } else if (rc == 0) {
        n = res ? corio__pg_affected(res) : 0;
        PQclear(res);
    }
    corio__pg_end_op(c, rc);
    return n;
}

ssize_t corio_pg_copy_read(corio_pg *c, const char **data)
{
    if (data)
        *data = NULL;
    int rc = copy_check(c, 'o');
    if (rc < 0)
        return rc;
    if (!data)
        return corio__pg_end_op(c, -EINVAL);
    PQfreemem(c->copybuf);
    c->copybuf = NULL;
    ssize_t n = 0;
    for (;;) {
        char *buf = NULL;
        int r = PQgetCopyData(c->pq, &buf, 1);
        if (r > 0) {
            c->copybuf = buf;
            *data = buf;
            n = r;
            break;
        }
        if (r == -1) {
            /* The end: the COPY's own result follows. */
            c->copy = 0;
            PGresult *res = corio__pg_collect(c, &rc, false);
            if (rc == 0 && res && corio__pg_res_failed(res)) {
                corio__pg_set_error_res(c, res);
                rc = -EREMOTEIO;
            } else {
                PQclear(res);
            }
            break;
        }
        if (r < -1) {
            rc = corio__pg_lost(c);
            break;
        }
        rc = corio__pg_wait(c, CORIO_READABLE);
        if (rc < 0)
            break;
        if (!PQconsumeInput(c->pq)) {
            rc = corio__pg_lost(c);
            break;
        }
        rc = 0;
    }
    if (rc == -ECANCELED || rc == -ETIMEDOUT)
        rc = corio__pg_abandon(c, rc, NULL);
    if (rc < 0)
        c->copy = 0;
    corio__pg_end_op(c, rc);
    return rc < 0 ? rc : n;
}

/* SPDX-License-Identifier: MIT */
/* Statements: exec and query with parameters through the statement
 * cache, named prepared statements, transactions and savepoints, and
 * LISTEN / NOTIFY. Each call is one operation on the connection: it sends
 * the statement, waits for its results, and on a cancellation has the
 * server cancel it and drains the connection back to ready. */
#include "pg/pg_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int64_t corio__pg_affected(const PGresult *res)
{
    const char *t = PQcmdTuples((PGresult *)res);
    return *t ? strtoll(t, NULL, 10) : 0;
}

bool corio__pg_stale(const PGresult *res)
{
    const char *st = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    if (!st)
        return false;
    if (!strcmp(st, "26000")) /* prepared statement does not exist */
        return true;
    /* "cached plan must not change result type": the function name does
     * not depend on the server's language. */
    const char *fn = PQresultErrorField(res, PG_DIAG_SOURCE_FUNCTION);
    return !strcmp(st, "0A000") && fn &&
           !strcmp(fn, "RevalidateCachedQuery");
}

/* libpq refused to queue a statement. */
static int send_failed(struct corio_pg *c)
{
    if (PQstatus(c->pq) == CONNECTION_BAD)
        return corio__pg_lost(c);
    corio__pg_set_error(c, NULL, PQerrorMessage(c->pq));
    return -EINVAL;
}

/* The statement was queued: send it and collect its results. Returns the
 * result with *rcp 0, or -EREMOTEIO if it failed on the server; NULL with
 * another negative errno. A cancellation cancels it on the server. */
static PGresult *finish(struct corio_pg *c, int *rcp)
{
    PGresult *res = NULL;
    int rc = corio__pg_flush(c);
    if (rc == 0)
        res = corio__pg_collect(c, &rc, false);
    if (rc == -ECANCELED || rc == -ETIMEDOUT)
        rc = corio__pg_abandon(c, rc, &res);
    if (rc < 0) {
        *rcp = rc;
        return NULL;
    }
    if (!res) {
        corio__pg_set_error(c, NULL, "the server sent no result");
        *rcp = -EPROTO;
        return NULL;
    }
    *rcp = corio__pg_res_failed(res) ? -EREMOTEIO : 0;
    return res;
}

/* A statement in the simple protocol (several may be in sql). */
static PGresult *run_simple(struct corio_pg *c, const char *sql, int *rcp)
{
    if (corio__pg_sql_stateful(sql))
        c->dirty = true;
    if (!PQsendQuery(c->pq, sql)) {
        *rcp = send_failed(c);
        return NULL;
    }
    return finish(c, rcp);
}

/* Run sql in the simple protocol and record a failure on c. */
static int simple(struct corio_pg *c, const char *sql)
{
    int rc;
    PGresult *r = run_simple(c, sql, &rc);
    if (rc == -EREMOTEIO && r)
        corio__pg_set_error_res(c, r);
    else
        PQclear(r);
    return rc;
}

/* A new cache entry, prepared on the server; NULL with *rcp 0 when the
 * cache is off or full of referenced entries or memory ran out (the
 * caller runs the statement unnamed), NULL with a negative errno when
 * preparing failed (the error is recorded). */
static struct pg_stmt *prepare_cached(struct corio_pg *c, const char *sql,
                                      int n, const uint32_t *types, int *rcp)
{
    char evicted[24];
    *rcp = 0;
    struct pg_stmt *s = corio__pg_cache_add(c, sql, n, types, evicted);
    if (!s)
        return NULL;
    if (evicted[0]) {
        char q[64];
        snprintf(q, sizeof q, "DEALLOCATE %s", evicted);
        PQclear(run_simple(c, q, rcp));
        if (*rcp < 0 && *rcp != -EREMOTEIO) {
            corio__pg_cache_remove(c, s);
            return NULL;
        }
        *rcp = 0;
    }
    if (!PQsendPrepare(c->pq, s->name, sql, n, (const Oid *)types)) {
        *rcp = send_failed(c);
        corio__pg_cache_remove(c, s);
        return NULL;
    }
    PGresult *r = finish(c, rcp);
    if (*rcp < 0) {
        corio__pg_cache_remove(c, s);
        if (r)
            corio__pg_set_error_res(c, r);
        return NULL;
    }
    PQclear(r);
    s->ready = true;
    return s;
}

static bool bad_params(const corio_pg_params *p)
{
    return p && (p->n < 0 || (p->n > 0 && !p->values) ||
                 (p->result_format != 0 && p->result_format != 1));
}

/* A statement with parameters in the extended protocol, prepared once
 * through the cache. A cached statement the server lost (DISCARD,
 * DEALLOCATE) or whose result type changed (ALTER TABLE) is dropped, and
 * the statement retried once if no transaction was open. */
static PGresult *exec_params(struct corio_pg *c, const char *sql,
                             const corio_pg_params *p, int *rcp)
{
    static const corio_pg_params none;
    if (!p)
        p = &none;
    const uint32_t *types = p->types;
    bool cache = !p->no_cache && c->cache_max > 0;
    for (int attempt = 0;; attempt++) {
        struct pg_stmt *s = NULL;
        if (cache) {
            s = corio__pg_cache_find(c, sql, p->n, types);
            if (s && s->ready) {
                corio__pg_cache_touch(c, s);
            } else {
                s = prepare_cached(c, sql, p->n, types, rcp);
                if (*rcp < 0)
                    return NULL;
            }
        }
        if (s ? s->stateful : corio__pg_sql_stateful(sql))
            c->dirty = true;
        int ok = s ? PQsendQueryPrepared(c->pq, s->name, p->n, p->values,
                                         p->lengths, p->formats,
                                         p->result_format)
                   : PQsendQueryParams(c->pq, sql, p->n, (const Oid *)types,
                                       p->values, p->lengths, p->formats,
                                       p->result_format);
        if (!ok) {
            *rcp = send_failed(c);
            return NULL;
        }
        PGresult *r = finish(c, rcp);
        if (*rcp == -EREMOTEIO && s && corio__pg_stale(r)) {
            corio__pg_cache_remove(c, s);
            if (attempt == 0 &&
                PQtransactionStatus(c->pq) == PQTRANS_IDLE) {
                PQclear(r);
                continue;
            }
        }
        return r;
    }
}

int64_t corio_pg_exec(corio_pg *c, const char *sql, int nparams,
                      const char *const *values)
{
    int rc = corio__pg_begin_op(c);
    if (rc < 0)
        return rc;
    if (!sql || nparams < 0 || (nparams > 0 && !values))
        return corio__pg_end_op(c, -EINVAL);
    PGresult *r;
    if (nparams == 0) {
        r = run_simple(c, sql, &rc);
    } else {
        corio_pg_params p = {.n = nparams, .values = values};
        r = exec_params(c, sql, &p, &rc);
    }
    int64_t n = rc;
    if (rc == -EREMOTEIO && r) {
        corio__pg_set_error_res(c, r);
    } else if (rc == 0) {
        n = corio__pg_affected(r);
        PQclear(r);
    }
    corio__pg_end_op(c, rc);
    return n;
}

/* End a query: a result, or NULL with errno. */
static corio_pg_result *query_done(struct corio_pg *c, PGresult *r, int rc)
{
    if (rc == -EREMOTEIO && r) {
        corio__pg_set_error_res(c, r);
        r = NULL;
    }
    corio__pg_end_op(c, rc);
    if (rc < 0)
        errno = -rc;
    return (corio_pg_result *)r;
}

corio_pg_result *corio_pg_query_params(corio_pg *c, const char *sql,
                                       const corio_pg_params *p)
{
    int rc = corio__pg_begin_op(c);
    if (rc < 0) {
        errno = -rc;
        return NULL;
    }
    if (!sql || bad_params(p))
        return query_done(c, NULL, -EINVAL);
    PGresult *r = exec_params(c, sql, p, &rc);
    return query_done(c, r, rc);
}

corio_pg_result *corio_pg_query(corio_pg *c, const char *sql, int nparams,
                                const char *const *values)
{
    corio_pg_params p = {.n = nparams, .values = values};
    return corio_pg_query_params(c, sql, &p);
}

int corio_pg_prepare(corio_pg *c, const char *name, const char *sql,
                     int nparams, const uint32_t *types)
{
    int rc = corio__pg_begin_op(c);
    if (rc < 0)
        return rc;
    if (!name || !sql || nparams < 0)
        return corio__pg_end_op(c, -EINVAL);
    /* A statement of the user's is session state: reset on release. */
    c->dirty = true;
    PGresult *r = NULL;
    if (!PQsendPrepare(c->pq, name, sql, nparams, (const Oid *)types))
        rc = send_failed(c);
    else
        r = finish(c, &rc);
    if (rc == -EREMOTEIO && r)
        corio__pg_set_error_res(c, r);
    else
        PQclear(r);
    return corio__pg_end_op(c, rc);
}

corio_pg_result *corio_pg_query_prepared(corio_pg *c, const char *name,
                                         const corio_pg_params *p)
{
    int rc = corio__pg_begin_op(c);
    if (rc < 0) {
        errno = -rc;
        return NULL;
    }
    if (!name || bad_params(p))
        return query_done(c, NULL, -EINVAL);
    static const corio_pg_params none;
    if (!p)
        p = &none;
    PGresult *r = NULL;
    if (!PQsendQueryPrepared(c->pq, name, p->n, p->values, p->lengths,
                             p->formats, p->result_format))
        rc = send_failed(c);
    else
        r = finish(c, &rc);
    return query_done(c, r, rc);
}

/* ---- transactions ---- */

static int simple_op(struct corio_pg *c, const char *sql)
{
    int rc = corio__pg_begin_op(c);
    if (rc < 0)
        return rc;
    return corio__pg_end_op(c, simple(c, sql));
}

int corio_pg_begin(corio_pg *c, unsigned mode)
{
    static const char *const levels[] = {
        "", " ISOLATION LEVEL READ COMMITTED",
        " ISOLATION LEVEL REPEATABLE READ", " ISOLATION LEVEL SERIALIZABLE"};
    if (mode & ~15u)
        return -EINVAL;
    char sql[96];
    snprintf(sql, sizeof sql, "BEGIN%s%s%s", levels[mode & 3],
             mode & CORIO_PG_READ_ONLY ? " READ ONLY" : "",
             mode & CORIO_PG_DEFERRABLE ? " DEFERRABLE" : "");
    return simple_op(c, sql);
}

int corio_pg_commit(corio_pg *c)
{
    int rc = corio__pg_begin_op(c);
    if (rc < 0)
        return rc;
    if (PQtransactionStatus(c->pq) == PQTRANS_INERROR) {
        /* COMMIT would answer ROLLBACK without an error: say it. */
        rc = simple(c, "ROLLBACK");
        if (rc == 0) {
            corio__pg_set_error(c, "25P02",
                                "the transaction had failed: rolled back "
                                "instead of committed");
            rc = -EREMOTEIO;
        }
        return corio__pg_end_op(c, rc);
    }
    return corio__pg_end_op(c, simple(c, "COMMIT"));
}

int corio_pg_rollback(corio_pg *c)
{
    return simple_op(c, "ROLLBACK");
}

/* prefix + name quoted as an identifier, run as one statement. */
static int quoted_op(struct corio_pg *c, const char *prefix,
                     const char *name)
{
    int rc = corio__pg_begin_op(c);
    if (rc < 0)
        return rc;
    if (!name)
        return corio__pg_end_op(c, -EINVAL);
    char *q = PQescapeIdentifier(c->pq, name, strlen(name));
    if (!q) {
        corio__pg_set_error(c, NULL, PQerrorMessage(c->pq));
        return corio__pg_end_op(c, -ENOMEM);
    }
    size_t len = strlen(prefix) + strlen(q) + 1;
    char *sql = pg_malloc(len);
    if (!sql) {
        PQfreemem(q);
        return corio__pg_end_op(c, -ENOMEM);
    }
    snprintf(sql, len, "%s%s", prefix, q);
    PQfreemem(q);
    rc = simple(c, sql);
    pg_free(sql);
    return corio__pg_end_op(c, rc);
}

int corio_pg_savepoint(corio_pg *c, const char *name)
{
    return quoted_op(c, "SAVEPOINT ", name);
}

int corio_pg_release_savepoint(corio_pg *c, const char *name)
{
    return quoted_op(c, "RELEASE SAVEPOINT ", name);
}

int corio_pg_rollback_to(corio_pg *c, const char *name)
{
    return quoted_op(c, "ROLLBACK TO SAVEPOINT ", name);
}

/* ---- LISTEN / NOTIFY ---- */

int corio_pg_listen(corio_pg *c, const char *channel)
{
    return quoted_op(c, "LISTEN ", channel);
}

int corio_pg_unlisten(corio_pg *c, const char *channel)
{
    if (!channel)
        return simple_op(c, "UNLISTEN *");
    return quoted_op(c, "UNLISTEN ", channel);
}

int corio_pg_notify(corio_pg *c, const char *channel, const char *payload)
{
    if (!channel)
        return -EINVAL;
    const char *v[2] = {channel, payload ? payload : ""};
    int64_t rc = corio_pg_exec(c, "SELECT pg_notify($1, $2)", 2, v);
    return rc < 0 ? (int)rc : 0;
}

/* ---- the pool's reset ---- */

/* Bring a dirty connection back to a fresh session's state (as DISCARD
 * ALL does, but keeping the statement cache): close a pipeline or COPY,
 * roll back, then one round trip of reset statements. 0 or a negative
 * errno. */
int corio__pg_reset(struct corio_pg *c)
{
    int rc = 0;
    if (c->in_pipeline) {
        rc = corio_pg_pipeline_exit(c);
        if (rc < 0)
            return rc;
    }
    if (c->copy == 'i') {
        int64_t n = corio_pg_copy_end(c, "connection reset");
        if (n < 0 && n != -EREMOTEIO)
            return (int)n;
    }
    while (c->copy == 'o') {
        const char *data;
        ssize_t n = corio_pg_copy_read(c, &data);
        if (n < 0 && n != -EREMOTEIO)
            return (int)n;
        if (n <= 0)
            break;
    }
    rc = corio__pg_begin_op(c);
    if (rc < 0)
        return rc;
    if (PQtransactionStatus(c->pq) != PQTRANS_IDLE)
        rc = simple(c, "ROLLBACK");
    if (rc == 0)
        rc = simple(c, "SET SESSION AUTHORIZATION DEFAULT; RESET ALL; "
                       "CLOSE ALL; UNLISTEN *; "
                       "SELECT pg_advisory_unlock_all(); DISCARD TEMP; "
                       "DISCARD SEQUENCES");
    if (rc == 0)
        c->dirty = false;
    return corio__pg_end_op(c, rc);
}

/* A round trip that checks the server answers. */
int corio__pg_ping(struct corio_pg *c)
{
    int rc = corio__pg_begin_op(c);
    if (rc < 0)
        return rc;
    return corio__pg_end_op(c, simple(c, ""));
}

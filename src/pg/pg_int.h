/* SPDX-License-Identifier: MIT */
/* The PostgreSQL client's internals, shared by the files of src/pg: the
 * connection object, the statement cache, the pipeline's queue of
 * expected results, and the I/O helpers that drive libpq from the loop.
 * corio_pg is a library of its own on top of libcorio's public API, so it
 * waits with corio_fd and cancel scopes rather than the core's park/wake;
 * only the test build reaches the core's allocation seams. */
#ifndef CORIO_PG_INT_H
#define CORIO_PG_INT_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "corio/io.h"
#include "corio/pg.h"
#include "corio/scope.h"
#include "corio/sync.h"
#include "corio/task.h"

/* Allocation: the core's seams in the test build (fault injection, leak
 * counting), the C library's otherwise (the seams are not exported from
 * libcorio.so). */
#ifdef CORIO_TESTING
void *corio__malloc(size_t n);
void *corio__calloc(size_t n, size_t size);
void *corio__realloc(void *p, size_t n);
void corio__free(void *p);
#define pg_malloc corio__malloc
#define pg_calloc corio__calloc
#define pg_realloc corio__realloc
#define pg_free corio__free
#else
#include <stdlib.h>
#define pg_malloc malloc
#define pg_calloc calloc
#define pg_realloc realloc
#define pg_free free
#endif

/* How long the cleanup after a cancelled statement may take (send the
 * cancel request, drain the connection) before the connection is given
 * up as lost, in seconds. */
#define PG_CLEANUP_TIMEOUT 2.0

/* A cached prepared statement: the key is the text, the parameter count
 * and the declared types. */
struct pg_stmt {
    struct pg_stmt *hnext;   /* hash chain */
    struct pg_stmt *prev;    /* LRU list, most recently used first */
    struct pg_stmt *next;
    uint64_t hash;
    char *sql;               /* owned */
    uint32_t *types;         /* owned, nparams entries, or NULL */
    int nparams;
    unsigned refs;           /* pipeline entries that name it */
    bool ready;              /* the server confirmed the Parse */
    bool stateful;           /* the text may change session state */
    bool orphan;             /* removed from the cache while referenced:
                                freed with the last reference */
    char name[24];           /* "corio_s<n>" */
};

/* What the pipeline waits for, in order. */
enum {
    PG_EXP_PREP = 1, /* the result of an internal Parse of a cache entry */
    PG_EXP_STMT,     /* a user statement's result */
    PG_EXP_SYNC,     /* a Sync's PGRES_PIPELINE_SYNC */
    PG_EXP_FLUSH,    /* nothing comes back: a Flush request was sent */
};

struct pg_expect {
    uint8_t kind;
    struct pg_stmt *stmt; /* PREP, STMT: the cache entry used, or NULL */
};

/* A task waiting in corio_pg_notification_wait: a node on its stack. */
struct pg_listener {
    struct pg_listener *next;
    corio_scope *scope; /* cancelled to make the task look again */
};

struct corio_pg {
    PGconn *pq;            /* owned, PQfinish at close */
    corio_fd *fd;          /* PQsocket watched by the loop; NULL once lost
                              or closed */
    PGcancel *cancel;      /* owned; for the cancel request */
    corio_task *owner;     /* the task with an operation in progress */
    struct corio_pg_pool *pool; /* the pool it belongs to, or NULL */
    struct corio_pg *pnext;     /* on the pool's idle list */
    double idle_since;     /* pool: when it went idle (loop clock) */
    bool broken;           /* the connection to the server is lost */
    bool closing;          /* corio_pg_close has begun */
    bool dirty;            /* session state may have changed (pool) */
    bool in_pipeline;
    bool atomic;           /* CORIO_PG_ATOMIC */
    bool unsynced;         /* atomic: statements sent since the last Sync */
    uint8_t copy;          /* 0, or 'i' / 'o': COPY FROM / TO in progress */
    size_t copy_unflushed; /* COPY FROM bytes queued since the last flush */
    char *copybuf;         /* the last COPY TO row (libpq's, PQfreemem) */
    /* The error of the last failed operation: a server result (owned), or
     * a message of corio's or libpq's (owned) with an optional SQLSTATE. */
    bool has_err;
    PGresult *err_res;
    char *err_msg;
    char err_state[6];
    PGnotify *held;        /* a notification not handed out (no memory) */
    /* Statement cache. */
    struct pg_stmt **buckets; /* nbuckets chains, or NULL until used */
    unsigned nbuckets;
    unsigned nstmts;
    unsigned cache_max;
    unsigned stmt_seq;        /* for names */
    struct pg_stmt *lru_head;
    struct pg_stmt *lru_tail;
    /* Pipeline: the ring of expected results. */
    struct pg_expect *exp;
    unsigned exp_cap, exp_head, exp_len;
    bool flush_asked;      /* atomic: a Flush request covers what is sent */
    PGresult *prep_err;    /* a failed internal Parse, owned, reported as
                              the error of the statement that used it */
    struct pg_stmt *prep_err_stmt;
    /* Tasks in corio_pg_notification_wait, and close's wait for an
     * operation in progress. */
    struct pg_listener *listeners;
    corio_event idle;
};

/* ---- conn.c ---- */

/* Start an operation: checks, takes ownership, clears the error. 0 or a
 * negative errno (nothing changed). */
int corio__pg_begin_op(struct corio_pg *c);
/* End it: releases ownership, wakes a closer and notification
 * waiters. Returns rc. */
int corio__pg_end_op(struct corio_pg *c, int rc);
/* Forget the last error. */
void corio__pg_clear_error(struct corio_pg *c);
/* Receive and drop every result the pipeline expects (sending a Sync
 * first if an atomic segment is open); notes in *cancelled whether the
 * server reported a cancellation. */
int corio__pg_drain_pipeline(struct corio_pg *c, bool *cancelled);
/* Whether a failed statement used a prepared statement the server no
 * longer has, or whose plan changed type: drop it from the cache. */
bool corio__pg_stale(const PGresult *res);
/* Rows affected, from the command tag. */
int64_t corio__pg_affected(const PGresult *res);
/* Record errors on c. */
void corio__pg_set_error(struct corio_pg *c, const char *state,
                         const char *msg);
void corio__pg_set_error_res(struct corio_pg *c, PGresult *res);
/* The connection is lost: record libpq's message, stop watching the
 * socket. Returns -ECONNRESET. */
int corio__pg_lost(struct corio_pg *c);
/* Send what libpq has buffered, reading meanwhile. 0 or a negative
 * errno. */
int corio__pg_flush(struct corio_pg *c);
/* Wait until PQgetResult will not block. 0 or a negative errno. */
int corio__pg_wait_result(struct corio_pg *c);
/* Wait for the socket (CORIO_READABLE / CORIO_WRITABLE). */
int corio__pg_wait(struct corio_pg *c, unsigned events);
/* A task was cancelled (rc) while the statement(s) just sent ran: cancel
 * them on the server and drain the connection to ready, uncancellably
 * and within PG_CLEANUP_TIMEOUT. If the statement completed anyway, its
 * result is stored in *res (when res is not NULL) and 0 is returned, and
 * the cancellation is kept for the task's next suspension. Otherwise rc,
 * or -ECONNRESET if the connection had to be given up. */
int corio__pg_abandon(struct corio_pg *c, int rc, PGresult **res);
/* Collect the results of one command (until PQgetResult returns NULL):
 * the last, or the first error. NULL and a negative errno in *rc on
 * failure. With stop_at_copy, a COPY's result is returned at once;
 * otherwise a COPY is ended with an error. */
PGresult *corio__pg_collect(struct corio_pg *c, int *rc,
                            bool stop_at_copy);
/* The pipeline's queue of expected results: append (taking a reference
 * on s), and drop the head. */
int corio__pg_push_expect(struct corio_pg *c, uint8_t kind,
                          struct pg_stmt *s);
void corio__pg_pop_expect(struct corio_pg *c);
/* Make room for n more entries. 0 or -ENOMEM. */
int corio__pg_reserve_expect(struct corio_pg *c, unsigned n);
/* Connect with a statement cache of cache_max entries. */
struct corio_pg *corio__pg_connect(const char *conninfo, unsigned cache_max);
/* Wake the tasks waiting for notifications so they look again. */
void corio__pg_kick_listeners(struct corio_pg *c);
/* Whether a result is an error (or a skipped pipeline statement). */
bool corio__pg_res_failed(const PGresult *res);
/* Look at a completed command: invalidate the cache after DISCARD or
 * DEALLOCATE, mark the connection dirty after commands that change
 * session state. */
void corio__pg_note_command(struct corio_pg *c, const PGresult *res);
/* Whether a statement's text may change session state (advisory locks,
 * set_config), which the command tag does not show. */
bool corio__pg_sql_stateful(const char *sql);
/* Free c and everything it holds (its waiters are gone). */
void corio__pg_free_conn(struct corio_pg *c);

/* ---- stmt.c: the statement cache ---- */
struct pg_stmt *corio__pg_cache_find(struct corio_pg *c, const char *sql,
                                     int n, const uint32_t *types);
/* A new entry (not ready), evicting the least recently used one beyond
 * the limit; NULL if the cache is off or memory ran out. *evicted receives
 * the name of a statement to DEALLOCATE, or "" (a buffer of 24). */
struct pg_stmt *corio__pg_cache_add(struct corio_pg *c, const char *sql,
                                    int n, const uint32_t *types,
                                    char *evicted);
void corio__pg_cache_remove(struct corio_pg *c, struct pg_stmt *s);
void corio__pg_cache_clear(struct corio_pg *c);
void corio__pg_cache_touch(struct corio_pg *c, struct pg_stmt *s);
/* Drop a pipeline entry's reference; frees an orphan with the last. */
void corio__pg_cache_unref(struct corio_pg *c, struct pg_stmt *s);

/* ---- query.c ---- */
/* The pool's reset of a dirty connection, and its health check. */
int corio__pg_reset(struct corio_pg *c);
int corio__pg_ping(struct corio_pg *c);

/* ---- pool.c ---- */
/* A pooled connection is closed by corio_pg_close: forget it. */
void corio__pg_pool_forget(struct corio_pg_pool *p, struct corio_pg *c);

#endif

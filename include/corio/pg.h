/* SPDX-License-Identifier: MIT */
/* PostgreSQL from tasks (asyncpg's territory): connections, queries with
 * parameters and a per-connection cache of prepared statements, typed
 * access to rows, transactions, pipelines, COPY, LISTEN / NOTIFY and a
 * connection pool, on libpq in non-blocking mode driven by the loop. A
 * task cancelled or timed out during a query cancels it on the server and
 * leaves the connection usable. Link with corio_pg (pkg-config corio_pg).
 * Guide: docs/guide/database.md. */
#ifndef CORIO_PG_H
#define CORIO_PG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "corio/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A connection to a server, used by the tasks of the loop that made it,
 * one operation at a time. */
typedef struct corio_pg corio_pg;
/* The rows and status of one statement; ended by corio_pg_result_close. */
typedef struct corio_pg_result corio_pg_result;
/* A pool of connections (asyncpg.Pool). */
typedef struct corio_pg_pool corio_pg_pool;

/* ---- connections ---- */

/* Connect to a server: conninfo is a libpq connection string
 * ("host=db port=5432 dbname=app") or URI ("postgresql://u@db/app"), ""
 * for libpq's defaults and PG* environment variables; TLS as libpq does
 * (sslmode ...). Host names are resolved with corio_getaddrinfo, never by
 * libpq. connect_timeout bounds the whole connection. NULL with errno
 * set: ECONNREFUSED (the server could not be reached, or refused: see
 * corio_pg_connect_error), EINVAL (a malformed conninfo), the errors of
 * corio_getaddrinfo, ECANCELED, ETIMEDOUT, ENOMEM, EPERM outside a task.
 * Suspends; cancellation point. */
CORIO_API corio_pg *corio_pg_connect(const char *conninfo);

/* Why the last corio_pg_connect (or pool connect) of this thread failed:
 * libpq's message, or corio's. Read it before the task suspends again,
 * as errno. Never suspends. */
CORIO_API const char *corio_pg_connect_error(void);

/* End the session and free c: another task's operation on c ends with
 * -EBADF, and close waits for it to return first. 0. NULL is allowed.
 * Never suspends, except to let such a task leave. */
CORIO_API int corio_pg_close(corio_pg *c);

/* What corio_pg_status returns. */
enum corio_pg_state {
    CORIO_PG_IDLE = 0,    /* ready, no transaction open */
    CORIO_PG_IN_TX = 1,   /* in a transaction block */
    CORIO_PG_FAILED = 2,  /* in a failed transaction: roll back */
    CORIO_PG_BUSY = 3,    /* an operation, pipeline or COPY in progress */
};

/* The connection's state (enum corio_pg_state), -ENOTCONN once the
 * connection to the server is lost, -EINVAL for NULL. Never suspends. */
CORIO_API int corio_pg_status(const corio_pg *c);

/* How many prepared statements the connection keeps for queries with
 * parameters (default 100, least recently used out; 0: none, every query
 * is parsed anew, as PgBouncer's transaction mode needs). 0, or -EBUSY
 * once the cache holds statements, -EINVAL for NULL. Never suspends. */
CORIO_API int corio_pg_set_stmt_cache(corio_pg *c, unsigned size);

/* ---- errors ---- */

/* Fields of an error (libpq's PG_DIAG_*). */
enum corio_pg_field {
    CORIO_PG_SQLSTATE = 0, /* "42P01"; NULL when not from the server */
    CORIO_PG_MESSAGE,      /* always set after a failure */
    CORIO_PG_DETAIL,
    CORIO_PG_HINT,
    CORIO_PG_SEVERITY,     /* "ERROR", "FATAL" ... */
    CORIO_PG_POSITION,     /* 1-based position in the statement text */
    CORIO_PG_CONSTRAINT,
};

/* A field of the error of the last operation on c that failed, or NULL
 * (no such field, or the last operation succeeded). Valid until the next
 * operation on c. Never suspends. */
CORIO_API const char *corio_pg_error(const corio_pg *c, int field);

/* The same for a result (a statement of a pipeline). Never suspends. */
CORIO_API const char *corio_pg_result_error(const corio_pg_result *r,
                                            int field);

/* Whether a pipeline's statement succeeded: 0; -EREMOTEIO if it failed
 * on the server (corio_pg_result_error says why); -ECONNABORTED if it was
 * skipped because an earlier statement of its atomic segment failed.
 * Never suspends. */
CORIO_API int corio_pg_result_status(const corio_pg_result *r);

/* ---- queries ---- */

/* Parameters of a statement, for corio_pg_query_params and the
 * pipeline. Zero-initialise and set what you need. */
typedef struct corio_pg_params {
    int n;                       /* number of parameters, $1 .. $n */
    const char *const *values;   /* NULL entry: SQL NULL */
    const int *lengths;          /* byte lengths of binary values */
    const int *formats;          /* per value 0 text, 1 binary; NULL: text */
    const uint32_t *types;       /* type OIDs (0: the server infers) */
    int result_format;           /* 0 text, 1 binary for every column */
    bool no_cache;               /* parse anew, do not prepare */
} corio_pg_params;

/* Run a statement and return how many rows it affected (INSERT, UPDATE,
 * DELETE, MERGE, COPY, SELECT: the count; others 0). Parameters are text,
 * values[i] NULL for SQL NULL; with nparams 0 the text may hold several
 * statements (the simple protocol). -EREMOTEIO: the server reported an
 * error (corio_pg_error says which); -ECONNRESET: the connection was lost;
 * -ENOTCONN: it was lost before; -ECANCELED / -ETIMEDOUT: the task was
 * cancelled, the statement is cancelled on the server and the connection
 * stays usable; -EBUSY: another operation is in progress on c; -EBADF:
 * closed meanwhile; -ENOMEM; -EINVAL; -EPERM outside a task. Suspends;
 * cancellation point. */
CORIO_API int64_t corio_pg_exec(corio_pg *c, const char *sql, int nparams,
                                const char *const *values);

/* Run a statement with text parameters and return its rows; queries
 * with the same text reuse a prepared statement. A new result, or NULL
 * with errno set as corio_pg_exec's errors. Suspends; cancellation
 * point. */
CORIO_API corio_pg_result *corio_pg_query(corio_pg *c, const char *sql,
                                          int nparams,
                                          const char *const *values);

/* corio_pg_query with full control of the parameters: binary values,
 * types, binary results, no preparing. p may be NULL. Suspends;
 * cancellation point. */
CORIO_API corio_pg_result *corio_pg_query_params(corio_pg *c,
                                                 const char *sql,
                                                 const corio_pg_params *p);

/* Prepare a named statement (PREPARE). types may be NULL. 0, or the
 * errors of corio_pg_exec. Suspends; cancellation point. */
CORIO_API int corio_pg_prepare(corio_pg *c, const char *name,
                               const char *sql, int nparams,
                               const uint32_t *types);

/* Run a statement prepared with corio_pg_prepare. p may be NULL (no
 * parameters). As corio_pg_query. Suspends; cancellation point. */
CORIO_API corio_pg_result *corio_pg_query_prepared(corio_pg *c,
                                                   const char *name,
                                                   const corio_pg_params *p);

/* ---- results ---- */

/* Free a result. NULL is allowed. Never suspends. */
CORIO_API void corio_pg_result_close(corio_pg_result *r);

/* Rows and columns (0 for NULL). Never suspend. */
CORIO_API int corio_pg_nrows(const corio_pg_result *r);
CORIO_API int corio_pg_ncols(const corio_pg_result *r);
/* A column's name (NULL if out of range), the number of a column by name
 * (-ENOENT if none), its type OID (0 if out of range). Never suspend. */
CORIO_API const char *corio_pg_colname(const corio_pg_result *r, int col);
CORIO_API int corio_pg_colnum(const corio_pg_result *r, const char *name);
CORIO_API uint32_t corio_pg_coltype(const corio_pg_result *r, int col);

/* The command tag ("INSERT 0 1", "SELECT 3") and the rows affected (0 if
 * the command reports none). Never suspend. */
CORIO_API const char *corio_pg_cmd_tag(const corio_pg_result *r);
CORIO_API int64_t corio_pg_affected(const corio_pg_result *r);

/* Whether a value is SQL NULL (true also out of range), and its length in
 * bytes as sent (-EINVAL out of range). Never suspend. */
CORIO_API bool corio_pg_isnull(const corio_pg_result *r, int row, int col);
CORIO_API int corio_pg_length(const corio_pg_result *r, int row, int col);

/* A value as NUL-terminated text, valid as long as r: any value of a text
 * result (numeric, json, arrays ... as the server prints them), and text,
 * varchar, char, name, json, jsonb and xml values of a binary one. NULL
 * for SQL NULL, out of range, or another binary value. Never suspends. */
CORIO_API const char *corio_pg_text(const corio_pg_result *r, int row,
                                    int col);

/* Typed values, from text or binary results: 0 and *v set; -ENODATA for
 * SQL NULL; -EDOM if the value is not of a type the getter reads;
 * -ERANGE if it does not fit; -EINVAL out of range or for NULL pointers.
 * Integers read int2/4/8 and oid (text results: any integer text);
 * doubles and floats also read integers and numeric; timestamps are
 * microseconds since 1970-01-01 00:00 UTC (timestamp without time zone
 * is read as UTC; infinity is INT64_MAX, -infinity INT64_MIN); dates are
 * days since 1970-01-01. Never suspend. */
CORIO_API int corio_pg_get_bool(const corio_pg_result *r, int row, int col,
                                bool *v);
CORIO_API int corio_pg_get_int16(const corio_pg_result *r, int row, int col,
                                 int16_t *v);
CORIO_API int corio_pg_get_int32(const corio_pg_result *r, int row, int col,
                                 int32_t *v);
CORIO_API int corio_pg_get_int64(const corio_pg_result *r, int row, int col,
                                 int64_t *v);
CORIO_API int corio_pg_get_float(const corio_pg_result *r, int row, int col,
                                 float *v);
CORIO_API int corio_pg_get_double(const corio_pg_result *r, int row,
                                  int col, double *v);
CORIO_API int corio_pg_get_uuid(const corio_pg_result *r, int row, int col,
                                uint8_t v[16]);
CORIO_API int corio_pg_get_timestamp(const corio_pg_result *r, int row,
                                     int col, int64_t *v);
CORIO_API int corio_pg_get_date(const corio_pg_result *r, int row, int col,
                                int32_t *v);

/* A bytea value's bytes, or a numeric value's text, copied into buf (at
 * most cap bytes; the text is NUL-terminated when it fits): returns the
 * length the whole value needs (without the NUL), as snprintf does, or
 * the getters' errors. Never suspend. */
CORIO_API ssize_t corio_pg_get_bytea(const corio_pg_result *r, int row,
                                     int col, void *buf, size_t cap);
CORIO_API ssize_t corio_pg_get_numeric(const corio_pg_result *r, int row,
                                       int col, char *buf, size_t cap);

/* ---- transactions ---- */

/* Modes of corio_pg_begin: an isolation level, or-ed with the flags. */
#define CORIO_PG_READ_COMMITTED 1u
#define CORIO_PG_REPEATABLE_READ 2u
#define CORIO_PG_SERIALIZABLE 3u
#define CORIO_PG_READ_ONLY 4u
#define CORIO_PG_DEFERRABLE 8u

/* BEGIN, with an isolation level and flags (0: the server's defaults).
 * 0, or the errors of corio_pg_exec; -EINVAL for an unknown mode.
 * Suspends; cancellation point. */
CORIO_API int corio_pg_begin(corio_pg *c, unsigned mode);
/* COMMIT. A transaction that failed is rolled back instead and the
 * result is -EREMOTEIO with SQLSTATE 25P02. Suspends; cancellation
 * point. */
CORIO_API int corio_pg_commit(corio_pg *c);
/* ROLLBACK. Suspends; cancellation point. */
CORIO_API int corio_pg_rollback(corio_pg *c);
/* SAVEPOINT, RELEASE SAVEPOINT and ROLLBACK TO SAVEPOINT name (any text:
 * it is quoted). Suspends; cancellation point. */
CORIO_API int corio_pg_savepoint(corio_pg *c, const char *name);
CORIO_API int corio_pg_release_savepoint(corio_pg *c, const char *name);
CORIO_API int corio_pg_rollback_to(corio_pg *c, const char *name);

/* ---- pipelines ---- */

/* Flag of corio_pg_pipeline_enter: statements share the fate of their
 * segment, which ends at corio_pg_pipeline_sync (the first error skips
 * the rest of it). Without it each statement stands alone. */
#define CORIO_PG_ATOMIC 1u

/* Enter pipeline mode: statements are sent without waiting for the
 * previous ones, and their results come back in order, many per round
 * trip. 0, -EBUSY (an operation in progress, or already in a pipeline),
 * -ENOTCONN, -EINVAL. Never suspends. */
CORIO_API int corio_pg_pipeline_enter(corio_pg *c, unsigned flags);

/* Queue a statement (p may be NULL). It is sent once libpq's buffer
 * fills or a result is asked for. 0, -EBUSY if not in a pipeline,
 * -ENOTCONN, -ECONNRESET, -ENOMEM, -EINVAL. Never suspends. */
CORIO_API int corio_pg_pipeline_send(corio_pg *c, const char *sql,
                                     const corio_pg_params *p);

/* End an atomic segment (a Sync) and send what is queued. 0 or as
 * corio_pg_pipeline_send. Suspends; cancellation point. */
CORIO_API int corio_pg_pipeline_sync(corio_pg *c);

/* The result of the next queued statement, in order: a new result, also
 * for a statement that failed (see corio_pg_result_status). NULL with
 * errno set: ENOMSG (nothing queued), ECANCELED / ETIMEDOUT (the
 * statements still queued are cancelled and dropped; the pipeline stays
 * open), ECONNRESET, ENOTCONN, EBUSY, ENOMEM. Suspends; cancellation
 * point. */
CORIO_API corio_pg_result *corio_pg_pipeline_recv(corio_pg *c);

/* Leave pipeline mode, dropping the results not yet received. 0, or
 * -EBUSY (not in a pipeline), -ECONNRESET, -ECANCELED, -ETIMEDOUT.
 * Suspends; cancellation point. */
CORIO_API int corio_pg_pipeline_exit(corio_pg *c);

/* ---- COPY ---- */

/* Start COPY ... FROM STDIN. 0, or the errors of corio_pg_exec, -EPROTO if
 * the statement is not a COPY FROM STDIN. Suspends; cancellation point. */
CORIO_API int corio_pg_copy_from(corio_pg *c, const char *sql);
/* Send len bytes of COPY data (any split of the rows). 0, -ECONNRESET,
 * -ECANCELED / -ETIMEDOUT (the COPY is aborted), -EBUSY if no COPY FROM is
 * in progress. Suspends (while the buffer is full); cancellation point. */
CORIO_API int corio_pg_copy_write(corio_pg *c, const void *buf, size_t len);
/* End the COPY: the rows copied; with error not NULL, abort it instead
 * (-EREMOTEIO, the server's message quoting error). Suspends;
 * cancellation point. */
CORIO_API int64_t corio_pg_copy_end(corio_pg *c, const char *error);

/* Start COPY ... TO STDOUT. As corio_pg_copy_from. Suspends; cancellation
 * point. */
CORIO_API int corio_pg_copy_to(corio_pg *c, const char *sql);
/* The next row of COPY data: its length, *data pointing at it (valid
 * until the next call on c); 0 at the end of the COPY (c is ready again);
 * -EREMOTEIO, -ECONNRESET, -ECANCELED / -ETIMEDOUT (the COPY is cancelled
 * on the server), -EBUSY if no COPY TO is in progress. Suspends;
 * cancellation point. */
CORIO_API ssize_t corio_pg_copy_read(corio_pg *c, const char **data);

/* ---- LISTEN / NOTIFY ---- */

/* A notification, as corio_pg_notification_wait returns it. */
typedef struct corio_pg_notification {
    const char *channel;
    const char *payload; /* "" if none */
    int pid;             /* the notifying server process */
} corio_pg_notification;

/* LISTEN channel / UNLISTEN channel (NULL: every channel). The name is
 * quoted, so it is taken as written. 0, or the errors of corio_pg_exec.
 * Suspends; cancellation point. */
CORIO_API int corio_pg_listen(corio_pg *c, const char *channel);
CORIO_API int corio_pg_unlisten(corio_pg *c, const char *channel);
/* NOTIFY channel with payload (NULL: none): pg_notify(). Suspends;
 * cancellation point. */
CORIO_API int corio_pg_notify(corio_pg *c, const char *channel,
                              const char *payload);

/* Wait for the next notification on a listening connection; those that
 * arrived meanwhile come first, in order. Other tasks may run queries on
 * c while one waits. A new notification, freed with
 * corio_pg_notification_free; NULL with errno set: ECANCELED, ETIMEDOUT,
 * ECONNRESET, ENOTCONN, EBADF (closed meanwhile), ENOMEM, EPERM outside a
 * task. Suspends; cancellation point. */
CORIO_API corio_pg_notification *corio_pg_notification_wait(corio_pg *c);
/* Free a notification. NULL is allowed. Never suspends. */
CORIO_API void corio_pg_notification_free(corio_pg_notification *n);

/* ---- pools ---- */

/* Options for corio_pg_pool_new(); zero-initialise and set what you
 * need. */
typedef struct corio_pg_pool_opts {
    unsigned min_size;   /* connections made at once and kept (0) */
    unsigned max_size;   /* connections at most (0: 10) */
    double max_idle;     /* close idle ones beyond min_size after this
                            many seconds (0: 300; < 0: never) */
    double ping_after;   /* before handing out a connection idle this
                            long, check it with a round trip (0: 30 s;
                            < 0: never). A connection the server closed
                            is noticed without one. */
    unsigned stmt_cache; /* prepared statements per connection (0: 100) */
    bool no_stmt_cache;  /* none (PgBouncer in transaction mode) */
    bool always_reset;   /* reset every released connection */
} corio_pg_pool_opts;

/* Counters of a pool. */
typedef struct corio_pg_pool_info {
    unsigned size;        /* connections open or opening */
    unsigned idle;
    unsigned in_use;
    unsigned waiting;     /* tasks waiting in corio_pg_pool_acquire */
    uint64_t connects;    /* connections made */
    uint64_t resets;      /* releases that ran the reset statements */
    uint64_t clean;       /* releases that skipped them: known clean */
    uint64_t discarded;   /* connections found lost or failing, closed */
} corio_pg_pool_info;

/* Make a pool of connections to conninfo (as corio_pg_connect) and open
 * min_size of them. opts may be NULL. NULL with errno set: the errors of
 * corio_pg_connect, EINVAL (min_size > max_size). Suspends (while it
 * connects); cancellation point. */
CORIO_API corio_pg_pool *corio_pg_pool_new(const char *conninfo,
                                           const corio_pg_pool_opts *opts);

/* Take a connection, waiting in FIFO order while max_size are in use, at
 * most timeout seconds (< 0: no limit). An idle one is checked and, if
 * the last user left session state behind, reset first; a lost one is
 * replaced. NULL with errno set: ETIMEDOUT, ECANCELED, ESHUTDOWN (the
 * pool is closed), the errors of corio_pg_connect, EINVAL, EPERM outside
 * a task. A cancelled acquirer takes nothing. Suspends; cancellation
 * point. */
CORIO_API corio_pg *corio_pg_pool_acquire(corio_pg_pool *p, double timeout);

/* Give a connection back. One with a transaction open, LISTEN, SET,
 * cursors, temporary tables, advisory locks ... is reset before its next
 * use; one known clean is not; a lost one is closed. Never suspends. */
CORIO_API void corio_pg_pool_release(corio_pg_pool *p, corio_pg *c);

/* Close the pool: acquirers waiting wake with -ESHUTDOWN, idle
 * connections close, and those in use close as they are released (the
 * pool's memory goes with the last). NULL is allowed. Never suspends. */
CORIO_API void corio_pg_pool_close(corio_pg_pool *p);

/* Fill *st with the pool's counters. 0, or -EINVAL for NULL. Never
 * suspends. */
CORIO_API int corio_pg_pool_stats(const corio_pg_pool *p,
                                  corio_pg_pool_info *st);

#ifdef __cplusplus
}
#endif
#endif

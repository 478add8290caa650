/* SPDX-License-Identifier: MIT */
/* What the PostgreSQL tests share: finding the server (CORIO_PG_DSN, or
 * the throwaway cluster of the CTest fixture, whose state folder
 * CORIO_PG_STATE names), and small helpers. Without a server a case is
 * skipped. */
#ifndef CORIO_PG_HELPERS_H
#define CORIO_PG_HELPERS_H

#include "harness.h"

#include <corio.h>
#include <corio/pg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RUN(fn) ASSERT_OK(corio_run(fn, NULL))

/* The contents of a file of the cluster's state folder, or NULL. */
static inline const char *pg_state_file(const char *name)
{
    static char buf[4][512];
    static int next;
    const char *dir = getenv("CORIO_PG_STATE");
    if (!dir)
        return NULL;
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *b = buf[next++ % 4];
    size_t n = fread(b, 1, sizeof buf[0] - 1, f);
    fclose(f);
    while (n && (b[n - 1] == '\n' || b[n - 1] == ' '))
        n--;
    b[n] = '\0';
    return n ? b : NULL;
}

/* The server the tests use: CORIO_PG_DSN, else the fixture's cluster over
 * its Unix socket. Skips the case when there is none. */
static inline const char *pg_dsn(void)
{
    const char *dsn = getenv("CORIO_PG_DSN");
    if (dsn && *dsn)
        return dsn;
    dsn = pg_state_file("dsn");
    if (!dsn)
        th_skip("no PostgreSQL server: set CORIO_PG_DSN or run under ctest "
                "(fixture pg)");
    return dsn;
}

/* The fixture's cluster over TCP (TLS is on there); skips without it. */
static inline const char *pg_dsn_tcp(void)
{
    const char *dsn = pg_state_file("dsn_tcp");
    if (!dsn)
        th_skip("no throwaway cluster (CORIO_PG_DSN is set)");
    return dsn;
}

static inline corio_pg *pg_open(void)
{
    corio_pg *c = corio_pg_connect(pg_dsn());
    if (!c)
        FAIL("connect: %s (%s)", th_errname(errno), corio_pg_connect_error());
    return c;
}

/* Run sql, which must succeed. */
#define PG_OK(c, sql)                                                        \
    do {                                                                     \
        int64_t pg_rc_ = corio_pg_exec(c, sql, 0, NULL);                     \
        if (pg_rc_ < 0)                                                      \
            FAIL("%s: %s: %s", sql, th_errname((int)-pg_rc_),                \
                 corio_pg_error(c, CORIO_PG_MESSAGE));                       \
    } while (0)

/* The text of row 0, column 0 of a query without parameters. */
static inline char *pg_scalar(corio_pg *c, const char *sql, char *buf,
                              size_t cap)
{
    corio_pg_result *r = corio_pg_query(c, sql, 0, NULL);
    if (!r)
        FAIL("%s: %s: %s", sql, th_errname(errno),
             corio_pg_error(c, CORIO_PG_MESSAGE));
    const char *t = corio_pg_text(r, 0, 0);
    snprintf(buf, cap, "%s", t ? t : "(null)");
    corio_pg_result_close(r);
    return buf;
}

/* Until query q, asked on c every 5 ms, answers want (for at most 10 s). */
static inline void pg_wait_scalar(corio_pg *c, const char *q, const char *want)
{
    char buf[16];
    double until = th_now() + 10;
    while (strcmp(pg_scalar(c, q, buf, sizeof buf), want) != 0 &&
           th_now() < until)
        if (corio_sleep(0.005) < 0)
            FAIL("cancelled");
    ASSERT_STR_EQ(buf, want);
}

/* Until the backend with process id pid (text) runs a statement, asked on
 * another connection c: a cancel request that reaches a backend before
 * it starts the statement is ignored, and the statement runs its
 * course. */
static inline void pg_wait_active(corio_pg *c, const char *pid)
{
    char q[256];
    snprintf(q, sizeof q,
             "SELECT count(*) FROM pg_stat_activity WHERE pid = %s AND "
             "state = 'active'",
             pid);
    pg_wait_scalar(c, q, "1");
}

/* Until the backend with process id pid (text) has gone, asked on c:
 * pg_terminate_backend only signals it, and a busy machine may run it
 * much later. */
static inline void pg_wait_gone(corio_pg *c, const char *pid)
{
    char q[256];
    snprintf(q, sizeof q,
             "SELECT count(*) FROM pg_stat_activity WHERE pid = %s", pid);
    pg_wait_scalar(c, q, "0");
}

#endif

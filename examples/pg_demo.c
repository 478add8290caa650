/* SPDX-License-Identifier: MIT */
/* PostgreSQL from tasks: connect (CORIO_PG_DSN, or the conninfo given as
 * the first argument), create a table, insert rows in a pipeline, query
 * with parameters, and wait for a notification that another task sends.
 *
 *   CORIO_PG_DSN="host=/var/run/postgresql dbname=postgres" ./pg_demo
 *
 * Without a server (no CORIO_PG_DSN, no argument) it says so and exits 0. */
#include <corio.h>
#include <corio/pg.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *dsn;

/* A second connection that notifies the first one. */
static int notifier(void *arg)
{
    (void)arg;
    corio_pg *c = corio_pg_connect(dsn);
    if (!c)
        return -errno;
    corio_sleep(0.05);
    int rc = corio_pg_notify(c, "demo", "rows are in");
    corio_pg_close(c);
    return rc;
}

static int fail(corio_pg *c, const char *what, int rc)
{
    fprintf(stderr, "%s: %s\n", what,
            c ? corio_pg_error(c, CORIO_PG_MESSAGE) : corio_pg_connect_error());
    corio_pg_close(c);
    return rc;
}

static int demo(void *arg)
{
    (void)arg;
    corio_pg *c = corio_pg_connect(dsn);
    if (!c)
        return fail(NULL, "connect", -errno);
    int64_t n = corio_pg_exec(c,
                              "CREATE TEMP TABLE fruit (id int PRIMARY KEY, "
                              "name text, price numeric)",
                              0, NULL);
    if (n < 0)
        return fail(c, "create", (int)n);

    /* Insert five rows in one round trip. */
    static const char *rows[5][3] = {{"1", "apple", "0.50"},
                                     {"2", "banana", "0.25"},
                                     {"3", "cherry", "4.00"},
                                     {"4", "date", "3.10"},
                                     {"5", "elderberry", "6.75"}};
    int rc = corio_pg_pipeline_enter(c, 0);
    for (int i = 0; i < 5 && rc == 0; i++) {
        corio_pg_params p = {.n = 3, .values = rows[i]};
        rc = corio_pg_pipeline_send(c, "INSERT INTO fruit VALUES ($1, $2, $3)",
                                    &p);
    }
    for (int i = 0; i < 5 && rc == 0; i++) {
        corio_pg_result *r = corio_pg_pipeline_recv(c);
        rc = r ? corio_pg_result_status(r) : -errno;
        corio_pg_result_close(r);
    }
    if (rc < 0 || (rc = corio_pg_pipeline_exit(c)) < 0)
        return fail(c, "pipeline", rc);
    puts("inserted 5 rows in a pipeline");

    /* A query with a parameter. */
    corio_pg_result *r = corio_pg_query(
        c, "SELECT name, price FROM fruit WHERE price < $1 ORDER BY id", 1,
        (const char *[]){"1.00"});
    if (!r)
        return fail(c, "query", -errno);
    for (int i = 0; i < corio_pg_nrows(r); i++) {
        double price;
        corio_pg_get_double(r, i, 1, &price);
        printf("%-8s %5.2f\n", corio_pg_text(r, i, 0), price);
    }
    corio_pg_result_close(r);

    /* LISTEN, and wait (at most 5 s) for another task's NOTIFY. */
    if ((rc = corio_pg_listen(c, "demo")) < 0)
        return fail(c, "listen", rc);
    corio_task *t = corio_spawn(notifier, NULL);
    corio_scope s;
    corio_scope_enter(&s, 5.0);
    corio_pg_notification *note = corio_pg_notification_wait(c);
    rc = note ? 0 : -errno;
    corio_scope_exit(&s);
    if (note)
        printf("notification on \"%s\": %s\n", note->channel, note->payload);
    corio_pg_notification_free(note);
    int trc = corio_join(t);
    corio_pg_close(c);
    return rc < 0 ? rc : trc;
}

int main(int argc, char **argv)
{
    dsn = argc > 1 ? argv[1] : getenv("CORIO_PG_DSN");
    if (!dsn) {
        puts("pg_demo: set CORIO_PG_DSN (or pass a conninfo) to run it");
        return 0;
    }
    int rc = corio_run(demo, NULL);
    if (rc < 0)
        fprintf(stderr, "pg_demo: %s\n", strerror(-rc));
    return rc < 0;
}

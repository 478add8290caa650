/* SPDX-License-Identifier: MIT */
/* The C reference of (p) and (q): plain synchronous libpq on one
 * connection, N queries one after another (PQexecParams, or PQexecPrepared
 * with --prepared), the same statements as bench_pg. CORIO_PG_DSN.
 *
 * Usage: bench_pg_sync N int|rows [--prepared] */
#include "bench.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

int main(int argc, char **argv)
{
    long n = bench_arg_long(argc, argv, 1, 10000);
    const char *kind = argc > 2 ? argv[2] : "int";
    bool prepared = argc > 3 && !strcmp(argv[3], "--prepared");
    const char *sql =
        !strcmp(kind, "int")
            ? "SELECT $1::int"
            : "SELECT g, 'row ' || g AS name FROM generate_series($1::int, "
              "$1::int + 99) g";
    const char *dsn = getenv("CORIO_PG_DSN");
    PGconn *c = PQconnectdb(dsn ? dsn : "");
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "%s", PQerrorMessage(c));
        return 1;
    }
    if (prepared)
        PQclear(PQprepare(c, "s", sql, 1, NULL));
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    long rows = 0;
    for (long i = 0; i < n; i++) {
        char v[24];
        snprintf(v, sizeof v, "%ld", i % 1000);
        const char *vals[1] = {v};
        PGresult *r = prepared
                          ? PQexecPrepared(c, "s", 1, vals, NULL, NULL, 0)
                          : PQexecParams(c, sql, 1, NULL, vals, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            fprintf(stderr, "%s", PQerrorMessage(c));
            return 1;
        }
        rows += PQntuples(r);
        PQclear(r);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    double secs = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
    printf("{\"queries\": %ld, \"seconds\": %.6f, \"queries_per_s\": %.1f, "
           "\"rows_per_s\": %.1f}\n",
           n, secs, n / secs, rows / secs);
    PQfinish(c);
    return 0;
}

/* SPDX-License-Identifier: MIT */
/* Helpers the corio benchmark programs share: reading N from the command
 * line and the process's peak RSS. Each program prints one line of JSON. */
#ifndef CORIO_BENCH_H
#define CORIO_BENCH_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

/* argv[i] as a positive count, or def when absent; exits on bad input. */
static inline long bench_arg_long(int argc, char **argv, int i, long def)
{
    if (argc <= i)
        return def;
    char *end;
    long v = strtol(argv[i], &end, 10);
    if (*end || v <= 0) {
        fprintf(stderr, "%s: bad count '%s'\n", argv[0], argv[i]);
        exit(2);
    }
    return v;
}

/* argv[i] as a positive number of seconds, or def when absent. */
static inline double bench_arg_double(int argc, char **argv, int i,
                                      double def)
{
    if (argc <= i)
        return def;
    char *end;
    double v = strtod(argv[i], &end);
    if (*end || !(v > 0)) {
        fprintf(stderr, "%s: bad duration '%s'\n", argv[0], argv[i]);
        exit(2);
    }
    return v;
}

/* Peak resident set of this process so far, in KiB (ru_maxrss). */
static inline long bench_maxrss_kib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

#endif

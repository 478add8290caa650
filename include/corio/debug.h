/* SPDX-License-Identifier: MIT */
/* Seeing inside a running program: task dumps with backtraces, on demand
 * or on SIGQUIT, and a description of each task. Debug mode and the
 * deterministic test mode are switched on with corio_loop_opts or the
 * environment (see docs/guide/debugging.md); tools/corio-gdb.py shows the
 * same from gdb, also in a core dump. */
#ifndef CORIO_DEBUG_H
#define CORIO_DEBUG_H

#include <stdbool.h>
#include <stdio.h>

#include "corio/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One task, as a dump shows it. Strings are valid until the task changes
 * or is freed. */
typedef struct corio_task_info {
    uint64_t id;
    uint64_t parent_id;     /* the task that spawned it, 0 if none */
    const char *name;
    const char *state;      /* "new", "ready", "running", "suspended",
                               "done" */
    const char *waits_on;   /* "sleep", "lock", "join", "read fd 7" ... or
                               "" when not suspended */
    const char *file;       /* where it was spawned, or NULL */
    int line;
    size_t stack_size;      /* bytes, 0 before it first ran */
    size_t stack_used;      /* bytes touched so far: the high-water mark */
} corio_task_info;

/* Describe t. 0, or -EINVAL for NULL. Never suspends. */
CORIO_API int corio_task_info_get(corio_task *t, corio_task_info *info);

/* Write every task of the loop running in this thread to out: its
 * description and, for a suspended task, its backtrace. Returns the
 * number of tasks, or -EPERM outside a loop. Call it from a task or a
 * callback of that loop. Never suspends. */
CORIO_API int corio_dump_tasks(FILE *out);

/* Dump on SIGQUIT (kill -QUIT, Ctrl-\), as Go does, instead of the
 * default action (core dump): each loop writes its tasks to stderr at its
 * next iteration, and the signal handler at once writes where the
 * interrupted thread is, so a task that never suspends still shows.
 * Also on with CORIO_SIGQUIT_DUMP=1. 0, or a negative errno. Never
 * suspends. */
CORIO_API int corio_dump_on_sigquit(bool on);

#ifdef __cplusplus
}
#endif
#endif

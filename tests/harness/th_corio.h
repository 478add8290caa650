/* SPDX-License-Identifier: MIT */
/* Helpers for the tests of tasks that time or scheduling order could make
 * flaky: a run on virtual time, and a wait until a task has parked.
 * Header-only, so that harness.c still needs nothing but libc. */
#ifndef CORIO_TH_CORIO_H
#define CORIO_TH_CORIO_H

#include <string.h>

#include <corio.h>

#include "harness.h"

/* Run fn(arg) as the main task of a loop on virtual time, so that its
 * delays order its events exactly however slow the run (ASan, Valgrind,
 * qemu, an oversubscribed CI). Only for tasks that do no real I/O and
 * wait for no thread: virtual time jumps to the next timer instead of
 * waiting for them. Returns fn's result. */
static inline int th_run_virtual(corio_fn fn, void *arg)
{
    corio_loop_opts o = {.virtual_time = true};
    corio_loop *loop = corio_loop_new(&o);
    ASSERT_NOT_NULL(loop);
    corio_task *t = corio_loop_spawn(loop, fn, arg, NULL);
    ASSERT_NOT_NULL(t);
    int rc = corio_loop_run_until_complete(loop, t);
    corio_task_unref(t);
    ASSERT_OK(corio_loop_close(loop));
    return rc;
}

/* Whether t is suspended on what: a prefix of corio_task_info's waits_on
 * ("lock", "queue", "future", "sleep", "read fd" ...; "": on anything). */
static inline bool th_parked_on(corio_task *t, const char *what)
{
    corio_task_info in;
    return corio_task_info_get(t, &in) == 0 &&
           strcmp(in.state, "suspended") == 0 &&
           strncmp(in.waits_on, what, strlen(what)) == 0;
}

/* Yield until t is suspended on what. One yield is not enough: a task
 * spawned just before may not have run yet when the yielder resumes
 * (CORIO_SEED shuffles the ready queue), and then the test would cancel
 * or close under a task that never waited. */
static inline void th_yield_until_parked(corio_task *t, const char *what)
{
    for (int i = 0; !th_parked_on(t, what); i++) {
        if (i == 10000)
            FAIL("task %llu never parked on %s",
                 (unsigned long long)corio_task_id(t), what);
        ASSERT_OK(corio_yield());
    }
}

#endif

/* SPDX-License-Identifier: MIT */
/* Task groups: asyncio.TaskGroup and trio's nursery. A group is opened in a
 * task, children are spawned into it, and corio_group_wait (or _close)
 * waits for all of them: no child outlives the group. The first child to
 * fail cancels its siblings and the opener's pending suspension; every
 * failure is kept, as in an ExceptionGroup. */
#ifndef CORIO_GROUP_H
#define CORIO_GROUP_H

#include <stdbool.h>

#include "corio/common.h"
#include "corio/task.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct corio_group corio_group;

/* One failed child: the task (borrowed; valid until the group is closed)
 * and its result, a negative errno other than -ECANCELED. */
typedef struct corio_group_error {
    corio_task *task;
    int error;
} corio_group_error;

/* Open a group in the current task, which becomes its owner. Until
 * corio_group_wait, the owner's code runs in the group's cancel scope: a
 * failing child (or corio_group_cancel) cancels the owner's suspensions
 * there with -ECANCELED. NULL with errno set (EPERM outside a task,
 * ENOMEM). Never suspends. */
CORIO_API corio_group *corio_group_open(void);

/* Spawn fn(arg) as a child (TaskGroup.create_task); opts may be NULL. Any
 * task may spawn into the group, children included. *out, if not NULL,
 * receives a new reference to the child. 0; -ESHUTDOWN once the group is
 * cancelling its children (after a failure or a cancellation) or has been
 * waited for; -ENOMEM; -EINVAL. Never suspends. */
CORIO_API int corio_group_spawn(corio_group *g, corio_fn fn, void *arg,
                                const corio_task_opts *opts,
                                corio_task **out);
/* The same, recording file:line as the spawn site; the macro below calls
 * it (see task.h). Never suspends. */
CORIO_API int corio_group_spawn_at(corio_group *g, corio_fn fn, void *arg,
                                   const corio_task_opts *opts,
                                   corio_task **out, const char *file,
                                   int line);
#ifndef CORIO_NO_SPAWN_SITE
#define corio_group_spawn(g, fn, arg, opts, out)                             \
    corio_group_spawn_at(g, fn, arg, opts, out, __FILE__, __LINE__)
#endif

/* Leave the group's body and wait for every child, including children
 * spawned meanwhile. Returns 0 if none failed, else the first failure
 * (the rest: corio_group_errors). If the owner is cancelled (or an outer
 * deadline expires) in the body or while waiting, every child is
 * cancelled and waited for, and -ECANCELED (-ETIMEDOUT) is returned.
 * Children that end with -ECANCELED are not failures. -EPERM if the
 * caller is not the owner, -EINVAL if a scope opened inside the body is
 * still open. Calling it again returns the same result. Suspends;
 * cancellation point. */
CORIO_API int corio_group_wait(corio_group *g);

/* The failed children in the order they failed: stores up to cap in out
 * (which may be NULL when cap is 0) and returns how many there are. Never
 * suspends. */
CORIO_API size_t corio_group_errors(const corio_group *g,
                                    corio_group_error *out, size_t cap);

/* Cancel every child and the owner's body (trio's
 * nursery.cancel_scope.cancel()); corio_group_wait then returns 0 unless
 * a child failed. Never suspends. */
CORIO_API void corio_group_cancel(corio_group *g);

/* Wait for the group if it has not been waited for (as corio_group_wait),
 * then free it; returns what corio_group_wait returned. Only the owner
 * may close it (-EPERM, and nothing happens); -EINVAL, and nothing
 * happens, while a scope opened in the body is still open. NULL is
 * allowed. Suspends if the group was not waited for; cancellation
 * point. */
CORIO_API int corio_group_close(corio_group *g);

#ifdef __cplusplus
}
#endif
#endif

/* SPDX-License-Identifier: MIT */
/* Tasks: C functions running concurrently on their own stacks, with
 * asyncio's API (run, create_task, await, cancel, sleep, gather, wait,
 * wait_for, as_completed). */
#ifndef CORIO_TASK_H
#define CORIO_TASK_H

#include <stdbool.h>

#include "corio/common.h"
#include "corio/loop.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Options for corio_spawn_opts(); zero-initialise and set what you need. */
typedef struct corio_task_opts {
    /* The task's name (copied); NULL gives "Task-<id>" as asyncio does. */
    const char *name;
    /* Stack size in bytes, rounded up to whole pages, at least 16 KiB and
     * at most 1 GiB; 0: the loop's default. */
    size_t stack_size;
} corio_task_opts;

/* asyncio.run: make a loop, run main(arg) as a task to completion, cancel
 * and wait for the tasks still running, close the loop. Returns main's
 * return value, or a negative errno if the runtime could not start (-EBUSY
 * when a loop already runs in this thread, -ENOMEM, -EINVAL for a NULL
 * main). Task references the program still holds when it returns are
 * freed with the loop. Runs a loop: call it outside any loop. Never
 * suspends (it blocks the calling thread until main returns). */
CORIO_API int corio_run(corio_fn main, void *arg);

/* The spawn functions below are also macros that record the file and
 * line of the call for task dumps and the debugger (asyncio records the
 * creation site the same way). Define CORIO_NO_SPAWN_SITE to turn the
 * macros off; taking the functions' addresses works either way. */

/* asyncio.create_task: schedule fn(arg) as a new task on the current loop.
 * The task first runs when the caller next suspends; it gets its stack
 * then, and if none can be had it ends without running, with result
 * -ENOMEM. Returns a new reference, released by corio_join() or
 * corio_task_unref(); NULL with errno set on failure (EPERM outside a loop
 * or, in debug mode, from another thread; EINVAL for a NULL fn; ENOMEM).
 * Never suspends. */
CORIO_API corio_task *corio_spawn(corio_fn fn, void *arg);

/* corio_spawn() with a name and a stack size. opts may be NULL; EINVAL
 * also for a stack size over 1 GiB. Never suspends. */
CORIO_API corio_task *corio_spawn_opts(corio_fn fn, void *arg,
                                       const corio_task_opts *opts);

/* Schedule a task on a given loop, which need not be running yet. Call from
 * the loop's thread. Returns a new reference; NULL with errno set (EINVAL
 * for a NULL or closed loop, as corio_spawn_opts otherwise). Never
 * suspends. */
CORIO_API corio_task *corio_loop_spawn(corio_loop *loop, corio_fn fn,
                                       void *arg,
                                       const corio_task_opts *opts);

/* corio_spawn_opts and corio_loop_spawn recording file:line as the spawn
 * site (what the macros call). file may be NULL. Never suspend. */
CORIO_API corio_task *corio_spawn_at(corio_fn fn, void *arg,
                                     const corio_task_opts *opts,
                                     const char *file, int line);
CORIO_API corio_task *corio_loop_spawn_at(corio_loop *loop, corio_fn fn,
                                          void *arg,
                                          const corio_task_opts *opts,
                                          const char *file, int line);

#ifndef CORIO_NO_SPAWN_SITE
#define corio_spawn(fn, arg) corio_spawn_at(fn, arg, NULL, __FILE__, __LINE__)
#define corio_spawn_opts(fn, arg, opts)                                      \
    corio_spawn_at(fn, arg, opts, __FILE__, __LINE__)
#define corio_loop_spawn(loop, fn, arg, opts)                                \
    corio_loop_spawn_at(loop, fn, arg, opts, __FILE__, __LINE__)
#endif

/* await task: suspend until t ends and return its function's return value,
 * or -ECANCELED if it was cancelled before it started. Releases the
 * reference spawn returned, unless it fails with -EINVAL or -EPERM (then
 * nothing happens). If the caller is cancelled (or its deadline expires)
 * while waiting, the cancellation goes on to t, as awaiting a task does in
 * asyncio: t is cancelled and waited for, and -ECANCELED (-ETIMEDOUT) is
 * returned -- or t's result if t completed anyway, the cancellation then
 * being held for the caller's next suspension. -EINVAL for NULL, the
 * current task or a task of another loop; -EPERM outside a task unless t
 * is already done. Suspends (unless t is done); cancellation point. */
CORIO_API int corio_join(corio_task *t);

/* task.cancel(): t's current or next suspension returns -ECANCELED, once.
 * A task cancelled before it ever ran ends without running and its result
 * is -ECANCELED. Cancelling a finished task does nothing; NULL is allowed.
 * A shielded scope holds the cancellation until it closes. Never
 * suspends. */
CORIO_API void corio_cancel(corio_task *t);

/* asyncio.sleep: suspend for at least seconds. 0, -ECANCELED, -ETIMEDOUT
 * when a deadline of the task expires, -EPERM outside a task. NaN is
 * -EINVAL. Suspends; cancellation point. */
CORIO_API int corio_sleep(double seconds);

/* asyncio.sleep(0): let every other ready task and callback run once, then
 * continue (in the deterministic test mode their order is shuffled). 0,
 * -ECANCELED, -ETIMEDOUT, or -EPERM outside a task. Suspends;
 * cancellation point. */
CORIO_API int corio_yield(void);

/* Deliver a cancellation that a suspension would deliver now, without
 * suspending (trio.lowlevel.checkpoint_if_cancelled): -ECANCELED if the
 * task was cancelled or a scope it is in was, -ETIMEDOUT if a scope's
 * deadline has passed, consumed as a suspension would consume it; else 0.
 * For work that should not start when the task is already cancelled, such
 * as sending a request. -EPERM outside a task. Never suspends. */
CORIO_API int corio_checkpoint_if_cancelled(void);

/* The running task (asyncio.current_task), or NULL outside a task.
 * Borrowed. Never suspends. */
CORIO_API corio_task *corio_current(void);

/* Take another reference to t; returns t (NULL is allowed). Never
 * suspends. */
CORIO_API corio_task *corio_task_ref(corio_task *t);
/* Release a reference. The task keeps running; its memory goes once it has
 * ended and nobody holds a reference. NULL is allowed. Never suspends. */
CORIO_API void corio_task_unref(corio_task *t);

/* The task's name ("Task-<id>" unless named); valid until it is renamed
 * or freed. NULL for NULL. Never suspends. */
CORIO_API const char *corio_task_name(corio_task *t);
/* Rename a task (copied). 0 or -ENOMEM; -EINVAL for NULL. Never
 * suspends. */
CORIO_API int corio_task_set_name(corio_task *t, const char *name);
/* A number unique to the task within the process, from 1; 0 for NULL.
 * Never suspends. */
CORIO_API uint64_t corio_task_id(const corio_task *t);
/* The loop the task belongs to. Never suspends. */
CORIO_API corio_loop *corio_task_loop(const corio_task *t);
/* Whether the task has ended (Task.done). Never suspends. */
CORIO_API bool corio_task_done(const corio_task *t);
/* Whether the task ended by cancellation: its result is -ECANCELED. Never
 * suspends. */
CORIO_API bool corio_task_cancelled(const corio_task *t);
/* Whether a cancellation has been requested and the task has not yet
 * returned from the suspension that delivers it. Never suspends. */
CORIO_API bool corio_task_cancelling(const corio_task *t);
/* The result of a finished task into *result: 0, or -EBUSY (nothing stored)
 * if it has not finished (Task.result), -EINVAL for NULL. Never
 * suspends. */
CORIO_API int corio_task_result(const corio_task *t, int *result);

/* asyncio.all_tasks: the tasks of the current loop that have not ended.
 * Stores up to cap new references in buf (release each with
 * corio_task_unref) and returns how many tasks there are, which may be
 * more than cap. 0 outside a loop. Never suspends. */
CORIO_API size_t corio_all_tasks(corio_task **buf, size_t cap);
/* The same for a given loop; call from its thread. Never suspends. */
CORIO_API size_t corio_loop_all_tasks(corio_loop *loop, corio_task **buf,
                                      size_t cap);

/* ---- gather, wait, wait_for, as_completed ---- */

/* One call for corio_gather(): fn(arg), whose return value gather stores in
 * result. */
typedef struct corio_call {
    corio_fn fn;
    void *arg;
    int result;
} corio_call;

/* Flag for the gathers: wait for every task and store failures as results,
 * like asyncio.gather(return_exceptions=True). */
#define CORIO_RETURN_EXCEPTIONS 1u

/* asyncio.gather(f(a), g(b), ...): run each call as its own task,
 * concurrently, and wait for all. Each result is stored in calls[i].result.
 * Returns 0 when every call returned >= 0. Without CORIO_RETURN_EXCEPTIONS
 * the first negative result is returned as soon as it happens; the other
 * tasks keep running (as in asyncio) and their results are no longer
 * stored. With it, gather waits for all and returns 0. If the caller is
 * cancelled (or its deadline expires), every unfinished task is cancelled
 * and waited for, and -ECANCELED (-ETIMEDOUT) is returned. -ENOMEM (no
 * task started), -EINVAL for no calls or a NULL fn, -EPERM outside a
 * task. Suspends; cancellation point. */
CORIO_API int corio_gather(corio_call *calls, size_t n, unsigned flags);

/* asyncio.gather(t1, t2, ...) over tasks already spawned: as corio_gather,
 * with results[i] receiving tasks[i]'s result (results may be NULL).
 * Consumes the n references, as corio_join does, unless it fails with
 * -EINVAL (no tasks, a NULL one, the caller, or one of another loop),
 * -EPERM (outside a task) or -ENOMEM, which change nothing. Suspends
 * (unless all are done); cancellation point. */
CORIO_API int corio_gather_tasks(corio_task *const *tasks, size_t n,
                                 int *results, unsigned flags);

/* Modes of corio_wait() (asyncio.FIRST_COMPLETED, FIRST_EXCEPTION,
 * ALL_COMPLETED). An exception is a negative result. */
enum corio_wait_mode {
    CORIO_FIRST_COMPLETED = 1,
    CORIO_FIRST_EXCEPTION = 2,
    CORIO_ALL_COMPLETED = 3
};

/* asyncio.wait: suspend until the mode's condition holds over tasks, or
 * timeout seconds pass (timeout < 0: no timeout; 0: just look). Returns
 * how many of the tasks are done (corio_task_done tells which); a timeout
 * is not an error. Never cancels the tasks and does not consume their
 * references. -ECANCELED or -ETIMEDOUT (a deadline of the caller's) unless
 * the condition was met meanwhile, -EINVAL for a bad mode, NaN, a NULL
 * task, the caller or n == 0, -ENOMEM, -EPERM outside a task. Suspends
 * (unless the condition already holds); cancellation point. */
CORIO_API int corio_wait(corio_task *const *tasks, size_t n, int mode,
                         double timeout);

/* asyncio.wait_for: wait for t at most timeout seconds (< 0: no limit). On
 * timeout, cancel t, wait for it to end, and return -ETIMEDOUT -- unless t
 * completed anyway, when its result is returned (the result is never lost).
 * If the caller is cancelled (or its own deadline expires), t is cancelled
 * and waited for and -ECANCELED (-ETIMEDOUT) is returned, or t's result
 * if it completed anyway, the cancellation then being held for the next
 * suspension. Consumes t's reference unless it fails with -EINVAL (NULL,
 * NaN, the caller, another loop's task) or -EPERM (outside a task, t not
 * done). Suspends (unless t is done); cancellation point. */
CORIO_API int corio_wait_for(corio_task *t, double timeout);

/* asyncio.as_completed: an iterator over tasks in the order they finish. */
typedef struct corio_as_completed corio_as_completed;

/* Start iterating over n tasks; timeout (< 0: none) bounds the whole
 * iteration, as in asyncio. Borrows the tasks: they must stay referenced
 * until the iterator is freed. NULL with errno set (EINVAL, ENOMEM, EPERM
 * outside a task). Never suspends. */
CORIO_API corio_as_completed *
corio_as_completed_new(corio_task *const *tasks, size_t n, double timeout);

/* Suspend until the next task finishes and return its index in the array
 * given to corio_as_completed_new(). -ENOENT once every task was returned,
 * -ETIMEDOUT when the timeout passed (or a deadline of the caller's),
 * -ECANCELED if the caller is cancelled, -EINVAL for NULL or an iterator
 * already in use or of another loop, -EPERM outside a task. Suspends
 * (unless a task already finished); cancellation point. */
CORIO_API int corio_as_completed_next(corio_as_completed *ac);

/* Free the iterator; the tasks are not affected. NULL is allowed. Never
 * suspends. */
CORIO_API void corio_as_completed_free(corio_as_completed *ac);

#ifdef __cplusplus
}
#endif
#endif

/* SPDX-License-Identifier: MIT */
/* One loop per core: N loops on N threads, each single-threaded like
 * asyncio (tasks of one loop need no locks among themselves), with calls
 * from a task of one loop to another loop and channels between loops. */
#ifndef CORIO_MULTI_H
#define CORIO_MULTI_H

#include <stdbool.h>
#include <stddef.h>

#include "corio/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A set of loops, each running on a thread of its own. */
typedef struct corio_multi corio_multi;

/* Options for corio_multi_new() and corio_multi_run(). */
typedef struct corio_multi_opts {
    /* Loops (and threads); 0: one per CPU the process may run on. */
    unsigned loops;
    /* Pin loop i's thread to the i-th allowed CPU. */
    bool pin;
} corio_multi_opts;

/* Start the loops; each runs until corio_multi_close. Their threads block
 * every asynchronous signal. opts may be NULL. NULL with errno set
 * (ENOMEM, EAGAIN). Never suspends. */
CORIO_API corio_multi *corio_multi_new(const corio_multi_opts *opts);

/* The number of loops. Never suspends. */
CORIO_API unsigned corio_multi_size(const corio_multi *m);

/* Loop i (0 .. size - 1), or NULL. Use it from other threads only through
 * corio_loop_call_soon_threadsafe, corio_loop_submit and corio_loop_call.
 * Never suspends. */
CORIO_API corio_loop *corio_multi_loop(corio_multi *m, unsigned i);

/* The index of the loop running this thread in its corio_multi, or -EPERM
 * on any other thread. Never suspends. */
CORIO_API int corio_multi_index(void);

/* Stop every loop as corio_run ends: cancel the tasks still running, wait
 * for them, free the loop; then join the threads and free m. -EDEADLK
 * (and nothing happens) if called from one of m's threads. NULL is
 * allowed. Never suspends (blocks while the loops wind down). */
CORIO_API int corio_multi_close(corio_multi *m);

/* Run fn(arg) as the main task of every loop of a new corio_multi (opts
 * may be NULL), wait until all have returned, then close it. Returns 0 if
 * every call returned >= 0, else the first negative result by loop index;
 * -ENOMEM or -EAGAIN if the loops could not start. Never suspends: it
 * blocks the calling thread, which must not run a loop. */
CORIO_API int corio_multi_run(const corio_multi_opts *opts, corio_fn fn,
                              void *arg);

/* Run fn(arg) as a task on loop (of any thread) and return its result, as
 * awaiting a task spawned there. If the caller is cancelled, the remote
 * task is cancelled and waited for, and -ECANCELED is returned. -ENOMEM
 * (nothing ran), -EINVAL, -EPERM outside a task. Suspends; cancellation
 * point. */
CORIO_API int corio_loop_call(corio_loop *loop, corio_fn fn, void *arg);

/* ---- channels between loops ---- */

/* A FIFO of pointers that tasks of any loops share, and plain threads
 * through the _try_ calls. Each item sent is received exactly once, in the
 * order sent (per sender); an error return moved nothing. */
typedef struct corio_xchan corio_xchan;

/* A channel holding up to capacity items; with 0, a send waits until a
 * receiver takes its item. Returns a new reference; NULL with errno set
 * (ENOMEM). Never suspends. */
CORIO_API corio_xchan *corio_xchan_new(size_t capacity);

/* Take another reference; returns c. Release with corio_xchan_unref; the
 * channel is freed with the last one, and items still in it are dropped.
 * Tasks waiting on it hold references of their own. Never suspends. */
CORIO_API corio_xchan *corio_xchan_ref(corio_xchan *c);
CORIO_API void corio_xchan_unref(corio_xchan *c);

/* Send item, waiting while the channel is full. 0, -ESHUTDOWN,
 * -ECANCELED / -ETIMEDOUT (not sent), -EPERM outside a task. Suspends
 * (only when full); cancellation point. */
CORIO_API int corio_xchan_send(corio_xchan *c, void *item);

/* Receive the next item into *item, waiting while the channel is empty. 0,
 * -ESHUTDOWN once shut down and empty, -ECANCELED / -ETIMEDOUT (nothing
 * taken), -EPERM outside a task. Suspends (only when empty); cancellation
 * point. */
CORIO_API int corio_xchan_recv(corio_xchan *c, void **item);

/* Send or receive without waiting, from any thread: 0, -EAGAIN (full /
 * empty) or -ESHUTDOWN. Never suspends. */
CORIO_API int corio_xchan_try_send(corio_xchan *c, void *item);
CORIO_API int corio_xchan_try_recv(corio_xchan *c, void **item);

/* Shut the channel down: sends fail with -ESHUTDOWN, receives drain what
 * is left, then fail with -ESHUTDOWN; waiting tasks wake. Never
 * suspends. */
CORIO_API void corio_xchan_shutdown(corio_xchan *c);

#ifdef __cplusplus
}
#endif
#endif

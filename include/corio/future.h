/* SPDX-License-Identifier: MIT */
/* Futures: a result that tasks await and that tasks or loop callbacks set
 * (asyncio.Future). */
#ifndef CORIO_FUTURE_H
#define CORIO_FUTURE_H

#include <stdbool.h>

#include "corio/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Called once the future is done, from the loop as a callback of its own
 * (asyncio schedules done callbacks with call_soon). */
typedef void (*corio_future_fn)(corio_future *f, void *arg);

/* A pending future on loop (NULL: the loop running in this thread), as
 * loop.create_future(). Returns a new reference; NULL with errno set
 * (EPERM with no loop, ENOMEM). Never suspends. */
CORIO_API corio_future *corio_future_new(corio_loop *loop);

/* Take another reference; returns f. Never suspends. */
CORIO_API corio_future *corio_future_ref(corio_future *f);
/* Release a reference; the future goes with the last one, and with it the
 * callbacks it has not yet scheduled. NULL is allowed. Never suspends. */
CORIO_API void corio_future_unref(corio_future *f);

/* Complete the future with a value. 0, or -EINVAL if it is already done
 * (asyncio's InvalidStateError) or f is NULL, -EPERM in debug mode from
 * another thread. Wakes the tasks awaiting it and schedules its callbacks.
 * Never suspends. */
CORIO_API int corio_future_set_result(corio_future *f, void *value);

/* Complete the future with an error, a negative errno value (-EINVAL if
 * err >= 0 or the future is done). Never suspends. */
CORIO_API int corio_future_set_error(corio_future *f, int err);

/* Cancel the future (Future.cancel): true if it was pending and is now
 * cancelled, false if it was already done. Never suspends. */
CORIO_API bool corio_future_cancel(corio_future *f);

/* Whether the future is done: has a result, an error or was cancelled.
 * Never suspends. */
CORIO_API bool corio_future_done(const corio_future *f);
/* Whether the future was cancelled. Never suspends. */
CORIO_API bool corio_future_cancelled(const corio_future *f);

/* The outcome of a done future: 0 with *value set (value may be NULL), its
 * error, or -ECANCELED. -EAGAIN if it is not done yet, -EINVAL for NULL.
 * Never suspends. */
CORIO_API int corio_future_result(const corio_future *f, void **value);

/* await future: suspend until f is done and return as corio_future_result.
 * If the caller is cancelled (or its deadline expires) while waiting, f is
 * cancelled too (as in asyncio) and -ECANCELED (-ETIMEDOUT) is returned.
 * The caller's reference is not needed meanwhile: the wait holds its own.
 * -EINVAL for NULL or a future of another loop, -EPERM outside a task
 * unless f is done. Suspends (unless f is done); cancellation point. */
CORIO_API int corio_future_await(corio_future *f, void **value);

/* Call fn(f, arg) once f is done (at once, through the loop, if it already
 * is). 0, -ENOMEM, or -EINVAL for NULL. Never suspends. */
CORIO_API int corio_future_add_done_callback(corio_future *f,
                                             corio_future_fn fn, void *arg);

/* Remove every registration of fn with arg that is not yet scheduled;
 * returns how many. Never suspends. */
CORIO_API int corio_future_remove_done_callback(corio_future *f,
                                                corio_future_fn fn,
                                                void *arg);

#ifdef __cplusplus
}
#endif
#endif

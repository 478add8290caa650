/* SPDX-License-Identifier: MIT */
/* The event loop: one per thread, as in asyncio. Runs ready tasks and
 * callbacks, timers, and I/O readiness; the low-level call_soon /
 * call_later / call_at API lives here. */
#ifndef CORIO_LOOP_H
#define CORIO_LOOP_H

#include <stdbool.h>

#include "corio/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The I/O backend of a loop (corio_loop_opts.backend). */
typedef enum corio_backend {
    CORIO_BACKEND_DEFAULT = 0, /* the CORIO_BACKEND environment variable
                                  ("epoll" or "io_uring"), else epoll */
    CORIO_BACKEND_EPOLL,       /* readiness with epoll */
    CORIO_BACKEND_IO_URING,    /* requests through an io_uring ring; epoll
                                  if the kernel has no usable io_uring */
} corio_backend;

/* Options for corio_loop_new(); zero-initialise and set what you need. */
typedef struct corio_loop_opts {
    /* Default stack size of the loop's tasks, in bytes (rounded up to whole
     * pages). 0: the CORIO_STACK_SIZE environment variable if set, else
     * 64 KiB. */
    size_t stack_size;
    /* Debug mode (asyncio's debug mode, and more; see docs/guide/
     * debugging.md): true, or the CORIO_DEBUG environment variable. */
    bool debug;
    /* Debug mode warns about a task that runs this long without
     * suspending (asyncio's slow_callback_duration). 0: 0.1 s, or
     * CORIO_SLOW_TASK_MS. */
    double slow_task;
    /* Deterministic test mode: a non-zero seed shuffles the order in which
     * ready tasks and callbacks run, reproducibly. 0: the CORIO_SEED
     * environment variable (a number, or "random": one is chosen and
     * printed). */
    uint64_t seed;
    /* Virtual time: the loop's clock jumps to the next timer whenever
     * every task is blocked and no I/O is ready, so sleeps and timeouts
     * take no real time. Also on whenever CORIO_SEED is set. */
    bool virtual_time;
    /* The I/O backend (see corio_backend and corio_loop_backend()). A loop
     * never fails for want of io_uring: it falls back to epoll. */
    corio_backend backend;
} corio_loop_opts;

/* A scheduled callback, so that it can be cancelled (asyncio.Handle and
 * TimerHandle). A plain value: copy it freely. Cancelling a handle whose
 * callback already ran is harmless; a handle is valid until its loop is
 * closed. */
typedef struct corio_handle {
    void *ptr_;
    uint64_t gen_;
} corio_handle;

/* Make a loop (asyncio.new_event_loop). opts may be NULL. NULL with errno
 * set on failure. Never suspends. */
CORIO_API corio_loop *corio_loop_new(const corio_loop_opts *opts);

/* The I/O backend the loop uses: "epoll" or "io_uring" (a static
 * string). NULL: the loop running in this thread; NULL if there is none.
 * Never suspends. */
CORIO_API const char *corio_loop_backend(const corio_loop *loop);

/* Free the loop. -EBUSY, and nothing is freed, while tasks are alive, task
 * references are held, callbacks are pending or descriptors (sockets,
 * corio_fd, subprocess pipes ...) are open; corio_loop_pending() says
 * which, and debug mode prints them. -EBUSY also while the loop is
 * running. NULL is allowed. Never suspends. */
CORIO_API int corio_loop_close(corio_loop *loop);

/* How many tasks are not yet freed (alive, or done but still referenced),
 * and how many other things keep the loop open: callbacks pending (those
 * other threads queued included) and descriptors open. Either pointer may
 * be NULL. Never suspends. */
CORIO_API void corio_loop_pending(const corio_loop *loop, size_t *tasks,
                                  size_t *handles);

/* The loop running in this thread (asyncio.get_running_loop), or NULL.
 * Never suspends. */
CORIO_API corio_loop *corio_loop_current(void);

/* Run the loop until t is done and return t's result (its function's
 * return value, or -ECANCELED), as loop.run_until_complete does. Borrows
 * t: the caller still holds its reference. -EINTR if corio_loop_stop()
 * ended the run first, -EBUSY if a loop is already running in this thread,
 * -EINVAL for NULL, a closed loop or a task of another loop, -ENOMEM if
 * the thread's signal stack could not be made. Runs the loop: call it
 * outside any loop. Never suspends (it is not for tasks). */
CORIO_API int corio_loop_run_until_complete(corio_loop *loop, corio_task *t);

/* Run the loop until corio_loop_stop() (loop.run_forever). 0, -EBUSY if
 * a loop is already running in this thread, -EINVAL for NULL or a closed
 * loop. Runs the loop: call it outside any loop. Never suspends (it is
 * not for tasks). */
CORIO_API int corio_loop_run_forever(corio_loop *loop);

/* Make a running loop return once it has finished its current iteration
 * (loop.stop). Call it from the loop's thread, or through
 * corio_loop_call_soon_threadsafe(). Never suspends. */
CORIO_API void corio_loop_stop(corio_loop *loop);

/* Whether the loop is running now. Never suspends. */
CORIO_API bool corio_loop_is_running(const corio_loop *loop);

/* Monotonic time in seconds (loop.time() / time.monotonic()): the clock
 * of the loop running in this thread, which is virtual if the loop has
 * virtual time (corio_loop_opts), else the system's monotonic clock.
 * Never suspends. */
CORIO_API double corio_time(void);
/* The clock of a given loop, in seconds (NULL: the monotonic clock).
 * Never suspends. */
CORIO_API double corio_loop_time(const corio_loop *loop);

/* Schedule fn(arg) to run on the loop's next iteration (loop.call_soon).
 * Callbacks run in the order they were scheduled. h may be NULL; when it is
 * not, it receives a handle for corio_handle_cancel(). 0, -ENOMEM, -EINVAL
 * for a NULL loop or fn or a closed loop, -EPERM in debug mode from
 * another thread. Call from the loop's thread only. Never suspends. */
CORIO_API int corio_loop_call_soon(corio_loop *loop, corio_callback_fn fn,
                                   void *arg, corio_handle *h);

/* Schedule fn(arg) after delay seconds (loop.call_later); never early.
 * delay <= 0 is as soon as possible, after callbacks already due. Errors
 * as corio_loop_call_soon, and -EINVAL for NaN. Never suspends. */
CORIO_API int corio_loop_call_later(corio_loop *loop, double delay,
                                    corio_callback_fn fn, void *arg,
                                    corio_handle *h);

/* Schedule fn(arg) at time when, on the loop's clock (loop.call_at). A
 * time of INFINITY or beyond ~292 years never comes (and keeps the loop
 * from closing until cancelled). Errors as corio_loop_call_later. Never
 * suspends. */
CORIO_API int corio_loop_call_at(corio_loop *loop, double when,
                                 corio_callback_fn fn, void *arg,
                                 corio_handle *h);

/* Schedule fn(arg) on the loop from any thread, waking it if it sleeps
 * (loop.call_soon_threadsafe). 0, -ENOMEM, or -EINVAL. The loop must stay
 * open until the callback has run. Not async-signal-safe (it takes a
 * mutex). Never suspends. */
CORIO_API int corio_loop_call_soon_threadsafe(corio_loop *loop,
                                              corio_callback_fn fn,
                                              void *arg);

/* Cancel a scheduled callback (Handle.cancel). 0 if it will not run now,
 * -ENOENT if it has already run or was already cancelled. Call from the
 * handle's loop thread. Never suspends. */
CORIO_API int corio_handle_cancel(corio_handle h);

/* Whether the callback is still scheduled. Never suspends. */
CORIO_API bool corio_handle_pending(corio_handle h);

#ifdef __cplusplus
}
#endif
#endif

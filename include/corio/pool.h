/* SPDX-License-Identifier: MIT */
/* Threads and processes for work that would block the loop: thread pools
 * (asyncio.to_thread, loop.run_in_executor), process pools
 * (ProcessPoolExecutor) for CPU-bound work on byte buffers, and
 * submitting a task to a loop from a plain thread
 * (asyncio.run_coroutine_threadsafe). */
#ifndef CORIO_POOL_H
#define CORIO_POOL_H

#include <stdbool.h>
#include <stddef.h>

#include "corio/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- thread pools ---- */

/* A pool of threads that run blocking functions for tasks. */
typedef struct corio_pool corio_pool;

/* A blocking function run on a pool thread. Its return value is handed to
 * the awaiting task: >= 0 for success, a negative errno by convention. */
typedef int (*corio_blocking_fn)(void *arg);

/* Options for corio_pool_new(); zero-initialise and set what you need. */
typedef struct corio_pool_opts {
    /* Most threads at once; work beyond them waits in a FIFO queue. 0:
     * the number of CPUs + 4, at most 32 (Python's default executor). */
    unsigned threads;
    /* Stack size of the threads in bytes; 0: the system default. */
    size_t stack_size;
} corio_pool_opts;

/* Make a thread pool. Threads start as work arrives, up to the limit, and
 * stay until the pool is closed. opts may be NULL. NULL with errno set
 * (ENOMEM, EINVAL). Never suspends. */
CORIO_API corio_pool *corio_pool_new(const corio_pool_opts *opts);

/* Close the pool: work still queued fails with -ESHUTDOWN, work running
 * finishes (this call blocks until it has), the threads exit. NULL is
 * allowed. Never suspends (but blocks while running work ends). */
CORIO_API void corio_pool_close(corio_pool *p);

/* loop.run_in_executor(pool, fn, arg): run fn(arg) on a thread of p and
 * return its result. If the caller is cancelled while fn waits in the
 * queue, fn never runs; once fn runs, the call waits for it to return
 * (fn may use the caller's memory) and its result is discarded:
 * -ECANCELED either way (-ETIMEDOUT for a scope's deadline). -ESHUTDOWN
 * if p is closed, -EAGAIN if no thread could be started, -EPERM outside a
 * task. Suspends; cancellation point. */
CORIO_API int corio_pool_run(corio_pool *p, corio_blocking_fn fn, void *arg);

/* asyncio.to_thread: corio_pool_run on the process's default pool, which
 * starts on first use and has corio_pool_opts' default size (the
 * CORIO_POOL_THREADS environment variable overrides it). Suspends;
 * cancellation point. */
CORIO_API int corio_to_thread(corio_blocking_fn fn, void *arg);

/* ---- run_coroutine_threadsafe ---- */

/* A task submitted to a loop from another thread (the
 * concurrent.futures.Future of asyncio.run_coroutine_threadsafe). */
typedef struct corio_submission corio_submission;

/* Run fn(arg) as a task on loop, from any thread (the loop must stay open
 * until the task has ended). Returns a handle to wait on; NULL with errno
 * set (EINVAL, ENOMEM). Never suspends. */
CORIO_API corio_submission *corio_loop_submit(corio_loop *loop, corio_fn fn,
                                              void *arg);

/* Block the calling thread until the task has ended or timeout seconds
 * have passed (< 0: no limit), and store the task's result (fn's return
 * value, or -ECANCELED) in *result. 0, -ETIMEDOUT, or -EDEADLK when
 * called on the loop's own thread before the task ended. Never suspends:
 * it blocks the thread, so it is not for tasks. */
CORIO_API int corio_submission_wait(corio_submission *s, double timeout,
                                    int *result);

/* Cancel the task (Future.cancel): it is cancelled at its next suspension
 * point, or never starts. 0, -ENOMEM, or -EALREADY if it has ended. Never
 * suspends. */
CORIO_API int corio_submission_cancel(corio_submission *s);

/* Whether the task has ended. Never suspends. */
CORIO_API bool corio_submission_done(corio_submission *s);

/* Release the handle. A task still running goes on; its result is
 * dropped. NULL is allowed. Never suspends. */
CORIO_API void corio_submission_free(corio_submission *s);

/* ---- process pools ---- */

/* A pool of worker processes for CPU-bound work. */
typedef struct corio_procpool corio_procpool;

/* A function run in a worker process on a byte buffer: it stores a buffer
 * from malloc (or NULL) in *out and its length in *out_len, and returns
 * >= 0, or a negative errno that the caller receives (*out is then
 * ignored). */
typedef int (*corio_proc_fn)(const void *in, size_t in_len, void **out,
                             size_t *out_len);

/* Options for corio_procpool_new(). */
typedef struct corio_procpool_opts {
    /* Worker processes; 0: one per CPU. */
    unsigned workers;
    /* The functions the workers may run (the registry). */
    const corio_proc_fn *fns;
    size_t nfns;
} corio_procpool_opts;

/* Start a process pool: a fork server (a fork of the caller, made now)
 * forks the workers, now and whenever one must be replaced, so that
 * workers are always forks of a single-threaded process. Create pools
 * before starting threads, early in main. NULL with errno set (EINVAL,
 * ENOMEM, EAGAIN, EMFILE). Never suspends (blocks while the workers
 * start). */
CORIO_API corio_procpool *corio_procpool_new(const corio_procpool_opts *opts);

/* Run fn (one of the registered functions) in a worker on in[0..in_len)
 * and return its result; its output is stored in *out (free it with
 * free()), followed by a NUL byte that *out_len does not count, so a text
 * result is a C string (*out is NULL for an empty output). Calls beyond the number of workers wait in a FIFO
 * queue. A worker that dies during the call (a crash) yields -EPIPE and
 * is replaced. If the caller is cancelled, a queued call never runs and a
 * running one has its worker killed and replaced; -ECANCELED. -EINVAL for
 * an unregistered fn, -EPERM outside a task. Suspends; cancellation
 * point. */
CORIO_API int corio_procpool_call(corio_procpool *pp, corio_proc_fn fn,
                                  const void *in, size_t in_len, void **out,
                                  size_t *out_len);

/* The number of workers replaced after a crash or a cancellation. Never
 * suspends. */
CORIO_API unsigned long corio_procpool_replaced(const corio_procpool *pp);

/* Stop the workers and the fork server and reap them (no zombies), then
 * free the pool. Close it once no call is in progress. NULL is allowed.
 * Never suspends (blocks while the processes exit). */
CORIO_API void corio_procpool_close(corio_procpool *pp);

#ifdef __cplusplus
}
#endif
#endif

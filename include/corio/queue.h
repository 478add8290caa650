/* SPDX-License-Identifier: MIT */
/* Queues (asyncio.Queue, LifoQueue, PriorityQueue) and channels (trio's
 * memory channels) between the tasks of one loop. Items are pointers. No
 * item is ever lost or duplicated: a put or get that returns an error
 * moved nothing, whenever the cancellation or deadline struck. */
#ifndef CORIO_QUEUE_H
#define CORIO_QUEUE_H

#include <stdbool.h>

#include "corio/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct corio_queue corio_queue;

enum corio_queue_kind {
    CORIO_QUEUE_FIFO = 0, /* asyncio.Queue */
    CORIO_QUEUE_LIFO,     /* asyncio.LifoQueue */
    CORIO_QUEUE_PRIORITY, /* asyncio.PriorityQueue: lowest priority first,
                             equal priorities in insertion order */
};

/* Called for each item a queue drops: on an immediate shutdown and when it
 * is closed with items in it. */
typedef void (*corio_queue_discard_fn)(void *item, void *arg);

typedef struct corio_queue_opts {
    enum corio_queue_kind kind;
    size_t maxsize; /* 0: unbounded */
    corio_queue_discard_fn discard; /* may be NULL */
    void *discard_arg;
} corio_queue_opts;

/* Make a queue; opts NULL is an unbounded FIFO. NULL with errno set
 * (ENOMEM, or EINVAL for an unknown kind). Never suspends. */
CORIO_API corio_queue *corio_queue_new(const corio_queue_opts *opts);

/* Close and free the queue: shuts it down immediately (waiting tasks,
 * joiners included, wake with -ESHUTDOWN) and drops the items through the
 * discard function. The memory goes once the woken tasks have left it.
 * NULL is allowed. Never suspends. */
CORIO_API void corio_queue_close(corio_queue *q);

/* Put an item, waiting while the queue is full. A waiting getter receives
 * it directly. 0, -ESHUTDOWN (asyncio.QueueShutDown), -ECANCELED or
 * -ETIMEDOUT (the item was not put), -EPERM outside a task when the queue
 * is full. For priority queues the priority is 0. Suspends (only when
 * full); cancellation point. -ENOMEM if an unbounded queue cannot grow,
 * -EINVAL for NULL. */
CORIO_API int corio_queue_put(corio_queue *q, void *item);

/* Put with a priority (priority queues; others ignore it): as
 * corio_queue_put. Suspends (only when full); cancellation point. */
CORIO_API int corio_queue_put_prio(corio_queue *q, int64_t priority,
                                   void *item);

/* Put without waiting: 0, -EAGAIN if full (asyncio.QueueFull),
 * -ESHUTDOWN, -ENOMEM, or -EINVAL for NULL. Never suspends. */
CORIO_API int corio_queue_try_put(corio_queue *q, void *item);
CORIO_API int corio_queue_try_put_prio(corio_queue *q, int64_t priority,
                                       void *item);

/* Get the next item, waiting while the queue is empty. 0 with *item set,
 * -ESHUTDOWN once the queue is shut down and empty, -ECANCELED or
 * -ETIMEDOUT (nothing was taken), -EPERM outside a task when it would
 * wait, -EINVAL for NULL. Suspends (only when empty); cancellation
 * point. */
CORIO_API int corio_queue_get(corio_queue *q, void **item);

/* Get without waiting: 0, -EAGAIN if empty (asyncio.QueueEmpty),
 * -ESHUTDOWN if shut down and empty, -EINVAL for NULL. Never suspends. */
CORIO_API int corio_queue_try_get(corio_queue *q, void **item);

/* Mark one item got earlier as processed (Queue.task_done). 0, or -EINVAL
 * for NULL or if called more times than items were put. Never suspends. */
CORIO_API int corio_queue_task_done(corio_queue *q);

/* Wait until every item put has been got and marked done (Queue.join).
 * 0, -ECANCELED, -ETIMEDOUT, -ESHUTDOWN if the queue is closed meanwhile,
 * -EPERM outside a task when it would wait, -EINVAL for NULL. Suspends
 * (unless nothing is unfinished); cancellation point. */
CORIO_API int corio_queue_join(corio_queue *q);

/* Shut the queue down (Python 3.13): puts fail with -ESHUTDOWN at once,
 * waiting putters wake with it; gets drain what is left and then fail
 * with -ESHUTDOWN, waking waiting getters. immediate: drop the items now
 * (through the discard function), mark them done, and wake getters too.
 * Never suspends. */
CORIO_API void corio_queue_shutdown(corio_queue *q, bool immediate);

/* Items in the queue, its bound (0: none), and the usual predicates.
 * Never suspend. */
CORIO_API size_t corio_queue_size(const corio_queue *q);
CORIO_API size_t corio_queue_maxsize(const corio_queue *q);
CORIO_API bool corio_queue_empty(const corio_queue *q);
CORIO_API bool corio_queue_full(const corio_queue *q);

/* ---- channels (trio.open_memory_channel) ---- */

typedef struct corio_chan_tx corio_chan_tx; /* a send side */
typedef struct corio_chan_rx corio_chan_rx; /* a receive side */

/* Open a channel that buffers up to `capacity` items (0: every send waits
 * for a receiver, as trio's default). Sets *tx and *rx; 0, or -ENOMEM
 * (then both are NULL), -EINVAL for NULL pointers. Never suspends. */
CORIO_API int corio_chan_open(size_t capacity, corio_chan_tx **tx,
                              corio_chan_rx **rx);

/* Another handle on the same side (trio's clone); each must be closed. The
 * channel ends for receivers once every send handle is closed and the
 * buffer is empty; sends fail once every receive handle is closed. NULL
 * with errno set (EBADF for a NULL handle, ENOMEM). Never suspends. */
CORIO_API corio_chan_tx *corio_chan_tx_clone(corio_chan_tx *tx);
CORIO_API corio_chan_rx *corio_chan_rx_clone(corio_chan_rx *rx);

/* Close and free a handle. Tasks waiting on this handle wake with -EBADF.
 * Closing the last receive handle drops the items still buffered (a
 * channel has no discard function). NULL is allowed. Never suspends. */
CORIO_API void corio_chan_tx_close(corio_chan_tx *tx);
CORIO_API void corio_chan_rx_close(corio_chan_rx *rx);

/* Send an item, waiting for buffer space (or, with capacity 0, for a
 * receiver to take it). 0; -EPIPE once every receiver is closed
 * (trio.BrokenResourceError); -ECANCELED / -ETIMEDOUT (the item was not
 * sent); -EBADF for a NULL handle or when the handle is closed meanwhile,
 * -EPERM outside a task when it would wait. Suspends (unless the item
 * fits at once); cancellation point. */
CORIO_API int corio_chan_send(corio_chan_tx *tx, void *item);
/* Send without waiting: 0, -EAGAIN, -EPIPE, or -EBADF for NULL. Never
 * suspends. */
CORIO_API int corio_chan_try_send(corio_chan_tx *tx, void *item);

/* Receive an item: 1 with *item set, 0 at the end of the channel (every
 * sender closed, nothing buffered), -ECANCELED / -ETIMEDOUT (nothing was
 * taken), -EBADF for a NULL handle or when it is closed meanwhile, -EPERM
 * outside a task when it would wait. Suspends (unless an item or the end
 * is there); cancellation point. */
CORIO_API int corio_chan_recv(corio_chan_rx *rx, void **item);
/* Receive without waiting: 1, 0 at the end, -EAGAIN, -EBADF or -EINVAL
 * for NULL. Never suspends. */
CORIO_API int corio_chan_try_recv(corio_chan_rx *rx, void **item);

#ifdef __cplusplus
}
#endif
#endif

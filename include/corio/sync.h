/* SPDX-License-Identifier: MIT */
/* Synchronisation between the tasks of one loop, with asyncio's semantics:
 * Lock, Event, Condition, Semaphore, BoundedSemaphore and Barrier. Each is
 * a value in caller storage with a static initializer; none needs freeing
 * unless it says so. Waiters are served first come, first served, and a
 * waiter that is cancelled or times out never takes a lock, a permit or a
 * notification meant for another. They belong to one loop: use them only
 * from the tasks (and callbacks, for the calls that never suspend) of the
 * loop that first used them. */
#ifndef CORIO_SYNC_H
#define CORIO_SYNC_H

#include <stdbool.h>

#include "corio/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Lock (asyncio.Lock) ---- */

typedef struct corio_lock {
    uint64_t opaque_[4];
} corio_lock;

#define CORIO_LOCK_INIT {{0, 0, 0, 0}}

/* Initialise an unlocked lock (the same as CORIO_LOCK_INIT). Never
 * suspends. */
CORIO_API void corio_lock_init(corio_lock *l);

/* Acquire the lock, waiting in FIFO order while another task holds it.
 * 0, -ECANCELED or -ETIMEDOUT (then the lock is not held), -EPERM outside
 * a task, -EINVAL for NULL. Suspends (only if the lock is held);
 * cancellation point. */
CORIO_API int corio_lock_acquire(corio_lock *l);

/* Acquire the lock if it is free and nobody waits for it: 0, -EBUSY, or
 * -EINVAL for NULL. Never suspends. */
CORIO_API int corio_lock_try_acquire(corio_lock *l);

/* Release the lock, handing it to the longest waiting task if there is
 * one. Any task may release it, as with asyncio.Lock. 0, -EPERM if it is
 * not locked, -EINVAL for NULL. Never suspends. */
CORIO_API int corio_lock_release(corio_lock *l);

/* Whether the lock is held. Never suspends. */
CORIO_API bool corio_lock_locked(const corio_lock *l);

/* ---- Event (asyncio.Event) ---- */

typedef struct corio_event {
    uint64_t opaque_[4];
} corio_event;

#define CORIO_EVENT_INIT {{0, 0, 0, 0}}

/* Initialise a cleared event. Never suspends. */
CORIO_API void corio_event_init(corio_event *e);
/* Set the event and wake every task waiting for it. Never suspends. */
CORIO_API void corio_event_set(corio_event *e);
/* Clear the event. Never suspends. */
CORIO_API void corio_event_clear(corio_event *e);
/* Whether the event is set. Never suspends. */
CORIO_API bool corio_event_is_set(const corio_event *e);
/* Wait until the event is set: 0 at once if it is, else when it is set,
 * or -ECANCELED / -ETIMEDOUT; -EPERM outside a task, -EINVAL for NULL.
 * Suspends (unless set); cancellation point. */
CORIO_API int corio_event_wait(corio_event *e);

/* ---- Condition (asyncio.Condition) ---- */

typedef struct corio_cond {
    uint64_t opaque_[10];
} corio_cond;

/* A condition with a lock of its own. */
#define CORIO_COND_INIT {{0}}

/* Initialise a condition that uses lock l, or a lock of its own if l is
 * NULL (asyncio.Condition(lock=None)). Never suspends. */
CORIO_API void corio_cond_init(corio_cond *c, corio_lock *l);
/* The condition's lock, to acquire and release around waits. Never
 * suspends. */
CORIO_API corio_lock *corio_cond_lock(corio_cond *c);
/* Acquire / release the condition's lock (as `async with cond`): as
 * corio_lock_acquire (suspends; cancellation point) and
 * corio_lock_release (never suspends). */
CORIO_API int corio_cond_acquire(corio_cond *c);
CORIO_API int corio_cond_release(corio_cond *c);

/* Release the lock, wait for a notification, re-acquire the lock. The lock
 * is held again when it returns, whatever it returns: 0, -ECANCELED or
 * -ETIMEDOUT (a cancelled waiter takes no notification from another).
 * -EPERM if the caller does not hold the lock or is not a task, -EINVAL
 * for NULL. Suspends; cancellation point. */
CORIO_API int corio_cond_wait(corio_cond *c);

/* Wait until pred(arg) is true (Condition.wait_for): checks it first, and
 * after each notification, with the lock held. 0 once it is true, or an
 * error of corio_cond_wait. Suspends (unless pred holds at once);
 * cancellation point. */
CORIO_API int corio_cond_wait_for(corio_cond *c, bool (*pred)(void *arg),
                                  void *arg);

/* Wake up to n tasks waiting on the condition (Condition.notify), or all
 * of them. The caller must hold the lock: -EPERM otherwise; -EINVAL for
 * NULL. Never suspends. */
CORIO_API int corio_cond_notify(corio_cond *c, size_t n);
CORIO_API int corio_cond_notify_all(corio_cond *c);

/* ---- Semaphore and BoundedSemaphore (asyncio.Semaphore) ---- */

typedef struct corio_sem {
    uint64_t opaque_[4];
} corio_sem;

/* Initialise a semaphore with value permits; bounded: releasing more than
 * the initial value is an error (asyncio.BoundedSemaphore). 0, or -EINVAL
 * for NULL or a negative value. Never suspends. */
CORIO_API int corio_sem_init(corio_sem *s, long value, bool bounded);

/* Take a permit, waiting in FIFO order when there is none. 0, -ECANCELED
 * or -ETIMEDOUT (then no permit was taken), -EPERM outside a task when it
 * would wait, -EINVAL for NULL. Suspends (only if no permit is free);
 * cancellation point. */
CORIO_API int corio_sem_acquire(corio_sem *s);
/* Take a permit if one is free and nobody waits: 0, -EBUSY, or -EINVAL
 * for NULL. Never suspends. */
CORIO_API int corio_sem_try_acquire(corio_sem *s);
/* Give a permit back, to the longest waiting task if there is one. 0, or
 * -EOVERFLOW for a bounded semaphore released beyond its initial value
 * (nothing changes then); -EINVAL for NULL. Never suspends. */
CORIO_API int corio_sem_release(corio_sem *s);
/* Free permits now (never negative). Never suspends. */
CORIO_API long corio_sem_value(const corio_sem *s);
/* Whether acquire would wait (Semaphore.locked). Never suspends. */
CORIO_API bool corio_sem_locked(const corio_sem *s);

/* ---- Barrier (asyncio.Barrier) ---- */

typedef struct corio_barrier {
    uint64_t opaque_[6];
} corio_barrier;

/* Initialise a barrier for `parties` tasks. 0, or -EINVAL for NULL or no
 * parties. Never suspends. */
CORIO_API int corio_barrier_init(corio_barrier *b, unsigned parties);

/* Wait until `parties` tasks are waiting, then all pass together. Returns
 * the caller's arrival index, 0 .. parties - 1 (asyncio's return value).
 * -EPIPE if the barrier is broken (aborted) or is reset while waiting
 * (BrokenBarrierError); -ECANCELED / -ETIMEDOUT, and the caller no longer
 * counts as arrived (unless the round completed meanwhile: then it passes
 * and the cancellation waits for its next suspension); -EPERM outside a
 * task, -EINVAL for NULL. Suspends (except for the last party to arrive);
 * cancellation point. */
CORIO_API int corio_barrier_wait(corio_barrier *b);

/* Break the barrier: current and future waiters get -EPIPE until it is
 * reset. Never suspends. */
CORIO_API void corio_barrier_abort(corio_barrier *b);

/* Return the barrier to its empty state; tasks waiting now get -EPIPE.
 * Never suspends. */
CORIO_API void corio_barrier_reset(corio_barrier *b);

/* Tasks waiting now, and whether the barrier is broken. Never suspend. */
CORIO_API unsigned corio_barrier_n_waiting(const corio_barrier *b);
CORIO_API bool corio_barrier_broken(const corio_barrier *b);

#ifdef __cplusplus
}
#endif
#endif

/* SPDX-License-Identifier: MIT */
/* The pool module's internals that the os module builds on: per-loop state
 * (the completion port that other threads and io_uring report to), the
 * job interface of the thread pool, and cross-thread waits.
 *
 * The port. Every loop that waits for something another thread (or the
 * kernel, through io_uring) completes gets a `struct corio__loopx`: an
 * eventfd watched by the loop, a mutex-protected list of completions that
 * other threads post, and hooks for the io_uring ring of the os module.
 * No hidden task drains it: the tasks waiting for completions take turns
 * (leader and followers). One of them, the leader, parks on the eventfd;
 * the others park on their own. When the eventfd fires, the leader drains
 * the port, which marks each finished wait done and wakes its task, and
 * when it leaves with its own wait done it promotes a follower. So a loop
 * pays for the port only while someone waits on it, corio_loop_close
 * never sees an extra task, and a completion costs no allocation, so it
 * cannot fail. */
#ifndef CORIO_POOL_INT_H
#define CORIO_POOL_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/core.h"
#include "corio/pool.h"

/* A wait for something completed elsewhere, in the waiting task's
 * storage. `done` is set on the loop thread, by whoever processes the
 * completion (the port's drainer, or a same-loop waker), which then wakes
 * `task`. */
struct corio__xwait {
    corio_task *task;
    bool done;
};

/* A completion posted to a loop's port from any thread: fn(post) runs on
 * the loop thread when the port is drained, and typically marks an
 * xwait done. The post lives in the poster's request until fn ran. */
struct corio__post {
    struct corio__post *next; /* guarded by the port lock */
    void (*fn)(struct corio__post *p);
};

/* Slots for other modules' per-loop state; each is closed with the
 * loop. */
enum {
    CORIO__X_URING = 0, /* the io_uring ring (os/uring.c) */
    CORIO__X_SIGNAL,    /* signal handlers (os/signal.c) */
    CORIO__X_NSLOTS
};

struct corio__loopx {
    corio_loop *loop;            /* owner; the state dies with it */
    struct corio__loopx *next;   /* registry link, guarded by its lock */
    pthread_mutex_t lock;        /* guards head / tail */
    struct corio__post *head;    /* posted completions, FIFO */
    struct corio__post **tail;
    int efd;                     /* eventfd: posts and io_uring CQEs */
    struct corio__io io;         /* efd, watched edge-triggered */
    corio_task *leader;          /* the waiter parked on io, or NULL */
    struct corio__wq followers;  /* the other waiters */
    /* Other modules' state: `poll` runs each time the port is drained
     * (the ring reaps its CQEs there), `close` when the loop is freed. */
    void *slot[CORIO__X_NSLOTS];
    void (*poll[CORIO__X_NSLOTS])(struct corio__loopx *x);
    void (*close[CORIO__X_NSLOTS])(struct corio__loopx *x);
};

/* The per-loop state of loop, made on first use; NULL with errno set
 * (ENOMEM, or EMFILE for the eventfd). Call on the loop's thread. */
CORIO_HIDDEN struct corio__loopx *corio__loopx_get(corio_loop *loop);
/* Free loop's state, if it has any (called by the loop's destroy). */
CORIO_HIDDEN void corio__loopx_destroy(corio_loop *loop);

/* Post p to x's port from any thread. Never fails, never blocks for
 * long. */
CORIO_HIDDEN void corio__port_post(struct corio__loopx *x,
                                   struct corio__post *p);

/* Wait, as the current task, until w->done, taking part in draining x's
 * port. 0 once done; -ECANCELED or -ETIMEDOUT if the task is cancelled
 * first (w is then not done: the caller must withdraw it, or wait again
 * with nocancel until done). With nocancel, waits for done ignoring
 * cancellation, which stays pending. */
CORIO_HIDDEN int corio__port_wait(struct corio__loopx *x,
                                  struct corio__xwait *w, bool nocancel);

/* Mark w done and wake its task: on the loop thread only. */
static inline void corio__xwait_done(struct corio__xwait *w)
{
    w->done = true;
    corio__wake(w->task, 0);
}

/* ---- the thread pool's jobs ---- */

/* A job for a thread pool, in the awaiting task's storage. */
struct corio__job {
    struct corio__job *next, *prev; /* queue links, guarded by pool lock */
    void (*run)(struct corio__job *j); /* in a pool thread */
    /* Called on the loop thread, with no lock held, when the awaiting task
     * is cancelled while run() is in progress (the process pool kills its
     * worker there); may be NULL. */
    void (*cancel)(struct corio__job *j);
    struct corio__post post;        /* completion, to the task's port */
    struct corio__xwait wait;
    struct corio__loopx *x;         /* the awaiting task's port */
    int status;     /* 0: run() ran; -ESHUTDOWN: the pool closed first */
    uint8_t state;  /* CORIO__JOB_*, guarded by the pool's lock */
};

enum {
    CORIO__JOB_QUEUED = 1,
    CORIO__JOB_RUNNING,
    CORIO__JOB_DONE, /* run() returned; completion posted */
};

/* How a cancelled job's result is handled. */
enum {
    CORIO__DISCARD = 0, /* -ECANCELED: the result of a job that ran is
                           discarded (to_thread) */
    CORIO__KEEP,        /* a job that ran to completion wins and the
                           cancellation stays pending (file operations,
                           whose effect cannot be undone) */
};

/* The process-wide default pool (started lazily). */
CORIO_HIDDEN corio_pool *corio__pool_default(void);

/* Run job j on pool p and wait for it as the current task. Returns 0 when
 * j ran (its result is in the caller's structure), -ECANCELED /
 * -ETIMEDOUT (it did not run, or ran and mode is DISCARD; with KEEP a job
 * that ran returns 0 and the cancellation is re-pended), -EPERM outside a
 * task, -ESHUTDOWN if the pool is closed, -EAGAIN if no thread could be
 * started, -ENOMEM. j->run and j->cancel must be set; the rest is
 * filled in. Returns only once run() has returned or will never run. */
CORIO_HIDDEN int corio__pool_job(corio_pool *p, struct corio__job *j,
                                 int mode);

/* Block every signal corio's own threads must not take (all but the
 * synchronous ones), so that signalfd and sigwait see process-directed
 * signals: call at the start of a thread corio creates. */
CORIO_HIDDEN void corio__block_signals(void);

/* Cross-loop request (multi.c): run fn(arg) as a task on loop target and
 * wait for its result as the current task. */
CORIO_HIDDEN int corio__loop_call(corio_loop *target, corio_fn fn,
                                  void *arg);

#endif

/* SPDX-License-Identifier: MIT */
/* The core's shared internals: the loop, task, timer and waiter structures
 * and the park/wake protocol every suspending call is built on. Other
 * modules (sync, io, ...) include this header; users never see it. */
#ifndef CORIO_CORE_H
#define CORIO_CORE_H

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "corio/future.h"
#include "corio/loop.h"
#include "corio/scope.h"
#include "corio/task.h"

#include "core/compiler.h"
#include "core/list.h"

/* ---- allocation seams (alloc.c): every allocation goes through them so
 * that a test build can fail the Nth one (fault injection) ---- */
CORIO_HIDDEN void *corio__malloc(size_t n);
CORIO_HIDDEN void *corio__calloc(size_t n, size_t size);
CORIO_HIDDEN void *corio__realloc(void *p, size_t n);
CORIO_HIDDEN void corio__free(void *p);
CORIO_HIDDEN char *corio__strdup(const char *s);
/* True when the fault injector says this system call should fail. */
CORIO_HIDDEN bool corio__fail_syscall(void);
/* The same for an allocation made without corio__malloc (mmap), and the
 * leak check's count of such a block (d: +1 made, -1 freed). */
CORIO_HIDDEN bool corio__fail_alloc(void);
CORIO_HIDDEN void corio__count_block(void *p, long d);

/* A free-list allocator for objects of one size: tasks, handles. Objects
 * are carved from chunks that live until the slab is destroyed, so a
 * stale pointer to a freed object still points at memory of that type
 * (handles rely on this to detect reuse through their generation). */
struct corio__slab {
    void *free;          /* first free object; its first word links on */
    char *next;          /* next uncarved object in the newest chunk */
    char *end;           /* end of the newest chunk */
    void *chunks;        /* chunks, linked through their first word */
    size_t size;         /* object size, a multiple of 16 */
    size_t live;         /* objects handed out and not freed */
    unsigned nchunks;
    bool poison;         /* poison freed objects under ASan */
    bool zeroed;         /* the newest chunk came zeroed from the kernel */
};
CORIO_HIDDEN void corio__slab_init(struct corio__slab *s, size_t size,
                                   bool poison);
CORIO_HIDDEN void *corio__slab_alloc(struct corio__slab *s);
CORIO_HIDDEN void corio__slab_free(struct corio__slab *s, void *p);
CORIO_HIDDEN void corio__slab_destroy(struct corio__slab *s);

/* ---- the ready queue holds runnables: tasks to resume, callbacks to call */
enum {
    CORIO__RUN_TASK = 1,  /* a corio_task */
    CORIO__RUN_HANDLE,    /* a struct corio__handle (call_soon ...) */
    CORIO__RUN_FUTURE_CB, /* a done callback of a future */
};

struct corio__runnable {
    struct corio__runnable *next; /* ready-queue link */
    uint8_t kind;                 /* CORIO__RUN_* */
    bool yielded;                 /* deterministic mode: starts a batch */
};

/* ---- timers (timer.c): a 4-ary min-heap of deadlines ---- */
enum {
    CORIO__TIMER_TASK = 1, /* wakes the task it is embedded in */
    CORIO__TIMER_HANDLE,   /* queues the handle it is embedded in */
};

struct corio__timer {
    uint32_t idx;     /* heap slot + 1; 0 when not armed; the deadline
                         is in the heap entry */
    uint8_t kind;     /* CORIO__TIMER_* */
};

struct corio__heap_entry {
    int64_t deadline;
    struct corio__timer *timer;
};

struct corio__heap {
    struct corio__heap_entry *v; /* v[0] is the earliest */
    uint32_t n;
    uint32_t cap;
};

/* ---- handles: callbacks scheduled by call_soon / call_later / call_at */
enum {
    CORIO__HANDLE_FREE = 0,
    CORIO__HANDLE_READY,     /* on the ready queue */
    CORIO__HANDLE_TIMED,     /* in the timer heap */
    CORIO__HANDLE_CANCELLED, /* cancelled on the ready queue, freed when
                                the queue reaches it */
};

struct corio__handle {
    struct corio__runnable run; /* first: the slab's free link reuses it */
    uint64_t gen;   /* bumped when the handle stops being pending; never
                       reset, so a stale corio_handle value cannot match */
    struct corio__timer timer;
    corio_loop *loop;
    corio_callback_fn fn;
    void *arg;
    uint8_t state; /* CORIO__HANDLE_* */
};

/* ---- wait queues for values in caller storage (waitq.h has the
 * operations): a doubly-linked FIFO whose all-zero state is the empty
 * queue, so that static initializers work. Nodes live on the waiting
 * tasks' stacks. ---- */
struct corio__wq_node {
    struct corio__wq_node *prev;
    struct corio__wq_node *next;
    corio_task *task;
    void *data;  /* what a waker hands over, or what a waiter offers */
    bool linked; /* on a queue: unlinking twice is harmless */
};

struct corio__wq {
    struct corio__wq_node *head;
    struct corio__wq_node *tail;
};

/* ---- waiters: a suspended task (or a gather) on some object's queue ---- */
struct corio__waiter;
typedef void (*corio__notify_fn)(struct corio__waiter *w);

struct corio__waiter {
    struct corio__list link; /* on the waited-for object's queue */
    corio__notify_fn notify; /* NULL: wake task with 0 */
    corio_task *task;        /* the task to wake */
    void *data;              /* for notify */
};

/* ---- tasks ---- */
enum {
    CORIO__TASK_NEW = 1, /* spawned, queued, has no stack yet */
    CORIO__TASK_READY,   /* queued to resume */
    CORIO__TASK_RUNNING,
    CORIO__TASK_PARKED, /* suspended until corio__wake() */
    CORIO__TASK_DONE,
};

/* What a suspended task waits on, for dumps and the debugger. Each
 * suspending call sets it with corio__waiting() before parking. */
enum {
    CORIO__WAIT_NONE = 0,
    CORIO__WAIT_SLEEP,   /* wait_at tells until when */
    CORIO__WAIT_JOIN,    /* obj: the task */
    CORIO__WAIT_TASKS,   /* gather, wait, as_completed */
    CORIO__WAIT_FUTURE,
    CORIO__WAIT_LOCK,
    CORIO__WAIT_EVENT,
    CORIO__WAIT_COND,
    CORIO__WAIT_SEM,
    CORIO__WAIT_BARRIER,
    CORIO__WAIT_QUEUE,
    CORIO__WAIT_CHAN,
    CORIO__WAIT_GROUP,
    CORIO__WAIT_READ,    /* obj: the struct corio__io */
    CORIO__WAIT_WRITE,
    CORIO__WAIT_OTHER,   /* modules outside the core */
    CORIO__WAIT_CLEANUP, /* waiting, uncancellably, for cleanup */
};

/* Codes a parked task can be woken with, besides 0 and negative errnos.
 * They lie far below any errno value. */
#define CORIO__WAKE_TIMER (-100001) /* the park's own wake_at time came */
#define CORIO__WAKE_SCOPE (-100002) /* a scope changed: re-check it */
#define CORIO__WAKE_CANCEL (-100003) /* corio_cancel() of a parked task */

#define CORIO__NEVER INT64_MAX

struct corio__stack;

struct corio_task {
    struct corio__runnable run; /* first: ready-queue link, kind TASK */
    void *ctx;                  /* saved context while not running */
    corio_loop *loop;           /* owner; never changes */
    struct corio__stack *stack; /* NULL until first run and after the end */
    corio_fn fn;
    void *arg;
    int result;     /* fn's return value once DONE */
    int wake_rc;    /* what the waker passed to corio__wake() */
    uint32_t refs;  /* user references + 1 while the task can run */
    uint8_t state;  /* CORIO__TASK_* */
    bool cancel_pending; /* corio_cancel() not yet delivered */
    bool started;        /* fn was called */
    bool shutdown;       /* cancelled by corio_run's shutdown */
    bool nocancel;       /* parked by corio__park_nocancel */
    bool observed;       /* someone took its result (join, gather ...) */
    uint8_t wait_kind;   /* CORIO__WAIT_*: what it is suspended on */
    const void *wait_obj; /* and which object, for dumps */
    int64_t wake_at;     /* the current park's own time limit */
    int64_t deadline;    /* earliest deadline of the open scopes that
                            apply (up to a shield), CORIO__NEVER if none */
    struct corio__timer timer;     /* wake_at / deadline wake-up */
    struct corio__list waiters;    /* corio__waiters notified at the end */
    struct corio__scope *scope;    /* innermost open cancel scope */
    struct corio_group *group;     /* the group it is a child of, or NULL */
    struct corio__list group_link; /* on the group's list of children */
    struct corio__list all;        /* on loop->tasks, for all_tasks */
    uint64_t id;
    char *name;                    /* owned; NULL: "Task-<id>" on demand */
    uint64_t fpenv;                /* FP control state at spawn */
    const char *site_file;         /* where it was spawned (or NULL) */
    int site_line;
    uint32_t stack_size;           /* requested; 0 = loop default (stacks
                                      are at most 1 GiB) */
    uint64_t parent_id;            /* the spawning task, 0 if none */
    /* Called with arg if the task ends without fn having run (cancelled
     * before it started, or no stack for it): arg may own resources that
     * fn would have released (corio__task_on_unstarted). */
    void (*unstarted)(void *arg);
#if CORIO_ASAN
    void *asan_fake;               /* fake stack saved across a switch */
#endif
#if CORIO_TSAN
    void *tsan_fiber;
#endif
};

/* The internal view of a corio_scope (caller storage). */
struct corio__scope {
    struct corio__scope *parent; /* next outer scope of the same task */
    corio_task *task;            /* owner */
    int64_t deadline;            /* ns; CORIO__NEVER for none */
    bool shield;                 /* outer cancellation does not reach in */
    bool cancelled;              /* cancel() called or deadline passed */
    bool expired;                /* the deadline passed while open */
    bool caught;                 /* a suspension in it returned its error */
    bool open;
    bool saw_outer;              /* a cancellation from outside it (the
                                    task's, or an outer scope's) was
                                    delivered to a suspension inside */
    int outer_rc;                /* and its error */
};

/* ---- the loop ---- */
struct corio__backend_ops;

struct corio_loop {
    corio_task *current;                /* running task; NULL in the loop */
    struct corio__runnable *ready_head; /* FIFO of runnables */
    struct corio__runnable **ready_tail;
    uint32_t budget;      /* dispatches left before the loop polls again */
    corio_task *dead;     /* ended task whose stack awaits release */
    void *main_ctx;       /* the loop's own context (the thread's stack) */
    struct corio__heap timers;
    int64_t now;          /* ns, updated once per iteration */
    struct corio__slab task_slab;
    struct corio__slab handle_slab;
    struct corio__list tasks;  /* every allocated task, for all_tasks */
    size_t ntasks;             /* allocated tasks */
    size_t nalive;             /* tasks not DONE */
    size_t nhandles;           /* pending callbacks */
    size_t nios;               /* descriptors open (not internal ones) */
    size_t stack_size;         /* default usable stack size, bytes */
    struct corio__stack_pools *stacks;
    const struct corio__backend_ops *bops; /* the backend's functions */
    void *backend;        /* the backend's state (its own struct) */
    bool uring;           /* the backend is io_uring: sockets and files
                             go through its ring, and descriptors are
                             armed when a task first waits on them */
    bool one_thread;      /* corio_run's: made, run and closed by one
                             thread, so its ring may be tied to it */
    /* call_soon_threadsafe: a mutex-protected list and an eventfd. */
    pthread_mutex_t tsq_lock;
    struct corio__tsq_item *tsq_head;  /* guarded by tsq_lock */
    struct corio__tsq_item **tsq_tail; /* guarded by tsq_lock */
    atomic_bool tsq_pending;           /* set (release) with an item */
    int wake_fd;                       /* eventfd */
    bool running;
    bool stopping;
    bool closed;
    bool shutdown;             /* corio_run is cancelling what is left */
    size_t shutdown_left;      /* tasks it cancelled not yet ended */
    /* Deterministic test mode: a seed shuffles the ready queue, and a
     * virtual clock jumps to the next timer when nothing is ready. */
    uint64_t seed;             /* 0: off; else the shuffle's RNG state */
    size_t batch_left;         /* runnables left in the shuffled batch */
    bool head_chosen;          /* the shuffle already picked the head */
    bool virt;                 /* virtual clock on */
    int64_t vnow;              /* the virtual clock, ns */
    /* Debug mode and dumps (debug.c). */
    uint8_t hooks;             /* CORIO__HOOK_*: the slow paths to take */
    bool debug;                /* checks and warnings on */
    int64_t slow_ns;           /* warn about tasks running this long */
    struct corio__debug *dbg;  /* the debug-mode watchdog, or NULL */
    corio_task *probe;         /* task being probed for a backtrace */
    corio_task *prober;        /* who probes it (NULL: the loop) */
    void **probe_buf;          /* where the backtrace goes */
    int probe_n;
    int64_t run_start;         /* debug mode: when the running task
                                  resumed */
    struct corio__list all_loops; /* on the process's list of loops */
    /* The DNS resolver of src/net/dns.c, made on first use, and the
     * function that frees it when the loop is destroyed. */
    void *dns;
    void (*dns_free)(corio_loop *loop);
    pthread_t thread;          /* the thread running the loop */
#if CORIO_ASAN
    const void *main_stack_lo; /* the thread stack, for ASan */
    size_t main_stack_size;
    void *asan_fake;
#endif
#if CORIO_TSAN
    void *tsan_fiber;
#endif
};

/* Bits of loop->hooks: the switch path tests them all with one load. */
#define CORIO__HOOK_DEBUG 1u /* debug mode: time every run of a task */
#define CORIO__HOOK_SEED 2u  /* deterministic mode: shuffle the queue */
#define CORIO__HOOK_PROBE 4u /* a dump is taking a task's backtrace */

/* The loop running in this thread. */
extern CORIO_TLS corio_loop *corio__tls_loop;

/* ---- clock (loop.c) ---- */
/* Real monotonic time in ns. */
CORIO_HIDDEN int64_t corio__clock_ns(void);
/* A loop's clock: real, or virtual in deterministic test mode. */
static inline int64_t corio__loop_clock(const corio_loop *loop)
{
    return loop && loop->virt ? loop->vnow : corio__clock_ns();
}
/* Seconds to ns, rounded up so that waits are never short; clamped. */
CORIO_HIDDEN int64_t corio__sec_to_ns(double s);
/* A time on the loop's clock (seconds, as corio_time gives) to ns, such
 * that corio_time() at that ns is never below it. 0 or less gives 0;
 * INFINITY (anything from 9.2e9 s, ~292 years) gives CORIO__NEVER. */
CORIO_HIDDEN int64_t corio__time_to_ns(double when);
/* now + d without overflow. */
static inline int64_t corio__add_ns(int64_t now, int64_t d)
{
    return d >= CORIO__NEVER - now ? CORIO__NEVER : now + d;
}

/* ---- timers (timer.c) ---- */
CORIO_HIDDEN int corio__heap_reserve(struct corio__heap *h, uint32_t more);
CORIO_HIDDEN int corio__timer_arm(corio_loop *loop, struct corio__timer *t,
                                  int64_t deadline);
CORIO_HIDDEN void corio__timer_disarm(corio_loop *loop,
                                      struct corio__timer *t);
/* Pop one timer due at now or before; NULL if none. */
CORIO_HIDDEN struct corio__timer *corio__timer_pop_due(corio_loop *loop,
                                                       int64_t now);
CORIO_HIDDEN void corio__heap_free(struct corio__heap *h);

/* Make room in the heap for one more timer user, so that arming a timer
 * never fails: tasks and handles reserve their slot when created. */
static inline int corio__timer_reserve(corio_loop *loop)
{
    size_t need = loop->ntasks + loop->nhandles + 1;
    if (need <= loop->timers.cap)
        return 0;
    return corio__heap_reserve(&loop->timers,
                               (uint32_t)(need - loop->timers.n));
}

/* ---- ready queue ---- */
static inline void corio__ready_push(corio_loop *loop,
                                     struct corio__runnable *r)
{
    r->next = NULL;
    *loop->ready_tail = r;
    loop->ready_tail = &r->next;
}

/* Deterministic mode: move a random runnable to the queue's head. */
CORIO_HIDDEN void corio__ready_shuffle(corio_loop *loop);

/* Take the head of the ready queue (the caller checked it is there). */
static inline struct corio__runnable *corio__ready_pop(corio_loop *loop)
{
    loop->head_chosen = false;
    struct corio__runnable *r = loop->ready_head;
    loop->ready_head = r->next;
    if (!r->next)
        loop->ready_tail = &loop->ready_head;
    return r;
}

/* ---- tasks and parking (task.c) ---- */

/* Suspend the current task t until someone calls corio__wake(t, rc), its
 * wake_at time (CORIO__NEVER: none) comes, or it is cancelled. Returns rc,
 * CORIO__WAKE_TIMER, -ECANCELED or -ETIMEDOUT. A pending cancellation or
 * an expired deadline returns at once without suspending. The caller must
 * have registered itself wherever it waits before parking, and unregister
 * afterwards whatever the result. */
CORIO_HIDDEN int corio__park(corio_loop *loop, corio_task *t,
                             int64_t wake_at);

/* Park until corio__wake(), ignoring cancellation and deadlines, which stay
 * pending for the next suspension: for waiting out the cleanup of tasks
 * that were just cancelled. Returns the waker's rc. */
CORIO_HIDDEN int corio__park_nocancel(corio_loop *loop, corio_task *t);

/* Resume a parked task with rc. False (and nothing happens) if t is not
 * parked: it was already woken, so the caller must not assume t received
 * what it was given. */
CORIO_HIDDEN bool corio__wake(corio_task *t, int rc);

/* Say what the current task is about to wait on (see CORIO__WAIT_*). */
static inline void corio__waiting(corio_task *t, uint8_t kind,
                                  const void *obj)
{
    t->wait_kind = kind;
    t->wait_obj = obj;
}

/* The current task, or NULL; sets *loop to the thread's loop. */
static inline corio_task *corio__self(corio_loop **loop)
{
    corio_loop *l = corio__tls_loop;
    *loop = l;
    return l ? l->current : NULL;
}

/* Hold a cancellation for the next suspension point: a caller that had to
 * return a result after its park reported -ECANCELED uses this so the
 * cancellation is not lost. */
CORIO_HIDDEN void corio__repend(corio_task *t, int rc);

/* Check cancellation and deadlines without suspending: 0, -ECANCELED or
 * -ETIMEDOUT (consuming a pending task cancellation). */
CORIO_HIDDEN int corio__checkpoint(corio_task *t);

/* Recompute t->deadline from its scopes and re-arm a parked task's timer. */
CORIO_HIDDEN void corio__task_deadline_changed(corio_task *t);

/* Have fn(arg) called if t ends before its function ran. */
CORIO_HIDDEN void corio__task_on_unstarted(corio_task *t,
                                           void (*fn)(void *arg));

/* A child of a group ended (group.c); called from the task's end. */
CORIO_HIDDEN void corio__group_child_done(corio_task *t);

/* Run the ready queue until the budget or the queue runs out (loop
 * context). */
CORIO_HIDDEN void corio__run_ready(corio_loop *loop);
CORIO_HIDDEN void corio__task_free_all(corio_loop *loop);

/* Notify a waiter list: unlink each waiter, then call it. */
CORIO_HIDDEN void corio__notify_all(struct corio__list *waiters);

/* Handles (handle.c). */
CORIO_HIDDEN void corio__handle_run(corio_loop *loop,
                                    struct corio__handle *h);
CORIO_HIDDEN void corio__handle_fire(corio_loop *loop,
                                     struct corio__handle *h);
CORIO_HIDDEN void corio__future_cb_run(corio_loop *loop,
                                       struct corio__runnable *r);

/* ---- stacks (stack.c) ---- */
struct corio__stack {
    struct corio__stack *next; /* free-list link */
    char *lo;                  /* usable range [lo, hi); the guard is below */
    char *hi;
    struct corio__stack_pool *pool;
    unsigned vg_id;            /* valgrind stack id */
    bool cold;                 /* pages given back to the kernel */
    bool used;                 /* a task has run on it */
};
CORIO_HIDDEN int corio__stacks_init(corio_loop *loop);
CORIO_HIDDEN void corio__stacks_close(corio_loop *loop);
CORIO_HIDDEN struct corio__stack *corio__stack_get(corio_loop *loop,
                                                   size_t size);
CORIO_HIDDEN void corio__stack_put(corio_loop *loop, struct corio__stack *s);
/* Give long-unused pooled stacks back to the kernel (idle loop). */
CORIO_HIDDEN void corio__stacks_trim(corio_loop *loop, int64_t now);
/* Round a requested stack size; 0 if it is unusable. */
CORIO_HIDDEN size_t corio__stack_round(size_t size);
/* Install the stack-overflow handler and this thread's signal stack. */
CORIO_HIDDEN int corio__overflow_init(void);
/* Whether guard regions live inside one mapping (Linux 6.13+), or each
 * guard costs a mapping of its own. */
CORIO_HIDDEN bool corio__stack_guard_inline(void);

/* ---- descriptors (io.c) ---- */
#define CORIO__IN 1u  /* readable (or hung up, or in error) */
#define CORIO__OUT 2u /* writable (or hung up, or in error) */
#define CORIO__HUP 4u /* the peer ended its side, or an error: reads return
                         at once from then on. In `ready` only, never
                         cleared; every backend must report it (src/net
                         skips a read after a short one until IN or HUP) */

/* A descriptor registered with a loop's backend. Sockets and the other
 * wrapped descriptors embed one. In edge mode it is registered once,
 * edge-triggered, and `ready` caches the readiness seen since the owner
 * last met EAGAIN: the owner tries its system call first and waits only
 * after EAGAIN. In one-shot mode every wait re-arms it (level
 * semantics, for descriptors corio does not drive itself). */
struct corio__io {
    corio_loop *loop;
    int fd;
    uint8_t ready;    /* CORIO__IN / CORIO__OUT seen and not yet cleared */
    bool ring;        /* the loop's backend is io_uring (loop->uring) */
    bool oneshot;
    bool internal;    /* the loop's own (a resolver's, a pool's): does not
                         keep the loop from closing */
    bool watched;     /* registered with the backend */
    bool closed;      /* being closed: waits fail with -EBADF */
    unsigned inside;  /* tasks parked on it or leaving it */
    corio_task *closer; /* the closing task, waiting for `inside` = 0 */
    void (*free_fn)(struct corio__io *); /* for a closer that could not
                                            wait: the last task out frees */
    struct corio__wq wait[2]; /* [0] readers, [1] writers */
    void *bdata;      /* the backend's state for it (io_uring: its polls
                         and queued accepts), or NULL */
};

/* Register fd with the loop. 0 or a negative errno from the backend. An
 * open descriptor keeps corio_loop_close from closing the loop (-EBUSY),
 * unless it is registered with corio__io_watch_internal: the loop's own
 * per-loop machinery, freed with the loop. */
CORIO_HIDDEN int corio__io_watch(corio_loop *loop, struct corio__io *io,
                                 int fd, bool oneshot);
CORIO_HIDDEN int corio__io_watch_internal(corio_loop *loop,
                                          struct corio__io *io, int fd,
                                          bool oneshot);
/* Park the current task until io is ready for dir (CORIO__IN or
 * CORIO__OUT); returns at once if it already is. 0, -ECANCELED,
 * -ETIMEDOUT, -EBADF (closed meanwhile), -EPERM outside a task. */
CORIO_HIDDEN int corio__io_wait(struct corio__io *io, unsigned dir);
/* The owner met EAGAIN: forget the readiness seen for dir. */
static inline void corio__io_clear(struct corio__io *io, unsigned dir)
{
    io->ready &= (uint8_t)~dir;
}
/* Stop watching: wake waiters with -EBADF, wait (from a task) until they
 * have left, deregister. The caller frees io afterwards, and closes the
 * descriptor if it owns it. Returns false if io must stay allocated
 * because waiters are still inside and the caller is not a task: the last
 * one out then calls free_fn(io). */
CORIO_HIDDEN bool corio__io_unwatch(struct corio__io *io,
                                    void (*free_fn)(struct corio__io *));
/* The backend saw events on io (backend files call this). */
CORIO_HIDDEN void corio__io_ready(struct corio__io *io, unsigned dirs);

/* A task left io after a park (io->inside was raised for it): the last
 * one out lets a closer go on, or frees io for a closer that could not
 * wait. */
CORIO_HIDDEN void corio__io_leave(struct corio__io *io);
/* Park the current task on io's queue for dir until woken: the waker's
 * rc, -ECANCELED, -ETIMEDOUT, or -EBADF if io was closed meanwhile. Does
 * not arm anything: for waits on state kept by the io's owner. */
CORIO_HIDDEN int corio__io_park(struct corio__io *io, unsigned dir);

/* ---- backend (one file per implementation in backend/) ----
 *
 * A const vtable chosen when the loop is made (style.md, section 8): the
 * kernel decides between epoll and io_uring, so only run time can. */
struct corio__backend_ops {
    const char *name; /* "epoll", "io_uring" */
    int (*init)(corio_loop *loop);
    void (*close)(corio_loop *loop);
    /* Wait up to timeout ns (-1: forever, 0: do not block) and dispatch;
     * returns the number of events or completions handled. */
    int (*poll)(corio_loop *loop, int64_t timeout);
    /* Whether a poll with timeout 0 could find anything: false lets the
     * loop skip the system call when only tasks are running. */
    bool (*busy)(corio_loop *loop);
    /* Register / arm for events / deregister io. epoll arms one-shot
     * descriptors only; io_uring arms every descriptor when a task is
     * about to wait on it (corio__io_want). */
    int (*watch)(corio_loop *loop, struct corio__io *io);
    int (*arm)(corio_loop *loop, struct corio__io *io, unsigned events);
    void (*unwatch)(corio_loop *loop, struct corio__io *io);
};

CORIO_HIDDEN extern const struct corio__backend_ops corio__epoll_ops;
#ifdef CORIO_HAVE_URING
CORIO_HIDDEN extern const struct corio__backend_ops corio__uring_ops;
#endif

/* Choose the backend (opts, CORIO_BACKEND, what the kernel supports) and
 * set it up; an io_uring that cannot be had falls back to epoll. */
CORIO_HIDDEN int corio__backend_init(corio_loop *loop,
                                     const corio_loop_opts *opts);
static inline void corio__backend_close(corio_loop *loop)
{
    if (loop->bops)
        loop->bops->close(loop);
    loop->bops = NULL;
}
static inline int corio__backend_poll(corio_loop *loop, int64_t timeout)
{
    return loop->bops->poll(loop, timeout);
}
static inline bool corio__backend_busy(corio_loop *loop)
{
    return loop->bops->busy(loop);
}
static inline int corio__backend_watch(corio_loop *loop,
                                       struct corio__io *io)
{
    return loop->bops->watch(loop, io);
}
static inline int corio__backend_arm(corio_loop *loop, struct corio__io *io,
                                     unsigned events)
{
    return loop->bops->arm(loop, io, events);
}
static inline void corio__backend_unwatch(corio_loop *loop,
                                          struct corio__io *io)
{
    loop->bops->unwatch(loop, io);
}

/* A task is about to park on io's queue for dir (CORIO__IN or
 * CORIO__OUT) outside corio__io_wait: make sure the backend reports the
 * readiness. epoll registered the descriptor for both directions once, so
 * only io_uring has something to do (arm a poll). 0 or a negative errno. */
static inline int corio__io_want(struct corio__io *io, unsigned dir)
{
    if (likely(!io->ring) || io->closed)
        return 0;
    return corio__backend_arm(io->loop, io, dir);
}

/* ---- operations through the loop's io_uring (backend/uring.c) ----
 *
 * When loop->uring is set, sockets and files submit requests to the
 * loop's ring instead of trying a system call and waiting for readiness.
 * A request lives in its task's storage; the loop submits everything an
 * iteration queued with one io_uring_enter, and its completion wakes the
 * task. A task cancelled (or closed on) while its request is in the
 * kernel cancels it there and waits, uncancellably, for its completion,
 * so the kernel never writes into memory the task has left; an operation
 * that completed anyway wins, and the cancellation is kept for the next
 * suspension (corio__repend). */
struct corio__ureq {
    uint8_t kind;     /* what the completion does (backend/uring.c) */
    bool done;        /* the completion came */
    int res;          /* its result */
    unsigned flags;   /* its flags (IORING_CQE_F_*) */
    corio_task *task; /* the task waiting for it */
};

/* The functions below return what the operation returned (>= 0 or a
 * negative errno), or -ECANCELED / -ETIMEDOUT (the task was cancelled
 * before the operation completed, which then had no effect), -EBADF (io
 * was closed meanwhile), -ENOMEM. Call them from a task of io's loop. */
CORIO_HIDDEN ssize_t corio__uring_recv(struct corio__io *io, void *buf,
                                       size_t len, int flags);
CORIO_HIDDEN ssize_t corio__uring_send(struct corio__io *io, const void *buf,
                                       size_t len, int flags);
struct msghdr;
CORIO_HIDDEN ssize_t corio__uring_recvmsg(struct corio__io *io,
                                          struct msghdr *msg, int flags);
CORIO_HIDDEN ssize_t corio__uring_sendmsg(struct corio__io *io,
                                          const struct msghdr *msg,
                                          int flags);
/* Accept a connection on listening io (non-blocking, close-on-exec): its
 * descriptor. many: a server that accepts all the time, served from the
 * connections one multishot accept request queues ahead of it; else one
 * accept request of the caller's (nothing is accepted while nobody asks,
 * so the listen backlog applies). */
CORIO_HIDDEN int corio__uring_accept(struct corio__io *io, bool many);
/* A free submission entry of the loop's ring (a struct io_uring_sqe *),
 * submitting what is queued to make room if needed; NULL if the kernel
 * takes nothing. For modules that prepare requests of their own (files). */
CORIO_HIDDEN void *corio__uring_sqe(corio_loop *loop);
/* Wait as the current task for the request prepared in sqe, parked on
 * io's queue for dir (io may be NULL). 0 when q completed (q->res holds
 * its result), else as above. */
CORIO_HIDDEN int corio__uring_await(corio_loop *loop, void *sqe,
                                    struct corio__ureq *q,
                                    struct corio__io *io, unsigned dir);

/* ---- debugging (debug.c) ---- */
/* Register a new loop on the process's list (for dumps and gdb) and read
 * the debug and test-mode settings from the environment. */
CORIO_HIDDEN void corio__debug_loop_new(corio_loop *loop,
                                        const corio_loop_opts *opts);
CORIO_HIDDEN void corio__debug_loop_free(corio_loop *loop);
/* A loop starts or stops running in this thread. */
CORIO_HIDDEN void corio__debug_run_start(corio_loop *loop);
CORIO_HIDDEN void corio__debug_run_stop(corio_loop *loop);
/* Once per iteration: a SIGQUIT dump that was asked for. */
CORIO_HIDDEN void corio__debug_poll(corio_loop *loop);
/* Debug mode: a task is resumed / suspends. */
CORIO_HIDDEN void corio__debug_switch_in(corio_loop *loop, corio_task *t);
CORIO_HIDDEN void corio__debug_switch_out(corio_loop *loop, corio_task *t);
/* Debug mode: a failed task nobody joined is being freed. */
CORIO_HIDDEN void corio__debug_unobserved(corio_task *t);
/* Debug mode: a loop would not close; print what keeps it open. */
CORIO_HIDDEN void corio__debug_close_busy(corio_loop *loop);
/* Debug mode: false (and a warning) if fn is called from another thread
 * than the loop's while it runs. */
CORIO_HIDDEN bool corio__debug_thread_ok(corio_loop *loop, const char *fn);
/* Whether a SIGQUIT dump is owed by this loop. */
CORIO_HIDDEN bool corio__dump_asked(const corio_loop *loop);
/* Capture the backtrace of a suspended task t (switches to it and back);
 * returns the number of frames. */
CORIO_HIDDEN int corio__task_backtrace(corio_task *t, void **buf, int max);

/* ---- threadsafe queue (loop.c) ---- */
struct corio__tsq_item {
    struct corio__tsq_item *next;
    corio_callback_fn fn;
    void *arg;
};
CORIO_HIDDEN void corio__tsq_drain(corio_loop *loop);

#endif

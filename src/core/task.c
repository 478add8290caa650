/* SPDX-License-Identifier: MIT */
/* Tasks: creation, the switch between them, and the park/wake protocol that
 * every suspending call in corio is built on.
 *
 * Scheduling. The ready queue holds tasks and callbacks in FIFO order. A
 * task that suspends switches straight to the next ready task instead of
 * going back to the loop first, so a yield costs one context switch. It
 * goes back to the loop's own context only when the next runnable is a
 * callback, the queue is empty, or the loop's budget of dispatches is
 * spent: then the loop polls timers and I/O and starts a new batch. A new
 * task gets its stack when it first runs and gives it back when it ends,
 * so a million spawned tasks that each run to completion share one stack.
 *
 * Parking. A suspending call registers the task wherever it waits (a
 * timer, a lock's queue, a task's waiter list), then calls corio__park().
 * Whoever completes the wait calls corio__wake(t, rc), which succeeds only
 * if t is still parked; so a task woken by a cancellation cannot also be
 * handed a lock, and a task handed a lock keeps it even if a cancellation
 * arrives before it runs (that cancellation is held for its next
 * suspension). */
#include "core/core.h"

#include <execinfo.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/arch/fpenv.h"
#include "core/arch/switch.h"

#ifdef CORIO_TESTING
#include "core/testing.h"
#endif

/* Dispatches between two polls of timers and I/O when tasks keep each
 * other busy: high enough that the poll's system call disappears from the
 * cost of a switch, low enough that I/O waits a few microseconds at most
 * (Tokio polls every 61 ticks; Go when a run queue empties). */
#define BUDGET 128

static atomic_uint_fast64_t next_id;

/* ---- switching ---- */

static void release_dead(corio_loop *loop);
static CORIO_NORETURN void task_entry(void *p);
static void probed(corio_loop *loop, corio_task *self);

/* Switch from the running context (task `from`, or the loop when NULL) to
 * task `to` (or the loop when NULL). Returns when something switches back
 * to `from`. A dying task passes dying = true: it will never be resumed,
 * and the next context releases its stack. */
static inline void switch_to(corio_loop *loop, corio_task *from,
                             corio_task *to, bool dying)
{
    void **save = from ? &from->ctx : &loop->main_ctx;
    void *target = to ? to->ctx : loop->main_ctx;

    loop->current = to;
#if CORIO_ASAN
    void **fake = dying ? NULL : from ? &from->asan_fake : &loop->asan_fake;
    if (to)
        __sanitizer_start_switch_fiber(fake, to->stack->lo,
                                       (size_t)(to->stack->hi - to->stack->lo));
    else
        __sanitizer_start_switch_fiber(fake, loop->main_stack_lo,
                                       loop->main_stack_size);
#endif
#if CORIO_TSAN
    __tsan_switch_to_fiber(to ? to->tsan_fiber : loop->tsan_fiber, 0);
#endif
    if (unlikely(loop->hooks & CORIO__HOOK_DEBUG)) {
        if (from)
            corio__debug_switch_out(loop, from);
        if (to)
            corio__debug_switch_in(loop, to);
    }
    (void)dying;
    corio__ctx_switch(save, target);
    /* Resumed: we are `from` again. */
#if CORIO_ASAN
    __sanitizer_finish_switch_fiber(from ? from->asan_fake : loop->asan_fake,
                                    NULL, NULL);
#endif
    if (unlikely(loop->dead != NULL))
        release_dead(loop);
    /* Resumed only to have our backtrace taken (a dump): take it and go
     * back to whoever asked, staying suspended. */
    while (unlikely(loop->hooks & CORIO__HOOK_PROBE) && loop->probe == from)
        probed(loop, from);
}

/* Our backtrace is wanted: record it, then switch back to the prober. */
static CORIO_NOINLINE void probed(corio_loop *loop, corio_task *self)
{
    loop->probe_n = backtrace(loop->probe_buf, loop->probe_n);
    loop->probe = NULL;
    loop->hooks &= (uint8_t)~CORIO__HOOK_PROBE;
    switch_to(loop, self, loop->prober, false);
}

int corio__task_backtrace(corio_task *t, void **buf, int max)
{
    corio_loop *loop = t->loop;
    corio_task *self = loop->current;
    if (t == self)
        return backtrace(buf, max);
    /* Only a task suspended on its own stack has frames to show. */
    if (!t->stack || t->state == CORIO__TASK_DONE ||
        t->state == CORIO__TASK_NEW || t->state == CORIO__TASK_RUNNING)
        return 0;
    uint8_t hooks = loop->hooks;
    /* A probe is not a run of the task: no debug timing. */
    loop->hooks = CORIO__HOOK_PROBE;
    loop->probe = t;
    loop->prober = self;
    loop->probe_buf = buf;
    loop->probe_n = max;
    switch_to(loop, self, t, false);
    loop->current = self;
    loop->hooks = hooks;
    return loop->probe_n;
}

static void task_free(corio_task *t)
{
    corio_loop *loop = t->loop;
    if (unlikely(loop->debug) && !t->observed && t->result < 0 &&
        t->result != -ECANCELED)
        corio__debug_unobserved(t);
    corio__list_remove(&t->all);
    loop->ntasks--;
    corio__free(t->name);
    corio__slab_free(&loop->task_slab, t);
}

static inline void unref(corio_task *t)
{
    if (--t->refs == 0)
        task_free(t);
}

/* Mark t done with result rc and tell its waiters. */
static void finish(corio_loop *loop, corio_task *t, int rc)
{
    t->result = rc;
    t->state = CORIO__TASK_DONE;
    loop->nalive--;
    if (t->shutdown)
        loop->shutdown_left--;
    corio__notify_all(&t->waiters);
    if (t->group)
        corio__group_child_done(t);
}

/* The stack of a task that just ended is released by the next context to
 * run, since a task cannot free the stack it is running on. */
static void release_dead(corio_loop *loop)
{
    corio_task *t = loop->dead;
    loop->dead = NULL;
    corio__stack_put(loop, t->stack);
    t->stack = NULL;
#if CORIO_TSAN
    __tsan_destroy_fiber(t->tsan_fiber);
    t->tsan_fiber = NULL;
#endif
    unref(t); /* the scheduler's reference */
}

/* Give a new task its stack and first frame. False if it ended instead:
 * cancelled before it ran, or no stack could be had (-ENOMEM). */
static bool start(corio_loop *loop, corio_task *t)
{
    int rc;
    if (t->cancel_pending) {
        t->cancel_pending = false;
        rc = -ECANCELED;
        goto ended;
    }
    t->stack = corio__stack_get(loop, t->stack_size ? t->stack_size
                                                     : loop->stack_size);
    if (!t->stack) {
        rc = -ENOMEM;
        goto ended;
    }
    t->ctx = corio__ctx_make(t->stack->lo, t->stack->hi, task_entry, t);
    if (!t->ctx) {
        corio__stack_put(loop, t->stack);
        t->stack = NULL;
        rc = -ENOMEM;
        goto ended;
    }
#if CORIO_TSAN
    t->tsan_fiber = __tsan_create_fiber(0);
#endif
    return true;
ended:
    if (t->unstarted)
        t->unstarted(t->arg);
    finish(loop, t, rc);
    unref(t);
    return false;
}

void corio__task_on_unstarted(corio_task *t, void (*fn)(void *arg))
{
    t->unstarted = fn;
}

/* Pop the next ready task to switch to, spending budget; NULL when the
 * next runnable is not a task, the budget is spent or nothing is ready. */
static corio_task *next_task(corio_loop *loop)
{
    for (;;) {
        if (!loop->ready_head || loop->budget == 0)
            return NULL;
        if (unlikely(loop->hooks & CORIO__HOOK_SEED))
            corio__ready_shuffle(loop);
        struct corio__runnable *r = loop->ready_head;
        if (r->kind != CORIO__RUN_TASK)
            return NULL;
        corio__ready_pop(loop);
        loop->budget--;
        corio_task *t = (corio_task *)r;
        if (t->state == CORIO__TASK_NEW && !start(loop, t))
            continue;
        t->state = CORIO__TASK_RUNNING;
        return t;
    }
}

/* Leave the running task t, which has already queued itself or parked,
 * for the next task or the loop. */
static void suspend(corio_loop *loop, corio_task *t)
{
    corio_task *n = next_task(loop);
    if (n == t) {
        loop->current = t; /* a yield with nothing else to run */
        return;
    }
    switch_to(loop, t, n, false);
}

static CORIO_NORETURN void task_entry(void *p)
{
    corio_task *t = p;
    corio_loop *loop = t->loop;

#if CORIO_ASAN
    __sanitizer_finish_switch_fiber(NULL, NULL, NULL);
#endif
    if (unlikely(loop->dead != NULL))
        release_dead(loop);
    t->started = true;
    corio__fpenv_restore(t->fpenv);
    int rc = t->fn(t->arg);
    finish(loop, t, rc);
    loop->dead = t;
    switch_to(loop, t, next_task(loop), true);
    __builtin_unreachable();
}

void corio__run_ready(corio_loop *loop)
{
    loop->budget = BUDGET;
    while (loop->budget && loop->ready_head) {
        if (unlikely(loop->hooks & CORIO__HOOK_SEED))
            corio__ready_shuffle(loop);
        struct corio__runnable *r = loop->ready_head;
        if (r->kind == CORIO__RUN_TASK) {
            corio_task *t = next_task(loop);
            if (t)
                switch_to(loop, NULL, t, false);
            continue;
        }
        r = corio__ready_pop(loop);
        loop->budget--;
        int64_t t0 = unlikely(loop->debug) ? corio__clock_ns() : 0;
        if (r->kind == CORIO__RUN_HANDLE)
            corio__handle_run(loop, (struct corio__handle *)r);
        else
            corio__future_cb_run(loop, r);
        if (unlikely(t0) && corio__clock_ns() - t0 > loop->slow_ns)
            fprintf(stderr,
                    "corio: debug: a callback ran %.1f ms (more than "
                    "%.0f ms)\n",
                    (corio__clock_ns() - t0) / 1e6, loop->slow_ns / 1e6);
    }
}

/* ---- park / wake ---- */

/* Whether a cancellation from outside the task's scopes can reach it now:
 * not while a shielded scope is open. */
static bool shielded(const corio_task *t)
{
    for (const struct corio__scope *s = t->scope; s; s = s->parent)
        if (s->shield)
            return true;
    return false;
}

/* A cancellation from outside the open scopes below `upto` (NULL: all of
 * them) reached a suspension inside them: remember it on each, so that a
 * task group knows its body was cancelled from outside. */
static void mark_outer(corio_task *t, struct corio__scope *upto, int rc)
{
    for (struct corio__scope *s = t->scope; s && s != upto; s = s->parent) {
        s->saw_outer = true;
        s->outer_rc = rc;
        if (s->shield)
            break;
    }
}

int corio__checkpoint(corio_task *t)
{
    bool shield = false;
    int64_t now = -1;

    for (struct corio__scope *s = t->scope; s; s = s->parent) {
        if (!s->cancelled && s->deadline != CORIO__NEVER) {
            if (now < 0)
                now = corio__loop_clock(t->loop);
            if (s->deadline <= now)
                s->cancelled = s->expired = true;
        }
        if (s->cancelled) {
            int rc = s->expired ? -ETIMEDOUT : -ECANCELED;
            s->caught = true;
            mark_outer(t, s, rc);
            return rc;
        }
        if (s->shield) {
            shield = true;
            break;
        }
    }
    if (t->cancel_pending && !shield) {
        t->cancel_pending = false;
        mark_outer(t, NULL, -ECANCELED);
        return -ECANCELED;
    }
    return 0;
}

int corio__park(corio_loop *loop, corio_task *t, int64_t wake_at)
{
    int rc;

    if (unlikely(t->cancel_pending || t->scope)) {
        rc = corio__checkpoint(t);
        if (rc)
            return rc;
    }
    t->wake_at = wake_at;
    for (;;) {
        int64_t due = wake_at < t->deadline ? wake_at : t->deadline;
        /* Cannot fail: every task reserved its heap slot at spawn. */
        if (due != CORIO__NEVER)
            corio__timer_arm(loop, &t->timer, due);
        t->state = CORIO__TASK_PARKED;
        suspend(loop, t);
        if (t->timer.idx)
            corio__timer_disarm(loop, &t->timer);
        rc = t->wake_rc;
        if (rc == CORIO__WAKE_CANCEL) {
            mark_outer(t, NULL, -ECANCELED);
            rc = -ECANCELED;
            break;
        }
        if (rc != CORIO__WAKE_TIMER && rc != CORIO__WAKE_SCOPE)
            break;
        /* Our timer fired, or a scope changed: find out which applies. */
        rc = corio__checkpoint(t);
        if (rc)
            break;
        /* The loop fires a timer once its clock reached the deadline. */
        if (t->wake_rc == CORIO__WAKE_TIMER && wake_at != CORIO__NEVER &&
            loop->now >= wake_at) {
            rc = CORIO__WAKE_TIMER;
            break;
        }
        /* A deadline moved away or a shield went up: wait on. */
    }
    t->wake_at = CORIO__NEVER;
    t->wait_kind = CORIO__WAIT_NONE;
    return rc;
}

int corio__park_nocancel(corio_loop *loop, corio_task *t)
{
    uint8_t kind = t->wait_kind;
    if (kind == CORIO__WAIT_NONE)
        t->wait_kind = CORIO__WAIT_CLEANUP;
    t->nocancel = true;
    t->state = CORIO__TASK_PARKED;
    suspend(loop, t);
    t->nocancel = false;
    t->wait_kind = CORIO__WAIT_NONE;
    return t->wake_rc;
}

bool corio__wake(corio_task *t, int rc)
{
    if (t->state != CORIO__TASK_PARKED)
        return false;
    t->state = CORIO__TASK_READY;
    t->wake_rc = rc;
    corio__ready_push(t->loop, &t->run);
    return true;
}

void corio__repend(corio_task *t, int rc)
{
    if (rc == -ECANCELED)
        t->cancel_pending = true;
}

void corio__task_deadline_changed(corio_task *t)
{
    int64_t d = CORIO__NEVER;
    for (const struct corio__scope *s = t->scope; s; s = s->parent) {
        if (!s->cancelled && s->deadline < d)
            d = s->deadline;
        if (s->shield)
            break;
    }
    t->deadline = d;
    if (t->state != CORIO__TASK_PARKED || t->nocancel)
        return;
    int64_t due = t->wake_at < d ? t->wake_at : d;
    if (due == CORIO__NEVER)
        corio__timer_disarm(t->loop, &t->timer);
    else
        corio__timer_arm(t->loop, &t->timer, due);
}

void corio__notify_all(struct corio__list *waiters)
{
    struct corio__list *n;
    while ((n = corio__list_pop_front(waiters))) {
        struct corio__waiter *w = container_of(n, struct corio__waiter, link);
        if (w->notify)
            w->notify(w);
        else
            corio__wake(w->task, 0);
    }
}

/* ---- public API ---- */

corio_task *corio_loop_spawn_at(corio_loop *loop, corio_fn fn, void *arg,
                                const corio_task_opts *opts,
                                const char *file, int line)
{
    size_t stack_size = 0;

    if (!loop || !fn || loop->closed) {
        errno = EINVAL;
        return NULL;
    }
    if (unlikely(loop->debug) && !corio__debug_thread_ok(loop, "spawn")) {
        errno = EPERM;
        return NULL;
    }
    if (opts && opts->stack_size) {
        stack_size = corio__stack_round(opts->stack_size);
        if (!stack_size) {
            errno = EINVAL;
            return NULL;
        }
    }
    /* Reserve the task's timer slot now, so that parking never fails. */
    if (corio__timer_reserve(loop) < 0) {
        errno = ENOMEM;
        return NULL;
    }
    corio_task *t = corio__slab_alloc(&loop->task_slab);
    if (!t) {
        errno = ENOMEM;
        return NULL;
    }
    t->name = NULL;
    if (opts && opts->name) {
        t->name = corio__strdup(opts->name);
        if (!t->name) {
            corio__slab_free(&loop->task_slab, t);
            errno = ENOMEM;
            return NULL;
        }
    }
    t->run.kind = CORIO__RUN_TASK;
    t->ctx = NULL;
    t->loop = loop;
    t->stack = NULL;
    t->fn = fn;
    t->arg = arg;
    t->result = 0;
    t->wake_rc = 0;
    t->refs = 2; /* the caller's and the scheduler's */
    t->state = CORIO__TASK_NEW;
    t->cancel_pending = false;
    t->started = false;
    t->unstarted = NULL;
    t->shutdown = false;
    t->nocancel = false;
    t->wake_at = CORIO__NEVER;
    t->deadline = CORIO__NEVER;
    t->timer.idx = 0;
    t->timer.kind = CORIO__TIMER_TASK;
    corio__list_init(&t->waiters);
    t->scope = NULL;
    t->group = NULL;
    corio__list_init(&t->group_link);
    t->id = atomic_fetch_add_explicit(&next_id, 1, memory_order_relaxed) + 1;
    t->stack_size = (uint32_t)stack_size;
    t->fpenv = corio__fpenv_save();
    t->site_file = file;
    t->site_line = line;
    t->parent_id = loop->current ? loop->current->id : 0;
    t->observed = false;
    t->wait_kind = CORIO__WAIT_NONE;
    t->wait_obj = NULL;
#if CORIO_ASAN
    t->asan_fake = NULL;
#endif
#if CORIO_TSAN
    t->tsan_fiber = NULL;
#endif
    corio__list_push_back(&loop->tasks, &t->all);
    loop->ntasks++;
    loop->nalive++;
    corio__ready_push(loop, &t->run);
    return t;
}

corio_task *corio_spawn_at(corio_fn fn, void *arg,
                           const corio_task_opts *opts, const char *file,
                           int line)
{
    corio_loop *loop = corio__tls_loop;
    if (!loop) {
        errno = EPERM;
        return NULL;
    }
    return corio_loop_spawn_at(loop, fn, arg, opts, file, line);
}

/* The functions behind the macros of task.h that record the spawn site:
 * callers that take their address, or do not include the header, get
 * these. */
corio_task *(corio_loop_spawn)(corio_loop *loop, corio_fn fn, void *arg,
                               const corio_task_opts *opts)
{
    return corio_loop_spawn_at(loop, fn, arg, opts, NULL, 0);
}

corio_task *(corio_spawn_opts)(corio_fn fn, void *arg,
                               const corio_task_opts *opts)
{
    return corio_spawn_at(fn, arg, opts, NULL, 0);
}

corio_task *(corio_spawn)(corio_fn fn, void *arg)
{
    return corio_spawn_at(fn, arg, NULL, NULL, 0);
}

corio_task *corio_current(void)
{
    corio_loop *loop = corio__tls_loop;
    return loop ? loop->current : NULL;
}

corio_task *corio_task_ref(corio_task *t)
{
    if (t)
        t->refs++;
    return t;
}

void corio_task_unref(corio_task *t)
{
    if (t)
        unref(t);
}

void corio_cancel(corio_task *t)
{
    if (!t || t->state == CORIO__TASK_DONE)
        return;
    if (unlikely(t->loop->debug))
        corio__debug_thread_ok(t->loop, "corio_cancel");
    if (t->state == CORIO__TASK_PARKED && !t->nocancel && !shielded(t)) {
        corio__wake(t, CORIO__WAKE_CANCEL);
        return;
    }
    t->cancel_pending = true;
}

int corio_sleep(double seconds)
{
    corio_loop *loop;
    corio_task *t = corio__self(&loop);

    if (!t)
        return -EPERM;
    if (isnan(seconds))
        return -EINVAL;
    if (seconds <= 0)
        return corio_yield();
    int64_t at = corio__add_ns(corio__loop_clock(loop),
                               corio__sec_to_ns(seconds));
    corio__waiting(t, CORIO__WAIT_SLEEP, NULL);
    int rc = corio__park(loop, t, at);
    return rc == CORIO__WAKE_TIMER ? 0 : rc;
}

int corio_yield(void)
{
    corio_loop *loop;
    corio_task *t = corio__self(&loop);

    if (!t)
        return -EPERM;
    if (unlikely(t->cancel_pending || t->scope)) {
        int rc = corio__checkpoint(t);
        if (rc)
            return rc;
    }
    t->state = CORIO__TASK_READY;
    /* Under a seed, what became ready during the current batch must still
     * run before us: see corio__ready_shuffle. */
    t->run.yielded = (loop->hooks & CORIO__HOOK_SEED) != 0;
    corio__ready_push(loop, &t->run);
    suspend(loop, t);
    /* A cancellation that arrived while we were queued is delivered here,
     * as asyncio.sleep(0) would raise it. */
    if (unlikely(t->cancel_pending || t->scope))
        return corio__checkpoint(t);
    return 0;
}

int corio_checkpoint_if_cancelled(void)
{
    corio_loop *loop;
    corio_task *t = corio__self(&loop);

    if (!t)
        return -EPERM;
    if (unlikely(t->cancel_pending || t->scope))
        return corio__checkpoint(t);
    return 0;
}

int corio_join(corio_task *t)
{
    corio_loop *loop;
    corio_task *self = corio__self(&loop);
    int rc;

    if (!t || t == self)
        return -EINVAL;
    if (t->state == CORIO__TASK_DONE) {
        t->observed = true;
        rc = t->result;
        unref(t);
        return rc;
    }
    if (!self)
        return -EPERM;
    if (t->loop != loop)
        return -EINVAL;
    t->observed = true;
    corio__waiting(self, CORIO__WAIT_JOIN, t);
    struct corio__waiter w = {.notify = NULL, .task = self};
    corio__list_push_back(&t->waiters, &w.link);
    rc = corio__park(loop, self, CORIO__NEVER);
    if (t->state != CORIO__TASK_DONE) {
        /* Cancelled (or timed out) while waiting: as when awaiting a task
         * in asyncio, the cancellation goes on to t, and we wait for it
         * to unwind, out of reach of further cancellation. */
        corio_cancel(t);
        while (t->state != CORIO__TASK_DONE)
            corio__park_nocancel(loop, self);
        if (t->result != -ECANCELED) {
            /* t finished anyway: its result is not lost, and our
             * cancellation waits for our next suspension. */
            corio__repend(self, rc);
            rc = t->result;
        }
    } else {
        /* Ended before we ran again: the result wins, and a cancellation
         * that raced it is kept for our next suspension. */
        corio__repend(self, rc);
        rc = t->result;
    }
    corio__list_remove(&w.link);
    unref(t);
    return rc;
}

const char *corio_task_name(corio_task *t)
{
    if (!t)
        return NULL;
    if (!t->name) {
        char buf[32];
        snprintf(buf, sizeof buf, "Task-%llu", (unsigned long long)t->id);
        t->name = corio__strdup(buf);
        if (!t->name)
            return "Task";
    }
    return t->name;
}

int corio_task_set_name(corio_task *t, const char *name)
{
    if (!t || !name)
        return -EINVAL;
    char *n = corio__strdup(name);
    if (!n)
        return -ENOMEM;
    corio__free(t->name);
    t->name = n;
    return 0;
}

uint64_t corio_task_id(const corio_task *t)
{
    return t ? t->id : 0;
}

corio_loop *corio_task_loop(const corio_task *t)
{
    return t ? t->loop : NULL;
}

bool corio_task_done(const corio_task *t)
{
    return t && t->state == CORIO__TASK_DONE;
}

bool corio_task_cancelled(const corio_task *t)
{
    return t && t->state == CORIO__TASK_DONE && t->result == -ECANCELED;
}

bool corio_task_cancelling(const corio_task *t)
{
    if (!t || t->state == CORIO__TASK_DONE)
        return false;
    /* Pending, or already handed to the parked task by waking it. */
    return t->cancel_pending || (t->state == CORIO__TASK_READY &&
                                 t->wake_rc == CORIO__WAKE_CANCEL);
}

int corio_task_result(const corio_task *t, int *result)
{
    if (!t || !result)
        return -EINVAL;
    if (t->state != CORIO__TASK_DONE)
        return -EBUSY;
    ((corio_task *)t)->observed = true;
    *result = t->result;
    return 0;
}

size_t corio_loop_all_tasks(corio_loop *loop, corio_task **buf, size_t cap)
{
    size_t n = 0;
    if (!loop)
        return 0;
    for (struct corio__list *l = loop->tasks.next; l != &loop->tasks;
         l = l->next) {
        corio_task *t = container_of(l, corio_task, all);
        if (t->state == CORIO__TASK_DONE)
            continue;
        if (n < cap)
            buf[n] = corio_task_ref(t);
        n++;
    }
    return n;
}

size_t corio_all_tasks(corio_task **buf, size_t cap)
{
    return corio_loop_all_tasks(corio__tls_loop, buf, cap);
}

/* Free every task of a loop that is being destroyed by corio_run: they
 * have all ended, but references the program leaked would otherwise keep
 * them forever. */
void corio__task_free_all(corio_loop *loop)
{
    struct corio__list *n;
    while ((n = corio__list_pop_front(&loop->tasks))) {
        corio_task *t = container_of(n, corio_task, all);
        corio__list_init(&t->all);
        corio__free(t->name);
        t->name = NULL;
        loop->ntasks--;
    }
}

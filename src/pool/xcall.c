/* SPDX-License-Identifier: MIT */
/* Running a task on another loop and waiting for its result: from a plain
 * thread (corio_loop_submit, asyncio.run_coroutine_threadsafe) or from a
 * task of another loop (corio_loop_call). A request is a refcounted heap
 * object: the target loop starts the task from a call_soon_threadsafe
 * callback and learns of its end through a waiter on the task, and the
 * requester blocks on a condition variable or parks on its loop's port. */
#include "pool/pool.h"

#include "corio/multi.h"

#include <math.h>
#include <sched.h>
#include <stdlib.h>
#include <time.h>

struct corio_submission {
    atomic_uint refs;       /* requester, target side, a queued cancel */
    corio_loop *target;
    corio_fn fn;
    void *arg;
    corio_task *task;       /* on the target thread only; NULL when ended */
    struct corio__waiter waiter; /* on task's waiters: tells us its end */
    atomic_bool cancel;     /* cancellation requested (any thread) */
    int result;             /* written once, before done */
    /* Completion for a blocking requester. */
    bool blocking;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool done;              /* guarded by lock */
    /* Completion for a task requester: its port. */
    struct corio__loopx *x;
    struct corio__post post;
    struct corio__xwait wait;
};

static void xc_unref(corio_submission *s)
{
    /* acq_rel: the last one out sees the others' writes. */
    if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
        return;
    if (s->blocking) {
        pthread_cond_destroy(&s->cond);
        pthread_mutex_destroy(&s->lock);
    }
    corio__free(s);
}

/* The task ended (or never started): hand over the result and drop the
 * target side's reference. On the target thread. */
static void complete(corio_submission *s, int result)
{
    s->result = result;
    if (s->blocking) {
        pthread_mutex_lock(&s->lock);
        s->done = true;
        pthread_cond_broadcast(&s->cond);
        pthread_mutex_unlock(&s->lock);
    } else {
        corio__port_post(s->x, &s->post);
    }
    xc_unref(s);
}

/* corio__waiter notify: the task ended, whichever way. */
static void on_end(struct corio__waiter *w)
{
    corio_submission *s = w->data;
    corio_task *t = s->task;
    s->task = NULL;
    int result = t->result;
    corio_task_unref(t);
    complete(s, result);
}

/* On the target thread: start the task, unless cancelled already. */
static void start_cb(void *arg)
{
    corio_submission *s = arg;
    if (atomic_load_explicit(&s->cancel, memory_order_relaxed)) {
        complete(s, -ECANCELED);
        return;
    }
    corio_task *t = corio_loop_spawn(s->target, s->fn, s->arg, NULL);
    if (!t) {
        complete(s, -errno);
        return;
    }
    s->task = t;
    s->waiter.notify = on_end;
    s->waiter.task = NULL;
    s->waiter.data = s;
    corio__list_push_back(&t->waiters, &s->waiter.link);
}

/* On the target thread: cancel the task if it still runs. start_cb ran
 * before (both come through the loop's FIFO, queued in that order). */
static void cancel_cb(void *arg)
{
    corio_submission *s = arg;
    if (s->task)
        corio_cancel(s->task);
    xc_unref(s);
}

static corio_submission *xc_new(corio_loop *loop, corio_fn fn, void *arg,
                                bool blocking)
{
    corio_submission *s = corio__calloc(1, sizeof *s);
    if (!s) {
        errno = ENOMEM;
        return NULL;
    }
    s->target = loop;
    s->fn = fn;
    s->arg = arg;
    s->blocking = blocking;
    atomic_init(&s->refs, 2);
    atomic_init(&s->cancel, false);
    if (blocking) {
        if (pthread_mutex_init(&s->lock, NULL) != 0)
            goto err_free;
        if (pthread_cond_init(&s->cond, NULL) != 0) {
            pthread_mutex_destroy(&s->lock);
            goto err_free;
        }
    }
    return s;

err_free:
    corio__free(s);
    errno = ENOMEM;
    return NULL;
}

/* Queue cancel_cb on the target; an allocation failure is retried, since
 * the caller must not leave before the remote task ends. */
static void send_cancel(corio_submission *s)
{
    atomic_store_explicit(&s->cancel, true, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
    while (corio_loop_call_soon_threadsafe(s->target, cancel_cb, s) ==
           -ENOMEM)
        sched_yield();
}

/* ---- from plain threads ---- */

corio_submission *corio_loop_submit(corio_loop *loop, corio_fn fn, void *arg)
{
    if (!loop || !fn) {
        errno = EINVAL;
        return NULL;
    }
    corio_submission *s = xc_new(loop, fn, arg, true);
    if (!s)
        return NULL;
    int rc = corio_loop_call_soon_threadsafe(loop, start_cb, s);
    if (rc < 0) {
        atomic_store(&s->refs, 1);
        xc_unref(s);
        errno = -rc;
        return NULL;
    }
    return s;
}

int corio_submission_wait(corio_submission *s, double timeout, int *result)
{
    if (!s || isnan(timeout))
        return -EINVAL;
    struct timespec until;
    if (timeout >= 0) {
        clock_gettime(CLOCK_REALTIME, &until);
        double whole = floor(timeout);
        until.tv_sec += (time_t)whole;
        until.tv_nsec += (long)((timeout - whole) * 1e9);
        if (until.tv_nsec >= 1000000000) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000;
        }
    }
    pthread_mutex_lock(&s->lock);
    int rc = 0;
    while (!s->done) {
        /* Waiting on the loop's own thread would never end. */
        if (corio__tls_loop == s->target) {
            rc = -EDEADLK;
            break;
        }
        if (timeout < 0) {
            pthread_cond_wait(&s->cond, &s->lock);
        } else if (pthread_cond_timedwait(&s->cond, &s->lock, &until) ==
                   ETIMEDOUT) {
            rc = s->done ? 0 : -ETIMEDOUT;
            break;
        }
    }
    if (rc == 0 && result)
        *result = s->result;
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int corio_submission_cancel(corio_submission *s)
{
    if (!s)
        return -EINVAL;
    if (corio_submission_done(s))
        return -EALREADY;
    atomic_store_explicit(&s->cancel, true, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
    int rc = corio_loop_call_soon_threadsafe(s->target, cancel_cb, s);
    if (rc < 0)
        xc_unref(s);
    return rc;
}

bool corio_submission_done(corio_submission *s)
{
    if (!s)
        return false;
    pthread_mutex_lock(&s->lock);
    bool done = s->done;
    pthread_mutex_unlock(&s->lock);
    return done;
}

void corio_submission_free(corio_submission *s)
{
    if (s)
        xc_unref(s);
}

/* ---- from a task of another loop ---- */

static void call_posted(struct corio__post *p)
{
    corio_submission *s = container_of(p, corio_submission, post);
    corio__xwait_done(&s->wait);
}

int corio__loop_call(corio_loop *target, corio_fn fn, void *arg)
{
    corio_loop *loop;
    corio_task *self = corio__self(&loop);

    if (!target || !fn)
        return -EINVAL;
    if (!self)
        return -EPERM;
    if (target == loop) {
        corio_task *t = corio_spawn(fn, arg);
        if (!t)
            return -errno;
        return corio_join(t);
    }
    struct corio__loopx *x = corio__loopx_get(loop);
    if (!x)
        return -errno;
    int rc = corio__checkpoint(self);
    if (rc < 0)
        return rc;
    corio_submission *s = xc_new(target, fn, arg, false);
    if (!s)
        return -ENOMEM;
    s->x = x;
    s->post.fn = call_posted;
    s->wait.task = self;
    s->wait.done = false;
    rc = corio_loop_call_soon_threadsafe(target, start_cb, s);
    if (rc < 0) {
        atomic_store(&s->refs, 1);
        xc_unref(s);
        return rc;
    }
    rc = corio__port_wait(x, &s->wait, false);
    if (rc < 0) {
        /* As awaiting a task: cancel it, and wait for it to end, since it
         * may use the caller's arg. */
        send_cancel(s);
        corio__port_wait(x, &s->wait, true);
    } else {
        rc = s->result;
    }
    xc_unref(s);
    return rc;
}

int corio_loop_call(corio_loop *loop, corio_fn fn, void *arg)
{
    return corio__loop_call(loop, fn, arg);
}

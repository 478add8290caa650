/* SPDX-License-Identifier: MIT */
/* Waiting for many tasks: gather, wait, wait_for and as_completed, as
 * asyncio defines them. Each puts one waiter on every task it watches;
 * the waiter's notify function counts completions and wakes the waiting
 * task only when its condition holds, so n tasks cost n wake-ups at most
 * one of which switches to the waiter. */
#include "core/core.h"

#include <string.h>

#define STACK_WAITERS 16 /* more than this and the waiters go on the heap */

static bool is_cancel(int rc)
{
    return rc == -ECANCELED || rc == -ETIMEDOUT;
}

/* Check the arguments every multi-task wait shares. */
static int check_tasks(corio_loop *loop, corio_task *self,
                       corio_task *const *tasks, size_t n)
{
    if (!tasks || n == 0)
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!tasks[i] || tasks[i] == self || tasks[i]->loop != loop)
            return -EINVAL;
    return 0;
}

/* ---- gather ---- */

struct gather {
    corio_task *self;
    corio_task *const *tasks;
    struct corio__waiter *w;
    char *results;     /* result i is the int at results + i * stride */
    size_t stride;
    size_t left;       /* tasks not yet done */
    int err;           /* first failure */
    bool all;          /* CORIO_RETURN_EXCEPTIONS */
};

static void gather_record(struct gather *g, size_t i)
{
    int rc = g->tasks[i]->result;
    if (g->results)
        memcpy(g->results + i * g->stride, &rc, sizeof rc);
    g->left--;
    if (rc < 0 && !g->err)
        g->err = rc;
}

static void gather_notify(struct corio__waiter *w)
{
    struct gather *g = w->data;
    gather_record(g, (size_t)(w - g->w));
    if (g->left == 0 || (g->err && !g->all))
        corio__wake(g->self, 0);
}

/* Gather n tasks using the n waiters w (allocated by the caller, so that
 * running out of memory is found before any task exists). Consumes the
 * tasks' references. */
static int gather(corio_loop *loop, corio_task *self,
                  corio_task *const *tasks, size_t n, void *results,
                  size_t stride, unsigned flags, struct corio__waiter *w)
{
    struct gather g = {
        .self = self,
        .tasks = tasks,
        .w = w,
        .results = results,
        .stride = stride,
        .left = n,
        .all = flags & CORIO_RETURN_EXCEPTIONS,
    };

    for (size_t i = 0; i < n; i++) {
        corio__list_init(&g.w[i].link);
        g.w[i].notify = gather_notify;
        g.w[i].task = self;
        g.w[i].data = &g;
        if (tasks[i]->state == CORIO__TASK_DONE)
            gather_record(&g, i);
        else
            corio__list_push_back(&tasks[i]->waiters, &g.w[i].link);
    }

    int rc = 0;
    while (g.left && !(g.err && !g.all)) {
        corio__waiting(self, CORIO__WAIT_TASKS, tasks);
        rc = corio__park(loop, self, CORIO__NEVER);
        if (is_cancel(rc))
            break;
        rc = 0;
    }
    if (is_cancel(rc) && g.left) {
        /* Cancelled: cancel the children and wait for them to unwind, so
         * that none outlives the call (asyncio's gather does the same). */
        for (size_t i = 0; i < n; i++)
            if (tasks[i]->state != CORIO__TASK_DONE)
                corio_cancel(tasks[i]);
        while (g.left)
            corio__park_nocancel(loop, self);
    } else if (is_cancel(rc)) {
        corio__repend(self, rc); /* everything finished: keep results */
        rc = 0;
    }
    for (size_t i = 0; i < n; i++) {
        corio__list_remove(&g.w[i].link);
        corio_task_unref(tasks[i]);
    }
    if (rc)
        return rc;
    return g.all ? 0 : g.err;
}

static struct corio__waiter *waiters(size_t n, struct corio__waiter *stack)
{
    return n <= STACK_WAITERS ? stack : corio__malloc(n * sizeof *stack);
}

int corio_gather_tasks(corio_task *const *tasks, size_t n, int *results,
                       unsigned flags)
{
    corio_loop *loop;
    corio_task *self = corio__self(&loop);
    if (!self)
        return -EPERM;
    int rc = check_tasks(loop, self, tasks, n);
    if (rc < 0)
        return rc;
    struct corio__waiter stack_w[STACK_WAITERS];
    struct corio__waiter *w = waiters(n, stack_w);
    if (!w)
        return -ENOMEM;
    rc = gather(loop, self, tasks, n, results, sizeof(int), flags, w);
    if (w != stack_w)
        corio__free(w);
    return rc;
}

int corio_gather(corio_call *calls, size_t n, unsigned flags)
{
    corio_loop *loop;
    corio_task *self = corio__self(&loop);
    corio_task *stack_t[STACK_WAITERS];

    if (!self)
        return -EPERM;
    if (!calls || n == 0)
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!calls[i].fn)
            return -EINVAL;
    struct corio__waiter stack_w[STACK_WAITERS];
    corio_task **t =
        n <= STACK_WAITERS ? stack_t : corio__malloc(n * sizeof *t);
    struct corio__waiter *w = waiters(n, stack_w);
    int rc = -ENOMEM;
    if (!t || !w)
        goto out;
    for (size_t i = 0; i < n; i++) {
        t[i] = (corio_loop_spawn)(loop, calls[i].fn, calls[i].arg, NULL);
        if (!t[i]) {
            /* None has run yet: cancelled now, they end unstarted. */
            while (i--) {
                corio_cancel(t[i]);
                corio_task_unref(t[i]);
            }
            goto out;
        }
    }
    rc = gather(loop, self, t, n, &calls[0].result, sizeof(corio_call),
                flags, w);
out:
    if (t != stack_t)
        corio__free(t);
    if (w != stack_w)
        corio__free(w);
    return rc;
}

/* ---- wait ---- */

struct wait {
    corio_task *self;
    corio_task *const *tasks;
    struct corio__waiter *w;
    size_t n;
    size_t done;
    bool failed; /* a done task returned < 0 */
    int mode;
};

static bool wait_met(const struct wait *w)
{
    switch (w->mode) {
    case CORIO_FIRST_COMPLETED:
        return w->done > 0;
    case CORIO_FIRST_EXCEPTION:
        return w->failed || w->done == w->n;
    default:
        return w->done == w->n;
    }
}

static void wait_record(struct wait *w, size_t i)
{
    w->done++;
    if (w->tasks[i]->result < 0)
        w->failed = true;
}

static void wait_notify(struct corio__waiter *wt)
{
    struct wait *w = wt->data;
    wait_record(w, (size_t)(wt - w->w));
    if (wait_met(w))
        corio__wake(w->self, 0);
}

int corio_wait(corio_task *const *tasks, size_t n, int mode, double timeout)
{
    corio_loop *loop;
    corio_task *self = corio__self(&loop);
    struct corio__waiter stack_w[STACK_WAITERS];

    if (!self)
        return -EPERM;
    if (mode < CORIO_FIRST_COMPLETED || mode > CORIO_ALL_COMPLETED ||
        timeout != timeout)
        return -EINVAL;
    int rc = check_tasks(loop, self, tasks, n);
    if (rc < 0)
        return rc;
    struct wait w = {.self = self, .tasks = tasks, .n = n, .mode = mode};
    for (size_t i = 0; i < n; i++)
        if (tasks[i]->state == CORIO__TASK_DONE)
            wait_record(&w, i);
    if (wait_met(&w))
        return (int)w.done;
    if (timeout == 0)
        return (int)w.done;

    w.w = n <= STACK_WAITERS ? stack_w : corio__malloc(n * sizeof *w.w);
    if (!w.w)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        corio__list_init(&w.w[i].link);
        w.w[i].notify = wait_notify;
        w.w[i].task = self;
        w.w[i].data = &w;
        if (tasks[i]->state != CORIO__TASK_DONE)
            corio__list_push_back(&tasks[i]->waiters, &w.w[i].link);
    }
    int64_t at = timeout < 0 ? CORIO__NEVER
                             : corio__add_ns(corio__loop_clock(loop),
                                             corio__sec_to_ns(timeout));
    corio__waiting(self, CORIO__WAIT_TASKS, tasks);
    rc = corio__park(loop, self, at);
    for (size_t i = 0; i < n; i++)
        corio__list_remove(&w.w[i].link);
    if (w.w != stack_w)
        corio__free(w.w);
    if (is_cancel(rc) && !wait_met(&w))
        return rc;
    corio__repend(self, rc);
    return (int)w.done;
}

/* ---- wait_for ---- */

int corio_wait_for(corio_task *t, double timeout)
{
    corio_loop *loop;
    corio_task *self = corio__self(&loop);
    int rc;

    if (!t || t == self || timeout != timeout)
        return -EINVAL;
    if (t->state == CORIO__TASK_DONE) {
        rc = t->result;
        corio_task_unref(t);
        return rc;
    }
    if (!self)
        return -EPERM;
    if (t->loop != loop)
        return -EINVAL;

    struct corio__waiter w = {.notify = NULL, .task = self};
    corio__list_init(&w.link);
    corio__list_push_back(&t->waiters, &w.link);
    int64_t at = timeout < 0 ? CORIO__NEVER
                             : corio__add_ns(corio__loop_clock(loop),
                                             corio__sec_to_ns(timeout));
    corio__waiting(self, CORIO__WAIT_JOIN, t);
    rc = corio__park(loop, self, at);
    if (t->state != CORIO__TASK_DONE) {
        /* Timed out or cancelled: cancel t and wait for it to unwind, out
         * of reach of further cancellation, which stays pending. */
        corio_cancel(t);
        while (t->state != CORIO__TASK_DONE)
            corio__park_nocancel(loop, self);
        if (rc == CORIO__WAKE_TIMER)
            rc = t->result == -ECANCELED ? -ETIMEDOUT : t->result;
        else if (t->result != -ECANCELED)
            rc = (corio__repend(self, rc), t->result);
    } else {
        /* Completed, perhaps at the same moment as the timeout or a
         * cancellation: the result is never lost, and a cancellation is
         * held for our next suspension. */
        if (rc != CORIO__WAKE_TIMER)
            corio__repend(self, rc);
        rc = t->result;
    }
    corio__list_remove(&w.link);
    corio_task_unref(t);
    return rc;
}

/* ---- as_completed ---- */

struct corio_as_completed {
    corio_loop *loop;
    corio_task *waiting;     /* task parked in next(), or NULL */
    int64_t deadline;
    size_t n;
    size_t head, tail;       /* finished indices in order[head, tail) */
    size_t *order;           /* completion order */
    struct corio__waiter *w; /* one per task */
};

static void ac_notify(struct corio__waiter *wt)
{
    corio_as_completed *ac = wt->data;
    ac->order[ac->tail++] = (size_t)(wt - ac->w);
    if (ac->waiting)
        corio__wake(ac->waiting, 0);
}

corio_as_completed *corio_as_completed_new(corio_task *const *tasks,
                                           size_t n, double timeout)
{
    corio_loop *loop;
    corio_task *self = corio__self(&loop);

    if (!self) {
        errno = EPERM;
        return NULL;
    }
    if (timeout != timeout || check_tasks(loop, self, tasks, n) < 0) {
        errno = EINVAL;
        return NULL;
    }
    corio_as_completed *ac = corio__calloc(1, sizeof *ac);
    if (!ac)
        goto err;
    ac->order = corio__malloc(n * sizeof *ac->order);
    if (!ac->order)
        goto err_free_ac;
    ac->w = corio__malloc(n * sizeof *ac->w);
    if (!ac->w)
        goto err_free_order;
    ac->loop = loop;
    ac->n = n;
    ac->deadline = timeout < 0 ? CORIO__NEVER
                               : corio__add_ns(corio__loop_clock(loop),
                                               corio__sec_to_ns(timeout));
    for (size_t i = 0; i < n; i++) {
        corio__list_init(&ac->w[i].link);
        ac->w[i].notify = ac_notify;
        ac->w[i].task = NULL;
        ac->w[i].data = ac;
        if (tasks[i]->state == CORIO__TASK_DONE)
            ac->order[ac->tail++] = i;
        else
            corio__list_push_back(&tasks[i]->waiters, &ac->w[i].link);
    }
    return ac;

err_free_order:
    corio__free(ac->order);
err_free_ac:
    corio__free(ac);
err:
    errno = ENOMEM;
    return NULL;
}

int corio_as_completed_next(corio_as_completed *ac)
{
    corio_loop *loop;
    corio_task *self = corio__self(&loop);

    if (!ac)
        return -EINVAL;
    if (ac->head == ac->n)
        return -ENOENT;
    if (ac->head < ac->tail)
        return (int)ac->order[ac->head++];
    if (!self)
        return -EPERM;
    if (ac->waiting || loop != ac->loop)
        return -EINVAL;
    ac->waiting = self;
    corio__waiting(self, CORIO__WAIT_TASKS, ac);
    int rc = corio__park(loop, self, ac->deadline);
    ac->waiting = NULL;
    if (ac->head < ac->tail) {
        if (rc != CORIO__WAKE_TIMER)
            corio__repend(self, rc);
        return (int)ac->order[ac->head++];
    }
    return rc == CORIO__WAKE_TIMER ? -ETIMEDOUT : rc;
}

void corio_as_completed_free(corio_as_completed *ac)
{
    if (!ac)
        return;
    for (size_t i = 0; i < ac->n; i++)
        corio__list_remove(&ac->w[i].link);
    corio__free(ac->w);
    corio__free(ac->order);
    corio__free(ac);
}

/* SPDX-License-Identifier: MIT */
/* Futures (asyncio.Future): a one-shot result that tasks await and that
 * tasks or callbacks complete. Done callbacks run from the loop as
 * callbacks of their own, as asyncio schedules them with call_soon; their
 * registration record doubles as the ready-queue entry, so completing a
 * future never allocates and cannot fail. */
#include "core/core.h"

#include <stdlib.h>

enum { PENDING, DONE, CANCELLED };

struct corio_future {
    corio_loop *loop;
    uint32_t refs;
    uint8_t state;
    int err;                    /* 0, or the error of set_error */
    void *value;                /* the result of set_result */
    struct corio__list waiters; /* tasks in corio_future_await */
    struct corio__list cbs;     /* struct future_cb not yet scheduled */
};

struct future_cb {
    struct corio__runnable run; /* first: queued when the future is done */
    struct corio__list link;    /* on cbs until then */
    corio_future *f;            /* holds a reference while queued */
    corio_future_fn fn;
    void *arg;
};

corio_future *corio_future_new(corio_loop *loop)
{
    if (!loop)
        loop = corio__tls_loop;
    if (!loop) {
        errno = EPERM;
        return NULL;
    }
    corio_future *f = corio__calloc(1, sizeof *f);
    if (!f) {
        errno = ENOMEM;
        return NULL;
    }
    f->loop = loop;
    f->refs = 1;
    f->state = PENDING;
    corio__list_init(&f->waiters);
    corio__list_init(&f->cbs);
    return f;
}

corio_future *corio_future_ref(corio_future *f)
{
    if (f)
        f->refs++;
    return f;
}

void corio_future_unref(corio_future *f)
{
    if (!f || --f->refs)
        return;
    /* Registrations of a future that never completed die with it. */
    struct corio__list *n;
    while ((n = corio__list_pop_front(&f->cbs)))
        corio__free(container_of(n, struct future_cb, link));
    corio__free(f);
}

static void queue_cb(corio_loop *loop, struct future_cb *cb)
{
    cb->run.kind = CORIO__RUN_FUTURE_CB;
    cb->f->refs++;
    loop->nhandles++;
    corio__ready_push(loop, &cb->run);
}

static int complete(corio_future *f, uint8_t state, void *value, int err)
{
    if (!f || f->state != PENDING)
        return -EINVAL;
    if (unlikely(f->loop->debug) &&
        !corio__debug_thread_ok(f->loop, "a future's set_result"))
        return -EPERM;
    f->state = state;
    f->value = value;
    f->err = err;
    corio__notify_all(&f->waiters);
    struct corio__list *n;
    while ((n = corio__list_pop_front(&f->cbs)))
        queue_cb(f->loop, container_of(n, struct future_cb, link));
    return 0;
}

void corio__future_cb_run(corio_loop *loop, struct corio__runnable *r)
{
    struct future_cb *cb = (struct future_cb *)r;
    corio_future *f = cb->f;
    loop->nhandles--;
    cb->fn(f, cb->arg);
    corio__free(cb);
    corio_future_unref(f);
}

int corio_future_set_result(corio_future *f, void *value)
{
    return complete(f, DONE, value, 0);
}

int corio_future_set_error(corio_future *f, int err)
{
    if (err >= 0)
        return -EINVAL;
    return complete(f, DONE, NULL, err);
}

bool corio_future_cancel(corio_future *f)
{
    return complete(f, CANCELLED, NULL, -ECANCELED) == 0;
}

bool corio_future_done(const corio_future *f)
{
    return f && f->state != PENDING;
}

bool corio_future_cancelled(const corio_future *f)
{
    return f && f->state == CANCELLED;
}

int corio_future_result(const corio_future *f, void **value)
{
    if (!f)
        return -EINVAL;
    if (f->state == PENDING)
        return -EAGAIN;
    if (f->err)
        return f->err;
    if (value)
        *value = f->value;
    return 0;
}

int corio_future_await(corio_future *f, void **value)
{
    corio_loop *loop;
    corio_task *self = corio__self(&loop);

    if (!f)
        return -EINVAL;
    if (f->state != PENDING)
        return corio_future_result(f, value);
    if (!self)
        return -EPERM;
    if (f->loop != loop)
        return -EINVAL;
    struct corio__waiter w = {.notify = NULL, .task = self};
    corio__list_push_back(&f->waiters, &w.link);
    f->refs++; /* another task may drop the last reference meanwhile */
    corio__waiting(self, CORIO__WAIT_FUTURE, f);
    int rc = corio__park(loop, self, CORIO__NEVER);
    corio__list_remove(&w.link);
    if (f->state != PENDING) {
        /* Done before we ran again: the result wins; a racing
         * cancellation waits for our next suspension. */
        corio__repend(self, rc);
        rc = corio_future_result(f, value);
    } else {
        /* asyncio: cancelling a task that awaits a future cancels the
         * future. */
        corio_future_cancel(f);
    }
    corio_future_unref(f);
    return rc;
}

int corio_future_add_done_callback(corio_future *f, corio_future_fn fn,
                                   void *arg)
{
    if (!f || !fn)
        return -EINVAL;
    struct future_cb *cb = corio__malloc(sizeof *cb);
    if (!cb)
        return -ENOMEM;
    cb->f = f;
    cb->fn = fn;
    cb->arg = arg;
    if (f->state != PENDING)
        queue_cb(f->loop, cb);
    else
        corio__list_push_back(&f->cbs, &cb->link);
    return 0;
}

int corio_future_remove_done_callback(corio_future *f, corio_future_fn fn,
                                      void *arg)
{
    int n = 0;
    if (!f)
        return 0;
    struct corio__list *l = f->cbs.next;
    while (l != &f->cbs) {
        struct corio__list *next = l->next;
        struct future_cb *cb = container_of(l, struct future_cb, link);
        if (cb->fn == fn && cb->arg == arg) {
            corio__list_remove(l);
            corio__free(cb);
            n++;
        }
        l = next;
    }
    return n;
}

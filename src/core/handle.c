/* SPDX-License-Identifier: MIT */
/* Callbacks on the loop: call_soon, call_later, call_at, their handles, and
 * call_soon_threadsafe.
 *
 * A corio_handle is a pointer plus a generation. Handles come from the
 * loop's slab and stay handle-shaped until the loop closes, and a handle's
 * generation grows each time it stops being pending; so cancelling through
 * a stale corio_handle finds a different generation and does nothing, with
 * no reference counting on the hot path. */
#include "core/core.h"

#include <math.h>
#include <unistd.h>

static int schedule(corio_loop *loop, int64_t when, corio_callback_fn fn,
                    void *arg, corio_handle *out)
{
    if (!loop || !fn || loop->closed)
        return -EINVAL;
    if (unlikely(loop->debug) && !corio__debug_thread_ok(loop, "call_soon"))
        return -EPERM;
    if (when >= 0 && corio__timer_reserve(loop) < 0)
        return -ENOMEM;
    struct corio__handle *h = corio__slab_alloc(&loop->handle_slab);
    if (!h)
        return -ENOMEM;
    h->run.kind = CORIO__RUN_HANDLE;
    h->loop = loop;
    h->fn = fn;
    h->arg = arg;
    h->timer.kind = CORIO__TIMER_HANDLE;
    h->timer.idx = 0;
    if (when < 0) {
        h->state = CORIO__HANDLE_READY;
        corio__ready_push(loop, &h->run);
    } else {
        h->state = CORIO__HANDLE_TIMED;
        corio__timer_arm(loop, &h->timer, when); /* reserved: cannot fail */
    }
    loop->nhandles++;
    if (out) {
        out->ptr_ = h;
        out->gen_ = h->gen;
    }
    return 0;
}

int corio_loop_call_soon(corio_loop *loop, corio_callback_fn fn, void *arg,
                         corio_handle *h)
{
    return schedule(loop, -1, fn, arg, h);
}

int corio_loop_call_later(corio_loop *loop, double delay,
                          corio_callback_fn fn, void *arg, corio_handle *h)
{
    if (isnan(delay))
        return -EINVAL;
    return schedule(loop, corio__add_ns(corio__loop_clock(loop),
                                        corio__sec_to_ns(delay)),
                    fn, arg, h);
}

int corio_loop_call_at(corio_loop *loop, double when, corio_callback_fn fn,
                       void *arg, corio_handle *h)
{
    if (isnan(when))
        return -EINVAL;
    return schedule(loop, corio__time_to_ns(when), fn, arg, h);
}

/* A timed handle is due: queue it behind what is ready. */
void corio__handle_fire(corio_loop *loop, struct corio__handle *h)
{
    h->state = CORIO__HANDLE_READY;
    corio__ready_push(loop, &h->run);
}

/* The ready queue reached h. The handle is freed before the callback runs,
 * so the callback may schedule again, and cancelling its own handle from
 * inside reports -ENOENT, as it has already run. */
void corio__handle_run(corio_loop *loop, struct corio__handle *h)
{
    if (h->state == CORIO__HANDLE_CANCELLED) {
        h->state = CORIO__HANDLE_FREE;
        corio__slab_free(&loop->handle_slab, h);
        return;
    }
    corio_callback_fn fn = h->fn;
    void *arg = h->arg;
    h->gen++;
    h->state = CORIO__HANDLE_FREE;
    corio__slab_free(&loop->handle_slab, h);
    loop->nhandles--;
    fn(arg);
}

int corio_handle_cancel(corio_handle hv)
{
    struct corio__handle *h = hv.ptr_;
    if (!h || h->gen != hv.gen_)
        return -ENOENT;
    corio_loop *loop = h->loop;
    switch (h->state) {
    case CORIO__HANDLE_TIMED:
        corio__timer_disarm(loop, &h->timer);
        h->gen++;
        h->state = CORIO__HANDLE_FREE;
        corio__slab_free(&loop->handle_slab, h);
        loop->nhandles--;
        return 0;
    case CORIO__HANDLE_READY:
        /* The ready queue is singly linked: leave the handle there, marked,
         * and free it when the queue reaches it. */
        h->gen++;
        h->state = CORIO__HANDLE_CANCELLED;
        loop->nhandles--;
        return 0;
    default:
        return -ENOENT;
    }
}

bool corio_handle_pending(corio_handle hv)
{
    struct corio__handle *h = hv.ptr_;
    return h && h->gen == hv.gen_ &&
           (h->state == CORIO__HANDLE_READY ||
            h->state == CORIO__HANDLE_TIMED);
}

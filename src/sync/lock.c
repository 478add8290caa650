/* SPDX-License-Identifier: MIT */
/* asyncio.Lock: FIFO-fair. Release hands the lock straight to the longest
 * waiting task, so a task that arrives later cannot barge in, and a
 * cancelled waiter (already woken) is passed over. */
#include "sync/sync.h"

#include <assert.h>
#include <string.h>

static_assert(sizeof(struct corio__lock) <= sizeof(corio_lock),
              "corio_lock too small");

void corio_lock_init(corio_lock *l)
{
    memset(l, 0, sizeof *l);
}

int corio_lock_acquire(corio_lock *lv)
{
    struct corio__lock *l = corio__lock(lv);
    corio_loop *loop;
    corio_task *self = corio__self(&loop);

    if (!lv)
        return -EINVAL;
    if (!l->locked && corio__wq_empty(&l->wq)) {
        l->locked = true;
        l->owner = self;
        return 0;
    }
    if (!self)
        return -EPERM;
    struct corio__wq_node n = {.task = self};
    corio__wq_push(&l->wq, &n);
    corio__waiting(self, CORIO__WAIT_LOCK, lv);
    int rc = corio__park(loop, self, CORIO__NEVER);
    corio__wq_remove(&l->wq, &n);
    /* 0 only from corio_lock_release, which handed us the lock. */
    return rc;
}

/* Acquire without giving up on cancellation: Condition.wait must hold the
 * lock again when it returns, even when it was cancelled. */
void corio__lock_acquire_nocancel(struct corio__lock *l, corio_loop *loop,
                                  corio_task *self)
{
    if (!l->locked && corio__wq_empty(&l->wq)) {
        l->locked = true;
        l->owner = self;
        return;
    }
    struct corio__wq_node n = {.task = self};
    corio__wq_push(&l->wq, &n);
    corio__park_nocancel(loop, self);
    assert(!n.linked);
}

int corio_lock_try_acquire(corio_lock *lv)
{
    struct corio__lock *l = corio__lock(lv);
    if (!lv)
        return -EINVAL;
    if (l->locked || !corio__wq_empty(&l->wq))
        return -EBUSY;
    l->locked = true;
    l->owner = corio_current();
    return 0;
}

int corio_lock_release(corio_lock *lv)
{
    struct corio__lock *l = corio__lock(lv);
    if (!lv)
        return -EINVAL;
    if (!l->locked)
        return -EPERM;
    /* Hand over: the lock stays locked, now on the waiter's behalf. */
    struct corio__wq_node *n = corio__wq_wake_one(&l->wq, 0);
    l->owner = n ? n->task : NULL;
    if (!n)
        l->locked = false;
    return 0;
}

bool corio__lock_held_by_caller(corio_lock *lv)
{
    struct corio__lock *l = corio__lock(lv);
    return l->locked && l->owner == corio_current();
}

bool corio_lock_locked(const corio_lock *lv)
{
    return lv && ((const struct corio__lock *)(const void *)lv)->locked;
}

/* SPDX-License-Identifier: MIT */
/* asyncio.Condition: wait releases the lock, sleeps until notified and
 * takes the lock back before returning, even when cancelled. A notify
 * goes to waiters still waiting; one already woken by a cancellation is
 * passed over, so the notification reaches another task. */
#include "sync/sync.h"

#include <assert.h>
#include <string.h>

struct cond {
    struct corio__wq wq;
    corio_lock *lock; /* the caller's, or &own; NULL: &own (static init) */
    corio_lock own;
};

static_assert(sizeof(struct cond) <= sizeof(corio_cond),
              "corio_cond too small");

static inline struct cond *cv(corio_cond *c)
{
    return (struct cond *)(void *)c;
}

void corio_cond_init(corio_cond *c, corio_lock *l)
{
    memset(c, 0, sizeof *c);
    cv(c)->lock = l;
}

corio_lock *corio_cond_lock(corio_cond *c)
{
    if (!c)
        return NULL;
    return cv(c)->lock ? cv(c)->lock : &cv(c)->own;
}

int corio_cond_acquire(corio_cond *c)
{
    return c ? corio_lock_acquire(corio_cond_lock(c)) : -EINVAL;
}

int corio_cond_release(corio_cond *c)
{
    return c ? corio_lock_release(corio_cond_lock(c)) : -EINVAL;
}

int corio_cond_wait(corio_cond *c)
{
    corio_loop *loop;
    corio_task *self = corio__self(&loop);

    if (!c)
        return -EINVAL;
    corio_lock *l = corio_cond_lock(c);
    if (!self)
        return -EPERM;
    if (!corio__lock_held_by_caller(l))
        return -EPERM;
    struct corio__wq_node n = {.task = self};
    corio__wq_push(&cv(c)->wq, &n);
    corio_lock_release(l);
    corio__waiting(self, CORIO__WAIT_COND, c);
    int rc = corio__park(loop, self, CORIO__NEVER);
    corio__wq_remove(&cv(c)->wq, &n);
    corio__lock_acquire_nocancel(corio__lock(l), loop, self);
    return rc;
}

int corio_cond_wait_for(corio_cond *c, bool (*pred)(void *arg), void *arg)
{
    if (!c || !pred)
        return -EINVAL;
    while (!pred(arg)) {
        int rc = corio_cond_wait(c);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int corio_cond_notify(corio_cond *c, size_t n)
{
    if (!c)
        return -EINVAL;
    if (!corio__lock_held_by_caller(corio_cond_lock(c)))
        return -EPERM;
    while (n-- && corio__wq_wake_one(&cv(c)->wq, 0))
        ;
    return 0;
}

int corio_cond_notify_all(corio_cond *c)
{
    return corio_cond_notify(c, (size_t)-1);
}

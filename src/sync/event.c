/* SPDX-License-Identifier: MIT */
/* asyncio.Event: set wakes every waiter; a set event lets waiters through
 * without suspending until it is cleared. */
#include "sync/sync.h"

#include <assert.h>
#include <string.h>

struct event {
    struct corio__wq wq;
    bool set;
};

static_assert(sizeof(struct event) <= sizeof(corio_event),
              "corio_event too small");

static inline struct event *ev(corio_event *e)
{
    return (struct event *)(void *)e;
}

void corio_event_init(corio_event *e)
{
    memset(e, 0, sizeof *e);
}

void corio_event_set(corio_event *e)
{
    if (!e || ev(e)->set)
        return;
    ev(e)->set = true;
    corio__wq_wake_all(&ev(e)->wq, 0);
}

void corio_event_clear(corio_event *e)
{
    if (e)
        ev(e)->set = false;
}

bool corio_event_is_set(const corio_event *e)
{
    return e && ((const struct event *)(const void *)e)->set;
}

int corio_event_wait(corio_event *e)
{
    corio_loop *loop;
    corio_task *self = corio__self(&loop);

    if (!e)
        return -EINVAL;
    if (ev(e)->set)
        return 0;
    if (!self)
        return -EPERM;
    struct corio__wq_node n = {.task = self};
    corio__wq_push(&ev(e)->wq, &n);
    corio__waiting(self, CORIO__WAIT_EVENT, e);
    int rc = corio__park(loop, self, CORIO__NEVER);
    corio__wq_remove(&ev(e)->wq, &n);
    return rc;
}

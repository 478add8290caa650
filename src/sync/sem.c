/* SPDX-License-Identifier: MIT */
/* asyncio.Semaphore and BoundedSemaphore. Release hands the permit
 * straight to the longest waiting task, so permits are granted first come
 * first served and a task arriving later cannot take one first. */
#include "sync/sync.h"

#include <assert.h>
#include <string.h>

struct sem {
    struct corio__wq wq;
    long value; /* free permits */
    long bound; /* initial value if bounded, else -1 */
};

static_assert(sizeof(struct sem) <= sizeof(corio_sem), "corio_sem too small");

static inline struct sem *sm(corio_sem *s)
{
    return (struct sem *)(void *)s;
}

int corio_sem_init(corio_sem *s, long value, bool bounded)
{
    if (!s || value < 0)
        return -EINVAL;
    memset(s, 0, sizeof *s);
    sm(s)->value = value;
    sm(s)->bound = bounded ? value : -1;
    return 0;
}

int corio_sem_try_acquire(corio_sem *s)
{
    if (!s)
        return -EINVAL;
    if (sm(s)->value == 0 || !corio__wq_empty(&sm(s)->wq))
        return -EBUSY;
    sm(s)->value--;
    return 0;
}

int corio_sem_acquire(corio_sem *s)
{
    corio_loop *loop;
    corio_task *self = corio__self(&loop);

    if (!s)
        return -EINVAL;
    if (corio_sem_try_acquire(s) == 0)
        return 0;
    if (!self)
        return -EPERM;
    struct corio__wq_node n = {.task = self};
    corio__wq_push(&sm(s)->wq, &n);
    corio__waiting(self, CORIO__WAIT_SEM, s);
    int rc = corio__park(loop, self, CORIO__NEVER);
    corio__wq_remove(&sm(s)->wq, &n);
    /* 0 only from corio_sem_release, which handed us its permit. */
    return rc;
}

int corio_sem_release(corio_sem *s)
{
    if (!s)
        return -EINVAL;
    if (sm(s)->bound >= 0 && sm(s)->value >= sm(s)->bound)
        return -EOVERFLOW;
    if (!corio__wq_wake_one(&sm(s)->wq, 0))
        sm(s)->value++;
    return 0;
}

long corio_sem_value(const corio_sem *s)
{
    return s ? ((const struct sem *)(const void *)s)->value : 0;
}

bool corio_sem_locked(const corio_sem *s)
{
    const struct sem *p = (const struct sem *)(const void *)s;
    return !s || p->value == 0 || !corio__wq_empty(&p->wq);
}

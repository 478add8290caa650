/* SPDX-License-Identifier: MIT */
/* Operations on wait queues (struct corio__wq, in core.h): push, remove,
 * pop, and waking the first waiter that is still waiting. */
#ifndef CORIO_WAITQ_H
#define CORIO_WAITQ_H

#include <stdbool.h>
#include <stddef.h>

#include "core/core.h"

static inline bool corio__wq_empty(const struct corio__wq *q)
{
    return q->head == NULL;
}

static inline void corio__wq_push(struct corio__wq *q,
                                  struct corio__wq_node *n)
{
    n->next = NULL;
    n->prev = q->tail;
    if (q->tail)
        q->tail->next = n;
    else
        q->head = n;
    q->tail = n;
    n->linked = true;
}

static inline void corio__wq_remove(struct corio__wq *q,
                                    struct corio__wq_node *n)
{
    if (!n->linked)
        return;
    if (n->prev)
        n->prev->next = n->next;
    else
        q->head = n->next;
    if (n->next)
        n->next->prev = n->prev;
    else
        q->tail = n->prev;
    n->linked = false;
}

static inline struct corio__wq_node *corio__wq_pop(struct corio__wq *q)
{
    struct corio__wq_node *n = q->head;
    if (n)
        corio__wq_remove(q, n);
    return n;
}

/* Pop waiters until one can be woken with rc; that one is returned, NULL
 * if none. A waiter that was already woken (by a cancellation or a
 * deadline) is skipped, so it never takes what the caller hands over. */
static inline struct corio__wq_node *corio__wq_wake_one(struct corio__wq *q,
                                                        int rc)
{
    struct corio__wq_node *n;
    while ((n = corio__wq_pop(q)))
        if (corio__wake(n->task, rc))
            return n;
    return NULL;
}

/* Wake every waiter with rc. */
static inline void corio__wq_wake_all(struct corio__wq *q, int rc)
{
    struct corio__wq_node *n;
    while ((n = corio__wq_pop(q)))
        corio__wake(n->task, rc);
}

#endif

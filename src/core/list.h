/* SPDX-License-Identifier: MIT */
/* Intrusive circular doubly-linked lists: O(1) insert and unlink, FIFO order.
 * Waiter queues of tasks, locks and futures are built on them. */
#ifndef CORIO_LIST_H
#define CORIO_LIST_H

#include <stdbool.h>
#include <stddef.h>

struct corio__list {
    struct corio__list *next;
    struct corio__list *prev;
};

/* An empty list, or an unlinked node: both point at themselves. */
static inline void corio__list_init(struct corio__list *l)
{
    l->next = l;
    l->prev = l;
}

static inline bool corio__list_empty(const struct corio__list *l)
{
    return l->next == l;
}

/* Whether a node is on a list: unlinked nodes point at themselves. */
static inline bool corio__list_linked(const struct corio__list *n)
{
    return n->next != n;
}

static inline void corio__list_push_back(struct corio__list *l,
                                         struct corio__list *n)
{
    n->prev = l->prev;
    n->next = l;
    l->prev->next = n;
    l->prev = n;
}

static inline void corio__list_push_front(struct corio__list *l,
                                          struct corio__list *n)
{
    n->next = l->next;
    n->prev = l;
    l->next->prev = n;
    l->next = n;
}

/* Unlink n and leave it pointing at itself, so that unlinking twice is
 * harmless: a woken waiter and its waker may both try. */
static inline void corio__list_remove(struct corio__list *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->next = n;
    n->prev = n;
}

/* Remove and return the first node, or NULL. */
static inline struct corio__list *corio__list_pop_front(struct corio__list *l)
{
    struct corio__list *n = l->next;
    if (n == l)
        return NULL;
    corio__list_remove(n);
    return n;
}

#endif

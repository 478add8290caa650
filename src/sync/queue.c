/* SPDX-License-Identifier: MIT */
/* asyncio.Queue, LifoQueue and PriorityQueue, with Python 3.13's shutdown.
 *
 * Items move by handoff: a put that finds a getter waiting gives it the
 * item directly, and a get that frees a slot of a full queue moves the
 * item of the longest waiting putter in. A handoff happens only if the
 * other task is still waiting (corio__wake succeeds); a getter or putter
 * already woken by a cancellation is passed over. So an operation that
 * returns an error moved nothing, and every item is delivered exactly
 * once, whenever cancellations strike. */
#include "core/core.h"
#include "core/waitq.h"

#include "corio/queue.h"

#include <string.h>

struct pitem {
    int64_t prio;
    uint64_t seq; /* insertion order among equal priorities */
    void *item;
};

struct corio_queue {
    enum corio_queue_kind kind;
    size_t maxsize;             /* 0: unbounded */
    corio_queue_discard_fn discard;
    void *discard_arg;
    void **buf;                 /* FIFO: ring; LIFO: stack */
    struct pitem *heap;         /* PRIORITY: binary min-heap */
    size_t cap;
    size_t head;                /* FIFO: index of the oldest item */
    size_t n;                   /* items held */
    uint64_t seq;
    struct corio__wq getters;   /* node->data: struct req */
    struct corio__wq putters;   /* node->data: struct req */
    struct corio__wq joiners;
    size_t unfinished;          /* put and not yet marked done */
    size_t inside;              /* tasks parked in or leaving an operation */
    bool shutdown;
    bool closing;               /* freed when the last task leaves */
};

/* What a waiting putter offers, or where a waiting getter receives. */
struct req {
    void *item;
    int64_t prio;
};

corio_queue *corio_queue_new(const corio_queue_opts *opts)
{
    corio_queue *q = corio__calloc(1, sizeof *q);
    if (!q) {
        errno = ENOMEM;
        return NULL;
    }
    if (opts) {
        if ((unsigned)opts->kind > CORIO_QUEUE_PRIORITY) {
            corio__free(q);
            errno = EINVAL;
            return NULL;
        }
        q->kind = opts->kind;
        q->maxsize = opts->maxsize;
        q->discard = opts->discard;
        q->discard_arg = opts->discard_arg;
    }
    return q;
}

/* Make room for one more item: 0 or -ENOMEM. */
static int grow(corio_queue *q)
{
    if (q->n < q->cap)
        return 0;
    size_t cap = q->cap ? q->cap * 2 : 16;
    if (q->maxsize && cap > q->maxsize)
        cap = q->maxsize;
    if (q->kind == CORIO_QUEUE_PRIORITY) {
        struct pitem *h = corio__realloc(q->heap, cap * sizeof *h);
        if (!h)
            return -ENOMEM;
        q->heap = h;
    } else {
        void **b = corio__malloc(cap * sizeof *b);
        if (!b)
            return -ENOMEM;
        /* Unwrap the ring into the new buffer. */
        for (size_t i = 0; i < q->n; i++)
            b[i] = q->buf[(q->head + i) % q->cap];
        corio__free(q->buf);
        q->buf = b;
        q->head = 0;
    }
    q->cap = cap;
    return 0;
}

static bool pless(const struct pitem *a, const struct pitem *b)
{
    return a->prio < b->prio || (a->prio == b->prio && a->seq < b->seq);
}

/* Store an item; room was made by grow(). */
static void push(corio_queue *q, int64_t prio, void *item)
{
    switch (q->kind) {
    case CORIO_QUEUE_FIFO: {
        size_t at = q->head + q->n;
        q->buf[at >= q->cap ? at - q->cap : at] = item;
        break;
    }
    case CORIO_QUEUE_LIFO:
        q->buf[q->n] = item;
        break;
    case CORIO_QUEUE_PRIORITY: {
        struct pitem e = {prio, q->seq++, item};
        size_t i = q->n;
        while (i > 0 && pless(&e, &q->heap[(i - 1) / 2])) {
            q->heap[i] = q->heap[(i - 1) / 2];
            i = (i - 1) / 2;
        }
        q->heap[i] = e;
        break;
    }
    }
    q->n++;
}

static void *pop(corio_queue *q)
{
    void *item;
    q->n--;
    switch (q->kind) {
    case CORIO_QUEUE_FIFO:
        item = q->buf[q->head];
        if (++q->head == q->cap)
            q->head = 0;
        return item;
    case CORIO_QUEUE_LIFO:
        return q->buf[q->n];
    default: {
        item = q->heap[0].item;
        struct pitem last = q->heap[q->n];
        size_t i = 0;
        for (;;) {
            size_t c = 2 * i + 1;
            if (c >= q->n)
                break;
            if (c + 1 < q->n && pless(&q->heap[c + 1], &q->heap[c]))
                c++;
            if (!pless(&q->heap[c], &last))
                break;
            q->heap[i] = q->heap[c];
            i = c;
        }
        q->heap[i] = last;
        return item;
    }
    }
}

static bool full(const corio_queue *q)
{
    return q->maxsize && q->n >= q->maxsize;
}

/* A task is done touching the queue after a park. */
static void leave(corio_queue *q)
{
    if (--q->inside == 0 && q->closing) {
        corio__free(q->buf);
        corio__free(q->heap);
        corio__free(q);
    }
}

static int try_put(corio_queue *q, int64_t prio, void *item)
{
    if (q->shutdown)
        return -ESHUTDOWN;
    /* A waiting getter takes the item directly; the queue is empty then. */
    struct corio__wq_node *g = corio__wq_wake_one(&q->getters, 0);
    if (g) {
        ((struct req *)g->data)->item = item;
        q->unfinished++;
        return 0;
    }
    if (full(q))
        return -EAGAIN;
    if (grow(q) < 0)
        return -ENOMEM;
    push(q, prio, item);
    q->unfinished++;
    return 0;
}

int corio_queue_try_put_prio(corio_queue *q, int64_t prio, void *item)
{
    return q ? try_put(q, prio, item) : -EINVAL;
}

int corio_queue_try_put(corio_queue *q, void *item)
{
    return corio_queue_try_put_prio(q, 0, item);
}

int corio_queue_put_prio(corio_queue *q, int64_t prio, void *item)
{
    corio_loop *loop;
    corio_task *self = corio__self(&loop);

    if (!q)
        return -EINVAL;
    int rc = try_put(q, prio, item);
    if (rc != -EAGAIN)
        return rc;
    if (!self)
        return -EPERM;
    struct req r = {item, prio};
    struct corio__wq_node n = {.task = self, .data = &r};
    corio__wq_push(&q->putters, &n);
    q->inside++;
    corio__waiting(self, CORIO__WAIT_QUEUE, q);
    rc = corio__park(loop, self, CORIO__NEVER);
    corio__wq_remove(&q->putters, &n);
    leave(q);
    /* 0: a getter moved our item in. -ESHUTDOWN: shut down meanwhile. */
    return rc;
}

int corio_queue_put(corio_queue *q, void *item)
{
    return corio_queue_put_prio(q, 0, item);
}

/* A slot is free: move in the item of the longest waiting putter. */
static void admit_putter(corio_queue *q)
{
    struct corio__wq_node *p;
    if (full(q) || grow(q) < 0)
        return;
    p = corio__wq_wake_one(&q->putters, 0);
    if (p) {
        struct req *r = p->data;
        push(q, r->prio, r->item);
        q->unfinished++;
    }
}

int corio_queue_try_get(corio_queue *q, void **item)
{
    if (!q || !item)
        return -EINVAL;
    if (q->n == 0)
        return q->shutdown ? -ESHUTDOWN : -EAGAIN;
    *item = pop(q);
    if (!corio__wq_empty(&q->putters))
        admit_putter(q);
    return 0;
}

int corio_queue_get(corio_queue *q, void **item)
{
    corio_loop *loop;
    corio_task *self = corio__self(&loop);

    int rc = corio_queue_try_get(q, item);
    if (rc != -EAGAIN)
        return rc;
    if (!self)
        return -EPERM;
    struct req r = {NULL, 0};
    struct corio__wq_node n = {.task = self, .data = &r};
    corio__wq_push(&q->getters, &n);
    q->inside++;
    corio__waiting(self, CORIO__WAIT_QUEUE, q);
    rc = corio__park(loop, self, CORIO__NEVER);
    corio__wq_remove(&q->getters, &n);
    leave(q);
    if (rc == 0)
        *item = r.item; /* handed over by a putter */
    return rc;
}

int corio_queue_task_done(corio_queue *q)
{
    if (!q)
        return -EINVAL;
    if (q->unfinished == 0)
        return -EINVAL;
    if (--q->unfinished == 0)
        corio__wq_wake_all(&q->joiners, 0);
    return 0;
}

int corio_queue_join(corio_queue *q)
{
    corio_loop *loop;
    corio_task *self = corio__self(&loop);

    if (!q)
        return -EINVAL;
    if (q->unfinished == 0)
        return 0;
    if (!self)
        return -EPERM;
    struct corio__wq_node n = {.task = self};
    corio__wq_push(&q->joiners, &n);
    q->inside++;
    corio__waiting(self, CORIO__WAIT_QUEUE, q);
    int rc = corio__park(loop, self, CORIO__NEVER);
    corio__wq_remove(&q->joiners, &n);
    leave(q);
    return rc;
}

void corio_queue_shutdown(corio_queue *q, bool immediate)
{
    if (!q)
        return;
    q->shutdown = true;
    corio__wq_wake_all(&q->putters, -ESHUTDOWN);
    if (immediate) {
        while (q->n) {
            void *item = pop(q);
            if (q->discard)
                q->discard(item, q->discard_arg);
            if (q->unfinished)
                q->unfinished--;
        }
        if (q->unfinished == 0)
            corio__wq_wake_all(&q->joiners, 0);
    }
    /* Getters wait only on an empty queue, which no put can fill now. */
    corio__wq_wake_all(&q->getters, -ESHUTDOWN);
}

void corio_queue_close(corio_queue *q)
{
    if (!q)
        return;
    corio_queue_shutdown(q, true);
    corio__wq_wake_all(&q->joiners, -ESHUTDOWN);
    if (q->inside) {
        q->closing = true; /* the last task to leave frees it */
        return;
    }
    corio__free(q->buf);
    corio__free(q->heap);
    corio__free(q);
}

size_t corio_queue_size(const corio_queue *q)
{
    return q ? q->n : 0;
}

size_t corio_queue_maxsize(const corio_queue *q)
{
    return q ? q->maxsize : 0;
}

bool corio_queue_empty(const corio_queue *q)
{
    return !q || q->n == 0;
}

bool corio_queue_full(const corio_queue *q)
{
    return q && full(q);
}

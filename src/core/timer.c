/* SPDX-License-Identifier: MIT */
/* Timers: a 4-ary min-heap of (deadline, timer) pairs in one array.
 *
 * Four children per node make the heap half as deep as a binary one, and
 * the children of a node share one 64-byte cache line, so a sift-down
 * costs one miss per level. Each timer remembers its slot, so cancelling
 * is O(log n) and never leaves a dead entry behind (unlike asyncio's lazy
 * deletion, which keeps cancelled timers until they expire). */
#include "core/core.h"

#include <string.h>

#ifdef CORIO_TESTING
#include "core/testing.h"
#endif

#define D 4 /* children per node */

int corio__heap_reserve(struct corio__heap *h, uint32_t more)
{
    if (h->n + more <= h->cap)
        return 0;
    uint64_t cap = h->cap ? h->cap : 64;
    while (cap < (uint64_t)h->n + more)
        cap *= 2;
    if (cap > UINT32_MAX / 2)
        return -ENOMEM;
    struct corio__heap_entry *v = corio__realloc(h->v, cap * sizeof *v);
    if (!v)
        return -ENOMEM;
    h->v = v;
    h->cap = (uint32_t)cap;
    return 0;
}

void corio__heap_free(struct corio__heap *h)
{
    corio__free(h->v);
    memset(h, 0, sizeof *h);
}

static inline void place(struct corio__heap *h, uint32_t i,
                         struct corio__heap_entry e)
{
    h->v[i] = e;
    e.timer->idx = i + 1;
}

static void sift_up(struct corio__heap *h, uint32_t i,
                    struct corio__heap_entry e)
{
    while (i > 0) {
        uint32_t p = (i - 1) / D;
        if (h->v[p].deadline <= e.deadline)
            break;
        place(h, i, h->v[p]);
        i = p;
    }
    place(h, i, e);
}

static void sift_down(struct corio__heap *h, uint32_t i,
                      struct corio__heap_entry e)
{
    for (;;) {
        uint64_t c = (uint64_t)i * D + 1;
        if (c >= h->n)
            break;
        uint32_t end = c + D < h->n ? (uint32_t)c + D : h->n;
        uint32_t m = (uint32_t)c;
        for (uint32_t j = m + 1; j < end; j++)
            if (h->v[j].deadline < h->v[m].deadline)
                m = j;
        if (h->v[m].deadline >= e.deadline)
            break;
        place(h, i, h->v[m]);
        i = m;
    }
    place(h, i, e);
}

/* Take slot i out and fill the hole with the last entry. */
static void remove_at(struct corio__heap *h, uint32_t i)
{
    struct corio__heap_entry last = h->v[--h->n];
    h->v[i].timer->idx = 0;
    if (i == h->n)
        return;
    if (i > 0 && last.deadline < h->v[(i - 1) / D].deadline)
        sift_up(h, i, last);
    else
        sift_down(h, i, last);
}

/* Arm t at deadline, or move it there if it is armed. */
int corio__timer_arm(corio_loop *loop, struct corio__timer *t,
                     int64_t deadline)
{
    struct corio__heap *h = &loop->timers;
    struct corio__heap_entry e = {deadline, t};

    if (t->idx) {
        uint32_t i = t->idx - 1;
        if (i > 0 && deadline < h->v[(i - 1) / D].deadline)
            sift_up(h, i, e);
        else
            sift_down(h, i, e);
        return 0;
    }
    if (unlikely(h->n == h->cap) && corio__heap_reserve(h, 1) < 0)
        return -ENOMEM;
    sift_up(h, h->n++, e);
    return 0;
}

void corio__timer_disarm(corio_loop *loop, struct corio__timer *t)
{
    if (t->idx)
        remove_at(&loop->timers, t->idx - 1);
}

struct corio__timer *corio__timer_pop_due(corio_loop *loop, int64_t now)
{
    struct corio__heap *h = &loop->timers;
    if (h->n == 0 || h->v[0].deadline > now)
        return NULL;
    struct corio__timer *t = h->v[0].timer;
    remove_at(h, 0);
    return t;
}

#ifdef CORIO_TESTING
size_t corio__timer_count(corio_loop *loop)
{
    return loop->timers.n;
}

int64_t corio__timer_deadline(corio_loop *loop, struct corio__timer *t)
{
    return t->idx ? loop->timers.v[t->idx - 1].deadline : -1;
}
#endif

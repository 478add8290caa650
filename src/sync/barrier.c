/* SPDX-License-Identifier: MIT */
/* asyncio.Barrier. The barrier fills until `parties` tasks wait, then
 * drains: all of them pass, and tasks arriving meanwhile wait for the next
 * round. A waiter cancelled while the barrier fills simply leaves it one
 * arrival short; abort breaks it and reset empties it, and their waiters
 * get -EPIPE (BrokenBarrierError). */
#include "sync/sync.h"

#include <assert.h>
#include <string.h>

enum { FILLING = 0, DRAINING, RESETTING, BROKEN };

struct barrier {
    struct corio__wq wq;   /* arrived, waiting for the round to complete */
    struct corio__wq gate; /* arriving while the last round drains */
    unsigned parties;
    unsigned count;        /* arrived in this round and not yet gone */
    int state;
};

static_assert(sizeof(struct barrier) <= sizeof(corio_barrier),
              "corio_barrier too small");

static inline struct barrier *br(corio_barrier *b)
{
    return (struct barrier *)(void *)b;
}

int corio_barrier_init(corio_barrier *b, unsigned parties)
{
    if (!b || parties == 0)
        return -EINVAL;
    memset(b, 0, sizeof *b);
    br(b)->parties = parties;
    return 0;
}

/* What happened to a waiter's round, marked on its node by whoever ended
 * the wait, so that it is known even when a cancellation woke the task
 * first. */
#define TRIPPED ((void *)1)
#define BROKE ((void *)2)

/* A task leaves the round; the last one out of a drained or reset round
 * opens the barrier for the next. */
static void leave(struct barrier *p)
{
    if (--p->count == 0 && (p->state == DRAINING || p->state == RESETTING)) {
        p->state = FILLING;
        corio__wq_wake_all(&p->gate, 0);
    }
}

/* End the wait of everyone in the round, marking how. */
static void end_round(struct barrier *p, void *how)
{
    struct corio__wq_node *n;
    while ((n = corio__wq_pop(&p->wq))) {
        n->data = how;
        corio__wake(n->task, 0);
    }
}

int corio_barrier_wait(corio_barrier *b)
{
    corio_loop *loop;
    corio_task *self = corio__self(&loop);

    if (!b || br(b)->parties == 0)
        return -EINVAL;
    if (!self)
        return -EPERM;
    struct barrier *p = br(b);
    /* Wait for the previous round to drain or reset. */
    while (p->state == DRAINING || p->state == RESETTING) {
        struct corio__wq_node g = {.task = self};
        corio__wq_push(&p->gate, &g);
        corio__waiting(self, CORIO__WAIT_BARRIER, b);
        int rc = corio__park(loop, self, CORIO__NEVER);
        corio__wq_remove(&p->gate, &g);
        if (rc < 0)
            return rc;
    }
    if (p->state == BROKEN)
        return -EPIPE;
    int index = (int)p->count++;
    if (p->count == p->parties) {
        p->state = DRAINING;
        end_round(p, TRIPPED);
        leave(p);
        return index;
    }
    struct corio__wq_node n = {.task = self};
    corio__wq_push(&p->wq, &n);
    corio__waiting(self, CORIO__WAIT_BARRIER, b);
    int rc = corio__park(loop, self, CORIO__NEVER);
    if (n.data == TRIPPED) {
        /* The round completed: pass, even if a cancellation came too; it
         * waits for our next suspension. */
        leave(p);
        corio__repend(self, rc);
        return index;
    }
    if (n.data == BROKE) {
        leave(p);
        return -EPIPE;
    }
    /* Cancelled while the barrier filled: no longer arrived. */
    corio__wq_remove(&p->wq, &n);
    p->count--;
    return rc;
}

void corio_barrier_abort(corio_barrier *b)
{
    if (!b)
        return;
    struct barrier *p = br(b);
    p->state = BROKEN;
    end_round(p, BROKE);
    corio__wq_wake_all(&p->gate, 0);
}

void corio_barrier_reset(corio_barrier *b)
{
    if (!b)
        return;
    struct barrier *p = br(b);
    if (p->state == DRAINING)
        return; /* it opens by itself once the passing tasks are gone */
    if (p->count == 0) {
        p->state = FILLING;
        corio__wq_wake_all(&p->gate, 0);
        return;
    }
    /* Tasks wait or are still leaving a broken round: they get -EPIPE,
     * and the last one out opens the barrier. */
    p->state = RESETTING;
    end_round(p, BROKE);
}

unsigned corio_barrier_n_waiting(const corio_barrier *b)
{
    const struct barrier *p = (const struct barrier *)(const void *)b;
    return b && p->state == FILLING ? p->count : 0;
}

bool corio_barrier_broken(const corio_barrier *b)
{
    return b && ((const struct barrier *)(const void *)b)->state == BROKEN;
}

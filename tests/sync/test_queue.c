/* SPDX-License-Identifier: MIT */
/* Queues: FIFO, LIFO and priority order, bounded put, try forms,
 * task_done / join, shutdown (drain or immediate), close, and the rule that
 * no item is ever lost or duplicated when putters and getters are
 * cancelled at random. */
#include "harness.h"

#include <corio.h>

#include "th_corio.h"

#define RUN(fn) ASSERT_OK(corio_run(fn, NULL))
#define P(i) ((void *)(intptr_t)(i))
#define I(p) ((int)(intptr_t)(p))

static corio_queue *make(enum corio_queue_kind kind, size_t max)
{
    corio_queue_opts o = {.kind = kind, .maxsize = max};
    corio_queue *q = corio_queue_new(&o);
    ASSERT_NOT_NULL(q);
    return q;
}

TEST(fifo_lifo_priority_order)
{
    corio_queue *q = make(CORIO_QUEUE_FIFO, 0);
    void *v;
    for (int i = 1; i <= 100; i++)
        ASSERT_OK(corio_queue_try_put(q, P(i)));
    ASSERT_EQ(corio_queue_size(q), 100);
    for (int i = 1; i <= 100; i++) {
        ASSERT_OK(corio_queue_try_get(q, &v));
        ASSERT_EQ(I(v), i);
    }
    ASSERT_ERR(corio_queue_try_get(q, &v), -EAGAIN);
    corio_queue_close(q);

    q = make(CORIO_QUEUE_LIFO, 0);
    for (int i = 1; i <= 5; i++)
        ASSERT_OK(corio_queue_try_put(q, P(i)));
    for (int i = 5; i >= 1; i--) {
        ASSERT_OK(corio_queue_try_get(q, &v));
        ASSERT_EQ(I(v), i);
    }
    corio_queue_close(q);

    q = make(CORIO_QUEUE_PRIORITY, 0);
    int prio[8] = {5, 1, 3, 1, 9, 0, 3, 1};
    for (int i = 0; i < 8; i++)
        ASSERT_OK(corio_queue_try_put_prio(q, prio[i], P(i)));
    /* Lowest first; equal priorities in insertion order. */
    int want[8] = {5, 1, 3, 7, 2, 6, 0, 4};
    for (int i = 0; i < 8; i++) {
        ASSERT_OK(corio_queue_try_get(q, &v));
        ASSERT_EQ(I(v), want[i]);
    }
    corio_queue_close(q);
}

TEST(bounded_try_put_and_predicates)
{
    corio_queue *q = make(CORIO_QUEUE_FIFO, 2);
    ASSERT_EQ(corio_queue_maxsize(q), 2);
    ASSERT_TRUE(corio_queue_empty(q));
    ASSERT_OK(corio_queue_try_put(q, P(1)));
    ASSERT_OK(corio_queue_try_put(q, P(2)));
    ASSERT_TRUE(corio_queue_full(q));
    ASSERT_ERR(corio_queue_try_put(q, P(3)), -EAGAIN);
    ASSERT_ERR(corio_queue_put(q, P(3)), -EPERM); /* full, not a task */
    void *v;
    ASSERT_OK(corio_queue_try_get(q, &v));
    ASSERT_EQ(I(v), 1);
    corio_queue_close(q);
    corio_queue_close(NULL);
    corio_queue_opts bad = {.kind = (enum corio_queue_kind)9};
    errno = 0;
    ASSERT_NULL(corio_queue_new(&bad));
    ASSERT_EQ(errno, EINVAL);
}

static corio_queue *q;

static int producer(void *arg)
{
    int n = I(arg);
    for (int i = 0; i < n; i++) {
        int rc = corio_queue_put(q, P(i + 1));
        if (rc < 0)
            return rc;
    }
    return 0;
}

static long sum;

static int consumer(void *arg)
{
    int n = I(arg);
    for (int i = 0; i < n; i++) {
        void *v;
        int rc = corio_queue_get(q, &v);
        if (rc < 0)
            return rc;
        sum += I(v);
        corio_queue_task_done(q);
    }
    return 0;
}

static int pc(void *arg)
{
    (void)arg;
    q = make(CORIO_QUEUE_FIFO, 4);
    sum = 0;
    corio_task *c = corio_spawn(consumer, P(1000));
    corio_task *p = corio_spawn(producer, P(1000));
    ASSERT_OK(corio_join(p));
    ASSERT_OK(corio_queue_join(q)); /* every item done */
    ASSERT_OK(corio_join(c));
    ASSERT_EQ(sum, 1000L * 1001 / 2);
    ASSERT_ERR(corio_queue_task_done(q), -EINVAL); /* one too many */
    corio_queue_close(q);
    return 0;
}

TEST(producer_consumer_through_a_bounded_queue)
{
    RUN(pc);
}

static int shutdown_drain(void *arg)
{
    (void)arg;
    q = make(CORIO_QUEUE_FIFO, 2);
    ASSERT_OK(corio_queue_put(q, P(1)));
    ASSERT_OK(corio_queue_put(q, P(2)));
    corio_task *p = corio_spawn(producer, P(1)); /* blocks: full */
    th_yield_until_parked(p, "queue");
    corio_queue_shutdown(q, false);
    ASSERT_ERR(corio_join(p), -ESHUTDOWN);
    ASSERT_ERR(corio_queue_try_put(q, P(9)), -ESHUTDOWN);
    void *v;
    /* What is queued can still be drained, then gets fail. */
    ASSERT_OK(corio_queue_get(q, &v));
    ASSERT_EQ(I(v), 1);
    ASSERT_OK(corio_queue_get(q, &v));
    ASSERT_EQ(I(v), 2);
    ASSERT_ERR(corio_queue_get(q, &v), -ESHUTDOWN);
    corio_queue_close(q);
    return 0;
}

TEST(shutdown_lets_getters_drain)
{
    RUN(shutdown_drain);
}

static int discarded;

static void discard(void *item, void *arg)
{
    (void)item;
    (void)arg;
    discarded++;
}

static int getter(void *arg)
{
    (void)arg;
    void *v;
    return corio_queue_get(q, &v);
}

static int joiner(void *arg)
{
    (void)arg;
    return corio_queue_join(q);
}

static int shutdown_now(void *arg)
{
    (void)arg;
    corio_queue_opts o = {.maxsize = 0, .discard = discard};
    q = corio_queue_new(&o);
    discarded = 0;
    for (int i = 0; i < 3; i++)
        ASSERT_OK(corio_queue_put(q, P(i)));
    corio_task *j = corio_spawn(joiner, NULL);
    th_yield_until_parked(j, "queue");
    corio_queue_shutdown(q, true);
    ASSERT_EQ(discarded, 3);
    ASSERT_EQ(corio_queue_size(q), 0);
    ASSERT_OK(corio_join(j)); /* the dropped items count as done */
    corio_task *g = corio_spawn(getter, NULL);
    ASSERT_ERR(corio_join(g), -ESHUTDOWN);
    corio_queue_close(q);
    return 0;
}

TEST(immediate_shutdown_discards_and_releases_join)
{
    RUN(shutdown_now);
}

static int close_with_waiters(void *arg)
{
    (void)arg;
    q = make(CORIO_QUEUE_FIFO, 0);
    corio_task *g = corio_spawn(getter, NULL);
    /* Until g waits: closing a queue nobody waits on frees it at once,
     * and g would then use freed memory (CORIO_SEED may resume us before
     * g ran). */
    th_yield_until_parked(g, "queue");
    corio_queue_close(q); /* g still parked inside: freed when it leaves */
    ASSERT_ERR(corio_join(g), -ESHUTDOWN);
    return 0;
}

TEST(close_wakes_waiters_and_frees_after_them)
{
    RUN(close_with_waiters);
}

static int handoff(void *arg)
{
    (void)arg;
    q = make(CORIO_QUEUE_FIFO, 1);
    corio_task *g = corio_spawn(getter, NULL);
    ASSERT_OK(corio_yield());
    /* A waiting getter takes the item directly; a cancelled one would
     * be passed over. */
    corio_task *g2 = corio_spawn(getter, NULL);
    ASSERT_OK(corio_yield());
    corio_cancel(g);
    ASSERT_OK(corio_queue_put(q, P(7)));
    ASSERT_EQ(corio_queue_size(q), 0);
    ASSERT_ERR(corio_join(g), -ECANCELED);
    ASSERT_OK(corio_join(g2));
    corio_queue_close(q);
    return 0;
}

TEST_OPTS(put_hands_the_item_to_a_live_getter, .labels = "order")
{
    RUN(handoff);
}

/* The stress test: thousands of producers and consumers, cancelled at
 * random points; every item put is got exactly once. */
enum { NPROD = 1000, PER = 10, NCONS = 1000 };
static unsigned char got[NPROD * PER];
static unsigned char put_ok[NPROD * PER];
static int dupes;

static int s_producer(void *arg)
{
    int id = I(arg);
    for (int i = 0; i < PER; i++) {
        int item = id * PER + i;
        int rc = corio_queue_put(q, P(item + 1));
        if (rc < 0)
            return rc; /* not put: must never be got */
        put_ok[item] = 1;
        if ((rc = corio_yield()) < 0)
            return rc;
    }
    return 0;
}

static int s_consumer(void *arg)
{
    (void)arg;
    for (;;) {
        void *v;
        int rc = corio_queue_get(q, &v);
        if (rc < 0)
            return rc;
        int item = I(v) - 1;
        if (got[item])
            dupes++;
        got[item] = 1;
    }
}

static int stress(void *arg)
{
    (void)arg;
    static corio_task *p[NPROD], *c[NCONS];
    q = make((enum corio_queue_kind)(th_rand() % 3), 16);
    memset(got, 0, sizeof got);
    memset(put_ok, 0, sizeof put_ok);
    dupes = 0;
    for (int i = 0; i < NCONS; i++)
        c[i] = corio_spawn(s_consumer, NULL);
    for (int i = 0; i < NPROD; i++)
        p[i] = corio_spawn(s_producer, P(i));
    /* Cancel a random producer or consumer every few switches. */
    for (int round = 0; round < 3000; round++) {
        if (th_rand() % 2)
            corio_cancel(p[th_rand() % NPROD]);
        else
            corio_cancel(c[th_rand() % (NCONS - 10)]);
        if (th_rand() % 4 == 0)
            ASSERT_OK(corio_yield());
    }
    for (int i = 0; i < NPROD; i++)
        corio_join(p[i]);
    /* Consumers 990.. were never cancelled: they drain the rest. */
    while (!corio_queue_empty(q))
        ASSERT_OK(corio_yield());
    corio_queue_shutdown(q, false);
    for (int i = 0; i < NCONS; i++) {
        int rc = corio_join(c[i]);
        ASSERT_TRUE(rc == -ESHUTDOWN || rc == -ECANCELED);
    }
    ASSERT_EQ(dupes, 0);
    long lost = 0, phantom = 0;
    for (int i = 0; i < NPROD * PER; i++) {
        lost += put_ok[i] && !got[i];
        phantom += !put_ok[i] && got[i];
    }
    ASSERT_EQ(lost, 0);
    ASSERT_EQ(phantom, 0);
    corio_queue_close(q);
    return 0;
}

TEST_OPTS(no_item_lost_or_duplicated_under_random_cancellation,
          .timeout = 120)
{
    RUN(stress);
}

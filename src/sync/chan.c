/* SPDX-License-Identifier: MIT */
/* Channels: trio's memory channels. A shared buffer with send handles and
 * receive handles that close independently and can be cloned. Items move
 * by handoff as in queue.c (a waiting receiver gets a sent item directly;
 * a receive that frees buffer space moves a waiting sender's item in), so
 * a cancelled send or receive moved nothing. With capacity 0, every send
 * waits until a receiver takes its item. */
#include "core/core.h"
#include "core/waitq.h"

#include "corio/queue.h"

struct chan {
    void **buf;        /* ring of `capacity` items */
    size_t capacity;
    size_t head;
    size_t n;
    size_t senders;    /* open send handles */
    size_t receivers;  /* open receive handles */
    size_t refs;       /* handles + tasks parked on the channel */
    struct corio__wq send_wait; /* node->data: struct wait */
    struct corio__wq recv_wait; /* node->data: struct wait */
};

/* A parked sender's item, or where a receiver gets one; which handle it
 * waits on, so that closing the handle can wake it. */
struct wait {
    void *item;
    const void *handle;
};

struct corio_chan_tx {
    struct chan *c;
};

struct corio_chan_rx {
    struct chan *c;
};

#define END_OF_CHANNEL 1 /* wake code: the last sender closed */

static void chan_unref(struct chan *c)
{
    if (--c->refs == 0) {
        corio__free(c->buf);
        corio__free(c);
    }
}

int corio_chan_open(size_t capacity, corio_chan_tx **tx, corio_chan_rx **rx)
{
    if (!tx || !rx)
        return -EINVAL;
    struct chan *c = corio__calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    if (capacity) {
        c->buf = corio__malloc(capacity * sizeof *c->buf);
        if (!c->buf)
            goto err_free_chan;
    }
    c->capacity = capacity;
    *tx = corio__malloc(sizeof **tx);
    if (!*tx)
        goto err_free_buf;
    *rx = corio__malloc(sizeof **rx);
    if (!*rx)
        goto err_free_tx;
    (*tx)->c = c;
    (*rx)->c = c;
    c->senders = c->receivers = 1;
    c->refs = 2;
    return 0;

err_free_tx:
    corio__free(*tx);
err_free_buf:
    corio__free(c->buf);
err_free_chan:
    corio__free(c);
    *tx = NULL;
    *rx = NULL;
    return -ENOMEM;
}

corio_chan_tx *corio_chan_tx_clone(corio_chan_tx *tx)
{
    if (!tx) {
        errno = EBADF;
        return NULL;
    }
    corio_chan_tx *n = corio__malloc(sizeof *n);
    if (!n) {
        errno = ENOMEM;
        return NULL;
    }
    n->c = tx->c;
    n->c->senders++;
    n->c->refs++;
    return n;
}

corio_chan_rx *corio_chan_rx_clone(corio_chan_rx *rx)
{
    if (!rx) {
        errno = EBADF;
        return NULL;
    }
    corio_chan_rx *n = corio__malloc(sizeof *n);
    if (!n) {
        errno = ENOMEM;
        return NULL;
    }
    n->c = rx->c;
    n->c->receivers++;
    n->c->refs++;
    return n;
}

/* Wake the waiters of one handle with -EBADF. */
static void wake_handle(struct corio__wq *q, const void *handle)
{
    struct corio__wq_node *n = q->head;
    while (n) {
        struct corio__wq_node *next = n->next;
        if (((struct wait *)n->data)->handle == handle) {
            corio__wq_remove(q, n);
            corio__wake(n->task, -EBADF);
        }
        n = next;
    }
}

void corio_chan_tx_close(corio_chan_tx *tx)
{
    if (!tx)
        return;
    struct chan *c = tx->c;
    wake_handle(&c->send_wait, tx);
    /* With the last sender gone, waiting receivers see the end (they
     * wait only on an empty buffer). */
    if (--c->senders == 0)
        corio__wq_wake_all(&c->recv_wait, END_OF_CHANNEL);
    corio__free(tx);
    chan_unref(c);
}

void corio_chan_rx_close(corio_chan_rx *rx)
{
    if (!rx)
        return;
    struct chan *c = rx->c;
    wake_handle(&c->recv_wait, rx);
    if (--c->receivers == 0) {
        /* Nobody can receive: senders fail, buffered items are dropped. */
        corio__wq_wake_all(&c->send_wait, -EPIPE);
        c->n = 0;
    }
    corio__free(rx);
    chan_unref(c);
}

static int try_send(struct chan *c, void *item)
{
    if (c->receivers == 0)
        return -EPIPE;
    struct corio__wq_node *r = corio__wq_wake_one(&c->recv_wait, 0);
    if (r) {
        ((struct wait *)r->data)->item = item;
        return 0;
    }
    if (c->n == c->capacity)
        return -EAGAIN;
    size_t at = c->head + c->n;
    c->buf[at >= c->capacity ? at - c->capacity : at] = item;
    c->n++;
    return 0;
}

int corio_chan_try_send(corio_chan_tx *tx, void *item)
{
    return tx ? try_send(tx->c, item) : -EBADF;
}

int corio_chan_send(corio_chan_tx *tx, void *item)
{
    corio_loop *loop;
    corio_task *self = corio__self(&loop);

    if (!tx)
        return -EBADF;
    struct chan *c = tx->c;
    int rc = try_send(c, item);
    if (rc != -EAGAIN)
        return rc;
    if (!self)
        return -EPERM;
    struct wait w = {item, tx};
    struct corio__wq_node n = {.task = self, .data = &w};
    corio__wq_push(&c->send_wait, &n);
    c->refs++;
    corio__waiting(self, CORIO__WAIT_CHAN, c);
    rc = corio__park(loop, self, CORIO__NEVER);
    corio__wq_remove(&c->send_wait, &n);
    chan_unref(c);
    return rc; /* 0: a receiver took the item or moved it in */
}

static int try_recv(struct chan *c, void **item)
{
    if (c->n) {
        *item = c->buf[c->head];
        if (++c->head == c->capacity)
            c->head = 0;
        c->n--;
        /* A slot is free: move the longest waiting sender's item in. */
        struct corio__wq_node *s = corio__wq_wake_one(&c->send_wait, 0);
        if (s) {
            size_t at = c->head + c->n;
            c->buf[at >= c->capacity ? at - c->capacity : at] =
                ((struct wait *)s->data)->item;
            c->n++;
        }
        return 1;
    }
    /* Unbuffered, or a sender waits on a full buffer of size 0. */
    struct corio__wq_node *s = corio__wq_wake_one(&c->send_wait, 0);
    if (s) {
        *item = ((struct wait *)s->data)->item;
        return 1;
    }
    return c->senders == 0 ? 0 : -EAGAIN;
}

int corio_chan_try_recv(corio_chan_rx *rx, void **item)
{
    if (!rx)
        return -EBADF;
    if (!item)
        return -EINVAL;
    return try_recv(rx->c, item);
}

int corio_chan_recv(corio_chan_rx *rx, void **item)
{
    corio_loop *loop;
    corio_task *self = corio__self(&loop);

    int rc = corio_chan_try_recv(rx, item);
    if (rc != -EAGAIN)
        return rc;
    if (!self)
        return -EPERM;
    struct chan *c = rx->c;
    struct wait w = {NULL, rx};
    struct corio__wq_node n = {.task = self, .data = &w};
    corio__wq_push(&c->recv_wait, &n);
    c->refs++;
    corio__waiting(self, CORIO__WAIT_CHAN, c);
    rc = corio__park(loop, self, CORIO__NEVER);
    corio__wq_remove(&c->recv_wait, &n);
    chan_unref(c);
    if (rc == 0) {
        *item = w.item;
        return 1;
    }
    return rc == END_OF_CHANNEL ? 0 : rc;
}

/* SPDX-License-Identifier: MIT */
/* Channels between loops: a mutex-protected ring of pointers and FIFO
 * lists of waiting senders and receivers, which may belong to any loop.
 * Items move by handoff under the lock (a waiting receiver is handed a
 * sent item; a receive that frees a slot takes a waiting sender's item
 * in), and a waiter is woken directly when it is on the waker's loop, or
 * through its loop's port otherwise. A waiter that is cancelled withdraws
 * under the lock if nothing was handed to it yet; if something was, the
 * handoff wins. So each item is delivered exactly once, and a failed call
 * moved nothing. */
#include "pool/pool.h"

#include "corio/multi.h"

#include <string.h>

struct xwaiter {
    struct xwaiter *next, *prev; /* on send_q or recv_q, under c->lock */
    bool linked;                 /* guarded by c->lock */
    void *item;                  /* offered by a sender, or handed over */
    int rc;                      /* 0 handed; -ESHUTDOWN */
    corio_loop *loop;            /* the waiting task's loop */
    struct corio__loopx *x;      /* and its port */
    struct corio__xwait wait;
    struct corio__post post;
};

struct wlist {
    struct xwaiter *head, *tail;
};

struct corio_xchan {
    pthread_mutex_t lock;
    void **buf;      /* ring of cap items; guarded by lock */
    size_t cap;
    size_t head;
    size_t n;
    struct wlist send_q; /* guarded by lock */
    struct wlist recv_q;
    bool shut;       /* guarded by lock */
    atomic_uint refs;
};

static void push(struct wlist *l, struct xwaiter *w)
{
    w->next = NULL;
    w->prev = l->tail;
    if (l->tail)
        l->tail->next = w;
    else
        l->head = w;
    l->tail = w;
    w->linked = true;
}

static void unlink_w(struct wlist *l, struct xwaiter *w)
{
    if (w->prev)
        w->prev->next = w->next;
    else
        l->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        l->tail = w->prev;
    w->linked = false;
}

static struct xwaiter *pop(struct wlist *l)
{
    struct xwaiter *w = l->head;
    if (w)
        unlink_w(l, w);
    return w;
}

static void posted(struct corio__post *p)
{
    struct xwaiter *w = container_of(p, struct xwaiter, post);
    corio__xwait_done(&w->wait);
}

/* Hand w its outcome and wake it (with c->lock held). */
static void hand(struct xwaiter *w, int rc)
{
    w->rc = rc;
    if (w->loop == corio__tls_loop)
        corio__xwait_done(&w->wait);
    else
        corio__port_post(w->x, &w->post);
}

corio_xchan *corio_xchan_new(size_t capacity)
{
    corio_xchan *c = corio__calloc(1, sizeof *c);
    if (!c)
        goto err;
    if (capacity) {
        if (capacity > SIZE_MAX / sizeof *c->buf)
            goto err_free;
        c->buf = corio__malloc(capacity * sizeof *c->buf);
        if (!c->buf)
            goto err_free;
    }
    if (pthread_mutex_init(&c->lock, NULL) != 0)
        goto err_free_buf;
    c->cap = capacity;
    atomic_init(&c->refs, 1);
    return c;

err_free_buf:
    corio__free(c->buf);
err_free:
    corio__free(c);
err:
    errno = ENOMEM;
    return NULL;
}

corio_xchan *corio_xchan_ref(corio_xchan *c)
{
    if (c)
        atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
    return c;
}

void corio_xchan_unref(corio_xchan *c)
{
    /* acq_rel: the last one out sees every other user's writes. */
    if (!c || atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
        return;
    pthread_mutex_destroy(&c->lock);
    corio__free(c->buf);
    corio__free(c);
}

/* Try to send with the lock held: 0, -EAGAIN or -ESHUTDOWN. */
static int send_locked(corio_xchan *c, void *item)
{
    if (c->shut)
        return -ESHUTDOWN;
    struct xwaiter *r = pop(&c->recv_q);
    if (r) {
        /* A waiting receiver means the ring is empty: hand it over. */
        r->item = item;
        hand(r, 0);
        return 0;
    }
    if (c->n < c->cap) {
        c->buf[(c->head + c->n) % c->cap] = item;
        c->n++;
        return 0;
    }
    return -EAGAIN;
}

/* Try to receive with the lock held: 0, -EAGAIN or -ESHUTDOWN. */
static int recv_locked(corio_xchan *c, void **item)
{
    if (c->n) {
        *item = c->buf[c->head];
        c->head = (c->head + 1) % c->cap;
        c->n--;
        /* A slot came free: the longest-waiting sender's item takes it,
         * so items keep the order they were offered in. */
        struct xwaiter *s = pop(&c->send_q);
        if (s) {
            c->buf[(c->head + c->n) % c->cap] = s->item;
            c->n++;
            hand(s, 0);
        }
        return 0;
    }
    struct xwaiter *s = pop(&c->send_q);
    if (s) { /* capacity 0: take the item from the sender */
        *item = s->item;
        hand(s, 0);
        return 0;
    }
    return c->shut ? -ESHUTDOWN : -EAGAIN;
}

int corio_xchan_try_send(corio_xchan *c, void *item)
{
    if (!c)
        return -EINVAL;
    pthread_mutex_lock(&c->lock);
    int rc = send_locked(c, item);
    pthread_mutex_unlock(&c->lock);
    return rc;
}

int corio_xchan_try_recv(corio_xchan *c, void **item)
{
    if (!c || !item)
        return -EINVAL;
    pthread_mutex_lock(&c->lock);
    int rc = recv_locked(c, item);
    pthread_mutex_unlock(&c->lock);
    return rc;
}

/* Wait on queue q until handed something. Called with c->lock held,
 * returns with it released. */
static int wait_on(corio_xchan *c, struct wlist *q, struct xwaiter *w,
                   corio_task *self, struct corio__loopx *x)
{
    w->loop = x->loop;
    w->x = x;
    w->rc = 0;
    w->wait.task = self;
    w->wait.done = false;
    w->post.fn = posted;
    push(q, w);
    corio_xchan_ref(c); /* the channel outlives our wait */
    pthread_mutex_unlock(&c->lock);

    int rc = corio__port_wait(x, &w->wait, false);
    if (rc < 0) {
        pthread_mutex_lock(&c->lock);
        bool withdrawn = w->linked;
        if (withdrawn)
            unlink_w(q, w);
        pthread_mutex_unlock(&c->lock);
        if (withdrawn) {
            corio_xchan_unref(c);
            return rc; /* nothing moved */
        }
        /* Handed over already: the handoff wins; wait for its wake-up. */
        corio__port_wait(x, &w->wait, true);
        corio__repend(self, rc);
    }
    corio_xchan_unref(c);
    return w->rc;
}

/* corio_xchan_send (send: *item is the item) and corio_xchan_recv: try
 * under the lock, else wait on that direction's queue, a sender with its
 * item, a receiver for one. */
static int transfer(corio_xchan *c, bool send, void **item)
{
    corio_loop *loop;
    corio_task *self = corio__self(&loop);

    if (self) {
        int rc = corio__checkpoint(self);
        if (rc < 0)
            return rc;
    }
    pthread_mutex_lock(&c->lock);
    int rc = send ? send_locked(c, *item) : recv_locked(c, item);
    if (rc != -EAGAIN) {
        pthread_mutex_unlock(&c->lock);
        return rc;
    }
    if (!self) {
        pthread_mutex_unlock(&c->lock);
        return -EPERM;
    }
    struct corio__loopx *x = corio__loopx_get(loop);
    if (!x) {
        pthread_mutex_unlock(&c->lock);
        return -errno;
    }
    struct xwaiter w = {.item = send ? *item : NULL};
    rc = wait_on(c, send ? &c->send_q : &c->recv_q, &w, self, x);
    if (rc == 0 && !send)
        *item = w.item;
    return rc;
}

int corio_xchan_send(corio_xchan *c, void *item)
{
    if (!c)
        return -EINVAL;
    return transfer(c, true, &item);
}

int corio_xchan_recv(corio_xchan *c, void **item)
{
    if (!c || !item)
        return -EINVAL;
    return transfer(c, false, item);
}

void corio_xchan_shutdown(corio_xchan *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->lock);
    c->shut = true;
    struct xwaiter *w;
    while ((w = pop(&c->send_q)))
        hand(w, -ESHUTDOWN);
    /* Receivers wait only while the ring is empty. */
    while ((w = pop(&c->recv_q)))
        hand(w, -ESHUTDOWN);
    pthread_mutex_unlock(&c->lock);
}

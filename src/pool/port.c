/* SPDX-License-Identifier: MIT */
/* Per-loop state of the pool and os modules, and its completion port:
 * other threads post completions to a loop here, and the tasks waiting
 * for them drain the port in turns (see pool.h for the design). The state
 * lives in a registry keyed by the loop, because struct corio_loop has no
 * room for it; loop.c calls corio__loopx_destroy when it frees a loop. */
#include "pool/pool.h"

#include "core/waitq.h"

#include <assert.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* Wake code of a follower that becomes the leader. Positive, so it is
 * never confused with an errno, and unlike 0 it says "not done". */
#define PROMOTE 1

/* ---- the registry ---- */

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct corio__loopx *reg_head; /* guarded by reg_lock */
/* Bumped (release, under reg_lock) each time a state is freed, so that a
 * thread's cached lookup below is known stale after a loop was closed and
 * its address reused. */
static atomic_uint_fast64_t reg_gen;

/* This thread's last lookup: the loop, its state, and reg_gen then. The
 * state is used only when the loop and the generation both match, so the
 * cache never dereferences a freed state. */
static CORIO_TLS corio_loop *tls_loop;
static CORIO_TLS struct corio__loopx *tls_x;
static CORIO_TLS uint64_t tls_gen;

/* Make the state of loop: eventfd, watched edge-triggered by the loop. */
static struct corio__loopx *create(corio_loop *loop)
{
    struct corio__loopx *x = corio__calloc(1, sizeof *x);
    if (!x) {
        errno = ENOMEM;
        return NULL;
    }
    int rc;
    x->loop = loop;
    x->tail = &x->head;
    x->efd = corio__fail_syscall() ? (errno = EMFILE, -1)
                                   : eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (x->efd < 0) {
        rc = -errno;
        goto err_free;
    }
    rc = corio__io_watch_internal(loop, &x->io, x->efd, false);
    if (rc < 0)
        goto err_close;
    /* io_uring arms its poll now, so that an uncancellable wait on the
     * port never meets an allocation that can fail. */
    rc = corio__io_want(&x->io, CORIO__IN);
    if (rc < 0) {
        corio__io_unwatch(&x->io, NULL);
        goto err_close;
    }
    if (pthread_mutex_init(&x->lock, NULL) != 0) {
        rc = -ENOMEM;
        goto err_unwatch;
    }
    return x;

err_unwatch:
    corio__io_unwatch(&x->io, NULL);
err_close:
    close(x->efd);
err_free:
    corio__free(x);
    errno = -rc;
    return NULL;
}

struct corio__loopx *corio__loopx_get(corio_loop *loop)
{
    uint64_t gen = atomic_load_explicit(&reg_gen, memory_order_acquire);
    if (likely(tls_loop == loop && tls_gen == gen && loop))
        return tls_x;
    if (!loop) {
        errno = EPERM;
        return NULL;
    }
    pthread_mutex_lock(&reg_lock);
    struct corio__loopx *x = reg_head;
    while (x && x->loop != loop)
        x = x->next;
    pthread_mutex_unlock(&reg_lock);
    if (!x) {
        /* Only the loop's own thread creates its state, so nobody else
         * can insert it meanwhile. */
        x = create(loop);
        if (!x)
            return NULL;
        pthread_mutex_lock(&reg_lock);
        x->next = reg_head;
        reg_head = x;
        pthread_mutex_unlock(&reg_lock);
    }
    tls_loop = loop;
    tls_x = x;
    tls_gen = gen;
    return x;
}

void corio__loopx_destroy(corio_loop *loop)
{
    pthread_mutex_lock(&reg_lock);
    struct corio__loopx **pp = &reg_head;
    while (*pp && (*pp)->loop != loop)
        pp = &(*pp)->next;
    struct corio__loopx *x = *pp;
    if (x) {
        *pp = x->next;
        atomic_fetch_add_explicit(&reg_gen, 1, memory_order_release);
    }
    pthread_mutex_unlock(&reg_lock);
    if (tls_loop == loop)
        tls_loop = NULL;
    if (!x)
        return;
    /* No task is left, so nothing waits on the port. */
    for (int i = 0; i < CORIO__X_NSLOTS; i++)
        if (x->close[i])
            x->close[i](x);
    corio__io_unwatch(&x->io, NULL);
    close(x->efd);
    pthread_mutex_destroy(&x->lock);
    corio__free(x);
}

/* ---- the port ---- */

void corio__port_post(struct corio__loopx *x, struct corio__post *p)
{
    p->next = NULL;
    pthread_mutex_lock(&x->lock);
    bool first = x->head == NULL;
    *x->tail = p;
    x->tail = &p->next;
    /* Write the eventfd under the lock: once the drainer has taken p, the
     * loop may end and free x, so the poster must be done with x by the
     * time it lets go of the lock. Only the first post of a batch writes:
     * the drainer takes the whole list. */
    if (first) {
        uint64_t one = 1;
        ssize_t n = write(x->efd, &one, sizeof one);
        (void)n; /* EAGAIN: the counter is saturated, so it is readable */
    }
    pthread_mutex_unlock(&x->lock);
}

/* Take what was posted and run it, then let the other modules reap (the
 * io_uring CQEs). Reading the eventfd first and clearing the cached
 * readiness means that anything posted after this read makes a new edge
 * that wakes the next leader. */
static void drain(struct corio__loopx *x)
{
    uint64_t v;
    ssize_t n = read(x->efd, &v, sizeof v);
    (void)n;
    corio__io_clear(&x->io, CORIO__IN);

    pthread_mutex_lock(&x->lock);
    struct corio__post *p = x->head;
    x->head = NULL;
    x->tail = &x->head;
    pthread_mutex_unlock(&x->lock);
    while (p) {
        /* fn may let p's owner go on and free p: read the link first. */
        struct corio__post *next = p->next;
        p->fn(p);
        p = next;
    }
    for (int i = 0; i < CORIO__X_NSLOTS; i++)
        if (x->poll[i])
            x->poll[i](x);
}

/* Park self on q, with or without cancellation. */
static int park_on(struct corio__wq *q, corio_loop *loop, corio_task *self,
                   bool nocancel)
{
    struct corio__wq_node n = {.task = self};
    corio__wq_push(q, &n);
    int rc = nocancel ? corio__park_nocancel(loop, self)
                      : corio__park(loop, self, CORIO__NEVER);
    corio__wq_remove(q, &n);
    return rc;
}

/* The leader's turn: drain, and park on the eventfd until w is done. */
static int lead(struct corio__loopx *x, struct corio__xwait *w,
                corio_loop *loop, corio_task *self, bool nocancel)
{
    for (;;) {
        drain(x);
        if (w->done)
            return 0;
        int rc = corio__io_want(&x->io, CORIO__IN);
        if (rc == 0)
            rc = park_on(&x->io.wait[0], loop, self, nocancel);
        if (rc < 0)
            return rc;
    }
}

int corio__port_wait(struct corio__loopx *x, struct corio__xwait *w,
                     bool nocancel)
{
    corio_loop *loop;
    corio_task *self = corio__self(&loop);
    int rc = 0;

    assert(self && w->task == self && x->loop == loop);
    while (!w->done) {
        if (!x->leader) {
            x->leader = self;
            rc = lead(x, w, loop, self, nocancel);
            x->leader = NULL;
        } else {
            rc = park_on(&x->followers, loop, self, nocancel);
            if (rc == PROMOTE)
                rc = 0;
        }
        if (rc < 0 && !w->done)
            break; /* cancelled or timed out, and not done */
    }
    /* Whoever leaves while nobody leads hands the role on, so that the
     * remaining waiters keep draining the port. */
    if (!x->leader)
        corio__wq_wake_one(&x->followers, PROMOTE);
    if (w->done) {
        /* Done, though a cancellation may have arrived too: the
         * completion wins and the cancellation waits for the next
         * suspension. */
        corio__repend(self, rc);
        return 0;
    }
    return rc;
}

void corio__block_signals(void)
{
    sigset_t set;
    sigfillset(&set);
    /* Faults stay deliverable to the thread that causes them. */
    sigdelset(&set, SIGSEGV);
    sigdelset(&set, SIGBUS);
    sigdelset(&set, SIGFPE);
    sigdelset(&set, SIGILL);
    sigdelset(&set, SIGTRAP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
}

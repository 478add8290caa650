/* SPDX-License-Identifier: MIT */
/* Descriptors registered with the loop, and the public corio_fd API on
 * top of them. Tasks park on a descriptor's reader or writer queue; the
 * backend marks readiness and wakes them. Closing wakes waiters with
 * -EBADF exactly once and waits until they have left, so that nobody
 * touches a freed descriptor. */
#include "core/core.h"
#include "core/waitq.h"

#include "corio/io.h"

#include <string.h>

static int watch(corio_loop *loop, struct corio__io *io, int fd,
                 bool oneshot, bool internal)
{
    memset(io, 0, sizeof *io);
    io->loop = loop;
    io->fd = fd;
    io->oneshot = oneshot;
    io->internal = internal;
    io->ring = loop->uring;
    int rc = corio__backend_watch(loop, io);
    if (rc < 0)
        return rc;
    io->watched = true;
    if (!internal)
        loop->nios++;
    return 0;
}

int corio__io_watch(corio_loop *loop, struct corio__io *io, int fd,
                    bool oneshot)
{
    return watch(loop, io, fd, oneshot, false);
}

int corio__io_watch_internal(corio_loop *loop, struct corio__io *io, int fd,
                             bool oneshot)
{
    return watch(loop, io, fd, oneshot, true);
}

/* The events the waiters of a corio_fd still want (node->data). */
static unsigned wanted(const struct corio__io *io)
{
    unsigned ev = 0;
    for (struct corio__wq_node *n = io->wait[0].head; n; n = n->next)
        ev |= (unsigned)(uintptr_t)n->data;
    return ev;
}

/* A corio_fd's one-shot registration fired: wake each waiter that asked
 * for one of the events with the ones it asked for, and re-arm for those
 * still waiting. */
static void oneshot_ready(struct corio__io *io, unsigned dirs)
{
    struct corio__wq_node *n = io->wait[0].head;
    while (n) {
        struct corio__wq_node *next = n->next;
        unsigned want = (unsigned)(uintptr_t)n->data;
        if (dirs & want) {
            corio__wq_remove(&io->wait[0], n);
            corio__wake(n->task, (int)(dirs & want));
        }
        n = next;
    }
    unsigned ev = wanted(io);
    if (ev && !io->closed)
        corio__backend_arm(io->loop, io, ev);
}

void corio__io_ready(struct corio__io *io, unsigned dirs)
{
    if (io->oneshot) {
        oneshot_ready(io, dirs);
        return;
    }
    io->ready |= (uint8_t)dirs;
    if (dirs & CORIO__IN)
        corio__wq_wake_all(&io->wait[0], 0);
    if (dirs & CORIO__OUT)
        corio__wq_wake_all(&io->wait[1], 0);
}

void corio__io_leave(struct corio__io *io)
{
    if (--io->inside == 0 && io->closed) {
        if (io->closer)
            corio__wake(io->closer, 0);
        else if (io->free_fn)
            io->free_fn(io);
    }
}

/* What a task parked on queue q of io waits for, for dumps. A corio_fd
 * has one queue, and each node says what its task wants. */
static uint8_t dir_kind(const struct corio__wq *q, const struct corio__io *io,
                        void *data)
{
    bool out = io->oneshot ? (uintptr_t)data == CORIO__OUT
                           : q == &io->wait[1];
    return out ? CORIO__WAIT_WRITE : CORIO__WAIT_READ;
}

/* Park on queue q of io; data goes in the queue node. */
static int park_on(struct corio__io *io, corio_loop *loop, corio_task *self,
                   struct corio__wq *q, void *data)
{
    struct corio__wq_node n = {.task = self, .data = data};
    corio__wq_push(q, &n);
    io->inside++;
    corio__waiting(self, dir_kind(q, io, data), io);
    int rc = corio__park(loop, self, CORIO__NEVER);
    corio__wq_remove(q, &n);
    if (io->closed)
        rc = -EBADF; /* closed while we waited, whatever woke us */
    corio__io_leave(io);
    return rc;
}

int corio__io_wait(struct corio__io *io, unsigned dir)
{
    corio_loop *loop;
    corio_task *self = corio__self(&loop);

    if (io->closed)
        return -EBADF;
    if (io->ready & dir)
        return 0;
    if (!self)
        return -EPERM;
    int rc = corio__io_want(io, dir);
    if (rc < 0)
        return rc;
    return park_on(io, loop, self, &io->wait[dir == CORIO__IN ? 0 : 1],
                   NULL);
}

int corio__io_park(struct corio__io *io, unsigned dir)
{
    corio_loop *loop;
    corio_task *self = corio__self(&loop);

    if (io->closed)
        return -EBADF;
    if (!self)
        return -EPERM;
    return park_on(io, loop, self, &io->wait[dir == CORIO__IN ? 0 : 1],
                   NULL);
}

bool corio__io_unwatch(struct corio__io *io,
                       void (*free_fn)(struct corio__io *))
{
    corio_loop *loop;
    corio_task *self = corio__self(&loop);

    if (!io->closed) {
        io->closed = true;
        corio__wq_wake_all(&io->wait[0], -EBADF);
        corio__wq_wake_all(&io->wait[1], -EBADF);
        if (io->watched) {
            corio__backend_unwatch(io->loop, io);
            io->watched = false;
            if (!io->internal)
                io->loop->nios--;
        }
    }
    if (io->inside == 0)
        return true;
    if (self && loop == io->loop) {
        /* Wait for the woken tasks to leave; nothing can cancel this. */
        io->closer = self;
        while (io->inside)
            corio__park_nocancel(loop, self);
        io->closer = NULL;
        return true;
    }
    io->free_fn = free_fn;
    return false;
}

/* ---- the public corio_fd ---- */

struct corio_fd {
    struct corio__io io;
};

corio_fd *corio_fd_open(int fd)
{
    corio_loop *loop = corio__tls_loop;
    if (!loop) {
        errno = EPERM;
        return NULL;
    }
    if (fd < 0) {
        errno = EBADF;
        return NULL;
    }
    corio_fd *f = corio__malloc(sizeof *f);
    if (!f) {
        errno = ENOMEM;
        return NULL;
    }
    int rc = corio__io_watch(loop, &f->io, fd, true);
    if (rc < 0) {
        corio__free(f);
        errno = -rc;
        return NULL;
    }
    return f;
}

int corio_fd_wait(corio_fd *f, unsigned events)
{
    corio_loop *loop;
    corio_task *self = corio__self(&loop);

    if (!f)
        return -EINVAL;
    events &= CORIO_READABLE | CORIO_WRITABLE;
    if (!events)
        return -EINVAL;
    if (f->io.closed)
        return -EBADF;
    if (!self)
        return -EPERM;
    /* Level semantics: the descriptor is armed once for the events its
     * waiters want, and the backend wakes each with what was ready. */
    int rc = corio__backend_arm(loop, &f->io, events | wanted(&f->io));
    if (rc < 0)
        return rc;
    return park_on(&f->io, loop, self, &f->io.wait[0],
                   (void *)(uintptr_t)events);
}

int corio_fd_fileno(const corio_fd *f)
{
    return f ? f->io.fd : -1;
}

static void free_fd(struct corio__io *io)
{
    corio__free(container_of(io, corio_fd, io));
}

void corio_fd_close(corio_fd *f)
{
    if (f && corio__io_unwatch(&f->io, free_fd))
        free_fd(&f->io);
}

int corio_wait_fd(int fd, unsigned events)
{
    corio_fd *f = corio_fd_open(fd);
    if (!f)
        return -errno;
    int rc = corio_fd_wait(f, events);
    corio_fd_close(f);
    return rc;
}

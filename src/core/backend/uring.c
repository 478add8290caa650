/* SPDX-License-Identifier: MIT */
/* The io_uring backend: one ring per loop. Sockets and files submit their
 * operations to it as requests (struct corio__ureq, in the waiting task's
 * storage), and descriptors that tasks wait on for readiness (corio_fd,
 * c-ares, eventfds, TLS) get poll requests, armed when a task first waits:
 * multishot for the edge-triggered descriptors corio drives, one-shot for
 * corio_fd. Everything a loop iteration queues goes to the kernel with the
 * one io_uring_enter that also waits, with a nanosecond timeout, for the
 * next completion; completions already in the ring are reaped without a
 * system call. The loop's wake eventfd (call_soon_threadsafe) has a
 * multishot poll of its own. Chosen in corio__backend_init (loop.c) when
 * the kernel has what this file needs (probe below); docs/internals/
 * uring.md tells the story. */
#include "core/core.h"
#include "core/waitq.h"
#ifdef CORIO_TESTING
#include "core/testing.h"
#endif

#ifdef CORIO_HAVE_URING

#include <liburing.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define SQ_ENTRIES 256
/* Completions are bursty (a thousand connections may answer at once);
 * beyond this the kernel keeps them on its overflow list (NODROP). */
#define CQ_ENTRIES 4096
/* Connections a listener's multishot accept may queue before it is
 * stopped; the next accept call starts it again. */
#define ACCEPT_MAX 128

/* What a completion is for: struct corio__ureq.kind. user_data 0 marks a
 * completion nobody waits for (a cancel request's own). */
enum {
    UREQ_TASK = 1, /* a task waits: the ureq is in its storage */
    UREQ_POLL_IN,  /* struct watch.poll[0] */
    UREQ_POLL_OUT, /* struct watch.poll[1] */
    UREQ_ACCEPT,   /* struct watch.acc, a listener's multishot accept */
    UREQ_WAKE,     /* struct uring_backend.wake, the wake eventfd's poll */
};

/* What the backend keeps for a descriptor, made when a task first waits
 * on it (sockets that only send and receive through the ring never have
 * one). It outlives its descriptor while requests of its own are still in
 * the kernel: unwatch cancels them and sets io to NULL, and the last
 * completion frees it. */
struct watch {
    struct corio__io *io;       /* NULL once the descriptor is unwatched */
    struct corio__ureq poll[2]; /* readiness polls: [0] IN, [1] OUT */
    struct corio__ureq acc;     /* the multishot accept of a listener */
    uint8_t armed;              /* CORIO__IN / CORIO__OUT: poll in flight */
    bool acc_armed;             /* acc is in flight */
    bool acc_stop;              /* acc is being cancelled: queue full */
    bool pinned;                /* unwatch is using it: do not free */
    int acc_err;                /* the error acc ended with, reported by
                                   the next accept call */
    int *fds;                   /* accepted connections not yet taken, a
                                   ring of fd_cap (owned) */
    unsigned fd_head;
    unsigned fd_n;
    unsigned fd_cap;
    struct corio__list link;    /* on the backend's list of watches */
};

struct uring_backend {
    struct io_uring ring;
    unsigned inflight;         /* requests in the kernel, the wake poll
                                  aside: a poll must look for them */
    struct corio__ureq wake;   /* multishot poll of loop->wake_fd */
    bool wake_armed;
    struct corio__list watches; /* every struct watch, live or orphaned */
};

/* ---- the per-process probe ---- */

static pthread_once_t probe_once = PTHREAD_ONCE_INIT;
static bool usable;          /* the kernel has everything below */
static unsigned setup_flags; /* for every ring */
/* For rings of loops that one thread makes, runs and closes (corio_run's),
 * if the kernel has them (Linux 6.1): completions are handled only when
 * the loop enters the ring, in one batch, instead of on the way out of
 * any system call the thread makes (a stream's sendmsg, for one). That
 * saves about 6 % of an HTTP server's CPU per request. SINGLE_ISSUER,
 * which DEFER_TASKRUN needs, ties the ring to the thread that made it,
 * so a loop made with corio_loop_new, which any thread may run, does not
 * get them. */
static unsigned one_thread_flags;

/* What corio needs: Linux 5.19 or later. The opcode probe (5.6) tells the
 * operations; multishot accept and IORING_SETUP_COOP_TASKRUN came in 5.19
 * with IORING_OP_SOCKET, which stands in for them (opcodes are the only
 * thing a kernel lists). A kernel without io_uring (ENOSYS), or one that
 * forbids it (kernel.io_uring_disabled, seccomp in a container: EPERM),
 * fails the setup, and the loop stays on epoll. */
static void probe(void)
{
    struct io_uring ring;
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    p.flags = IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
    if (io_uring_queue_init_params(4, &ring, &p) < 0)
        return;
    unsigned feats = IORING_FEAT_EXT_ARG | IORING_FEAT_NODROP |
                     IORING_FEAT_FAST_POLL;
    struct io_uring_probe *pr = io_uring_get_probe_ring(&ring);
    bool ok = pr && (p.features & feats) == feats;
    static const int ops[] = {
        IORING_OP_POLL_ADD, IORING_OP_POLL_REMOVE, IORING_OP_ASYNC_CANCEL,
        IORING_OP_ACCEPT,   IORING_OP_RECV,        IORING_OP_SEND,
        IORING_OP_RECVMSG,  IORING_OP_SENDMSG,     IORING_OP_SOCKET,
    };
    for (size_t i = 0; ok && i < sizeof ops / sizeof ops[0]; i++)
        ok = io_uring_opcode_supported(pr, ops[i]);
    if (pr)
        io_uring_free_probe(pr);
    io_uring_queue_exit(&ring);
    setup_flags = p.flags;
    usable = ok;
    if (!ok)
        return;
    memset(&p, 0, sizeof p);
    p.flags = IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_SINGLE_ISSUER |
              IORING_SETUP_DEFER_TASKRUN;
    if (io_uring_queue_init_params(4, &ring, &p) == 0) {
        io_uring_queue_exit(&ring);
        one_thread_flags = p.flags;
    } else {
        one_thread_flags = setup_flags;
    }
}

/* ---- submission ---- */

static int reap(corio_loop *loop, struct uring_backend *b);

/* A free SQE, submitting what is queued to make room: NULL only if the
 * kernel takes nothing even after the completions were reaped (its
 * overflow list is full). */
static struct io_uring_sqe *get_sqe(corio_loop *loop, struct uring_backend *b)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&b->ring);
    for (int i = 0; unlikely(!sqe) && i < 4; i++) {
        io_uring_submit(&b->ring);
        sqe = io_uring_get_sqe(&b->ring);
        if (!sqe)
            reap(loop, b); /* the kernel wants room in the CQ first */
    }
    return sqe;
}

void *corio__uring_sqe(corio_loop *loop)
{
    return get_sqe(loop, loop->backend);
}

/* Ask the kernel to cancel request q; its own completion is ignored, and
 * q completes with -ECANCELED (or its result, if it got there first). */
static bool cancel(corio_loop *loop, struct uring_backend *b,
                   struct corio__ureq *q)
{
    struct io_uring_sqe *sqe = get_sqe(loop, b);
    if (!sqe)
        return false;
    io_uring_prep_cancel(sqe, q, 0);
    io_uring_sqe_set_data(sqe, NULL);
    return true;
}

/* ---- descriptors: readiness polls ---- */

static struct watch *watch_get(struct uring_backend *b, struct corio__io *io)
{
    struct watch *w = io->bdata;
    if (likely(w))
        return w;
    w = corio__calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->io = io;
    w->poll[0].kind = UREQ_POLL_IN;
    w->poll[1].kind = UREQ_POLL_OUT;
    w->acc.kind = UREQ_ACCEPT;
    corio__list_push_back(&b->watches, &w->link);
    io->bdata = w;
    return w;
}

/* Free an orphaned watch once nothing of it is in the kernel. */
static void watch_release(struct watch *w)
{
    if (w->io || w->pinned || w->armed || w->acc_armed)
        return;
    for (unsigned i = 0; i < w->fd_n; i++)
        close(w->fds[(w->fd_head + i) % w->fd_cap]);
    corio__list_remove(&w->link);
    corio__free(w->fds);
    corio__free(w);
}

static int ur_watch(corio_loop *loop, struct corio__io *io)
{
    (void)loop;
    io->bdata = NULL;
    if (!io->oneshot)
        return 0; /* corio's own descriptors: sockets, eventfds, pipes */
    /* As epoll_ctl would: a descriptor must be open and pollable. A
     * regular file or a directory is always ready, which epoll refuses
     * with EPERM; so does this backend, for the same behaviour. */
    struct stat st;
    if (fstat(io->fd, &st) < 0)
        return -errno;
    if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))
        return -EPERM;
    return 0;
}

/* Arm a poll for each direction in events that has none in flight:
 * multishot (edge-triggered: it reports each new readiness until the
 * descriptor is unwatched) for corio's own descriptors, one-shot for
 * corio_fd, whose waits re-arm it as epoll's EPOLLONESHOT does. */
static int ur_arm(corio_loop *loop, struct corio__io *io, unsigned events)
{
    struct uring_backend *b = loop->backend;
    struct watch *w = watch_get(b, io);
    if (!w)
        return -ENOMEM;
    if (io->oneshot) {
        /* One poll for everything its waiters want, so that a wait for
         * both directions learns both when both are ready (poll[0]; the
         * armed bits are its mask). A wait for more widens it in place. */
        events &= CORIO__IN | CORIO__OUT;
        if ((w->armed & events) == events)
            return 0;
        unsigned want = w->armed | events;
        unsigned mask = (want & CORIO__IN ? POLLIN | POLLRDHUP : 0) |
                        (want & CORIO__OUT ? POLLOUT : 0);
        struct io_uring_sqe *sqe = get_sqe(loop, b);
        if (!sqe)
            return -EAGAIN;
        if (w->armed) {
            /* If it fired meanwhile, the update finds nothing (its own
             * completion is ignored) and the waiters re-arm. The new
             * user_data must be 0: the kernel refuses one without
             * IORING_POLL_UPDATE_USER_DATA (-EINVAL). */
            io_uring_prep_poll_update(sqe, (uintptr_t)&w->poll[0], 0, mask,
                                      IORING_POLL_UPDATE_EVENTS);
            io_uring_sqe_set_data(sqe, NULL);
        } else {
            io_uring_prep_poll_add(sqe, io->fd, mask);
            io_uring_sqe_set_data(sqe, &w->poll[0]);
            b->inflight++;
        }
        w->armed = (uint8_t)want;
        return 0;
    }
    for (int i = 0; i < 2; i++) {
        unsigned dir = i ? CORIO__OUT : CORIO__IN;
        if (!(events & dir) || (w->armed & dir))
            continue;
        struct io_uring_sqe *sqe = get_sqe(loop, b);
        if (!sqe)
            return -EAGAIN;
        io_uring_prep_poll_multishot(sqe, io->fd,
                                     i ? POLLOUT : POLLIN | POLLRDHUP);
        io_uring_sqe_set_data(sqe, &w->poll[i]);
        w->armed |= (uint8_t)dir;
        b->inflight++;
    }
    return 0;
}

static void ur_unwatch(corio_loop *loop, struct corio__io *io)
{
    struct uring_backend *b = loop->backend;
    struct watch *w = io->bdata;
    io->bdata = NULL;
    if (!w)
        return;
    w->io = NULL;
    w->pinned = true; /* get_sqe may reap, and a completion free w */
    bool sent = false;
    if (io->oneshot) {
        if (w->armed)
            sent |= cancel(loop, b, &w->poll[0]);
        w->armed = w->armed ? CORIO__IN : 0; /* poll[0] only */
    } else {
        for (int i = 0; i < 2; i++)
            if (w->armed & (i ? CORIO__OUT : CORIO__IN))
                sent |= cancel(loop, b, &w->poll[i]);
    }
    if (w->acc_armed && !w->acc_stop)
        sent |= cancel(loop, b, &w->acc);
    /* A request holds its own reference to the file: submit the cancels
     * now, so that the close(2) that follows really closes (a listener's
     * port is free at once, a peer sees the FIN at once). */
    if (sent)
        io_uring_submit(&b->ring);
    /* Connections accepted ahead and not taken go with the listener. */
    for (; w->fd_n; w->fd_n--) {
        close(w->fds[w->fd_head]);
        w->fd_head = (w->fd_head + 1) % w->fd_cap;
    }
    w->pinned = false;
    watch_release(w);
}

/* A readiness poll completed. */
static void polled(struct uring_backend *b, struct corio__ureq *q, int res,
                   unsigned flags)
{
    int i = q->kind == UREQ_POLL_OUT;
    struct watch *w = i ? container_of(q, struct watch, poll[1])
                        : container_of(q, struct watch, poll[0]);
    unsigned dir = i ? CORIO__OUT : CORIO__IN;
    /* Clear the bits first: a one-shot descriptor's waiters re-arm from
     * corio__io_ready (its one poll had all of them). */
    if (!(flags & IORING_CQE_F_MORE)) {
        w->armed &= (uint8_t)(w->io && w->io->oneshot ? 0 : ~dir);
        b->inflight--;
    }
    if (!w->io) {
        watch_release(w);
        return;
    }
    if (res == -ECANCELED)
        return;
    /* An error (the descriptor was closed behind corio's back): wake the
     * waiters, whose next system call reports it; a one-shot poll had
     * both directions. */
    unsigned dirs = w->io->oneshot ? CORIO__IN | CORIO__OUT : dir;
    if (res >= 0) {
        dirs = 0;
        /* As in the epoll backend: an error or a hang-up wakes both
         * sides, and sets the HUP bit the net module relies on. */
        if (res & (POLLERR | POLLHUP))
            dirs = CORIO__IN | CORIO__OUT;
        if (res & (POLLIN | POLLRDHUP | POLLPRI))
            dirs |= CORIO__IN;
        if (res & POLLOUT)
            dirs |= CORIO__OUT;
        if (res & (POLLERR | POLLHUP | POLLRDHUP))
            dirs |= CORIO__HUP;
    }
    corio__io_ready(w->io, dirs);
}

/* ---- the wake eventfd ---- */

static void arm_wake(corio_loop *loop, struct uring_backend *b)
{
    struct io_uring_sqe *sqe = get_sqe(loop, b);
    if (!sqe)
        return; /* tried again at the next poll */
    io_uring_prep_poll_multishot(sqe, loop->wake_fd, POLLIN);
    io_uring_sqe_set_data(sqe, &b->wake);
    b->wake_armed = true;
}

static void woken(corio_loop *loop, struct uring_backend *b, unsigned flags)
{
    uint64_t v;
    ssize_t r = read(loop->wake_fd, &v, sizeof v);
    (void)r;
    if (!(flags & IORING_CQE_F_MORE))
        b->wake_armed = false; /* re-armed by the next poll */
}

/* ---- the loop's side ---- */

static int ur_init(corio_loop *loop)
{
    pthread_once(&probe_once, probe);
    if (!usable)
        return -ENOSYS;
    struct uring_backend *b = corio__calloc(1, sizeof *b);
    if (!b)
        return -ENOMEM;
    corio__list_init(&b->watches);
    b->wake.kind = UREQ_WAKE;
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    p.flags = (loop->one_thread ? one_thread_flags : setup_flags) |
              IORING_SETUP_CQSIZE;
    p.cq_entries = CQ_ENTRIES;
    int rc = corio__fail_syscall()
                 ? -ENOMEM
                 : io_uring_queue_init_params(SQ_ENTRIES, &b->ring, &p);
    if (rc < 0)
        goto err_free;
    loop->wake_fd = corio__fail_syscall()
                        ? (errno = EMFILE, -1)
                        : eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (loop->wake_fd < 0) {
        rc = -errno;
        goto err_exit;
    }
    loop->backend = b;
    loop->uring = true;
    arm_wake(loop, b);
    return 0;

err_exit:
    io_uring_queue_exit(&b->ring);
err_free:
    corio__free(b);
    return rc;
}

static void ur_close(corio_loop *loop)
{
    struct uring_backend *b = loop->backend;
    if (!b)
        return;
    /* The kernel cancels what is left; nothing of it reaches user memory
     * any more, so the orphaned watches can go now. */
    io_uring_queue_exit(&b->ring);
    while (!corio__list_empty(&b->watches)) {
        struct watch *w = container_of(b->watches.next, struct watch, link);
        if (w->io)
            w->io->bdata = NULL;
        w->io = NULL;
        w->armed = 0;
        w->acc_armed = false;
        watch_release(w);
    }
    close(loop->wake_fd);
    loop->wake_fd = -1;
    corio__free(b);
    loop->backend = NULL;
    loop->uring = false;
}

static bool ur_busy(corio_loop *loop)
{
    struct uring_backend *b = loop->backend;
    return b->inflight || io_uring_sq_ready(&b->ring) ||
           io_uring_cq_ready(&b->ring);
}

static void accepted(corio_loop *loop, struct uring_backend *b,
                     struct corio__ureq *q, int res, unsigned flags);

/* Handle one completion. */
static void complete(corio_loop *loop, struct uring_backend *b,
                     struct corio__ureq *q, int res, unsigned flags)
{
    switch (q->kind) {
    case UREQ_TASK:
        b->inflight--;
        q->res = res;
        q->flags = flags;
        q->done = true;
        corio__wake(q->task, 0); /* false: it was woken already and
                                    finds done set */
        break;
    case UREQ_POLL_IN:
    case UREQ_POLL_OUT:
        polled(b, q, res, flags);
        break;
    case UREQ_ACCEPT:
        accepted(loop, b, q, res, flags);
        break;
    case UREQ_WAKE:
        woken(loop, b, flags);
        break;
    }
}

/* Handle the completions in the ring. Each CQE is consumed before it is
 * handled, so a handler that has to reap (get_sqe) cannot see it twice. */
static int reap(corio_loop *loop, struct uring_backend *b)
{
    int n = 0;
    for (;;) {
        struct io_uring_cqe *cqe = NULL;
        unsigned head;
        io_uring_for_each_cqe(&b->ring, head, cqe)
            break;
        if (!cqe)
            return n;
        struct corio__ureq *q = io_uring_cqe_get_data(cqe);
        int res = cqe->res;
        unsigned flags = cqe->flags;
        io_uring_cqe_seen(&b->ring, cqe);
        n++;
        if (q)
            complete(loop, b, q, res, flags);
    }
}

/* Completions the kernel holds back until we enter it: on its overflow
 * list, or task work it was told not to interrupt us for (COOP_TASKRUN
 * with TASKRUN_FLAG). */
static bool needs_enter(const struct io_uring *ring)
{
    unsigned f = IO_URING_READ_ONCE(*ring->sq.kflags);
    return f & (IORING_SQ_CQ_OVERFLOW | IORING_SQ_TASKRUN);
}

static int ur_poll(corio_loop *loop, int64_t timeout)
{
    struct uring_backend *b = loop->backend;
    struct io_uring *ring = &b->ring;

    if (unlikely(!b->wake_armed))
        arm_wake(loop, b);
    if (timeout != 0 && !io_uring_cq_ready(ring)) {
        /* Submit what this iteration queued and wait, in one system
         * call; the timeout is an argument of the call (EXT_ARG), in
         * ns, so timers neither fire early nor need a request. */
        struct __kernel_timespec ts, *tp = NULL;
        if (timeout > 0) {
            ts.tv_sec = timeout / 1000000000;
            ts.tv_nsec = timeout % 1000000000;
            tp = &ts;
        }
        struct io_uring_cqe *cqe;
        io_uring_submit_and_wait_timeout(ring, &cqe, 1, tp, NULL);
    } else if (io_uring_sq_ready(ring) || needs_enter(ring)) {
        io_uring_submit_and_get_events(ring);
    }
    int n = reap(loop, b);
    corio__tsq_drain(loop);
    return n;
}

const struct corio__backend_ops corio__uring_ops = {
    .name = "io_uring",
    .init = ur_init,
    .close = ur_close,
    .poll = ur_poll,
    .busy = ur_busy,
    .watch = ur_watch,
    .arm = ur_arm,
    .unwatch = ur_unwatch,
};

/* ---- requests of tasks ---- */

int corio__uring_await(corio_loop *loop, void *sqe, struct corio__ureq *q,
                       struct corio__io *io, unsigned dir)
{
    struct uring_backend *b = loop->backend;
    corio_task *self = loop->current;
    struct corio__wq *wq = io ? &io->wait[dir == CORIO__OUT] : NULL;
    struct corio__wq_node n = {.task = self};
    uint8_t kind = !io                 ? CORIO__WAIT_OTHER
                   : dir == CORIO__OUT ? CORIO__WAIT_WRITE
                                       : CORIO__WAIT_READ;

    q->kind = UREQ_TASK;
    q->done = false;
    q->task = self;
    io_uring_sqe_set_data(sqe, q);
    b->inflight++;
    if (io)
        io->inside++;
    /* Parked on io's queue too, so that closing io wakes us (-EBADF). A
     * wake-up meant for a readiness waiter of io is not ours: wait on. */
    int rc;
    for (;;) {
        if (wq)
            corio__wq_push(wq, &n);
        corio__waiting(self, kind, io);
        rc = corio__park(loop, self, CORIO__NEVER);
        if (wq)
            corio__wq_remove(wq, &n);
        if (q->done)
            break;
        if (io && io->closed) {
            rc = -EBADF;
            break;
        }
        if (rc < 0)
            break; /* cancelled, or a deadline passed */
    }
    if (!q->done) {
        /* The kernel may write into the task's buffer until the request
         * ends: cancel it there, and wait for its completion whatever
         * happens. */
        cancel(loop, b, q);
        corio__waiting(self, CORIO__WAIT_CLEANUP, io);
        while (!q->done)
            corio__park_nocancel(loop, self);
        if (q->res == -ECANCELED || q->res == -EINTR) {
            if (io)
                corio__io_leave(io);
            return rc; /* cancelled in time: no effect */
        }
    }
    /* It completed: its effect happened (bytes moved), so the result
     * wins, and a cancellation waits for the next suspension. */
    if (rc == -ECANCELED || rc == -ETIMEDOUT)
        corio__repend(self, rc);
    if (io)
        corio__io_leave(io);
    return 0;
}

/* Prepare in one SQE and run a socket operation as the current task. */
static ssize_t run(struct corio__io *io, unsigned dir,
                   struct io_uring_sqe *sqe)
{
    struct corio__ureq q;
    int rc = corio__uring_await(io->loop, sqe, &q, io, dir);
    return rc < 0 ? rc : q.res;
}

ssize_t corio__uring_recv(struct corio__io *io, void *buf, size_t len,
                          int flags)
{
    struct io_uring_sqe *sqe = get_sqe(io->loop, io->loop->backend);
    if (!sqe)
        return -ENOMEM;
    if (len > 0x7ffff000)
        len = 0x7ffff000; /* as read(2): 2 GiB less a page per call */
    io_uring_prep_recv(sqe, io->fd, buf, len, flags);
    return run(io, CORIO__IN, sqe);
}

ssize_t corio__uring_send(struct corio__io *io, const void *buf, size_t len,
                          int flags)
{
    struct io_uring_sqe *sqe = get_sqe(io->loop, io->loop->backend);
    if (!sqe)
        return -ENOMEM;
    if (len > 0x7ffff000)
        len = 0x7ffff000;
    io_uring_prep_send(sqe, io->fd, buf, len, flags | MSG_NOSIGNAL);
    return run(io, CORIO__OUT, sqe);
}

ssize_t corio__uring_recvmsg(struct corio__io *io, struct msghdr *msg,
                             int flags)
{
    struct io_uring_sqe *sqe = get_sqe(io->loop, io->loop->backend);
    if (!sqe)
        return -ENOMEM;
    io_uring_prep_recvmsg(sqe, io->fd, msg, (unsigned)flags);
    return run(io, CORIO__IN, sqe);
}

ssize_t corio__uring_sendmsg(struct corio__io *io, const struct msghdr *msg,
                             int flags)
{
    struct io_uring_sqe *sqe = get_sqe(io->loop, io->loop->backend);
    if (!sqe)
        return -ENOMEM;
    io_uring_prep_sendmsg(sqe, io->fd, msg, (unsigned)flags | MSG_NOSIGNAL);
    return run(io, CORIO__OUT, sqe);
}

/* ---- accept: one multishot request per listener ---- */

/* A connection the listener's multishot accept took, or its end. */
static void accepted(corio_loop *loop, struct uring_backend *b,
                     struct corio__ureq *q, int res, unsigned flags)
{
    struct watch *w = container_of(q, struct watch, acc);
    bool ended = !(flags & IORING_CQE_F_MORE);
    if (ended) {
        w->acc_armed = false;
        w->acc_stop = false;
        b->inflight--;
    }
    if (!w->io) {
        if (res >= 0)
            close(res); /* the listener is closed */
        watch_release(w);
        return;
    }
    struct corio__io *io = w->io;
    if (res >= 0) {
        if (w->fd_n == w->fd_cap) {
            unsigned cap = w->fd_cap ? w->fd_cap * 2 : 16;
            int *fds = corio__malloc(cap * sizeof *fds);
            if (!fds) {
                /* Dropped, as on epoll when the socket object cannot be
                 * made; the accepting task learns why. */
                close(res);
                w->acc_err = -ENOMEM;
                corio__wq_wake_one(&io->wait[0], 0);
                return;
            }
            for (unsigned i = 0; i < w->fd_n; i++)
                fds[i] = w->fds[(w->fd_head + i) % w->fd_cap];
            corio__free(w->fds);
            w->fds = fds;
            w->fd_head = 0;
            w->fd_cap = cap;
        }
        w->fds[(w->fd_head + w->fd_n++) % w->fd_cap] = res;
        /* Nobody takes them: stop accepting, so that the listen backlog
         * (and the peers' connect timeouts) apply again. */
        if (w->fd_n >= ACCEPT_MAX && !ended && !w->acc_stop &&
            cancel(loop, b, &w->acc))
            w->acc_stop = true;
        corio__wq_wake_one(&io->wait[0], 0);
        return;
    }
    if (res != -ECANCELED)
        w->acc_err = res; /* the next accept call reports it */
    if (ended)
        corio__wq_wake_all(&io->wait[0], 0); /* someone re-arms */
}

int corio__uring_accept(struct corio__io *io, bool many)
{
    corio_loop *loop = io->loop;
    struct uring_backend *b = loop->backend;
    if (corio__fail_syscall())
        return -EMFILE;
    if (!many) {
        /* One request of the task's own: nothing is accepted unless a
         * task asks, so the listen backlog keeps its meaning. */
        struct io_uring_sqe *sqe = get_sqe(loop, b);
        if (!sqe)
            return -ENOMEM;
        io_uring_prep_accept(sqe, io->fd, NULL, NULL,
                             SOCK_NONBLOCK | SOCK_CLOEXEC);
        return (int)run(io, CORIO__IN, sqe);
    }
    struct watch *w = watch_get(b, io);
    if (!w)
        return -ENOMEM;
    for (;;) {
        if (w->fd_n) {
            int fd = w->fds[w->fd_head];
            w->fd_head = (w->fd_head + 1) % w->fd_cap;
            w->fd_n--;
            return fd;
        }
        if (w->acc_err) {
            int e = w->acc_err;
            w->acc_err = 0;
            return e;
        }
        if (!w->acc_armed) {
            struct io_uring_sqe *sqe = get_sqe(loop, b);
            if (!sqe)
                return -ENOMEM;
            io_uring_prep_multishot_accept(sqe, io->fd, NULL, NULL,
                                           SOCK_NONBLOCK | SOCK_CLOEXEC);
            io_uring_sqe_set_data(sqe, &w->acc);
            w->acc_armed = true;
            b->inflight++;
        }
        int rc = corio__io_park(io, CORIO__IN);
        if (rc < 0)
            return rc; /* what is queued stays for the next accept */
    }
}

#ifdef CORIO_TESTING
unsigned corio__uring_setup_flags(corio_loop *loop)
{
    if (!loop->uring)
        return 0;
    return ((struct uring_backend *)loop->backend)->ring.flags;
}
#endif

#else /* !CORIO_HAVE_URING: the functions exist, and are never called,
         since no loop has loop->uring set */

#ifdef CORIO_TESTING
unsigned corio__uring_setup_flags(corio_loop *loop)
{
    (void)loop;
    return 0;
}
#endif

ssize_t corio__uring_recv(struct corio__io *io, void *buf, size_t len,
                          int flags)
{
    (void)io, (void)buf, (void)len, (void)flags;
    return -ENOSYS;
}

ssize_t corio__uring_send(struct corio__io *io, const void *buf, size_t len,
                          int flags)
{
    (void)io, (void)buf, (void)len, (void)flags;
    return -ENOSYS;
}

ssize_t corio__uring_recvmsg(struct corio__io *io, struct msghdr *msg,
                             int flags)
{
    (void)io, (void)msg, (void)flags;
    return -ENOSYS;
}

ssize_t corio__uring_sendmsg(struct corio__io *io, const struct msghdr *msg,
                             int flags)
{
    (void)io, (void)msg, (void)flags;
    return -ENOSYS;
}

int corio__uring_accept(struct corio__io *io, bool many)
{
    (void)io, (void)many;
    return -ENOSYS;
}

void *corio__uring_sqe(corio_loop *loop)
{
    (void)loop;
    return NULL;
}

int corio__uring_await(corio_loop *loop, void *sqe, struct corio__ureq *q,
                       struct corio__io *io, unsigned dir)
{
    (void)loop, (void)sqe, (void)q, (void)io, (void)dir;
    return -ENOSYS;
}

#endif

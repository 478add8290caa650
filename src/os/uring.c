/* SPDX-License-Identifier: MIT */
/* File operations through io_uring. A loop on the io_uring backend
 * submits them to its own ring (corio__uring_loop_run: no second ring and
 * no eventfd hop). Other loops get a ring of their own for files, whose
 * completions signal the loop's port eventfd (pool/port.c), so the tasks
 * waiting on the port reap them. A task prepares its request in the
 * submission ring and parks; a call_soon callback submits everything
 * prepared in the meantime with one system call, so tasks that run in the
 * same iteration share a submission. A cancelled task cancels its request in the kernel
 * (IORING_OP_ASYNC_CANCEL) and then waits, uncancellably, for the
 * request's completion: the kernel may write into the task's buffer until
 * then. Which operations the kernel supports is probed once per process;
 * CORIO_FILE_IO=pool turns the ring off, =uring asks for it. */
#include "os/os.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#ifdef CORIO_HAVE_URING
#include <liburing.h>

#define RING_ENTRIES 256

struct corio__uring {
    struct io_uring ring;
    corio_loop *loop;
    bool flush_queued;   /* a flush callback is scheduled */
};

/* A request in flight: its CQE marks the wait done. */
struct req {
    struct corio__xwait wait;
    int res;
};

/* ---- the per-process probe ---- */

static pthread_once_t probe_once = PTHREAD_ONCE_INIT;
static bool usable;                 /* the ring path is on */
static bool supported[CORIO__OP_COUNT];

static void probe(void)
{
    const char *env = getenv("CORIO_FILE_IO");
    if (env && strcmp(env, "pool") == 0)
        return;
    struct io_uring_probe *p = io_uring_get_probe();
    if (!p)
        return; /* no io_uring: ENOSYS, disabled by sysctl, seccomp */
    static const int codes[CORIO__OP_COUNT] = {
        [CORIO__OP_READ] = IORING_OP_READ,
        [CORIO__OP_WRITE] = IORING_OP_WRITE,
        [CORIO__OP_FSYNC] = IORING_OP_FSYNC,
        [CORIO__OP_OPENAT] = IORING_OP_OPENAT,
        [CORIO__OP_STATX] = IORING_OP_STATX,
        [CORIO__OP_RENAMEAT] = IORING_OP_RENAMEAT,
        [CORIO__OP_UNLINKAT] = IORING_OP_UNLINKAT,
    };
    /* Without cancellation the ring cannot honour cancel points. */
    if (io_uring_opcode_supported(p, IORING_OP_ASYNC_CANCEL)) {
        for (int i = 0; i < CORIO__OP_COUNT; i++) {
            supported[i] = io_uring_opcode_supported(p, codes[i]);
            usable |= supported[i];
        }
    }
    io_uring_free_probe(p);
}

bool corio__uring_supports(int op)
{
    pthread_once(&probe_once, probe);
    return usable && op >= 0 && op < CORIO__OP_COUNT && supported[op];
}

/* ---- the per-loop ring ---- */

/* Port poll hook: reap every CQE. */
static void reap(struct corio__loopx *x)
{
    struct corio__uring *r = x->slot[CORIO__X_URING];
    struct io_uring_cqe *cqe;
    unsigned head, n = 0;
    io_uring_for_each_cqe(&r->ring, head, cqe) {
        struct req *q = io_uring_cqe_get_data(cqe);
        n++;
        if (!q)
            continue; /* an ASYNC_CANCEL's own completion */
        q->res = cqe->res;
        corio__xwait_done(&q->wait);
    }
    io_uring_cq_advance(&r->ring, n);
}

static void ring_close(struct corio__loopx *x)
{
    struct corio__uring *r = x->slot[CORIO__X_URING];
    io_uring_queue_exit(&r->ring);
    corio__free(r);
    x->slot[CORIO__X_URING] = NULL;
}

/* The close hook of a loop whose ring could not be set up: it marks the
 * loop as staying on the thread pool, so setup is not retried for each
 * operation. */
static void ring_failed(struct corio__loopx *x)
{
    (void)x;
}

struct corio__uring *corio__uring_get(struct corio__loopx *x)
{
    pthread_once(&probe_once, probe);
    if (!usable)
        return NULL;
    struct corio__uring *r = x->slot[CORIO__X_URING];
    if (r)
        return r;
    if (x->close[CORIO__X_URING] == ring_failed)
        return NULL; /* setup failed before: stay on the pool */
    r = corio__calloc(1, sizeof *r);
    if (!r)
        return NULL; /* out of memory: try again next time */
    int rc = corio__fail_syscall()
                 ? -ENOMEM
                 : io_uring_queue_init(RING_ENTRIES, &r->ring, 0);
    if (rc < 0) {
        /* e.g. RLIMIT_MEMLOCK on old kernels: this loop uses the pool. */
        corio__free(r);
        x->close[CORIO__X_URING] = ring_failed;
        return NULL;
    }
    if (io_uring_register_eventfd(&r->ring, x->efd) < 0) {
        io_uring_queue_exit(&r->ring);
        corio__free(r);
        x->close[CORIO__X_URING] = ring_failed;
        return NULL;
    }
    r->loop = x->loop;
    x->slot[CORIO__X_URING] = r;
    x->poll[CORIO__X_URING] = reap;
    x->close[CORIO__X_URING] = ring_close;
    return r;
}

/* Submit what is prepared, then reap: requests the kernel completed
 * inline (reads from the page cache) wake their tasks now, without a
 * trip through epoll. -EBUSY / -EAGAIN from the kernel: what is left in
 * the SQ goes with the next submission. */
static void submit(struct corio__uring *r)
{
    io_uring_submit(&r->ring);
    struct corio__loopx *x = corio__loopx_get(r->loop);
    if (x)
        reap(x);
}

/* The flush callback: submit what the tasks of this iteration prepared. */
static void flush_cb(void *arg)
{
    struct corio__uring *r = arg;
    r->flush_queued = false;
    submit(r);
}

static void schedule_flush(struct corio__uring *r)
{
    if (r->flush_queued)
        return;
    if (corio_loop_call_soon(r->loop, flush_cb, r, NULL) == 0)
        r->flush_queued = true;
    else
        submit(r); /* no handle: submit at once */
}

/* A free SQE, submitting what is queued to make room if needed. */
static struct io_uring_sqe *get_sqe(struct corio__uring *r)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);
    if (!sqe) {
        io_uring_submit(&r->ring);
        sqe = io_uring_get_sqe(&r->ring);
    }
    return sqe;
}

static void prep(struct io_uring_sqe *sqe, struct corio__fop *o)
{
    switch (o->op) {
    case CORIO__OP_READ:
        io_uring_prep_read(sqe, o->fd, o->buf, (unsigned)o->len,
                           (uint64_t)o->off);
        break;
    case CORIO__OP_WRITE:
        io_uring_prep_write(sqe, o->fd, o->buf, (unsigned)o->len,
                            (uint64_t)o->off);
        break;
    case CORIO__OP_FSYNC:
        io_uring_prep_fsync(sqe, o->fd,
                            o->flags ? IORING_FSYNC_DATASYNC : 0);
        break;
    case CORIO__OP_OPENAT:
        io_uring_prep_openat(sqe, AT_FDCWD, o->path, o->flags, o->mode);
        break;
    case CORIO__OP_STATX:
        if (o->fd >= 0)
            io_uring_prep_statx(sqe, o->fd, "", AT_EMPTY_PATH,
                                STATX_BASIC_STATS, o->stx);
        else
            io_uring_prep_statx(sqe, AT_FDCWD, o->path, 0,
                                STATX_BASIC_STATS, o->stx);
        break;
    case CORIO__OP_RENAMEAT:
        io_uring_prep_renameat(sqe, AT_FDCWD, o->path, AT_FDCWD, o->path2,
                               0);
        break;
    case CORIO__OP_UNLINKAT:
        io_uring_prep_unlinkat(sqe, AT_FDCWD, o->path, 0);
        break;
    }
}

int corio__uring_run(struct corio__uring *r, struct corio__loopx *x,
                     struct corio__fop *o)
{
    corio_loop *loop;
    corio_task *self = corio__self(&loop);
    struct req q = {.wait = {.task = self, .done = false}};

    /* A single request moves at most 2 GiB less a page, like read(2). */
    if (o->len > 0x7ffff000)
        o->len = 0x7ffff000;
    struct io_uring_sqe *sqe = get_sqe(r);
    if (!sqe)
        return -EAGAIN;
    prep(sqe, o);
    io_uring_sqe_set_data(sqe, &q);
    if (!loop->ready_head && !r->flush_queued) {
        /* Nothing else will run before we would park, so there is no
         * batch to wait for: submit now, and if the kernel completed the
         * request inline, return without parking at all. */
        submit(r);
        if (q.wait.done) {
            o->res = q.res;
            return 0;
        }
    } else {
        /* Other tasks run first and may add to the batch. */
        schedule_flush(r);
    }

    int rc = corio__port_wait(x, &q.wait, false);
    if (rc < 0) {
        /* Cancel in the kernel, and wait for the request to end: until
         * its CQE, the kernel may still write to the caller's memory. */
        while (!(sqe = get_sqe(r))) {
            /* The kernel took no submission (its CQ overflowed): reap to
             * make room. */
            reap(x);
            if (q.wait.done)
                break;
        }
        if (sqe) {
            io_uring_prep_cancel(sqe, &q, 0);
            io_uring_sqe_set_data(sqe, NULL);
            io_uring_submit(&r->ring);
        }
        corio__port_wait(x, &q.wait, true);
        if (q.res != -ECANCELED && q.res != -EINTR) {
            /* The kernel completed it first: the completion wins. */
            corio__repend(self, rc);
            o->res = q.res;
            return 0;
        }
        return rc;
    }
    o->res = q.res;
    return 0;
}

/* ---- the loop's own ring (the io_uring backend) ---- */

int corio__uring_loop_run(corio_loop *loop, struct corio__fop *o)
{
    if (o->len > 0x7ffff000)
        o->len = 0x7ffff000;
    struct io_uring_sqe *sqe = corio__uring_sqe(loop);
    if (!sqe)
        return -EAGAIN;
    prep(sqe, o);
    struct corio__ureq q;
    int rc = corio__uring_await(loop, sqe, &q, NULL, 0);
    if (rc < 0)
        return rc;
    o->res = q.res;
    return 0;
}

#else /* !CORIO_HAVE_URING */

struct corio__uring {
    int unused;
};

bool corio__uring_supports(int op)
{
    (void)op;
    return false;
}

struct corio__uring *corio__uring_get(struct corio__loopx *x)
{
    (void)x;
    return NULL;
}

int corio__uring_loop_run(corio_loop *loop, struct corio__fop *o)
{
    (void)loop;
    (void)o;
    return -EAGAIN;
}

int corio__uring_run(struct corio__uring *r, struct corio__loopx *x,
                     struct corio__fop *o)
{
    (void)r;
    (void)x;
    (void)o;
    return -EAGAIN;
}

#endif

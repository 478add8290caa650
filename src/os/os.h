/* SPDX-License-Identifier: MIT */
/* The os module's internals: one file operation, run through the loop's
 * io_uring ring (uring.c) or the thread pool (file.c), and the hooks that
 * loop.c calls for corio_run's SIGINT rule (signal.c). */
#ifndef CORIO_OS_H
#define CORIO_OS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "pool/pool.h"

enum {
    CORIO__OP_READ = 0, /* fd, buf, len, off (-1: file position) */
    CORIO__OP_WRITE,    /* fd, buf, len, off (-1: file position) */
    CORIO__OP_FSYNC,    /* fd, flags (datasync) */
    CORIO__OP_OPENAT,   /* path, flags, mode */
    CORIO__OP_STATX,    /* fd (-1: path), path, stx */
    CORIO__OP_RENAMEAT, /* path -> path2 */
    CORIO__OP_UNLINKAT, /* path */
    CORIO__OP_COUNT
};

/* One file operation, in the caller's frame. */
struct corio__fop {
    int op;              /* CORIO__OP_* */
    int fd;
    void *buf;
    size_t len;
    int64_t off;
    int flags;
    unsigned mode;
    const char *path;
    const char *path2;
    struct statx *stx;
    ssize_t res;         /* the result: >= 0, or a negative errno */
};

/* The ring of x's loop, made on first use; NULL when file I/O goes
 * through the thread pool (forced, no io_uring, or setup failed). */
CORIO_HIDDEN struct corio__uring *corio__uring_get(struct corio__loopx *x);
/* Whether the ring path handles op (the kernel's probe said so). */
CORIO_HIDDEN bool corio__uring_supports(int op);
/* Run o through the ring as the current task: 0 with o->res set, or
 * -ECANCELED / -ETIMEDOUT if cancelled before the kernel completed it
 * (the request was cancelled in the kernel and is over), or -EAGAIN if
 * no submission slot could be had. */
CORIO_HIDDEN int corio__uring_run(struct corio__uring *r,
                                  struct corio__loopx *x,
                                  struct corio__fop *o);

/* Run o through the ring of a loop on the io_uring backend, as the
 * current task: as corio__uring_run. */
CORIO_HIDDEN int corio__uring_loop_run(corio_loop *loop,
                                       struct corio__fop *o);

/* Run o by whichever path applies: 0 with o->res set (the call ran), or
 * -ECANCELED / -ETIMEDOUT / -EPERM / -ENOMEM (it had no effect). */
CORIO_HIDDEN int corio__fop_run(struct corio__fop *o);

#endif

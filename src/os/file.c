/* SPDX-License-Identifier: MIT */
/* Files: each operation goes to the loop's io_uring ring when the kernel
 * supports it (uring.c), else to the default thread pool as a job of its
 * own. On both paths an operation the kernel completed wins over a
 * cancellation that came at the same time (its effect cannot be undone,
 * so its result is returned and the cancellation waits for the next
 * suspension); one cancelled before it ran had no effect. Whole-file
 * helpers and the copy are built on these operations. */
#include "os/os.h"

#include "corio/file.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/uio.h>
#include <sys/sysmacros.h>
#include <sys/sendfile.h>
#include <unistd.h>

struct corio_file {
    int fd;
    uint8_t fast_run;  /* reads served from the cache in a row */
    bool no_nowait;    /* the file system refused RWF_NOWAIT */
};

/* ---- one operation ---- */

struct fjob {
    struct corio__job job;
    struct corio__fop *o;
};

/* Run an operation with plain system calls (in a pool thread). */
static void fop_sync(struct corio__fop *o)
{
    ssize_t n = -1;
    switch (o->op) {
    case CORIO__OP_READ:
        n = o->off < 0 ? read(o->fd, o->buf, o->len)
                       : pread(o->fd, o->buf, o->len, (off_t)o->off);
        break;
    case CORIO__OP_WRITE:
        n = o->off < 0 ? write(o->fd, o->buf, o->len)
                       : pwrite(o->fd, o->buf, o->len, (off_t)o->off);
        break;
    case CORIO__OP_FSYNC:
        n = o->flags ? fdatasync(o->fd) : fsync(o->fd);
        break;
    case CORIO__OP_OPENAT:
        n = open(o->path, o->flags, (mode_t)o->mode);
        break;
    case CORIO__OP_STATX:
        if (o->fd >= 0)
            n = statx(o->fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, o->stx);
        else
            n = statx(AT_FDCWD, o->path, 0, STATX_BASIC_STATS, o->stx);
        break;
    case CORIO__OP_RENAMEAT:
        n = rename(o->path, o->path2);
        break;
    case CORIO__OP_UNLINKAT:
        n = unlink(o->path);
        break;
    }
    o->res = n < 0 ? -errno : n;
}

static void fjob_run(struct corio__job *j)
{
    fop_sync(container_of(j, struct fjob, job)->o);
}

int corio__fop_run(struct corio__fop *o)
{
    corio_loop *loop;
    corio_task *self = corio__self(&loop);

    if (!self)
        return -EPERM;
    struct corio__loopx *x = corio__loopx_get(loop);
    if (!x)
        return -errno;
    int rc = corio__checkpoint(self);
    if (rc < 0)
        return rc;
    if (loop->uring && corio__uring_supports(o->op)) {
        rc = corio__uring_loop_run(loop, o);
        if (rc != -EAGAIN)
            return rc;
    } else if (corio__uring_supports(o->op)) {
        struct corio__uring *r = corio__uring_get(x);
        if (r) {
            rc = corio__uring_run(r, x, o);
            if (rc != -EAGAIN)
                return rc;
        }
    }
    corio_pool *p = corio__pool_default();
    if (!p)
        return -ENOMEM;
    struct fjob j = {.o = o};
    j.job.run = fjob_run;
    j.job.cancel = NULL;
    return corio__pool_job(p, &j.job, CORIO__KEEP);
}

const char *corio_file_io_backend(void)
{
    corio_loop *loop = corio__tls_loop;
    if (!corio__uring_supports(CORIO__OP_READ))
        return "pool";
    if (!loop || loop->uring)
        return "io_uring";
    struct corio__loopx *x = corio__loopx_get(loop);
    return x && corio__uring_get(x) ? "io_uring" : "pool";
}

/* ---- open files ---- */

corio_file *corio_file_open(const char *path, int flags, unsigned mode)
{
    if (!path) {
        errno = EINVAL;
        return NULL;
    }
    /* Allocate first, so that a file once open is never lost. */
    corio_file *f = corio__malloc(sizeof *f);
    if (!f) {
        errno = ENOMEM;
        return NULL;
    }
    struct corio__fop o = {.op = CORIO__OP_OPENAT, .path = path,
                           .flags = flags | O_CLOEXEC, .mode = mode};
    int rc = corio__fop_run(&o);
    if (rc == 0 && o.res < 0)
        rc = (int)o.res;
    if (rc < 0) {
        corio__free(f);
        errno = -rc;
        return NULL;
    }
    f->fd = (int)o.res;
    f->fast_run = 0;
    f->no_nowait = false;
    return f;
}

int corio_file_close(corio_file *f)
{
    if (!f)
        return 0;
    int rc = close(f->fd) < 0 ? -errno : 0;
    corio__free(f);
    return rc == -EINTR ? 0 : rc; /* Linux closed it anyway */
}

int corio_file_fileno(const corio_file *f)
{
    return f ? f->fd : -1;
}

/* One read or write; a positive count, 0, or a negative errno. */
static ssize_t rw_once(int op, int fd, void *buf, size_t len, int64_t off)
{
    struct corio__fop o = {.op = op, .fd = fd, .buf = buf, .len = len,
                           .off = off};
    int rc = corio__fop_run(&o);
    return rc < 0 ? rc : o.res;
}

/* Reads whose data is in the page cache are served at once with
 * preadv2(RWF_NOWAIT): one system call, as read(2) costs, instead of a
 * trip through the ring (a loop iteration and two task switches) or the
 * pool (a thread hop). RWF_NOWAIT never blocks: when no data is in memory
 * it fails with EAGAIN, and the read takes the usual way. A task that
 * keeps hitting the cache yields every FAST_RUN reads, so that it cannot
 * hold its loop (the usual way need not suspend either: the pool's wait
 * spins a little before it parks). */
#define FAST_RUN 16

static ssize_t read_at(corio_file *f, void *buf, size_t len, int64_t off)
{
    int rc = corio_checkpoint_if_cancelled();
    if (rc < 0 && rc != -EPERM)
        return rc;
    if (rc == 0 && len && !f->no_nowait) {
        if (++f->fast_run == FAST_RUN) {
            f->fast_run = 0;
            if ((rc = corio_yield()) < 0)
                return rc;
        }
        struct iovec iov = {.iov_base = buf, .iov_len = len};
        ssize_t n = preadv2(f->fd, &iov, 1, off, RWF_NOWAIT);
        if (n >= 0)
            return n;
        if (errno == EOPNOTSUPP)
            f->no_nowait = true;
        /* EAGAIN, or an error the usual way reports as well. */
    }
    return rw_once(CORIO__OP_READ, f->fd, buf, len, off);
}

ssize_t corio_file_read(corio_file *f, void *buf, size_t len)
{
    if (!f || (!buf && len))
        return -EINVAL;
    return read_at(f, buf, len, -1);
}

ssize_t corio_file_pread(corio_file *f, void *buf, size_t len, int64_t off)
{
    if (!f || (!buf && len) || off < 0)
        return -EINVAL;
    return read_at(f, buf, len, off);
}

/* Write all of buf, at off (-1: the file position). *err, if not NULL,
 * receives the error that stopped a partial write. */
static ssize_t write_all(int fd, const void *buf, size_t len, int64_t off,
                         int *err)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = rw_once(CORIO__OP_WRITE, fd, (char *)buf + done,
                            len - done, off < 0 ? -1 : off + (int64_t)done);
        if (n <= 0) {
            if (n == 0)
                n = -EIO;
            if (done == 0)
                return n;
            /* Report how far it got; a cancellation stays pending. */
            if (n == -ECANCELED)
                corio__repend(corio_current(), (int)n);
            if (err)
                *err = (int)n;
            return (ssize_t)done;
        }
        done += (size_t)n;
    }
    return (ssize_t)done;
}

ssize_t corio_file_write(corio_file *f, const void *buf, size_t len)
{
    if (!f || (!buf && len))
        return -EINVAL;
    return write_all(f->fd, buf, len, -1, NULL);
}

ssize_t corio_file_pwrite(corio_file *f, const void *buf, size_t len,
                          int64_t off)
{
    if (!f || (!buf && len) || off < 0)
        return -EINVAL;
    return write_all(f->fd, buf, len, off, NULL);
}

int corio_file_sync(corio_file *f, bool datasync)
{
    if (!f)
        return -EINVAL;
    struct corio__fop o = {.op = CORIO__OP_FSYNC, .fd = f->fd,
                           .flags = datasync};
    int rc = corio__fop_run(&o);
    return rc < 0 ? rc : (int)o.res;
}

static void stat_from_statx(struct stat *st, const struct statx *x)
{
    memset(st, 0, sizeof *st);
    st->st_dev = makedev(x->stx_dev_major, x->stx_dev_minor);
    st->st_ino = x->stx_ino;
    st->st_mode = x->stx_mode;
    st->st_nlink = x->stx_nlink;
    st->st_uid = x->stx_uid;
    st->st_gid = x->stx_gid;
    st->st_rdev = makedev(x->stx_rdev_major, x->stx_rdev_minor);
    st->st_size = (off_t)x->stx_size;
    st->st_blksize = (blksize_t)x->stx_blksize;
    st->st_blocks = (blkcnt_t)x->stx_blocks;
    st->st_atim.tv_sec = x->stx_atime.tv_sec;
    st->st_atim.tv_nsec = x->stx_atime.tv_nsec;
    st->st_mtim.tv_sec = x->stx_mtime.tv_sec;
    st->st_mtim.tv_nsec = x->stx_mtime.tv_nsec;
    st->st_ctim.tv_sec = x->stx_ctime.tv_sec;
    st->st_ctim.tv_nsec = x->stx_ctime.tv_nsec;
}

static int do_stat(int fd, const char *path, struct stat *st)
{
    struct statx stx;
    struct corio__fop o = {.op = CORIO__OP_STATX, .fd = fd, .path = path,
                           .stx = &stx};
    int rc = corio__fop_run(&o);
    if (rc == 0 && o.res < 0)
        rc = (int)o.res;
    if (rc == 0)
        stat_from_statx(st, &stx);
    return rc;
}

int corio_file_stat(corio_file *f, struct stat *st)
{
    if (!f || !st)
        return -EINVAL;
    return do_stat(f->fd, NULL, st);
}

int corio_stat(const char *path, struct stat *st)
{
    if (!path || !st)
        return -EINVAL;
    return do_stat(-1, path, st);
}

/* ---- whole files ---- */

int corio_read_file(const char *path, void **out, size_t *out_len)
{
    if (!path || !out || !out_len)
        return -EINVAL;
    *out = NULL;
    *out_len = 0;
    corio_file *f = corio_file_open(path, O_RDONLY, 0);
    if (!f)
        return -errno;
    struct stat st;
    int rc = corio_file_stat(f, &st);
    if (rc < 0)
        goto err_close;
    /* The size is a hint: files in /proc say 0, and files grow. The
     * buffer belongs to the caller, who frees it with free(). */
    size_t cap = st.st_size > 0 ? (size_t)st.st_size + 1 : 4096;
    char *buf = malloc(cap);
    if (!buf) {
        rc = -ENOMEM;
        goto err_close;
    }
    size_t len = 0;
    for (;;) {
        if (len + 1 >= cap) {
            char *b = realloc(buf, cap * 2);
            if (!b) {
                rc = -ENOMEM;
                goto err_free;
            }
            buf = b;
            cap *= 2;
        }
        ssize_t n = corio_file_read(f, buf + len, cap - 1 - len);
        if (n < 0) {
            rc = (int)n;
            goto err_free;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    buf[len] = 0;
    corio_file_close(f);
    *out = buf;
    *out_len = len;
    return 0;

err_free:
    free(buf);
err_close:
    corio_file_close(f);
    return rc;
}

/* A temporary name next to path: "<path>.<16 hex digits>.tmp". */
static char *temp_name(const char *path)
{
    uint64_t r;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) != sizeof r)
        r = (uint64_t)corio__clock_ns() ^ ((uint64_t)getpid() << 32);
    size_t n = strlen(path) + 22;
    char *t = corio__malloc(n);
    if (t)
        snprintf(t, n, "%s.%016llx.tmp", path, (unsigned long long)r);
    return t;
}

/* Sync the directory holding path, so that a rename in it is durable. */
static int sync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir;
    if (!slash)
        dir = corio__strdup(".");
    else if (slash == path)
        dir = corio__strdup("/");
    else {
        dir = corio__malloc((size_t)(slash - path) + 1);
        if (dir) {
            memcpy(dir, path, (size_t)(slash - path));
            dir[slash - path] = 0;
        }
    }
    if (!dir)
        return -ENOMEM;
    corio_file *d = corio_file_open(dir, O_RDONLY | O_DIRECTORY, 0);
    corio__free(dir);
    if (!d)
        return -errno;
    int rc = corio_file_sync(d, false);
    corio_file_close(d);
    return rc;
}

int corio_write_file_atomic(const char *path, const void *buf, size_t len,
                            unsigned mode)
{
    if (!path || (!buf && len))
        return -EINVAL;
    char *tmp = NULL;
    corio_file *f = NULL;
    int rc;
    for (int tries = 0; tries < 8; tries++) {
        tmp = temp_name(path);
        if (!tmp)
            return -ENOMEM;
        f = corio_file_open(tmp, O_WRONLY | O_CREAT | O_EXCL, mode);
        if (f || errno != EEXIST)
            break;
        corio__free(tmp);
        tmp = NULL;
    }
    if (!f) {
        rc = tmp ? -errno : -EEXIST;
        corio__free(tmp);
        return rc;
    }
    int err = -EIO;
    ssize_t n = write_all(f->fd, buf, len, -1, &err);
    if (n >= 0 && (size_t)n != len) {
        /* A partial write: the temporary file is no good. A cancellation
         * behind it was re-pended; take it back, it is our result. */
        if (err == -ECANCELED)
            corio__checkpoint(corio_current());
        rc = err;
        goto err_unlink;
    }
    rc = n < 0 ? (int)n : corio_file_sync(f, false);
    if (rc < 0)
        goto err_unlink;
    rc = corio_file_close(f);
    f = NULL;
    if (rc < 0)
        goto err_unlink;
    struct corio__fop o = {.op = CORIO__OP_RENAMEAT, .path = tmp,
                           .path2 = path};
    rc = corio__fop_run(&o);
    if (rc == 0 && o.res < 0)
        rc = (int)o.res;
    if (rc < 0)
        goto err_unlink;
    corio__free(tmp);
    /* path is replaced now; make the rename durable. A cancellation here
     * cannot undo it, so it waits for the next suspension. */
    rc = sync_dir(path);
    if (rc == -ECANCELED || rc == -ETIMEDOUT) {
        corio__repend(corio_current(), rc);
        rc = 0;
    }
    return rc;

err_unlink:
    corio_file_close(f);
    /* Cleanup must happen whatever cancelled us: a plain, quick call. */
    unlink(tmp);
    corio__free(tmp);
    return rc;
}

/* ---- copies ---- */

#define COPY_CHUNK (8u << 20)

enum { COPY_RANGE, COPY_SENDFILE, COPY_RW };

struct copy_job {
    struct corio__job job;
    int out_fd;
    int in_fd;
    size_t len;
    int method;   /* in: the method to try first; out: the one that worked */
    ssize_t res;
};

/* Copy one chunk, falling back from copy_file_range to sendfile to a read
 * and write loop when the kernel refuses the pair of descriptors. */
static void copy_run(struct corio__job *j)
{
    struct copy_job *c = container_of(j, struct copy_job, job);
    ssize_t n = -1;
    if (c->method == COPY_RANGE) {
        n = copy_file_range(c->in_fd, NULL, c->out_fd, NULL, c->len, 0);
        if (n < 0 && (errno == EXDEV || errno == EINVAL ||
                      errno == ENOSYS || errno == EOPNOTSUPP ||
                      errno == EBADF))
            c->method = COPY_SENDFILE;
    }
    if (c->method == COPY_SENDFILE) {
        n = sendfile(c->out_fd, c->in_fd, NULL, c->len);
        if (n < 0 && (errno == EINVAL || errno == ENOSYS))
            c->method = COPY_RW;
    }
    if (c->method == COPY_RW) {
        char buf[64 * 1024];
        size_t want = c->len < sizeof buf ? c->len : sizeof buf;
        n = read(c->in_fd, buf, want);
        if (n > 0) {
            size_t done = 0;
            while (done < (size_t)n) {
                ssize_t w = write(c->out_fd, buf + done, (size_t)n - done);
                if (w < 0) {
                    /* The bytes read are lost to the output: report the
                     * error rather than a count that would be a lie. */
                    n = -1;
                    break;
                }
                done += (size_t)w;
            }
        }
    }
    c->res = n < 0 ? -errno : n;
}

ssize_t corio_copy_fd(int out_fd, int in_fd, size_t len)
{
    if (out_fd < 0 || in_fd < 0)
        return -EBADF;
    corio_pool *p = corio__pool_default();
    if (!p)
        return -ENOMEM;
    size_t done = 0;
    int method = COPY_RANGE;
    while (done < len) {
        size_t want = len - done < COPY_CHUNK ? len - done : COPY_CHUNK;
        struct copy_job c = {.out_fd = out_fd, .in_fd = in_fd,
                             .len = want, .method = method};
        c.job.run = copy_run;
        c.job.cancel = NULL;
        int rc = corio__pool_job(p, &c.job, CORIO__KEEP);
        ssize_t n = rc < 0 ? rc : c.res;
        method = c.method;
        if (n <= 0) {
            if (n == 0 || done == 0)
                return n == 0 ? (ssize_t)done : n;
            if (n == -ECANCELED || n == -ETIMEDOUT)
                corio__repend(corio_current(), (int)n);
            return (ssize_t)done;
        }
        done += (size_t)n;
    }
    return (ssize_t)done;
}

/* SPDX-License-Identifier: MIT */
/* Subprocesses. The child is made with clone3(CLONE_PIDFD), which returns
 * a pidfd for it atomically, so corio waits for exactly its own child
 * (never a recycled pid, never another library's child) and needs no
 * SIGCHLD handler. The child runs only raw system calls between the clone
 * and the exec, since the parent may have threads (and sanitizer
 * runtimes) whose locks it copied: it moves its descriptors into place,
 * marks every other descriptor close-on-exec, clears its signal mask and
 * execs; an exec error comes back through a close-on-exec pipe. The
 * parent's pipe ends and the pidfd are watched with the loop
 * (struct corio__io), so reads, writes and waits suspend the task. */
#include "os/os.h"

#include "corio/process.h"
#include "corio/scope.h"
#include "corio/group.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

extern char **environ;

/* One of the parent's pipe ends. */
struct pend {
    struct corio__io io;
    int fd;          /* -1: none, or closed */
};

struct corio_process {
    pid_t pid;
    int pidfd;
    struct corio__io pio;   /* the pidfd, readable once the child ended */
    bool reaped;
    int status;             /* asyncio returncode, once reaped */
    struct pend in, out, err;
    corio_loop *loop;
};

/* ---- starting ---- */

/* Resolve file against PATH as execvp would, into a new string. */
static char *find_program(const char *file, int *err)
{
    if (strchr(file, '/'))
        return corio__strdup(file);
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    size_t flen = strlen(file);
    *err = ENOENT;
    for (const char *p = path;; p++) {
        const char *end = strchr(p, ':');
        size_t dlen = end ? (size_t)(end - p) : strlen(p);
        char *cand = corio__malloc(dlen + flen + 2);
        if (!cand) {
            *err = ENOMEM;
            return NULL;
        }
        if (dlen) {
            memcpy(cand, p, dlen);
            cand[dlen] = '/';
            memcpy(cand + dlen + 1, file, flen + 1);
        } else {
            memcpy(cand, file, flen + 1); /* empty entry: the cwd */
        }
        if (access(cand, X_OK) == 0)
            return cand;
        if (errno == EACCES)
            *err = EACCES;
        corio__free(cand);
        if (!end)
            return NULL;
        p = end;
    }
}

/* What the child does with its descriptors 0-2: source descriptors (in
 * the parent), or -1 for "leave as is". */
struct plan {
    int src[3];
    bool err_to_out;
    const char *path;
    const char *const *argv;
    char *const *envp;
    const char *cwd;
    bool keep_fds;
    int errpipe;     /* write end, close-on-exec */
};

/* The child: raw system calls only, then exec. Never returns. */
static CORIO_NORETURN void child(const struct plan *pl)
{
    int e;
    int src[3];
    /* Move sources above 2 first, so that placing one cannot clobber
     * another (a source may itself be 0, 1 or 2). */
    for (int i = 0; i < 3; i++) {
        src[i] = pl->src[i];
        if (src[i] >= 0) {
            src[i] = (int)syscall(SYS_fcntl, src[i], F_DUPFD_CLOEXEC, 3);
            if (src[i] < 0)
                goto fail;
        }
    }
    for (int i = 0; i < 3; i++)
        if (src[i] >= 0 && syscall(SYS_dup3, src[i], i, 0) < 0)
            goto fail;
    if (pl->err_to_out && syscall(SYS_dup3, 1, 2, 0) < 0)
        goto fail;
    /* Everything else closes at exec: our own descriptors are
     * close-on-exec already; this also covers the application's, unless
     * it asked to keep them. */
    if (!pl->keep_fds)
        syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);
    /* The parent's thread may block signals (corio_run blocks SIGINT):
     * the program starts with none blocked. */
    uint64_t none = 0;
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, sizeof none);
    if (pl->cwd && syscall(SYS_chdir, pl->cwd) < 0)
        goto fail;
    syscall(SYS_execve, pl->path, pl->argv, pl->envp);
fail:
    e = errno;
    syscall(SYS_write, pl->errpipe, &e, sizeof e);
    syscall(SYS_exit_group, 127);
    __builtin_unreachable();
}

/* clone3 with CLONE_PIDFD: the child's pid, 0 in the child, or -1. Falls
 * back to fork + pidfd_open on kernels without clone3. */
static pid_t spawn(int *pidfd)
{
    struct clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = CLONE_PIDFD;
    args.pidfd = (uint64_t)(uintptr_t)pidfd;
    args.exit_signal = SIGCHLD;
    long pid = syscall(SYS_clone3, &args, sizeof args);
    if (pid >= 0 || errno != ENOSYS)
        return (pid_t)pid;
    pid = fork();
    if (pid > 0) {
        *pidfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
        if (*pidfd < 0) {
            int e = errno;
            kill((pid_t)pid, SIGKILL);
            waitpid((pid_t)pid, NULL, 0);
            errno = e;
            return -1;
        }
    }
    return (pid_t)pid;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* Parent and child ends for one standard descriptor. parent_end gets a
 * pipe end to keep, or -1. */
static int setup_stdio(int i, int mode, int fd, int *child_end,
                       int *parent_end, int *devnull)
{
    *child_end = -1;
    *parent_end = -1;
    switch (mode) {
    case CORIO_STDIO_INHERIT:
        return 0;
    case CORIO_STDIO_PIPE: {
        int p[2];
        if (corio__fail_syscall())
            return -EMFILE;
        if (pipe2(p, O_CLOEXEC) < 0)
            return -errno;
        /* Our end is non-blocking; the child's stays blocking. */
        int mine = i == 0 ? p[1] : p[0];
        *child_end = i == 0 ? p[0] : p[1];
        *parent_end = mine;
        fcntl(mine, F_SETFL, O_NONBLOCK);
        return 0;
    }
    case CORIO_STDIO_DEVNULL:
        if (*devnull < 0) {
            *devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
            if (*devnull < 0)
                return -errno;
        }
        *child_end = *devnull;
        return 0;
    case CORIO_STDIO_STDOUT:
        return i == 2 ? 0 : -EINVAL;
    case CORIO_STDIO_FD:
        if (fd < 0)
            return -EBADF;
        *child_end = fd;
        return 0;
    default:
        return -EINVAL;
    }
}

corio_process *corio_process_exec(const char *file,
                                  const char *const argv[],
                                  const corio_process_opts *opts)
{
    corio_process_opts none = {0};
    const corio_process_opts *o = opts ? opts : &none;
    corio_loop *loop = corio__tls_loop;
    int rc;

    if (!file || !argv || !argv[0]) {
        errno = EINVAL;
        return NULL;
    }
    if (!loop) {
        errno = EPERM;
        return NULL;
    }
    corio_process *p = corio__calloc(1, sizeof *p);
    if (!p) {
        errno = ENOMEM;
        return NULL;
    }
    p->loop = loop;
    p->pidfd = -1;
    p->in.fd = p->out.fd = p->err.fd = -1;
    int cend[3] = {-1, -1, -1};
    int devnull = -1;
    int ep[2] = {-1, -1};
    int e = 0;
    char *path = find_program(file, &e);
    if (!path) {
        rc = -e;
        goto err_free;
    }
    const int modes[3] = {o->stdin_mode, o->stdout_mode, o->stderr_mode};
    const int fds[3] = {o->stdin_fd, o->stdout_fd, o->stderr_fd};
    int *pends[3] = {&p->in.fd, &p->out.fd, &p->err.fd};
    for (int i = 0; i < 3; i++) {
        rc = setup_stdio(i, modes[i], fds[i], &cend[i], pends[i], &devnull);
        if (rc < 0)
            goto err_close;
    }
    if (corio__fail_syscall()) {
        rc = -EMFILE;
        goto err_close;
    }
    if (pipe2(ep, O_CLOEXEC) < 0) {
        rc = -errno;
        goto err_close;
    }
    struct plan pl = {
        .src = {cend[0], cend[1], cend[2]},
        .err_to_out = o->stderr_mode == CORIO_STDIO_STDOUT,
        .path = path,
        .argv = argv,
        .envp = o->envp ? o->envp : environ,
        .cwd = o->cwd,
        .keep_fds = o->keep_fds,
        .errpipe = ep[1],
    };
    pid_t pid = corio__fail_syscall() ? (errno = EAGAIN, -1)
                                      : spawn(&p->pidfd);
    if (pid == 0)
        child(&pl);
    if (pid < 0) {
        rc = -errno;
        goto err_close;
    }
    p->pid = pid;
    /* The child's ends are its own now. */
    for (int i = 0; i < 3; i++)
        if (cend[i] >= 0 && cend[i] != devnull && modes[i] == CORIO_STDIO_PIPE)
            close_fd(&cend[i]);
    close_fd(&devnull);
    close_fd(&ep[1]);
    /* Blocks until the exec (the pipe closes) or its error arrives, as
     * posix_spawn does. */
    ssize_t n;
    do
        n = read(ep[0], &e, sizeof e);
    while (n < 0 && errno == EINTR);
    close_fd(&ep[0]);
    corio__free(path);
    path = NULL;
    if (n == (ssize_t)sizeof e) {
        siginfo_t si;
        syscall(SYS_waitid, P_PIDFD, p->pidfd, &si, WEXITED, NULL);
        rc = -e;
        goto err_close;
    }
    rc = corio__io_watch(loop, &p->pio, p->pidfd, false);
    if (rc < 0)
        goto err_kill;
    struct pend *ends[3] = {&p->in, &p->out, &p->err};
    for (int i = 0; i < 3; i++) {
        if (ends[i]->fd < 0)
            continue;
        rc = corio__io_watch(loop, &ends[i]->io, ends[i]->fd, false);
        if (rc < 0) {
            for (int j = 0; j < i; j++)
                if (ends[j]->fd >= 0)
                    corio__io_unwatch(&ends[j]->io, NULL);
            corio__io_unwatch(&p->pio, NULL);
            goto err_kill;
        }
    }
    return p;

err_kill: {
    /* Started, but we cannot drive it: do not leave it behind. */
    siginfo_t si;
    syscall(SYS_pidfd_send_signal, p->pidfd, SIGKILL, NULL, 0);
    syscall(SYS_waitid, P_PIDFD, p->pidfd, &si, WEXITED, NULL);
}
err_close:
    for (int i = 0; i < 3; i++)
        if (modes[i] == CORIO_STDIO_PIPE)
            close_fd(&cend[i]);
    close_fd(&devnull);
    close_fd(&ep[0]);
    close_fd(&ep[1]);
    close_fd(&p->in.fd);
    close_fd(&p->out.fd);
    close_fd(&p->err.fd);
    close_fd(&p->pidfd);
    corio__free(path);
err_free:
    corio__free(p);
    errno = -rc;
    return NULL;
}

corio_process *corio_process_shell(const char *cmd,
                                   const corio_process_opts *opts)
{
    if (!cmd) {
        errno = EINVAL;
        return NULL;
    }
    const char *const argv[] = {"sh", "-c", cmd, NULL};
    return corio_process_exec("/bin/sh", argv, opts);
}

pid_t corio_process_pid(const corio_process *p)
{
    return p ? p->pid : -1;
}

/* ---- pipes ---- */

static ssize_t pipe_write(struct pend *e, const void *buf, size_t len)
{
    /* A write to a pipe whose reader is gone raises SIGPIPE: block it in
     * this thread around the write, and take back one we caused. */
    sigset_t pipeset, old;
    sigemptyset(&pipeset);
    sigaddset(&pipeset, SIGPIPE);
    size_t done = 0;
    while (done < len) {
        pthread_sigmask(SIG_BLOCK, &pipeset, &old);
        sigset_t pending;
        sigpending(&pending);
        bool was_pending = sigismember(&pending, SIGPIPE);
        ssize_t n = write(e->fd, (const char *)buf + done, len - done);
        int err = errno;
        if (n < 0 && err == EPIPE && !was_pending) {
            struct timespec zero = {0, 0};
            sigtimedwait(&pipeset, NULL, &zero);
        }
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (n >= 0) {
            done += (size_t)n;
            continue;
        }
        int rc = -err;
        if (err == EAGAIN) {
            corio__io_clear(&e->io, CORIO__OUT);
            rc = corio__io_wait(&e->io, CORIO__OUT);
            if (rc == 0)
                continue;
        }
        if (done == 0)
            return rc;
        if (rc == -ECANCELED)
            corio__repend(corio_current(), rc);
        return (ssize_t)done;
    }
    return (ssize_t)done;
}

ssize_t corio_process_write(corio_process *p, const void *buf, size_t len)
{
    if (!p || (!buf && len))
        return -EINVAL;
    if (p->in.fd < 0)
        return -EBADF;
    corio_task *self = corio_current();
    if (!self)
        return -EPERM;
    int rc = corio__checkpoint(self);
    if (rc < 0)
        return rc;
    return pipe_write(&p->in, buf, len);
}

static void close_end(struct pend *e)
{
    if (e->fd < 0)
        return;
    corio__io_unwatch(&e->io, NULL);
    close_fd(&e->fd);
}

int corio_process_close_stdin(corio_process *p)
{
    if (!p || p->in.fd < 0)
        return -EBADF;
    close_end(&p->in);
    return 0;
}

static ssize_t pipe_read(struct pend *e, void *buf, size_t len)
{
    for (;;) {
        ssize_t n = read(e->fd, buf, len);
        if (n >= 0)
            return n;
        if (errno != EAGAIN)
            return -errno;
        corio__io_clear(&e->io, CORIO__IN);
        int rc = corio__io_wait(&e->io, CORIO__IN);
        if (rc < 0)
            return rc;
    }
}

ssize_t corio_process_read(corio_process *p, int fd, void *buf, size_t len)
{
    if (!p || (!buf && len) || (fd != 1 && fd != 2))
        return -EINVAL;
    struct pend *e = fd == 1 ? &p->out : &p->err;
    if (e->fd < 0)
        return -EBADF;
    corio_task *self = corio_current();
    if (!self)
        return -EPERM;
    int rc = corio__checkpoint(self);
    if (rc < 0)
        return rc;
    return pipe_read(e, buf, len);
}

/* ---- waiting and signals ---- */

/* Reap without waiting: 0 (reaped now or before), -EAGAIN, or an error. */
static int try_reap(corio_process *p)
{
    if (p->reaped)
        return 0;
    siginfo_t si;
    memset(&si, 0, sizeof si);
    if (syscall(SYS_waitid, P_PIDFD, p->pidfd, &si, WEXITED | WNOHANG,
                NULL) < 0)
        return -errno;
    if (si.si_pid == 0)
        return -EAGAIN;
    p->reaped = true;
    p->status = si.si_code == CLD_EXITED ? si.si_status : -si.si_status;
    return 0;
}

int corio_process_returncode(corio_process *p, int *status)
{
    if (!p)
        return -EINVAL;
    int rc = try_reap(p);
    if (rc == 0 && status)
        *status = p->status;
    return rc;
}

int corio_process_wait(corio_process *p, int *status)
{
    if (!p)
        return -EINVAL;
    for (;;) {
        int rc = try_reap(p);
        if (rc == 0) {
            if (status)
                *status = p->status;
            return 0;
        }
        if (rc != -EAGAIN)
            return rc;
        if (!corio_current())
            return -EPERM;
        corio__io_clear(&p->pio, CORIO__IN);
        rc = corio__io_wait(&p->pio, CORIO__IN);
        if (rc < 0)
            return rc;
    }
}

int corio_process_send_signal(corio_process *p, int sig)
{
    if (!p || sig < 0)
        return -EINVAL;
    if (p->reaped)
        return -ESRCH;
    if (syscall(SYS_pidfd_send_signal, p->pidfd, sig, NULL, 0) < 0)
        return -errno;
    return 0;
}

int corio_process_terminate(corio_process *p)
{
    return corio_process_send_signal(p, SIGTERM);
}

int corio_process_kill(corio_process *p)
{
    return corio_process_send_signal(p, SIGKILL);
}

/* ---- communicate ---- */

struct sink {
    struct pend *e;
    char *buf;        /* malloc'd, the caller's in the end */
    size_t len;
    size_t cap;
    bool keep;        /* the caller wants it */
};

static int drain_task(void *arg)
{
    struct sink *s = arg;
    for (;;) {
        if (s->cap - s->len < 4096) {
            size_t cap = s->cap ? s->cap * 2 : 8192;
            char *b = realloc(s->buf, cap);
            if (!b)
                return -ENOMEM;
            s->buf = b;
            s->cap = cap;
        }
        /* Keep room for the terminating NUL. */
        ssize_t n = pipe_read(s->e, s->buf + s->len, s->cap - s->len - 1);
        if (n < 0)
            return (int)n;
        if (n == 0)
            return 0;
        s->len += (size_t)n;
    }
}

struct feed {
    corio_process *p;
    const void *buf;
    size_t len;
};

static int feed_task(void *arg)
{
    struct feed *f = arg;
    ssize_t n = f->len ? pipe_write(&f->p->in, f->buf, f->len) : 0;
    close_end(&f->p->in);
    /* The child may exit without reading all of it: not an error. */
    if (n == -EPIPE || (n >= 0 && (size_t)n < f->len))
        return 0;
    return n < 0 ? (int)n : 0;
}

static void hand_out(struct sink *s, void **out, size_t *out_len)
{
    if (out)
        *out = NULL;
    if (out_len)
        *out_len = 0;
    if (!s->keep || !out) {
        free(s->buf);
        return;
    }
    if (!s->buf)
        s->buf = calloc(1, 1);
    else
        s->buf[s->len] = 0;
    *out = s->buf;
    if (out_len)
        *out_len = s->len;
}

int corio_process_communicate(corio_process *p, const void *in,
                              size_t in_len, void **out, size_t *out_len,
                              void **err, size_t *err_len, double timeout)
{
    if (!p || (!in && in_len))
        return -EINVAL;
    if (out)
        *out = NULL;
    if (err)
        *err = NULL;
    corio_task *self = corio_current();
    if (!self)
        return -EPERM;
    corio_scope sc;
    int rc = corio_scope_enter(&sc, timeout);
    if (rc < 0)
        return rc;
    struct sink so = {.e = &p->out, .keep = out != NULL};
    struct sink se = {.e = &p->err, .keep = err != NULL};
    struct feed fd = {.p = p, .buf = in, .len = in_len};
    corio_group *g = corio_group_open();
    if (!g) {
        corio_scope_exit(&sc);
        return -ENOMEM;
    }
    /* Everything concurrently, so that a child that fills one pipe while
     * we feed another cannot deadlock us. */
    if (p->in.fd >= 0)
        rc = corio_group_spawn(g, feed_task, &fd, NULL, NULL);
    if (rc == 0 && p->err.fd >= 0)
        rc = corio_group_spawn(g, drain_task, &se, NULL, NULL);
    if (rc == 0 && p->out.fd >= 0)
        rc = drain_task(&so);
    if (rc < 0)
        corio_group_cancel(g);
    int grc = corio_group_close(g);
    if (rc == 0)
        rc = grc;
    if (rc == 0)
        rc = corio_process_wait(p, NULL);
    int src = corio_scope_exit(&sc);
    if (src == -ETIMEDOUT && (rc == -ECANCELED || rc == -ETIMEDOUT))
        rc = -ETIMEDOUT;
    hand_out(&so, out, out_len);
    hand_out(&se, err, err_len);
    return rc;
}

/* ---- closing ---- */

void corio_process_close(corio_process *p)
{
    if (!p)
        return;
    close_end(&p->in);
    close_end(&p->out);
    close_end(&p->err);
    if (try_reap(p) == -EAGAIN) {
        /* Still running: no zombie may be left, so kill and reap. */
        siginfo_t si;
        syscall(SYS_pidfd_send_signal, p->pidfd, SIGKILL, NULL, 0);
        syscall(SYS_waitid, P_PIDFD, p->pidfd, &si, WEXITED, NULL);
    }
    corio__io_unwatch(&p->pio, NULL);
    close_fd(&p->pidfd);
    corio__free(p);
}

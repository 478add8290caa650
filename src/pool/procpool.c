/* SPDX-License-Identifier: MIT */
/* Process pools (ProcessPoolExecutor) for CPU-bound work on byte buffers.
 *
 * Processes. corio_procpool_new forks one fork server, which then forks
 * every worker: now, and whenever one must be replaced. Forking a
 * multithreaded process copies locks that other threads held, so a worker
 * forked from the application later (when corio's pool threads and the
 * program's own exist) could deadlock in malloc or stdio; the fork server
 * stays single-threaded, so its children never can. (posix_spawn of a
 * helper would avoid fork altogether but could not run the program's own
 * functions, which is the point of the pool.) The server ignores SIGCHLD,
 * so the kernel reaps workers as they die: no zombies; it hands each
 * worker's socket and pidfd to the parent over a SOCK_SEQPACKET socket
 * (SCM_RIGHTS), and when that socket closes it kills its workers, waits
 * for them and exits, and the parent reaps it.
 *
 * Calls. Each call is a job on the pool's own thread pool, one thread per
 * worker: the thread takes a free worker, writes the request and blocks
 * reading the reply. A worker that dies mid-call (EOF) fails the call with
 * -EPIPE and is replaced by that thread. Cancelling a running call kills
 * its worker through the pidfd (never a recycled pid), which ends the
 * thread's read at once.
 *
 * Wire format, both directions over a stream socket: a 16-byte header
 * {int32 fn index or result, uint32 0, uint64 length} and the bytes. */
#include "pool/pool.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

struct hdr {
    int32_t code;   /* request: function index; reply: its result */
    uint32_t zero;
    uint64_t len;
};

struct worker {
    int sock;      /* our end; -1 when dead and not yet replaced */
    int pidfd;
    pid_t pid;
    bool busy;     /* guarded by pp->lock */
    struct pjob *job; /* the call it runs; guarded by pp->lock */
};

struct corio_procpool {
    corio_pool *threads;        /* one thread per worker */
    pthread_mutex_t lock;       /* guards the workers' busy/job */
    pthread_mutex_t ctl_lock;   /* one request to the server at a time */
    int ctl;                    /* socket to the fork server */
    pid_t server;
    unsigned n;
    struct worker *w;
    const corio_proc_fn *fns;   /* copy of the registry (owned) */
    size_t nfns;
    atomic_ulong replaced;
};

/* ---- helpers for exact reads and writes (blocking descriptors) ---- */

static int read_full(int fd, void *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = read(fd, (char *)buf + done, len - done);
        if (n == 0)
            return -EPIPE;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        done += (size_t)n;
    }
    return 0;
}

static int write_full(int fd, const void *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        /* MSG_NOSIGNAL: a dead peer is an error, not a SIGPIPE. */
        ssize_t n = send(fd, (const char *)buf + done, len - done,
                         MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno == ECONNRESET ? -EPIPE : -errno;
        }
        done += (size_t)n;
    }
    return 0;
}

/* ---- the worker process ---- */

static CORIO_NORETURN void worker_main(int fd, const corio_proc_fn *fns,
                                       size_t nfns)
{
    for (;;) {
        struct hdr h;
        if (read_full(fd, &h, sizeof h) < 0)
            _exit(0); /* the parent closed: we are done */
        void *in = h.len ? malloc(h.len) : NULL;
        if (h.len && !in)
            _exit(1);
        if (read_full(fd, in, h.len) < 0)
            _exit(0);
        void *out = NULL;
        size_t out_len = 0;
        int rc = -EINVAL;
        if (h.code >= 0 && (size_t)h.code < nfns)
            rc = fns[h.code](in, h.len, &out, &out_len);
        free(in);
        if (rc < 0) {
            free(out);
            out = NULL;
            out_len = 0;
        }
        struct hdr r = {.code = rc, .len = out ? out_len : 0};
        if (write_full(fd, &r, sizeof r) < 0 ||
            write_full(fd, out, r.len) < 0)
            _exit(0);
        free(out);
    }
}

/* ---- the fork server ---- */

/* Send the parent a worker: pid (or -errno) and, on success, its socket
 * and pidfd. */
static void send_worker(int ctl, int pid, int sock, int pidfd)
{
    char cbuf[CMSG_SPACE(2 * sizeof(int))];
    struct iovec iov = {.iov_base = &pid, .iov_len = sizeof pid};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    if (pid > 0) {
        memset(cbuf, 0, sizeof cbuf);
        m.msg_control = cbuf;
        m.msg_controllen = sizeof cbuf;
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(2 * sizeof(int));
        int fds[2] = {sock, pidfd};
        memcpy(CMSG_DATA(c), fds, sizeof fds);
    }
    sendmsg(ctl, &m, MSG_NOSIGNAL);
}

static CORIO_NORETURN void server_main(int ctl, const corio_proc_fn *fns,
                                       size_t nfns)
{
    /* Only the control socket and stdio stay open: the parent's other
     * descriptors (listeners, epoll, ...) are not ours to hold. */
    if (ctl != 3) {
        dup2(ctl, 3);
        ctl = 3;
    }
    syscall(SYS_close_range, 4, ~0U, 0);
    signal(SIGCHLD, SIG_IGN); /* the kernel reaps dead workers */
    signal(SIGPIPE, SIG_IGN);
    /* Ctrl-C reaches the whole process group: the parent decides what
     * happens to the pool, not the terminal. */
    signal(SIGINT, SIG_IGN);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    pid_t self = getpid();

    int *pidfds = NULL;
    size_t npid = 0;
    for (;;) {
        char cmd;
        ssize_t n = recv(ctl, &cmd, 1, 0);
        if (n <= 0)
            break;
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
            send_worker(ctl, -errno, -1, -1);
            continue;
        }
        pid_t pid = fork();
        if (pid == 0) {
            /* The worker dies with the server, and the server outlives
             * nothing but the parent's interest. */
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() != self)
                _exit(0);
            close(ctl);
            close(sv[0]);
            for (size_t i = 0; i < npid; i++)
                close(pidfds[i]);
            signal(SIGCHLD, SIG_DFL);
            worker_main(sv[1], fns, nfns);
        }
        close(sv[1]);
        if (pid < 0) {
            send_worker(ctl, -errno, -1, -1);
            close(sv[0]);
            continue;
        }
        int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
        if (pidfd < 0) {
            kill(pid, SIGKILL);
            send_worker(ctl, -errno, -1, -1);
            close(sv[0]);
            continue;
        }
        send_worker(ctl, pid, sv[0], pidfd);
        close(sv[0]);
        int *more = realloc(pidfds, (npid + 1) * sizeof *pidfds);
        if (more) {
            pidfds = more;
            pidfds[npid++] = pidfd;
        } else {
            close(pidfd);
        }
    }
    /* The parent closed the pool (or died): end every worker, wait for
     * them all (wait fails with ECHILD once none is left), leave. */
    for (size_t i = 0; i < npid; i++)
        syscall(SYS_pidfd_send_signal, pidfds[i], SIGKILL, NULL, 0);
    while (wait(NULL) > 0 || errno == EINTR)
        ;
    _exit(0);
}

/* ---- the parent side ---- */

/* Ask the server for a worker into *w. 0 or a negative errno. */
static int new_worker(corio_procpool *pp, struct worker *w)
{
    char cmd = 'w';
    int pid = -EPIPE;
    char cbuf[CMSG_SPACE(2 * sizeof(int))];
    struct iovec iov = {.iov_base = &pid, .iov_len = sizeof pid};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1,
                       .msg_control = cbuf, .msg_controllen = sizeof cbuf};

    if (corio__fail_syscall())
        return -EAGAIN;
    pthread_mutex_lock(&pp->ctl_lock);
    ssize_t n = send(pp->ctl, &cmd, 1, MSG_NOSIGNAL);
    if (n == 1)
        n = recvmsg(pp->ctl, &m, MSG_CMSG_CLOEXEC);
    pthread_mutex_unlock(&pp->ctl_lock);
    if (n != (ssize_t)sizeof pid)
        return -EPIPE;
    if (pid < 0)
        return pid;
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    if (!c || c->cmsg_type != SCM_RIGHTS ||
        c->cmsg_len != CMSG_LEN(2 * sizeof(int)))
        return -EPROTO;
    int fds[2];
    memcpy(fds, CMSG_DATA(c), sizeof fds);
    w->sock = fds[0];
    w->pidfd = fds[1];
    w->pid = pid;
    return 0;
}

static void drop_worker(struct worker *w)
{
    if (w->sock >= 0)
        close(w->sock);
    if (w->pidfd >= 0)
        close(w->pidfd);
    w->sock = w->pidfd = -1;
}

/* One call, in the awaiting task's frame. */
struct pjob {
    struct corio__job job;
    corio_procpool *pp;
    int index;
    const void *in;
    size_t in_len;
    void *out;          /* malloc'd reply, handed to the caller */
    size_t out_len;
    int result;
    struct worker *w;   /* while running; guarded by pp->lock */
    bool killed;        /* the task was cancelled; guarded by pp->lock */
};

/* The round trip, in a pool thread. */
static void pjob_run(struct corio__job *j)
{
    struct pjob *p = container_of(j, struct pjob, job);
    corio_procpool *pp = p->pp;

    pthread_mutex_lock(&pp->lock);
    struct worker *w = NULL;
    for (unsigned i = 0; i < pp->n && !w; i++)
        if (!pp->w[i].busy)
            w = &pp->w[i];
    /* One thread per worker: a free one always exists. */
    w->busy = true;
    pthread_mutex_unlock(&pp->lock);

    /* The worker's fields are this thread's while it is busy; the task's
     * cancel hook reads them only through p->w, published under the lock
     * once they are settled. */
    int rc = 0;
    if (w->sock < 0)
        rc = new_worker(pp, w); /* replaced lazily if that failed before */
    pthread_mutex_lock(&pp->lock);
    w->job = p;
    p->w = w;
    pthread_mutex_unlock(&pp->lock);
    if (rc == 0) {
        struct hdr h = {.code = p->index, .len = p->in_len};
        rc = write_full(w->sock, &h, sizeof h);
        if (rc == 0)
            rc = write_full(w->sock, p->in, p->in_len);
        struct hdr r;
        if (rc == 0)
            rc = read_full(w->sock, &r, sizeof r);
        if (rc == 0 && r.len) {
            /* One byte more: a NUL after the result, so that text can be
             * used as a string. */
            p->out = malloc(r.len + 1);
            if (!p->out)
                rc = -ENOMEM; /* the worker's reply is out of step now */
            else if ((rc = read_full(w->sock, p->out, r.len)) == 0)
                ((char *)p->out)[r.len] = '\0';
        }
        if (rc == 0) {
            p->result = r.code;
            p->out_len = r.len;
        }
    }
    if (rc < 0) {
        free(p->out);
        p->out = NULL;
        p->out_len = 0;
        p->result = rc == -ECONNRESET ? -EPIPE : rc;
    }
    /* From here on the task cannot kill the worker any more. */
    pthread_mutex_lock(&pp->lock);
    bool killed = p->killed;
    p->w = NULL;
    w->job = NULL;
    pthread_mutex_unlock(&pp->lock);
    if (killed)
        p->result = -ECANCELED;
    if ((rc < 0 || killed) && w->sock >= 0) {
        /* Crashed, killed (perhaps just after it answered), or out of
         * step: replace it now, so the pool keeps its size. */
        drop_worker(w);
        atomic_fetch_add_explicit(&pp->replaced, 1, memory_order_relaxed);
        new_worker(pp, w);
    }
    pthread_mutex_lock(&pp->lock);
    w->busy = false;
    pthread_mutex_unlock(&pp->lock);
}

/* The task was cancelled while its call runs: kill the worker, which ends
 * the thread's read; the thread replaces the worker. */
static void pjob_cancel(struct corio__job *j)
{
    struct pjob *p = container_of(j, struct pjob, job);
    corio_procpool *pp = p->pp;
    pthread_mutex_lock(&pp->lock);
    if (p->w && p->w->pidfd >= 0) {
        p->killed = true;
        syscall(SYS_pidfd_send_signal, p->w->pidfd, SIGKILL, NULL, 0);
    }
    pthread_mutex_unlock(&pp->lock);
}

corio_procpool *corio_procpool_new(const corio_procpool_opts *opts)
{
    if (!opts || !opts->fns || !opts->nfns || opts->nfns > INT32_MAX) {
        errno = EINVAL;
        return NULL;
    }
    for (size_t i = 0; i < opts->nfns; i++)
        if (!opts->fns[i]) {
            errno = EINVAL;
            return NULL;
        }
    unsigned n = opts->workers;
    if (!n) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        n = c > 0 ? (unsigned)c : 1;
    }
    int rc = -ENOMEM;
    corio_procpool *pp = corio__calloc(1, sizeof *pp);
    if (!pp)
        goto err;
    pp->n = n;
    pp->ctl = -1;
    pp->w = corio__calloc(n, sizeof *pp->w);
    if (!pp->w)
        goto err_free;
    for (unsigned i = 0; i < n; i++)
        pp->w[i].sock = pp->w[i].pidfd = -1;
    pp->fns = corio__malloc(opts->nfns * sizeof *pp->fns);
    if (!pp->fns)
        goto err_free_w;
    memcpy((void *)pp->fns, opts->fns, opts->nfns * sizeof *pp->fns);
    pp->nfns = opts->nfns;
    if (pthread_mutex_init(&pp->lock, NULL) != 0)
        goto err_free_fns;
    if (pthread_mutex_init(&pp->ctl_lock, NULL) != 0)
        goto err_destroy_lock;
    corio_pool_opts po = {.threads = n};
    pp->threads = corio_pool_new(&po);
    if (!pp->threads)
        goto err_destroy_ctl;

    int sv[2];
    if (corio__fail_syscall()) {
        rc = -EMFILE;
        goto err_close_pool;
    }
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        rc = -errno;
        goto err_close_pool;
    }
    /* Flush stdio first, or the children would flush the same buffered
     * output again. */
    fflush(NULL);
    pid_t pid = corio__fail_syscall() ? (errno = EAGAIN, -1) : fork();
    if (pid == 0) {
        close(sv[0]);
        server_main(sv[1], pp->fns, pp->nfns);
    }
    close(sv[1]);
    if (pid < 0) {
        rc = -errno;
        close(sv[0]);
        goto err_close_pool;
    }
    pp->ctl = sv[0];
    pp->server = pid;
    for (unsigned i = 0; i < n; i++) {
        rc = new_worker(pp, &pp->w[i]);
        if (rc < 0)
            goto err_stop;
    }
    return pp;

err_stop:
    for (unsigned i = 0; i < n; i++)
        drop_worker(&pp->w[i]);
    close(pp->ctl);
    waitpid(pp->server, NULL, 0);
err_close_pool:
    corio_pool_close(pp->threads);
err_destroy_ctl:
    pthread_mutex_destroy(&pp->ctl_lock);
err_destroy_lock:
    pthread_mutex_destroy(&pp->lock);
err_free_fns:
    corio__free((void *)pp->fns);
err_free_w:
    corio__free(pp->w);
err_free:
    corio__free(pp);
err:
    errno = -rc;
    return NULL;
}

int corio_procpool_call(corio_procpool *pp, corio_proc_fn fn, const void *in,
                        size_t in_len, void **out, size_t *out_len)
{
    if (!pp || !fn || (!in && in_len))
        return -EINVAL;
    int index = -1;
    for (size_t i = 0; i < pp->nfns; i++)
        if (pp->fns[i] == fn)
            index = (int)i;
    if (index < 0)
        return -EINVAL;
    if (out)
        *out = NULL;
    if (out_len)
        *out_len = 0;
    struct pjob p = {.pp = pp, .index = index, .in = in, .in_len = in_len};
    p.job.run = pjob_run;
    p.job.cancel = pjob_cancel;
    int rc = corio__pool_job(pp->threads, &p.job, CORIO__DISCARD);
    if (rc < 0 || p.result < 0) {
        free(p.out);
        return rc < 0 ? rc : p.result;
    }
    if (out)
        *out = p.out;
    else
        free(p.out);
    if (out_len)
        *out_len = p.out_len;
    return p.result;
}

unsigned long corio_procpool_replaced(const corio_procpool *pp)
{
    return pp ? atomic_load_explicit(&pp->replaced, memory_order_relaxed)
              : 0;
}

void corio_procpool_close(corio_procpool *pp)
{
    if (!pp)
        return;
    corio_pool_close(pp->threads);
    for (unsigned i = 0; i < pp->n; i++)
        drop_worker(&pp->w[i]);
    /* EOF on its socket makes the server kill and reap the workers and
     * exit; then we reap the server itself (only that pid). */
    close(pp->ctl);
    while (waitpid(pp->server, NULL, 0) < 0 && errno == EINTR)
        ;
    pthread_mutex_destroy(&pp->ctl_lock);
    pthread_mutex_destroy(&pp->lock);
    corio__free((void *)pp->fns);
    corio__free(pp->w);
    corio__free(pp);
}

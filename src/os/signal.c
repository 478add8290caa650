/* SPDX-License-Identifier: MIT */
/* Signals through signalfd, and corio_run's SIGINT rule.
 *
 * A corio_signal blocks its signals in the loop's thread and watches a
 * signalfd for them; a per-thread count remembers which signals corio
 * blocked, so that closing restores only what it changed. Handlers
 * (add_signal_handler) share one corio_signal per loop and a task that
 * waits on it and calls them.
 *
 * corio_run's SIGINT rule uses no signal handler, so nothing runs in
 * signal context and no disposition changes: while main runs, SIGINT is
 * blocked in the main thread and a helper thread reads it from a
 * signalfd. The first one makes the loop cancel main (through
 * call_soon_threadsafe); a second one is re-raised in the helper with
 * SIGINT unblocked, so the default action ends the process, with the
 * status a shell expects from Ctrl-C. */
#include "os/os.h"

#include "corio/signal.h"

#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#define NSIGS 65 /* signal numbers 1 .. 64 */

/* Signals corio blocked in this thread: how many corio_signals watch
 * each, and whether it was blocked before the first one. */
static _Thread_local unsigned short watch_count[NSIGS];
static _Thread_local bool was_blocked[NSIGS];

struct corio_signal {
    struct corio__io io;
    sigset_t set;
    int fd;
};

/* Block the signals of set in this thread, counting them. */
static void watch(const sigset_t *set)
{
    sigset_t cur;
    pthread_sigmask(SIG_BLOCK, NULL, &cur);
    for (int s = 1; s < NSIGS; s++) {
        if (!sigismember(set, s))
            continue;
        if (watch_count[s]++ == 0)
            was_blocked[s] = sigismember(&cur, s);
    }
    pthread_sigmask(SIG_BLOCK, set, NULL);
}

/* Undo watch(): unblock what corio blocked and nobody watches now. */
static void unwatch(const sigset_t *set)
{
    sigset_t un;
    sigemptyset(&un);
    for (int s = 1; s < NSIGS; s++) {
        if (!sigismember(set, s) || watch_count[s] == 0)
            continue;
        if (--watch_count[s] == 0 && !was_blocked[s])
            sigaddset(&un, s);
    }
    pthread_sigmask(SIG_UNBLOCK, &un, NULL);
}

static int make_set(const int *signals, size_t n, sigset_t *set)
{
    sigemptyset(set);
    if (!signals || n == 0)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        int s = signals[i];
        /* SIGKILL and SIGSTOP cannot be blocked; the fault signals must
         * reach the faulting thread. */
        if (s <= 0 || s >= NSIGS || s == SIGKILL || s == SIGSTOP ||
            s == SIGSEGV || s == SIGBUS || s == SIGFPE || s == SIGILL)
            return -EINVAL;
        sigaddset(set, s);
    }
    return 0;
}

static corio_signal *open_set(const sigset_t *set)
{
    corio_loop *loop = corio__tls_loop;
    if (!loop) {
        errno = EPERM;
        return NULL;
    }
    corio_signal *s = corio__calloc(1, sizeof *s);
    if (!s) {
        errno = ENOMEM;
        return NULL;
    }
    s->set = *set;
    int rc;
    /* Block first: a signal that came between would otherwise take its
     * default action. */
    watch(set);
    s->fd = corio__fail_syscall()
                ? (errno = EMFILE, -1)
                : signalfd(-1, set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (s->fd < 0) {
        rc = -errno;
        goto err_unwatch;
    }
    rc = corio__io_watch(loop, &s->io, s->fd, false);
    if (rc < 0)
        goto err_close;
    return s;

err_close:
    close(s->fd);
err_unwatch:
    unwatch(set);
    corio__free(s);
    errno = -rc;
    return NULL;
}

corio_signal *corio_signal_open(const int *signals, size_t n)
{
    sigset_t set;
    if (make_set(signals, n, &set) < 0) {
        errno = EINVAL;
        return NULL;
    }
    return open_set(&set);
}

int corio_signal_wait(corio_signal *s)
{
    if (!s)
        return -EINVAL;
    for (;;) {
        struct signalfd_siginfo si;
        ssize_t n = read(s->fd, &si, sizeof si);
        if (n == (ssize_t)sizeof si)
            return (int)si.ssi_signo;
        if (n < 0 && errno != EAGAIN)
            return -errno;
        corio__io_clear(&s->io, CORIO__IN);
        int rc = corio__io_wait(&s->io, CORIO__IN);
        if (rc < 0)
            return rc;
    }
}

static void free_signal(struct corio__io *io)
{
    corio__free(container_of(io, corio_signal, io));
}

void corio_signal_close(corio_signal *s)
{
    if (!s)
        return;
    /* Drop what is pending, so that unblocking does not deliver it. */
    struct signalfd_siginfo si;
    while (read(s->fd, &si, sizeof si) == (ssize_t)sizeof si)
        ;
    sigset_t set = s->set;
    bool now = corio__io_unwatch(&s->io, free_signal);
    close(s->fd);
    unwatch(&set);
    if (now)
        free_signal(&s->io);
}

/* ---- handlers: one dispatcher task per loop ---- */

struct handlers {
    struct {
        corio_signal_fn fn;
        void *arg;
    } h[NSIGS];
    sigset_t set;          /* signals with a handler */
    corio_signal *sig;     /* watches set; owned by the dispatcher */
    corio_task *task;      /* the dispatcher; a reference */
};

static int dispatch(void *arg)
{
    struct handlers *hs = arg;
    for (;;) {
        int signo = corio_signal_wait(hs->sig);
        if (signo < 0)
            break;
        if (hs->h[signo].fn)
            hs->h[signo].fn(signo, hs->h[signo].arg);
    }
    return 0;
}

static void handlers_close(struct corio__loopx *x)
{
    struct handlers *hs = x->slot[CORIO__X_SIGNAL];
    if (hs->sig)
        corio_signal_close(hs->sig);
    corio_task_unref(hs->task);
    corio__free(hs);
    x->slot[CORIO__X_SIGNAL] = NULL;
}

/* Stop the dispatcher and its signalfd. */
static void stop_dispatch(struct handlers *hs)
{
    if (hs->task) {
        corio_cancel(hs->task);
        corio_task_unref(hs->task);
        hs->task = NULL;
    }
    if (hs->sig) {
        corio_signal_close(hs->sig);
        hs->sig = NULL;
    }
}

/* Start watching hs->set, with a fresh signalfd and dispatcher. */
static int start_dispatch(struct handlers *hs, corio_loop *loop)
{
    corio_signal *sig = open_set(&hs->set);
    if (!sig)
        return -errno;
    corio_task_opts o = {.name = "corio-signals"};
    hs->sig = sig;
    corio_task *t = corio_loop_spawn(loop, dispatch, hs, &o);
    if (!t) {
        corio_signal_close(sig);
        hs->sig = NULL;
        return -ENOMEM;
    }
    hs->task = t;
    return 0;
}

int corio_signal_add_handler(int signo, corio_signal_fn fn, void *arg)
{
    sigset_t one;
    if (!fn || make_set(&signo, 1, &one) < 0)
        return -EINVAL;
    corio_loop *loop = corio__tls_loop;
    if (!loop)
        return -EPERM;
    struct corio__loopx *x = corio__loopx_get(loop);
    if (!x)
        return -errno;
    struct handlers *hs = x->slot[CORIO__X_SIGNAL];
    if (!hs) {
        hs = corio__calloc(1, sizeof *hs);
        if (!hs)
            return -ENOMEM;
        sigemptyset(&hs->set);
        x->slot[CORIO__X_SIGNAL] = hs;
        x->close[CORIO__X_SIGNAL] = handlers_close;
    }
    if (!sigismember(&hs->set, signo)) {
        /* A new signal: the dispatcher's set changes. Start the new
         * watch before stopping the old one, so nothing goes unwatched. */
        sigset_t old = hs->set;
        corio_signal *old_sig = hs->sig;
        corio_task *old_task = hs->task;
        sigaddset(&hs->set, signo);
        hs->sig = NULL;
        hs->task = NULL;
        int rc = start_dispatch(hs, loop);
        if (rc < 0) {
            hs->set = old;
            hs->sig = old_sig;
            hs->task = old_task;
            return rc;
        }
        struct handlers prev = {.sig = old_sig, .task = old_task};
        stop_dispatch(&prev);
    }
    hs->h[signo].fn = fn;
    hs->h[signo].arg = arg;
    return 0;
}

int corio_signal_remove_handler(int signo)
{
    corio_loop *loop = corio__tls_loop;
    if (signo <= 0 || signo >= NSIGS)
        return -EINVAL;
    if (!loop)
        return -EPERM;
    struct corio__loopx *x = corio__loopx_get(loop);
    struct handlers *hs = x ? x->slot[CORIO__X_SIGNAL] : NULL;
    if (!hs || !hs->h[signo].fn)
        return -ENOENT;
    hs->h[signo].fn = NULL;
    sigdelset(&hs->set, signo);
    stop_dispatch(hs);
    if (!sigisemptyset(&hs->set) && start_dispatch(hs, loop) < 0) {
        /* Could not watch the others again: they lose their handlers
         * rather than take their default action unseen. */
        sigemptyset(&hs->set);
        memset(hs->h, 0, sizeof hs->h);
    }
    return 0;
}

/* ---- corio_run's SIGINT rule (called from loop.c) ---- */

CORIO_HIDDEN bool corio__sigint_start(corio_loop *loop, corio_task *main);
CORIO_HIDDEN void corio__sigint_stop(bool started);

static pthread_mutex_t si_lock = PTHREAD_MUTEX_INITIALIZER;
static corio_loop *si_loop;  /* guarded by si_lock */
static corio_task *si_main;  /* guarded by si_lock */
/* The helper's descriptors and thread: main thread only. */
static int si_sfd = -1;
static int si_efd = -1;
static pthread_t si_thread;

/* On the loop thread: cancel main if this run still has it. */
static void si_cancel(void *arg)
{
    pthread_mutex_lock(&si_lock);
    if (si_loop == arg && si_main)
        corio_cancel(si_main);
    pthread_mutex_unlock(&si_lock);
}

static void *si_helper(void *arg)
{
    (void)arg;
    unsigned seen = 0;
    for (;;) {
        struct pollfd p[2] = {{.fd = si_sfd, .events = POLLIN},
                              {.fd = si_efd, .events = POLLIN}};
        if (poll(p, 2, -1) < 0)
            continue;
        if (p[1].revents)
            break; /* corio__sigint_stop */
        struct signalfd_siginfo si;
        if (read(si_sfd, &si, sizeof si) != (ssize_t)sizeof si)
            continue;
        int rc = -ENOMEM;
        if (++seen == 1) {
            pthread_mutex_lock(&si_lock);
            if (si_loop)
                rc = corio_loop_call_soon_threadsafe(si_loop, si_cancel,
                                                     si_loop);
            pthread_mutex_unlock(&si_lock);
        }
        if (rc < 0) {
            /* The second SIGINT (or a first one we could not pass on):
             * end the process the way SIGINT's default action does. */
            sigset_t one;
            sigemptyset(&one);
            sigaddset(&one, SIGINT);
            raise(SIGINT);
            pthread_sigmask(SIG_UNBLOCK, &one, NULL);
        }
    }
    return NULL;
}

bool corio__sigint_start(corio_loop *loop, corio_task *main)
{
    /* asyncio.run does this only in the main thread. */
    if (getpid() != gettid())
        return false;
    struct sigaction sa;
    if (sigaction(SIGINT, NULL, &sa) < 0 || sa.sa_handler != SIG_DFL ||
        (sa.sa_flags & SA_SIGINFO))
        return false;
    sigset_t one, cur, all, old;
    sigemptyset(&one);
    sigaddset(&one, SIGINT);
    pthread_sigmask(SIG_BLOCK, NULL, &cur);
    if (sigismember(&cur, SIGINT))
        return false; /* the program handles SIGINT its own way */
    if (corio__fail_syscall())
        return false;
    si_sfd = signalfd(-1, &one, SFD_CLOEXEC | SFD_NONBLOCK);
    if (si_sfd < 0)
        return false;
    si_efd = eventfd(0, EFD_CLOEXEC);
    if (si_efd < 0)
        goto err_close_sfd;
    pthread_sigmask(SIG_BLOCK, &one, NULL);
    pthread_mutex_lock(&si_lock);
    si_loop = loop;
    si_main = main;
    pthread_mutex_unlock(&si_lock);
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&si_thread, NULL, si_helper, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0)
        goto err_unblock;
    return true;

err_unblock:
    pthread_mutex_lock(&si_lock);
    si_loop = NULL;
    si_main = NULL;
    pthread_mutex_unlock(&si_lock);
    pthread_sigmask(SIG_UNBLOCK, &one, NULL);
    close(si_efd);
err_close_sfd:
    close(si_sfd);
    si_sfd = si_efd = -1;
    return false;
}

void corio__sigint_stop(bool started)
{
    if (!started)
        return;
    pthread_mutex_lock(&si_lock);
    si_loop = NULL;
    si_main = NULL;
    pthread_mutex_unlock(&si_lock);
    uint64_t one = 1;
    ssize_t n = write(si_efd, &one, sizeof one);
    (void)n;
    pthread_join(si_thread, NULL);
    close(si_sfd);
    close(si_efd);
    si_sfd = si_efd = -1;
    /* A SIGINT that came after the helper left is still pending: as a
     * second one would, it ends the process when unblocked. */
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGINT);
    pthread_sigmask(SIG_UNBLOCK, &s, NULL);
}

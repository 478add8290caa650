/* SPDX-License-Identifier: MIT */
/* The epoll backend: waits for I/O readiness and for the loop's eventfd,
 * with a nanosecond timeout where the kernel has epoll_pwait2 (Linux 5.11),
 * so that timers never wake early and rarely late. Descriptors corio
 * drives itself are registered once, edge-triggered, for both directions,
 * so that a read or write that meets EAGAIN costs no epoll_ctl; the
 * descriptors of corio_fd are armed one-shot for each wait. */
#include "core/core.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_EVENTS 256

struct epoll_backend {
    int epfd;
    unsigned watched; /* descriptors registered besides the eventfd */
};

static atomic_int have_pwait2 = 1; /* cleared on ENOSYS */

static int ep_init(corio_loop *loop)
{
    struct epoll_backend *b = corio__calloc(1, sizeof *b);
    if (!b)
        return -ENOMEM;
    int rc;
    b->epfd = corio__fail_syscall() ? (errno = EMFILE, -1)
                                    : epoll_create1(EPOLL_CLOEXEC);
    if (b->epfd < 0)
        goto err_free;
    loop->wake_fd = corio__fail_syscall()
                        ? (errno = EMFILE, -1)
                        : eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (loop->wake_fd < 0)
        goto err_close_ep;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    if (epoll_ctl(b->epfd, EPOLL_CTL_ADD, loop->wake_fd, &ev) < 0)
        goto err_close_wake;
    loop->backend = b;
    return 0;

err_close_wake:
    rc = -errno;
    close(loop->wake_fd);
    loop->wake_fd = -1;
    close(b->epfd);
    corio__free(b);
    return rc;
err_close_ep:
    rc = -errno;
    close(b->epfd);
    corio__free(b);
    return rc;
err_free:
    rc = -errno;
    corio__free(b);
    return rc;
}

static void ep_close(corio_loop *loop)
{
    struct epoll_backend *b = loop->backend;
    if (!b)
        return;
    close(b->epfd);
    close(loop->wake_fd);
    loop->wake_fd = -1;
    corio__free(b);
    loop->backend = NULL;
}

static bool ep_busy(corio_loop *loop)
{
    return ((struct epoll_backend *)loop->backend)->watched != 0;
}

static int ep_watch(corio_loop *loop, struct corio__io *io)
{
    struct epoll_backend *b = loop->backend;
    struct epoll_event ev = {.data.ptr = io};
    /* One-shot descriptors start disarmed: each wait arms them. */
    ev.events = io->oneshot ? EPOLLONESHOT
                            : EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    if (corio__fail_syscall()) {
        errno = ENOMEM;
        return -ENOMEM;
    }
    if (epoll_ctl(b->epfd, EPOLL_CTL_ADD, io->fd, &ev) < 0)
        return -errno;
    b->watched++;
    return 0;
}

static int ep_arm(corio_loop *loop, struct corio__io *io, unsigned events)
{
    struct epoll_event ev = {.data.ptr = io, .events = EPOLLONESHOT};
    if (events & CORIO__IN)
        ev.events |= EPOLLIN | EPOLLRDHUP;
    if (events & CORIO__OUT)
        ev.events |= EPOLLOUT;
    struct epoll_backend *b = loop->backend;
    if (epoll_ctl(b->epfd, EPOLL_CTL_MOD, io->fd, &ev) < 0)
        return -errno;
    return 0;
}

static void ep_unwatch(corio_loop *loop, struct corio__io *io)
{
    struct epoll_backend *b = loop->backend;
    /* The descriptor may be closed already, which removed it from the
     * epoll set; ignore the error then. */
    epoll_ctl(b->epfd, EPOLL_CTL_DEL, io->fd, NULL);
    b->watched--;
}

static int wait_events(struct epoll_backend *b, struct epoll_event *ev,
                       int64_t timeout)
{
    if (atomic_load_explicit(&have_pwait2, memory_order_relaxed)) {
        struct timespec ts, *tp = NULL;
        if (timeout >= 0) {
            ts.tv_sec = timeout / 1000000000;
            ts.tv_nsec = timeout % 1000000000;
            tp = &ts;
        }
        int n = (int)syscall(SYS_epoll_pwait2, b->epfd, ev, MAX_EVENTS, tp,
                             NULL, 0);
        if (n >= 0 || errno != ENOSYS)
            return n;
        atomic_store_explicit(&have_pwait2, 0, memory_order_relaxed);
    }
    /* Round up to whole milliseconds, so that timers never fire early. */
    int ms = -1;
    if (timeout >= 0) {
        int64_t m = (timeout + 999999) / 1000000;
        ms = m > INT_MAX ? INT_MAX : (int)m;
    }
    return epoll_wait(b->epfd, ev, MAX_EVENTS, ms);
}

static int ep_poll(corio_loop *loop, int64_t timeout)
{
    struct epoll_backend *b = loop->backend;
    struct epoll_event ev[MAX_EVENTS];

    int n = wait_events(b, ev, timeout);
    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    for (int i = 0; i < n; i++) {
        struct corio__io *io = ev[i].data.ptr;
        if (io == NULL) {
            uint64_t v;
            ssize_t r = read(loop->wake_fd, &v, sizeof v);
            (void)r;
            continue;
        }
        uint32_t e = ev[i].events;
        unsigned dirs = 0;
        /* An error or hang-up wakes both sides: the next system call on
         * the descriptor reports what happened. */
        if (e & (EPOLLERR | EPOLLHUP))
            dirs = CORIO__IN | CORIO__OUT;
        if (e & (EPOLLIN | EPOLLRDHUP | EPOLLPRI))
            dirs |= CORIO__IN;
        if (e & EPOLLOUT)
            dirs |= CORIO__OUT;
        if (e & (EPOLLERR | EPOLLHUP | EPOLLRDHUP))
            dirs |= CORIO__HUP;
        corio__io_ready(io, dirs);
    }
    corio__tsq_drain(loop);
    return n;
}

const struct corio__backend_ops corio__epoll_ops = {
    .name = "epoll",
    .init = ep_init,
    .close = ep_close,
    .poll = ep_poll,
    .busy = ep_busy,
    .watch = ep_watch,
    .arm = ep_arm,
    .unwatch = ep_unwatch,
};

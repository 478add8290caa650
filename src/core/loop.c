/* SPDX-License-Identifier: MIT */
/* The event loop: creation, the run cycle (ready batch, then timers and
 * I/O), stop and close, calls from other threads, and corio_run, which is
 * asyncio.run. */
#include "core/core.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/arch/switch.h"

CORIO_TLS corio_loop *corio__tls_loop;

/* Hooks into the pool and os modules. corio__loopx_destroy
 * (src/pool/port.c) frees the per-loop state they keep outside struct
 * corio_loop (completion port, io_uring ring, signal handlers) when the
 * loop is freed. corio__sigint_start/_stop (src/os/signal.c) give
 * corio_run asyncio.run's SIGINT rule: start returns false, and changes
 * nothing, unless SIGINT is at its default disposition, unblocked, and
 * this is the process's main thread. */
CORIO_HIDDEN void corio__loopx_destroy(corio_loop *loop);
CORIO_HIDDEN bool corio__sigint_start(corio_loop *loop, corio_task *main);
CORIO_HIDDEN void corio__sigint_stop(bool started);

#ifdef CORIO_TESTING
#include "core/testing.h"

const char *corio__switch_name(void)
{
    return corio__ctx_name;
}
#endif

#define STACK_DEFAULT (64 * 1024)
/* Sanitizers put redzones around locals and need deeper stacks. */
#define STACK_DEFAULT_SANITIZED (256 * 1024)

int64_t corio__clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t corio__sec_to_ns(double s)
{
    if (!(s > 0))
        return 0;
    if (s >= 9.2e9) /* ~292 years: as good as never */
        return CORIO__NEVER;
    return (int64_t)ceil(s * 1e9);
}

int64_t corio__time_to_ns(double when)
{
    if (!(when > 0))
        return 0;
    if (when >= 9.2e9)
        return CORIO__NEVER;
    /* when * 1e9 is rounded (by up to 8 ps at a day's uptime): ceil alone
     * can land a nanosecond short, and the deadline would read as early. */
    int64_t ns = (int64_t)ceil(when * 1e9);
    while ((double)ns / 1e9 < when)
        ns++;
    return ns;
}

double corio_time(void)
{
    return (double)corio__loop_clock(corio__tls_loop) / 1e9;
}

double corio_loop_time(const corio_loop *loop)
{
    return (double)corio__loop_clock(loop) / 1e9;
}

/* Parse CORIO_STACK_SIZE: bytes, or with a k/K or m/M suffix. */
static size_t env_stack_size(void)
{
    const char *s = getenv("CORIO_STACK_SIZE");
    if (!s || !*s)
        return 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end == 'k' || *end == 'K')
        v <<= 10;
    else if (*end == 'm' || *end == 'M')
        v <<= 20;
    return (size_t)v;
}

/* The backend a loop gets when neither its options nor CORIO_BACKEND
 * name one, if the kernel supports io_uring. */
#define DEFAULT_URING false

int corio__backend_init(corio_loop *loop, const corio_loop_opts *opts)
{
    corio_backend want = opts ? opts->backend : CORIO_BACKEND_DEFAULT;
    if (want == CORIO_BACKEND_DEFAULT) {
        const char *env = getenv("CORIO_BACKEND");
        if (env && strcmp(env, "epoll") == 0)
            want = CORIO_BACKEND_EPOLL;
        else if (env && strcmp(env, "io_uring") == 0)
            want = CORIO_BACKEND_IO_URING;
    }
#ifdef CORIO_HAVE_URING
    if (want == CORIO_BACKEND_IO_URING ||
        (want == CORIO_BACKEND_DEFAULT && DEFAULT_URING)) {
        /* Any failure (no io_uring in this kernel, forbidden by a sysctl
         * or seccomp, out of memory for the ring) falls back to epoll. */
        loop->bops = &corio__uring_ops;
        if (corio__uring_ops.init(loop) == 0)
            return 0;
    }
#endif
    loop->bops = &corio__epoll_ops;
    int rc = corio__epoll_ops.init(loop);
    if (rc < 0)
        loop->bops = NULL;
    return rc;
}

const char *corio_loop_backend(const corio_loop *loop)
{
    if (!loop)
        loop = corio__tls_loop;
    return loop && loop->bops ? loop->bops->name : NULL;
}

/* one_thread: the loop is made, run and closed by this thread alone (it
 * is corio_run's), which lets the io_uring backend tie its ring to the
 * thread. */
static corio_loop *loop_new(const corio_loop_opts *opts, bool one_thread)
{
    size_t stack = opts && opts->stack_size ? opts->stack_size
                                            : env_stack_size();
    if (!stack)
        stack = CORIO_ASAN || CORIO_TSAN ? STACK_DEFAULT_SANITIZED
                                         : STACK_DEFAULT;
    stack = corio__stack_round(stack);
    if (!stack) {
        errno = EINVAL;
        return NULL;
    }
    corio_loop *loop = corio__calloc(1, sizeof *loop);
    if (!loop)
        goto err;
    loop->ready_tail = &loop->ready_head;
    loop->one_thread = one_thread;
    loop->stack_size = stack;
    loop->wake_fd = -1;
    loop->tsq_tail = &loop->tsq_head;
    corio__list_init(&loop->tasks);
    corio__slab_init(&loop->task_slab, sizeof(corio_task), true);
    corio__slab_init(&loop->handle_slab, sizeof(struct corio__handle), false);
    int rc = corio__ctx_main_init(&loop->main_ctx);
    if (rc < 0)
        goto err_free_loop;
    rc = corio__stacks_init(loop);
    if (rc < 0)
        goto err_free_ctx;
    rc = corio__backend_init(loop, opts);
    if (rc < 0)
        goto err_close_stacks;
    if (pthread_mutex_init(&loop->tsq_lock, NULL) != 0) {
        rc = -ENOMEM;
        goto err_close_backend;
    }
    corio__debug_loop_new(loop, opts);
    loop->now = corio__loop_clock(loop);
    return loop;

err_close_backend:
    corio__backend_close(loop);
err_close_stacks:
    corio__stacks_close(loop);
err_free_ctx:
    corio__ctx_main_free(loop->main_ctx);
err_free_loop:
    corio__free(loop);
    errno = -rc;
    return NULL;
err:
    errno = ENOMEM;
    return NULL;
}

corio_loop *corio_loop_new(const corio_loop_opts *opts)
{
    return loop_new(opts, false);
}

/* Free everything, whatever is left. */
static void destroy(corio_loop *loop)
{
    if (loop->dns_free)
        loop->dns_free(loop); /* before the backend its sockets use */
    corio__loopx_destroy(loop);
    corio__debug_loop_free(loop);
    struct corio__tsq_item *i = loop->tsq_head;
    while (i) {
        struct corio__tsq_item *next = i->next;
        corio__free(i);
        i = next;
    }
    pthread_mutex_destroy(&loop->tsq_lock);
    corio__backend_close(loop);
    corio__stacks_close(loop);
    corio__heap_free(&loop->timers);
    corio__task_free_all(loop);
    corio__slab_destroy(&loop->task_slab);
    corio__slab_destroy(&loop->handle_slab);
    corio__ctx_main_free(loop->main_ctx);
    corio__free(loop);
}

void corio_loop_pending(const corio_loop *loop, size_t *tasks,
                        size_t *handles)
{
    if (tasks)
        *tasks = loop ? loop->ntasks : 0;
    if (!handles)
        return;
    *handles = 0;
    if (!loop)
        return;
    *handles = loop->nhandles + loop->nios;
    /* Callbacks other threads queued count too. */
    pthread_mutex_t *m = (pthread_mutex_t *)&loop->tsq_lock;
    pthread_mutex_lock(m);
    for (struct corio__tsq_item *i = loop->tsq_head; i; i = i->next)
        (*handles)++;
    pthread_mutex_unlock(m);
}

int corio_loop_close(corio_loop *loop)
{
    if (!loop)
        return 0;
    if (loop->running || loop->ntasks || loop->nhandles || loop->nios ||
        atomic_load_explicit(&loop->tsq_pending, memory_order_acquire)) {
        if (loop->debug)
            corio__debug_close_busy(loop);
        return -EBUSY;
    }
    loop->closed = true;
    destroy(loop);
    return 0;
}

corio_loop *corio_loop_current(void)
{
    return corio__tls_loop;
}

bool corio_loop_is_running(const corio_loop *loop)
{
    return loop && loop->running;
}

void corio_loop_stop(corio_loop *loop)
{
    if (loop)
        loop->stopping = true;
}

/* ---- one iteration: timers, I/O and other threads' calls ---- */

static void fire_timers(corio_loop *loop)
{
    struct corio__timer *tm;
    while ((tm = corio__timer_pop_due(loop, loop->now))) {
        if (tm->kind == CORIO__TIMER_TASK)
            corio__wake(container_of(tm, corio_task, timer),
                        CORIO__WAKE_TIMER);
        else
            corio__handle_fire(loop,
                               container_of(tm, struct corio__handle, timer));
    }
}

/* Poll I/O and fire timers. Blocks only when nothing is ready to run. */
static void poll_once(corio_loop *loop)
{
    int64_t timeout = -1;
    int64_t now = corio__loop_clock(loop);

    if (loop->ready_head || loop->stopping) {
        timeout = 0;
    } else if (loop->timers.n) {
        timeout = loop->timers.v[0].deadline - now;
        if (timeout < 0)
            timeout = 0;
    }
    if (timeout != 0)
        corio__stacks_trim(loop, corio__clock_ns());
    if (loop->virt && timeout > 0) {
        /* Virtual time: look for I/O without waiting; if there is none,
         * every task is blocked, so jump to the next timer. */
        if (corio__backend_poll(loop, 0) == 0 && !loop->ready_head)
            loop->vnow = loop->timers.v[0].deadline;
    } else if (timeout != 0 || corio__backend_busy(loop)) {
        corio__backend_poll(loop, timeout);
    } else {
        /* With only tasks running, skip the system call: nothing can be
         * ready but the calls of other threads, which a flag announces. */
        corio__tsq_drain(loop);
    }
    if (unlikely(corio__dump_asked(loop)))
        corio__debug_poll(loop);
    loop->now = corio__loop_clock(loop);
    fire_timers(loop);
}

/* Run until `until` is done; with NULL, until stopped, or in shutdown
 * until every task cancelled by corio_run has ended. */
static int run(corio_loop *loop, corio_task *until)
{
    if (!loop || loop->closed)
        return -EINVAL;
    if (corio__tls_loop || loop->running)
        return -EBUSY;
    int rc = corio__overflow_init();
    if (rc < 0)
        return rc;
#if CORIO_ASAN
    {
        pthread_attr_t attr;
        void *addr;
        size_t size;
        if (pthread_getattr_np(pthread_self(), &attr) == 0) {
            pthread_attr_getstack(&attr, &addr, &size);
            pthread_attr_destroy(&attr);
            loop->main_stack_lo = addr;
            loop->main_stack_size = size;
        }
    }
#endif
#if CORIO_TSAN
    loop->tsan_fiber = __tsan_get_current_fiber();
#endif
    corio__tls_loop = loop;
    loop->running = true;
    loop->thread = pthread_self();
    corio__debug_run_start(loop);
    rc = 0;
    /* One iteration, as asyncio's _run_once: poll (without blocking if
     * anything is ready or a stop is asked), then run what is ready. */
    for (;;) {
        poll_once(loop);
        corio__run_ready(loop);
        if (until && until->state == CORIO__TASK_DONE)
            break;
        if (loop->shutdown && loop->shutdown_left == 0)
            break;
        if (loop->stopping) {
            rc = until ? -EINTR : 0;
            break;
        }
    }
    corio__debug_run_stop(loop);
    loop->stopping = false;
    loop->running = false;
    corio__tls_loop = NULL;
    return rc;
}

int corio_loop_run_until_complete(corio_loop *loop, corio_task *t)
{
    if (!t || (loop && t->loop != loop))
        return -EINVAL;
    if (t->state != CORIO__TASK_DONE) {
        int rc = run(loop, t);
        if (rc < 0)
            return rc;
    }
    return t->result;
}

int corio_loop_run_forever(corio_loop *loop)
{
    return run(loop, NULL);
}

/* ---- asyncio.run ---- */

int corio_run(corio_fn main, void *arg)
{
    if (!main)
        return -EINVAL;
    if (corio__tls_loop)
        return -EBUSY;
    corio_loop *loop = loop_new(NULL, true);
    if (!loop)
        return -errno;
    corio_task_opts opts = {.name = "main"};
    corio_task *t = (corio_loop_spawn)(loop, main, arg, &opts);
    if (!t) {
        int e = errno;
        corio_loop_close(loop);
        return -e;
    }
    /* As asyncio.run: the first SIGINT cancels main, a second one ends
     * the process at once. */
    bool sigint = corio__sigint_start(loop, t);
    int rc = corio_loop_run_until_complete(loop, t);
    corio__sigint_stop(sigint);
    corio_task_unref(t);
    /* Cancel what is still running and let it unwind, as asyncio.run
     * does, then free the loop whatever the program left behind. */
    loop->shutdown = true;
    while (loop->nalive) {
        /* Tasks spawned while the others unwind are cancelled next round. */
        loop->shutdown_left = 0;
        for (struct corio__list *l = loop->tasks.next; l != &loop->tasks;
             l = l->next) {
            corio_task *c = container_of(l, corio_task, all);
            if (c->state == CORIO__TASK_DONE)
                continue;
            c->shutdown = true;
            loop->shutdown_left++;
            corio_cancel(c);
        }
        if (run(loop, NULL) < 0)
            break;
    }
    destroy(loop);
    return rc;
}

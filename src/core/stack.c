/* SPDX-License-Identifier: MIT */
/* Task stacks: carved from large mappings, with a guard region below each
 * one, pooled per loop, and given to a task only when it first runs.
 *
 * Memory layout of a region (addresses grow to the right):
 *
 *   | guard | stack 0 ...... | guard | stack 1 ...... | guard | ...
 *   ^ base                   ^ base + stride
 *
 * Pages are committed lazily: a task that never goes deep touches only the
 * top page or two of its stack. On Linux 6.13 and later the guards are
 * installed with madvise(MADV_GUARD_INSTALL), which keeps one mapping for
 * the whole region; older kernels need an mprotect per guard, and every
 * guard then splits the mapping, so vm.max_map_count (65530 by default)
 * caps a process near 32,000 stacks. Freed stacks go on a LIFO pool, so a
 * new task reuses the most recently touched one; stacks idle for a while
 * are given back to the kernel (MADV_DONTNEED) in bounded batches.
 *
 * New stacks are made in batches that grow with demand (an eighth of the
 * stacks made so far, up to 1024). Where the kernel lets process_madvise
 * act on the calling process (Linux 6.13), one call installs the guards of
 * a whole batch and another faults in the top page of each stack, which a
 * new task touches at once: on these VMs that is about 40% cheaper than a
 * page fault per task. */
#include "core/core.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#ifdef CORIO_TESTING
#include "core/testing.h"
#endif

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* The guard must be at least the probe interval of -fstack-clash-protection,
 * or a large frame steps over it: GCC probes every 4 KiB on x86-64 but
 * assumes 64 KiB guards on aarch64. Guards are address space only. */
#if defined(__aarch64__)
#define GUARD_SIZE (64 * 1024)
#else
#define GUARD_SIZE (16 * 1024)
#endif
/* How far below a stack a fault still counts as its overflow. */
#define FAR_BELOW (1024 * 1024)
#define STACK_MIN (16 * 1024)
#define STACK_MAX ((size_t)1 << 30)
#define REGION_FIRST 16      /* stacks in a pool's first region */
#define REGION_MAX 65536     /* and at most in any region */
#define TRIM_PERIOD_NS 1000000000LL
#define TRIM_BATCH 4096      /* stacks given back per pass, at most */
#define CARVE_BATCH 1024     /* stacks made at once, at most */

struct region {
    struct region *next;
    char *base;
    size_t len;
    uint32_t n;    /* slots */
    uint32_t used; /* slots carved */
    struct corio__stack slots[];
};

struct corio__stack_pool {
    struct corio__stack_pool *next;
    size_t size;                /* usable bytes per stack */
    size_t stride;              /* size + guard */
    struct corio__stack **hot;  /* LIFO: hot[nhot - 1] was used last */
    size_t nhot;
    size_t cap;
    size_t min_hot;             /* lowest nhot since the last trim pass */
    struct corio__stack *cold;  /* given back to the kernel */
    size_t ncold;
    struct region *regions;     /* newest first; carving from the first */
    size_t carved;
    size_t in_use;
};

struct corio__stack_pools {
    struct corio__stack_pool *list;
    int64_t last_trim;
};

static size_t page_size;
static bool guard_inline;
static pthread_once_t probe_once = PTHREAD_ONCE_INIT;

/* Does MADV_GUARD_INSTALL work here? A kernel before 6.13 refuses it, and
 * an emulator such as qemu-user accepts and ignores it, so after installing
 * one we check that the kernel really refuses to read the page: write(2)
 * from it must fail with EFAULT. */
static void probe(void)
{
    page_size = (size_t)sysconf(_SC_PAGESIZE);
    char *p = mmap(NULL, 2 * page_size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return;
    if (madvise(p, page_size, MADV_GUARD_INSTALL) == 0) {
        int fd[2];
        if (pipe(fd) == 0) {
            guard_inline = write(fd[1], p, 1) < 0 && errno == EFAULT;
            close(fd[0]);
            close(fd[1]);
        }
    }
    munmap(p, 2 * page_size);
    const char *env = getenv("CORIO_STACK_GUARD");
    if (env && strcmp(env, "mprotect") == 0)
        guard_inline = false; /* tests of the fallback */
}

bool corio__stack_guard_inline(void)
{
    pthread_once(&probe_once, probe);
    return guard_inline;
}

size_t corio__stack_round(size_t size)
{
    pthread_once(&probe_once, probe);
    if (size < STACK_MIN)
        size = STACK_MIN;
    if (size > STACK_MAX)
        return 0;
    return (size + page_size - 1) & ~(page_size - 1);
}

int corio__stacks_init(corio_loop *loop)
{
    pthread_once(&probe_once, probe);
    loop->stacks = corio__calloc(1, sizeof *loop->stacks);
    return loop->stacks ? 0 : -ENOMEM;
}

static void region_free(struct region *r)
{
#ifdef CORIO_HAVE_VALGRIND
    for (uint32_t i = 0; i < r->used; i++)
        VALGRIND_STACK_DEREGISTER(r->slots[i].vg_id);
#endif
    munmap(r->base, r->len);
    corio__free(r);
}

void corio__stacks_close(corio_loop *loop)
{
    if (!loop->stacks)
        return;
    struct corio__stack_pool *p = loop->stacks->list;
    while (p) {
        struct corio__stack_pool *next = p->next;
        struct region *r = p->regions;
        while (r) {
            struct region *rn = r->next;
            region_free(r);
            r = rn;
        }
        corio__free(p->hot);
        corio__free(p);
        p = next;
    }
    corio__free(loop->stacks);
    loop->stacks = NULL;
}

static struct corio__stack_pool *pool_for(corio_loop *loop, size_t size)
{
    struct corio__stack_pool *p;
    for (p = loop->stacks->list; p; p = p->next)
        if (p->size == size)
            return p;
    p = corio__calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->size = size;
    p->stride = size + GUARD_SIZE;
    p->next = loop->stacks->list;
    loop->stacks->list = p;
    return p;
}

static struct region *region_new(struct corio__stack_pool *p)
{
    uint32_t n = p->regions ? p->regions->n * 2 : REGION_FIRST;
    if (n > REGION_MAX)
        n = REGION_MAX;
    struct region *r =
        corio__malloc(sizeof *r + (size_t)n * sizeof(struct corio__stack));
    if (!r)
        return NULL;
    r->len = (size_t)n * p->stride;
    r->n = n;
    r->used = 0;
    /* MAP_NORESERVE: only touched pages count against overcommit. A stack
     * must never become a transparent huge page: one fault would commit
     * 2 MiB for a task that needs 4 KiB. */
    r->base = corio__fail_syscall()
                  ? MAP_FAILED
                  : mmap(NULL, r->len, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
                             MAP_STACK,
                         -1, 0);
    if (r->base == MAP_FAILED) {
        corio__free(r);
        errno = ENOMEM;
        return NULL;
    }
    madvise(r->base, r->len, MADV_NOHUGEPAGE);
    r->next = p->regions;
    p->regions = r;
    return r;
}

/* process_madvise on ourselves (through fd, a pidfd of this process), for
 * k ranges of len bytes at first + off, first + stride + off, ...: 0, or
 * -1 if it is not available here. The ranges go to the kernel in small
 * groups: carve() runs on the stack of whichever task is starting the
 * next one, which may be small. */
#define IOV_CHUNK 32
static atomic_bool no_process_madvise;

/* A pidfd of this process for one carve, or -1. Not kept open between
 * carves: a program may close every descriptor it did not open, and a
 * stale number could name another process's pidfd by then. */
static int self_pidfd(void)
{
    if (atomic_load_explicit(&no_process_madvise, memory_order_relaxed))
        return -1;
    int fd = (int)syscall(SYS_pidfd_open, getpid(), 0);
    if (fd < 0)
        atomic_store(&no_process_madvise, true);
    return fd;
}

static int self_madvise(int fd, char *first, size_t stride, size_t k,
                        size_t off, size_t len, int advice)
{
    if (fd < 0 ||
        atomic_load_explicit(&no_process_madvise, memory_order_relaxed))
        return -1;
    struct iovec iov[IOV_CHUNK];
    int rc = 0;
    for (size_t done = 0; done < k && rc == 0;) {
        size_t n = k - done < IOV_CHUNK ? k - done : IOV_CHUNK;
        for (size_t i = 0; i < n; i++) {
            iov[i].iov_base = first + (done + i) * stride + off;
            iov[i].iov_len = len;
        }
        if (syscall(SYS_process_madvise, fd, iov, n, advice, 0) < 0) {
            /* ENOSYS, EINVAL (an older kernel refuses this advice),
             * EPERM: do it one mapping call at a time from now on. */
            if (errno != ENOMEM)
                atomic_store(&no_process_madvise, true);
            rc = -1;
        }
        done += n;
    }
    return rc;
}

/* Make up to `want` stacks from the pool's newest region (making a region
 * first if needed), put all but one in the hot pool, and return that one. */
static struct corio__stack *carve(struct corio__stack_pool *p, size_t want)
{
    struct region *r = p->regions;
    if (!r || r->used == r->n) {
        r = region_new(p);
        if (!r)
            return NULL;
    }
    size_t k = r->n - r->used;
    if (k > want)
        k = want;
    if (k > CARVE_BATCH)
        k = CARVE_BATCH;
    char *first = r->base + (size_t)r->used * p->stride;

    if (corio__fail_syscall()) {
        errno = ENOMEM;
        return NULL;
    }
    /* Guards: a few calls for the whole batch where possible. */
    int pidfd = k > 1 ? self_pidfd() : -1;
    if (!guard_inline ||
        self_madvise(pidfd, first, p->stride, k, 0, GUARD_SIZE,
                     MADV_GUARD_INSTALL) < 0) {
        for (size_t i = 0; i < k; i++) {
            char *g = first + i * p->stride;
            int rc = guard_inline ? madvise(g, GUARD_SIZE, MADV_GUARD_INSTALL)
                                  : mprotect(g, GUARD_SIZE, PROT_NONE);
            if (rc < 0) {
                /* ENOMEM from mprotect: vm.max_map_count is reached. Keep
                 * the stacks whose guards are in. */
                if (i == 0) {
                    if (pidfd >= 0)
                        close(pidfd);
                    errno = ENOMEM;
                    return NULL;
                }
                k = i;
                break;
            }
        }
    }
    /* The top page of each: a new task writes its first frame there. */
    if (k > 1)
        self_madvise(pidfd, first, p->stride, k, p->stride - page_size,
                     page_size, MADV_POPULATE_WRITE);
    if (pidfd >= 0)
        close(pidfd);
    for (size_t i = 0; i < k; i++) {
        struct corio__stack *s = &r->slots[r->used++];
        s->next = NULL;
        s->lo = first + i * p->stride + GUARD_SIZE;
        s->hi = first + (i + 1) * p->stride;
        s->pool = p;
        s->cold = false;
        s->used = false;
#ifdef CORIO_HAVE_VALGRIND
        s->vg_id = VALGRIND_STACK_REGISTER(s->lo, s->hi);
#else
        s->vg_id = 0;
#endif
        if (i + 1 < k)
            p->hot[p->nhot++] = s; /* the last made is used first */
    }
    p->carved += k;
    return &r->slots[r->used - 1];
}

/* A task that ended returned from every frame but the few at the top of
 * its stack (its entry and its last switch), so only those can have left
 * ASan's shadow poisoned. Unpoisoning just the top keeps ASan from writing
 * the shadow of the whole stack, which would commit an eighth of it. */
static inline void unpoison_top(struct corio__stack *s)
{
    size_t n = (size_t)(s->hi - s->lo);
    size_t top = 16 * 1024;
    CORIO_UNPOISON(s->hi - (n < top ? n : top), n < top ? n : top);
    (void)top;
}

struct corio__stack *corio__stack_get(corio_loop *loop, size_t size)
{
    struct corio__stack_pool *p = loop->stacks->list;
    if (!p || p->size != size) {
        p = pool_for(loop, size);
        if (!p)
            return NULL;
    }
    struct corio__stack *s;
    if (p->nhot) {
        s = p->hot[--p->nhot];
    } else if (p->cold) {
        s = p->cold;
        p->cold = s->next;
        p->ncold--;
        s->cold = false;
    } else {
        size_t want = p->carved / 8;
        want = want < 1 ? 1 : want > CARVE_BATCH ? CARVE_BATCH : want;
        /* The hot array must be able to take every stack back, so that
         * corio__stack_put can never fail. */
        if (p->cap < p->carved + want) {
            size_t cap = p->cap ? p->cap * 2 : 64;
            while (cap < p->carved + want)
                cap *= 2;
            struct corio__stack **hot =
                corio__realloc(p->hot, cap * sizeof *hot);
            if (!hot)
                return NULL;
            p->hot = hot;
            p->cap = cap;
        }
        s = carve(p, want);
        if (!s)
            return NULL;
    }
    if (p->nhot < p->min_hot)
        p->min_hot = p->nhot;
    if (s->used)
        unpoison_top(s);
    s->used = true;
    p->in_use++;
    return s;
}

void corio__stack_put(corio_loop *loop, struct corio__stack *s)
{
    (void)loop;
    struct corio__stack_pool *p = s->pool;
    p->in_use--;
    p->hot[p->nhot++] = s;
}

/* Give back the oldest k hot stacks of p. */
static void trim_pool(struct corio__stack_pool *p, size_t k)
{
    if (k > p->nhot)
        k = p->nhot;
    for (size_t i = 0; i < k; i++) {
        struct corio__stack *s = p->hot[i];
        madvise(s->lo, (size_t)(s->hi - s->lo), MADV_DONTNEED);
        s->cold = true;
        s->next = p->cold;
        p->cold = s;
        p->ncold++;
    }
    memmove(p->hot, p->hot + k, (p->nhot - k) * sizeof *p->hot);
    p->nhot -= k;
}

/* Called when the loop is about to block. Once a period, stacks that sat
 * unused in the pool for the whole period are candidates: half of them go
 * back to the kernel, at most TRIM_BATCH, so that a burst of a million
 * tasks does not keep its memory forever and trimming never stalls the
 * loop. */
void corio__stacks_trim(corio_loop *loop, int64_t now)
{
    struct corio__stack_pools *ps = loop->stacks;
    if (now - ps->last_trim < TRIM_PERIOD_NS)
        return;
    ps->last_trim = now;
    for (struct corio__stack_pool *p = ps->list; p; p = p->next) {
        size_t k = p->min_hot / 2;
        trim_pool(p, k < TRIM_BATCH ? k : TRIM_BATCH);
        p->min_hot = p->nhot;
    }
}

#ifdef CORIO_TESTING
void corio__stack_stats(corio_loop *loop, struct corio__stack_stats *st)
{
    memset(st, 0, sizeof *st);
    st->guard_inline = corio__stack_guard_inline();
    for (struct corio__stack_pool *p = loop->stacks->list; p; p = p->next) {
        st->hot += p->nhot;
        st->cold += p->ncold;
        st->in_use += p->in_use;
        st->carved += p->carved;
    }
}

void corio__stack_trim_all(corio_loop *loop)
{
    for (struct corio__stack_pool *p = loop->stacks->list; p; p = p->next)
        trim_pool(p, p->nhot);
}
#endif

/* ---- stack overflow: a fault in the guard below the running task's stack
 * ends the process with a message that names the task ---- */

#define ALTSTACK_SIZE (64 * 1024)

static struct sigaction old_segv;
static struct sigaction old_bus;
static pthread_once_t handler_once = PTHREAD_ONCE_INIT;
static pthread_key_t altstack_key;
static CORIO_TLS bool have_altstack;

/* Append a string or a number to a buffer, async-signal-safely. */
static size_t put_str(char *buf, size_t at, size_t cap, const char *s)
{
    while (*s && at + 1 < cap)
        buf[at++] = *s++;
    return at;
}

static size_t put_u64(char *buf, size_t at, size_t cap, uint64_t v)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n && at + 1 < cap)
        buf[at++] = tmp[--n];
    return at;
}

static void chain(int sig, siginfo_t *si, void *uc)
{
    struct sigaction *old = sig == SIGSEGV ? &old_segv : &old_bus;
    if (old->sa_flags & SA_SIGINFO) {
        old->sa_sigaction(sig, si, uc);
    } else if (old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN) {
        old->sa_handler(sig);
    } else {
        /* Returning re-runs the faulting instruction, which now gets the
         * default action: the process dies with the signal and dumps
         * core, as it would have without corio. A signal sent by kill or
         * raise has no instruction to re-run: send it again. */
        signal(sig, SIG_DFL);
        if (si->si_code <= 0)
            raise(sig);
    }
}

static void on_fault(int sig, siginfo_t *si, void *uc)
{
    corio_loop *loop = corio__tls_loop;
    corio_task *t = loop ? loop->current : NULL;
    char *addr = si->si_addr;

    /* In the guard, or below it: a frame larger than the guard can jump
     * over it (code built without -fstack-clash-protection). */
    if (t && t->stack && addr < t->stack->lo &&
        addr >= t->stack->lo - FAR_BELOW) {
        char msg[256];
        size_t n = 0;
        n = put_str(msg, n, sizeof msg, "corio: stack overflow in task \"");
        if (t->name) {
            n = put_str(msg, n, sizeof msg, t->name);
        } else {
            n = put_str(msg, n, sizeof msg, "Task-");
            n = put_u64(msg, n, sizeof msg, t->id);
        }
        n = put_str(msg, n, sizeof msg, "\" (id ");
        n = put_u64(msg, n, sizeof msg, t->id);
        n = put_str(msg, n, sizeof msg, ", stack ");
        n = put_u64(msg, n, sizeof msg, (uint64_t)(t->stack->hi - t->stack->lo));
        n = put_str(msg, n, sizeof msg,
                    " bytes); give it a larger corio_task_opts.stack_size "
                    "or set CORIO_STACK_SIZE\n");
        ssize_t w = write(STDERR_FILENO, msg, n);
        (void)w;
        signal(sig, SIG_DFL);
        return;
    }
    chain(sig, si, uc);
}

static void free_altstack(void *p)
{
    stack_t ss = {.ss_flags = SS_DISABLE};
    sigaltstack(&ss, NULL);
    munmap(p, ALTSTACK_SIZE);
}

static void install_handler(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &old_segv);
    sigaction(SIGBUS, &sa, &old_bus);
    pthread_key_create(&altstack_key, free_altstack);
}

/* The handler runs on an alternate signal stack, since the task's own
 * stack is exhausted when it runs. Each thread that runs a loop needs one;
 * one the application (or ASan) installed is kept. */
int corio__overflow_init(void)
{
    pthread_once(&handler_once, install_handler);
    if (have_altstack)
        return 0;
    stack_t old;
    if (sigaltstack(NULL, &old) == 0 && !(old.ss_flags & SS_DISABLE)) {
        have_altstack = true;
        return 0;
    }
    void *p = mmap(NULL, ALTSTACK_SIZE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return -ENOMEM;
    stack_t ss = {.ss_sp = p, .ss_size = ALTSTACK_SIZE, .ss_flags = 0};
    if (sigaltstack(&ss, NULL) < 0) {
        int e = errno;
        munmap(p, ALTSTACK_SIZE);
        return -e;
    }
    pthread_setspecific(altstack_key, p);
    have_altstack = true;
    return 0;
}

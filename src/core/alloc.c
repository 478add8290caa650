/* SPDX-License-Identifier: MIT */
/* Allocation seams and the slab allocator. Every allocation in corio goes
 * through corio__malloc and friends so that a test build (CORIO_TESTING)
 * can fail the Nth call and check that each path unwinds cleanly, the
 * technique of SQLite's faultsim and neco's FAIL_CALL. */
#include "core/core.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#ifdef CORIO_TESTING
#include "core/testing.h"

#include <execinfo.h>
#include <unistd.h>

/* CORIO_FAULT_TRACE=1 in the environment: print where each injected fault
 * hits, to find the path that mishandles it. */
static void trace_fault(const char *what)
{
    static int on = -1;
    if (on < 0)
        on = getenv("CORIO_FAULT_TRACE") != NULL;
    if (!on)
        return;
    void *pc[16];
    int n = backtrace(pc, 16);
    ssize_t w = write(STDERR_FILENO, what, strlen(what));
    (void)w;
    backtrace_symbols_fd(pc, n, STDERR_FILENO);
}

/* Countdowns: 0 means off; at 1 the call fails. Thread-local so that
 * helper threads of a test do not consume another thread's countdown. */
static _Thread_local long fail_alloc_in;
static _Thread_local long fail_sys_in;
static _Thread_local long alloc_calls;
static _Thread_local long sys_calls;
/* Blocks corio allocated and has not freed, for the tests' leak check. */
static atomic_long live_blocks;

long corio__alloc_live_blocks(void)
{
    return atomic_load(&live_blocks);
}

static void count(void *p, long d)
{
    if (p)
        atomic_fetch_add_explicit(&live_blocks, d, memory_order_relaxed);
}

void corio__fault_alloc(long nth)
{
    fail_alloc_in = nth;
    alloc_calls = 0;
}

void corio__fault_syscall(long nth)
{
    fail_sys_in = nth;
    sys_calls = 0;
}

long corio__fault_alloc_calls(void)
{
    return alloc_calls;
}

long corio__fault_syscall_calls(void)
{
    return sys_calls;
}

static bool fail_alloc(void)
{
    alloc_calls++;
    if (fail_alloc_in > 0 && --fail_alloc_in == 0) {
        trace_fault("corio: injected allocation failure at\n");
        return true;
    }
    return false;
}

bool corio__fail_syscall(void)
{
    sys_calls++;
    if (fail_sys_in > 0 && --fail_sys_in == 0) {
        trace_fault("corio: injected system call failure at\n");
        return true;
    }
    return false;
}
#else
static inline bool fail_alloc(void)
{
    return false;
}

static inline void count(void *p, long d)
{
    (void)p;
    (void)d;
}

bool corio__fail_syscall(void)
{
    return false;
}
#endif

bool corio__fail_alloc(void)
{
    return fail_alloc();
}

void corio__count_block(void *p, long d)
{
    count(p, d);
}

void *corio__malloc(size_t n)
{
    if (fail_alloc()) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = malloc(n);
    count(p, 1);
    return p;
}

void *corio__calloc(size_t n, size_t size)
{
    if (fail_alloc()) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = calloc(n, size);
    count(p, 1);
    return p;
}

void *corio__realloc(void *p, size_t n)
{
    if (fail_alloc()) {
        errno = ENOMEM;
        return NULL;
    }
    void *q = realloc(p, n);
    if (!p)
        count(q, 1);
    return q;
}

void corio__free(void *p)
{
    count(p, -1);
    free(p);
}

char *corio__strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = corio__malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* ---- slab ---- */

/* Objects per chunk grow with use, from 16 up to this many bytes a chunk,
 * so that a loop with three tasks does not take 64 KiB for them. */
#define SLAB_CHUNK_MAX (256 * 1024)

void corio__slab_init(struct corio__slab *s, size_t size, bool poison)
{
    memset(s, 0, sizeof *s);
    s->size = (size + 15) & ~(size_t)15;
    s->poison = poison;
}

/* Chunks this big or bigger come straight from the kernel, populated in
 * one call: a first touch costs about 1.3 µs a page on our VMs, and
 * MADV_POPULATE_WRITE (Linux 5.14) about 0.9; the pages come zeroed, so
 * objects carved from them need no memset. A million tasks are 57,000
 * pages. Smaller chunks come from malloc. */
#define SLAB_MAP_MIN (64 * 1024)
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* A chunk starts with a 16-byte header: the next chunk, and the chunk's
 * size when it was mapped (0 for malloc's). */
static void *chunk_new(size_t bytes, bool *zeroed)
{
    *zeroed = false;
    if (bytes < SLAB_MAP_MIN)
        return corio__malloc(bytes);
    void *c = corio__fail_alloc()
                  ? MAP_FAILED
                  : mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (c == MAP_FAILED) {
        errno = ENOMEM;
        return NULL;
    }
    corio__count_block(c, 1);
    CORIO_UNPOISON(c, bytes); /* ASan's shadow outlives a munmap */
    (void)madvise(c, bytes, MADV_POPULATE_WRITE); /* else: on first touch */
    ((size_t *)c)[1] = bytes;
    *zeroed = true;
    return c;
}

static void chunk_free(void *c)
{
    size_t mapped = ((size_t *)c)[1];
    if (mapped) {
        corio__count_block(c, -1);
        CORIO_UNPOISON(c, mapped); /* for whatever is mapped there next */
        munmap(c, mapped);
    } else {
        corio__free(c);
    }
}

/* Take a new chunk, bigger as the slab grows. */
static int slab_grow(struct corio__slab *s)
{
    unsigned have = s->nchunks;
    size_t bytes = s->size * 16 << (have < 10 ? have : 10);
    if (bytes > SLAB_CHUNK_MAX)
        bytes = SLAB_CHUNK_MAX > s->size * 4 ? SLAB_CHUNK_MAX : s->size * 4;
    bytes += 16;
    if (bytes >= SLAB_MAP_MIN)
        bytes = (bytes + 4095) & ~(size_t)4095; /* the last page carves too */
    bool zeroed;
    char *c = chunk_new(bytes, &zeroed);
    if (!c)
        return -ENOMEM;
    ((void **)c)[0] = s->chunks;
    if (!zeroed)
        ((size_t *)c)[1] = 0;
    s->chunks = c;
    s->nchunks++;
    s->zeroed = zeroed;
    s->next = c + 16;
    s->end = c + bytes;
    CORIO_POISON(s->next, bytes - 16);
    return 0;
}

void *corio__slab_alloc(struct corio__slab *s)
{
    void *p = s->free;
    if (p) {
        CORIO_UNPOISON(p, s->size);
        s->free = *(void **)p;
    } else {
        if ((!s->next || (size_t)(s->end - s->next) < s->size) &&
            slab_grow(s) < 0)
            return NULL;
        p = s->next;
        s->next += s->size;
        CORIO_UNPOISON(p, s->size);
        /* Fresh memory starts zeroed, so that fields kept across reuse
         * (a handle's generation) start defined. */
        if (!s->zeroed)
            memset(p, 0, s->size);
    }
    s->live++;
    return p;
}

void corio__slab_free(struct corio__slab *s, void *p)
{
    *(void **)p = s->free;
    s->free = p;
    s->live--;
    /* Keep the link word readable; poison the rest so that ASan catches a
     * use after free of tasks and futures. */
    if (s->poison)
        CORIO_POISON((char *)p + sizeof(void *), s->size - sizeof(void *));
}

void corio__slab_destroy(struct corio__slab *s)
{
    void *c = s->chunks;
    while (c) {
        void *next = *(void **)c;
        chunk_free(c);
        c = next;
    }
    memset(s, 0, sizeof *s);
}

/* SPDX-License-Identifier: MIT */
/* One loop per core. Each thread runs corio_run with a main task that
 * publishes its loop and waits for the stop signal, so that closing a
 * corio_multi winds every loop down exactly as corio_run does (cancel
 * what is left, wait for it, free the loop). */
#include "pool/pool.h"

#include "corio/multi.h"
#include "corio/sync.h"

#include <sched.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

struct slot {
    corio_multi *m;
    unsigned index;
    pthread_t thread;
    bool started;        /* thread created (to join) */
    corio_loop *loop;    /* set by the thread, guarded by m->lock */
    corio_event stop;    /* set on the loop's thread by stop_cb */
    /* corio_multi_run: the function every loop runs first. */
    corio_fn fn;
    void *arg;
    int result;          /* fn's result, guarded by m->lock */
    bool fn_done;        /* guarded by m->lock */
};

struct corio_multi {
    unsigned n;
    pthread_mutex_t lock;
    pthread_cond_t cond;  /* a loop came up, or a run function ended */
    unsigned up;          /* loops started (or failed); guarded by lock */
    unsigned failed;      /* loops that could not start; guarded by lock */
    struct slot *slots;
};

static CORIO_TLS int tls_index = -1;

static int loop_main(void *arg)
{
    struct slot *s = arg;
    corio_multi *m = s->m;
    corio_event_init(&s->stop);
    pthread_mutex_lock(&m->lock);
    s->loop = corio_loop_current();
    m->up++;
    pthread_cond_broadcast(&m->cond);
    pthread_mutex_unlock(&m->lock);
    if (s->fn) {
        int rc = s->fn(s->arg);
        pthread_mutex_lock(&m->lock);
        s->result = rc;
        s->fn_done = true;
        pthread_cond_broadcast(&m->cond);
        pthread_mutex_unlock(&m->lock);
    }
    /* Run until corio_multi_close; a cancellation of this task (there is
     * none but ours) ends it as well. */
    while (!corio_event_is_set(&s->stop))
        if (corio_event_wait(&s->stop) == -ECANCELED)
            break;
    return 0;
}

static void *thread_main(void *arg)
{
    struct slot *s = arg;
    corio_multi *m = s->m;
    tls_index = (int)s->index;
    int rc = corio_run(loop_main, s);
    if (rc < 0) {
        /* The loop never started: count it, so nobody waits for it. */
        pthread_mutex_lock(&m->lock);
        if (!s->loop) {
            m->up++;
            m->failed++;
            s->result = rc;
            s->fn_done = true;
            pthread_cond_broadcast(&m->cond);
        }
        pthread_mutex_unlock(&m->lock);
    }
    return NULL;
}

static unsigned cpus(cpu_set_t *set)
{
    if (sched_getaffinity(0, sizeof *set, set) == 0) {
        int n = CPU_COUNT(set);
        if (n > 0)
            return (unsigned)n;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    CPU_ZERO(set);
    return n > 0 ? (unsigned)n : 1;
}

/* The i-th CPU of set, or -1. */
static int nth_cpu(const cpu_set_t *set, unsigned i)
{
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, set) && i-- == 0)
            return c;
    return -1;
}

static void stop_cb(void *arg)
{
    struct slot *s = arg;
    corio_event_set(&s->stop);
}

/* Stop the loops that came up and join every thread; free m. */
static void shutdown_all(corio_multi *m)
{
    for (unsigned i = 0; i < m->n; i++) {
        struct slot *s = &m->slots[i];
        if (!s->started)
            continue;
        pthread_mutex_lock(&m->lock);
        corio_loop *loop = s->loop;
        pthread_mutex_unlock(&m->lock);
        /* The loop stays open until its main task returns, which needs
         * this very callback: so it is safe to queue. */
        if (loop)
            while (corio_loop_call_soon_threadsafe(loop, stop_cb, s) ==
                   -ENOMEM)
                sched_yield();
    }
    for (unsigned i = 0; i < m->n; i++)
        if (m->slots[i].started)
            pthread_join(m->slots[i].thread, NULL);
    pthread_cond_destroy(&m->cond);
    pthread_mutex_destroy(&m->lock);
    corio__free(m->slots);
    corio__free(m);
}

static corio_multi *start(const corio_multi_opts *opts, corio_fn fn,
                          void *arg)
{
    cpu_set_t set;
    unsigned ncpu = cpus(&set);
    unsigned n = opts && opts->loops ? opts->loops : ncpu;
    corio_multi *m = corio__calloc(1, sizeof *m);
    if (!m)
        goto err;
    m->n = n;
    m->slots = corio__calloc(n, sizeof *m->slots);
    if (!m->slots)
        goto err_free;
    if (pthread_mutex_init(&m->lock, NULL) != 0)
        goto err_free_slots;
    if (pthread_cond_init(&m->cond, NULL) != 0)
        goto err_destroy_lock;

    int rc = 0;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    for (unsigned i = 0; i < n; i++) {
        struct slot *s = &m->slots[i];
        s->m = m;
        s->index = i;
        s->fn = fn;
        s->arg = arg;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        int cpu = opts && opts->pin ? nth_cpu(&set, i % ncpu) : -1;
        if (cpu >= 0) {
            cpu_set_t one;
            CPU_ZERO(&one);
            CPU_SET(cpu, &one);
            pthread_attr_setaffinity_np(&attr, sizeof one, &one);
        }
        /* Loop threads block every signal (they inherit this mask), so
         * process-directed signals reach signalfd readers. */
        rc = corio__fail_syscall() ? EAGAIN
                                   : pthread_create(&s->thread, &attr,
                                                    thread_main, s);
        pthread_attr_destroy(&attr);
        if (rc != 0)
            break;
        s->started = true;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        shutdown_all(m);
        errno = rc;
        return NULL;
    }
    /* Wait for every loop to exist, so that corio_multi_loop works at
     * once. */
    pthread_mutex_lock(&m->lock);
    while (m->up < n)
        pthread_cond_wait(&m->cond, &m->lock);
    bool failed = m->failed != 0;
    pthread_mutex_unlock(&m->lock);
    if (failed) {
        shutdown_all(m);
        errno = ENOMEM;
        return NULL;
    }
    return m;

err_destroy_lock:
    pthread_mutex_destroy(&m->lock);
err_free_slots:
    corio__free(m->slots);
err_free:
    corio__free(m);
err:
    errno = ENOMEM;
    return NULL;
}

corio_multi *corio_multi_new(const corio_multi_opts *opts)
{
    return start(opts, NULL, NULL);
}

unsigned corio_multi_size(const corio_multi *m)
{
    return m ? m->n : 0;
}

corio_loop *corio_multi_loop(corio_multi *m, unsigned i)
{
    if (!m || i >= m->n)
        return NULL;
    pthread_mutex_lock(&m->lock);
    corio_loop *loop = m->slots[i].loop;
    pthread_mutex_unlock(&m->lock);
    return loop;
}

int corio_multi_index(void)
{
    return tls_index >= 0 ? tls_index : -EPERM;
}

int corio_multi_close(corio_multi *m)
{
    if (!m)
        return 0;
    for (unsigned i = 0; i < m->n; i++)
        if (m->slots[i].started &&
            pthread_equal(m->slots[i].thread, pthread_self()))
            return -EDEADLK;
    shutdown_all(m);
    return 0;
}

int corio_multi_run(const corio_multi_opts *opts, corio_fn fn, void *arg)
{
    if (!fn)
        return -EINVAL;
    corio_multi *m = start(opts, fn, arg);
    if (!m)
        return -errno;
    int rc = 0;
    pthread_mutex_lock(&m->lock);
    for (unsigned i = 0; i < m->n; i++) {
        while (!m->slots[i].fn_done)
            pthread_cond_wait(&m->cond, &m->lock);
        if (rc == 0 && m->slots[i].result < 0)
            rc = m->slots[i].result;
    }
    pthread_mutex_unlock(&m->lock);
    shutdown_all(m);
    return rc;
}

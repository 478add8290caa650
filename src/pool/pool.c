/* SPDX-License-Identifier: MIT */
/* Thread pools: asyncio.to_thread and run_in_executor. Jobs wait in a FIFO
 * queue; a thread starts when a job finds none idle, up to the pool's
 * limit, so saturation queues work instead of adding threads. A finished
 * job is posted to its task's loop port (port.c), which costs no
 * allocation and cannot fail. Jobs live in the awaiting task's storage:
 * the task therefore never leaves while a thread may still touch its job,
 * and a cancelled task either withdraws its queued job or waits for the
 * running one to end. */
#include "pool/pool.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct corio_pool {
    pthread_mutex_t lock;
    pthread_cond_t cond;      /* idle threads wait here for jobs */
    struct corio__job *head;  /* FIFO of queued jobs; guarded by lock */
    struct corio__job *tail;
    unsigned max;             /* thread limit */
    unsigned nthreads;        /* started; guarded by lock */
    unsigned idle;            /* waiting for a job; guarded by lock */
    size_t stack_size;        /* for new threads; 0: default */
    bool closing;             /* corio_pool_close began; guarded by lock */
    bool detached;            /* the default pool: threads never joined */
    pthread_t *threads;       /* nthreads started threads (owned), to join */
    /* One for the user, one per job that a task has not finished with:
     * a task whose job the closing pool failed may still look at it. */
    atomic_uint refs;
};

static unsigned default_size(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        n = 1;
    n += 4;
    return n > 32 ? 32u : (unsigned)n;
}

static void pool_unref(corio_pool *p)
{
    /* acq_rel: the last one out sees every other user's writes. */
    if (atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) != 1)
        return;
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->lock);
    corio__free(p->threads);
    corio__free(p);
}

static int pool_init(corio_pool *p, unsigned threads, size_t stack_size)
{
    memset(p, 0, sizeof *p);
    p->max = threads ? threads : default_size();
    p->stack_size = stack_size;
    atomic_init(&p->refs, 1);
    if (pthread_mutex_init(&p->lock, NULL) != 0)
        return -ENOMEM;
    if (pthread_cond_init(&p->cond, NULL) != 0) {
        pthread_mutex_destroy(&p->lock);
        return -ENOMEM;
    }
    return 0;
}

corio_pool *corio_pool_new(const corio_pool_opts *opts)
{
    corio_pool *p = corio__malloc(sizeof *p);
    if (!p) {
        errno = ENOMEM;
        return NULL;
    }
    int rc = pool_init(p, opts ? opts->threads : 0,
                       opts ? opts->stack_size : 0);
    if (rc < 0)
        goto err_free;
    p->threads = corio__calloc(p->max, sizeof *p->threads);
    if (!p->threads) {
        rc = -ENOMEM;
        goto err_destroy;
    }
    return p;

err_destroy:
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->lock);
err_free:
    corio__free(p);
    errno = -rc;
    return NULL;
}

/* ---- the default pool: static, started on first use, never closed ---- */

static corio_pool default_pool;
static pthread_once_t default_once = PTHREAD_ONCE_INIT;
static bool default_ok;

static void default_init(void)
{
    unsigned n = 0;
    const char *s = getenv("CORIO_POOL_THREADS");
    if (s && *s) {
        long v = strtol(s, NULL, 10);
        if (v > 0 && v <= 1024)
            n = (unsigned)v;
    }
    default_ok = pool_init(&default_pool, n, 0) == 0;
    default_pool.detached = true;
    /* Never freed: the user's reference is never dropped. */
}

corio_pool *corio__pool_default(void)
{
    pthread_once(&default_once, default_init);
    return default_ok ? &default_pool : NULL;
}

/* ---- threads ---- */

static void unlink_job(corio_pool *p, struct corio__job *j)
{
    if (j->prev)
        j->prev->next = j->next;
    else
        p->head = j->next;
    if (j->next)
        j->next->prev = j->prev;
    else
        p->tail = j->prev;
    j->next = j->prev = NULL;
}

static void *worker(void *arg)
{
    corio_pool *p = arg;

    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->head && !p->closing) {
            p->idle++;
            pthread_cond_wait(&p->cond, &p->lock);
            p->idle--;
        }
        if (!p->head)
            break; /* closing, and nothing left */
        struct corio__job *j = p->head;
        unlink_job(p, j);
        j->state = CORIO__JOB_RUNNING;
        pthread_mutex_unlock(&p->lock);

        j->run(j);

        pthread_mutex_lock(&p->lock);
        j->state = CORIO__JOB_DONE;
        /* The port's lock orders the job's results before the task reads
         * them; after the post the job may be gone. */
        corio__port_post(j->x, &j->post);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* Start a thread (with p->lock held). New threads inherit the caller's
 * signal mask, so block everything around pthread_create: a pool thread
 * must never take a process-directed signal meant for a signalfd. */
static int start_thread(corio_pool *p)
{
    pthread_attr_t attr;
    pthread_t th;
    sigset_t all, old;

    if (corio__fail_syscall())
        return -EAGAIN;
    if (pthread_attr_init(&attr) != 0)
        return -ENOMEM;
    if (p->stack_size)
        pthread_attr_setstacksize(&attr, p->stack_size);
    if (p->detached)
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&th, &attr, worker, p);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (rc != 0)
        return -rc;
    if (p->threads)
        p->threads[p->nthreads] = th;
    p->nthreads++;
    return 0;
}

/* ---- jobs ---- */

static void job_posted(struct corio__post *post)
{
    struct corio__job *j = container_of(post, struct corio__job, post);
    corio__xwait_done(&j->wait);
}

int corio__pool_job(corio_pool *p, struct corio__job *j, int mode)
{
    corio_loop *loop;
    corio_task *self = corio__self(&loop);

    if (!self)
        return -EPERM;
    struct corio__loopx *x = corio__loopx_get(loop);
    if (!x)
        return -errno;
    /* A pending cancellation fails the call before it has any effect. */
    int rc = corio__checkpoint(self);
    if (rc < 0)
        return rc;
    j->next = j->prev = NULL;
    j->post.fn = job_posted;
    j->wait.task = self;
    j->wait.done = false;
    j->x = x;
    j->status = 0;
    j->state = CORIO__JOB_QUEUED;

    pthread_mutex_lock(&p->lock);
    if (p->closing) {
        pthread_mutex_unlock(&p->lock);
        return -ESHUTDOWN;
    }
    j->prev = p->tail;
    if (p->tail)
        p->tail->next = j;
    else
        p->head = j;
    p->tail = j;
    if (p->idle == 0 && p->nthreads < p->max) {
        rc = start_thread(p);
        if (rc < 0 && p->nthreads == 0) {
            /* No thread at all would ever run it. */
            unlink_job(p, j);
            pthread_mutex_unlock(&p->lock);
            return rc;
        }
    } else {
        pthread_cond_signal(&p->cond);
    }
    atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
    pthread_mutex_unlock(&p->lock);

    rc = corio__port_wait(x, &j->wait, false);
    if (rc == 0) {
        pool_unref(p);
        return j->status;
    }

    /* Cancelled (or a deadline) before the job completed. */
    pthread_mutex_lock(&p->lock);
    uint8_t state = j->state;
    if (state == CORIO__JOB_QUEUED)
        unlink_job(p, j);
    pthread_mutex_unlock(&p->lock);
    if (state == CORIO__JOB_QUEUED) {
        pool_unref(p);
        return rc; /* withdrawn: it never runs */
    }
    if (state == CORIO__JOB_RUNNING && j->cancel)
        j->cancel(j);
    /* The thread may still be using the caller's memory, and will post
     * the job: wait for that, whatever else happens. */
    corio__port_wait(x, &j->wait, true);
    pool_unref(p);
    if (mode == CORIO__KEEP && j->status == 0) {
        corio__repend(self, rc);
        return 0;
    }
    return rc;
}

void corio_pool_close(corio_pool *p)
{
    if (!p || p->detached)
        return;
    pthread_mutex_lock(&p->lock);
    p->closing = true;
    /* Queued jobs fail; their tasks learn it from the port. */
    struct corio__job *j;
    while ((j = p->head)) {
        unlink_job(p, j);
        j->status = -ESHUTDOWN;
        j->state = CORIO__JOB_DONE;
        corio__port_post(j->x, &j->post);
    }
    pthread_cond_broadcast(&p->cond);
    unsigned n = p->nthreads;
    pthread_mutex_unlock(&p->lock);
    /* No new thread starts once closing is set, so n is final. */
    for (unsigned i = 0; i < n; i++)
        pthread_join(p->threads[i], NULL);
    pool_unref(p);
}

/* ---- the public calls ---- */

struct run_job {
    struct corio__job job;
    corio_blocking_fn fn;
    void *arg;
    int result;
};

static void run_fn(struct corio__job *j)
{
    struct run_job *r = container_of(j, struct run_job, job);
    r->result = r->fn(r->arg);
}

int corio_pool_run(corio_pool *p, corio_blocking_fn fn, void *arg)
{
    if (!p || !fn)
        return -EINVAL;
    struct run_job r = {.fn = fn, .arg = arg};
    r.job.run = run_fn;
    r.job.cancel = NULL;
    int rc = corio__pool_job(p, &r.job, CORIO__DISCARD);
    return rc < 0 ? rc : r.result;
}

int corio_to_thread(corio_blocking_fn fn, void *arg)
{
    corio_pool *p = corio__pool_default();
    if (!p)
        return -ENOMEM;
    return corio_pool_run(p, fn, arg);
}

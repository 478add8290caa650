/* SPDX-License-Identifier: MIT */
/* Observability: the process's list of loops (which tools/corio-gdb.py
 * walks), task descriptions and dumps with backtraces, SIGQUIT dumps, the
 * debug mode (slow tasks, failures nobody retrieved, what keeps a loop
 * from closing, calls from the wrong thread) and the deterministic test
 * mode's ready-queue shuffle. Nothing here runs on the hot path unless a
 * mode asks for it. */
#include "core/core.h"

#include "corio/debug.h"

#include <execinfo.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MAX_FRAMES 48

/* Every loop of the process, for dumps and for the gdb script, which
 * finds this list by name. */
static pthread_mutex_t loops_lock = PTHREAD_MUTEX_INITIALIZER;
CORIO_HIDDEN struct corio__list corio__all_loops = {&corio__all_loops,
                                                    &corio__all_loops};

/* SIGQUIT dumps: the handler bumps the generation; each loop dumps once
 * per generation at its next iteration. */
static volatile sig_atomic_t dump_gen;
static atomic_bool sigquit_on;
static struct sigaction old_quit;

/* Per-loop debug state: SIGQUIT bookkeeping, and in debug mode the
 * watchdog, a thread that notices a task running too long without
 * suspending and signals the loop's thread (SIGURG) to print where that
 * task is, since the task itself will not come back to say so. */
struct corio__debug {
    corio_loop *loop;
    unsigned seen_gen;       /* SIGQUIT dumps done */
    pthread_t loop_thread;   /* the thread running the loop */
    pthread_t watch_thread;
    bool watching;
    pthread_mutex_t lock;    /* with cond: the watchdog's sleep and stop */
    pthread_cond_t cond;
    bool stop;               /* guarded by lock */
    atomic_llong since;      /* real ns when the running task resumed; 0:
                                no task runs */
    atomic_llong reported;   /* the `since` already reported */
};

static const char *state_name(const corio_task *t)
{
    switch (t->state) {
    case CORIO__TASK_NEW:
        return "new";
    case CORIO__TASK_READY:
        return "ready";
    case CORIO__TASK_RUNNING:
        return "running";
    case CORIO__TASK_PARKED:
        return "suspended";
    default:
        return "done";
    }
}

/* What t waits on, into buf. */
static const char *waits_on(const corio_task *t, char *buf, size_t n)
{
    if (t->state != CORIO__TASK_PARKED)
        return "";
    const void *o = t->wait_obj;
    switch (t->wait_kind) {
    case CORIO__WAIT_SLEEP: {
        double left = (double)(t->wake_at - corio__loop_clock(t->loop)) / 1e9;
        snprintf(buf, n, "sleep (%.3f s left)", left);
        return buf;
    }
    case CORIO__WAIT_JOIN:
        snprintf(buf, n, "join task %llu",
                 (unsigned long long)((const corio_task *)o)->id);
        return buf;
    case CORIO__WAIT_TASKS:
        snprintf(buf, n, "tasks (gather/wait) %p", o);
        return buf;
    case CORIO__WAIT_READ:
    case CORIO__WAIT_WRITE:
        snprintf(buf, n, "%s fd %d",
                 t->wait_kind == CORIO__WAIT_READ ? "read" : "write",
                 ((const struct corio__io *)o)->fd);
        return buf;
    default: {
        static const char *names[] = {
            [CORIO__WAIT_FUTURE] = "future", [CORIO__WAIT_LOCK] = "lock",
            [CORIO__WAIT_EVENT] = "event", [CORIO__WAIT_COND] = "condition",
            [CORIO__WAIT_SEM] = "semaphore",
            [CORIO__WAIT_BARRIER] = "barrier", [CORIO__WAIT_QUEUE] = "queue",
            [CORIO__WAIT_CHAN] = "channel", [CORIO__WAIT_GROUP] = "group",
            [CORIO__WAIT_OTHER] = "other",
            [CORIO__WAIT_CLEANUP] = "cleanup of cancelled tasks",
        };
        const char *k = t->wait_kind < sizeof names / sizeof names[0] &&
                                names[t->wait_kind]
                            ? names[t->wait_kind]
                            : "something";
        if (o)
            snprintf(buf, n, "%s %p", k, o);
        else
            snprintf(buf, n, "%s", k);
        return buf;
    }
    }
}

/* Bytes of t's stack touched so far: from its lowest resident page, found
 * with mincore, so that asking costs no page faults. A small vector, read
 * in steps from the low end: a task asking about itself should not touch
 * a page of its own stack to do so. */
static size_t stack_used(const corio_task *t)
{
    if (!t->stack)
        return 0;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    char *lo = t->stack->lo, *hi = t->stack->hi;
    unsigned char vec[64];
    for (char *p = lo; p < hi;) {
        size_t n = (size_t)(hi - p) / page;
        if (n > sizeof vec)
            n = sizeof vec;
        if (mincore(p, n * page, vec) < 0)
            return 0;
        for (size_t i = 0; i < n; i++)
            if (vec[i] & 1)
                return (size_t)(hi - (p + i * page));
        p += n * page;
    }
    return 0;
}

static CORIO_TLS char info_wait_buf[96];

int corio_task_info_get(corio_task *t, corio_task_info *info)
{
    if (!t || !info)
        return -EINVAL;
    memset(info, 0, sizeof *info);
    info->id = t->id;
    info->parent_id = t->parent_id;
    info->name = corio_task_name(t);
    info->state = state_name(t);
    info->waits_on = waits_on(t, info_wait_buf, sizeof info_wait_buf);
    info->file = t->site_file;
    info->line = t->site_line;
    info->stack_size = t->stack ? (size_t)(t->stack->hi - t->stack->lo) : 0;
    info->stack_used = stack_used(t);
    return 0;
}

static void print_task(FILE *out, corio_task *t, bool with_bt)
{
    char wbuf[96];
    const char *w = waits_on(t, wbuf, sizeof wbuf);
    fprintf(out, "task %llu \"%s\" %s", (unsigned long long)t->id,
            corio_task_name(t), state_name(t));
    if (*w)
        fprintf(out, " on %s", w);
    if (t->cancel_pending)
        fprintf(out, " (cancel pending)");
    fprintf(out, "\n");
    if (t->site_file)
        fprintf(out, "    spawned at %s:%d", t->site_file, t->site_line);
    else
        fprintf(out, "    spawned");
    if (t->parent_id)
        fprintf(out, " by task %llu", (unsigned long long)t->parent_id);
    fprintf(out, "\n");
    if (t->stack)
        fprintf(out, "    stack: %zu of %zu KiB used\n", stack_used(t) / 1024,
                (size_t)(t->stack->hi - t->stack->lo) / 1024);
    if (!with_bt)
        return;
    void *frames[MAX_FRAMES];
    int n = corio__task_backtrace(t, frames, MAX_FRAMES);
    char **sym = n > 0 ? backtrace_symbols(frames, n) : NULL;
    for (int i = 0; i < n; i++)
        fprintf(out, "    #%-2d %s\n", i, sym ? sym[i] : "?");
    free(sym);
}

static int dump_loop(corio_loop *loop, FILE *out)
{
    int n = 0;
    fprintf(out, "corio: loop %p, %zu tasks, %zu callbacks pending%s%s\n",
            (void *)loop, loop->ntasks, loop->nhandles,
            loop->seed ? ", deterministic mode" : "",
            loop->debug ? ", debug mode" : "");
    for (struct corio__list *l = loop->tasks.next; l != &loop->tasks;
         l = l->next) {
        corio_task *t = container_of(l, corio_task, all);
        if (t->state == CORIO__TASK_DONE)
            continue;
        print_task(out, t, true);
        n++;
    }
    fflush(out);
    return n;
}

int corio_dump_tasks(FILE *out)
{
    corio_loop *loop = corio__tls_loop;
    if (!loop)
        return -EPERM;
    return dump_loop(loop, out ? out : stderr);
}

/* ---- SIGQUIT ---- */

static void put(const char *s)
{
    ssize_t n = write(STDERR_FILENO, s, strlen(s));
    (void)n;
}

static void on_quit(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)si;
    (void)uc;
    dump_gen++;
    /* Where this thread is now: shows a task that never suspends. */
    corio_loop *loop = corio__tls_loop;
    put("corio: SIGQUIT\n");
    if (loop && loop->current) {
        put("corio: the running task is \"");
        put(loop->current->name ? loop->current->name : "?");
        put("\"; it is at:\n");
    } else {
        put("corio: this thread is at:\n");
    }
    void *frames[MAX_FRAMES];
    int n = backtrace(frames, MAX_FRAMES);
    backtrace_symbols_fd(frames, n, STDERR_FILENO);
    /* Wake every loop, so that each dumps its tasks. The list is read
     * without its lock: a handler cannot take it, and loops are rarely
     * created or freed while someone sends SIGQUIT. */
    uint64_t one = 1;
    for (struct corio__list *l = corio__all_loops.next;
         l != &corio__all_loops; l = l->next) {
        corio_loop *lp = container_of(l, corio_loop, all_loops);
        ssize_t w = write(lp->wake_fd, &one, sizeof one);
        (void)w;
    }
}

int corio_dump_on_sigquit(bool on)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    if (on == atomic_load(&sigquit_on))
        return 0;
    if (on) {
        sa.sa_sigaction = on_quit;
        sa.sa_flags = SA_SIGINFO | SA_RESTART;
        sigemptyset(&sa.sa_mask);
        if (sigaction(SIGQUIT, &sa, &old_quit) < 0)
            return -errno;
    } else if (sigaction(SIGQUIT, &old_quit, NULL) < 0) {
        return -errno;
    }
    atomic_store(&sigquit_on, on);
    return 0;
}

bool corio__dump_asked(const corio_loop *loop)
{
    return loop->dbg && loop->dbg->seen_gen != (unsigned)dump_gen;
}

void corio__debug_poll(corio_loop *loop)
{
    struct corio__debug *d = loop->dbg;
    if (d && d->seen_gen != (unsigned)dump_gen) {
        d->seen_gen = (unsigned)dump_gen;
        dump_loop(loop, stderr);
    }
}

/* ---- loops: registration, settings from the environment ---- */

static uint64_t env_seed(void)
{
    const char *s = getenv("CORIO_SEED");
    if (!s || !*s)
        return 0;
    if (strcmp(s, "random") == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t v = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15u ^
                     (uint64_t)getpid();
        v = v ? v : 1;
        fprintf(stderr, "corio: deterministic mode, CORIO_SEED=%llu\n",
                (unsigned long long)v);
        return v;
    }
    return strtoull(s, NULL, 0);
}

void corio__debug_loop_new(corio_loop *loop, const corio_loop_opts *opts)
{
    const char *e;
    loop->debug = (opts && opts->debug) ||
                  ((e = getenv("CORIO_DEBUG")) && *e && strcmp(e, "0") != 0);
    double slow = opts && opts->slow_task > 0 ? opts->slow_task : 0;
    if (!slow && (e = getenv("CORIO_SLOW_TASK_MS")) && *e)
        slow = atof(e) / 1000;
    loop->slow_ns = (int64_t)((slow > 0 ? slow : 0.1) * 1e9);
    loop->seed = opts && opts->seed ? opts->seed : env_seed();
    loop->virt = (opts && opts->virtual_time) || loop->seed != 0;
    loop->hooks = (uint8_t)((loop->debug ? CORIO__HOOK_DEBUG : 0) |
                            (loop->seed ? CORIO__HOOK_SEED : 0));
    loop->vnow = corio__clock_ns();
    if ((e = getenv("CORIO_SIGQUIT_DUMP")) && strcmp(e, "1") == 0)
        corio_dump_on_sigquit(true);
    pthread_mutex_lock(&loops_lock);
    corio__list_push_back(&corio__all_loops, &loop->all_loops);
    pthread_mutex_unlock(&loops_lock);
    /* SIGQUIT dumps need per-loop state even without debug mode. */
    loop->dbg = corio__calloc(1, sizeof *loop->dbg);
    if (loop->dbg) {
        loop->dbg->loop = loop;
        loop->dbg->seen_gen = (unsigned)dump_gen;
    }
}

void corio__debug_loop_free(corio_loop *loop)
{
    pthread_mutex_lock(&loops_lock);
    corio__list_remove(&loop->all_loops);
    pthread_mutex_unlock(&loops_lock);
    corio__free(loop->dbg);
    loop->dbg = NULL;
}

/* ---- debug mode ---- */

static pthread_once_t urg_once = PTHREAD_ONCE_INIT;
static struct sigaction old_urg;

static void put_u64(uint64_t v)
{
    char b[24];
    int i = 23;
    b[i] = 0;
    do {
        b[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put(b + i);
}

/* SIGURG from a watchdog: print where the running task is. */
static void on_urg(int sig, siginfo_t *si, void *uc)
{
    corio_loop *loop = corio__tls_loop;
    if (si->si_code != SI_TKILL || si->si_pid != getpid() || !loop ||
        !loop->dbg) {
        if (old_urg.sa_flags & SA_SIGINFO)
            old_urg.sa_sigaction(sig, si, uc);
        else if (old_urg.sa_handler != SIG_DFL &&
                 old_urg.sa_handler != SIG_IGN)
            old_urg.sa_handler(sig);
        return;
    }
    corio_task *t = loop->current;
    int64_t since = atomic_load(&loop->dbg->since);
    put("corio: debug: ");
    if (t) {
        put("task ");
        put_u64(t->id);
        put(" \"");
        put(t->name ? t->name : "");
        put("\"");
    } else {
        put("a callback");
    }
    put(" has run for ");
    put_u64(since ? (uint64_t)(corio__clock_ns() - since) / 1000000 : 0);
    put(" ms without suspending, blocking its loop; it is at:\n");
    void *frames[MAX_FRAMES];
    int n = backtrace(frames, MAX_FRAMES);
    backtrace_symbols_fd(frames, n, STDERR_FILENO);
}

static void install_urg(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_urg;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGURG, &sa, &old_urg);
}

static void *watchdog(void *arg)
{
    struct corio__debug *d = arg;
    int64_t slow = d->loop->slow_ns;
    pthread_mutex_lock(&d->lock);
    while (!d->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t ns = ts.tv_nsec + slow / 2;
        ts.tv_sec += ns / 1000000000;
        ts.tv_nsec = ns % 1000000000;
        pthread_cond_timedwait(&d->cond, &d->lock, &ts);
        if (d->stop)
            break;
        int64_t since = atomic_load(&d->since);
        if (since && corio__clock_ns() - since > slow &&
            atomic_load(&d->reported) != since) {
            atomic_store(&d->reported, since);
            pthread_kill(d->loop_thread, SIGURG);
        }
    }
    pthread_mutex_unlock(&d->lock);
    return NULL;
}

void corio__debug_run_start(corio_loop *loop)
{
    struct corio__debug *d = loop->dbg;
    if (!loop->debug || !d)
        return;
    pthread_once(&urg_once, install_urg);
    d->loop_thread = pthread_self();
    d->stop = false;
    atomic_store(&d->since, 0);
    pthread_mutex_init(&d->lock, NULL);
    pthread_cond_init(&d->cond, NULL);
    d->watching = pthread_create(&d->watch_thread, NULL, watchdog, d) == 0;
    if (!d->watching) {
        pthread_cond_destroy(&d->cond);
        pthread_mutex_destroy(&d->lock);
    }
}

void corio__debug_run_stop(corio_loop *loop)
{
    struct corio__debug *d = loop->dbg;
    if (!d || !d->watching)
        return;
    pthread_mutex_lock(&d->lock);
    d->stop = true;
    pthread_cond_signal(&d->cond);
    pthread_mutex_unlock(&d->lock);
    pthread_join(d->watch_thread, NULL);
    pthread_cond_destroy(&d->cond);
    pthread_mutex_destroy(&d->lock);
    d->watching = false;
}

void corio__debug_switch_in(corio_loop *loop, corio_task *t)
{
    (void)t;
    loop->run_start = corio__clock_ns();
    if (loop->dbg)
        atomic_store(&loop->dbg->since, loop->run_start);
}

void corio__debug_switch_out(corio_loop *loop, corio_task *t)
{
    int64_t ran = corio__clock_ns() - loop->run_start;
    if (loop->dbg)
        atomic_store(&loop->dbg->since, 0);
    if (loop->run_start && ran > loop->slow_ns)
        fprintf(stderr,
                "corio: debug: task %llu \"%s\" ran %.1f ms without "
                "suspending (more than %.0f ms)\n",
                (unsigned long long)t->id, corio_task_name(t), ran / 1e6,
                loop->slow_ns / 1e6);
}

void corio__debug_unobserved(corio_task *t)
{
    char where[256] = "";
    if (t->site_file)
        snprintf(where, sizeof where, ", spawned at %s:%d", t->site_file,
                 t->site_line);
    fprintf(stderr,
            "corio: debug: task %llu \"%s\"%s failed with %d (%s) and "
            "nobody took its result\n",
            (unsigned long long)t->id, t->name ? t->name : "", where,
            t->result, strerror(-t->result));
}

void corio__debug_close_busy(corio_loop *loop)
{
    size_t nt, nh;
    corio_loop_pending(loop, &nt, &nh);
    fprintf(stderr,
            "corio: debug: loop %p cannot close: %zu tasks not freed, %zu "
            "callbacks pending%s\n",
            (void *)loop, nt, nh, loop->running ? ", and it is running" : "");
    for (struct corio__list *l = loop->tasks.next; l != &loop->tasks;
         l = l->next) {
        corio_task *t = container_of(l, corio_task, all);
        print_task(stderr, t, false);
        if (t->state == CORIO__TASK_DONE)
            fprintf(stderr, "    (done; %u reference%s not released)\n",
                    t->refs, t->refs == 1 ? "" : "s");
    }
}

bool corio__debug_thread_ok(corio_loop *loop, const char *fn)
{
    if (!loop->debug || !loop->running ||
        pthread_equal(loop->thread, pthread_self()))
        return true;
    fprintf(stderr,
            "corio: debug: %s called from another thread than its loop's; "
            "use corio_loop_call_soon_threadsafe\n",
            fn);
    void *frames[MAX_FRAMES];
    int n = backtrace(frames, MAX_FRAMES);
    backtrace_symbols_fd(frames, n, STDERR_FILENO);
    return false;
}

/* ---- deterministic mode ---- */

/* The deterministic mode shuffles the ready queue batch by batch, as trio
 * does: the runnables queued when a batch starts run in a random order,
 * and everything queued meanwhile waits for the next batch. A task that
 * yields starts a new batch: what was queued before it during this batch
 * must run before it does, as in FIFO order, and would not if it shared
 * their batch. The random pick is among the first WINDOW of the batch,
 * which keeps each pick O(1) with a million tasks ready. */
#define WINDOW 64

void corio__ready_shuffle(corio_loop *loop)
{
    if (loop->head_chosen)
        return; /* picked already, not yet taken */
    if (loop->batch_left == 0) {
        for (struct corio__runnable *r = loop->ready_head; r; r = r->next) {
            if (r->yielded) {
                r->yielded = false;
                if (loop->batch_left)
                    break; /* it heads the next batch */
            }
            loop->batch_left++;
        }
        if (loop->batch_left == 0)
            return;
    }
    size_t n = loop->batch_left < WINDOW ? loop->batch_left : WINDOW;
    loop->batch_left--;
    loop->head_chosen = true;
    uint64_t x = loop->seed;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    loop->seed = x;
    size_t k = (size_t)(x % n);
    if (k == 0)
        return;
    /* Unlink the k-th runnable and put it first. */
    struct corio__runnable *prev = loop->ready_head;
    for (size_t i = 1; i < k; i++)
        prev = prev->next;
    struct corio__runnable *r = prev->next;
    prev->next = r->next;
    if (!r->next)
        loop->ready_tail = &prev->next;
    r->next = loop->ready_head;
    loop->ready_head = r;
}

/* SPDX-License-Identifier: MIT */
/* The test harness's runner: --list for CTest discovery, one named case
 * per process, or every case each in a child process. */
#define _GNU_SOURCE
#include "harness.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_TIMEOUT 60

static struct th_case *cases;
static struct th_case **cases_tail = &cases;
static uint64_t seed;
static uint64_t rng;
static const char *current;

void th_register(struct th_case *c)
{
    c->next = NULL;
    *cases_tail = c;
    cases_tail = &c->next;
}

void th_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s:%d: %s: ", file, line, current ? current : "?");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n[seed %" PRIu64 "]\n", seed);
    fflush(stderr);
    _exit(1);
}

bool th_under_valgrind(void)
{
    const char *p = getenv("LD_PRELOAD");
    return p && strstr(p, "vgpreload") != NULL;
}

void th_skip(const char *why)
{
    printf("skip %s: %s\n", current ? current : "?", why);
    fflush(stdout);
    _exit(77);
}

uint64_t th_seed(void)
{
    return seed;
}

uint64_t th_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

double th_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

const char *th_errname(int e)
{
    switch (e) {
#define N(x)                                                                 \
    case x:                                                                  \
        return #x
        N(EPERM); N(ENOENT); N(EINTR); N(EIO); N(EBADF); N(EAGAIN);
        N(ENOMEM); N(EACCES); N(EFAULT); N(EBUSY); N(EEXIST); N(EINVAL);
        N(EMFILE); N(ENOSPC); N(EPIPE); N(ERANGE); N(EDEADLK);
        N(ENAMETOOLONG); N(ENOSYS); N(ENOTEMPTY); N(ELOOP); N(ENOMSG);
        N(ENODATA); N(ETIME); N(EPROTO); N(EBADMSG); N(EOVERFLOW);
        N(EMSGSIZE); N(EPROTONOSUPPORT); N(EOPNOTSUPP); N(EADDRINUSE);
        N(EADDRNOTAVAIL); N(ENETUNREACH); N(ECONNABORTED); N(ECONNRESET);
        N(ENOBUFS); N(EISCONN); N(ENOTCONN); N(ESHUTDOWN); N(ETIMEDOUT);
        N(ECONNREFUSED); N(EHOSTUNREACH); N(EALREADY); N(EINPROGRESS);
        N(ECANCELED); N(EOWNERDEAD); N(ENOTRECOVERABLE); N(ECHILD);
        N(ESRCH); N(E2BIG); N(ENOEXEC);
#undef N
    default:
        return "E?";
    }
}

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "timeout: the case ran past its time limit\n";
    ssize_t n = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)n;
    _exit(124);
}

/* The library's count of its own live heap blocks (corio_internal has
 * it); weak, so that the harness links without it. */
extern long corio__alloc_live_blocks(void) __attribute__((weak));

static long heap_in_use(void)
{
    return corio__alloc_live_blocks ? corio__alloc_live_blocks() : 0;
}

static int run_one(struct th_case *c)
{
    const char *env = getenv("CORIO_TEST_SEED");
    seed = env ? strtoull(env, NULL, 0) : 0;
    if (!seed) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        seed = (uint64_t)ts.tv_nsec * 2654435761u ^ (uint64_t)getpid();
        seed = seed ? seed : 1;
    }
    rng = seed;
    current = c->name;
    printf("case %s, seed %" PRIu64 " (CORIO_TEST_SEED=%" PRIu64
           " reproduces it)\n",
           c->name, seed, seed);
    fflush(stdout);
    signal(SIGALRM, on_alarm);
    int limit = c->timeout ? c->timeout : DEFAULT_TIMEOUT;
    const char *scale = getenv("CORIO_TEST_TIMEOUT_SCALE");
    if (scale)
        limit = (int)(limit * atof(scale));
    alarm((unsigned)limit);
    /* The leak check compares the heap before and after; sanitizer
     * builds have LeakSanitizer for this instead. */
    long before = heap_in_use();
    c->fn();
    long after = heap_in_use();
    alarm(0);
    if (!c->no_leak_check && after > before) {
        fprintf(stderr, "%s: %ld heap blocks of corio's left behind\n",
                c->name, after - before);
        return 1;
    }
    printf("ok %s\n", c->name);
    return 0;
}

int th_fork_capture(void (*fn)(void *), void *arg, char *buf, size_t cap)
{
    int p[2];
    if (pipe(p) < 0)
        FAIL("pipe: %s", strerror(errno));
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0)
        FAIL("fork: %s", strerror(errno));
    if (pid == 0) {
        /* Die with the test: a child left spinning would steal the CPU
         * from every later test. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        close(p[0]);
        dup2(p[1], STDERR_FILENO);
        fn(arg);
        _exit(0);
    }
    close(p[1]);
    size_t n = 0;
    for (;;) {
        ssize_t r = read(p[0], buf + n, cap - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
        if (n == cap - 1) {
            char sink[256];
            while (read(p[0], sink, sizeof sink) > 0)
                ;
            break;
        }
    }
    buf[n] = 0;
    close(p[0]);
    int status;
    waitpid(pid, &status, 0);
    return status;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 1 && strcmp(argv[1], "--list") == 0) {
        for (struct th_case *c = cases; c; c = c->next)
            printf("%s %d %s\n", c->name,
                   c->timeout ? c->timeout : DEFAULT_TIMEOUT,
                   c->labels && *c->labels ? c->labels : "-");
        return 0;
    }
    if (argc > 1) {
        for (struct th_case *c = cases; c; c = c->next)
            if (strcmp(c->name, argv[1]) == 0)
                return run_one(c);
        fprintf(stderr, "no case named %s\n", argv[1]);
        return 2;
    }
    /* Every case, each in a child so that one crash is one failure. */
    int failed = 0, total = 0;
    for (struct th_case *c = cases; c; c = c->next) {
        total++;
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0)
            _exit(run_one(c));
        int status;
        waitpid(pid, &status, 0);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 77)
            printf("skip %s\n", c->name);
        else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            printf("FAIL %s\n", c->name);
            failed++;
        }
    }
    printf("%d of %d cases failed\n", failed, total);
    return failed != 0;
}

/* SPDX-License-Identifier: MIT */
/* Files, on both paths: every case runs once with CORIO_FILE_IO=uring
 * (skipped where the kernel has no io_uring) and once with
 * CORIO_FILE_IO=pool. Reads and writes, positions, sync, stat, whole-file
 * helpers, copies, cancellation (an io_uring read is cancelled in the
 * kernel and consumes nothing; a pool read that ran wins), and fault
 * injection without descriptor leaks. */
#include "harness.h"

#include <corio.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/testing.h"

static char dir[256];

/* A fresh directory for the case, removed with its files at the end.
 * Made by mkdtemp: a case that failed leaves its directory behind, and a
 * later process with the same pid once found its files there. */
static void make_dir(void)
{
    snprintf(dir, sizeof dir, "/tmp/corio-file-%d-XXXXXX", (int)getpid());
    ASSERT_NOT_NULL(mkdtemp(dir));
}

static void remove_dir(void)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[512];
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.') {
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            unlink(p);
        }
    if (d)
        closedir(d);
    rmdir(dir);
}

static int count_entries(void)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    while (d && (e = readdir(d)))
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

static const char *path_of(const char *name)
{
    static char p[4][512];
    static int i;
    char *r = p[i++ & 3];
    snprintf(r, 512, "%s/%s", dir, name);
    return r;
}

static bool uring;

/* Run body under corio_run with the path forced. */
static void on_path(bool use_uring, int (*body)(void *))
{
    setenv("CORIO_FILE_IO", use_uring ? "uring" : "pool", 1);
    uring = use_uring;
    make_dir();
    int rc = corio_run(body, NULL);
    remove_dir();
    ASSERT_OK(rc);
}

static int check_backend(void)
{
    const char *b = corio_file_io_backend();
    if (uring && strcmp(b, "io_uring") != 0)
        th_skip("no io_uring here");
    if (!uring)
        ASSERT_STR_EQ(b, "pool");
    return 0;
}

#define FILE_TEST(name)                                                      \
    static int name(void *arg);                                              \
    TEST(name##_uring) { on_path(true, name); }                              \
    TEST(name##_pool) { on_path(false, name); }                              \
    static int name(void *arg)

FILE_TEST(read_write_and_positions)
{
    (void)arg;
    check_backend();
    corio_file *f = corio_file_open(path_of("a"), O_RDWR | O_CREAT, 0600);
    ASSERT_NOT_NULL(f);
    ASSERT_GE(corio_file_fileno(f), 0);
    ASSERT_TRUE(fcntl(corio_file_fileno(f), F_GETFD) & FD_CLOEXEC);
    ASSERT_EQ(corio_file_write(f, "hello world", 11), 11);
    char buf[32] = {0};
    /* The position is past the write: read gives EOF; pread does not
     * move it. */
    ASSERT_EQ(corio_file_read(f, buf, sizeof buf), 0);
    ASSERT_EQ(corio_file_pread(f, buf, 5, 6), 5);
    ASSERT_TRUE(memcmp(buf, "world", 5) == 0);
    ASSERT_EQ(corio_file_pwrite(f, "HELLO", 5, 0), 5);
    ASSERT_EQ(corio_file_write(f, "!", 1), 1);
    ASSERT_EQ(corio_file_pread(f, buf, sizeof buf, 0), 12);
    ASSERT_TRUE(memcmp(buf, "HELLO world!", 12) == 0);
    ASSERT_OK(corio_file_sync(f, false));
    ASSERT_OK(corio_file_sync(f, true));
    struct stat st;
    ASSERT_OK(corio_file_stat(f, &st));
    ASSERT_EQ(st.st_size, 12);
    ASSERT_TRUE(S_ISREG(st.st_mode));
    ASSERT_OK(corio_file_close(f));
    ASSERT_OK(corio_stat(path_of("a"), &st));
    ASSERT_EQ(st.st_size, 12);
    ASSERT_ERR(corio_file_pread(NULL, buf, 1, 0), -EINVAL);
    ASSERT_ERR(corio_file_pread(f = NULL, buf, 1, -1), -EINVAL);
    return 0;
}

FILE_TEST(open_errors_are_reported)
{
    (void)arg;
    check_backend();
    ASSERT_NULL(corio_file_open(path_of("missing"), O_RDONLY, 0));
    ASSERT_EQ(errno, ENOENT);
    struct stat st;
    ASSERT_ERR(corio_stat(path_of("missing"), &st), -ENOENT);
    corio_file *f = corio_file_open(path_of("ro"), O_WRONLY | O_CREAT, 0600);
    corio_file_close(f);
    f = corio_file_open(path_of("ro"), O_RDONLY, 0);
    ASSERT_ERR(corio_file_write(f, "x", 1), -EBADF);
    ASSERT_OK(corio_file_close(f));
    return 0;
}

FILE_TEST(read_file_reads_whole_files)
{
    (void)arg;
    check_backend();
    enum { N = 300000 };
    char *data = malloc(N);
    for (int i = 0; i < N; i++)
        data[i] = (char)(i * 7);
    ASSERT_OK(corio_write_file_atomic(path_of("big"), data, N, 0600));
    void *buf;
    size_t len;
    ASSERT_OK(corio_read_file(path_of("big"), &buf, &len));
    ASSERT_EQ(len, N);
    ASSERT_TRUE(memcmp(buf, data, N) == 0);
    free(buf);
    free(data);
    /* /proc files report size 0 and still have contents. */
    ASSERT_OK(corio_read_file("/proc/self/status", &buf, &len));
    ASSERT_GT(len, 0);
    ASSERT_TRUE(strstr(buf, "Name:") != NULL);
    free(buf);
    ASSERT_ERR(corio_read_file(path_of("missing"), &buf, &len), -ENOENT);
    ASSERT_NULL(buf);
    return 0;
}

FILE_TEST(write_file_atomic_replaces_and_leaves_no_temp_file)
{
    (void)arg;
    check_backend();
    ASSERT_OK(corio_write_file_atomic(path_of("cfg"), "one", 3, 0640));
    ASSERT_OK(corio_write_file_atomic(path_of("cfg"), "two!", 4, 0640));
    void *buf;
    size_t len;
    ASSERT_OK(corio_read_file(path_of("cfg"), &buf, &len));
    ASSERT_EQ(len, 4);
    ASSERT_STR_EQ(buf, "two!");
    free(buf);
    ASSERT_EQ(count_entries(), 1);
    struct stat st;
    ASSERT_OK(corio_stat(path_of("cfg"), &st));
    ASSERT_EQ(st.st_mode & 0777, 0640);
    /* A failure leaves the target untouched and no temporary file. */
    ASSERT_ERR(corio_write_file_atomic(path_of("nodir/cfg"), "x", 1, 0600),
               -ENOENT);
    ASSERT_EQ(count_entries(), 1);
    return 0;
}

static int cancelled_write(void *arg)
{
    (void)arg;
    static char big[1 << 20];
    corio_cancel(corio_current());
    return corio_write_file_atomic(path_of("cfg"), big, sizeof big, 0600);
}

FILE_TEST(write_file_atomic_cancelled_changes_nothing)
{
    (void)arg;
    check_backend();
    ASSERT_OK(corio_write_file_atomic(path_of("cfg"), "old", 3, 0600));
    corio_task *t = corio_spawn(cancelled_write, NULL);
    ASSERT_ERR(corio_join(t), -ECANCELED);
    void *buf;
    size_t len;
    ASSERT_OK(corio_read_file(path_of("cfg"), &buf, &len));
    ASSERT_STR_EQ(buf, "old");
    free(buf);
    ASSERT_EQ(count_entries(), 1);
    return 0;
}

FILE_TEST(copy_fd_copies_between_descriptors)
{
    (void)arg;
    check_backend();
    enum { N = 100000 };
    char *data = malloc(N);
    for (int i = 0; i < N; i++)
        data[i] = (char)i;
    ASSERT_OK(corio_write_file_atomic(path_of("src"), data, N, 0600));
    int in = open(path_of("src"), O_RDONLY | O_CLOEXEC);
    int out = open(path_of("dst"), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    ASSERT_EQ(corio_copy_fd(out, in, SIZE_MAX), N);
    ASSERT_EQ(corio_copy_fd(out, in, SIZE_MAX), 0); /* at EOF */
    close(out);
    /* To a pipe (sendfile or splice), a bounded length. */
    int p[2];
    ASSERT_OK(pipe2(p, O_CLOEXEC));
    lseek(in, 0, SEEK_SET);
    ASSERT_EQ(corio_copy_fd(p[1], in, 1000), 1000);
    char buf[1000];
    ASSERT_EQ(read(p[0], buf, sizeof buf), 1000);
    ASSERT_TRUE(memcmp(buf, data, 1000) == 0);
    close(p[0]);
    close(p[1]);
    close(in);
    void *copy;
    size_t len;
    ASSERT_OK(corio_read_file(path_of("dst"), &copy, &len));
    ASSERT_EQ(len, N);
    ASSERT_TRUE(memcmp(copy, data, N) == 0);
    free(copy);
    free(data);
    ASSERT_ERR(corio_copy_fd(-1, 0, 1), -EBADF);
    return 0;
}

/* ---- cancellation ---- */

struct pipe_read {
    corio_file *f;
    char buf[16];
    ssize_t n;
};

static int read_pipe(void *arg)
{
    struct pipe_read *r = arg;
    r->n = corio_file_read(r->f, r->buf, sizeof r->buf);
    int again = corio_yield(); /* a re-pended cancellation shows here */
    return again < 0 ? again : 0;
}

static void *write_later(void *arg)
{
    struct timespec ts = {0, 30 * 1000 * 1000};
    nanosleep(&ts, NULL);
    ssize_t n = write(*(int *)arg, "late", 4);
    (void)n;
    return NULL;
}

/* Whether a thread of this process other than the caller waits in a
 * system call on descriptor fd (its /proc "syscall" file reads "nr arg0
 * ..."): the pool thread has taken the read and blocks in it. -1 where
 * /proc does not say. */
static int thread_blocked_on(int fd)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return -1;
    int found = -1;
    struct dirent *e;
    while (found != 1 && (e = readdir(d))) {
        if (e->d_name[0] == '.' || atoi(e->d_name) == (int)gettid())
            continue;
        char path[300], line[256];
        snprintf(path, sizeof path, "/proc/self/task/%s/syscall", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        long nr;
        unsigned long a0;
        if (fgets(line, sizeof line, f)) {
            found = 0;
            if (sscanf(line, "%ld 0x%lx", &nr, &a0) == 2 && nr >= 0 &&
                a0 == (unsigned long)fd)
                found = 1;
        }
        fclose(f);
    }
    closedir(d);
    return found;
}

FILE_TEST(cancelling_a_read_follows_the_path_rule)
{
    (void)arg;
    check_backend();
    int p[2];
    ASSERT_OK(pipe2(p, O_CLOEXEC));
    char name[64];
    snprintf(name, sizeof name, "/proc/self/fd/%d", p[0]);
    struct pipe_read r = {.f = corio_file_open(name, O_RDONLY, 0)};
    ASSERT_NOT_NULL(r.f);
    memset(r.buf, 'x', sizeof r.buf);
    corio_task *t = corio_spawn(read_pipe, &r);
    ASSERT_OK(corio_sleep(0.02)); /* the read is in the kernel now */
    if (!uring) {
        /* On the pool: until its thread has taken the read, which a
         * loaded machine may start late (a read still queued would be
         * withdrawn instead). */
        double until = th_now() + 10;
        int b;
        while ((b = thread_blocked_on(corio_file_fileno(r.f))) == 0 &&
               th_now() < until)
            ASSERT_OK(corio_sleep(0.001));
        ASSERT_NE(b, 0);
    }
    pthread_t th;
    if (!uring)
        pthread_create(&th, NULL, write_later, &p[1]);
    corio_cancel(t);
    int rc = corio_join(t);
    if (uring) {
        /* Cancelled in the kernel: nothing was read, the buffer was not
         * touched, and the data written next is still in the pipe. */
        ASSERT_ERR(r.n, -ECANCELED);
        ASSERT_OK(rc);
        ASSERT_EQ(r.buf[0], 'x');
        ASSERT_EQ(write(p[1], "data", 4), 4);
        char b[8];
        ASSERT_EQ(read(p[0], b, sizeof b), 4);
    } else {
        /* A pool read cannot be stopped: it ran, its result wins, and
         * the cancellation comes at the next suspension. */
        pthread_join(th, NULL);
        ASSERT_EQ(r.n, 4);
        ASSERT_TRUE(memcmp(r.buf, "late", 4) == 0);
        ASSERT_ERR(rc, -ECANCELED);
    }
    corio_file_close(r.f);
    close(p[0]);
    close(p[1]);
    return 0;
}

FILE_TEST(a_deadline_fails_file_calls_with_etimedout)
{
    (void)arg;
    check_backend();
    corio_scope s;
    corio_scope_enter(&s, 0);
    char buf[4];
    ASSERT_NULL(corio_file_open(path_of("x"), O_RDWR | O_CREAT, 0600));
    ASSERT_EQ(errno, ETIMEDOUT);
    corio_scope_exit(&s);
    ASSERT_EQ(count_entries(), 0); /* nothing happened */
    (void)buf;
    return 0;
}

static atomic_int gate;

static int hold_thread(void *arg)
{
    (void)arg;
    while (!atomic_load(&gate)) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    return 0;
}

static int open_task(void *arg)
{
    (void)arg;
    corio_file *f = corio_file_open(path_of("queued"), O_RDWR | O_CREAT,
                                    0600);
    return f ? corio_file_close(f) : -errno;
}

static int hold_task(void *arg)
{
    (void)arg;
    return corio_to_thread(hold_thread, NULL);
}

static int queued_main(void *arg)
{
    (void)arg;
    check_backend();
    corio_task *holder = corio_spawn(hold_task, NULL);
    ASSERT_OK(corio_sleep(0.01)); /* it holds the only pool thread */
    corio_task *t = corio_spawn(open_task, NULL);
    ASSERT_OK(corio_sleep(0.01)); /* the open waits in the queue */
    corio_cancel(t);
    ASSERT_ERR(corio_join(t), -ECANCELED);
    atomic_store(&gate, 1);
    ASSERT_OK(corio_join(holder));
    ASSERT_EQ(count_entries(), 0); /* the open never ran */
    return 0;
}

TEST(pool_a_queued_operation_is_withdrawn_when_cancelled)
{
    setenv("CORIO_POOL_THREADS", "1", 1);
    on_path(false, queued_main);
}

FILE_TEST(failures_leak_no_descriptor)
{
    (void)arg;
    check_backend();
    struct stat st;
    ASSERT_OK(corio_stat(dir, &st)); /* the loop's port exists now */
    int before = count_fds();
    for (long n = 1;; n++) {
        corio__fault_alloc(n);
        corio_file *f = corio_file_open(path_of("f"), O_RDWR | O_CREAT, 0600);
        corio__fault_alloc(0);
        if (f) {
            ASSERT_OK(corio_file_close(f));
            break;
        }
        ASSERT_EQ(errno, ENOMEM);
        ASSERT_EQ(count_fds(), before);
        ASSERT_LT(n, 20);
    }
    ASSERT_EQ(count_fds(), before);
    void *buf;
    size_t len;
    for (long n = 1;; n++) {
        corio__fault_alloc(n);
        int rc = corio_write_file_atomic(path_of("g"), "abc", 3, 0600);
        corio__fault_alloc(0);
        if (rc == 0)
            break;
        ASSERT_ERR(rc, -ENOMEM);
        ASSERT_EQ(count_fds(), before);
        ASSERT_LT(n, 40);
    }
    ASSERT_OK(corio_read_file(path_of("g"), &buf, &len));
    free(buf);
    ASSERT_EQ(count_entries(), 2);
    ASSERT_EQ(count_fds(), before);
    return 0;
}

/* Reads served from the page cache (preadv2 RWF_NOWAIT) return the same
 * bytes and move the position as the usual way does, deliver a pending
 * cancellation, and a task reading a cached file in a loop still lets the
 * others run. */
static atomic_long ticks;

static int ticker(void *arg)
{
    (void)arg;
    for (;;) {
        atomic_fetch_add(&ticks, 1);
        int rc = corio_yield();
        if (rc < 0)
            return rc;
    }
}

FILE_TEST(cached_reads_are_exact_fair_and_cancellable)
{
    (void)arg;
    check_backend();
    enum { BLOCK = 4096, N = 256 };
    static unsigned char data[BLOCK * N], got[BLOCK * N];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (unsigned char)(i * 7 + i / 4096);
    ASSERT_OK(corio_write_file_atomic(path_of("c"), data, sizeof data, 0600));
    corio_file *f = corio_file_open(path_of("c"), O_RDONLY, 0);
    ASSERT_NOT_NULL(f);
    unsigned char warm[BLOCK]; /* now in the page cache */
    for (int i = 0; i < N; i++)
        ASSERT_EQ(corio_file_pread(f, warm, BLOCK, (int64_t)i * BLOCK), BLOCK);

    atomic_store(&ticks, 0);
    corio_task *t = corio_spawn(ticker, NULL);
    ASSERT_OK(corio_yield());
    long before = atomic_load(&ticks);
    size_t off = 0;
    ssize_t n;
    while ((n = corio_file_read(f, got + off, BLOCK)) > 0)
        off += (size_t)n;
    ASSERT_EQ(n, 0);
    ASSERT_EQ(off, sizeof data);
    ASSERT_TRUE(memcmp(got, data, sizeof data) == 0);
    /* The ticker ran while the reads went on: once per FAST_RUN (16)
     * reads, or at all where CORIO_SEED shuffles the ready queue. */
    if (getenv("CORIO_SEED"))
        ASSERT_GT(atomic_load(&ticks) - before, 0);
    else
        ASSERT_GE(atomic_load(&ticks) - before, N / 16);
    corio_cancel(t);
    ASSERT_ERR(corio_join(t), -ECANCELED);

    /* A pending cancellation is delivered, and nothing is read. */
    corio_cancel(corio_current());
    ASSERT_ERR(corio_file_pread(f, got, BLOCK, 0), -ECANCELED);
    ASSERT_EQ(corio_file_pread(f, got, BLOCK, BLOCK), BLOCK);
    ASSERT_TRUE(memcmp(got, data + BLOCK, BLOCK) == 0);
    ASSERT_OK(corio_file_close(f));
    return 0;
}

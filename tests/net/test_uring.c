/* SPDX-License-Identifier: MIT */
/* The io_uring backend: how a loop's backend is chosen (option,
 * CORIO_BACKEND, fallback to epoll where io_uring is forbidden), and what
 * is its own: requests cancelled in the kernel, deadlines on them, no
 * data lost when a cancellation races with arriving data, accepts ahead
 * of a server, half-close and hang-up, closing a socket a task waits on,
 * and files through the loop's ring. The rest of the suite runs on this
 * backend too (tools/test-all.sh, stage uring). Cases that need io_uring
 * skip where the kernel has none. */
#include "helpers.h"

#include "core/testing.h"

#include <linux/filter.h>
#include <linux/io_uring.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

/* Whether the kernel gives this process an io_uring with what corio needs
 * (Linux 5.19: IORING_SETUP_COOP_TASKRUN), asked without corio. */
static bool kernel_has_uring(void)
{
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    p.flags = IORING_SETUP_COOP_TASKRUN;
    int fd = (int)syscall(__NR_io_uring_setup, 4, &p);
    if (fd < 0)
        return false;
    close(fd);
    return true;
}

static void need_uring(void)
{
    if (!kernel_has_uring())
        th_skip("no io_uring in this kernel (or it is forbidden)");
}

/* Run fn as the main task of a loop on the io_uring backend; the loop
 * must close cleanly and leave no descriptor behind. */
static void run_uring(corio_fn fn, void *arg)
{
    need_uring();
    int fds = th_count_fds();
    corio_loop_opts o = {.backend = CORIO_BACKEND_IO_URING};
    corio_loop *loop = corio_loop_new(&o);
    ASSERT_NOT_NULL(loop);
    ASSERT_STR_EQ(corio_loop_backend(loop), "io_uring");
    corio_task *t = corio_loop_spawn(loop, fn, arg, NULL);
    ASSERT_NOT_NULL(t);
    ASSERT_OK(corio_loop_run_until_complete(loop, t));
    corio_task_unref(t);
    ASSERT_OK(corio_loop_close(loop));
    ASSERT_EQ(th_count_fds(), fds);
}

/* Whether the kernel takes IORING_SETUP_DEFER_TASKRUN (Linux 6.1). */
static bool kernel_has_defer_taskrun(void)
{
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
    int fd = (int)syscall(__NR_io_uring_setup, 4, &p);
    if (fd < 0)
        return false;
    close(fd);
    return true;
}

/* ---- choosing the backend ---- */

static const char *backend_of(corio_backend b)
{
    corio_loop_opts o = {.backend = b};
    corio_loop *loop = corio_loop_new(&o);
    ASSERT_NOT_NULL(loop);
    static char name[16];
    snprintf(name, sizeof name, "%s", corio_loop_backend(loop));
    ASSERT_OK(corio_loop_close(loop));
    return name;
}

static int names_running_loop(void *arg)
{
    ASSERT_STR_EQ(corio_loop_backend(NULL), (const char *)arg);
    return 0;
}

TEST(backend_option_chooses_the_backend)
{
    const char *uring = kernel_has_uring() ? "io_uring" : "epoll";
    ASSERT_STR_EQ(backend_of(CORIO_BACKEND_EPOLL), "epoll");
    ASSERT_STR_EQ(backend_of(CORIO_BACKEND_IO_URING), uring);
    /* The option wins over the environment. */
    setenv("CORIO_BACKEND", "epoll", 1);
    ASSERT_STR_EQ(backend_of(CORIO_BACKEND_IO_URING), uring);
    setenv("CORIO_BACKEND", "io_uring", 1);
    ASSERT_STR_EQ(backend_of(CORIO_BACKEND_EPOLL), "epoll");
    /* Outside a loop there is no running loop to name. */
    ASSERT_NULL(corio_loop_backend(NULL));
    corio_loop_opts o = {.backend = CORIO_BACKEND_IO_URING};
    corio_loop *loop = corio_loop_new(&o);
    corio_task *t = corio_loop_spawn(loop, names_running_loop,
                                     (void *)uring, NULL);
    ASSERT_OK(corio_loop_run_until_complete(loop, t));
    corio_task_unref(t);
    ASSERT_OK(corio_loop_close(loop));
}

TEST(environment_chooses_the_default_backend)
{
    /* In CI's uring stage CORIO_BACKEND=io_uring is set for the whole
     * suite: on a kernel that has io_uring, a silent fall back to epoll
     * would test epoll twice, so it fails here, loudly. */
    const char *env = getenv("CORIO_BACKEND");
    if (env && strcmp(env, "io_uring") == 0 && kernel_has_uring())
        ASSERT_STR_EQ(backend_of(CORIO_BACKEND_DEFAULT), "io_uring");
    setenv("CORIO_BACKEND", "epoll", 1);
    ASSERT_STR_EQ(backend_of(CORIO_BACKEND_DEFAULT), "epoll");
    setenv("CORIO_BACKEND", "io_uring", 1);
    ASSERT_STR_EQ(backend_of(CORIO_BACKEND_DEFAULT),
                  kernel_has_uring() ? "io_uring" : "epoll");
}

/* Forbid io_uring_setup in this process with EPERM, as container
 * runtimes' seccomp profiles (and kernel.io_uring_disabled) do. */
static void forbid_io_uring(void)
{
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {.len = sizeof f / sizeof f[0], .filter = f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0) {
        fprintf(stderr, "seccomp: %s\n", strerror(errno));
        exit(3);
    }
}

static int echo_once(void *arg)
{
    (void)arg;
    corio_sock *c, *s;
    tcp_pair(&c, &s);
    ASSERT_EQ(corio_sock_send(c, "ping", 4), 4);
    char buf[8];
    ASSERT_EQ(corio_sock_recv(s, buf, sizeof buf), 4);
    ASSERT_OK(corio_sock_close(c));
    ASSERT_OK(corio_sock_close(s));
    return 0;
}

static void forbidden_child(void *arg)
{
    (void)arg;
    forbid_io_uring();
    setenv("CORIO_BACKEND", "io_uring", 1);
    corio_loop_opts o = {.backend = CORIO_BACKEND_IO_URING};
    corio_loop *loop = corio_loop_new(&o);
    if (!loop)
        exit(4);
    if (strcmp(corio_loop_backend(loop), "epoll") != 0)
        exit(5);
    corio_task *t = corio_loop_spawn(loop, echo_once, NULL, NULL);
    if (corio_loop_run_until_complete(loop, t) != 0)
        exit(6);
    corio_task_unref(t);
    exit(corio_loop_close(loop) == 0 ? 0 : 7);
}

TEST(falls_back_to_epoll_where_io_uring_is_forbidden)
{
    if (TH_ASAN)
        th_skip("seccomp filters and ASan's own system calls do not mix");
    char err[512];
    int st = th_fork_capture(forbidden_child, NULL, err, sizeof err);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        FAIL("child: status %#x: %s", st, err);
}

/* ---- requests cancelled in the kernel ---- */

static corio_sock *pa, *pb; /* a connected pair */

static int recv_one(void *arg)
{
    char *buf = arg;
    return (int)corio_sock_recv(pb, buf, 16);
}

static int recv_cancelled(void *arg)
{
    (void)arg;
    tcp_pair(&pa, &pb);
    char buf[16] = "";
    corio_task *t = corio_spawn(recv_one, buf);
    ASSERT_OK(corio_sleep(0.01)); /* its request is in the kernel now */
    corio_cancel(t);
    ASSERT_ERR(corio_join(t), -ECANCELED);
    /* The cancelled request took nothing: what comes next is read. */
    ASSERT_EQ(corio_sock_send(pa, "after", 5), 5);
    char got[16] = "";
    ASSERT_EQ(corio_sock_recv(pb, got, sizeof got), 5);
    ASSERT_EQ(memcmp(got, "after", 5), 0);
    ASSERT_STR_EQ(buf, ""); /* and nothing wrote into the old buffer */
    corio_sock_close(pa);
    corio_sock_close(pb);
    return 0;
}

TEST(recv_is_cancelled_in_the_kernel)
{
    run_uring(recv_cancelled, NULL);
}

static int recv_deadline(void *arg)
{
    (void)arg;
    tcp_pair(&pa, &pb);
    char buf[16];
    double t0 = corio_time();
    corio_scope sc;
    ASSERT_OK(corio_scope_enter(&sc, 0.05));
    ASSERT_ERR(corio_sock_recv(pb, buf, sizeof buf), -ETIMEDOUT);
    corio_scope_exit(&sc);
    ASSERT_GE(corio_time() - t0, 0.05 - 1e-9); /* virtual time is exact */
    ASSERT_LT(corio_time() - t0, 2.0);
    /* The socket works on after the deadline. */
    ASSERT_EQ(corio_sock_send(pa, "x", 1), 1);
    ASSERT_EQ(corio_sock_recv(pb, buf, sizeof buf), 1);
    corio_sock_close(pa);
    corio_sock_close(pb);
    return 0;
}

TEST(recv_deadline_cancels_the_request)
{
    run_uring(recv_deadline, NULL);
}

static int accept_one(void *arg)
{
    corio_sock *s = corio_sock_accept(arg);
    if (!s)
        return -errno;
    corio_sock_close(s);
    return 0;
}

static int accept_cancelled(void *arg)
{
    (void)arg;
    int port;
    corio_sock *l = listen_lo(false, &port);
    corio_task *t = corio_spawn(accept_one, l);
    ASSERT_OK(corio_sleep(0.01));
    corio_cancel(t);
    ASSERT_ERR(corio_join(t), -ECANCELED);
    /* The connection that comes next waits in the backlog for the next
     * accept: the cancelled request took nothing. */
    corio_sock *c = corio_tcp_connect("127.0.0.1", port, NULL);
    ASSERT_NOT_NULL(c);
    corio_sock *s = corio_sock_accept(l);
    ASSERT_NOT_NULL(s);
    corio_sock_close(s);
    corio_sock_close(c);
    corio_sock_close(l);
    return 0;
}

TEST(accept_is_cancelled_in_the_kernel)
{
    run_uring(accept_cancelled, NULL);
}

static struct sockaddr_in cto;

static int connect_one(void *arg)
{
    corio_sock *s = arg;
    return corio_sock_connect(s, (struct sockaddr *)&cto, sizeof cto);
}

static int connect_cancelled(void *arg)
{
    (void)arg;
    /* A listener whose backlog is full and who never accepts: the
     * kernel drops further SYNs, so a connect stays in progress. */
    corio_listen_opts lo = {.backlog = 1};
    corio_sock *l = corio_tcp_listen("127.0.0.1", 0, &lo);
    ASSERT_NOT_NULL(l);
    struct sockaddr_storage ss;
    ASSERT_OK(corio_sock_local_addr(l, &ss, NULL));
    cto = *(struct sockaddr_in *)&ss;
    corio_sock *fill[4];
    for (int i = 0; i < 4; i++) {
        fill[i] = corio_sock_new(AF_INET, SOCK_STREAM, 0);
        /* Some of these complete, the last ones hang: do not wait. */
        connect(corio_sock_fileno(fill[i]), (struct sockaddr *)&cto,
                sizeof cto);
    }
    ASSERT_OK(corio_sleep(0.05));
    corio_sock *s = corio_sock_new(AF_INET, SOCK_STREAM, 0);
    ASSERT_NOT_NULL(s);
    corio_task *t = corio_spawn(connect_one, s);
    ASSERT_OK(corio_sleep(0.05));
    ASSERT_FALSE(corio_task_done(t));
    corio_cancel(t);
    ASSERT_ERR(corio_join(t), -ECANCELED);
    ASSERT_OK(corio_sock_close(s));
    for (int i = 0; i < 4; i++)
        corio_sock_close(fill[i]);
    corio_sock_close(l);
    return 0;
}

TEST(connect_is_cancelled)
{
    run_uring(connect_cancelled, NULL);
}

/* ---- no data lost when a cancellation races with data ---- */

#define RACE_BYTES (1u << 20)

static size_t race_got;
static bool race_bad;
static corio_task *race_reader_task;

static int race_writer(void *arg)
{
    (void)arg;
    unsigned char buf[512];
    for (size_t off = 0; off < RACE_BYTES;) {
        size_t n = 1 + th_rand() % sizeof buf;
        if (n > RACE_BYTES - off)
            n = RACE_BYTES - off;
        for (size_t i = 0; i < n; i++)
            buf[i] = pattern(7, off + i);
        ASSERT_EQ(corio_sock_send(pa, buf, n), (ssize_t)n);
        off += n;
        if (th_rand() % 4 == 0)
            corio_yield();
    }
    ASSERT_OK(corio_sock_shutdown(pa, SHUT_WR));
    return 0;
}

/* Reads with a tiny deadline or under cancellation; every byte a read
 * returned must be the next byte of the stream. */
static int race_reader(void *arg)
{
    (void)arg;
    unsigned char buf[700];
    for (;;) {
        corio_scope sc;
        bool scoped = th_rand() % 2;
        if (scoped)
            corio_scope_enter(&sc, (double)(th_rand() % 50) * 1e-6);
        ssize_t n = corio_sock_recv(pb, buf, 1 + th_rand() % sizeof buf);
        if (scoped)
            corio_scope_exit(&sc);
        if (n == -ECANCELED || n == -ETIMEDOUT)
            continue;
        /* A read that completed with a cancellation pending gives its
         * bytes, and the cancellation comes at the next suspension. */
        if (n < 0) {
            race_bad = true;
            return (int)n;
        }
        if (n == 0)
            return 0;
        for (ssize_t i = 0; i < n; i++)
            if (buf[i] != pattern(7, race_got + (size_t)i))
                race_bad = true;
        race_got += (size_t)n;
    }
}

static int race_canceller(void *arg)
{
    (void)arg;
    while (!corio_task_done(race_reader_task)) {
        corio_cancel(race_reader_task);
        for (unsigned i = th_rand() % 3; i; i--)
            corio_yield();
        if (corio_sleep((double)(th_rand() % 20) * 1e-6) < 0)
            return 0;
    }
    return 0;
}

static int cancel_race(void *arg)
{
    (void)arg;
    tcp_pair(&pa, &pb);
    race_got = 0;
    race_bad = false;
    corio_task *w = corio_spawn(race_writer, NULL);
    race_reader_task = corio_spawn(race_reader, NULL);
    corio_task *c = corio_spawn(race_canceller, NULL);
    ASSERT_OK(corio_join(w));
    ASSERT_OK(corio_join(c)); /* it ends when the reader has ended */
    /* The reader can end with -ECANCELED at its very last read. */
    int rc = corio_join(race_reader_task);
    ASSERT_TRUE(rc == 0 || rc == -ECANCELED);
    ASSERT_FALSE(race_bad);
    if (rc == 0)
        ASSERT_EQ(race_got, RACE_BYTES);
    corio_sock_close(pa);
    corio_sock_close(pb);
    return 0;
}

TEST(no_data_lost_when_cancellation_races_with_data)
{
    run_uring(cancel_race, NULL);
}

/* ---- many connections, accepted ahead by a server ---- */

#define CONNS 500

static int echo_handler(corio_stream *s, void *arg)
{
    (void)arg;
    char buf[256];
    for (;;) {
        ssize_t n = corio_stream_read(s, buf, sizeof buf);
        if (n <= 0)
            return (int)n;
        if (corio_stream_write(s, buf, (size_t)n) < 0)
            return -1;
    }
}

static int sport;

static int one_client(void *arg)
{
    uintptr_t i = (uintptr_t)arg;
    corio_sock *c = corio_tcp_connect("127.0.0.1", sport, NULL);
    if (!c)
        return -errno;
    char msg[32], got[32];
    int len = snprintf(msg, sizeof msg, "hello %u", (unsigned)i);
    int rc = 0;
    for (int round = 0; round < 3 && rc == 0; round++) {
        if (corio_sock_send(c, msg, (size_t)len) != len)
            rc = -EIO;
        for (int have = 0; rc == 0 && have < len;) {
            ssize_t n = corio_sock_recv(c, got + have, (size_t)(len - have));
            if (n <= 0)
                rc = n < 0 ? (int)n : -EPIPE;
            else
                have += (int)n;
        }
        if (rc == 0 && memcmp(got, msg, (size_t)len) != 0)
            rc = -EPROTO;
    }
    corio_sock_close(c);
    return rc;
}

static int many(void *arg)
{
    (void)arg;
    corio_server *srv = corio_start_server("127.0.0.1", 0, echo_handler,
                                           NULL, NULL);
    ASSERT_NOT_NULL(srv);
    struct sockaddr_storage ss;
    ASSERT_OK(corio_sock_local_addr(corio_server_sock(srv), &ss, NULL));
    sport = corio_addr_port((struct sockaddr *)&ss);
    static corio_task *t[CONNS];
    for (uintptr_t i = 0; i < CONNS; i++) {
        t[i] = corio_spawn(one_client, (void *)i);
        ASSERT_NOT_NULL(t[i]);
    }
    for (int i = 0; i < CONNS; i++)
        ASSERT_OK(corio_join(t[i]));
    ASSERT_OK(corio_server_close(srv, 1.0));
    return 0;
}

TEST(many_connections_through_the_ring)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 2 * CONNS + 64) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        if (rl.rlim_cur < 2 * CONNS + 64)
            th_skip("RLIMIT_NOFILE too low");
    }
    run_uring(many, NULL);
}

/* A server closed with connections its multishot accept queued and no
 * handler took yet: they are closed with it, and nothing leaks (the
 * harness checks the heap, run_uring the descriptors). */
static int never_called(corio_stream *s, void *arg)
{
    (void)s;
    (void)arg;
    return 0;
}

static int queued_at_close(void *arg)
{
    (void)arg;
    corio_server *srv = corio_start_server("127.0.0.1", 0, never_called,
                                           NULL, NULL);
    ASSERT_NOT_NULL(srv);
    struct sockaddr_storage ss;
    ASSERT_OK(corio_sock_local_addr(corio_server_sock(srv), &ss, NULL));
    int port = corio_addr_port((struct sockaddr *)&ss);
    corio_sock *c[8];
    for (int i = 0; i < 8; i++)
        ASSERT_NOT_NULL(c[i] = corio_tcp_connect("127.0.0.1", port, NULL));
    /* A handler already spawned but not yet run (a shuffled ready queue,
     * CORIO_SEED) is cancelled and counted; in FIFO order none is. */
    int rc = corio_server_close(srv, 0);
    ASSERT_TRUE(rc >= 0 && rc <= 8);
    for (int i = 0; i < 8; i++)
        corio_sock_close(c[i]);
    return 0;
}

TEST(server_close_frees_connections_accepted_ahead)
{
    run_uring(queued_at_close, NULL);
}

/* ---- half-close, hang-up, close while waiting ---- */

static int half_close(void *arg)
{
    (void)arg;
    tcp_pair(&pa, &pb);
    ASSERT_EQ(corio_sock_send(pa, "bye", 3), 3);
    ASSERT_OK(corio_sock_shutdown(pa, SHUT_WR));
    char buf[8];
    ASSERT_EQ(corio_sock_recv(pb, buf, sizeof buf), 3);
    ASSERT_EQ(corio_sock_recv(pb, buf, sizeof buf), 0); /* end of stream */
    ASSERT_EQ(corio_sock_recv(pb, buf, sizeof buf), 0); /* and stays so */
    /* The other direction still works. */
    ASSERT_EQ(corio_sock_send(pb, "ok", 2), 2);
    ASSERT_EQ(corio_sock_recv(pa, buf, sizeof buf), 2);
    /* A reset peer: the send fails rather than hangs. */
    reset_close(pa);
    ssize_t n = 0;
    for (int i = 0; i < 100 && n >= 0; i++)
        n = corio_sock_send(pb, "x", 1);
    ASSERT_TRUE(n == -ECONNRESET || n == -EPIPE);
    corio_sock_close(pb);
    return 0;
}

TEST(half_close_and_reset)
{
    run_uring(half_close, NULL);
}

static int pipe_fds[2];

static int close_writer_later(void *arg)
{
    (void)arg;
    corio_sleep(0.01);
    close(pipe_fds[1]);
    return 0;
}

static int hangup(void *arg)
{
    (void)arg;
    ASSERT_OK(pipe2(pipe_fds, O_NONBLOCK | O_CLOEXEC));
    corio_task *t = corio_spawn(close_writer_later, NULL);
    /* corio_fd is polled one-shot: the hang-up makes it readable. */
    ASSERT_EQ(corio_wait_fd(pipe_fds[0], CORIO_READABLE), CORIO_READABLE);
    ASSERT_OK(corio_join(t));
    close(pipe_fds[0]);
    return 0;
}

TEST(hangup_is_reported)
{
    run_uring(hangup, NULL);
}

static int recv_forever(void *arg)
{
    char buf[16];
    return (int)corio_sock_recv(arg, buf, sizeof buf);
}

static int send_forever(void *arg)
{
    static char big[1 << 20];
    return (int)corio_sock_send(arg, big, sizeof big);
}

static int close_while_waiting(void *arg)
{
    (void)arg;
    tcp_pair(&pa, &pb);
    fill_sock(pa); /* pa's send path is full, and pb never sends */
    corio_task *r = corio_spawn(recv_forever, pa);
    corio_task *w = corio_spawn(send_forever, pa);
    ASSERT_OK(corio_sleep(0.01));
    /* Both are parked with a request in the kernel: closing cancels the
     * requests and waits for the tasks to leave. */
    ASSERT_OK(corio_sock_close(pa));
    ASSERT_ERR(corio_join(r), -EBADF);
    int rc = corio_join(w); /* part of it may have gone out already */
    ASSERT_OK(corio_sock_close(pb));
    ASSERT_TRUE(rc == -EBADF || rc > 0);
    return 0;
}

TEST(close_while_a_task_waits_gives_ebadf)
{
    run_uring(close_while_waiting, NULL);
}

static corio_sock *left_open;

static int open_socket(void *arg)
{
    (void)arg;
    left_open = corio_sock_new(AF_INET, SOCK_STREAM, 0);
    return left_open ? 0 : -errno;
}

static int close_socket(void *arg)
{
    (void)arg;
    return corio_sock_close(left_open);
}

static void run_on(corio_loop *loop, corio_fn fn)
{
    corio_task *t = corio_loop_spawn(loop, fn, NULL, NULL);
    ASSERT_NOT_NULL(t);
    ASSERT_OK(corio_loop_run_until_complete(loop, t));
    corio_task_unref(t);
}

TEST(loop_refuses_to_close_with_open_sockets)
{
    need_uring();
    corio_loop_opts o = {.backend = CORIO_BACKEND_IO_URING};
    corio_loop *loop = corio_loop_new(&o);
    ASSERT_NOT_NULL(loop);
    run_on(loop, open_socket);
    ASSERT_ERR(corio_loop_close(loop), -EBUSY);
    run_on(loop, close_socket);
    ASSERT_OK(corio_loop_close(loop));
}

/* ---- the rest through the ring ---- */

static int eventfd_wait(void *arg)
{
    (void)arg;
    int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    ASSERT_GE(efd, 0);
    corio_fd *f = corio_fd_open(efd);
    ASSERT_NOT_NULL(f);
    ASSERT_EQ(corio_fd_wait(f, CORIO_WRITABLE), CORIO_WRITABLE);
    uint64_t one = 1;
    ASSERT_EQ(write(efd, &one, sizeof one), (ssize_t)sizeof one);
    ASSERT_EQ(corio_fd_wait(f, CORIO_READABLE | CORIO_WRITABLE),
              CORIO_READABLE | CORIO_WRITABLE);
    corio_fd_close(f);
    close(efd);
    return 0;
}

TEST(fd_wait_through_polls)
{
    run_uring(eventfd_wait, NULL);
}

static int file_rw(void *arg)
{
    (void)arg;
    ASSERT_STR_EQ(corio_file_io_backend(), "io_uring");
    char path[] = "/tmp/corio-uring-XXXXXX";
    int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    close(fd);
    ASSERT_OK(corio_write_file_atomic(path, "through the ring", 16, 0600));
    void *data;
    size_t len;
    ASSERT_OK(corio_read_file(path, &data, &len));
    ASSERT_EQ(len, 16);
    ASSERT_EQ(memcmp(data, "through the ring", 16), 0);
    free(data);
    unlink(path);
    return 0;
}

TEST(files_use_the_loop_ring)
{
    const char *env = getenv("CORIO_FILE_IO");
    if (env && strcmp(env, "pool") == 0)
        th_skip("CORIO_FILE_IO=pool");
    run_uring(file_rw, NULL);
}

/* ---- which thread may run a loop ---- */

static int ring_of_corio_run(void *arg)
{
    unsigned *flags = arg;
    *flags = corio__uring_setup_flags(corio_loop_current());
    return echo_once(NULL);
}

static void *run_elsewhere(void *arg)
{
    corio_loop *loop = arg;
    corio_task *t = corio_loop_spawn(loop, echo_once, NULL, NULL);
    ASSERT_NOT_NULL(t);
    ASSERT_OK(corio_loop_run_until_complete(loop, t));
    corio_task_unref(t);
    return NULL;
}

/* corio_run's loop is made, run and closed by one thread, so its ring
 * defers completions to the loop's own entries into the kernel
 * (DEFER_TASKRUN), which ties the ring to that thread. A loop made with
 * corio_loop_new may be run by any thread, one after the other: its ring
 * is not tied. */
TEST(only_corio_run_ties_the_ring_to_its_thread)
{
    need_uring();
    setenv("CORIO_BACKEND", "io_uring", 1);
    unsigned flags = 0;
    ASSERT_OK(corio_run(ring_of_corio_run, &flags));
    ASSERT_NE(flags, 0);
    bool defer = kernel_has_defer_taskrun();
    ASSERT_EQ(!!(flags & IORING_SETUP_DEFER_TASKRUN), defer);
    ASSERT_EQ(!!(flags & IORING_SETUP_SINGLE_ISSUER), defer);

    corio_loop_opts o = {.backend = CORIO_BACKEND_IO_URING};
    corio_loop *loop = corio_loop_new(&o);
    ASSERT_NOT_NULL(loop);
    flags = corio__uring_setup_flags(loop);
    ASSERT_NE(flags, 0);
    ASSERT_EQ(flags & (IORING_SETUP_SINGLE_ISSUER |
                       IORING_SETUP_DEFER_TASKRUN), 0);
    /* Made here, run by another thread, then by this one again. */
    pthread_t th;
    ASSERT_OK(pthread_create(&th, NULL, run_elsewhere, loop));
    ASSERT_OK(pthread_join(th, NULL));
    run_elsewhere(loop);
    ASSERT_OK(corio_loop_close(loop));
}

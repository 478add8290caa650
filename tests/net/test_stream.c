/* SPDX-License-Identifier: MIT */
/* Streams: every reader call (read, readexactly with partial data at the
 * end, readline, readuntil with the limit, at_eof), the writer (write,
 * background sending, drain and its watermarks bounding memory against a
 * slow reader, write_eof), graceful and aborted close, errors, and
 * concurrent use from several tasks. */
#include "helpers.h"

/* A stream and the raw socket at the other end. */
static corio_stream *st;
static corio_sock *raw;

static void open_pair(const corio_stream_opts *o)
{
    corio_sock *c, *s;
    tcp_pair(&c, &s);
    st = corio_stream_open(s, o);
    ASSERT_NOT_NULL(st);
    ASSERT_PTR_EQ(corio_stream_sock(st), s);
    raw = c;
}

static void close_pair(void)
{
    ASSERT_OK(corio_stream_close(st));
    ASSERT_OK(corio_sock_close(raw));
}

static void say(const char *s)
{
    ASSERT_EQ(corio_sock_send(raw, s, strlen(s)), (ssize_t)strlen(s));
}

/* ---- reading ---- */

static int reads(void *arg)
{
    (void)arg;
    open_pair(NULL);
    say("hello world\nsecond line\nabc|def|");
    char buf[64];
    ASSERT_EQ(corio_stream_read(st, buf, 5), 5);
    ASSERT_TRUE(memcmp(buf, "hello", 5) == 0);
    ASSERT_EQ(corio_stream_readline(st, buf, sizeof buf), 7);
    ASSERT_TRUE(memcmp(buf, " world\n", 7) == 0);
    ASSERT_EQ(corio_stream_readexactly(st, buf, 6), 6);
    ASSERT_TRUE(memcmp(buf, "second", 6) == 0);
    ASSERT_EQ(corio_stream_readuntil(st, buf, sizeof buf, "\n", 1), 6);
    ASSERT_EQ(corio_stream_readuntil(st, buf, sizeof buf, "|", 1), 4);
    ASSERT_TRUE(memcmp(buf, "abc|", 4) == 0);
    ASSERT_EQ(corio_stream_buffered(st), 4);
    ASSERT_FALSE(corio_stream_at_eof(st));
    /* A separator split across two arrivals. */
    say("xy<-");
    ASSERT_EQ(corio_stream_readuntil(st, buf, sizeof buf, "|", 1), 4);
    ASSERT_OK(corio_sleep(0.005));
    say("->z");
    ASSERT_EQ(corio_stream_readuntil(st, buf, sizeof buf, "<-->", 4), 6);
    ASSERT_TRUE(memcmp(buf, "xy<-->", 6) == 0);
    /* The end: the last bytes, then 0, and at_eof. */
    ASSERT_OK(corio_sock_shutdown(raw, SHUT_WR));
    ASSERT_EQ(corio_stream_read(st, buf, sizeof buf), 1);
    ASSERT_EQ(corio_stream_read(st, buf, sizeof buf), 0);
    ASSERT_TRUE(corio_stream_at_eof(st));
    ASSERT_EQ(corio_stream_readline(st, buf, sizeof buf), 0);
    ASSERT_EQ(corio_stream_read(st, buf, 0), 0);
    close_pair();
    return 0;
}

TEST(read_readline_readuntil_readexactly)
{
    RUN(reads);
}

static int partial(void *arg)
{
    (void)arg;
    open_pair(NULL);
    say("12345");
    ASSERT_OK(corio_sock_shutdown(raw, SHUT_WR));
    char buf[64];
    /* The stream ends early: -EPIPE, and nothing is consumed. */
    ASSERT_ERR(corio_stream_readexactly(st, buf, 10), -EPIPE);
    ASSERT_EQ(corio_stream_buffered(st), 5);
    ASSERT_FALSE(corio_stream_at_eof(st));
    ASSERT_ERR(corio_stream_readexactly(st, buf, 10), -EPIPE);
    ASSERT_ERR(corio_stream_readuntil(st, buf, sizeof buf, "\n", 1), -EPIPE);
    ASSERT_EQ(corio_stream_readexactly(st, buf, 2), 2);
    /* readline gives the unterminated last line. */
    ASSERT_EQ(corio_stream_readline(st, buf, sizeof buf), 3);
    ASSERT_TRUE(memcmp(buf, "345", 3) == 0);
    ASSERT_TRUE(corio_stream_at_eof(st));
    ASSERT_ERR(corio_stream_readexactly(st, buf, 1), -EPIPE);
    ASSERT_EQ(corio_stream_readexactly(st, buf, 0), 0);
    close_pair();
    return 0;
}

TEST(readexactly_reports_a_short_stream_and_keeps_the_data)
{
    RUN(partial);
}

static int big_partial(void *arg)
{
    (void)arg;
    open_pair(NULL);
    /* Large requests read straight into the caller's buffer; at the end
     * the partial data goes back into the stream all the same. */
    size_t n = 300000;
    char *out = malloc(n);
    for (size_t i = 0; i < n; i++)
        out[i] = (char)pattern(7, i);
    ASSERT_EQ(corio_sock_send(raw, out, n), n);
    ASSERT_OK(corio_sock_shutdown(raw, SHUT_WR));
    char *in = malloc(n + 1000);
    ASSERT_ERR(corio_stream_readexactly(st, in, n + 1000), -EPIPE);
    ASSERT_EQ(corio_stream_buffered(st), n);
    memset(in, 0, n);
    ASSERT_EQ(corio_stream_readexactly(st, in, n), n);
    ASSERT_TRUE(memcmp(in, out, n) == 0);
    ASSERT_TRUE(corio_stream_at_eof(st));
    free(in);
    free(out);
    close_pair();
    return 0;
}

TEST(readexactly_large_keeps_partial_data)
{
    RUN(big_partial);
}

static int limits(void *arg)
{
    (void)arg;
    corio_stream_opts o = {.limit = 16};
    open_pair(&o);
    say("0123456789abcdefXYZ\nshort\n");
    char buf[64];
    ASSERT_OK(corio_sleep(0.005));
    /* No separator within the limit: -ENOBUFS, and the buffer keeps
     * everything (asyncio's LimitOverrunError). */
    ASSERT_ERR(corio_stream_readline(st, buf, sizeof buf), -ENOBUFS);
    ASSERT_GE(corio_stream_buffered(st), 17);
    ASSERT_ERR(corio_stream_readuntil(st, buf, sizeof buf, "\n", 1),
               -ENOBUFS);
    /* The caller recovers by reading past it. */
    ASSERT_EQ(corio_stream_readexactly(st, buf, 20), 20);
    ASSERT_TRUE(memcmp(buf, "0123456789abcdefXYZ\n", 20) == 0);
    /* A line that does not fit the caller's buffer: -EMSGSIZE, kept. */
    ASSERT_ERR(corio_stream_readline(st, buf, 3), -EMSGSIZE);
    ASSERT_EQ(corio_stream_readline(st, buf, sizeof buf), 6);
    ASSERT_ERR(corio_stream_readuntil(st, buf, sizeof buf, "", 0), -EINVAL);
    /* Exactly at the limit is fine: 16 bytes, then the separator. */
    say("0123456789abcdef\n");
    ASSERT_EQ(corio_stream_readline(st, buf, sizeof buf), 17);
    close_pair();
    return 0;
}

TEST(readuntil_limit_overrun_keeps_the_buffer)
{
    RUN(limits);
}

static int reader_task(void *arg)
{
    char buf[8];
    return (int)corio_stream_readexactly(st, buf, (size_t)(uintptr_t)arg);
}

static int read_cancel(void *arg)
{
    (void)arg;
    open_pair(NULL);
    say("abc");
    /* In the socket before the reader starts: it takes all three. */
    wait_inq(corio_stream_sock(st), 3);
    corio_task *t = corio_spawn(reader_task, (void *)(uintptr_t)8);
    ASSERT_OK(corio_sleep(0.01));
    /* One reader at a time. */
    char buf[16];
    ASSERT_ERR(corio_stream_read(st, buf, sizeof buf), -EBUSY);
    /* A cancelled readexactly gives back what it had. */
    corio_cancel(t);
    ASSERT_ERR(corio_join(t), -ECANCELED);
    ASSERT_EQ(corio_stream_buffered(st), 3);
    corio_scope sc;
    ASSERT_OK(corio_scope_enter(&sc, 0.01));
    ASSERT_ERR(corio_stream_readexactly(st, buf, 8), -ETIMEDOUT);
    ASSERT_ERR(corio_stream_readline(st, buf, sizeof buf), -ETIMEDOUT);
    corio_scope_exit(&sc);
    ASSERT_EQ(corio_stream_read(st, buf, sizeof buf), 3);
    ASSERT_OK(corio_scope_enter(&sc, 0.01));
    ASSERT_ERR(corio_stream_read(st, buf, sizeof buf), -ETIMEDOUT);
    corio_scope_exit(&sc);
    close_pair();
    return 0;
}

TEST(reads_honour_cancellation_and_consume_nothing)
{
    RUN(read_cancel);
}

static int reset(void *arg)
{
    (void)arg;
    open_pair(NULL);
    reset_close(raw);
    char buf[8];
    ASSERT_ERR(corio_stream_read(st, buf, sizeof buf), -ECONNRESET);
    /* The connection's error stays. */
    ASSERT_ERR(corio_stream_read(st, buf, sizeof buf), -ECONNRESET);
    ASSERT_ERR(corio_stream_readline(st, buf, sizeof buf), -ECONNRESET);
    int rc = corio_stream_write(st, "x", 1);
    ASSERT_TRUE(rc == -EPIPE || rc == -ECONNRESET);
    ASSERT_ERR(corio_stream_write(st, "x", 1), rc);
    ASSERT_ERR(corio_stream_drain(st), rc);
    ASSERT_ERR(corio_stream_close(st), rc);
    return 0;
}

TEST(peer_reset_is_an_error_on_the_stream)
{
    signal(SIGPIPE, SIG_DFL);
    RUN(reset);
}

/* ---- writing ---- */

static size_t received;
static uint64_t rx_seed;
static double rx_pause;

/* Read the other end, checking the pattern, pausing now and then. */
static int sink(void *arg)
{
    (void)arg;
    static char buf[65536];
    received = 0;
    for (;;) {
        ssize_t n = corio_sock_recv(raw, buf, sizeof buf);
        if (n < 0)
            return (int)n;
        if (n == 0)
            return 0;
        for (ssize_t i = 0; i < n; i++)
            if ((unsigned char)buf[i] != pattern(rx_seed, received + i))
                return -EILSEQ;
        received += (size_t)n;
        if (rx_pause > 0 && corio_sleep(rx_pause) < 0)
            return -ECANCELED;
    }
}

static void write_pattern(uint64_t seed, size_t from, size_t n)
{
    static char chunk[65536];
    for (size_t i = 0; i < n; i++)
        chunk[i] = (char)pattern(seed, from + i);
    ASSERT_OK(corio_stream_write(st, chunk, n));
}

static int watermarks(void *arg)
{
    (void)arg;
    corio_stream_opts o = {.high_water = 256 * 1024,
                           .low_water = 64 * 1024};
    open_pair(&o);
    rx_seed = 11;
    rx_pause = 0.001; /* a slow reader */
    corio_task *r = corio_spawn(sink, NULL);
    size_t total = 16 << 20, chunk = 65536, max_buffered = 0;
    bool waited = false;
    for (size_t off = 0; off < total; off += chunk) {
        write_pattern(11, off, chunk);
        size_t b = corio_stream_write_buffered(st);
        if (b > max_buffered)
            max_buffered = b;
        if (b > o.high_water)
            waited = true;
        ASSERT_OK(corio_stream_drain(st));
        /* After drain: at the low mark or below, or never above high. */
        ASSERT_LE(corio_stream_write_buffered(st), o.high_water);
    }
    /* A fast writer against a slow reader: the buffer stayed bounded. */
    ASSERT_TRUE(waited);
    ASSERT_LE(max_buffered, o.high_water + chunk);
    ASSERT_OK(corio_stream_close(st));
    ASSERT_OK(corio_join(r));
    ASSERT_EQ(received, total);
    ASSERT_OK(corio_sock_close(raw));
    return 0;
}

TEST(drain_watermarks_bound_memory_with_a_slow_reader)
{
    RUN(watermarks);
}

static int background(void *arg)
{
    (void)arg;
    open_pair(NULL);
    rx_seed = 5;
    rx_pause = 0;
    /* Written without drain: the stream sends it in the background while
     * the writer sleeps (asyncio's transport does the same). */
    /* Until the socket's buffers are full (their size depends on the
     * kernel's autotuning), then 1 MiB more, which the stream keeps. */
    size_t total = 0;
    while (corio_stream_write_buffered(st) == 0 && total < (256u << 20)) {
        write_pattern(5, total, 65536);
        total += 65536;
    }
    for (int i = 0; i < 16; i++, total += 65536)
        write_pattern(5, total, 65536);
    ASSERT_GT(corio_stream_write_buffered(st), 0);
    corio_task *r = corio_spawn(sink, NULL);
    WAIT_UNTIL(received >= total, 30);
    ASSERT_EQ(received, total);
    ASSERT_EQ(corio_stream_write_buffered(st), 0);
    ASSERT_OK(corio_stream_write_eof(st));
    ASSERT_OK(corio_join(r));
    ASSERT_ERR(corio_stream_write(st, "x", 1), -EPIPE);
    ASSERT_OK(corio_stream_write_eof(st));
    /* Reading goes on after write_eof. */
    say("back");
    char buf[8];
    ASSERT_EQ(corio_stream_readexactly(st, buf, 4), 4);
    close_pair();
    return 0;
}

TEST(written_data_goes_out_without_drain)
{
    RUN(background);
}

static int graceful(void *arg)
{
    (void)arg;
    open_pair(NULL);
    rx_seed = 9;
    rx_pause = 0;
    /* Some input the stream never reads: close must not reset. */
    say("unread input");
    wait_inq(corio_stream_sock(st), 12);
    size_t total = 8 << 20;
    for (size_t off = 0; off < total; off += 65536)
        write_pattern(9, off, 65536);
    corio_task *r = corio_spawn(sink, NULL);
    /* Close right away: every byte arrives, then end of stream. */
    ASSERT_OK(corio_stream_close(st));
    ASSERT_OK(corio_join(r));
    ASSERT_EQ(received, total);
    ASSERT_OK(corio_sock_close(raw));
    return 0;
}

TEST(graceful_close_delivers_every_byte_before_eof)
{
    RUN(graceful);
}

static int closer_task(void *arg)
{
    (void)arg;
    return corio_stream_close(st);
}

static int drain_task(void *arg)
{
    (void)arg;
    return corio_stream_drain(st);
}

static int abort_close(void *arg)
{
    (void)arg;
    open_pair(NULL);
    /* The peer reads nothing: a graceful close could wait forever; a
     * scope that has expired makes it abort at once. */
    for (int i = 0; i < 512; i++)
        write_pattern(1, 0, 65536);
    corio_scope sc;
    ASSERT_OK(corio_scope_enter(&sc, 0.02));
    ASSERT_ERR(corio_stream_close(st), -ETIMEDOUT);
    corio_scope_exit(&sc);
    ASSERT_OK(corio_sock_close(raw));

    /* Tasks waiting on a stream another task closes wake with -EBADF. */
    open_pair(NULL);
    corio_task *r = corio_spawn(reader_task, (void *)(uintptr_t)4);
    for (int i = 0; i < 512; i++)
        write_pattern(1, 0, 65536);
    corio_task *d = corio_spawn(drain_task, NULL);
    ASSERT_OK(corio_sleep(0.01));
    corio_task *c = corio_spawn(closer_task, NULL);
    ASSERT_OK(corio_sleep(0.01));
    ASSERT_FALSE(corio_task_done(c)); /* flushing to a peer that waits */
    corio_cancel(c);
    ASSERT_ERR(corio_join(c), -ECANCELED);
    ASSERT_ERR(corio_join(r), -EBADF);
    ASSERT_ERR(corio_join(d), -EBADF);
    ASSERT_OK(corio_sock_close(raw));
    return 0;
}

/* Closing a stream must not reach deep into the task's stack: a server's
 * handler task ends with the close, and a page touched only then costs
 * every connection a page of memory (a 4 KiB discard buffer in the close
 * path once did). Paint the stack below this frame, close, and find the
 * lowest byte the close overwrote. */
#define PAINT 16384

static __attribute__((noinline)) size_t close_depth_bytes(void)
{
    /* Below this frame (the stack grows down on every target). */
    volatile char *top = (volatile char *)__builtin_frame_address(0) - 512;
    volatile char *lo = top - PAINT;
    /* No calls while painting: a callee's frame would be painted over. */
    for (volatile char *p = lo; p < top; p++)
        *p = (char)0xA5;
    ASSERT_OK(corio_stream_close(st));
    volatile char *p = lo;
    while (p < top && *p == (char)0xA5)
        p++;
    return (size_t)(top - p);
}

static int close_shallow(void *arg)
{
    (void)arg;
    say("unread input, which the close discards");
    wait_inq(corio_stream_sock(st), 38);
    size_t depth = close_depth_bytes();
    /* ASan's redzones make every frame larger. */
    ASSERT_LT(depth, TH_ASAN ? 3584 : 2048);
    return 0;
}

static int close_depth(void *arg)
{
    (void)arg;
    /* Once first, so that the dynamic linker has bound every function
     * the close calls (lazy binding takes 2-3 KiB of stack, once). */
    open_pair(NULL);
    say("unread");
    wait_inq(corio_stream_sock(st), 6);
    close_pair();
    open_pair(NULL);
    corio_task_opts o = {.stack_size = 64 * 1024};
    corio_task *t = corio_spawn_opts(close_shallow, NULL, &o);
    ASSERT_NOT_NULL(t);
    ASSERT_OK(corio_join(t));
    ASSERT_OK(corio_sock_close(raw));
    return 0;
}

TEST(close_uses_little_stack)
{
    RUN(close_depth);
}

TEST(close_aborts_under_an_expired_deadline_and_wakes_waiters)
{
    RUN(abort_close);
}

static int writev_eof(void *arg)
{
    (void)arg;
    open_pair(NULL);
    char ab[] = "ab", cd[] = "cd\n";
    struct iovec iov[3] = {{ab, 2}, {cd, 0}, {cd, 3}};
    ASSERT_OK(corio_stream_writev(st, iov, 3));
    ASSERT_OK(corio_stream_write(st, "", 0));
    ASSERT_OK(corio_stream_drain(st));
    char buf[8];
    ASSERT_EQ(corio_sock_recv(raw, buf, sizeof buf), 5);
    ASSERT_TRUE(memcmp(buf, "abcd\n", 5) == 0);
    ASSERT_ERR(corio_stream_write(NULL, "x", 1), -EINVAL);
    ASSERT_ERR(corio_stream_drain(NULL), -EINVAL);
    ASSERT_ERR(corio_stream_read(NULL, buf, 1), -EINVAL);
    ASSERT_OK(corio_stream_close(NULL));
    /* A datagram socket cannot be a stream. */
    corio_sock *u = corio_udp_bind("127.0.0.1", 0, NULL);
    errno = 0;
    ASSERT_NULL(corio_stream_open(u, NULL));
    ASSERT_EQ(errno, EINVAL);
    corio_sock_close(u);
    close_pair();
    return 0;
}

TEST(writev_and_misuse)
{
    RUN(writev_eof);
}

static int echo_handler(corio_stream *s, void *arg)
{
    (void)arg;
    char buf[256];
    ssize_t n;
    while ((n = corio_stream_readline(s, buf, sizeof buf)) > 0)
        if (corio_stream_write(s, buf, (size_t)n) < 0)
            return -1;
    return 0;
}

static int connections(void *arg)
{
    (void)arg;
    char path[64];
    snprintf(path, sizeof path, "/tmp/corio-stream-%d.sock", (int)getpid());
    corio_server *u = corio_start_unix_server(path, echo_handler, NULL, NULL);
    ASSERT_NOT_NULL(u);
    corio_server *t = corio_start_server("127.0.0.1", 0, echo_handler, NULL,
                                         NULL);
    ASSERT_NOT_NULL(t);
    struct sockaddr_storage ss;
    ASSERT_OK(corio_sock_local_addr(corio_server_sock(t), &ss, NULL));
    corio_stream *a = corio_open_unix_connection(path, NULL);
    corio_stream *b = corio_open_connection(
        "127.0.0.1", corio_addr_port((struct sockaddr *)&ss), NULL);
    ASSERT_NOT_NULL(a);
    ASSERT_NOT_NULL(b);
    char buf[32];
    ASSERT_OK(corio_stream_write(a, "unix\n", 5));
    ASSERT_OK(corio_stream_write(b, "tcp\n", 4));
    ASSERT_EQ(corio_stream_readline(a, buf, sizeof buf), 5);
    ASSERT_EQ(corio_stream_readline(b, buf, sizeof buf), 4);
    ASSERT_OK(corio_stream_close(a));
    ASSERT_OK(corio_stream_close(b));
    ASSERT_EQ(corio_server_close(u, 1), 0);
    ASSERT_EQ(corio_server_close(t, 1), 0);
    unlink(path);
    errno = 0;
    ASSERT_NULL(corio_open_unix_connection(path, NULL));
    ASSERT_EQ(errno, ENOENT);
    return 0;
}

TEST(open_connection_and_unix_connection)
{
    RUN(connections);
}

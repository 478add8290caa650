/* SPDX-License-Identifier: MIT */
/* Data of 0 B to 64 MiB arrives intact over 1, 100 and 1,000 concurrent
 * connections: each client streams a pattern through an echo server
 * (corio_start_server, streams on both ends) while reading the echo back
 * and checking every byte, then ends its side; the server closes
 * gracefully after echoing everything. */
#include "helpers.h"

#define MAX_SIZE (64u << 20)

static int port;
static int failures;

static int echo(corio_stream *s, void *arg)
{
    (void)arg;
    /* A buffer of each handler's own: on the io_uring backend the kernel
     * writes into it while the read is parked (a buffer shared by tasks
     * reading at the same time would get their bytes mixed); on the heap,
     * since 64 KiB do not fit a task's default stack. */
    enum { BUFSZ = 65536 };
    char *buf = malloc(BUFSZ);
    if (!buf)
        return -ENOMEM;
    int rc;
    for (;;) {
        ssize_t n = corio_stream_read(s, buf, BUFSZ);
        if (n <= 0) {
            rc = (int)n;
            break;
        }
        rc = corio_stream_write(s, buf, (size_t)n);
        if (rc == 0)
            rc = corio_stream_drain(s);
        if (rc < 0)
            break;
    }
    free(buf);
    return rc;
}

struct conn {
    corio_stream *s;
    uint64_t seed;
    size_t size;
};

static int writer(void *arg)
{
    struct conn *c = arg;
    char buf[16384];
    for (size_t off = 0; off < c->size;) {
        size_t n = c->size - off < sizeof buf ? c->size - off : sizeof buf;
        for (size_t i = 0; i < n; i++)
            buf[i] = (char)pattern(c->seed, off + i);
        int rc = corio_stream_write(c->s, buf, n);
        if (rc == 0)
            rc = corio_stream_drain(c->s);
        if (rc < 0)
            return rc;
        off += n;
    }
    return corio_stream_write_eof(c->s);
}

static int client(void *arg)
{
    struct conn c = {.seed = (uintptr_t)arg * 7919 + 1};
    c.size = (size_t)(uintptr_t)arg >> 32;
    c.s = corio_open_connection("127.0.0.1", port, NULL);
    if (!c.s)
        return -errno;
    corio_task *w = corio_spawn(writer, &c);
    char buf[24576];
    size_t got = 0;
    int rc = 0;
    while (got < c.size) {
        size_t want = c.size - got < sizeof buf ? c.size - got : sizeof buf;
        ssize_t n = corio_stream_readexactly(c.s, buf, want);
        if (n < 0) {
            rc = (int)n;
            break;
        }
        for (size_t i = 0; i < want; i++)
            if ((unsigned char)buf[i] != pattern(c.seed, got + i)) {
                rc = -EILSEQ;
                break;
            }
        if (rc)
            break;
        got += want;
    }
    /* Then the end of the echo, right after the last byte. */
    if (!rc && corio_stream_read(c.s, buf, 1) != 0)
        rc = -EPROTO;
    int wrc = corio_join(w);
    int crc = corio_stream_close(c.s);
    if (rc || wrc || crc)
        failures++;
    return rc ? rc : wrc ? wrc : crc;
}

static int nconns;

static int run_level(void *arg)
{
    (void)arg;
    failures = 0;
    corio_server_opts so = {.listen.backlog = 4096};
    corio_server *srv = corio_start_server("127.0.0.1", 0, echo, NULL, &so);
    ASSERT_NOT_NULL(srv);
    struct sockaddr_storage ss;
    ASSERT_OK(corio_sock_local_addr(corio_server_sock(srv), &ss, NULL));
    port = corio_addr_port((struct sockaddr *)&ss);

    /* Sizes: one 64 MiB, one empty, the rest spread over the orders of
     * magnitude up to 1 MiB (log-uniform), so that every size class
     * occurs and the total stays bounded at 1,000 connections. */
    corio_call *calls = calloc((size_t)nconns, sizeof *calls);
    size_t total = 0;
    for (int i = 0; i < nconns; i++) {
        size_t size;
        if (i == 0)
            size = MAX_SIZE;
        else if (i == 1)
            size = 0;
        else
            size = (size_t)(th_rand() % ((1u << (th_rand() % 21)) + 1));
        total += size;
        calls[i].fn = client;
        calls[i].arg = (void *)(uintptr_t)((uint64_t)size << 32 | (unsigned)i);
    }
    double t0 = corio_time();
    ASSERT_OK(corio_gather(calls, (size_t)nconns, CORIO_RETURN_EXCEPTIONS));
    for (int i = 0; i < nconns; i++)
        if (calls[i].result)
            FAIL("connection %d: %s", i, th_errname(-calls[i].result));
    ASSERT_EQ(failures, 0);
    printf("%d connections, %.1f MiB echoed in %.2f s\n", nconns,
           (double)total / (1 << 20), corio_time() - t0);
    free(calls);
    ASSERT_EQ(corio_server_close(srv, 5.0), 0);
    return 0;
}

static void level(int n)
{
    /* Two descriptors per connection in this process. */
    struct rlimit rl;
    ASSERT_OK(getrlimit(RLIMIT_NOFILE, &rl));
    if (rl.rlim_max < (rlim_t)(2 * n + 64))
        th_skip("RLIMIT_NOFILE too low for the connections");
    if (rl.rlim_cur < (rlim_t)(2 * n + 64)) {
        rl.rlim_cur = rl.rlim_max;
        ASSERT_OK(setrlimit(RLIMIT_NOFILE, &rl));
    }
    nconns = n;
    RUN(run_level);
}

TEST_OPTS(bulk_0b_to_64mib_over_1_connection,
          .timeout = 120)
{
    level(1);
}

TEST_OPTS(bulk_0b_to_64mib_over_100_connections,
          .timeout = 200)
{
    level(100);
}

TEST_OPTS(bulk_0b_to_64mib_over_1000_connections,
          .timeout = 300)
{
    level(1000);
}

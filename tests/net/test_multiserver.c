/* SPDX-License-Identifier: MIT */
/* One server per core: every loop of a corio_multi accepts on its own
 * SO_REUSEPORT socket, the kernel spreads connections over them, and
 * closing stops them all. */
#include "harness.h"

#include <corio.h>
#include <pthread.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <unistd.h>

static atomic_int served[8];

static int echo_index(corio_stream *s, void *arg)
{
    (void)arg;
    int i = corio_multi_index();
    if (i >= 0 && i < 8)
        atomic_fetch_add(&served[i], 1);
    char c = (char)('0' + i);
    char buf[16];
    ssize_t n = corio_stream_read(s, buf, sizeof buf);
    if (n <= 0)
        return (int)n;
    /* Answer with the index of the loop that serves us. */
    int rc = corio_stream_write(s, &c, 1);
    return rc ? rc : corio_stream_drain(s);
}

static int port;
static int seen[8];

static int client(void *arg)
{
    (void)arg;
    corio_stream *s = corio_open_connection("127.0.0.1", port, NULL);
    if (!s)
        return -errno;
    char c = 0;
    int rc = corio_stream_write(s, "x", 1);
    if (rc == 0)
        rc = corio_stream_drain(s);
    if (rc == 0 && corio_stream_readexactly(s, &c, 1) == 1 && c >= '0' &&
        c < '8')
        seen[c - '0']++;
    corio_stream_close(s);
    return rc;
}

static int many_clients(void *arg)
{
    (void)arg;
    enum { N = 200 };
    corio_task *t[N];
    for (int i = 0; i < N; i++)
        t[i] = corio_spawn(client, NULL);
    for (int i = 0; i < N; i++)
        ASSERT_OK(corio_join(t[i]));
    return 0;
}

TEST_OPTS(every_loop_accepts_its_share, .labels = "threads")
{
    corio_multi_opts mo = {.loops = 2};
    corio_multi *m = corio_multi_new(&mo);
    ASSERT_NOT_NULL(m);
    corio_multi_server *srv =
        corio_multi_server_start(m, "127.0.0.1", 0, echo_index, NULL, NULL);
    ASSERT_NOT_NULL(srv);
    port = corio_multi_server_port(srv);
    ASSERT_GT(port, 0);
    memset(seen, 0, sizeof seen);
    ASSERT_OK(corio_run(many_clients, NULL));
    /* Both loops served connections: the kernel spread them. */
    ASSERT_GT(seen[0], 0);
    ASSERT_GT(seen[1], 0);
    ASSERT_EQ(seen[0] + seen[1], 200);
    ASSERT_EQ(atomic_load(&served[0]) + atomic_load(&served[1]), 200);
    ASSERT_OK(corio_multi_server_close(srv, 1.0));
    ASSERT_OK(corio_multi_close(m));
}

static corio_multi *shared;

static int from_a_loop(void *arg)
{
    (void)arg;
    /* From one of the multi's own loops it would wait on itself. */
    errno = 0;
    if (corio_multi_server_start(shared, "127.0.0.1", 0, echo_index, NULL,
                                 NULL))
        return -1;
    return errno == EDEADLK ? 0 : -2;
}

TEST_OPTS(starting_from_one_of_its_loops_is_edeadlk, .labels = "threads")
{
    corio_multi_opts mo = {.loops = 1};
    shared = corio_multi_new(&mo);
    ASSERT_NOT_NULL(shared);
    corio_submission *s =
        corio_loop_submit(corio_multi_loop(shared, 0), from_a_loop, NULL);
    int result = -1;
    ASSERT_OK(corio_submission_wait(s, 5, &result));
    corio_submission_free(s);
    ASSERT_OK(result);
    errno = 0;
    ASSERT_NULL(corio_multi_server_start(NULL, NULL, 0, echo_index, NULL,
                                         NULL));
    ASSERT_EQ(errno, EINVAL);
    ASSERT_EQ(corio_multi_server_port(NULL), -EINVAL);
    ASSERT_OK(corio_multi_server_close(NULL, 0));
    ASSERT_OK(corio_multi_close(shared));
}

TEST_OPTS(a_port_in_use_fails_cleanly, .labels = "threads")
{
    /* A plain listener, without SO_REUSEPORT, holds a port. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_OK(bind(fd, (struct sockaddr *)&sa, sizeof sa));
    ASSERT_OK(listen(fd, 1));
    socklen_t len = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &len);
    corio_multi_opts mo = {.loops = 2};
    corio_multi *m = corio_multi_new(&mo);
    errno = 0;
    ASSERT_NULL(corio_multi_server_start(m, "127.0.0.1", ntohs(sa.sin_port),
                                         echo_index, NULL, NULL));
    ASSERT_EQ(errno, EADDRINUSE);
    /* Nothing was left open on the loops: they close cleanly. */
    ASSERT_OK(corio_multi_close(m));
    close(fd);
}

/* SPDX-License-Identifier: MIT */
/* Unix domain sockets: stream listeners and connections, stale socket
 * files, abstract names, datagram sockets, socket pairs, and connecting
 * to a listener whose backlog is full. */
#include "helpers.h"

#include <sys/stat.h>

static char path[108];

static void tmp_path(const char *name)
{
    snprintf(path, sizeof path, "/tmp/corio-test-%d-%s", (int)getpid(),
             name);
    unlink(path);
}

static int stream(void *arg)
{
    (void)arg;
    tmp_path("s.sock");
    corio_sock *l = corio_unix_listen(path, NULL);
    ASSERT_NOT_NULL(l);
    ASSERT_TRUE(fd_cloexec_nonblock(corio_sock_fileno(l)));
    corio_sock *c = corio_unix_connect(path);
    ASSERT_NOT_NULL(c);
    corio_sock *s = corio_sock_accept(l);
    ASSERT_NOT_NULL(s);
    ASSERT_TRUE(fd_cloexec_nonblock(corio_sock_fileno(s)));
    ASSERT_EQ(corio_sock_send(c, "hi", 2), 2);
    char buf[8];
    ASSERT_EQ(corio_sock_recv(s, buf, sizeof buf), 2);
    struct sockaddr_storage ss;
    socklen_t len;
    ASSERT_OK(corio_sock_local_addr(s, &ss, &len));
    char txt[CORIO_ADDR_STRLEN];
    corio_addr_format((struct sockaddr *)&ss, len, txt, sizeof txt);
    ASSERT_STR_EQ(txt, path);
    corio_sock_close(c);
    ASSERT_EQ(corio_sock_recv(s, buf, sizeof buf), 0);
    corio_sock_close(s);
    corio_sock_close(l);

    /* The socket file is left behind; a new listener replaces it. */
    struct stat st;
    ASSERT_OK(stat(path, &st));
    l = corio_unix_listen(path, NULL);
    ASSERT_NOT_NULL(l);
    /* While it lives, the path is in use. */
    errno = 0;
    ASSERT_NULL(corio_unix_listen(path, NULL));
    ASSERT_EQ(errno, EADDRINUSE);
    corio_sock_close(l);
    unlink(path);

    /* Not a socket: left alone. */
    FILE *f = fopen(path, "w");
    fclose(f);
    errno = 0;
    ASSERT_NULL(corio_unix_listen(path, NULL));
    ASSERT_EQ(errno, EADDRINUSE);
    unlink(path);
    errno = 0;
    ASSERT_NULL(corio_unix_connect(path));
    ASSERT_EQ(errno, ENOENT);
    return 0;
}

TEST(unix_stream_listen_connect_accept)
{
    RUN(stream);
}

static int abstract(void *arg)
{
    (void)arg;
    char name[64];
    snprintf(name, sizeof name, "@corio-test-%d", (int)getpid());
    corio_sock *l = corio_unix_listen(name, NULL);
    ASSERT_NOT_NULL(l);
    corio_sock *c = corio_unix_connect(name);
    ASSERT_NOT_NULL(c);
    corio_sock *s = corio_sock_accept(l);
    ASSERT_NOT_NULL(s);
    struct sockaddr_storage ss;
    socklen_t len;
    ASSERT_OK(corio_sock_local_addr(l, &ss, &len));
    char txt[CORIO_ADDR_STRLEN];
    corio_addr_format((struct sockaddr *)&ss, len, txt, sizeof txt);
    ASSERT_STR_EQ(txt, name);
    corio_sock_close(s);
    corio_sock_close(c);
    corio_sock_close(l);
    return 0;
}

TEST(unix_abstract_names)
{
    RUN(abstract);
}

static int dgram(void *arg)
{
    (void)arg;
    char a[108], b[108];
    tmp_path("a.sock");
    strcpy(a, path);
    tmp_path("b.sock");
    strcpy(b, path);
    corio_sock *sa = corio_unix_dgram(a, NULL);
    ASSERT_NOT_NULL(sa);
    corio_sock *sb = corio_unix_dgram(b, a);
    ASSERT_NOT_NULL(sb);
    ASSERT_EQ(corio_sock_send(sb, "one", 3), 3);
    ASSERT_EQ(corio_sock_send(sb, "three", 5), 5);
    char buf[4];
    struct sockaddr_storage from;
    socklen_t fl = sizeof from;
    ASSERT_EQ(corio_sock_recvfrom(sa, buf, sizeof buf,
                                  (struct sockaddr *)&from, &fl),
              3);
    /* The sender's bound path, for the reply. */
    ASSERT_EQ(corio_sock_sendto(sa, "ok", 2, (struct sockaddr *)&from, fl),
              2);
    ASSERT_ERR(corio_sock_recv(sa, buf, sizeof buf), -EMSGSIZE);
    ASSERT_TRUE(memcmp(buf, "thre", 4) == 0);
    ASSERT_EQ(corio_sock_recv(sb, buf, sizeof buf), 2);
    corio_sock_close(sa);
    corio_sock_close(sb);
    unlink(a);
    unlink(b);
    errno = 0;
    ASSERT_NULL(corio_unix_dgram(NULL, "/nonexistent/corio.sock"));
    ASSERT_EQ(errno, ENOENT);
    return 0;
}

TEST(unix_datagrams_keep_boundaries_and_report_truncation)
{
    RUN(dgram);
}

static int pairs(void *arg)
{
    (void)arg;
    int types[] = {SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET};
    for (int i = 0; i < 3; i++) {
        corio_sock *p[2];
        ASSERT_OK(corio_sock_pair(types[i], p));
        ASSERT_TRUE(fd_cloexec_nonblock(corio_sock_fileno(p[0])));
        ASSERT_TRUE(fd_cloexec_nonblock(corio_sock_fileno(p[1])));
        ASSERT_EQ(corio_sock_send(p[0], "abc", 3), 3);
        char buf[2];
        ssize_t n = corio_sock_recv(p[1], buf, sizeof buf);
        if (types[i] == SOCK_STREAM)
            ASSERT_EQ(n, 2);
        else
            ASSERT_ERR(n, -EMSGSIZE);
        corio_sock_close(p[0]);
        corio_sock_close(p[1]);
    }
    ASSERT_ERR(corio_sock_pair(SOCK_STREAM, NULL), -EINVAL);
    return 0;
}

TEST(socket_pairs)
{
    RUN(pairs);
}

static corio_sock *lsock;

static int late_accept(void *arg)
{
    (void)arg;
    if (corio_sleep(0.05) < 0)
        return -1;
    for (int i = 0; i < 3; i++) {
        corio_sock *s = corio_sock_accept(lsock);
        if (!s)
            return -errno;
        corio_sock_close(s);
    }
    return 0;
}

static int full_backlog(void *arg)
{
    (void)arg;
    tmp_path("full.sock");
    corio_listen_opts o = {.backlog = 1};
    lsock = corio_unix_listen(path, &o);
    ASSERT_NOT_NULL(lsock);
    corio_sock *c[3];
    /* The backlog holds two; the third connect retries until the
     * listener accepts. */
    corio_task *t = corio_spawn(late_accept, NULL);
    for (int i = 0; i < 3; i++) {
        c[i] = corio_unix_connect(path);
        ASSERT_NOT_NULL(c[i]);
    }
    ASSERT_OK(corio_join(t));
    for (int i = 0; i < 3; i++)
        corio_sock_close(c[i]);
    /* And the retry honours deadlines. */
    corio_sock *d[2];
    for (int i = 0; i < 2; i++)
        d[i] = corio_unix_connect(path);
    corio_scope sc;
    ASSERT_OK(corio_scope_enter(&sc, 0.05));
    errno = 0;
    ASSERT_NULL(corio_unix_connect(path));
    ASSERT_EQ(errno, ETIMEDOUT);
    corio_scope_exit(&sc);
    for (int i = 0; i < 2; i++)
        corio_sock_close(d[i]);
    corio_sock_close(lsock);
    unlink(path);
    return 0;
}

TEST(unix_connect_waits_out_a_full_backlog)
{
    RUN(full_backlog);
}

/* SPDX-License-Identifier: MIT */
/* Connections: Unix socket, TCP by name (resolved by corio, not libpq),
 * URIs, TLS, failures (refused, bad conninfo, bad password, timeouts),
 * status and close. */
#include "pg_helpers.h"

#include <netinet/in.h>

static int basic(void *arg)
{
    (void)arg;
    corio_pg *c = pg_open();
    ASSERT_EQ(corio_pg_status(c), CORIO_PG_IDLE);
    char buf[64];
    ASSERT_STR_EQ(pg_scalar(c, "SELECT 1 + 1", buf, sizeof buf), "2");
    ASSERT_NULL(corio_pg_error(c, CORIO_PG_MESSAGE));
    ASSERT_OK(corio_pg_close(c));
    ASSERT_OK(corio_pg_close(NULL));
    return 0;
}

TEST(connect_over_the_unix_socket_and_query)
{
    RUN(basic);
}

static int by_name(void *arg)
{
    (void)arg;
    const char *port = pg_state_file("port");
    if (!port)
        th_skip("no throwaway cluster");
    /* "localhost" goes through corio_getaddrinfo, then to libpq as
     * hostaddr; the URI form too. */
    char dsn[256];
    snprintf(dsn, sizeof dsn,
             "host=localhost port=%s user=corio dbname=postgres "
             "sslmode=disable",
             port);
    corio_pg *c = corio_pg_connect(dsn);
    ASSERT_NOT_NULL(c);
    char buf[64];
    ASSERT_STR_EQ(pg_scalar(c, "SELECT inet_client_addr() IS NOT NULL", buf,
                            sizeof buf),
                  "t");
    corio_pg_close(c);
    snprintf(dsn, sizeof dsn,
             "postgresql://corio@localhost:%s/postgres?sslmode=disable",
             port);
    c = corio_pg_connect(dsn);
    ASSERT_NOT_NULL(c);
    ASSERT_STR_EQ(pg_scalar(c, "SELECT current_user", buf, sizeof buf),
                  "corio");
    corio_pg_close(c);
    return 0;
}

TEST(connect_by_host_name_and_uri)
{
    RUN(by_name);
}

static int tls(void *arg)
{
    (void)arg;
    char dsn[300];
    snprintf(dsn, sizeof dsn, "%s sslmode=require", pg_dsn_tcp());
    corio_pg *c = corio_pg_connect(dsn);
    if (!c && strstr(corio_pg_connect_error(), "SSL"))
        th_skip("the server has no TLS (no openssl to make a certificate)");
    ASSERT_NOT_NULL(c);
    char buf[64];
    ASSERT_STR_EQ(pg_scalar(c,
                            "SELECT ssl FROM pg_stat_ssl WHERE pid = "
                            "pg_backend_pid()",
                            buf, sizeof buf),
                  "t");
    /* Results larger than a TLS record, so that OpenSSL keeps decrypted
     * bytes that the socket no longer reports. */
    for (int i = 0; i < 20; i++) {
        corio_pg_result *r = corio_pg_query(
            c, "SELECT repeat('x', 70000 + $1::int) FROM generate_series(1, 5)",
            1, (const char *[]){"3"});
        ASSERT_NOT_NULL(r);
        ASSERT_EQ(corio_pg_nrows(r), 5);
        ASSERT_EQ(corio_pg_length(r, 4, 0), 70003);
        corio_pg_result_close(r);
    }
    corio_pg_close(c);
    return 0;
}

TEST(tls_connection_with_large_results)
{
    RUN(tls);
}

static int refused(void *arg)
{
    (void)arg;
    /* A port nobody listens on: bind one, then close it. */
    corio_sock *s = corio_tcp_listen("127.0.0.1", 0, NULL);
    ASSERT_NOT_NULL(s);
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    ASSERT_OK(getsockname(corio_sock_fileno(s), (struct sockaddr *)&a, &len));
    corio_sock_close(s);
    char dsn[128];
    snprintf(dsn, sizeof dsn, "host=127.0.0.1 port=%d user=corio",
             ntohs(a.sin_port));
    ASSERT_NULL(corio_pg_connect(dsn));
    ASSERT_EQ(errno, ECONNREFUSED);
    ASSERT_TRUE(strstr(corio_pg_connect_error(), "refused") != NULL);

    ASSERT_NULL(corio_pg_connect("host=x port=5432 nonsense=1"));
    ASSERT_EQ(errno, EINVAL);
    ASSERT_TRUE(strstr(corio_pg_connect_error(), "nonsense") != NULL);
    ASSERT_NULL(corio_pg_connect(NULL));
    ASSERT_EQ(errno, EINVAL);
    return 0;
}

TEST(connect_refused_and_bad_conninfo)
{
    RUN(refused);
}

static void outside(void)
{
    ASSERT_NULL(corio_pg_connect(""));
    ASSERT_EQ(errno, EPERM);
}

TEST(connect_outside_a_task_is_eperm)
{
    outside();
}

static int password(void *arg)
{
    (void)arg;
    const char *tcp = pg_dsn_tcp();
    corio_pg *c = pg_open();
    /* The cluster's pg_hba.conf asks corio_pw for a SCRAM password. */
    corio_pg_exec(c, "CREATE ROLE corio_pw LOGIN PASSWORD 'secret'", 0, NULL);
    corio_pg_close(c);
    char dsn[300];
    /* A keyword given twice: the last value counts. */
    snprintf(dsn, sizeof dsn, "%s user=corio_pw password=wrong", tcp);
    ASSERT_NULL(corio_pg_connect(dsn));
    ASSERT_EQ(errno, ECONNREFUSED);
    ASSERT_TRUE(strstr(corio_pg_connect_error(), "password") != NULL);
    snprintf(dsn + strlen(dsn) - 5, 8, "secret");
    c = corio_pg_connect(dsn);
    if (!c)
        FAIL("%s", corio_pg_connect_error());
    char buf[64];
    ASSERT_STR_EQ(pg_scalar(c, "SELECT current_user", buf, sizeof buf),
                  "corio_pw");
    corio_pg_close(c);
    return 0;
}

TEST(password_authentication)
{
    RUN(password);
}

/* A server that accepts TCP connections and never answers. */
static int silent_port(corio_sock **s)
{
    *s = corio_tcp_listen("127.0.0.1", 0, NULL);
    ASSERT_NOT_NULL(*s);
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    ASSERT_OK(getsockname(corio_sock_fileno(*s), (struct sockaddr *)&a,
                          &len));
    return ntohs(a.sin_port);
}

static int timeouts(void *arg)
{
    (void)arg;
    corio_sock *s;
    int port = silent_port(&s);
    char dsn[160];
    snprintf(dsn, sizeof dsn,
             "host=127.0.0.1 port=%d user=corio sslmode=disable "
             "connect_timeout=2",
             port);
    double t0 = corio_time();
    ASSERT_NULL(corio_pg_connect(dsn));
    ASSERT_EQ(errno, ETIMEDOUT);
    ASSERT_NEAR(corio_time() - t0, 2.0, 0.5);
    ASSERT_STR_EQ(corio_pg_connect_error(), "timeout expired");
    /* A cancel scope bounds it too. */
    snprintf(dsn, sizeof dsn,
             "host=127.0.0.1 port=%d user=corio sslmode=disable", port);
    corio_scope sc;
    corio_scope_enter(&sc, 0.1);
    t0 = corio_time();
    ASSERT_NULL(corio_pg_connect(dsn));
    ASSERT_EQ(errno, ETIMEDOUT);
    ASSERT_ERR(corio_scope_exit(&sc), -ETIMEDOUT);
    ASSERT_LT(corio_time() - t0, 0.5);
    corio_sock_close(s);
    return 0;
}

TEST(connect_timeout_and_deadline)
{
    RUN(timeouts);
}

static corio_pg *shared;

static int long_query(void *arg)
{
    (void)arg;
    return (int)corio_pg_exec(shared, "SELECT pg_sleep(30)", 0, NULL);
}

static int close_busy(void *arg)
{
    (void)arg;
    shared = pg_open();
    corio_task *t = corio_spawn(long_query, NULL);
    ASSERT_OK(corio_sleep(0.05));
    ASSERT_EQ(corio_pg_status(shared), CORIO_PG_BUSY);
    ASSERT_ERR(corio_pg_exec(shared, "SELECT 1", 0, NULL), -EBUSY);
    double t0 = corio_time();
    ASSERT_OK(corio_pg_close(shared));
    ASSERT_TRUE(corio_task_done(t));
    ASSERT_ERR(corio_join(t), -EBADF);
    ASSERT_LT(corio_time() - t0, 1.0);
    return 0;
}

TEST(close_ends_another_tasks_query_with_ebadf)
{
    RUN(close_busy);
}

static int lost(void *arg)
{
    (void)arg;
    corio_pg *c = pg_open();
    corio_pg *killer = pg_open();
    char buf[32];
    const char *pid = pg_scalar(c, "SELECT pg_backend_pid()", buf, sizeof buf);
    const char *v[1] = {pid};
    ASSERT_EQ(corio_pg_exec(killer, "SELECT pg_terminate_backend($1)", 1, v),
              1);
    pg_wait_gone(killer, pid);
    corio_pg_close(killer);
    ASSERT_OK(corio_sleep(0.05)); /* its last bytes and the end of stream */
    int64_t rc = corio_pg_exec(c, "SELECT 1", 0, NULL);
    ASSERT_TRUE(rc == -ECONNRESET || rc == -EREMOTEIO);
    ASSERT_NOT_NULL(corio_pg_error(c, CORIO_PG_MESSAGE));
    if (rc == -EREMOTEIO) /* the FATAL message came first */
        rc = corio_pg_exec(c, "SELECT 1", 0, NULL);
    ASSERT_TRUE(rc == -ECONNRESET || rc == -ENOTCONN);
    ASSERT_ERR(corio_pg_status(c), -ENOTCONN);
    ASSERT_ERR(corio_pg_exec(c, "SELECT 1", 0, NULL), -ENOTCONN);
    corio_pg_close(c);
    return 0;
}

TEST(a_lost_connection_reports_econnreset_then_enotconn)
{
    RUN(lost);
}

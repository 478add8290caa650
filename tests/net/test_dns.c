/* SPDX-License-Identifier: MIT */
/* DNS: the hosts file (localhost, and a file named by CARES_HOSTS),
 * numeric hosts that never reach the resolver, names from a DNS server
 * (a fake one on 127.0.0.1: no test sends a query off the machine), a
 * nonexistent name, cancellation and deadlines (against a server that
 * never answers), several lookups at once with the driving task
 * cancelled, and the resolver's lifetime. */
#include "helpers.h"

#include "core/core.h"
#include "core/testing.h"

static int lookup(const char *host, int family, struct addrinfo **res)
{
    struct addrinfo hints = {.ai_family = family,
                             .ai_socktype = SOCK_STREAM};
    return corio_getaddrinfo(host, "80", &hints, res);
}

static void first_addr(const struct addrinfo *ai, char *txt)
{
    ASSERT_NOT_NULL(ai);
    corio_addr_format(ai->ai_addr, ai->ai_addrlen, txt, CORIO_ADDR_STRLEN);
}

static int hosts(void *arg)
{
    (void)arg;
    struct fake_dns dns = {0};
    fake_dns_start(&dns);
    struct addrinfo *res;
    char txt[CORIO_ADDR_STRLEN];
    ASSERT_OK(lookup("localhost", AF_INET, &res));
    first_addr(res, txt);
    ASSERT_STR_EQ(txt, "127.0.0.1:80");
    ASSERT_EQ(res->ai_socktype, SOCK_STREAM);
    corio_freeaddrinfo(res);
    /* The hosts file answered: nothing was asked of the server. */
    ASSERT_EQ(dns.queries, 0);
    fake_dns_stop(&dns);
    return 0;
}

TEST(localhost_comes_from_the_hosts_file)
{
    RUN(hosts);
}

static char hosts_path[64];

static int custom_hosts(void *arg)
{
    (void)arg;
    struct fake_dns dns = {0};
    fake_dns_start(&dns);
    struct addrinfo *res;
    char txt[CORIO_ADDR_STRLEN];
    ASSERT_OK(lookup("api.corio.internal", AF_UNSPEC, &res));
    int n = 0;
    bool v4 = false, v6 = false;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next, n++) {
        first_addr(ai, txt);
        v4 |= strcmp(txt, "127.0.0.42:80") == 0;
        v6 |= strcmp(txt, "[::1]:80") == 0;
    }
    ASSERT_TRUE(v4 && v6);
    corio_freeaddrinfo(res);
    ASSERT_OK(lookup("alias.corio.internal", AF_INET, &res));
    first_addr(res, txt);
    ASSERT_STR_EQ(txt, "127.0.0.42:80");
    corio_freeaddrinfo(res);
    ASSERT_EQ(dns.queries, 0);
    fake_dns_stop(&dns);
    return 0;
}

TEST(names_from_the_file_cares_hosts_names)
{
    snprintf(hosts_path, sizeof hosts_path, "/tmp/corio-hosts-%d",
             (int)getpid());
    FILE *f = fopen(hosts_path, "w");
    ASSERT_NOT_NULL(f);
    fprintf(f, "127.0.0.42 api.corio.internal alias.corio.internal\n"
               "::1 api.corio.internal\n");
    fclose(f);
    setenv("CARES_HOSTS", hosts_path, 1);
    RUN(custom_hosts);
    unlink(hosts_path);
}

static int numeric(void *arg)
{
    (void)arg;
    struct addrinfo *res;
    char txt[CORIO_ADDR_STRLEN];
    ASSERT_OK(lookup("192.0.2.7", AF_UNSPEC, &res));
    first_addr(res, txt);
    ASSERT_STR_EQ(txt, "192.0.2.7:80");
    corio_freeaddrinfo(res);
    ASSERT_OK(lookup("2001:db8::1", AF_INET6, &res));
    first_addr(res, txt);
    ASSERT_STR_EQ(txt, "[2001:db8::1]:80");
    corio_freeaddrinfo(res);
    ASSERT_ERR(lookup("2001:db8::1", AF_INET, &res), -EAFNOSUPPORT);
    /* Passive, no host: the wildcard. */
    struct addrinfo hints = {.ai_family = AF_INET, .ai_flags = AI_PASSIVE};
    ASSERT_OK(corio_getaddrinfo(NULL, "8080", &hints, &res));
    first_addr(res, txt);
    ASSERT_STR_EQ(txt, "0.0.0.0:8080");
    corio_freeaddrinfo(res);
    /* None of this made the loop's resolver. */
    ASSERT_NULL(corio_loop_current()->dns);
    /* AI_NUMERICHOST refuses a name without resolving it. */
    hints.ai_flags = AI_NUMERICHOST;
    ASSERT_ERR(corio_getaddrinfo("localhost", "80", &hints, &res), -EINVAL);
    ASSERT_NULL(corio_loop_current()->dns);
    ASSERT_ERR(corio_getaddrinfo(NULL, NULL, NULL, &res), -EINVAL);
    ASSERT_ERR(corio_getaddrinfo("x", "80", NULL, NULL), -EINVAL);
    corio_freeaddrinfo(NULL);
    return 0;
}

TEST(numeric_hosts_skip_dns)
{
    RUN(numeric);
}

TEST(numeric_hosts_work_outside_a_task)
{
    struct addrinfo *res;
    ASSERT_OK(corio_getaddrinfo("127.0.0.1", "1", NULL, &res));
    corio_freeaddrinfo(res);
    ASSERT_ERR(corio_getaddrinfo("localhost", "1", NULL, &res), -EPERM);
    ASSERT_ERR(corio_dns_set_servers("127.0.0.1"), -EPERM);
}

static int from_dns(void *arg)
{
    (void)arg;
    struct fake_dns dns = {0};
    dns.names[0] = "www.corio.test";
    inet_pton(AF_INET, "192.0.2.10", &dns.addrs[0]);
    fake_dns_start(&dns);
    struct addrinfo *res;
    char txt[CORIO_ADDR_STRLEN];
    ASSERT_OK(lookup("www.corio.test", AF_INET, &res));
    first_addr(res, txt);
    ASSERT_STR_EQ(txt, "192.0.2.10:80");
    corio_freeaddrinfo(res);
    /* Both families asked: the A answer, no AAAA. */
    ASSERT_OK(lookup("www.corio.test", AF_UNSPEC, &res));
    first_addr(res, txt);
    ASSERT_STR_EQ(txt, "192.0.2.10:80");
    ASSERT_NULL(res->ai_next);
    corio_freeaddrinfo(res);
    /* The canonical name, on request. */
    struct addrinfo hints = {.ai_family = AF_INET,
                             .ai_flags = AI_CANONNAME};
    ASSERT_OK(corio_getaddrinfo("www.corio.test", NULL, &hints, &res));
    ASSERT_STR_EQ(res->ai_canonname, "www.corio.test");
    corio_freeaddrinfo(res);
    /* No address of the family asked for. */
    ASSERT_ERR(lookup("www.corio.test", AF_INET6, &res), -ENODATA);
    /* A name that does not exist. */
    ASSERT_ERR(lookup("nowhere.corio.test", AF_UNSPEC, &res), -ENXIO);
    ASSERT_NULL(res);
    ASSERT_GE(dns.queries, 5);
    fake_dns_stop(&dns);
    return 0;
}

TEST(names_from_a_server_and_a_nonexistent_name)
{
    RUN(from_dns);
}

static int lookup_task(void *arg)
{
    struct addrinfo *res = NULL;
    int rc = lookup(arg, AF_INET, &res);
    corio_freeaddrinfo(res);
    return rc;
}

static int cancel(void *arg)
{
    (void)arg;
    struct fake_dns dns = {.silent = true};
    fake_dns_start(&dns);
    int fds = th_count_fds();
    fd_snapshot();
    corio_task *t = corio_spawn(lookup_task, (void *)"lost.corio.test");
    WAIT_UNTIL(dns.queries > 0, 10);
    ASSERT_GT(dns.queries, 0);
    /* c-ares's own socket too is close-on-exec. */
    ASSERT_GT(th_count_fds(), fds);
    ASSERT_TRUE(new_fds_cloexec());
    corio_cancel(t);
    ASSERT_ERR(corio_join(t), -ECANCELED);
    /* Nobody waits: the query is dropped, and c-ares keeps no socket. */
    ASSERT_EQ(th_count_fds(), fds);

    /* A deadline, the same way. */
    corio_scope sc;
    ASSERT_OK(corio_scope_enter(&sc, 0.05));
    struct addrinfo *res;
    double t0 = corio_time();
    ASSERT_ERR(lookup("slow.corio.test", AF_UNSPEC, &res), -ETIMEDOUT);
    ASSERT_LT(corio_time() - t0, 1.0);
    corio_scope_exit(&sc);
    fake_dns_stop(&dns);
    return 0;
}

TEST(lookups_honour_cancellation_and_deadlines)
{
    RUN(cancel);
}

static int handoff(void *arg)
{
    (void)arg;
    /* Several lookups at once, answered late; the first (which drives
     * c-ares) is cancelled, and the others still complete. */
    struct fake_dns dns = {.delay = 0.1};
    dns.names[0] = "a.slow";
    dns.names[1] = "b.slow";
    dns.names[2] = "c.slow";
    for (int i = 0; i < 3; i++)
        inet_pton(AF_INET, "192.0.2.1", &dns.addrs[i]);
    fake_dns_start(&dns);
    corio_task *a = corio_spawn(lookup_task, (void *)"a.slow");
    corio_task *b = corio_spawn(lookup_task, (void *)"b.slow");
    corio_task *c = corio_spawn(lookup_task, (void *)"c.slow");
    /* No such name: */
    corio_task *d = corio_spawn(lookup_task, (void *)"d.slow");
    ASSERT_OK(corio_sleep(0.03));
    corio_cancel(a);
    ASSERT_ERR(corio_join(a), -ECANCELED);
    ASSERT_OK(corio_join(b));
    ASSERT_OK(corio_join(c));
    ASSERT_ERR(corio_join(d), -ENXIO);
    ASSERT_OK(corio_sleep(0.15)); /* the late answer to a's query */
    fake_dns_stop(&dns);
    return 0;
}

TEST(concurrent_lookups_survive_the_leader_s_cancellation)
{
    RUN(handoff);
}

static int servers(void *arg)
{
    (void)arg;
    ASSERT_ERR(corio_dns_set_servers("not an address"), -EINVAL);
    ASSERT_OK(corio_dns_set_servers("127.0.0.1:5353,[::1]:53"));
    ASSERT_OK(corio_dns_set_servers(NULL));
    return 0;
}

TEST(set_servers)
{
    RUN(servers);
}

static int faults(void *arg)
{
    (void)arg;
    struct fake_dns dns = {0};
    dns.names[0] = "f.corio.test";
    inet_pton(AF_INET, "192.0.2.3", &dns.addrs[0]);
    fake_dns_start(&dns);
    /* Fail the Nth allocation (ours and c-ares's) until the lookup
     * succeeds: every run ends cleanly and leaks nothing. */
    for (long nth = 1;; nth++) {
        struct addrinfo *res = NULL;
        corio__fault_alloc(nth);
        int rc = lookup("f.corio.test", AF_INET, &res);
        corio__fault_alloc(0);
        corio_freeaddrinfo(res);
        if (rc == 0)
            break;
        ASSERT_LT(nth, 200);
    }
    fake_dns_stop(&dns);
    return 0;
}

TEST(lookups_under_fault_injection)
{
    RUN(faults);
}

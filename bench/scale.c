/* SPDX-License-Identifier: MIT */
/* Issue 5 workload: how a CPU-light request loop scales from one loop to
 * one loop per core. Each loop runs an echo server and C client tasks that
 * send 64 bytes and wait for them back over loopback TCP, for D seconds;
 * the same with 1 loop and with N loops (corio_multi_run, threads pinned).
 * Everything stays in one process, so no outside load generator competes
 * for the 2 cores: each loop is its own load generator, and gets its own
 * core. Mode "cpu" is the CPU-light request loop without the kernel: client
 * tasks queue a request (256 bytes to hash) with a future, a server task
 * answers it, the client awaits the future. Prints requests per second for
 * 1 and N loops, and the ratio.
 * Usage: bench_scale [CLIENTS_PER_LOOP] [SECONDS] [LOOPS] [echo|cpu] */
#include <corio.h>

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static double seconds;
static int clients;
static atomic_long total;

static int echo(corio_stream *s, void *arg)
{
    (void)arg;
    char buf[2048];
    for (;;) {
        ssize_t n = corio_stream_read(s, buf, sizeof buf);
        if (n <= 0)
            return (int)n;
        int rc = corio_stream_write(s, buf, (size_t)n);
        if (rc == 0)
            rc = corio_stream_drain(s);
        if (rc < 0)
            return rc;
    }
}

static int port_of(corio_server *srv)
{
    struct sockaddr_storage ss;
    corio_sock_local_addr(corio_server_sock(srv), &ss, NULL);
    return corio_addr_port((struct sockaddr *)&ss);
}

struct client {
    int port;
    double until;
    long done;
};

static int client(void *arg)
{
    struct client *c = arg;
    corio_sock *s = corio_tcp_connect("127.0.0.1", c->port, NULL);
    if (!s)
        return -1;
    char msg[64] = {0}, back[64];
    while (corio_time() < c->until) {
        if (corio_sock_send(s, msg, sizeof msg) != sizeof msg)
            break;
        size_t got = 0;
        while (got < sizeof back) {
            ssize_t n = corio_sock_recv(s, back + got, sizeof back - got);
            if (n <= 0)
                goto out;
            got += (size_t)n;
        }
        c->done++;
    }
out:
    corio_sock_close(s);
    return 0;
}

/* ---- mode cpu: a request loop through a queue and futures ---- */

struct request {
    unsigned char body[256];
    corio_future *reply;
};

static int answer(void *arg)
{
    corio_queue *q = arg;
    void *item;
    while (corio_queue_get(q, &item) == 0) {
        struct request *r = item;
        uint32_t h = 2166136261u; /* FNV-1a: a little CPU per request */
        for (size_t i = 0; i < sizeof r->body; i++)
            h = (h ^ r->body[i]) * 16777619u;
        corio_future_set_result(r->reply, (void *)(uintptr_t)h);
    }
    return 0;
}

struct asker {
    corio_queue *q;
    double until;
    long done;
};

static int ask(void *arg)
{
    struct asker *a = arg;
    struct request r;
    memset(r.body, (int)(uintptr_t)a & 0xff, sizeof r.body);
    while (corio_time() < a->until) {
        r.reply = corio_future_new(NULL);
        if (!r.reply || corio_queue_put(a->q, &r) < 0)
            return -1;
        void *v;
        int rc = corio_future_await(r.reply, &v);
        corio_future_unref(r.reply);
        if (rc < 0)
            return rc;
        r.body[0] = (unsigned char)(uintptr_t)v;
        a->done++;
    }
    return 0;
}

static int per_loop_cpu(void *arg)
{
    (void)arg;
    corio_queue *q = corio_queue_new(NULL);
    if (!q)
        return -1;
    corio_task *server = corio_spawn(answer, q);
    struct asker *a = calloc((size_t)clients, sizeof *a);
    corio_task **t = calloc((size_t)clients, sizeof *t);
    double until = corio_time() + seconds;
    for (int i = 0; i < clients; i++) {
        a[i] = (struct asker){q, until, 0};
        t[i] = corio_spawn(ask, &a[i]);
    }
    long sum = 0;
    for (int i = 0; i < clients; i++) {
        corio_join(t[i]);
        sum += a[i].done;
    }
    atomic_fetch_add(&total, sum);
    corio_queue_shutdown(q, true);
    corio_join(server);
    corio_queue_close(q);
    free(a);
    free(t);
    return 0;
}

/* ---- mode echo: one loop's share is a server and its clients ---- */

static int per_loop(void *arg)
{
    (void)arg;
    corio_server *srv = corio_start_server("127.0.0.1", 0, echo, NULL, NULL);
    if (!srv)
        return -1;
    struct client *c = calloc((size_t)clients, sizeof *c);
    corio_task **t = calloc((size_t)clients, sizeof *t);
    double until = corio_time() + seconds;
    for (int i = 0; i < clients; i++) {
        c[i] = (struct client){port_of(srv), until, 0};
        t[i] = corio_spawn(client, &c[i]);
    }
    long sum = 0;
    for (int i = 0; i < clients; i++) {
        corio_join(t[i]);
        sum += c[i].done;
    }
    atomic_fetch_add(&total, sum);
    corio_server_close(srv, 0);
    free(c);
    free(t);
    return 0;
}

static double run(unsigned loops, int (*fn)(void *))
{
    atomic_store(&total, 0);
    corio_multi_opts o = {.loops = loops, .pin = true};
    if (corio_multi_run(&o, fn, NULL) < 0)
        return -1;
    return (double)atomic_load(&total) / seconds;
}

int main(int argc, char **argv)
{
    clients = (int)bench_arg_long(argc, argv, 1, 50);
    seconds = bench_arg_double(argc, argv, 2, 5.0);
    unsigned loops = (unsigned)bench_arg_long(argc, argv, 3, 2);
    bool cpu = argc > 4 && strcmp(argv[4], "cpu") == 0;
    int (*fn)(void *) = cpu ? per_loop_cpu : per_loop;
    double one = run(1, fn);
    double many = run(loops, fn);
    if (one <= 0 || many <= 0)
        return 1;
    printf("{\"impl\": \"corio\", \"mode\": \"%s\", \"n\": %d, "
           "\"loops\": %u, \"rt_per_s_1\": %.0f, \"rt_per_s_n\": %.0f, "
           "\"scaling\": %.3f}\n", cpu ? "cpu" : "echo", clients, loops, one,
           many, many / one);
    return 0;
}

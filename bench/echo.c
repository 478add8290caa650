/* SPDX-License-Identifier: MIT */
/* Workloads (m) and (n): corio's echo server. Serves every connection in a
 * task of its own, with streams (corio_start_server) or, with --sock, raw
 * sockets and an accept loop, until SIGTERM or SIGINT. Prints "port N"
 * once listening; bench_echo_load drives it, and bench/run measures its
 * CPU time and memory from outside.
 * Usage: bench_echo PORT [--sock] */
#include <corio.h>

#include <errno.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

/* 2 KiB buffers on the handlers' stacks: reads of this size go straight
 * into them, and the handler's frames fit in one stack page, so an idle
 * connection's task touches one page (4 KiB buffers make it two). */
#ifndef BUF
#define BUF 2048
#endif

static int stream_echo(corio_stream *s, void *arg)
{
    (void)arg;
    char buf[BUF];
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

static int sock_echo(void *arg)
{
    corio_sock *s = arg;
    char buf[BUF];
    ssize_t n;
    while ((n = corio_sock_recv(s, buf, sizeof buf)) > 0)
        if (corio_sock_send(s, buf, (size_t)n) != n)
            break;
    corio_sock_close(s);
    return 0;
}

static int accept_loop(void *arg)
{
    corio_sock *l = arg;
    for (;;) {
        corio_sock *s = corio_sock_accept(l);
        if (!s) {
            if (errno == ECANCELED || errno == EBADF)
                return 0;
            corio_sleep(0.01); /* out of descriptors: back off */
            continue;
        }
        corio_task *t = corio_spawn(sock_echo, s);
        if (t)
            corio_task_unref(t);
        else
            corio_sock_close(s);
    }
}

static sigset_t stop;
static bool use_sock;

static int wait_stop(void)
{
    int fd = signalfd(-1, &stop, SFD_NONBLOCK | SFD_CLOEXEC);
    corio_fd *f = corio_fd_open(fd);
    if (!f)
        return -1;
    int rc = corio_fd_wait(f, CORIO_READABLE);
    corio_fd_close(f);
    close(fd);
    return rc;
}

static void print_port(corio_sock *l)
{
    struct sockaddr_storage ss;
    corio_sock_local_addr(l, &ss, NULL);
    printf("port %d\n", corio_addr_port((struct sockaddr *)&ss));
    fflush(stdout);
}

static int serve(void *arg)
{
    int port = *(int *)arg;
    if (use_sock) {
        corio_sock *l = corio_tcp_listen("127.0.0.1", port, NULL);
        if (!l)
            return 1;
        print_port(l);
        corio_task *a = corio_spawn(accept_loop, l);
        wait_stop();
        corio_cancel(a);
        corio_join(a);
        corio_sock_close(l);
        return 0; /* corio_run cancels the connections' tasks */
    }
    corio_server *srv = corio_start_server("127.0.0.1", port, stream_echo,
                                           NULL, NULL);
    if (!srv)
        return 1;
    print_port(corio_server_sock(srv));
    wait_stop();
    corio_server_close(srv, 0);
    return 0;
}

int main(int argc, char **argv)
{
    int port = -1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--sock") == 0)
            use_sock = true;
        else
            port = atoi(argv[i]);
    }
    if (port < 0) {
        fprintf(stderr, "usage: bench_echo PORT [--sock]\n");
        return 2;
    }
    /* Room for the idle workload's 10,000 connections. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    sigprocmask(SIG_BLOCK, &stop, NULL);
    int rc = corio_run(serve, &port);
    if (rc)
        fprintf(stderr, "bench_echo: failed (%d)\n", rc);
    return rc != 0;
}

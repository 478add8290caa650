/* SPDX-License-Identifier: MIT */
/* chat_server PORT: every line a client sends goes to all the other
 * connected clients, until SIGINT or SIGTERM. Writes never wait: a client
 * too slow to keep up (over 1 MiB unsent) misses lines rather than
 * holding up the others. PORT 0 picks a free port, printed first. */
#include <corio.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#define MAX_UNSENT (1 << 20)

/* The connected clients: each handler adds its own stream. */
struct client {
    corio_stream *s;
    struct client *next;
};
static struct client *clients;
static int nclients;

static void broadcast(const struct client *from, const char *line, size_t n)
{
    for (struct client *c = clients; c; c = c->next)
        if (c != from && corio_stream_write_buffered(c->s) < MAX_UNSENT)
            corio_stream_write(c->s, line, n);
}

static int chat(corio_stream *s, void *arg)
{
    (void)arg;
    struct client me = {.s = s, .next = clients};
    clients = &me;
    printf("clients: %d\n", ++nclients);
    fflush(stdout);
    char line[1024];
    ssize_t n;
    while ((n = corio_stream_readline(s, line, sizeof line)) > 0)
        broadcast(&me, line, (size_t)n);
    /* Leave the list before the server closes the stream. */
    struct client **pp = &clients;
    while (*pp != &me)
        pp = &(*pp)->next;
    *pp = me.next;
    printf("clients: %d\n", --nclients);
    fflush(stdout);
    return 0;
}

static int wait_for_signal(const sigset_t *set)
{
    int fd = signalfd(-1, set, SFD_NONBLOCK | SFD_CLOEXEC);
    corio_fd *f = fd < 0 ? NULL : corio_fd_open(fd);
    if (!f)
        return -errno;
    struct signalfd_siginfo si;
    int rc;
    while ((rc = corio_fd_wait(f, CORIO_READABLE)) > 0 &&
           read(fd, &si, sizeof si) != (ssize_t)sizeof si)
        ;
    corio_fd_close(f);
    close(fd);
    return rc < 0 ? rc : (int)si.ssi_signo;
}

static sigset_t stop_signals;

static int serve(void *arg)
{
    int port = *(int *)arg;
    corio_server *srv = corio_start_server("0.0.0.0", port, chat, NULL, NULL);
    if (!srv) {
        fprintf(stderr, "chat_server: %s\n", strerror(errno));
        return 1;
    }
    struct sockaddr_storage ss;
    socklen_t len;
    char addr[CORIO_ADDR_STRLEN];
    corio_sock_local_addr(corio_server_sock(srv), &ss, &len);
    corio_addr_format((struct sockaddr *)&ss, len, addr, sizeof addr);
    printf("listening on %s\n", addr);
    fflush(stdout);
    wait_for_signal(&stop_signals);
    /* Chat connections never end by themselves: cancel them at once. */
    corio_server_close(srv, 0);
    printf("closed\n");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: chat_server PORT\n");
        return 2;
    }
    int port = atoi(argv[1]);
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    sigprocmask(SIG_BLOCK, &stop_signals, NULL);
    return corio_run(serve, &port) == 0 ? 0 : 1;
}

/* SPDX-License-Identifier: MIT */
/* echo_server PORT: echo every byte on 0.0.0.0:PORT until SIGINT or
 * SIGTERM, then close gracefully (asyncio's start_server example). Each
 * connection is served by a task of its own; PORT 0 picks a free port,
 * printed on the first line. */
#include <corio.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

/* The handler: a plain loop, as in a thread-per-connection server. */
static int echo(corio_stream *s, void *arg)
{
    (void)arg;
    char buf[16384];
    for (;;) {
        ssize_t n = corio_stream_read(s, buf, sizeof buf);
        if (n <= 0)
            return (int)n; /* 0: the client is done */
        int rc = corio_stream_write(s, buf, (size_t)n);
        if (rc == 0)
            rc = corio_stream_drain(s);
        if (rc < 0)
            return rc;
    }
}

/* Wait for SIGINT or SIGTERM: a signalfd watched by the loop. main()
 * blocked both, so they queue on the signalfd instead of killing us. */
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
    corio_server *srv = corio_start_server("0.0.0.0", port, echo, NULL, NULL);
    if (!srv) {
        fprintf(stderr, "echo_server: %s\n", strerror(errno));
        return 1;
    }
    struct sockaddr_storage ss;
    socklen_t len;
    char addr[CORIO_ADDR_STRLEN];
    corio_sock_local_addr(corio_server_sock(srv), &ss, &len);
    corio_addr_format((struct sockaddr *)&ss, len, addr, sizeof addr);
    printf("listening on %s\n", addr);
    fflush(stdout);

    int sig = wait_for_signal(&stop_signals);
    printf("%s: closing\n", sig > 0 ? strsignal(sig) : strerror(-sig));
    /* Stop accepting; give the connections 5 s, then cancel them. */
    int cancelled = corio_server_close(srv, 5.0);
    printf("closed; %d connection(s) cancelled\n", cancelled);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: echo_server PORT\n");
        return 2;
    }
    int port = atoi(argv[1]);
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    sigprocmask(SIG_BLOCK, &stop_signals, NULL);
    return corio_run(serve, &port) == 0 ? 0 : 1;
}

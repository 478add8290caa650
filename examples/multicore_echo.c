/* SPDX-License-Identifier: MIT */
/* multicore_echo PORT [LOOPS]: the echo server on one loop per core. Each
 * loop accepts on its own SO_REUSEPORT socket and serves its connections
 * itself, so handlers never share anything and need no locks. Runs until
 * SIGINT or SIGTERM; PORT 0 picks a free port, printed on the first
 * line. */
#include <corio.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int echo(corio_stream *s, void *arg)
{
    (void)arg;
    char buf[16384];
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

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: multicore_echo PORT [LOOPS]\n");
        return 2;
    }
    /* The loops' threads block every signal; block these here too and
     * wait for them below, in this plain thread. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);

    corio_multi_opts mo = {.loops = argc > 2 ? (unsigned)atoi(argv[2]) : 0};
    corio_multi *m = corio_multi_new(&mo);
    if (!m) {
        fprintf(stderr, "multicore_echo: %s\n", strerror(errno));
        return 1;
    }
    corio_multi_server *srv = corio_multi_server_start(
        m, "0.0.0.0", atoi(argv[1]), echo, NULL, NULL);
    if (!srv) {
        fprintf(stderr, "multicore_echo: %s\n", strerror(errno));
        corio_multi_close(m);
        return 1;
    }
    printf("listening on 0.0.0.0:%d\n%u loops\n",
           corio_multi_server_port(srv), corio_multi_size(m));
    fflush(stdout);

    int sig;
    sigwait(&stop, &sig);
    printf("%s: closing\n", strsignal(sig));
    int cancelled = corio_multi_server_close(srv, 5.0);
    printf("closed; %d connection(s) cancelled\n", cancelled);
    return corio_multi_close(m) == 0 ? 0 : 1;
}

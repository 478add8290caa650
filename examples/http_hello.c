/* SPDX-License-Identifier: MIT */
/* http_hello PORT [LOOPS]: answer GET / with "Hello, World!" (text/plain,
 * keep-alive) on 0.0.0.0:PORT until SIGINT or SIGTERM, then shut down
 * gracefully. PORT 0 picks a free port, printed on the first line. With
 * LOOPS > 1 it serves on that many loops, one per thread, each on a
 * listener of its own (SO_REUSEPORT), through corio_http_run.
 *
 * The one-loop form is written out: an application with one route, a
 * server, and a task that waits for the signal (corio/signal.h). */
#include <corio.h>
#include <corio/http.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int hello(corio_http_req *req, void *arg)
{
    (void)arg;
    return corio_http_resp_text(req, 200, "Hello, World!");
}

struct config {
    corio_http_app *app;
    int port;
};

static int serve(void *arg)
{
    struct config *cf = arg;
    /* main() blocked both signals, so they wait here for us. */
    static const int stop[] = {SIGINT, SIGTERM};
    corio_signal *sig = corio_signal_open(stop, 2);
    corio_http_server *srv =
        sig ? corio_http_start_server("0.0.0.0", cf->port, cf->app, NULL)
            : NULL;
    if (!srv) {
        fprintf(stderr, "http_hello: %s\n", strerror(errno));
        corio_signal_close(sig);
        return 1;
    }
    printf("listening on 0.0.0.0:%d\n", corio_http_server_port(srv));
    fflush(stdout);

    int signo = corio_signal_wait(sig);
    printf("%s: closing\n", signo > 0 ? strsignal(signo) : strerror(-signo));
    /* Idle connections close now; requests in progress get 5 s. */
    int cancelled = corio_http_server_close(srv, 5.0);
    printf("closed; %d connection(s) cancelled\n", cancelled);
    corio_signal_close(sig);
    return 0;
}

static void ready(int port, void *arg)
{
    (void)arg;
    printf("listening on 0.0.0.0:%d\n", port);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: http_hello PORT [LOOPS]\n");
        return 2;
    }
    corio_http_app *app = corio_http_app_new();
    if (!app || corio_http_app_route(app, "GET", "/", hello, NULL) < 0)
        return 1;
    int rc;
    unsigned loops = argc == 3 ? (unsigned)atoi(argv[2]) : 1;
    if (loops > 1) {
        /* web.run_app on several cores: one call does it all. */
        corio_http_server_opts o = {.loops = loops, .ready = ready};
        rc = corio_http_run(app, "0.0.0.0", atoi(argv[1]), &o);
        printf("closed\n");
    } else {
        sigset_t stop;
        sigemptyset(&stop);
        sigaddset(&stop, SIGINT);
        sigaddset(&stop, SIGTERM);
        sigprocmask(SIG_BLOCK, &stop, NULL);
        struct config cf = {app, atoi(argv[1])};
        rc = corio_run(serve, &cf);
    }
    corio_http_app_free(app);
    return rc == 0 ? 0 : 1;
}

/* SPDX-License-Identifier: MIT */
/* Workload (w): corio's HTTP server answering every GET / with "Hello,
 * World!" (text/plain, keep-alive), until SIGTERM or SIGINT. Prints
 * "port N" once listening on 127.0.0.1; bench/httpbench.py drives it
 * with wrk and measures its CPU time from outside.
 * Usage: bench_http PORT */
#include <corio.h>
#include <corio/http.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int hello(corio_http_req *req, void *arg)
{
    (void)arg;
    return corio_http_resp_text(req, 200, "Hello, World!");
}

static void ready(int port, void *arg)
{
    (void)arg;
    printf("port %d\n", port);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    corio_http_app *app = corio_http_app_new();
    if (!app || corio_http_app_route(app, "GET", "/", hello, NULL) < 0)
        return 1;
    corio_http_server_opts o = {.ready = ready, .shutdown_timeout = 1};
    int rc = corio_http_run(app, "127.0.0.1", argc > 1 ? atoi(argv[1]) : 0,
                            &o);
    if (rc < 0)
        fprintf(stderr, "bench_http: %s\n", strerror(-rc));
    corio_http_app_free(app);
    return rc < 0;
}

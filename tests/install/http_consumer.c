/* SPDX-License-Identifier: MIT */
/* A program outside the tree, built against an installed corio_http with
 * pkg-config: a server on a loopback port answers a request made with
 * the client, when the client was built; else with a raw connection. */
#include <corio.h>
#include <corio/http.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

static int hello(corio_http_req *req, void *arg)
{
    (void)arg;
    return corio_http_resp_text(req, 200, "hello");
}

static int entry(void *arg)
{
    (void)arg;
    corio_http_app *app = corio_http_app_new();
    if (!app || corio_http_app_route(app, "GET", "/", hello, NULL) < 0)
        return -ENOMEM;
    corio_http_server *srv = corio_http_start_server("127.0.0.1", 0, app,
                                                     NULL);
    if (!srv)
        return -errno;
    corio_stream *s = corio_open_connection(
        "127.0.0.1", corio_http_server_port(srv), NULL);
    const char *req = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    char buf[512];
    ssize_t n = 0, k;
    if (s && corio_stream_write(s, req, strlen(req)) == 0)
        while ((k = corio_stream_read(s, buf + n, sizeof buf - 1 - n)) > 0)
            n += k;
    buf[n] = '\0';
    corio_stream_close(s);
    corio_http_server_close(srv, 1.0);
    corio_http_app_free(app);
    int ok = strncmp(buf, "HTTP/1.1 200", 12) == 0 && strstr(buf, "hello");
    printf("corio_http: %s\n", ok ? "200 hello" : "no answer");
    return ok ? 0 : 1;
}

int main(void)
{
    return corio_run(entry, NULL) == 0 ? 0 : 1;
}

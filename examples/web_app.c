/* SPDX-License-Identifier: MIT */
/* web_app PORT DIR: a small JSON API with a static site, aiohttp.web
 * style, on 0.0.0.0:PORT until SIGINT or SIGTERM.
 *
 *   GET    /api/items        every item, as a JSON array
 *   POST   /api/items        add one: the body is its name; 201 + JSON
 *   GET    /api/items/{id}   one item, or a JSON 404
 *   DELETE /api/items/{id}   remove it: 204
 *   GET    /                 DIR/index.html
 *   GET    /static/...       the files under DIR
 *
 * A middleware logs each request with its status and time, and errors
 * come back as JSON. Items live in memory, in the one loop's task, so
 * handlers need no locks. */
#include <corio.h>
#include <corio/http.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ITEMS 100

struct item {
    int id;          /* 0: a free slot */
    char name[64];
};

static struct item items[MAX_ITEMS];
static int next_id = 1;
static const char *dir;

static void item_json(corio_http_json *j, const struct item *it)
{
    corio_http_json_begin_object(j);
    corio_http_json_key(j, "id");
    corio_http_json_int(j, it->id);
    corio_http_json_key(j, "name");
    corio_http_json_string(j, it->name);
    corio_http_json_end_object(j);
}

/* Send j and free it. */
static int send_json(corio_http_req *req, int status, corio_http_json *j)
{
    int rc = corio_http_resp_json(req, status, j);
    corio_http_json_free(j);
    return rc;
}

static struct item *find(corio_http_req *req)
{
    int id = atoi(corio_http_req_param(req, "id"));
    for (int i = 0; i < MAX_ITEMS; i++)
        if (items[i].id && items[i].id == id)
            return &items[i];
    return NULL;
}

static int list_items(corio_http_req *req, void *arg)
{
    (void)arg;
    corio_http_json j;
    corio_http_json_init(&j);
    corio_http_json_begin_array(&j);
    for (int i = 0; i < MAX_ITEMS; i++)
        if (items[i].id)
            item_json(&j, &items[i]);
    corio_http_json_end_array(&j);
    return send_json(req, 200, &j);
}

static int get_item(corio_http_req *req, void *arg)
{
    (void)arg;
    struct item *it = find(req);
    if (!it)
        return corio_http_resp_error(req, 404);
    corio_http_json j;
    corio_http_json_init(&j);
    item_json(&j, it);
    return send_json(req, 200, &j);
}

static int add_item(corio_http_req *req, void *arg)
{
    (void)arg;
    const char *name;
    ssize_t n = corio_http_req_body(req, &name); /* suspends for the body */
    if (n < 0)
        return (int)n; /* too large (413), or the client left */
    if (n == 0 || (size_t)n >= sizeof items[0].name)
        return corio_http_resp_error(req, 422);
    for (int i = 0; i < MAX_ITEMS; i++) {
        if (items[i].id)
            continue;
        items[i].id = next_id++;
        memcpy(items[i].name, name, (size_t)n + 1);
        char where[32];
        snprintf(where, sizeof where, "/api/items/%d", items[i].id);
        corio_http_resp_add_header(req, "Location", where);
        corio_http_json j;
        corio_http_json_init(&j);
        item_json(&j, &items[i]);
        return send_json(req, 201, &j);
    }
    return corio_http_resp_error(req, 507);
}

static int delete_item(corio_http_req *req, void *arg)
{
    (void)arg;
    struct item *it = find(req);
    if (!it)
        return corio_http_resp_error(req, 404);
    it->id = 0;
    return corio_http_resp_send(req, 204, NULL, NULL, 0);
}

static int index_page(corio_http_req *req, void *arg)
{
    (void)arg;
    char path[4096];
    snprintf(path, sizeof path, "%s/index.html", dir);
    return corio_http_resp_file(req, path);
}

/* Errors as JSON: {"error": 404, "reason": "Not Found"}. */
static int json_error(corio_http_req *req, int status, void *arg)
{
    (void)arg;
    corio_http_json j;
    corio_http_json_init(&j);
    corio_http_json_begin_object(&j);
    corio_http_json_key(&j, "error");
    corio_http_json_int(&j, status);
    corio_http_json_key(&j, "reason");
    corio_http_json_string(&j, corio_http_reason(status));
    corio_http_json_end_object(&j);
    return send_json(req, status, &j);
}

/* Log every request once it is answered. */
static int log_requests(corio_http_req *req, void *arg)
{
    (void)arg;
    double t0 = corio_time();
    int rc = corio_http_next(req);
    printf("%s %s -> %d (%.2f ms)\n", corio_http_req_method(req),
           corio_http_req_target(req), corio_http_resp_status(req),
           (corio_time() - t0) * 1e3);
    fflush(stdout);
    return rc;
}

struct config {
    corio_http_app *app;
    int port;
};

static int serve(void *arg)
{
    struct config *cf = arg;
    static const int stop[] = {SIGINT, SIGTERM};
    corio_signal *sig = corio_signal_open(stop, 2);
    corio_http_server *srv =
        sig ? corio_http_start_server("0.0.0.0", cf->port, cf->app, NULL)
            : NULL;
    if (!srv) {
        fprintf(stderr, "web_app: %s\n", strerror(errno));
        corio_signal_close(sig);
        return 1;
    }
    printf("listening on 0.0.0.0:%d\n", corio_http_server_port(srv));
    fflush(stdout);
    int signo = corio_signal_wait(sig);
    printf("%s: closing\n", signo > 0 ? strsignal(signo) : strerror(-signo));
    int cancelled = corio_http_server_close(srv, 5.0);
    printf("closed; %d connection(s) cancelled\n", cancelled);
    corio_signal_close(sig);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: web_app PORT DIR\n");
        return 2;
    }
    dir = argv[2];
    corio_http_app *app = corio_http_app_new();
    if (!app)
        return 1;
    int rc = 0;
    rc |= corio_http_app_route(app, "GET", "/api/items", list_items, NULL);
    rc |= corio_http_app_route(app, "POST", "/api/items", add_item, NULL);
    rc |= corio_http_app_route(app, "GET", "/api/items/{id}", get_item, NULL);
    rc |= corio_http_app_route(app, "DELETE", "/api/items/{id}", delete_item,
                               NULL);
    rc |= corio_http_app_route(app, "GET", "/", index_page, NULL);
    rc |= corio_http_app_static(app, "/static", dir);
    rc |= corio_http_app_use(app, log_requests, NULL);
    rc |= corio_http_app_set_error_page(app, json_error, NULL);
    if (rc < 0) {
        fprintf(stderr, "web_app: bad routes\n");
        return 1;
    }
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigprocmask(SIG_BLOCK, &stop, NULL);
    struct config cf = {app, atoi(argv[1])};
    rc = corio_run(serve, &cf);
    corio_http_app_free(app);
    return rc == 0 ? 0 : 1;
}

/* SPDX-License-Identifier: MIT */
/* Applications: routes matched segment by segment against the decoded
 * path, in the order they were added (aiohttp's UrlDispatcher does the
 * same), the middleware chain, static directories and error pages. A
 * pattern is compiled once, when added: its copy is split in place into
 * literal segments and parameter names, so matching allocates nothing
 * and parameter values are copied to the request's scratch only for the
 * route that matches. */
#include "http/http_int.h"

#include <stdio.h>
#include <string.h>

corio_http_app *corio_http_app_new(void)
{
    corio_http_app *app = http_calloc(1, sizeof *app);
    if (!app)
        errno = ENOMEM;
    return app;
}

static void route_free(struct route *r)
{
    http_free(r->method);
    http_free(r->pattern);
    http_free(r->segs);
    http_free(r->dir);
}

void corio_http_app_free(corio_http_app *app)
{
    if (!app)
        return;
    for (size_t i = 0; i < app->nroutes; i++)
        route_free(&app->routes[i]);
    http_free(app->routes);
    http_free(app->mws);
    http_free(app);
}

static char *dup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = http_malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

static bool name_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
}

/* Split r->pattern (after its leading '/') into segments. 0 or -EINVAL. */
static int compile(struct route *r)
{
    char *p = r->pattern + 1;
    size_t n = 1;
    for (char *q = p; *q; q++)
        n += *q == '/';
    r->segs = http_calloc(n, sizeof *r->segs);
    if (!r->segs)
        return -ENOMEM;
    r->nsegs = 0;
    for (;;) {
        char *slash = strchr(p, '/');
        if (slash)
            *slash = '\0';
        struct seg *s = &r->segs[r->nsegs++];
        size_t len = strlen(p);
        if (len >= 2 && p[0] == '{' && p[len - 1] == '}') {
            p[len - 1] = '\0';
            p++;
            len -= 2;
            s->kind = SEG_PARAM;
            if (len > 3 && strcmp(p + len - 3, "...") == 0) {
                p[len - 3] = '\0';
                len -= 3;
                s->kind = SEG_TAIL;
                if (slash)
                    return -EINVAL; /* only at the end */
            }
            if (!len || ++r->nparams > HTTP_MAX_PARAMS)
                return -EINVAL;
            for (size_t i = 0; i < len; i++)
                if (!name_char(p[i]))
                    return -EINVAL;
        } else {
            if (strchr(p, '{') || strchr(p, '}'))
                return -EINVAL;
            s->kind = SEG_LIT;
        }
        s->text = p;
        s->len = len;
        if (!slash)
            return 0;
        p = slash + 1;
    }
}

static int add_route(corio_http_app *app, const char *method,
                     const char *pattern, corio_http_handler_fn fn, void *arg,
                     const char *dir)
{
    if (!app || !pattern || pattern[0] != '/' || !fn)
        return -EINVAL;
    if (method && strcmp(method, "*") == 0)
        method = NULL;
    if (method) {
        if (!*method)
            return -EINVAL;
        for (const char *m = method; *m; m++)
            if (!corio__http_tchar((unsigned char)*m))
                return -EINVAL;
    }
    if (app->nroutes == app->rcap) {
        size_t cap = app->rcap ? app->rcap * 2 : 8;
        struct route *r = http_realloc(app->routes, cap * sizeof *r);
        if (!r)
            return -ENOMEM;
        app->routes = r;
        app->rcap = cap;
    }
    struct route r = {.fn = fn, .arg = arg};
    int rc = -ENOMEM;
    if ((method && !(r.method = dup(method))) ||
        !(r.pattern = dup(pattern)) || (dir && !(r.dir = dup(dir))))
        goto err;
    if ((rc = compile(&r)) < 0)
        goto err;
    if (dir)
        r.arg = r.dir; /* a stable pointer: routes move as the array grows */
    app->routes[app->nroutes++] = r;
    return 0;

err:
    route_free(&r);
    return rc;
}

int corio_http_app_route(corio_http_app *app, const char *method,
                         const char *pattern, corio_http_handler_fn fn,
                         void *arg)
{
    return add_route(app, method, pattern, fn, arg, NULL);
}

/* Whether a path relative to a static directory stays inside it: no ".."
 * segment (and no NUL, which decoding already refused). */
static bool safe_rel(const char *rel)
{
    const char *p = rel;
    while (*p) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return false;
        if (!slash)
            break;
        p = slash + 1;
    }
    return true;
}

/* The handler of a static route: arg is the directory. A path ending in
 * '/' serves index.html. */
static int serve_static(corio_http_req *req, void *arg)
{
    const char *dir = arg;
    const char *rel = corio_http_req_param(req, "path");
    if (!rel || !safe_rel(rel) || strstr(rel, "%2F") || strstr(rel, "%2f"))
        return corio_http_resp_error(req, 404);
    size_t dl = strlen(dir), rl = strlen(rel);
    bool index = rl == 0 || rel[rl - 1] == '/';
    char *path = http_malloc(dl + rl + 13);
    if (!path)
        return -ENOMEM;
    memcpy(path, dir, dl);
    path[dl] = '/';
    memcpy(path + dl + 1, rel, rl + 1);
    if (index)
        memcpy(path + dl + 1 + rl, "index.html", 11);
    int rc = corio_http_resp_file(req, path);
    http_free(path);
    return rc;
}

int corio_http_app_static(corio_http_app *app, const char *prefix,
                          const char *dir)
{
    if (!app || !prefix || prefix[0] != '/' || !dir || !*dir)
        return -EINVAL;
    size_t n = strlen(prefix);
    while (n > 1 && prefix[n - 1] == '/')
        n--;
    char *pattern = http_malloc(n + 12);
    if (!pattern)
        return -ENOMEM;
    memcpy(pattern, prefix, n);
    memcpy(pattern + (n == 1 ? 0 : n), "/{path...}", 11);
    int rc = add_route(app, "GET", pattern, serve_static, NULL, dir);
    http_free(pattern);
    return rc;
}

int corio_http_app_use(corio_http_app *app, corio_http_middleware_fn fn,
                       void *arg)
{
    if (!app || !fn)
        return -EINVAL;
    if (app->nmws == app->mcap) {
        size_t cap = app->mcap ? app->mcap * 2 : 4;
        struct mw *m = http_realloc(app->mws, cap * sizeof *m);
        if (!m)
            return -ENOMEM;
        app->mws = m;
        app->mcap = cap;
    }
    app->mws[app->nmws++] = (struct mw){fn, arg};
    return 0;
}

int corio_http_app_set_error_page(corio_http_app *app, corio_http_error_fn fn,
                                  void *arg)
{
    if (!app)
        return -EINVAL;
    app->err_fn = fn;
    app->err_arg = arg;
    return 0;
}

/* ---- matching ---- */

/* Match path against r, copying parameter values to scratch. */
static bool match(corio_http_req *c, const struct route *r, const char *path)
{
    const char *p = path + 1;
    size_t slen = c->slen;
    c->nparams = 0;
    for (size_t i = 0; i < r->nsegs; i++) {
        const struct seg *s = &r->segs[i];
        if (s->kind == SEG_TAIL) {
            if (!p)
                goto fail;
            size_t n = strlen(p);
            char *v = corio__http_scratch(c, n + 1);
            if (!v)
                goto fail;
            memcpy(v, p, n + 1);
            c->params[c->nparams++] = (struct param){s->text, v};
            return true;
        }
        if (!p)
            goto fail; /* the path has fewer segments */
        size_t n = 0;
        while (p[n] && p[n] != '/')
            n++;
        const char *slash = p[n] ? p + n : NULL;
        if (s->kind == SEG_LIT) {
            if (n != s->len || memcmp(p, s->text, n) != 0)
                goto fail;
        } else {
            if (!n)
                goto fail; /* a parameter matches a non-empty segment */
            char *v = corio__http_scratch(c, n + 1);
            if (!v)
                goto fail;
            memcpy(v, p, n);
            v[n] = '\0';
            c->params[c->nparams++] = (struct param){s->text, v};
        }
        p = slash ? slash + 1 : NULL;
    }
    if (!p)
        return true;
fail:
    c->slen = slen;
    c->nparams = 0;
    return false;
}

/* Whether a route for method m answers request method rm (GET answers
 * HEAD too). */
static bool method_ok(const char *m, const char *rm)
{
    return !m || strcmp(m, rm) == 0 ||
           (strcmp(rm, "HEAD") == 0 && strcmp(m, "GET") == 0);
}

static void add_allow(corio_http_req *c, const char *m)
{
    size_t n = strlen(c->allow), k = strlen(m);
    if (strstr(c->allow, m) || n + k + 3 > sizeof c->allow)
        return;
    if (n) {
        memcpy(c->allow + n, ", ", 2);
        n += 2;
    }
    memcpy(c->allow + n, m, k + 1);
}

void corio__http_route(corio_http_req *c)
{
    const corio_http_app *app = c->srv->app;
    bool other = false;
    c->allow[0] = '\0';
    if (c->path[0] == '/') {
        for (size_t i = 0; i < app->nroutes; i++) {
            const struct route *r = &app->routes[i];
            if (!match(c, r, c->path))
                continue;
            if (method_ok(r->method, c->method)) {
                c->route = r;
                return;
            }
            other = true;
            add_allow(c, r->method);
            if (strcmp(r->method, "GET") == 0)
                add_allow(c, "HEAD");
            c->nparams = 0;
        }
    }
    c->route_status = other ? 405 : 404;
}

int corio_http_next(corio_http_req *req)
{
    if (!req)
        return -EINVAL;
    const corio_http_app *app = req->srv->app;
    if (req->mw_next < app->nmws) {
        const struct mw *m = &app->mws[req->mw_next++];
        return m->fn(req, m->arg);
    }
    if (req->handler_ran)
        return -EALREADY;
    req->handler_ran = true;
    if (req->route)
        return req->route->fn(req, req->route->arg);
    return corio__http_error_page(req, req->route_status);
}

/* ---- error pages ---- */

int corio__http_error_page(corio_http_req *c, int status)
{
    const corio_http_app *app = c->srv->app;
    if (c->rstate >= RESP_BUFFERED)
        return -EALREADY;
    /* Headers set for an answer that is not given are dropped. */
    if (c->rstate == RESP_HEAD) {
        c->wlen = c->rstart;
        c->rstate = RESP_NONE;
        c->user_length = c->user_ctype = false;
        c->out_length = -1;
    }
    if (status == 405 && c->allow[0]) {
        int rc = corio_http_resp_add_header(c, "Allow", c->allow);
        if (rc < 0)
            return rc;
    }
    if (app->err_fn) {
        int rc = app->err_fn(c, status, app->err_arg);
        if (c->rstate >= RESP_BUFFERED)
            return 0;
        if (rc == -ECANCELED)
            return rc;
    }
    char body[80];
    int n = snprintf(body, sizeof body, "%d %s\n", status,
                     corio_http_reason(status));
    return corio_http_resp_send(c, status, "text/plain; charset=utf-8", body,
                                (size_t)n);
}

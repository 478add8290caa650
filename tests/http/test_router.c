/* SPDX-License-Identifier: MIT */
/* The framework: routes with parameters, 404 and 405 with Allow, HEAD
 * answered by GET routes, middleware before and after the handler, query
 * and header access, the JSON writer and JSON responses, error pages,
 * and the checks on response headers. */
#include "helpers.h"

#include <math.h>

static int h_user(corio_http_req *req, void *arg)
{
    (void)arg;
    corio_http_json j;
    corio_http_json_init(&j);
    corio_http_json_begin_object(&j);
    corio_http_json_key(&j, "id");
    corio_http_json_string(&j, corio_http_req_param(req, "id"));
    corio_http_json_key(&j, "method");
    corio_http_json_string(&j, corio_http_req_method(req));
    corio_http_json_end_object(&j);
    int rc = corio_http_resp_json(req, 200, &j);
    corio_http_json_free(&j);
    return rc;
}

static int h_file(corio_http_req *req, void *arg)
{
    (void)arg;
    char out[256];
    snprintf(out, sizeof out, "%s|%s", corio_http_req_param(req, "user"),
             corio_http_req_param(req, "rest"));
    return corio_http_resp_text(req, 200, out);
}

static int h_query(corio_http_req *req, void *arg)
{
    (void)arg;
    char out[512];
    const char *a = corio_http_req_query(req, "a");
    const char *b = corio_http_req_query(req, "b");
    const char *e = corio_http_req_query(req, "empty");
    const char *x = corio_http_req_header(req, "x-test");
    snprintf(out, sizeof out, "a=%s b=%s empty=%s none=%s x=%s raw=%s",
             a ? a : "(null)", b ? b : "(null)", e ? e : "(null)",
             corio_http_req_query(req, "none") ? "set" : "(null)",
             x ? x : "(null)", corio_http_req_query_string(req));
    return corio_http_resp_text(req, 200, out);
}

static int h_headers(corio_http_req *req, void *arg)
{
    (void)arg;
    char out[1024];
    size_t n = 0;
    for (size_t i = 0; i < corio_http_req_header_count(req); i++) {
        const char *name, *value;
        ASSERT_OK(corio_http_req_header_at(req, i, &name, &value));
        n += (size_t)snprintf(out + n, sizeof out - n, "[%s=%s]", name,
                              value);
    }
    ASSERT_ERR(corio_http_req_header_at(req, 99, NULL, NULL), -ERANGE);
    /* Header values cannot smuggle a line break into the response. */
    ASSERT_ERR(corio_http_resp_add_header(req, "X-Bad", "a\r\nSet: b"),
               -EINVAL);
    ASSERT_ERR(corio_http_resp_add_header(req, "Bad Name", "v"), -EINVAL);
    ASSERT_ERR(corio_http_resp_add_header(req, "Connection", "x"), -EINVAL);
    ASSERT_OK(corio_http_resp_add_header(req, "X-Good", "yes"));
    return corio_http_resp_text(req, 200, out);
}

static int h_any(corio_http_req *req, void *arg)
{
    return corio_http_resp_text(req, 200, arg);
}

static int h_status(corio_http_req *req, void *arg)
{
    (void)arg;
    ASSERT_OK(corio_http_resp_set_status(req, 204));
    ASSERT_EQ(corio_http_resp_status(req), 204);
    return 0; /* no body: an empty answer with that status */
}

static int h_error(corio_http_req *req, void *arg)
{
    (void)arg;
    return corio_http_resp_error(req, 418);
}

static int h_late_header(corio_http_req *req, void *arg)
{
    (void)arg;
    ASSERT_OK(corio_http_resp_start(req));
    ASSERT_TRUE(corio_http_resp_started(req));
    ASSERT_ERR(corio_http_resp_add_header(req, "X-Late", "1"), -EALREADY);
    ASSERT_ERR(corio_http_resp_set_status(req, 500), -EALREADY);
    ASSERT_ERR(corio_http_resp_text(req, 200, "x"), -EALREADY);
    return corio_http_resp_write(req, "streamed", 8);
}

/* Middleware: records the order, adds a header after the handler, and
 * answers /private itself. */
static char trace[256];

static int mw_outer(corio_http_req *req, void *arg)
{
    (void)arg;
    strcat(trace, "outer>");
    corio_http_req_set_data(req, (void *)"from-outer");
    int rc = corio_http_next(req);
    strcat(trace, "<outer");
    if (rc >= 0)
        corio_http_resp_add_header(req, "X-Outer", "after");
    return rc;
}

static int mw_inner(corio_http_req *req, void *arg)
{
    (void)arg;
    strcat(trace, "inner>");
    if (strcmp(corio_http_req_path(req), "/private") == 0)
        return corio_http_resp_text(req, 403, "no");
    if (strcmp((const char *)corio_http_req_data(req), "from-outer") != 0)
        return -EPROTO;
    int rc = corio_http_next(req);
    ASSERT_ERR(corio_http_next(req), -EALREADY);
    strcat(trace, "<inner");
    return rc;
}

static int error_page(corio_http_req *req, int status, void *arg)
{
    (void)arg;
    if (status == 500)
        return 0; /* the built-in page for this one */
    char body[64];
    snprintf(body, sizeof body, "<h1>%d</h1>", status);
    return corio_http_resp_send(req, status, "text/html", body,
                                strlen(body));
}

static corio_http_app *app;
static corio_http_server *srv;
static int port;

static void setup(bool middleware)
{
    app = corio_http_app_new();
    ASSERT_NOT_NULL(app);
    ASSERT_OK(corio_http_app_route(app, "GET", "/users/{id}", h_user, NULL));
    ASSERT_OK(corio_http_app_route(app, "DELETE", "/users/{id}", h_user,
                                   NULL));
    ASSERT_OK(corio_http_app_route(app, "GET", "/files/{user}/{rest...}",
                                   h_file, NULL));
    ASSERT_OK(corio_http_app_route(app, "GET", "/q", h_query, NULL));
    ASSERT_OK(corio_http_app_route(app, "GET", "/h", h_headers, NULL));
    ASSERT_OK(corio_http_app_route(app, NULL, "/any", h_any, (void *)"any"));
    ASSERT_OK(corio_http_app_route(app, "GET", "/204", h_status, NULL));
    ASSERT_OK(corio_http_app_route(app, "GET", "/teapot", h_error, NULL));
    ASSERT_OK(corio_http_app_route(app, "GET", "/late", h_late_header, NULL));
    ASSERT_OK(corio_http_app_route(app, "GET", "/private", h_any, (void *)"secret"));
    ASSERT_OK(corio_http_app_route(app, "GET", "/fail", h_fail, NULL));
    ASSERT_OK(corio_http_app_route(app, "GET", "/", h_any, (void *)"root"));
    ASSERT_OK(corio_http_app_route(app, "GET", "/a/", h_any, (void *)"a-slash"));
    if (middleware) {
        ASSERT_OK(corio_http_app_use(app, mw_outer, NULL));
        ASSERT_OK(corio_http_app_use(app, mw_inner, NULL));
    }
    srv = start_http(app, NULL, &port);
}

static void teardown(void)
{
    ASSERT_OK(corio_http_server_close(srv, 1.0));
    corio_http_app_free(app);
}

#define GET(path, r) ask(port, "GET " path " HTTP/1.1\r\nHost: x\r\n\r\n", r)

static int routing(void *arg)
{
    (void)arg;
    setup(false);
    struct resp r;
    ASSERT_EQ(GET("/users/42", &r), 200);
    ASSERT_STR_EQ(r.body, "{\"id\":\"42\",\"method\":\"GET\"}");
    ASSERT_STR_EQ(rhdr(&r, "Content-Type"), "application/json");
    resp_free(&r);
    ASSERT_EQ(ask(port, "DELETE /users/7 HTTP/1.1\r\nHost: x\r\n\r\n", &r),
              200);
    ASSERT_STR_EQ(r.body, "{\"id\":\"7\",\"method\":\"DELETE\"}");
    resp_free(&r);
    ASSERT_EQ(GET("/users/a%20b", &r), 200);
    ASSERT_STR_EQ(r.body, "{\"id\":\"a b\",\"method\":\"GET\"}");
    resp_free(&r);
    ASSERT_EQ(GET("/files/ann/x/y/z.txt", &r), 200);
    ASSERT_STR_EQ(r.body, "ann|x/y/z.txt");
    resp_free(&r);
    ASSERT_EQ(GET("/", &r), 200);
    ASSERT_STR_EQ(r.body, "root");
    resp_free(&r);
    ASSERT_EQ(GET("/a/", &r), 200);
    ASSERT_STR_EQ(r.body, "a-slash");
    resp_free(&r);
    ASSERT_EQ(ask(port, "PATCH /any HTTP/1.1\r\nHost: x\r\n\r\n", &r), 200);
    resp_free(&r);
    /* Not found: wrong segments, an empty parameter, extra segments. */
    ASSERT_EQ(GET("/users", &r), 404);
    ASSERT_STR_EQ(r.body, "404 Not Found\n");
    resp_free(&r);
    ASSERT_EQ(GET("/users/", &r), 404);
    resp_free(&r);
    ASSERT_EQ(GET("/users/1/2", &r), 404);
    resp_free(&r);
    ASSERT_EQ(GET("/a", &r), 404);
    resp_free(&r);
    /* Another method: 405 and what is allowed. */
    ASSERT_EQ(ask(port, "POST /users/1 HTTP/1.1\r\nHost: x\r\n"
                        "Content-Length: 0\r\n\r\n", &r), 405);
    ASSERT_STR_EQ(rhdr(&r, "Allow"), "GET, HEAD, DELETE");
    resp_free(&r);
    /* HEAD through the GET route. */
    ASSERT_EQ(ask(port, "HEAD /users/5 HTTP/1.1\r\nHost: x\r\n\r\n", &r), 200);
    ASSERT_STR_EQ(rhdr(&r, "Content-Length"), "26");
    resp_free(&r);
    ASSERT_EQ(GET("/204", &r), 204);
    ASSERT_NULL(rhdr(&r, "Content-Length"));
    resp_free(&r);
    ASSERT_EQ(GET("/teapot", &r), 418);
    ASSERT_STR_EQ(r.body, "418 I'm a teapot\n");
    resp_free(&r);
    ASSERT_EQ(GET("/late", &r), 200);
    ASSERT_STR_EQ(r.body, "streamed");
    resp_free(&r);
    teardown();
    return 0;
}

TEST(routes_with_parameters_404_405)
{
    RUN(routing);
}

static int bad_routes(void *arg)
{
    (void)arg;
    corio_http_app *a = corio_http_app_new();
    ASSERT_ERR(corio_http_app_route(a, "GET", "nope", h_hello, NULL), -EINVAL);
    ASSERT_ERR(corio_http_app_route(a, "GET", "/{}", h_hello, NULL), -EINVAL);
    ASSERT_ERR(corio_http_app_route(a, "GET", "/{a b}", h_hello, NULL),
               -EINVAL);
    ASSERT_ERR(corio_http_app_route(a, "GET", "/{x...}/y", h_hello, NULL),
               -EINVAL);
    ASSERT_ERR(corio_http_app_route(a, "GET", "/a{b}", h_hello, NULL),
               -EINVAL);
    ASSERT_ERR(corio_http_app_route(a, "G T", "/", h_hello, NULL), -EINVAL);
    ASSERT_ERR(corio_http_app_route(a, "GET", "/", NULL, NULL), -EINVAL);
    ASSERT_ERR(corio_http_app_route(NULL, "GET", "/", h_hello, NULL),
               -EINVAL);
    ASSERT_ERR(corio_http_app_static(a, "static", "/tmp"), -EINVAL);
    ASSERT_ERR(corio_http_app_use(a, NULL, NULL), -EINVAL);
    ASSERT_OK(corio_http_app_route(a, "*", "/{a}/{b}/{c...}", h_hello, NULL));
    corio_http_app_free(a);
    corio_http_app_free(NULL);
    return 0;
}

TEST(bad_patterns_are_refused)
{
    RUN(bad_routes);
}

static int queries(void *arg)
{
    (void)arg;
    setup(false);
    struct resp r;
    ASSERT_EQ(ask(port, "GET /q?a=1+2&b=%C3%A9%26&empty&a=second HTTP/1.1\r\n"
                        "Host: x\r\nX-TEST: hdr\r\n\r\n", &r), 200);
    ASSERT_STR_EQ(r.body, "a=1 2 b=\xc3\xa9& empty= none=(null) x=hdr "
                          "raw=a=1+2&b=%C3%A9%26&empty&a=second");
    resp_free(&r);
    ASSERT_EQ(GET("/q", &r), 200);
    ASSERT_STR_EQ(r.body, "a=(null) b=(null) empty=(null) none=(null) "
                          "x=(null) raw=");
    resp_free(&r);
    ASSERT_EQ(ask(port, "GET /h HTTP/1.1\r\nHost: x\r\nA: 1\r\nB:   two  "
                        "\r\nC:\r\n\r\n", &r), 200);
    ASSERT_STR_EQ(r.body, "[Host=x][A=1][B=two][C=]");
    ASSERT_STR_EQ(rhdr(&r, "X-Good"), "yes");
    ASSERT_NULL(rhdr(&r, "X-Bad"));
    resp_free(&r);
    teardown();
    return 0;
}

TEST(query_and_headers)
{
    RUN(queries);
}

static int middleware(void *arg)
{
    (void)arg;
    setup(true);
    struct resp r;
    trace[0] = '\0';
    ASSERT_EQ(GET("/users/1", &r), 200);
    ASSERT_STR_EQ(trace, "outer>inner><inner<outer");
    ASSERT_STR_EQ(rhdr(&r, "X-Outer"), "after");
    ASSERT_STR_EQ(r.body, "{\"id\":\"1\",\"method\":\"GET\"}");
    resp_free(&r);
    /* Middleware answers itself. */
    trace[0] = '\0';
    ASSERT_EQ(GET("/private", &r), 403);
    ASSERT_STR_EQ(r.body, "no");
    ASSERT_STR_EQ(trace, "outer>inner><outer");
    resp_free(&r);
    /* It wraps 404s too. */
    ASSERT_EQ(GET("/nowhere", &r), 404);
    ASSERT_STR_EQ(rhdr(&r, "X-Outer"), "after");
    resp_free(&r);
    /* Streaming answers are already sent: the late header is refused. */
    ASSERT_EQ(GET("/late", &r), 200);
    ASSERT_NULL(rhdr(&r, "X-Outer"));
    resp_free(&r);
    teardown();
    return 0;
}

TEST(middleware_runs_before_and_after)
{
    RUN(middleware);
}

static int errors(void *arg)
{
    (void)arg;
    setup(false);
    ASSERT_OK(corio_http_app_set_error_page(app, error_page, NULL));
    struct resp r;
    ASSERT_EQ(GET("/missing", &r), 404);
    ASSERT_STR_EQ(r.body, "<h1>404</h1>");
    ASSERT_STR_EQ(rhdr(&r, "Content-Type"), "text/html");
    resp_free(&r);
    ASSERT_EQ(GET("/teapot", &r), 418);
    ASSERT_STR_EQ(r.body, "<h1>418</h1>");
    resp_free(&r);
    /* The page declined: the built-in one. */
    ASSERT_EQ(GET("/fail", &r), 500);
    ASSERT_STR_EQ(r.body, "500 Internal Server Error\n");
    resp_free(&r);
    /* Parse errors always get the built-in page. */
    ASSERT_EQ(ask(port, "GET / HTTP/1.1\r\n\r\n", &r), 400);
    ASSERT_STR_EQ(r.body, "400 Bad Request\n");
    resp_free(&r);
    teardown();
    return 0;
}

TEST(error_pages)
{
    RUN(errors);
}

TEST(json_writer)
{
    corio_http_json j;
    corio_http_json_init(&j);
    ASSERT_NULL(corio_http_json_data(&j, NULL));
    ASSERT_OK(corio_http_json_begin_object(&j));
    ASSERT_NULL(corio_http_json_data(&j, NULL)); /* still open */
    ASSERT_OK(corio_http_json_key(&j, "s"));
    ASSERT_OK(corio_http_json_string(&j, "q\"b\\n\n\t\x01/é"));
    ASSERT_OK(corio_http_json_key(&j, "n"));
    ASSERT_OK(corio_http_json_stringn(&j, "a\0b", 3));
    ASSERT_OK(corio_http_json_key(&j, "i"));
    ASSERT_OK(corio_http_json_int(&j, -9007199254740993LL));
    ASSERT_OK(corio_http_json_key(&j, "d"));
    ASSERT_OK(corio_http_json_double(&j, 0.1));
    ASSERT_OK(corio_http_json_key(&j, "e"));
    ASSERT_OK(corio_http_json_double(&j, 1.0 / 3));
    ASSERT_OK(corio_http_json_key(&j, "inf"));
    ASSERT_OK(corio_http_json_double(&j, INFINITY));
    ASSERT_OK(corio_http_json_key(&j, "a"));
    ASSERT_OK(corio_http_json_begin_array(&j));
    ASSERT_OK(corio_http_json_bool(&j, true));
    ASSERT_OK(corio_http_json_bool(&j, false));
    ASSERT_OK(corio_http_json_null(&j));
    ASSERT_OK(corio_http_json_begin_array(&j));
    ASSERT_OK(corio_http_json_end_array(&j));
    ASSERT_OK(corio_http_json_begin_object(&j));
    ASSERT_OK(corio_http_json_end_object(&j));
    ASSERT_OK(corio_http_json_end_array(&j));
    ASSERT_OK(corio_http_json_end_object(&j));
    size_t len;
    const char *s = corio_http_json_data(&j, &len);
    const char *want =
        "{\"s\":\"q\\\"b\\\\n\\n\\t\\u0001/é\",\"n\":\"a\\u0000b\","
        "\"i\":-9007199254740993,\"d\":0.1,\"e\":0.33333333333333331,"
        "\"inf\":null,\"a\":[true,false,null,[],{}]}";
    ASSERT_STR_EQ(s, want);
    ASSERT_EQ(len, strlen(want));
    /* A second top-level value, a value without a key, a wrong close:
     * errors, and they stick. */
    ASSERT_ERR(corio_http_json_int(&j, 1), -EINVAL);
    ASSERT_NULL(corio_http_json_data(&j, NULL));
    ASSERT_ERR(corio_http_json_begin_array(&j), -EINVAL);
    corio_http_json_free(&j);
    corio_http_json_init(&j);
    ASSERT_OK(corio_http_json_begin_object(&j));
    ASSERT_ERR(corio_http_json_int(&j, 1), -EINVAL);
    corio_http_json_free(&j);
    corio_http_json_init(&j);
    ASSERT_OK(corio_http_json_begin_array(&j));
    ASSERT_ERR(corio_http_json_key(&j, "k"), -EINVAL);
    corio_http_json_free(&j);
    corio_http_json_init(&j);
    ASSERT_OK(corio_http_json_begin_array(&j));
    ASSERT_ERR(corio_http_json_end_object(&j), -EINVAL);
    corio_http_json_free(&j);
    /* Deep nesting stops at 64. */
    corio_http_json_init(&j);
    for (int i = 0; i < 64; i++)
        ASSERT_OK(corio_http_json_begin_array(&j));
    ASSERT_ERR(corio_http_json_begin_array(&j), -EINVAL);
    corio_http_json_free(&j);
    ASSERT_STR_EQ(corio_http_reason(404), "Not Found");
    ASSERT_STR_EQ(corio_http_reason(799), "Unknown");
}

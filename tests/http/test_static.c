/* SPDX-License-Identifier: MIT */
/* Static files: types, validators, conditional GET (If-None-Match,
 * If-Modified-Since), byte ranges (206, 416, suffixes, If-Range), HEAD,
 * directory indexes, paths that try to leave the directory, and a file
 * larger than the socket buffers sent with sendfile to a slow reader. */
#include "helpers.h"

#include "http/http_int.h"

#include <sys/stat.h>
#include <time.h>

static char dir[64];
static corio_http_app *app;
static corio_http_server *srv;
static int port;

static void write_file(const char *name, const void *data, size_t n)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    ASSERT_NOT_NULL(f);
    ASSERT_EQ(fwrite(data, 1, n, f), n);
    fclose(f);
}

static void make_tree(void)
{
    snprintf(dir, sizeof dir, "/tmp/corio-http-static-XXXXXX");
    ASSERT_NOT_NULL(mkdtemp(dir));
    write_file("hello.txt", "Hello, file!\n", 13);
    write_file("page.html", "<p>hi</p>", 9);
    char sub[128];
    snprintf(sub, sizeof sub, "%s/sub", dir);
    ASSERT_OK(mkdir(sub, 0755));
    write_file("sub/index.html", "index", 5);
    write_file("empty.bin", "", 0);
}

static void remove_tree(void)
{
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ASSERT_EQ(system(cmd), 0);
}

static int h_secret(corio_http_req *req, void *arg)
{
    (void)arg;
    return corio_http_resp_file(req, "/nonexistent/file");
}

static void setup(void)
{
    make_tree();
    app = corio_http_app_new();
    ASSERT_OK(corio_http_app_static(app, "/static/", dir));
    ASSERT_OK(corio_http_app_route(app, "GET", "/missing", h_secret, NULL));
    srv = start_http(app, NULL, &port);
}

static void teardown(void)
{
    ASSERT_OK(corio_http_server_close(srv, 1.0));
    corio_http_app_free(app);
    remove_tree();
}

static int files(void *arg)
{
    (void)arg;
    setup();
    struct resp r;
    ASSERT_EQ(ask(port, "GET /static/hello.txt HTTP/1.1\r\nHost: x\r\n\r\n",
                  &r), 200);
    ASSERT_STR_EQ(r.body, "Hello, file!\n");
    ASSERT_STR_EQ(rhdr(&r, "Content-Type"), "text/plain; charset=utf-8");
    ASSERT_STR_EQ(rhdr(&r, "Content-Length"), "13");
    ASSERT_STR_EQ(rhdr(&r, "Accept-Ranges"), "bytes");
    char etag[1024], lm[1024];
    snprintf(etag, sizeof etag, "%s", rhdr(&r, "ETag"));
    snprintf(lm, sizeof lm, "%s", rhdr(&r, "Last-Modified"));
    ASSERT_EQ(etag[0], '"');
    resp_free(&r);
    ASSERT_EQ(ask(port, "GET /static/page.html HTTP/1.1\r\nHost: x\r\n\r\n",
                  &r), 200);
    ASSERT_STR_EQ(rhdr(&r, "Content-Type"), "text/html; charset=utf-8");
    resp_free(&r);
    ASSERT_EQ(ask(port, "HEAD /static/hello.txt HTTP/1.1\r\nHost: x\r\n\r\n",
                  &r), 200);
    ASSERT_STR_EQ(rhdr(&r, "Content-Length"), "13");
    resp_free(&r);
    ASSERT_EQ(ask(port, "GET /static/sub/ HTTP/1.1\r\nHost: x\r\n\r\n", &r),
              200);
    ASSERT_STR_EQ(r.body, "index");
    resp_free(&r);
    ASSERT_EQ(ask(port, "GET /static/empty.bin HTTP/1.1\r\nHost: x\r\n\r\n",
                  &r), 200);
    ASSERT_EQ(r.len, 0);
    ASSERT_STR_EQ(rhdr(&r, "Content-Type"), "application/octet-stream");
    resp_free(&r);
    /* Missing, a directory, escapes from the directory. */
    ASSERT_EQ(ask(port, "GET /static/nope HTTP/1.1\r\nHost: x\r\n\r\n", &r),
              404);
    resp_free(&r);
    ASSERT_EQ(ask(port, "GET /static/sub HTTP/1.1\r\nHost: x\r\n\r\n", &r),
              404);
    resp_free(&r);
    ASSERT_EQ(ask(port, "GET /static/../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n",
                  &r), 404);
    resp_free(&r);
    ASSERT_EQ(ask(port, "GET /static/sub/%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\n"
                        "Host: x\r\n\r\n", &r), 404);
    resp_free(&r);
    ASSERT_EQ(ask(port, "GET /static/..%2fhello.txt HTTP/1.1\r\n"
                        "Host: x\r\n\r\n", &r), 404);
    resp_free(&r);
    ASSERT_EQ(ask(port, "GET /missing HTTP/1.1\r\nHost: x\r\n\r\n", &r), 404);
    resp_free(&r);
    ASSERT_EQ(ask(port, "POST /static/hello.txt HTTP/1.1\r\nHost: x\r\n"
                        "Content-Length: 0\r\n\r\n", &r), 405);
    resp_free(&r);

    /* Conditional GET. */
    char req[4096];
    snprintf(req, sizeof req, "GET /static/hello.txt HTTP/1.1\r\nHost: x\r\n"
                              "If-None-Match: \"nope\", %s\r\n\r\n", etag);
    ASSERT_EQ(ask(port, req, &r), 304);
    ASSERT_STR_EQ(rhdr(&r, "ETag"), etag);
    ASSERT_NULL(rhdr(&r, "Content-Length"));
    resp_free(&r);
    snprintf(req, sizeof req, "GET /static/hello.txt HTTP/1.1\r\nHost: x\r\n"
                              "If-None-Match: W/%s\r\n\r\n", etag);
    ASSERT_EQ(ask(port, req, &r), 304);
    resp_free(&r);
    ASSERT_EQ(ask(port, "GET /static/hello.txt HTTP/1.1\r\nHost: x\r\n"
                        "If-None-Match: \"other\"\r\n\r\n", &r), 200);
    resp_free(&r);
    snprintf(req, sizeof req, "GET /static/hello.txt HTTP/1.1\r\nHost: x\r\n"
                              "If-Modified-Since: %s\r\n\r\n", lm);
    ASSERT_EQ(ask(port, req, &r), 304);
    resp_free(&r);
    ASSERT_EQ(ask(port, "GET /static/hello.txt HTTP/1.1\r\nHost: x\r\n"
                        "If-Modified-Since: Sat, 01 Jan 2000 00:00:00 GMT\r\n"
                        "\r\n", &r), 200);
    resp_free(&r);
    ASSERT_EQ(ask(port, "GET /static/hello.txt HTTP/1.1\r\nHost: x\r\n"
                        "If-Modified-Since: Sunday, 06-Nov-94 08:49:37 GMT\r\n"
                        "\r\n", &r), 200);
    resp_free(&r);
    /* If-None-Match wins over If-Modified-Since. */
    snprintf(req, sizeof req, "GET /static/hello.txt HTTP/1.1\r\nHost: x\r\n"
                              "If-None-Match: \"other\"\r\n"
                              "If-Modified-Since: %s\r\n\r\n", lm);
    ASSERT_EQ(ask(port, req, &r), 200);
    resp_free(&r);

    /* Ranges. */
    ASSERT_EQ(ask(port, "GET /static/hello.txt HTTP/1.1\r\nHost: x\r\n"
                        "Range: bytes=0-4\r\n\r\n", &r), 206);
    ASSERT_STR_EQ(r.body, "Hello");
    ASSERT_STR_EQ(rhdr(&r, "Content-Range"), "bytes 0-4/13");
    resp_free(&r);
    ASSERT_EQ(ask(port, "GET /static/hello.txt HTTP/1.1\r\nHost: x\r\n"
                        "Range: bytes=7-\r\n\r\n", &r), 206);
    ASSERT_STR_EQ(r.body, "file!\n");
    resp_free(&r);
    ASSERT_EQ(ask(port, "GET /static/hello.txt HTTP/1.1\r\nHost: x\r\n"
                        "Range: bytes=-6\r\n\r\n", &r), 206);
    ASSERT_STR_EQ(r.body, "file!\n");
    resp_free(&r);
    ASSERT_EQ(ask(port, "GET /static/hello.txt HTTP/1.1\r\nHost: x\r\n"
                        "Range: bytes=5-100\r\n\r\n", &r), 206);
    ASSERT_STR_EQ(r.body, ", file!\n");
    ASSERT_STR_EQ(rhdr(&r, "Content-Range"), "bytes 5-12/13");
    resp_free(&r);
    ASSERT_EQ(ask(port, "GET /static/hello.txt HTTP/1.1\r\nHost: x\r\n"
                        "Range: bytes=13-\r\n\r\n", &r), 416);
    ASSERT_STR_EQ(rhdr(&r, "Content-Range"), "bytes */13");
    resp_free(&r);
    ASSERT_EQ(ask(port, "GET /static/hello.txt HTTP/1.1\r\nHost: x\r\n"
                        "Range: bytes=-0\r\n\r\n", &r), 416);
    resp_free(&r);
    /* Several ranges, a malformed one, another unit: the whole file. */
    ASSERT_EQ(ask(port, "GET /static/hello.txt HTTP/1.1\r\nHost: x\r\n"
                        "Range: bytes=0-1,3-4\r\n\r\n", &r), 200);
    resp_free(&r);
    ASSERT_EQ(ask(port, "GET /static/hello.txt HTTP/1.1\r\nHost: x\r\n"
                        "Range: bytes=4-2\r\n\r\n", &r), 200);
    resp_free(&r);
    ASSERT_EQ(ask(port, "GET /static/hello.txt HTTP/1.1\r\nHost: x\r\n"
                        "Range: lines=1-2\r\n\r\n", &r), 200);
    resp_free(&r);
    /* If-Range: the range if the validator matches, else the file. */
    snprintf(req, sizeof req, "GET /static/hello.txt HTTP/1.1\r\nHost: x\r\n"
                              "Range: bytes=0-0\r\nIf-Range: %s\r\n\r\n", etag);
    ASSERT_EQ(ask(port, req, &r), 206);
    ASSERT_STR_EQ(r.body, "H");
    resp_free(&r);
    ASSERT_EQ(ask(port, "GET /static/hello.txt HTTP/1.1\r\nHost: x\r\n"
                        "Range: bytes=0-0\r\nIf-Range: \"old\"\r\n\r\n", &r),
              200);
    resp_free(&r);
    teardown();
    return 0;
}

TEST(static_files_conditional_get_and_ranges)
{
    RUN(files);
}

static int big_file(void *arg)
{
    (void)arg;
    setup();
    /* 8 MiB, more than any socket buffer: sendfile meets a full socket
     * and waits; the client reads slowly at first. */
    size_t size = 8 << 20;
    char *data = malloc(size);
    for (size_t i = 0; i < size; i++)
        data[i] = (char)pattern(3, i);
    write_file("big.bin", data, size);
    corio_stream *s = dial(port);
    puts_(s, "GET /static/big.bin HTTP/1.1\r\nHost: x\r\n\r\n"
             "GET /static/big.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=1000-"
             "\r\n\r\n");
    ASSERT_OK(corio_sleep(0.1));
    struct resp r;
    ASSERT_EQ(read_resp(s, &r, false), 200);
    ASSERT_EQ(r.len, size);
    ASSERT_EQ(memcmp(r.body, data, size), 0);
    resp_free(&r);
    ASSERT_EQ(read_resp(s, &r, false), 206);
    ASSERT_EQ(r.len, size - 1000);
    ASSERT_EQ(memcmp(r.body, data + 1000, size - 1000), 0);
    resp_free(&r);
    corio_stream_close(s);
    free(data);
    teardown();
    return 0;
}

TEST_OPTS(large_file_with_sendfile, .timeout = 120)
{
    RUN(big_file);
}

TEST(http_dates)
{
    char buf[32];
    buf[corio__http_fmt_date(784111777, buf)] = '\0';
    ASSERT_STR_EQ(buf, "Sun, 06 Nov 1994 08:49:37 GMT");
    ASSERT_EQ(corio__http_parse_date("Sun, 06 Nov 1994 08:49:37 GMT"),
              784111777);
    ASSERT_EQ(corio__http_parse_date("Sunday, 06-Nov-94 08:49:37 GMT"),
              784111777);
    ASSERT_EQ(corio__http_parse_date("Sun Nov  6 08:49:37 1994"), 784111777);
    ASSERT_EQ(corio__http_parse_date("yesterday"), -1);
    ASSERT_EQ(corio__http_parse_date("Sun, 06 Foo 1994 08:49:37 GMT"), -1);
}

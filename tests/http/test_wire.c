/* SPDX-License-Identifier: MIT */
/* Wire tests, in curl's manner: each tests/data/http/<name>.http holds the
 * exact bytes a client sends and what must come back (statuses in order,
 * whether the connection then closes, a body, header fields). Each file
 * is a test case of its own, "wire_<name>"; the format is described in
 * tests/data/http/README.md. The bytes go to the test application of
 * helpers.h, on a server with small limits. */
#include "helpers.h"

#include <dirent.h>

#ifndef HTTP_DATA_DIR
#error "HTTP_DATA_DIR must name tests/data/http"
#endif

#define MAX_FILES 128

struct wire {
    char *request;       /* the bytes to send */
    size_t len;
    int expect[16];      /* statuses in order */
    int nexpect;
    bool close;          /* the server closes after them */
    bool head;           /* the last request is HEAD: no body */
    char *body;          /* the last response's body, or NULL */
    char *headers[8];    /* "Name: value" of the last response */
    int nheaders;
};

/* Decode the escapes \r \n \t \\ \xHH of s (line breaks in the file are
 * not part of the text). */
static size_t unescape(const char *s, char *out)
{
    size_t k = 0;
    while (*s) {
        if (*s == '\n') {
            s++;
            continue;
        }
        if (*s != '\\') {
            out[k++] = *s++;
            continue;
        }
        s++;
        switch (*s) {
        case 'r': out[k++] = '\r'; s++; break;
        case 'n': out[k++] = '\n'; s++; break;
        case 't': out[k++] = '\t'; s++; break;
        case '\\': out[k++] = '\\'; s++; break;
        case 'x': {
            char hex[3] = {s[1], s[2], 0};
            out[k++] = (char)strtol(hex, NULL, 16);
            s += 3;
            break;
        }
        default: FAIL("bad escape \\%c", *s);
        }
    }
    out[k] = '\0';
    return k;
}

static char *dupz(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

/* Parse a .http file. */
static void load(const char *path, struct wire *w)
{
    memset(w, 0, sizeof *w);
    FILE *f = fopen(path, "r");
    ASSERT_NOT_NULL(f);
    static char text[1 << 16], req[1 << 16];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    size_t rl = 0;
    bool in_req = false;
    char *save;
    for (char *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#')
            continue;
        if (strncmp(line, "request:", 8) == 0) {
            in_req = true;
            continue;
        }
        if (strncmp(line, "expect:", 7) == 0) {
            in_req = false;
            char *tok, *s2;
            for (tok = strtok_r(line + 7, " ", &s2); tok;
                 tok = strtok_r(NULL, " ", &s2)) {
                if (strcmp(tok, "close") == 0)
                    w->close = true;
                else
                    w->expect[w->nexpect++] = atoi(tok);
            }
            continue;
        }
        if (strncmp(line, "body:", 5) == 0) {
            char buf[4096];
            const char *b = line[5] == ' ' ? line + 6 : line + 5;
            size_t k = unescape(b, buf);
            w->body = dupz(buf, k);
            continue;
        }
        if (strncmp(line, "header:", 7) == 0) {
            w->headers[w->nheaders++] = dupz(line + 8, strlen(line + 8));
            continue;
        }
        if (strcmp(line, "head") == 0) {
            w->head = true;
            continue;
        }
        if (in_req) {
            size_t k = strlen(line);
            memcpy(req + rl, line, k);
            rl += k;
            continue;
        }
        if (line[0])
            FAIL("%s: unknown line: %s", path, line);
    }
    req[rl] = '\0';
    char *bytes = malloc(rl + 1);
    w->len = unescape(req, bytes);
    w->request = bytes;
}

static char files[MAX_FILES][256];
static int nfiles;
static int current = -1;

static int run_wire(void *arg)
{
    (void)arg;
    char path[512];
    snprintf(path, sizeof path, "%s/%s", HTTP_DATA_DIR, files[current]);
    struct wire w;
    load(path, &w);
    corio_http_app *app = test_app();
    corio_http_server_opts o = {.max_request_line = 1024,
                                .max_header_bytes = 2048,
                                .max_headers = 20,
                                .max_body = 4096,
                                .header_timeout = 1};
    int port;
    corio_http_server *srv = start_http(app, &o, &port);
    corio_stream *s = dial(port);
    put(s, w.request, w.len);
    struct resp r = {0};
    for (int i = 0; i < w.nexpect; i++) {
        resp_free(&r);
        int st = read_resp(s, &r, w.head && i == w.nexpect - 1);
        if (st != w.expect[i])
            FAIL("%s: response %d: got %d, want %d", files[current], i + 1,
                 st, w.expect[i]);
    }
    if (w.body && strcmp(r.body ? r.body : "", w.body) != 0)
        FAIL("%s: body \"%s\", want \"%s\"", files[current], r.body, w.body);
    for (int i = 0; i < w.nheaders; i++) {
        char *colon = strchr(w.headers[i], ':');
        ASSERT_NOT_NULL(colon);
        *colon = '\0';
        const char *v = rhdr(&r, w.headers[i]);
        const char *want = colon[1] == ' ' ? colon + 2 : colon + 1;
        if (!v || strcmp(v, want) != 0)
            FAIL("%s: header %s: \"%s\", want \"%s\"", files[current],
                 w.headers[i], v ? v : "(none)", want);
        free(w.headers[i]);
    }
    resp_free(&r);
    if (w.close && !closed_by_server(s))
        FAIL("%s: the connection stayed open", files[current]);
    if (!w.close) {
        /* Still open: another request is answered. */
        puts_(s, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        if (read_resp(s, &r, false) != 200)
            FAIL("%s: the connection did not go on", files[current]);
        resp_free(&r);
    }
    corio_stream_close(s);
    ASSERT_OK(corio_http_server_close(srv, 1.0));
    corio_http_app_free(app);
    free(w.request);
    free(w.body);
    return 0;
}

/* One case per file: MAX_FILES functions that know their slot. The slots
 * are numbered in octal (00 ... 177), so that "0" pasted before a slot's
 * digits is its index as a C literal: slot_107 is index 0107 = 71. */
#define SLOT(i)                                                              \
    static void slot_##i(void)                                               \
    {                                                                        \
        current = 0##i;                                                      \
        RUN(run_wire);                                                       \
    }
#define SLOTS8(a)                                                            \
    SLOT(a##0) SLOT(a##1) SLOT(a##2) SLOT(a##3) SLOT(a##4) SLOT(a##5)        \
        SLOT(a##6) SLOT(a##7)
SLOTS8(0) SLOTS8(1) SLOTS8(2) SLOTS8(3) SLOTS8(4) SLOTS8(5) SLOTS8(6)
SLOTS8(7) SLOTS8(10) SLOTS8(11) SLOTS8(12) SLOTS8(13) SLOTS8(14) SLOTS8(15)
SLOTS8(16) SLOTS8(17)
#define REF8(a)                                                              \
    slot_##a##0, slot_##a##1, slot_##a##2, slot_##a##3, slot_##a##4,         \
        slot_##a##5, slot_##a##6, slot_##a##7
static void (*const slots[MAX_FILES])(void) = {
    REF8(0),  REF8(1),  REF8(2),  REF8(3),  REF8(4),  REF8(5),
    REF8(6),  REF8(7),  REF8(10), REF8(11), REF8(12), REF8(13),
    REF8(14), REF8(15), REF8(16), REF8(17)};

static int by_name(const void *a, const void *b)
{
    return strcmp(a, b);
}

__attribute__((constructor)) static void register_files(void)
{
    DIR *d = opendir(HTTP_DATA_DIR);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) && nfiles < MAX_FILES) {
        size_t n = strlen(e->d_name);
        if (n > 5 && strcmp(e->d_name + n - 5, ".http") == 0 &&
            n < sizeof files[0])
            memcpy(files[nfiles++], e->d_name, n + 1);
    }
    closedir(d);
    qsort(files, (size_t)nfiles, sizeof files[0], by_name);
    static struct th_case cases[MAX_FILES];
    static char names[MAX_FILES][256];
    for (int i = 0; i < nfiles; i++) {
        snprintf(names[i], sizeof names[i], "wire_%.*s",
                 (int)(strlen(files[i]) - 5), files[i]);
        cases[i] = (struct th_case){.name = names[i], .fn = slots[i]};
        th_register(&cases[i]);
    }
}

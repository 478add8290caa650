/* SPDX-License-Identifier: MIT */
/* The request as handlers see it: method, target, path, query, header
 * fields and route parameters, all strings NUL-terminated in the
 * connection's buffers (the head in the read buffer, decoded forms in the
 * per-request scratch). The query is decoded on first use. */
#include "http/http_int.h"

#include <string.h>
#include <strings.h>

const char *corio_http_req_method(const corio_http_req *req)
{
    return req ? req->method : NULL;
}

const char *corio_http_req_target(const corio_http_req *req)
{
    return req ? req->rbuf + req->msg + req->url : NULL;
}

const char *corio_http_req_path(const corio_http_req *req)
{
    return req ? req->path : NULL;
}

const char *corio_http_req_query_string(const corio_http_req *req)
{
    return req ? req->query : NULL;
}

int corio_http_req_version(const corio_http_req *req)
{
    return req ? 10 + req->parser.http_minor : -EINVAL;
}

int64_t corio_http_req_content_length(const corio_http_req *req)
{
    return req ? req->content_length : -EINVAL;
}

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    ch |= 0x20;
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    return -1;
}

/* Decode form-urlencoded text (n bytes at s: '+' is a space, %XX a byte;
 * a malformed escape or %00 stays as it is) to out, NUL-terminated.
 * Returns the bytes written, NUL included. */
static size_t form_decode(const char *s, size_t n, char *out)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (ch == '+') {
            ch = ' ';
        } else if (ch == '%' && n - i >= 3) {
            int h = hexval((unsigned char)s[i + 1]);
            int l = hexval((unsigned char)s[i + 2]);
            if (h >= 0 && l >= 0 && (h || l)) {
                ch = (char)(h * 16 + l);
                i += 2;
            }
        }
        out[k++] = ch;
    }
    out[k++] = '\0';
    return k;
}

/* Split the query into "name\0value\0" pairs in scratch. Every pair takes
 * at most its length plus two bytes, which reserve_scratch allowed for. */
static void parse_query(corio_http_req *c)
{
    c->q_parsed = true;
    size_t qlen = strlen(c->query);
    char *out = corio__http_scratch(c, 2 * qlen + 2);
    if (!out)
        return;
    c->qpairs = out;
    const char *p = c->query;
    const char *end = p + qlen;
    size_t k = 0;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        if (stop > p) {
            const char *eq = memchr(p, '=', (size_t)(stop - p));
            const char *nend = eq ? eq : stop;
            k += form_decode(p, (size_t)(nend - p), out + k);
            if (eq)
                k += form_decode(eq + 1, (size_t)(stop - eq - 1), out + k);
            else
                out[k++] = '\0';
            c->nq++;
        }
        p = stop + 1;
    }
}

const char *corio_http_req_query(corio_http_req *req, const char *name)
{
    if (!req || !name)
        return NULL;
    if (!req->q_parsed)
        parse_query(req);
    const char *p = req->qpairs;
    for (size_t i = 0; i < req->nq; i++) {
        const char *v = p + strlen(p) + 1;
        if (strcmp(p, name) == 0)
            return v;
        p = v + strlen(v) + 1;
    }
    return NULL;
}

const char *corio_http_req_param(const corio_http_req *req, const char *name)
{
    if (!req || !name)
        return NULL;
    for (size_t i = 0; i < req->nparams; i++)
        if (strcmp(req->params[i].name, name) == 0)
            return req->params[i].value;
    return NULL;
}

const char *corio_http_req_header(const corio_http_req *req, const char *name)
{
    if (!req || !name)
        return NULL;
    const char *base = req->rbuf + req->msg;
    for (uint32_t i = 0; i < req->nhdrs; i++)
        if (strcasecmp(base + req->hdrs[i].name, name) == 0)
            return base + req->hdrs[i].value;
    return NULL;
}

size_t corio_http_req_header_count(const corio_http_req *req)
{
    return req ? req->nhdrs : 0;
}

int corio_http_req_header_at(const corio_http_req *req, size_t i,
                             const char **name, const char **value)
{
    if (!req)
        return -EINVAL;
    if (i >= req->nhdrs)
        return -ERANGE;
    const char *base = req->rbuf + req->msg;
    if (name)
        *name = base + req->hdrs[i].name;
    if (value)
        *value = base + req->hdrs[i].value;
    return 0;
}

corio_stream *corio_http_req_stream(corio_http_req *req)
{
    return req ? req->st : NULL;
}

void corio_http_req_set_data(corio_http_req *req, void *data)
{
    if (req)
        req->data = data;
}

void *corio_http_req_data(const corio_http_req *req)
{
    return req ? req->data : NULL;
}

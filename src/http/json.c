/* SPDX-License-Identifier: MIT */
/* A small JSON writer: values appended to a growing buffer in document
 * order, with the commas, colons and string escapes JSON needs. Nesting
 * is tracked in two 64-bit masks (is this level an array; has it a
 * member yet), so a writer is a value in caller storage. Debian's JSON
 * libraries (json-c, jansson, cJSON) build a tree first; a response body
 * needs only this, and corio_http keeps no dependency for it. */
#include "http/http_int.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 64

struct json {
    char *buf;          /* owned; NUL-terminated */
    size_t len, cap;
    uint64_t arrays;    /* bit d: the container at depth d + 1 is an array */
    uint64_t nonempty;  /* bit d: it has a member already */
    int32_t err;        /* the first failure, sticky */
    uint8_t depth;      /* open containers */
    bool key;           /* a key was written: a value must follow */
    bool done;          /* the top-level value is complete */
};

static_assert(sizeof(struct json) <= sizeof(corio_http_json),
              "corio_http_json too small");

static struct json *in(corio_http_json *j)
{
    return (struct json *)(void *)j;
}

static const struct json *cin(const corio_http_json *j)
{
    return (const struct json *)(const void *)j;
}

void corio_http_json_init(corio_http_json *j)
{
    if (j)
        memset(j, 0, sizeof *j);
}

void corio_http_json_free(corio_http_json *j)
{
    if (!j)
        return;
    http_free(in(j)->buf);
    memset(j, 0, sizeof *j);
}

static int fail(struct json *s, int err)
{
    if (!s->err)
        s->err = err;
    return s->err;
}

static int put(struct json *s, const char *p, size_t n)
{
    if (s->cap - s->len < n + 1) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        while (cap - s->len < n + 1)
            cap *= 2;
        char *b = http_realloc(s->buf, cap);
        if (!b)
            return fail(s, -ENOMEM);
        s->buf = b;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, p, n);
    s->len += n;
    s->buf[s->len] = '\0';
    return 0;
}

/* Get ready to write a value: a comma in an array, after a key in an
 * object, nothing after a complete top-level value. */
static int before_value(struct json *s)
{
    if (s->err)
        return s->err;
    if (s->depth == 0)
        return s->done ? fail(s, -EINVAL) : 0;
    uint64_t bit = 1ull << (s->depth - 1);
    if (!(s->arrays & bit)) {
        if (!s->key)
            return fail(s, -EINVAL); /* an object member needs its key */
        s->key = false;
        return 0;
    }
    if (s->nonempty & bit)
        return put(s, ",", 1);
    s->nonempty |= bit;
    return 0;
}

static void after_value(struct json *s)
{
    if (s->depth == 0)
        s->done = true;
}

static int scalar(corio_http_json *j, const char *text, size_t n)
{
    if (!j)
        return -EINVAL;
    struct json *s = in(j);
    int rc = before_value(s);
    if (rc || (rc = put(s, text, n)))
        return rc;
    after_value(s);
    return 0;
}

static int open_container(corio_http_json *j, bool array)
{
    if (!j)
        return -EINVAL;
    struct json *s = in(j);
    int rc = before_value(s);
    if (rc)
        return rc;
    if (s->depth == MAX_DEPTH)
        return fail(s, -EINVAL);
    if ((rc = put(s, array ? "[" : "{", 1)))
        return rc;
    uint64_t bit = 1ull << s->depth;
    s->depth++;
    s->nonempty &= ~bit;
    if (array)
        s->arrays |= bit;
    else
        s->arrays &= ~bit;
    return 0;
}

static int close_container(corio_http_json *j, bool array)
{
    if (!j)
        return -EINVAL;
    struct json *s = in(j);
    if (s->err)
        return s->err;
    if (s->depth == 0 || s->key ||
        !!(s->arrays & (1ull << (s->depth - 1))) != array)
        return fail(s, -EINVAL);
    int rc = put(s, array ? "]" : "}", 1);
    if (rc)
        return rc;
    s->depth--;
    after_value(s);
    return 0;
}

int corio_http_json_begin_object(corio_http_json *j)
{
    return open_container(j, false);
}

int corio_http_json_end_object(corio_http_json *j)
{
    return close_container(j, false);
}

int corio_http_json_begin_array(corio_http_json *j)
{
    return open_container(j, true);
}

int corio_http_json_end_array(corio_http_json *j)
{
    return close_container(j, true);
}

/* A string literal, escaped (RFC 8259 7). */
static int quoted(struct json *s, const char *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    int rc = put(s, "\"", 1);
    size_t run = 0; /* bytes that need no escape, not yet copied */
    for (size_t i = 0; i < n && !rc; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch >= 0x20 && ch != '"' && ch != '\\') {
            run++;
            continue;
        }
        if (run && (rc = put(s, p + i - run, run)))
            break;
        run = 0;
        char e[6] = {'\\', (char)ch};
        size_t k = 2;
        switch (ch) {
        case '"': case '\\': break;
        case '\n': e[1] = 'n'; break;
        case '\r': e[1] = 'r'; break;
        case '\t': e[1] = 't'; break;
        case '\b': e[1] = 'b'; break;
        case '\f': e[1] = 'f'; break;
        default:
            memcpy(e + 1, "u00", 3);
            e[4] = hex[ch >> 4];
            e[5] = hex[ch & 15];
            k = 6;
        }
        rc = put(s, e, k);
    }
    if (!rc && run)
        rc = put(s, p + n - run, run);
    return rc ? rc : put(s, "\"", 1);
}

int corio_http_json_key(corio_http_json *j, const char *key)
{
    if (!j || !key)
        return j ? fail(in(j), -EINVAL) : -EINVAL;
    struct json *s = in(j);
    if (s->err)
        return s->err;
    if (s->depth == 0 || (s->arrays & (1ull << (s->depth - 1))) || s->key)
        return fail(s, -EINVAL);
    uint64_t bit = 1ull << (s->depth - 1);
    int rc = 0;
    if (s->nonempty & bit)
        rc = put(s, ",", 1);
    s->nonempty |= bit;
    if (rc || (rc = quoted(s, key, strlen(key))) || (rc = put(s, ":", 1)))
        return rc;
    s->key = true;
    return 0;
}

int corio_http_json_stringn(corio_http_json *j, const char *str, size_t n)
{
    if (!j || (!str && n))
        return j ? fail(in(j), -EINVAL) : -EINVAL;
    struct json *s = in(j);
    int rc = before_value(s);
    if (rc || (rc = quoted(s, str, n)))
        return rc;
    after_value(s);
    return 0;
}

int corio_http_json_string(corio_http_json *j, const char *str)
{
    if (!str)
        return corio_http_json_null(j);
    return corio_http_json_stringn(j, str, strlen(str));
}

int corio_http_json_int(corio_http_json *j, int64_t v)
{
    char num[24];
    int n = snprintf(num, sizeof num, "%lld", (long long)v);
    return scalar(j, num, (size_t)n);
}

int corio_http_json_double(corio_http_json *j, double v)
{
    if (!isfinite(v))
        return corio_http_json_null(j);
    /* The shortest of %.15g and %.17g that reads back as v (Python's
     * repr), so 0.1 is written "0.1". */
    char num[32];
    int n = snprintf(num, sizeof num, "%.15g", v);
    if (strtod(num, NULL) != v)
        n = snprintf(num, sizeof num, "%.17g", v);
    return scalar(j, num, (size_t)n);
}

int corio_http_json_bool(corio_http_json *j, bool v)
{
    return v ? scalar(j, "true", 4) : scalar(j, "false", 5);
}

int corio_http_json_null(corio_http_json *j)
{
    return scalar(j, "null", 4);
}

const char *corio_http_json_data(const corio_http_json *j, size_t *len)
{
    if (!j)
        return NULL;
    const struct json *s = cin(j);
    if (s->err || s->depth || !s->done)
        return NULL;
    if (len)
        *len = s->len;
    return s->buf;
}

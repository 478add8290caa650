/* SPDX-License-Identifier: MIT */
/* Responses: built in the connection's write buffer, status line last
 * (it goes into room reserved before the headers, so the status can
 * change until the response is final), then handed to the stream in one
 * write, together with any answers to pipelined requests before it. Small
 * bodies are copied after the headers; larger ones, streamed bodies and
 * files go out without a copy (writev, sendfile). */
#include "http/http_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- small helpers the module shares ---- */

/* RFC 9110 5.6.2 tchar: ALPHA / DIGIT / "!#$%&'*+-.^_`|~", as a table. */
static const unsigned char tchars[256] = {
    ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1,
    ['*'] = 1, ['+'] = 1, ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1,
    ['`'] = 1, ['|'] = 1, ['~'] = 1,
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1,
    ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
    ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1,
    ['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1,
    ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1,
    ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
    ['Y'] = 1, ['Z'] = 1,
    ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
    ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1,
    ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1,
    ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
    ['y'] = 1, ['z'] = 1,
};

bool corio__http_tchar(unsigned char ch)
{
    return tchars[ch];
}

/* v in decimal at p (no NUL); its length. printf costs more than the rest
 * of a small response. */
static size_t u64dec(char *p, uint64_t v)
{
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        p[i] = tmp[n - 1 - i];
    return n;
}

bool corio__http_ieq(const char *s, size_t n, const char *w)
{
    size_t i = 0;
    for (; i < n && w[i]; i++) {
        char ch = s[i];
        if (ch >= 'A' && ch <= 'Z')
            ch = (char)(ch + ('a' - 'A'));
        if (ch != w[i])
            return false;
    }
    return i == n && !w[i];
}

char *corio__http_scratch(corio_http_req *c, size_t n)
{
    /* reserve_scratch made room for everything a request can need. */
    if (c->scap - c->slen < n)
        return NULL;
    char *p = c->scratch + c->slen;
    c->slen += n;
    return p;
}

const char *corio_http_reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 203: return "Non-Authoritative Information";
    case 204: return "No Content";
    case 205: return "Reset Content";
    case 206: return "Partial Content";
    case 300: return "Multiple Choices";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 407: return "Proxy Authentication Required";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 418: return "I'm a teapot";
    case 421: return "Misdirected Request";
    case 422: return "Unprocessable Content";
    case 425: return "Too Early";
    case 426: return "Upgrade Required";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 451: return "Unavailable For Legal Reasons";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    case 507: return "Insufficient Storage";
    case 511: return "Network Authentication Required";
    default: return "Unknown";
    }
}

/* ---- dates ---- */

static const char wdays[] = "SunMonTueWedThuFriSat";
static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

size_t corio__http_fmt_date(time_t t, char *buf)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    /* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT", 29 bytes. */
    memcpy(buf, wdays + 3 * tm.tm_wday, 3);
    buf[3] = ',';
    buf[4] = ' ';
    buf[5] = (char)('0' + tm.tm_mday / 10);
    buf[6] = (char)('0' + tm.tm_mday % 10);
    buf[7] = ' ';
    memcpy(buf + 8, months + 3 * tm.tm_mon, 3);
    unsigned y = (unsigned)(tm.tm_year + 1900) % 10000;
    char *p = buf + 11;
    *p++ = ' ';
    *p++ = (char)('0' + y / 1000);
    *p++ = (char)('0' + y / 100 % 10);
    *p++ = (char)('0' + y / 10 % 10);
    *p++ = (char)('0' + y % 10);
    *p++ = ' ';
    *p++ = (char)('0' + tm.tm_hour / 10);
    *p++ = (char)('0' + tm.tm_hour % 10);
    *p++ = ':';
    *p++ = (char)('0' + tm.tm_min / 10);
    *p++ = (char)('0' + tm.tm_min % 10);
    *p++ = ':';
    *p++ = (char)('0' + tm.tm_sec / 10);
    *p++ = (char)('0' + tm.tm_sec % 10);
    memcpy(p, " GMT", 4);
    return 29;
}

static int month_of(const char *s)
{
    for (int i = 0; i < 12; i++)
        if (strncmp(s, months + 3 * i, 3) == 0)
            return i;
    return -1;
}

time_t corio__http_parse_date(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    char mon[4] = "";
    int d, y, h, mi, sec;
    const char *comma = strchr(s, ',');
    if (comma && comma - s == 3) {
        /* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
        if (sscanf(comma + 1, " %2d %3s %4d %2d:%2d:%2d GMT", &d, mon, &y, &h,
                   &mi, &sec) != 6)
            return -1;
    } else if (comma) {
        /* RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT" */
        if (sscanf(comma + 1, " %2d-%3[A-Za-z]-%2d %2d:%2d:%2d GMT", &d, mon,
                   &y, &h, &mi, &sec) != 6)
            return -1;
        y += y < 70 ? 2000 : 1900;
    } else {
        /* asctime: "Sun Nov  6 08:49:37 1994" */
        if (sscanf(s, "%*3s %3s %d %2d:%2d:%2d %4d", mon, &d, &h, &mi, &sec,
                   &y) != 6)
            return -1;
    }
    tm.tm_mon = month_of(mon);
    if (tm.tm_mon < 0 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return -1;
    tm.tm_mday = d;
    tm.tm_year = y - 1900;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    return timegm(&tm);
}

/* "Date: ...\r\n" for the current second, made once a second per thread
 * (every response has one, RFC 9110 6.6.1). */
static _Thread_local time_t date_sec = -1;
static _Thread_local char date_line[48];
static _Thread_local size_t date_len;

int corio__http_date(corio_http_req *c)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    if (ts.tv_sec != date_sec) {
        date_sec = ts.tv_sec;
        memcpy(date_line, "Date: ", 6);
        size_t n = corio__http_fmt_date(ts.tv_sec, date_line + 6);
        memcpy(date_line + 6 + n, "\r\n", 2);
        date_len = 8 + n;
    }
    return corio__http_wappend(c, date_line, date_len);
}

/* ---- the write buffer ---- */

int corio__http_wreserve(corio_http_req *c, size_t n)
{
    if (c->wcap - c->wlen >= n)
        return 0;
    size_t cap = c->wcap ? c->wcap * 2 : 2048;
    while (cap - c->wlen < n)
        cap *= 2;
    char *b = http_realloc(c->wbuf, cap);
    if (!b)
        return -ENOMEM;
    c->wbuf = b;
    c->wcap = cap;
    return 0;
}

int corio__http_wappend(corio_http_req *c, const void *p, size_t n)
{
    int rc = corio__http_wreserve(c, n);
    if (rc)
        return rc;
    memcpy(c->wbuf + c->wlen, p, n);
    c->wlen += n;
    return 0;
}

static int wstr(corio_http_req *c, const char *s)
{
    return corio__http_wappend(c, s, strlen(s));
}

/* "Name: value\r\n" */
static int wheader(corio_http_req *c, const char *name, const char *value)
{
    size_t nl = strlen(name), vl = strlen(value);
    int rc = corio__http_wreserve(c, nl + vl + 4);
    if (rc)
        return rc;
    char *p = c->wbuf + c->wlen;
    memcpy(p, name, nl);
    p[nl] = ':';
    p[nl + 1] = ' ';
    memcpy(p + nl + 2, value, vl);
    p[nl + 2 + vl] = '\r';
    p[nl + 3 + vl] = '\n';
    c->wlen += nl + vl + 4;
    return 0;
}

/* "Content-Length: v\r\n", the one header nearly every response has. */
static int wlength(corio_http_req *c, uint64_t v)
{
    static const char name[] = "Content-Length: ";
    int rc = corio__http_wreserve(c, sizeof name + 22);
    if (rc)
        return rc;
    char *p = c->wbuf + c->wlen;
    memcpy(p, name, sizeof name - 1);
    p += sizeof name - 1;
    p += u64dec(p, v);
    memcpy(p, "\r\n", 2);
    c->wlen = (size_t)(p + 2 - c->wbuf);
    return 0;
}

/* Start building a response: room for its status line. Output that was
 * all sent lets the buffer start over. */
static int begin(corio_http_req *c)
{
    if (c->rstate != RESP_NONE)
        return 0;
    if (c->wbeg == c->wlen)
        c->wbeg = c->wdone = c->wlen = 0;
    int rc = corio__http_wreserve(c, HTTP_RESERVE + 256);
    if (rc)
        return rc;
    c->rstart = c->wlen;
    c->wlen += HTTP_RESERVE;
    c->rstate = RESP_HEAD;
    return 0;
}

/* Forget a response that was being built (its headers), to build another
 * (an error page). Only before anything of it was sent. */
static void discard(corio_http_req *c)
{
    if (c->rstate == RESP_HEAD || c->rstate == RESP_BUFFERED)
        c->wlen = c->rstart;
    c->rstate = RESP_NONE;
    c->user_length = c->user_ctype = c->conn_hdr = false;
    c->out_length = -1;
}

/* Write the status line into the reserve, right-aligned against the
 * headers, and close the gap before it when other answers precede it in
 * the buffer. The response is then finished: wdone moves past it. */
static void status_line(corio_http_req *c)
{
    static const char ok[] = "HTTP/1.1 200 OK\r\n";
    char line[HTTP_RESERVE];
    size_t n;
    if (c->status == 200) {
        n = sizeof ok - 1;
        memcpy(line, ok, n);
    } else {
        const char *reason = corio_http_reason(c->status);
        size_t rl = strlen(reason);
        if (rl > HTTP_RESERVE - 15)
            rl = HTTP_RESERVE - 15;
        memcpy(line, "HTTP/1.1 ", 9);
        line[9] = (char)('0' + c->status / 100 % 10);
        line[10] = (char)('0' + c->status / 10 % 10);
        line[11] = (char)('0' + c->status % 10);
        line[12] = ' ';
        memcpy(line + 13, reason, rl);
        memcpy(line + 13 + rl, "\r\n", 2);
        n = 15 + rl;
    }
    size_t start = c->rstart + HTTP_RESERVE - n;
    memcpy(c->wbuf + start, line, n);
    if (c->wbeg == c->rstart) {
        c->wbeg = start;
    } else {
        size_t gap = start - c->rstart;
        memmove(c->wbuf + c->rstart, c->wbuf + start, c->wlen - start);
        c->wlen -= gap;
        if (c->hend)
            c->hend -= gap;
    }
}

/* Insert n bytes at offset at of the response being built (a header after
 * the body was copied). */
static int insert(corio_http_req *c, size_t at, const char *p, size_t n)
{
    int rc = corio__http_wreserve(c, n);
    if (rc)
        return rc;
    memmove(c->wbuf + at + n, c->wbuf + at, c->wlen - at);
    memcpy(c->wbuf + at, p, n);
    c->wlen += n;
    c->hend += n;
    return 0;
}

/* ---- sending ---- */

int corio__http_flush(corio_http_req *c)
{
    if (c->wdone > c->wbeg) {
        int rc = corio_stream_write(c->st, c->wbuf + c->wbeg,
                                    c->wdone - c->wbeg);
        c->wbeg = c->wdone;
        if (c->wbeg == c->wlen)
            c->wbeg = c->wdone = c->wlen = 0;
        if (rc < 0) {
            c->keep_alive = false;
            return rc;
        }
    }
    return 0;
}

/* Wait (write_timeout) while the stream holds more than its high
 * watermark. */
static int drain(corio_http_req *c)
{
    if (corio_stream_write_buffered(c->st) == 0)
        return 0;
    corio_scope sc;
    int rc = corio_scope_enter(&sc, c->srv->o.write_timeout);
    if (rc < 0)
        return rc;
    rc = corio_stream_drain(c->st);
    corio_scope_exit(&sc);
    if (rc < 0)
        c->keep_alive = false;
    return rc;
}

int corio__http_flush_wait(corio_http_req *c)
{
    int rc = corio__http_flush(c);
    return rc ? rc : drain(c);
}

/* The headers every response gets from the server: Date, and Connection
 * when the connection ends (or an HTTP/1.0 one stays). */
static int auto_headers(corio_http_req *c)
{
    int rc = corio__http_date(c);
    if (rc)
        return rc;
    if (!c->keep_alive) {
        c->conn_hdr = true;
        return wstr(c, "Connection: close\r\n");
    }
    if (c->parser.http_minor == 0)
        return wstr(c, "Connection: keep-alive\r\n");
    return 0;
}

static bool bodiless(int status)
{
    return status < 200 || status == 204 || status == 304;
}

int corio__http_commit(corio_http_req *c, int64_t length)
{
    int rc = begin(c);
    if (rc)
        return rc;
    if (!bodiless(c->status) && !c->head && length < 0) {
        if (c->parser.http_minor >= 1) {
            c->chunked_out = true;
            rc = wstr(c, "Transfer-Encoding: chunked\r\n");
        } else {
            /* HTTP/1.0 has no chunks: the end of the connection ends the
             * body. */
            c->close_delimited = true;
            c->keep_alive = false;
        }
        if (rc)
            return rc;
    }
    c->out_length = length;
    if ((rc = auto_headers(c)) || (rc = wstr(c, "\r\n")))
        return rc;
    c->hend = 0;
    status_line(c);
    c->wdone = c->wlen;
    c->rstate = RESP_STREAM;
    return 0;
}

int corio__http_plain_error(corio_http_req *c, int status)
{
    char body[80];
    int n = snprintf(body, sizeof body, "%d %s\n", status,
                     corio_http_reason(status));
    discard(c);
    c->status = status;
    c->keep_alive = false;
    int rc;
    if ((rc = begin(c)) ||
        (rc = wstr(c, "Content-Type: text/plain; charset=utf-8\r\n")) ||
        (rc = wlength(c, (uint64_t)n)) ||
        (rc = auto_headers(c)) || (rc = wstr(c, "\r\n")) ||
        (rc = corio__http_wappend(c, body, (size_t)n)))
        return rc;
    c->hend = 0;
    status_line(c);
    c->wdone = c->wlen;
    c->rstate = RESP_DONE;
    return 0;
}

int corio__http_finish(corio_http_req *c, int rc)
{
    if (c->srv->closing)
        c->keep_alive = false;
    if (c->rstate == RESP_STREAM) {
        if (rc < 0)
            return rc; /* cut the body short: the client sees it */
        rc = corio_http_resp_end(c);
        if (rc < 0)
            return rc;
    }
    if (c->rstate == RESP_NONE ||
        (c->rstate == RESP_HEAD && rc < 0)) {
        int status = rc < 0 ? (c->body_status ? c->body_status : 500) : 500;
        rc = corio__http_error_page(c, status);
        if (rc < 0)
            return rc;
    } else if (c->rstate == RESP_HEAD) {
        /* Status and headers, no body: an empty one. */
        rc = corio_http_resp_send(c, c->status, NULL, NULL, 0);
        if (rc < 0)
            return rc;
    }
    if (c->rstate == RESP_BUFFERED) {
        if (!c->keep_alive && !c->conn_hdr) {
            static const char close_hdr[] = "Connection: close\r\n";
            rc = insert(c, c->hend, close_hdr, sizeof close_hdr - 1);
            if (rc)
                return rc;
        }
        status_line(c);
        c->wdone = c->wlen;
        c->rstate = RESP_DONE;
    }
    return 0;
}

/* ---- the public response API ---- */

int corio_http_resp_set_status(corio_http_req *req, int status)
{
    if (!req || status < 100 || status > 999)
        return -EINVAL;
    if (req->rstate >= RESP_BUFFERED)
        return -EALREADY;
    int rc = begin(req); /* a response with a status and no body is one */
    if (rc)
        return rc;
    req->status = status;
    return 0;
}

int corio_http_resp_status(const corio_http_req *req)
{
    return req ? req->status : -EINVAL;
}

bool corio_http_resp_started(const corio_http_req *req)
{
    return req && req->rstate >= RESP_STREAM;
}

static bool valid_value(const char *v)
{
    for (; *v; v++)
        if (*v == '\r' || *v == '\n')
            return false;
    return true;
}

static bool valid_name(const char *n)
{
    if (!*n)
        return false;
    for (; *n; n++)
        if (!corio__http_tchar((unsigned char)*n))
            return false;
    return true;
}

int corio_http_resp_add_header(corio_http_req *req, const char *name,
                               const char *value)
{
    if (!req || !name || !value || !valid_name(name) || !valid_value(value))
        return -EINVAL;
    corio_http_req *c = req;
    if (c->rstate >= RESP_STREAM)
        return -EALREADY;
    size_t nl = strlen(name);
    if (corio__http_ieq(name, nl, "date") ||
        corio__http_ieq(name, nl, "transfer-encoding") ||
        corio__http_ieq(name, nl, "connection"))
        return -EINVAL;
    bool length = corio__http_ieq(name, nl, "content-length");
    int64_t len = -1;
    if (length) {
        char *end;
        errno = 0;
        long long v = strtoll(value, &end, 10);
        if (c->user_length || *end || end == value || v < 0 || errno)
            return -EINVAL;
        len = v;
    }
    int rc = begin(c);
    if (rc)
        return rc;
    if (c->rstate == RESP_BUFFERED) {
        if (length)
            return -EALREADY; /* the body's length is already there */
        size_t vl = strlen(value);
        char *line = http_malloc(nl + vl + 4);
        if (!line)
            return -ENOMEM;
        memcpy(line, name, nl);
        memcpy(line + nl, ": ", 2);
        memcpy(line + nl + 2, value, vl);
        memcpy(line + nl + 2 + vl, "\r\n", 2);
        rc = insert(c, c->hend, line, nl + vl + 4);
        http_free(line);
    } else {
        rc = wheader(c, name, value);
    }
    if (rc)
        return rc;
    if (length) {
        c->user_length = true;
        c->out_length = len;
    } else if (corio__http_ieq(name, nl, "content-type")) {
        c->user_ctype = true;
    }
    return 0;
}

int corio_http_resp_send(corio_http_req *req, int status,
                         const char *content_type, const void *body,
                         size_t len)
{
    if (!req || status < 100 || status > 999 || (!body && len) ||
        (content_type && !valid_value(content_type)))
        return -EINVAL;
    corio_http_req *c = req;
    if (c->rstate >= RESP_BUFFERED)
        return -EALREADY;
    bool nobody = bodiless(status);
    if (c->user_length && !nobody && (uint64_t)c->out_length != len)
        return -EINVAL;
    int rc = begin(c);
    if (rc)
        return rc;
    c->status = status;
    if (content_type && !c->user_ctype &&
        (rc = wheader(c, "Content-Type", content_type)))
        return rc;
    if (!nobody && !c->user_length && (rc = wlength(c, len)))
        return rc;
    if ((rc = auto_headers(c)))
        return rc;
    c->hend = c->wlen;
    if ((rc = wstr(c, "\r\n")))
        return rc;
    c->rstate = RESP_BUFFERED;
    if (c->head || nobody || !len)
        return 0;
    if (len <= HTTP_COPY_MAX)
        return corio__http_wappend(c, body, len);
    /* A large body goes out now, with what precedes it, without a copy;
     * the stream keeps whatever the socket does not take at once. */
    status_line(c);
    c->wdone = c->wlen;
    c->rstate = RESP_DONE;
    struct iovec iov[2] = {
        {.iov_base = c->wbuf + c->wbeg, .iov_len = c->wdone - c->wbeg},
        {.iov_base = (void *)body, .iov_len = len},
    };
    rc = corio_stream_writev(c->st, iov, 2);
    c->wbeg = c->wdone = c->wlen = 0;
    if (rc < 0)
        c->keep_alive = false;
    return rc;
}

int corio_http_resp_text(corio_http_req *req, int status, const char *text)
{
    if (!text)
        return -EINVAL;
    return corio_http_resp_send(req, status, "text/plain; charset=utf-8",
                                text, strlen(text));
}

int corio_http_resp_json(corio_http_req *req, int status,
                         const corio_http_json *j)
{
    size_t len;
    const char *data = j ? corio_http_json_data(j, &len) : NULL;
    if (!data)
        return -EINVAL;
    return corio_http_resp_send(req, status, "application/json", data, len);
}

int corio_http_resp_error(corio_http_req *req, int status)
{
    if (!req || status < 400 || status > 599)
        return -EINVAL;
    if (req->rstate >= RESP_BUFFERED)
        return -EALREADY;
    return corio__http_error_page(req, status);
}

int corio_http_resp_start(corio_http_req *req)
{
    if (!req)
        return -EINVAL;
    if (req->rstate >= RESP_BUFFERED)
        return -EALREADY;
    int rc = corio__http_commit(req, req->user_length ? req->out_length : -1);
    if (rc)
        return rc;
    return corio__http_flush_wait(req);
}

int corio_http_resp_write(corio_http_req *req, const void *buf, size_t len)
{
    if (!req || (!buf && len))
        return -EINVAL;
    corio_http_req *c = req;
    int rc;
    if (c->rstate < RESP_BUFFERED && (rc = corio_http_resp_start(c)) < 0)
        return rc;
    if (c->rstate != RESP_STREAM)
        return -EALREADY;
    if (!len || c->head || bodiless(c->status))
        return 0;
    if (c->out_length >= 0 && c->out_sent + len > (uint64_t)c->out_length)
        return -EINVAL;
    char hex[24];
    struct iovec iov[4];
    int n = 0;
    if (c->wdone > c->wbeg)
        iov[n++] = (struct iovec){c->wbuf + c->wbeg, c->wdone - c->wbeg};
    if (c->chunked_out) {
        /* The chunk size in hex, then CRLF. */
        size_t k = 0;
        for (int shift = 60; shift >= 0; shift -= 4)
            if ((len >> shift) || k || !shift)
                hex[k++] = "0123456789abcdef"[(len >> shift) & 15];
        hex[k++] = '\r';
        hex[k++] = '\n';
        iov[n++] = (struct iovec){hex, k};
    }
    iov[n++] = (struct iovec){(void *)buf, len};
    if (c->chunked_out)
        iov[n++] = (struct iovec){(void *)"\r\n", 2};
    rc = corio_stream_writev(c->st, iov, n);
    c->wbeg = c->wdone;
    if (c->wbeg == c->wlen)
        c->wbeg = c->wdone = c->wlen = 0;
    if (rc < 0) {
        c->keep_alive = false;
        return rc;
    }
    c->out_sent += len;
    return drain(c);
}

int corio_http_resp_end(corio_http_req *req)
{
    if (!req)
        return -EINVAL;
    corio_http_req *c = req;
    if (c->rstate < RESP_BUFFERED) {
        int rc = corio_http_resp_start(c);
        if (rc < 0)
            return rc;
    }
    if (c->rstate != RESP_STREAM)
        return c->rstate == RESP_DONE ? 0 : -EALREADY;
    c->rstate = RESP_DONE;
    if (c->chunked_out && !c->head) {
        int rc = corio__http_wappend(c, "0\r\n\r\n", 5);
        if (rc)
            return rc;
        c->wdone = c->wlen;
    } else if (c->out_length >= 0 && c->out_sent < (uint64_t)c->out_length &&
               !c->head && !bodiless(c->status)) {
        /* Shorter than announced: only closing can tell the client. */
        c->keep_alive = false;
    }
    return 0;
}

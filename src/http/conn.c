/* SPDX-License-Identifier: MIT */
/* The connection task: read a request's head into the connection's own
 * buffer, parse it with llhttp in place (no copies: header fields are
 * spans of the buffer, NUL-terminated once the head is complete), check
 * it against the limits, run the handler chain, then read the next
 * request. Pipelined requests are parsed from what is already buffered,
 * and their responses leave in one write. Bodies are pulled by the
 * handler and decoded in place (http_int.h draws the buffer).
 *
 * Every answer to a malformed or oversized request closes the connection
 * after it: bytes after a request that could not be framed are never
 * parsed as another request (no request smuggling). */
#include "http/http_int.h"

#include <string.h>
#include <strings.h>

#define RBUF_MIN 4096          /* first read buffer */
#define READ_MIN 2048          /* room a read needs; reads of this size go
                                  straight into rbuf (stream.c) */
#define BODY_ROOM (64 * 1024)  /* bodies up to this size get room in rbuf
                                  before the handler runs */
#define DISCARD_MAX (256 * 1024) /* unread body drained to keep a
                                    connection; more closes it */
#define LINGER_TIME 2.0        /* a closing connection reads what the
                                  client still sends for this long, so
                                  that close(2) does not reset it before
                                  it has read the answer */
#define LINGER_MAX (1 << 20)
#define BUF_KEEP 16384         /* buffers larger are freed when idle */
#define PIPELINE_MAX 16384     /* pipelined answers held for one write */

static corio_http_req *of(llhttp_t *p)
{
    return p->data;
}

/* ---- llhttp callbacks: record spans, find the end of head and body ---- */

static int on_url(llhttp_t *p, const char *at, size_t len)
{
    corio_http_req *c = of(p);
    if (!c->url_len)
        c->url = (uint32_t)(at - (c->rbuf + c->msg));
    c->url_len += (uint32_t)len;
    if (c->url_len > c->srv->o.max_request_line) {
        c->perr = 414;
        return -1;
    }
    return 0;
}

static int on_url_complete(llhttp_t *p)
{
    of(p)->url_done = true;
    return 0;
}

/* A field name, or more of it: the parser hands a span over in pieces
 * when it reaches the end of the input, and the pieces are adjacent in
 * rbuf. */
static int on_header_field(llhttp_t *p, const char *at, size_t len)
{
    corio_http_req *c = of(p);
    if (c->hdr_done) {
        /* A trailer field of a chunked body: dropped, but counted as body
         * bytes so that the body limit bounds them too. */
        c->body_total += len;
        return 0;
    }
    uint32_t off = (uint32_t)(at - (c->rbuf + c->msg));
    if (c->in_field) {
        c->hdrs[c->nhdrs - 1].name_len += (uint32_t)len;
        return 0;
    }
    if (c->nhdrs >= c->srv->o.max_headers) {
        c->perr = 431;
        return -1;
    }
    if (c->nhdrs == c->hcap) {
        uint32_t cap = c->hcap ? c->hcap * 2 : 16;
        struct hdr *h = http_realloc(c->hdrs, cap * sizeof *h);
        if (!h) {
            c->perr = 503;
            return -1;
        }
        c->hdrs = h;
        c->hcap = cap;
    }
    struct hdr *h = &c->hdrs[c->nhdrs++];
    h->name = off;
    h->name_len = (uint32_t)len;
    h->value = off;
    h->value_len = 0;
    c->in_field = true;
    return 0;
}

/* A field value, or more of it. A piece that does not continue the last
 * one is an obsolete line folding (RFC 9112 5.2), which a server must
 * reject or unfold; it is rejected. */
static int on_header_value(llhttp_t *p, const char *at, size_t len)
{
    corio_http_req *c = of(p);
    if (c->hdr_done) {
        c->body_total += len;
        return 0;
    }
    uint32_t off = (uint32_t)(at - (c->rbuf + c->msg));
    struct hdr *h = &c->hdrs[c->nhdrs - 1];
    if (c->in_field) {
        c->in_field = false;
        h->value = off;
        h->value_len = (uint32_t)len;
        return 0;
    }
    if (off != h->value + h->value_len) {
        c->fold = true;
        c->perr = 400;
        return -1;
    }
    h->value_len += (uint32_t)len;
    return 0;
}

/* The head is complete. A request without a body runs on to its end; one
 * with a body pauses the parser here, so that the body is parsed only as
 * the handler reads it. A Transfer-Encoding other than chunked pauses as
 * well: check_head answers it before the parser rejects it. */
static int on_headers_complete(llhttp_t *p)
{
    corio_http_req *c = of(p);
    c->hdr_done = true;
    c->has_body = (p->flags & F_CHUNKED) ||
                  ((p->flags & F_CONTENT_LENGTH) && p->content_length > 0);
    return c->has_body || (p->flags & F_TRANSFER_ENCODING) ? HPE_PAUSED : 0;
}

/* A piece of the body: move it down to the end of the decoded bytes. The
 * destination never passes the source (decoded bytes are never more than
 * the raw bytes they came from), and the parser never looks back. */
static int on_body(llhttp_t *p, const char *at, size_t len)
{
    corio_http_req *c = of(p);
    c->body_total += len;
    if (c->big) {
        /* Whole-body mode with a body larger than rbuf: append to big,
         * which corio_http_req_body sized (and grows, up to the limit). */
        if (c->bend + len + 1 > c->bigcap) {
            size_t cap = c->bigcap * 2;
            while (cap < c->bend + len + 1)
                cap *= 2;
            char *b = http_realloc(c->big, cap);
            if (!b) {
                c->perr = 503;
                return -1;
            }
            c->big = b;
            c->bigcap = cap;
        }
        memcpy(c->big + c->bend, at, len);
    } else {
        memmove(c->rbuf + c->bend, at, len);
    }
    c->bend += len;
    return 0;
}

static int on_message_complete(llhttp_t *p)
{
    of(p)->msg_done = true;
    return HPE_PAUSED;
}

static const llhttp_settings_t settings = {
    .on_url = on_url,
    .on_url_complete = on_url_complete,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* ---- parsing ---- */

/* Whether the bytes before the first space look like a method: an
 * unknown one is 501 (RFC 9110 9.1), anything else 400. */
static bool method_token(const corio_http_req *c)
{
    size_t i = c->msg;
    for (; i < c->rend && i - c->msg < 32; i++) {
        unsigned char ch = (unsigned char)c->rbuf[i];
        if (ch == ' ')
            return i > c->msg;
        if (!corio__http_tchar(ch))
            return false;
    }
    return i == c->rend && i > c->msg;
}

/* Whether an invalid version is at least HTTP/d.d (505) rather than
 * garbage (400). */
static bool version_syntax(const corio_http_req *c)
{
    size_t i = c->msg + c->url + c->url_len + 1;
    const char *v = c->rbuf + i;
    return c->url_done && i + 8 <= c->rend && memcmp(v, "HTTP/", 5) == 0 &&
           v[5] >= '0' && v[5] <= '9' && v[6] == '.' && v[7] >= '0' &&
           v[7] <= '9';
}

/* The status to answer a parser error with. */
static int parse_error(corio_http_req *c, llhttp_errno_t e)
{
    switch (e) {
    case HPE_USER:
        return c->perr ? c->perr : 400;
    case HPE_INVALID_METHOD:
        return method_token(c) ? 501 : 400;
    case HPE_INVALID_VERSION:
        return version_syntax(c) ? 505 : 400;
    default:
        /* Duplicate or invalid Content-Length, Content-Length with
         * Transfer-Encoding, chunked not last, bad chunks, bad tokens. */
        return 400;
    }
}

/* Run the parser over the raw bytes. 0 if it consumed them all and wants
 * more, 1 if it paused (at the end of the head or of the message), or an
 * HTTP error status. */
static int parse(corio_http_req *c)
{
    size_t n = c->rend - c->rpos;
    if (!n)
        return 0;
    const char *p = c->rbuf + c->rpos;
    llhttp_errno_t e = llhttp_execute(&c->parser, p, n);
    if (e == HPE_OK) {
        c->rpos = c->rend;
        return 0;
    }
    if (e == HPE_PAUSED) {
        c->rpos = (size_t)(llhttp_get_error_pos(&c->parser) - c->rbuf);
        llhttp_resume(&c->parser);
        return 1;
    }
    return parse_error(c, e);
}

/* ---- reading ---- */

/* Make room for a read of at least READ_MIN bytes at rend, keeping
 * rbuf[keep, rend): move that down to the start, or grow rbuf. Only for
 * the head (whose spans are relative to msg) and between requests. */
static int make_room(corio_http_req *c)
{
    if (c->rcap - c->rend >= READ_MIN)
        return 0;
    if (c->msg) {
        memmove(c->rbuf, c->rbuf + c->msg, c->rend - c->msg);
        c->rpos -= c->msg;
        c->rend -= c->msg;
        c->msg = 0;
        if (c->rcap - c->rend >= READ_MIN)
            return 0;
    }
    size_t cap = c->rcap ? c->rcap * 2 : RBUF_MIN;
    while (cap - c->rend < READ_MIN)
        cap *= 2;
    char *b = http_realloc(c->rbuf, cap);
    if (!b)
        return -ENOMEM;
    c->rbuf = b;
    c->rcap = cap;
    return 0;
}

/* Read into rbuf[rend, rcap) under a scope with a deadline: t seconds
 * from now, or the loop-clock time t if abs. The count, 0 at the end of
 * the stream, or a negative errno; *mine says whether this scope's
 * deadline ended it. */
static ssize_t read_in(corio_http_req *c, double t, bool abs, bool *mine)
{
    corio_scope sc;
    *mine = false;
    int rc = abs ? corio_scope_enter_at(&sc, t) : corio_scope_enter(&sc, t);
    if (rc < 0)
        return rc;
    ssize_t n = corio_stream_read(c->st, c->rbuf + c->rend,
                                  c->rcap - c->rend);
    *mine = corio_scope_exit(&sc) < 0 && n < 0;
    if (n > 0)
        c->rend += (size_t)n;
    return n;
}

/* Wait for the first bytes of a request. The monitor task ends a wait
 * that lasts too long, and a shutdown ends it at once, by cancelling this
 * task: it is parked in this read whenever c->idle is set, since the flag
 * is cleared before anything else can run. The count, 0 at the end of
 * the stream, or a negative errno; *ended says whether the monitor or a
 * shutdown ended it. */
static ssize_t read_idle(corio_http_req *c, bool *ended)
{
    c->idle_since = corio__http_now(c->srv);
    c->idle_ended = false;
    c->idle = true;
    ssize_t n = corio_stream_read(c->st, c->rbuf + c->rend,
                                  c->rcap - c->rend);
    c->idle = false;
    *ended = c->idle_ended && n == -ECANCELED;
    if (n > 0)
        c->rend += (size_t)n;
    return n;
}

/* Forget the last request; the parser is already at the next one. */
static void reset_request(corio_http_req *c)
{
    c->msg = c->rpos;
    c->nhdrs = 0;
    c->url = c->url_len = 0;
    c->perr = 0;
    c->url_done = c->hdr_done = c->msg_done = false;
    c->in_field = c->fold = false;
    c->method = "";
    c->path = NULL;
    c->query = "";
    c->qpairs = NULL;
    c->nq = 0;
    c->q_parsed = false;
    c->content_length = 0;
    c->head = c->has_body = false;
    c->expect_continue = c->sent_continue = c->body_read = false;
    c->body_total = 0;
    c->body_status = 0;
    c->data = NULL;
    c->route = NULL;
    c->route_status = 0;
    c->nparams = 0;
    c->mw_next = 0;
    c->handler_ran = false;
    c->slen = 0;
    c->status = 200;
    c->rstate = RESP_NONE;
    c->chunked_out = c->close_delimited = false;
    c->user_length = c->user_ctype = c->conn_hdr = false;
    c->out_length = -1;
    c->out_sent = 0;
}

/* An idle connection gives back buffers a large request or response grew
 * (as stream.c does), and starts the next request at the buffer's start. */
static void shrink(corio_http_req *c)
{
    if (c->rpos == c->rend)
        c->rpos = c->rend = 0;
    if (c->rcap > BUF_KEEP && c->rpos == 0 && c->rend == 0) {
        http_free(c->rbuf);
        c->rbuf = NULL;
        c->rcap = 0;
    }
    if (c->wcap > BUF_KEEP && c->wlen == 0) {
        http_free(c->wbuf);
        c->wbuf = NULL;
        c->wcap = 0;
    }
    if (c->bigcap) {
        http_free(c->big);
        c->big = NULL;
        c->bigcap = 0;
    }
}

enum { HEAD_CLOSE = 0, HEAD_READY = 1 };

/* Whether the first have bytes of a head break a limit: 414 while the
 * request line is not complete (the target's own limit is in on_url; a
 * method and a version take a few bytes more), then 431 for the header
 * fields, from the first field's name on. 0 if not. */
static int head_too_big(const corio_http_req *c, size_t have)
{
    const corio_http_server_opts *o = &c->srv->o;
    if (!c->url_done)
        return have > o->max_request_line + 32 ? 414 : 0;
    size_t start = c->nhdrs ? c->hdrs[0].name : c->url + c->url_len;
    return have - start > o->max_header_bytes + 12 ? 431 : 0;
}

static int check_head(corio_http_req *c);

/* Read and parse the next request's head. HEAD_READY; HEAD_CLOSE (end of
 * stream, idle timeout, shutdown: close without a word); an HTTP status
 * to answer before closing; or a negative errno. */
static int read_head(corio_http_req *c)
{
    const corio_http_server_opts *o = &c->srv->o;
    double deadline = -1; /* of the head, once it has started */
    reset_request(c);
    for (;;) {
        int rc = parse(c);
        if (rc > 1)
            return rc;
        if (rc == 1)
            return check_head(c);
        size_t have = c->rend - c->msg;
        if ((rc = head_too_big(c, have)))
            return rc;
        bool fresh = have == 0;
        if (fresh) {
            /* Nothing of the next request yet: answers held back for
             * pipelining go out before waiting, and a shutdown ends the
             * connection here. */
            if (c->srv->closing)
                return HEAD_CLOSE;
            if ((rc = corio__http_flush_wait(c)) < 0)
                return rc;
            shrink(c);
            c->msg = c->rpos;
        } else if (deadline < 0 && o->header_timeout >= 0) {
            /* The head began in an earlier read: it has header_timeout
             * from about then (slowloris). */
            deadline = corio_time() + o->header_timeout;
        }
        if ((rc = make_room(c)) < 0)
            return rc;
        bool mine;
        ssize_t n = fresh ? read_idle(c, &mine)
                          : read_in(c, deadline, true, &mine);
        if (n > 0)
            continue;
        if (n == 0 || (mine && fresh))
            return HEAD_CLOSE; /* a client that left mid-head too */
        if (mine)
            return 408;
        return (int)n;
    }
}

/* Whether the comma-separated value (n bytes) lists token w (lower
 * case), ignoring case; *last says whether it was the last element. */
static int count_token(const char *v, size_t n, const char *w, bool *last,
                       bool *other)
{
    int count = 0;
    size_t i = 0;
    while (i < n) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t s = i;
        while (i < n && v[i] != ',' && v[i] != ';')
            i++;
        size_t e = i;
        while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
            e--;
        while (i < n && v[i] != ',')
            i++; /* parameters */
        if (e == s)
            continue;
        if (corio__http_ieq(v + s, e - s, w)) {
            count++;
            *last = true;
        } else {
            *other = true;
            *last = false;
        }
    }
    return count;
}

/* Reserve scratch for this request's strings: the decoded path, the
 * decoded query and the route parameters together take at most five
 * times the target's length. */
static int reserve_scratch(corio_http_req *c)
{
    size_t need = 5 * ((size_t)c->url_len + 1) + 80;
    c->slen = 0;
    if (c->scap >= need)
        return 0;
    char *s = http_realloc(c->scratch, need);
    if (!s)
        return -ENOMEM;
    c->scratch = s;
    c->scap = need;
    return 0;
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

/* Decode the target's path (n bytes at p) into scratch: %-escapes become
 * bytes, except %2F, which stays as it is so that it never separates
 * path segments. NULL for a bad escape or %00. */
static char *decode_path(corio_http_req *c, const char *p, size_t n)
{
    char *out = corio__http_scratch(c, n + 1);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = p[i];
        if (ch == '%') {
            if (n - i < 3)
                return NULL;
            int h = hexval((unsigned char)p[i + 1]);
            int l = hexval((unsigned char)p[i + 2]);
            if (h < 0 || l < 0 || (h == 0 && l == 0))
                return NULL;
            int v = h * 16 + l;
            if (v != '/') {
                out[k++] = (char)v;
                i += 2;
                continue;
            }
        }
        out[k++] = ch;
    }
    out[k] = '\0';
    return out;
}

/* Split the target into path and query (origin form "/p?q", absolute
 * form "http://host/p?q", or "*" for OPTIONS). 0 or 400. */
static int parse_target(corio_http_req *c)
{
    char *t = c->rbuf + c->msg + c->url;
    size_t n = c->url_len;
    t[n] = '\0'; /* the space after it, already parsed */
    if (reserve_scratch(c) < 0)
        return 503;
    const char *p = t;
    if (n == 1 && t[0] == '*' && c->parser.method == HTTP_OPTIONS) {
        c->path = corio__http_scratch(c, 2);
        memcpy(c->path, "*", 2);
        return 0;
    }
    if (t[0] != '/') {
        size_t skip = 0;
        if (n > 7 && strncasecmp(t, "http://", 7) == 0)
            skip = 7;
        else if (n > 8 && strncasecmp(t, "https://", 8) == 0)
            skip = 8;
        else
            return 400;
        p = t + skip;
        while (*p && *p != '/' && *p != '?')
            p++;
    }
    size_t plen = 0;
    while (p[plen] && p[plen] != '?')
        plen++;
    const char *q = p[plen] ? p + plen : NULL;
    if (plen == 0) {
        c->path = corio__http_scratch(c, 2);
        memcpy(c->path, "/", 2);
    } else if (!(c->path = decode_path(c, p, plen))) {
        return 400;
    }
    c->query = q ? q + 1 : "";
    return 0;
}

/* The head is complete: check what the parser does not (version, Host,
 * transfer codings, field names, Expect), NUL-terminate the strings, and
 * set up the body. HEAD_READY or a status to answer and close with. */
static int check_head(corio_http_req *c)
{
    const corio_http_server_opts *o = &c->srv->o;
    llhttp_t *p = &c->parser;
    c->head_end = c->rpos;
    int rc = head_too_big(c, c->head_end - c->msg);
    if (rc)
        return rc;
    if (p->http_major != 1 || p->http_minor > 1)
        return 505;
    c->keep_alive = llhttp_should_keep_alive(p) && !p->upgrade;
    c->method = llhttp_method_name((llhttp_method_t)p->method);
    c->head = p->method == HTTP_HEAD;
    if (p->method == HTTP_CONNECT)
        return 501;

    char *base = c->rbuf + c->msg;
    int hosts = 0;
    bool te_last = false, te_other = false;
    int chunked = 0;
    for (uint32_t i = 0; i < c->nhdrs; i++) {
        struct hdr *h = &c->hdrs[i];
        char *name = base + h->name;
        char *value = base + h->value;
        /* No whitespace between a field name and its colon (RFC 9112
         * 5.1): llhttp lets trailing spaces through for most names. */
        if (!h->name_len || name[h->name_len - 1] == ' ' ||
            name[h->name_len - 1] == '\t')
            return 400;
        /* Only spaces between the colon and the value: a line break there
         * is an obs-fold (the value continues on the next line), which a
         * proxy in front may have read differently. */
        if (!h->value_len)
            h->value = h->name + h->name_len + 1; /* llhttp points past
                                                     the line */
        for (uint32_t k = h->name + h->name_len + 1; k < h->value; k++)
            if (base[k] != ' ' && base[k] != '\t')
                return 400;
        while (h->value_len &&
               (value[h->value_len - 1] == ' ' ||
                value[h->value_len - 1] == '\t'))
            h->value_len--;
        if (corio__http_ieq(name, h->name_len, "host"))
            hosts++;
        else if (corio__http_ieq(name, h->name_len, "transfer-encoding"))
            chunked += count_token(value, h->value_len, "chunked", &te_last,
                                   &te_other);
        else if (corio__http_ieq(name, h->name_len, "expect")) {
            if (!corio__http_ieq(value, h->value_len, "100-continue"))
                return 417;
            c->expect_continue = p->http_minor == 1;
        }
    }
    /* Both the names' colons and the values' CRs are parsed already. */
    for (uint32_t i = 0; i < c->nhdrs; i++) {
        base[c->hdrs[i].name + c->hdrs[i].name_len] = '\0';
        base[c->hdrs[i].value + c->hdrs[i].value_len] = '\0';
    }
    if (hosts > 1 || (hosts == 0 && p->http_minor == 1))
        return 400; /* RFC 9112 3.2 */
    if (p->flags & F_TRANSFER_ENCODING) {
        if (te_other)
            return 501; /* a coding we do not implement (RFC 9112 6.1) */
        if (chunked != 1 || !te_last)
            return 400;
    }
    if ((rc = parse_target(c)))
        return rc;

    c->content_length = (p->flags & F_CHUNKED) ? -1
                        : (p->flags & F_CONTENT_LENGTH)
                            ? (int64_t)p->content_length
                            : 0;
    c->max_body = o->max_body;
    c->body = c->bpos = c->bend = c->head_end;
    c->big = NULL;
    if (c->has_body) {
        /* Room for the body before the handler gets pointers into rbuf:
         * a known small body fits whole, anything else reads in pieces
         * of at least READ_MIN. */
        size_t want = READ_MIN * 2;
        if (c->content_length > 0 && c->content_length <= BODY_ROOM)
            want = (size_t)c->content_length + READ_MIN;
        size_t raw = c->rend - c->rpos;
        if (c->rcap - c->head_end < want + raw) {
            size_t cap = c->rcap;
            while (cap - c->head_end < want + raw)
                cap *= 2;
            char *b = http_realloc(c->rbuf, cap);
            if (!b)
                return 503;
            c->rbuf = b;
            c->rcap = cap;
        }
    }
    if (c->srv->closing)
        c->keep_alive = false;
    return HEAD_READY;
}

/* ---- bodies ---- */

/* Send "100 Continue" before the first body read of a request that asked
 * for it. Answers finished before it go first; the response being built
 * stays in wbuf. */
static int send_continue(corio_http_req *c)
{
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    c->sent_continue = true;
    int rc = corio__http_flush(c);
    if (rc == 0)
        rc = corio_stream_write(c->st, cont, sizeof cont - 1);
    return rc;
}

/* A body read failed for good: the connection ends after the answer. */
static int body_fail(corio_http_req *c, int status, int rc)
{
    c->body_status = status;
    c->keep_alive = false;
    return rc;
}

int corio__http_body_more(corio_http_req *c)
{
    const corio_http_server_opts *o = &c->srv->o;
    if (c->bpos < c->bend)
        return 1;
    if (c->msg_done)
        return 0;
    if (c->body_status)
        return c->body_status == 413 ? -EMSGSIZE : -EPROTO;
    if (!c->body_read) {
        c->body_read = true;
        if (c->max_body && c->content_length > 0 &&
            (uint64_t)c->content_length > c->max_body)
            return body_fail(c, 413, -EMSGSIZE);
    }
    if (c->expect_continue && !c->sent_continue) {
        int rc = send_continue(c);
        if (rc < 0)
            return rc;
    }
    /* Everything decoded was taken: decode the next bytes from the start
     * of the body area again (the raw bytes are at or after it). */
    if (!c->big)
        c->bpos = c->bend = c->body;
    for (;;) {
        if (c->rpos < c->rend) {
            int rc = parse(c);
            if (rc > 1)
                return body_fail(c, c->perr == 503 ? 503 : 400, -EPROTO);
            if (c->max_body && c->body_total > c->max_body)
                return body_fail(c, 413, -EMSGSIZE);
            if (c->bpos < c->bend)
                return 1;
            if (c->msg_done)
                return 0;
        }
        /* The raw bytes are all parsed: read more after the decoded
         * ones (a whole-body read keeps those in rbuf or in big). */
        size_t keep = c->big ? c->body : c->bend;
        c->rpos = c->rend = keep;
        if (c->rcap - c->rend < READ_MIN)
            return -ENOBUFS; /* corio_http_req_body moves to big first */
        bool mine;
        ssize_t n = read_in(c, o->body_timeout, false, &mine);
        if (n == 0)
            return body_fail(c, 400, -EPIPE); /* the client left */
        if (n < 0) {
            if (mine)
                return body_fail(c, 408, -ETIMEDOUT);
            if (n != -ECANCELED && n != -ETIMEDOUT)
                c->keep_alive = false;
            return (int)n;
        }
    }
}

ssize_t corio_http_req_read(corio_http_req *req, void *buf, size_t n)
{
    if (!req || (!buf && n))
        return -EINVAL;
    if (!n)
        return 0;
    int rc = corio__http_body_more(req);
    if (rc <= 0)
        return rc;
    const char *src = req->big ? req->big : req->rbuf;
    size_t k = req->bend - req->bpos;
    if (k > n)
        k = n;
    memcpy(buf, src + req->bpos, k);
    req->bpos += k;
    return (ssize_t)k;
}

/* Move the decoded body to big: the whole body does not fit in rbuf.
 * Sized for the Content-Length if there is one. The raw bytes are all
 * parsed; new ones will be read to the start of the body area. */
static int to_big(corio_http_req *c)
{
    size_t have = c->bend - c->bpos;
    size_t cap = 65536;
    if (c->content_length > 0 && (uint64_t)c->content_length + 1 > cap)
        cap = (size_t)c->content_length + 1;
    while (cap < have + 1)
        cap *= 2;
    char *b = http_malloc(cap);
    if (!b)
        return -ENOMEM;
    memcpy(b, c->rbuf + c->bpos, have);
    c->big = b;
    c->bigcap = cap;
    c->bpos = 0;
    c->bend = have;
    return 0;
}

/* Copy the decoded body into a block of its own, with room for a NUL. */
static int copy_out(corio_http_req *c)
{
    size_t len = c->bend - c->bpos;
    char *b = http_malloc(len + 1);
    if (!b)
        return -ENOMEM;
    memcpy(b, c->rbuf + c->bpos, len);
    c->big = b;
    c->bigcap = len + 1;
    c->bpos = 0;
    c->bend = len;
    return 0;
}

ssize_t corio_http_req_body(corio_http_req *req, const char **body)
{
    if (!req || !body)
        return -EINVAL;
    corio_http_req *c = req;
    if (!c->has_body) {
        *body = "";
        return 0;
    }
    if (!c->body_read) {
        c->body_read = true;
        if (c->max_body && c->content_length > 0 &&
            (uint64_t)c->content_length > c->max_body)
            return body_fail(c, 413, -EMSGSIZE);
        if (c->expect_continue && !c->msg_done) {
            int rc = send_continue(c);
            if (rc < 0)
                return rc;
        }
    }
    while (!c->msg_done) {
        if (c->body_status)
            return c->body_status == 413 ? -EMSGSIZE : -EPROTO;
        if (c->rpos < c->rend) {
            /* Decode what is buffered, after what is decoded. */
            int rc = parse(c);
            if (rc > 1)
                return body_fail(c, c->perr == 503 ? 503 : 400, -EPROTO);
            if (c->max_body && c->body_total > c->max_body)
                return body_fail(c, 413, -EMSGSIZE);
            continue;
        }
        /* Read more right after the decoded bytes; when rbuf has no room
         * left for a read, the decoded bytes move to big. */
        if (!c->big) {
            size_t have = c->bend - c->bpos;
            if (c->bpos > c->body) {
                memmove(c->rbuf + c->body, c->rbuf + c->bpos, have);
                c->bpos = c->body;
                c->bend = c->body + have;
            }
            if (c->rcap - c->bend < READ_MIN && to_big(c) < 0)
                return body_fail(c, 503, -ENOMEM);
        }
        c->rpos = c->rend = c->big ? c->body : c->bend;
        bool mine;
        ssize_t n = read_in(c, c->srv->o.body_timeout, false, &mine);
        if (n == 0)
            return body_fail(c, 400, -EPIPE);
        if (n < 0) {
            if (mine)
                return body_fail(c, 408, -ETIMEDOUT);
            c->keep_alive = false;
            return (int)n;
        }
    }
    /* NUL-terminate. big has room; in rbuf the byte after the body may
     * be the next request's first, which moves up one if it can. */
    size_t len = c->bend - c->bpos;
    if (!c->big) {
        bool room = c->bend < c->rpos ||
                    (c->rpos == c->rend && c->bend < c->rcap);
        if (!room && c->rend < c->rcap) {
            memmove(c->rbuf + c->rpos + 1, c->rbuf + c->rpos,
                    c->rend - c->rpos);
            c->rpos++;
            c->rend++;
            room = true;
        }
        if (!room && copy_out(c) < 0)
            return -ENOMEM;
    }
    char *base = c->big ? c->big : c->rbuf;
    base[c->bend] = '\0';
    *body = base + c->bpos;
    c->bpos = c->bend;
    return (ssize_t)len;
}

int corio_http_req_set_max_body(corio_http_req *req, size_t max)
{
    if (!req)
        return -EINVAL;
    if (req->body_read)
        return -EALREADY;
    req->max_body = max;
    return 0;
}

/* Read and drop what the handler left of the body, so that the next
 * request can be parsed; a body that is too long, or that the client
 * waits to be asked for, ends the connection instead. */
static void drain_body(corio_http_req *c)
{
    if (c->msg_done || !c->keep_alive)
        return;
    if ((c->expect_continue && !c->sent_continue) || c->body_status) {
        c->keep_alive = false;
        return;
    }
    if (c->content_length > 0 &&
        (uint64_t)c->content_length - c->body_total > DISCARD_MAX) {
        c->keep_alive = false;
        return;
    }
    uint64_t start = c->body_total;
    c->body_read = true;
    for (;;) {
        int rc = corio__http_body_more(c);
        if (rc <= 0) {
            if (rc < 0)
                c->keep_alive = false;
            return;
        }
        c->bpos = c->bend;
        if (c->body_total - start > DISCARD_MAX) {
            c->keep_alive = false;
            return;
        }
    }
}

/* ---- the connection ---- */

/* A loop callback, scheduled while a pipelined handler runs with answers
 * held back: if the handler suspends, they go out now rather than after
 * it (corio_stream_write never suspends). */
static void flush_soon(void *arg)
{
    corio__http_flush(arg);
}

/* Run the handler chain for a parsed request and finish its response.
 * 0 to go on with the connection (if keep_alive), or a negative errno to
 * drop it. */
static int handle(corio_http_req *c)
{
    corio__http_route(c);
    bool held = c->wdone > c->wbeg;
    if (held && corio_loop_call_soon(c->srv->loop, flush_soon, c,
                                     &c->flush_h) < 0) {
        int rc = corio__http_flush(c);
        if (rc < 0)
            return rc;
        held = false;
    }
    c->in_handler = true;
    int rc = corio_http_next(c);
    c->in_handler = false;
    if (held)
        corio_handle_cancel(c->flush_h);
    if (c->gone)
        return -ECONNRESET;
    if (rc == -ECANCELED)
        return rc; /* a shutdown or a disconnect: drop the connection */
    drain_body(c);
    rc = corio__http_finish(c, rc);
    if (rc < 0)
        return rc;
    if (c->big) {
        http_free(c->big);
        c->big = NULL;
        c->bigcap = 0;
    }
    /* Hold the answer back while more requests are buffered (pipelining),
     * up to PIPELINE_MAX; read_head flushes before it waits. */
    if (c->keep_alive && c->rpos < c->rend &&
        c->wdone - c->wbeg < PIPELINE_MAX)
        return 0;
    return c->keep_alive ? corio__http_flush_wait(c) : 0;
}

/* End the connection: send everything, then the end of the stream; if
 * the client may still be sending (a body we did not read, a request we
 * refused), read and drop its bytes for a while first, so that closing
 * with unread data does not reset the connection under the answer. */
static int finish_conn(corio_http_req *c, bool linger)
{
    const corio_http_server_opts *o = &c->srv->o;
    corio_scope sc;
    int rc = corio__http_flush(c);
    if (rc == 0 && corio_scope_enter(&sc, o->write_timeout) == 0) {
        rc = corio_stream_write_eof(c->st);
        corio_scope_exit(&sc);
    }
    if (rc < 0 || !linger)
        return rc;
    if (corio_scope_enter(&sc, LINGER_TIME) < 0)
        return 0;
    char small[512];
    char *buf = c->rbuf ? c->rbuf : small;
    size_t cap = c->rbuf ? c->rcap : sizeof small;
    size_t total = 0;
    while (total < LINGER_MAX) {
        ssize_t n = corio_stream_read(c->st, buf, cap);
        if (n <= 0)
            break;
        total += (size_t)n;
    }
    corio_scope_exit(&sc);
    return 0;
}

int corio__http_serve(corio_stream *st, void *arg)
{
    corio_http_server *srv = arg;
    corio_http_req c;
    memset(&c, 0, sizeof c);
    c.srv = srv;
    c.st = st;
    c.task = corio_current();
    c.fd = corio_sock_fileno(corio_stream_sock(st));
    c.keep_alive = true;
    c.nreq_first = true;
    c.out_length = -1;
    llhttp_init(&c.parser, HTTP_REQUEST, &settings);
    c.parser.data = &c;
    corio__list_push_back(&srv->conns, &c.link);
    srv->nconns++;
    corio__http_monitor_add(&c);

    int rc;
    bool linger = false;
    for (;;) {
        int h = read_head(&c);
        if (h == HEAD_READY) {
            rc = handle(&c);
            if (rc < 0)
                break;
            if (!c.keep_alive) {
                linger = !c.msg_done || c.rpos < c.rend;
                rc = finish_conn(&c, linger);
                break;
            }
            c.nreq_first = false;
            continue;
        }
        if (h >= 400) {
            /* The request could not be taken: answer and close, never
             * parsing what follows it. */
            c.keep_alive = false;
            rc = corio__http_plain_error(&c, h);
            if (rc == 0)
                rc = finish_conn(&c, true);
            break;
        }
        rc = h == HEAD_CLOSE ? finish_conn(&c, false) : h;
        break;
    }

    corio__http_monitor_del(&c);
    corio__list_remove(&c.link);
    srv->nconns--;
    http_free(c.rbuf);
    http_free(c.wbuf);
    http_free(c.hdrs);
    http_free(c.scratch);
    http_free(c.big);
    /* The server closes the stream: gracefully if rc >= 0. A client that
     * went away is nobody's failure. */
    return rc == -EPIPE || rc == -ECONNRESET ? -ECONNRESET
           : rc < 0                          ? rc
                                             : 0;
}

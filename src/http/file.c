/* SPDX-License-Identifier: MIT */
/* Files as responses (web.FileResponse): type from the extension,
 * validators (Last-Modified, an ETag made of mtime and size as nginx
 * makes it), conditional GET (304), one byte range (206/416), and a body
 * sent with sendfile(2) on plain connections or read and written through
 * the stream on TLS ones. The file is opened and read with plain system
 * calls: a file in the page cache costs no more than a syscall, as in
 * nginx's default configuration. */
#include "http/http_int.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#define COPY_CHUNK 16384
#define SENDFILE_MAX (1 << 30) /* bytes per sendfile call */

static const struct {
    const char *ext;
    const char *type;
} types[] = {
    {"html", "text/html; charset=utf-8"},
    {"htm", "text/html; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"json", "application/json"},
    {"txt", "text/plain; charset=utf-8"},
    {"md", "text/markdown; charset=utf-8"},
    {"csv", "text/csv; charset=utf-8"},
    {"xml", "application/xml"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"ico", "image/vnd.microsoft.icon"},
    {"pdf", "application/pdf"},
    {"wasm", "application/wasm"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"mp3", "audio/mpeg"},
    {"mp4", "video/mp4"},
    {"webm", "video/webm"},
    {"zip", "application/zip"},
    {"gz", "application/gzip"},
    {"tar", "application/x-tar"},
};

static const char *content_type(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash : path, '.');
    if (dot)
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            if (strcasecmp(dot + 1, types[i].ext) == 0)
                return types[i].type;
    return "application/octet-stream";
}

/* Whether the If-None-Match value (a list of entity tags, or "*") names
 * etag, comparing weakly (RFC 9110 13.1.2: W/ is ignored). */
static bool etag_match(const char *list, const char *etag)
{
    size_t elen = strlen(etag);
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '*')
            return true;
        if (p[0] == 'W' && p[1] == '/')
            p += 2;
        if (*p != '"')
            return false;
        const char *end = strchr(p + 1, '"');
        if (!end)
            return false;
        if ((size_t)(end + 1 - p) == elen && memcmp(p, etag, elen) == 0)
            return true;
        p = end + 1;
    }
    return false;
}

/* Parse decimal digits at *p into *v (no overflow). Whether there were
 * any. */
static bool digits(const char **p, uint64_t *v)
{
    const char *s = *p;
    uint64_t x = 0;
    while (*s >= '0' && *s <= '9') {
        if (x > (UINT64_MAX - 9) / 10)
            return false;
        x = x * 10 + (uint64_t)(*s - '0');
        s++;
    }
    if (s == *p)
        return false;
    *p = s;
    *v = x;
    return true;
}

/* One byte range of a file of size bytes (RFC 9110 14.1.2): 1 with the
 * range in *start and *end (inclusive), 0 to ignore the header (not bytes,
 * malformed, or several ranges, which get the whole file), -1 if it is
 * unsatisfiable (416). */
static int parse_range(const char *h, uint64_t size, uint64_t *start,
                       uint64_t *end)
{
    if (strncasecmp(h, "bytes=", 6) != 0 || strchr(h, ','))
        return 0;
    const char *p = h + 6;
    while (*p == ' ')
        p++;
    uint64_t a, b;
    if (*p == '-') {
        p++;
        if (!digits(&p, &b))
            return 0;
        while (*p == ' ')
            p++;
        if (*p)
            return 0;
        if (b == 0 || size == 0)
            return -1;
        *start = b >= size ? 0 : size - b;
        *end = size - 1;
        return 1;
    }
    if (!digits(&p, &a) || *p++ != '-')
        return 0;
    bool have_b = digits(&p, &b);
    while (*p == ' ')
        p++;
    if (*p || (have_b && b < a))
        return 0;
    if (a >= size)
        return -1;
    *start = a;
    *end = !have_b || b >= size ? size - 1 : b;
    return 1;
}

/* Wait (write_timeout) until the socket takes more. */
static int wait_out(corio_http_req *c, corio_sock *s)
{
    corio_scope sc;
    int rc = corio_scope_enter(&sc, c->srv->o.write_timeout);
    if (rc < 0)
        return rc;
    rc = corio__sock_wait(s, CORIO__OUT);
    corio_scope_exit(&sc);
    return rc;
}

/* Through the stream (TLS, or a stream still holding earlier output):
 * read and write in pieces, the write buffer as the bounce buffer. */
static int copy_file(corio_http_req *c, int fd, uint64_t off, uint64_t len)
{
    int rc = corio__http_flush_wait(c);
    if (rc < 0)
        return rc;
    if ((rc = corio__http_wreserve(c, COPY_CHUNK)) < 0)
        return rc;
    char *buf = c->wbuf + c->wlen;
    while (len) {
        size_t want = len < COPY_CHUNK ? (size_t)len : COPY_CHUNK;
        ssize_t n = pread(fd, buf, want, (off_t)off);
        if (n <= 0)
            return n < 0 ? -errno : -EIO; /* the file shrank */
        if ((rc = corio_stream_write(c->st, buf, (size_t)n)) < 0 ||
            (rc = corio__http_flush_wait(c)) < 0)
            return rc;
        off += (uint64_t)n;
        len -= (uint64_t)n;
    }
    return 0;
}

/* Over a plain socket: the headers (and answers before them) with
 * MSG_MORE, so that they leave with the file's first bytes, then
 * sendfile(2). */
static int send_file(corio_http_req *c, int fd, uint64_t off, uint64_t len)
{
    if (corio_stream_write_buffered(c->st) > 0)
        return copy_file(c, fd, off, len); /* keep the bytes in order */
    corio_sock *s = corio_stream_sock(c->st);
    int rc;
    if (c->wdone > c->wbeg) {
        struct iovec iov = {c->wbuf + c->wbeg, c->wdone - c->wbeg};
        struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
        corio_scope sc;
        if ((rc = corio_scope_enter(&sc, c->srv->o.write_timeout)) < 0)
            return rc;
        ssize_t n = corio_sock_sendmsg(s, &m, MSG_MORE);
        corio_scope_exit(&sc);
        if (n != (ssize_t)iov.iov_len)
            return n < 0 ? (int)n : -ETIMEDOUT;
        c->wbeg = c->wdone;
        if (c->wbeg == c->wlen)
            c->wbeg = c->wdone = c->wlen = 0;
    }
    int sfd = corio_sock_fileno(s);
    off_t o = (off_t)off;
    while (len) {
        if ((rc = corio__net_check()) < 0)
            return rc;
        size_t want = len < SENDFILE_MAX ? (size_t)len : SENDFILE_MAX;
        ssize_t k = sendfile(sfd, fd, &o, want);
        if (k > 0) {
            len -= (uint64_t)k;
            continue;
        }
        if (k == 0)
            return -EIO; /* the file shrank */
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN)
            return -errno;
        /* The socket is full. corio waits on a readiness flag that the
         * socket's own calls clear when they meet EAGAIN, which sendfile
         * cannot do: send the next byte through one of them, which either
         * goes out or clears the flag, and then wait. */
        char b;
        if (pread(fd, &b, 1, o) != 1)
            return -EIO;
        struct iovec one = {&b, 1};
        ssize_t r = corio__sock_try_sendv(s, &one, 1);
        if (r == 1) {
            o++;
            len--;
            continue;
        }
        if (r != -EAGAIN)
            return (int)r;
        if ((rc = wait_out(c, s)) < 0)
            return rc;
    }
    return 0;
}

int corio_http_resp_file(corio_http_req *req, const char *path)
{
    if (!req || !path)
        return -EINVAL;
    corio_http_req *c = req;
    if (c->rstate >= RESP_BUFFERED)
        return -EALREADY;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        int e = errno;
        return corio__http_error_page(
            c, e == EACCES || e == EPERM ? 403
               : e == ENOENT || e == ENOTDIR || e == ENAMETOOLONG ||
                       e == ELOOP
                   ? 404
                   : 500);
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return corio__http_error_page(c, 404);
    }
    uint64_t size = (uint64_t)st.st_size;
    char etag[48], lm[32];
    snprintf(etag, sizeof etag, "\"%llx-%llx\"",
             (unsigned long long)st.st_mtime, (unsigned long long)size);
    lm[corio__http_fmt_date(st.st_mtime, lm)] = '\0';

    /* Conditional GET (RFC 9110 13.2.2): If-None-Match, when present,
     * decides instead of If-Modified-Since. */
    bool not_modified = false;
    const char *inm = corio_http_req_header(c, "If-None-Match");
    const char *ims = corio_http_req_header(c, "If-Modified-Since");
    if (inm) {
        not_modified = etag_match(inm, etag);
    } else if (ims) {
        time_t t = corio__http_parse_date(ims);
        not_modified = t >= 0 && st.st_mtime <= t;
    }
    int rc;
    if (not_modified) {
        close(fd);
        if ((rc = corio_http_resp_add_header(c, "ETag", etag)) < 0 ||
            (rc = corio_http_resp_add_header(c, "Last-Modified", lm)) < 0)
            return rc;
        return corio_http_resp_send(c, 304, NULL, NULL, 0);
    }

    uint64_t start = 0, len = size;
    int status = 200;
    const char *range = corio_http_req_header(c, "Range");
    const char *if_range = corio_http_req_header(c, "If-Range");
    if (range && if_range && strcmp(if_range, etag) != 0 &&
        strcmp(if_range, lm) != 0)
        range = NULL; /* the client's copy is stale: the whole file */
    char cr[64];
    if (range) {
        uint64_t a = 0, b = 0;
        int r = parse_range(range, size, &a, &b);
        if (r < 0) {
            close(fd);
            snprintf(cr, sizeof cr, "bytes */%llu", (unsigned long long)size);
            if ((rc = corio_http_resp_add_header(c, "Content-Range", cr)) < 0)
                return rc;
            return corio_http_resp_text(c, 416, "416 Range Not Satisfiable\n");
        }
        if (r > 0) {
            status = 206;
            start = a;
            len = b - a + 1;
            snprintf(cr, sizeof cr, "bytes %llu-%llu/%llu",
                     (unsigned long long)a, (unsigned long long)b,
                     (unsigned long long)size);
        }
    }
    char num[24];
    snprintf(num, sizeof num, "%llu", (unsigned long long)len);
    if ((rc = corio_http_resp_set_status(c, status)) < 0 ||
        (!c->user_ctype && (rc = corio_http_resp_add_header(
                                c, "Content-Type", content_type(path))) < 0) ||
        (rc = corio_http_resp_add_header(c, "ETag", etag)) < 0 ||
        (rc = corio_http_resp_add_header(c, "Last-Modified", lm)) < 0 ||
        (rc = corio_http_resp_add_header(c, "Accept-Ranges", "bytes")) < 0 ||
        (status == 206 &&
         (rc = corio_http_resp_add_header(c, "Content-Range", cr)) < 0) ||
        (!c->user_length &&
         (rc = corio_http_resp_add_header(c, "Content-Length", num)) < 0) ||
        (rc = corio__http_commit(c, (int64_t)len)) < 0) {
        close(fd);
        return rc;
    }
    if (!c->head && len) {
        rc = c->srv->tls ? copy_file(c, fd, start, len)
                         : send_file(c, fd, start, len);
        if (rc < 0) {
            close(fd);
            c->keep_alive = false;
            c->rstate = RESP_DONE;
            return rc;
        }
        c->out_sent = len;
    }
    close(fd);
    c->rstate = RESP_DONE;
    return 0;
}

/* SPDX-License-Identifier: MIT */
/* Reading results: shape, command tags and typed values. A corio_pg_result
 * is libpq's PGresult itself. Getters read both formats: text as the
 * server prints it (DateStyle ISO, bytea_output hex or escape), binary as
 * the server sends it (network byte order, timestamps as microseconds
 * since 2000-01-01, numeric as base-10000 digits). */
#include "pg/pg_int.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Type OIDs (pg_type.dat). */
enum {
    OID_BOOL = 16,
    OID_BYTEA = 17,
    OID_CHAR = 18,
    OID_NAME = 19,
    OID_INT8 = 20,
    OID_INT2 = 21,
    OID_INT4 = 23,
    OID_TEXT = 25,
    OID_OID = 26,
    OID_JSON = 114,
    OID_XML = 142,
    OID_FLOAT4 = 700,
    OID_FLOAT8 = 701,
    OID_UNKNOWN = 705,
    OID_BPCHAR = 1042,
    OID_VARCHAR = 1043,
    OID_DATE = 1082,
    OID_TIMESTAMP = 1114,
    OID_TIMESTAMPTZ = 1184,
    OID_NUMERIC = 1700,
    OID_UUID = 2950,
    OID_JSONB = 3802,
};

/* Days from 1970-01-01 to 2000-01-01, PostgreSQL's epoch. */
#define PG_EPOCH_DAYS 10957
#define USEC_PER_DAY 86400000000LL

#define RES(r) ((PGresult *)(r))

void corio_pg_result_close(corio_pg_result *r)
{
    PQclear(RES(r));
}

int corio_pg_nrows(const corio_pg_result *r)
{
    return r ? PQntuples(RES(r)) : 0;
}

int corio_pg_ncols(const corio_pg_result *r)
{
    return r ? PQnfields(RES(r)) : 0;
}

const char *corio_pg_colname(const corio_pg_result *r, int col)
{
    return r ? PQfname(RES(r), col) : NULL;
}

int corio_pg_colnum(const corio_pg_result *r, const char *name)
{
    if (!r || !name)
        return -EINVAL;
    int n = PQfnumber(RES(r), name);
    return n < 0 ? -ENOENT : n;
}

uint32_t corio_pg_coltype(const corio_pg_result *r, int col)
{
    if (!r || col < 0 || col >= PQnfields(RES(r)))
        return 0;
    return PQftype(RES(r), col);
}

const char *corio_pg_cmd_tag(const corio_pg_result *r)
{
    return r ? PQcmdStatus(RES(r)) : NULL;
}

int64_t corio_pg_affected(const corio_pg_result *r)
{
    return r ? corio__pg_affected(RES(r)) : 0;
}

static bool in_range(const corio_pg_result *r, int row, int col)
{
    return r && row >= 0 && col >= 0 && row < PQntuples(RES(r)) &&
           col < PQnfields(RES(r));
}

bool corio_pg_isnull(const corio_pg_result *r, int row, int col)
{
    return !in_range(r, row, col) || PQgetisnull(RES(r), row, col);
}

int corio_pg_length(const corio_pg_result *r, int row, int col)
{
    if (!in_range(r, row, col))
        return -EINVAL;
    return PQgetlength(RES(r), row, col);
}

static bool text_type(uint32_t t)
{
    switch (t) {
    case OID_TEXT:
    case OID_VARCHAR:
    case OID_BPCHAR:
    case OID_NAME:
    case OID_CHAR:
    case OID_JSON:
    case OID_XML:
    case OID_UNKNOWN:
        return true;
    default:
        return false;
    }
}

const char *corio_pg_text(const corio_pg_result *r, int row, int col)
{
    if (!in_range(r, row, col) || PQgetisnull(RES(r), row, col))
        return NULL;
    const char *v = PQgetvalue(RES(r), row, col);
    if (PQfformat(RES(r), col) == 0)
        return v;
    uint32_t t = PQftype(RES(r), col);
    if (text_type(t))
        return v; /* libpq ends every value with a NUL */
    if (t == OID_JSONB && PQgetlength(RES(r), row, col) >= 1 && v[0] == 1)
        return v + 1; /* jsonb's binary form: a version byte, then text */
    return NULL;
}

/* A value to convert: its bytes, length, format and type. */
struct val {
    const unsigned char *p;
    int len;
    bool bin;
    uint32_t type;
};

static int get(const corio_pg_result *r, int row, int col, struct val *v)
{
    if (!in_range(r, row, col))
        return -EINVAL;
    if (PQgetisnull(RES(r), row, col))
        return -ENODATA;
    v->p = (const unsigned char *)PQgetvalue(RES(r), row, col);
    v->len = PQgetlength(RES(r), row, col);
    v->bin = PQfformat(RES(r), col) == 1;
    v->type = PQftype(RES(r), col);
    return 0;
}

static uint64_t be(const unsigned char *p, int n)
{
    uint64_t x = 0;
    for (int i = 0; i < n; i++)
        x = x << 8 | p[i];
    return x;
}

int corio_pg_get_bool(const corio_pg_result *r, int row, int col, bool *out)
{
    struct val v;
    int rc = out ? get(r, row, col, &v) : -EINVAL;
    if (rc < 0)
        return rc;
    if (v.bin) {
        if (v.type != OID_BOOL || v.len != 1)
            return -EDOM;
        *out = v.p[0] != 0;
        return 0;
    }
    if (!strcmp((const char *)v.p, "t") || !strcmp((const char *)v.p, "true"))
        *out = true;
    else if (!strcmp((const char *)v.p, "f") ||
             !strcmp((const char *)v.p, "false"))
        *out = false;
    else
        return -EDOM;
    return 0;
}

/* Any integer value as int64. */
static int get_int(const corio_pg_result *r, int row, int col, int64_t *out)
{
    struct val v;
    int rc = get(r, row, col, &v);
    if (rc < 0)
        return rc;
    if (v.bin) {
        if (v.type == OID_INT2 && v.len == 2)
            *out = (int16_t)be(v.p, 2);
        else if (v.type == OID_INT4 && v.len == 4)
            *out = (int32_t)be(v.p, 4);
        else if (v.type == OID_OID && v.len == 4)
            *out = (uint32_t)be(v.p, 4);
        else if (v.type == OID_INT8 && v.len == 8)
            *out = (int64_t)be(v.p, 8);
        else
            return -EDOM;
        return 0;
    }
    const char *s = (const char *)v.p;
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (end == s || *end)
        return -EDOM;
    if (errno == ERANGE)
        return -ERANGE;
    *out = x;
    return 0;
}

int corio_pg_get_int64(const corio_pg_result *r, int row, int col,
                       int64_t *out)
{
    return out ? get_int(r, row, col, out) : -EINVAL;
}

int corio_pg_get_int32(const corio_pg_result *r, int row, int col,
                       int32_t *out)
{
    int64_t x;
    int rc = out ? get_int(r, row, col, &x) : -EINVAL;
    if (rc < 0)
        return rc;
    if (x < INT32_MIN || x > INT32_MAX)
        return -ERANGE;
    *out = (int32_t)x;
    return 0;
}

int corio_pg_get_int16(const corio_pg_result *r, int row, int col,
                       int16_t *out)
{
    int64_t x;
    int rc = out ? get_int(r, row, col, &x) : -EINVAL;
    if (rc < 0)
        return rc;
    if (x < INT16_MIN || x > INT16_MAX)
        return -ERANGE;
    *out = (int16_t)x;
    return 0;
}

/* Binary numeric to text: a header of four int16 (digit count, weight,
 * sign, display scale), then base-10000 digits, the first of weight
 * `weight`. Writes at most cap bytes; returns the length needed, or
 * -EDOM for a malformed value. */
static ssize_t numeric_text(const unsigned char *p, int len, char *buf,
                            size_t cap)
{
    if (len < 8)
        return -EDOM;
    int nd = (int16_t)be(p, 2), weight = (int16_t)be(p + 2, 2);
    unsigned sign = (unsigned)be(p + 4, 2);
    int dscale = (int16_t)be(p + 6, 2);
    if (nd < 0 || len != 8 + 2 * nd || dscale < 0)
        return -EDOM;
    const char *special = sign == 0xC000   ? "NaN"
                          : sign == 0xD000 ? "Infinity"
                          : sign == 0xF000 ? "-Infinity"
                                           : NULL;
    size_t n = 0;
#define PUT(ch)                                                              \
    do {                                                                     \
        if (n + 1 < cap)                                                     \
            buf[n] = (ch);                                                   \
        n++;                                                                 \
    } while (0)
    if (special) {
        for (const char *s = special; *s; s++)
            PUT(*s);
    } else {
        if (sign == 0x4000)
            PUT('-');
        /* Integer part: digit groups of weight `weight` down to 0. */
        if (weight < 0) {
            PUT('0');
        } else {
            for (int w = weight, i = 0; w >= 0; w--, i++) {
                int d = i < nd ? (int)be(p + 8 + 2 * i, 2) : 0;
                char grp[12];
                snprintf(grp, sizeof grp, w == weight ? "%d" : "%04d", d);
                for (char *s = grp; *s; s++)
                    PUT(*s);
            }
        }
        if (dscale > 0) {
            PUT('.');
            /* Fraction: groups of weight -1, -2 ..., dscale digits. */
            for (int k = 0, w = -1; k < dscale; w--) {
                int i = weight - w; /* index of the group of weight w */
                int d = i >= 0 && i < nd ? (int)be(p + 8 + 2 * i, 2) : 0;
                char grp[12];
                snprintf(grp, sizeof grp, "%04d", d);
                for (int j = 0; j < 4 && k < dscale; j++, k++)
                    PUT(grp[j]);
            }
        }
    }
#undef PUT
    if (cap)
        buf[n < cap ? n : cap - 1] = '\0';
    return (ssize_t)n;
}

ssize_t corio_pg_get_numeric(const corio_pg_result *r, int row, int col,
                             char *buf, size_t cap)
{
    struct val v;
    int rc = (!buf && cap) ? -EINVAL : get(r, row, col, &v);
    if (rc < 0)
        return rc;
    if (v.bin) {
        if (v.type != OID_NUMERIC)
            return -EDOM;
        return numeric_text(v.p, v.len, buf, cap);
    }
    if (cap) {
        size_t n = (size_t)v.len < cap ? (size_t)v.len : cap - 1;
        memcpy(buf, v.p, n);
        buf[n] = '\0';
    }
    return v.len;
}

int corio_pg_get_double(const corio_pg_result *r, int row, int col,
                        double *out)
{
    struct val v;
    int rc = out ? get(r, row, col, &v) : -EINVAL;
    if (rc < 0)
        return rc;
    if (v.bin) {
        if (v.type == OID_FLOAT8 && v.len == 8) {
            uint64_t x = be(v.p, 8);
            memcpy(out, &x, 8);
            return 0;
        }
        if (v.type == OID_FLOAT4 && v.len == 4) {
            uint32_t x = (uint32_t)be(v.p, 4);
            float f;
            memcpy(&f, &x, 4);
            *out = f;
            return 0;
        }
        if (v.type == OID_NUMERIC) {
            char text[512];
            ssize_t n = numeric_text(v.p, v.len, text, sizeof text);
            if (n < 0 || (size_t)n >= sizeof text)
                return n < 0 ? (int)n : -ERANGE;
            *out = strtod(text, NULL);
            return 0;
        }
        int64_t i;
        rc = get_int(r, row, col, &i);
        if (rc == 0)
            *out = (double)i;
        return rc;
    }
    const char *s = (const char *)v.p;
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    if (end == s || *end)
        return -EDOM;
    if (errno == ERANGE && fabs(d) == HUGE_VAL)
        return -ERANGE;
    *out = d;
    return 0;
}

int corio_pg_get_float(const corio_pg_result *r, int row, int col,
                       float *out)
{
    double d;
    int rc = out ? corio_pg_get_double(r, row, col, &d) : -EINVAL;
    if (rc < 0)
        return rc;
    if (isfinite(d) && fabs(d) > 3.4028234663852886e38)
        return -ERANGE;
    *out = (float)d;
    return 0;
}

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

ssize_t corio_pg_get_bytea(const corio_pg_result *r, int row, int col,
                           void *buf, size_t cap)
{
    struct val v;
    int rc = (!buf && cap) ? -EINVAL : get(r, row, col, &v);
    if (rc < 0)
        return rc;
    unsigned char *out = buf;
    if (v.bin) {
        if (v.type != OID_BYTEA)
            return -EDOM;
        if (cap)
            memcpy(out, v.p, (size_t)v.len < cap ? (size_t)v.len : cap);
        return v.len;
    }
    const char *s = (const char *)v.p;
    size_t n = 0;
    if (s[0] == '\\' && s[1] == 'x') { /* hex format */
        for (s += 2; *s; s += 2) {
            int hi = hexval(s[0]), lo = hi < 0 ? -1 : hexval(s[1]);
            if (hi < 0 || lo < 0)
                return -EDOM;
            if (n < cap)
                out[n] = (unsigned char)(hi << 4 | lo);
            n++;
        }
        return (ssize_t)n;
    }
    /* Escape format: \\ and \ooo, other bytes as themselves. */
    while (*s) {
        unsigned char b;
        if (s[0] != '\\') {
            b = (unsigned char)*s++;
        } else if (s[1] == '\\') {
            b = '\\';
            s += 2;
        } else if (s[1] >= '0' && s[1] <= '3' && s[2] >= '0' &&
                   s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
            b = (unsigned char)((s[1] - '0') << 6 | (s[2] - '0') << 3 |
                                (s[3] - '0'));
            s += 4;
        } else {
            return -EDOM;
        }
        if (n < cap)
            out[n] = b;
        n++;
    }
    return (ssize_t)n;
}

int corio_pg_get_uuid(const corio_pg_result *r, int row, int col,
                      uint8_t out[16])
{
    struct val v;
    int rc = out ? get(r, row, col, &v) : -EINVAL;
    if (rc < 0)
        return rc;
    if (v.bin) {
        if (v.type != OID_UUID || v.len != 16)
            return -EDOM;
        memcpy(out, v.p, 16);
        return 0;
    }
    const char *s = (const char *)v.p;
    uint8_t tmp[16];
    int n = 0;
    for (; *s && n < 32; s++) {
        if (*s == '-')
            continue;
        int x = hexval(*s);
        if (x < 0)
            return -EDOM;
        tmp[n / 2] = (uint8_t)(n % 2 ? tmp[n / 2] | x : x << 4);
        n++;
    }
    if (n != 32 || *s)
        return -EDOM;
    memcpy(out, tmp, 16);
    return 0;
}

/* Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Parse "YYYY-MM-DD" with an optional " BC" later: days since 1970. */
static int parse_date(const char **sp, int64_t *days)
{
    const char *s = *sp;
    char *end;
    long long y = strtoll(s, &end, 10);
    if (end == s || *end != '-' || y <= 0)
        return -EDOM;
    s = end + 1;
    long m = strtol(s, &end, 10);
    if (end != s + 2 || *end != '-' || m < 1 || m > 12)
        return -EDOM;
    s = end + 1;
    long d = strtol(s, &end, 10);
    if (end != s + 2 || d < 1 || d > 31)
        return -EDOM;
    /* 1 BC is year 0 in the proleptic calendar. */
    bool bc = strstr(end, " BC") != NULL;
    *days = days_from_civil(bc ? 1 - y : y, (int)m, (int)d);
    *sp = end;
    return 0;
}

int corio_pg_get_date(const corio_pg_result *r, int row, int col,
                      int32_t *out)
{
    struct val v;
    int rc = out ? get(r, row, col, &v) : -EINVAL;
    if (rc < 0)
        return rc;
    if (v.bin) {
        if (v.type != OID_DATE || v.len != 4)
            return -EDOM;
        int32_t d = (int32_t)be(v.p, 4);
        if (d == INT32_MAX || d == INT32_MIN) {
            *out = d; /* infinity, -infinity */
            return 0;
        }
        if (d > INT32_MAX - PG_EPOCH_DAYS)
            return -ERANGE;
        *out = d + PG_EPOCH_DAYS;
        return 0;
    }
    const char *s = (const char *)v.p;
    if (!strcmp(s, "infinity")) {
        *out = INT32_MAX;
        return 0;
    }
    if (!strcmp(s, "-infinity")) {
        *out = INT32_MIN;
        return 0;
    }
    int64_t days;
    rc = parse_date(&s, &days);
    if (rc < 0)
        return rc;
    if (*s && strcmp(s, " BC"))
        return -EDOM;
    if (days < INT32_MIN + 1 || days > INT32_MAX - 1)
        return -ERANGE;
    *out = (int32_t)days;
    return 0;
}

/* Two digits at s, at most max. */
static int two(const char *s, int max)
{
    if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
        return -1;
    int x = (s[0] - '0') * 10 + (s[1] - '0');
    return x > max ? -1 : x;
}

int corio_pg_get_timestamp(const corio_pg_result *r, int row, int col,
                           int64_t *out)
{
    struct val v;
    int rc = out ? get(r, row, col, &v) : -EINVAL;
    if (rc < 0)
        return rc;
    if (v.bin) {
        if ((v.type != OID_TIMESTAMP && v.type != OID_TIMESTAMPTZ) ||
            v.len != 8)
            return -EDOM;
        int64_t us = (int64_t)be(v.p, 8);
        if (us == INT64_MAX || us == INT64_MIN) {
            *out = us;
            return 0;
        }
        int64_t off = PG_EPOCH_DAYS * USEC_PER_DAY;
        if (us > INT64_MAX - off)
            return -ERANGE;
        *out = us + off;
        return 0;
    }
    const char *s = (const char *)v.p;
    if (!strcmp(s, "infinity")) {
        *out = INT64_MAX;
        return 0;
    }
    if (!strcmp(s, "-infinity")) {
        *out = INT64_MIN;
        return 0;
    }
    int64_t days;
    rc = parse_date(&s, &days);
    if (rc < 0)
        return rc;
    if (*s++ != ' ')
        return -EDOM;
    int hh = two(s, 24), mm = two(s + 3, 59), ss = two(s + 6, 60);
    if (hh < 0 || mm < 0 || ss < 0 || s[2] != ':' || s[5] != ':')
        return -EDOM;
    s += 8;
    int64_t us = 0;
    if (*s == '.') {
        int digits = 0;
        for (s++; *s >= '0' && *s <= '9'; s++, digits++)
            if (digits < 6)
                us = us * 10 + (*s - '0');
        for (; digits < 6; digits++)
            us *= 10;
    }
    int64_t off = 0; /* seconds east of UTC */
    if (*s == '+' || *s == '-') {
        int sign = *s == '-' ? -1 : 1;
        int oh = two(s + 1, 15);
        if (oh < 0)
            return -EDOM;
        s += 3;
        int om = 0, os = 0;
        if (*s == ':') {
            om = two(s + 1, 59);
            s += 3;
            if (*s == ':') {
                os = two(s + 1, 59);
                s += 3;
            }
        }
        if (om < 0 || os < 0)
            return -EDOM;
        off = sign * (oh * 3600 + om * 60 + os);
    }
    if (*s && strcmp(s, " BC"))
        return -EDOM;
    int64_t secs = hh * 3600 + mm * 60 + ss - off;
    if (days > INT64_MAX / USEC_PER_DAY - 1 ||
        days < INT64_MIN / USEC_PER_DAY + 1)
        return -ERANGE;
    *out = days * USEC_PER_DAY + secs * 1000000 + us;
    return 0;
}

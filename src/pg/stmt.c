/* SPDX-License-Identifier: MIT */
/* The per-connection cache of prepared statements (asyncpg's statement
 * cache): queries with the same text, parameter count and declared types
 * reuse one named statement, so the server parses and plans them once.
 * A hash table finds entries, an LRU list evicts them. */
#include "pg/pg_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* FNV-1a over the text and the types. */
static uint64_t hash_key(const char *sql, int n, const uint32_t *types)
{
    uint64_t h = 1469598103934665603ull;
    for (const unsigned char *p = (const unsigned char *)sql; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    h = (h ^ (uint64_t)n) * 1099511628211ull;
    for (int i = 0; types && i < n; i++)
        h = (h ^ types[i]) * 1099511628211ull;
    return h;
}

static bool same_types(const struct pg_stmt *s, int n, const uint32_t *types)
{
    for (int i = 0; i < n; i++) {
        uint32_t a = s->types ? s->types[i] : 0;
        uint32_t b = types ? types[i] : 0;
        if (a != b)
            return false;
    }
    return true;
}

static void lru_unlink(struct corio_pg *c, struct pg_stmt *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        c->lru_head = s->next;
    if (s->next)
        s->next->prev = s->prev;
    else
        c->lru_tail = s->prev;
    s->prev = s->next = NULL;
}

static void lru_push(struct corio_pg *c, struct pg_stmt *s)
{
    s->prev = NULL;
    s->next = c->lru_head;
    if (c->lru_head)
        c->lru_head->prev = s;
    else
        c->lru_tail = s;
    c->lru_head = s;
}

struct pg_stmt *corio__pg_cache_find(struct corio_pg *c, const char *sql,
                                     int n, const uint32_t *types)
{
    if (!c->buckets)
        return NULL;
    uint64_t h = hash_key(sql, n, types);
    for (struct pg_stmt *s = c->buckets[h & (c->nbuckets - 1)]; s;
         s = s->hnext)
        if (s->hash == h && s->nparams == n && !strcmp(s->sql, sql) &&
            same_types(s, n, types))
            return s;
    return NULL;
}

void corio__pg_cache_touch(struct corio_pg *c, struct pg_stmt *s)
{
    if (c->lru_head != s) {
        lru_unlink(c, s);
        lru_push(c, s);
    }
}

static void stmt_free(struct pg_stmt *s)
{
    pg_free(s->sql);
    pg_free(s->types);
    pg_free(s);
}

void corio__pg_cache_remove(struct corio_pg *c, struct pg_stmt *s)
{
    struct pg_stmt **pp = &c->buckets[s->hash & (c->nbuckets - 1)];
    while (*pp != s)
        pp = &(*pp)->hnext;
    *pp = s->hnext;
    lru_unlink(c, s);
    c->nstmts--;
    if (c->prep_err_stmt == s) {
        PQclear(c->prep_err);
        c->prep_err = NULL;
        c->prep_err_stmt = NULL;
    }
    if (s->refs)
        s->orphan = true; /* a queued pipeline entry still names it */
    else
        stmt_free(s);
}

void corio__pg_cache_unref(struct corio_pg *c, struct pg_stmt *s)
{
    (void)c;
    if (--s->refs == 0 && s->orphan)
        stmt_free(s);
}

void corio__pg_cache_clear(struct corio_pg *c)
{
    while (c->lru_head)
        corio__pg_cache_remove(c, c->lru_head);
}

struct pg_stmt *corio__pg_cache_add(struct corio_pg *c, const char *sql,
                                    int n, const uint32_t *types,
                                    char *evicted)
{
    evicted[0] = '\0';
    if (!c->cache_max)
        return NULL;
    if (!c->buckets) {
        /* A power of two at least twice the limit, capped: chains stay
         * short without a table sized for a limit nobody reaches. */
        unsigned nb = 16;
        while (nb < 2 * c->cache_max && nb < 4096)
            nb *= 2;
        c->buckets = pg_calloc(nb, sizeof *c->buckets);
        if (!c->buckets)
            return NULL;
        c->nbuckets = nb;
    }
    struct pg_stmt *s = pg_calloc(1, sizeof *s);
    size_t len = strlen(sql) + 1;
    if (s)
        s->sql = pg_malloc(len);
    if (s && n > 0 && types)
        s->types = pg_malloc((size_t)n * sizeof *types);
    if (!s || !s->sql || (n > 0 && types && !s->types)) {
        if (s)
            stmt_free(s);
        return NULL;
    }
    memcpy(s->sql, sql, len);
    if (s->types)
        memcpy(s->types, types, (size_t)n * sizeof *types);
    s->nparams = n;
    s->hash = hash_key(sql, n, types);
    s->stateful = corio__pg_sql_stateful(sql);
    snprintf(s->name, sizeof s->name, "corio_s%u", ++c->stmt_seq);
    /* Evict the least recently used statement that no queued pipeline
     * entry names; the caller deallocates it on the server. */
    if (c->nstmts >= c->cache_max) {
        for (struct pg_stmt *v = c->lru_tail; v; v = v->prev) {
            if (!v->refs) {
                if (v->ready)
                    memcpy(evicted, v->name, sizeof v->name);
                corio__pg_cache_remove(c, v);
                break;
            }
        }
    }
    struct pg_stmt **b = &c->buckets[s->hash & (c->nbuckets - 1)];
    s->hnext = *b;
    *b = s;
    lru_push(c, s);
    c->nstmts++;
    return s;
}

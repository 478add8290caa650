/* SPDX-License-Identifier: MIT */
/* Statements: exec and query with text and binary parameters, the
 * statement cache (reuse, invalidation, off), named prepared statements,
 * command tags and affected rows, errors with their fields, typed getters
 * over text and binary results. */
#include "pg_helpers.h"

#include <math.h>

static int exec_and_tags(void *arg)
{
    (void)arg;
    corio_pg *c = pg_open();
    PG_OK(c, "CREATE TEMP TABLE t (id int PRIMARY KEY, name text)");
    const char *v[2] = {"1", "one"};
    ASSERT_EQ(corio_pg_exec(c, "INSERT INTO t VALUES ($1, $2)", 2, v), 1);
    v[0] = "2";
    v[1] = NULL; /* SQL NULL */
    ASSERT_EQ(corio_pg_exec(c, "INSERT INTO t VALUES ($1, $2)", 2, v), 1);
    /* Several statements in the simple protocol. */
    ASSERT_EQ(corio_pg_exec(c,
                            "INSERT INTO t VALUES (3, 'three'); "
                            "UPDATE t SET name = 'x' WHERE id >= 2",
                            0, NULL),
              2);
    corio_pg_result *r =
        corio_pg_query(c, "DELETE FROM t WHERE id > $1 RETURNING id", 1,
                       (const char *[]){"1"});
    ASSERT_NOT_NULL(r);
    ASSERT_STR_EQ(corio_pg_cmd_tag(r), "DELETE 2");
    ASSERT_EQ(corio_pg_affected(r), 2);
    ASSERT_EQ(corio_pg_nrows(r), 2);
    ASSERT_EQ(corio_pg_ncols(r), 1);
    ASSERT_STR_EQ(corio_pg_colname(r, 0), "id");
    ASSERT_EQ(corio_pg_colnum(r, "id"), 0);
    ASSERT_ERR(corio_pg_colnum(r, "nope"), -ENOENT);
    ASSERT_EQ(corio_pg_coltype(r, 0), 23);
    corio_pg_result_close(r);
    ASSERT_ERR(corio_pg_exec(c, NULL, 0, NULL), -EINVAL);
    ASSERT_ERR(corio_pg_exec(c, "SELECT $1", 1, NULL), -EINVAL);
    corio_pg_close(c);
    return 0;
}

TEST(exec_counts_rows_and_query_returns_tags)
{
    RUN(exec_and_tags);
}

static int errors(void *arg)
{
    (void)arg;
    corio_pg *c = pg_open();
    PG_OK(c, "CREATE TEMP TABLE u (id int PRIMARY KEY)");
    PG_OK(c, "INSERT INTO u VALUES (1)");
    ASSERT_ERR(corio_pg_exec(c, "INSERT INTO u VALUES ($1)", 1,
                             (const char *[]){"1"}),
               -EREMOTEIO);
    ASSERT_STR_EQ(corio_pg_error(c, CORIO_PG_SQLSTATE), "23505");
    ASSERT_TRUE(strstr(corio_pg_error(c, CORIO_PG_MESSAGE), "duplicate"));
    ASSERT_STR_EQ(corio_pg_error(c, CORIO_PG_DETAIL),
                  "Key (id)=(1) already exists.");
    ASSERT_STR_EQ(corio_pg_error(c, CORIO_PG_CONSTRAINT), "u_pkey");
    ASSERT_STR_EQ(corio_pg_error(c, CORIO_PG_SEVERITY), "ERROR");
    ASSERT_NULL(corio_pg_error(c, CORIO_PG_HINT));
    ASSERT_NULL(corio_pg_query(c, "SELECT lower(1)", 0, NULL));
    ASSERT_EQ(errno, EREMOTEIO);
    ASSERT_STR_EQ(corio_pg_error(c, CORIO_PG_SQLSTATE), "42883");
    ASSERT_TRUE(strstr(corio_pg_error(c, CORIO_PG_HINT), "explicit type"));
    ASSERT_STR_EQ(corio_pg_error(c, CORIO_PG_POSITION), "8");
    ASSERT_ERR(corio_pg_exec(c, "SELEC 1", 0, NULL), -EREMOTEIO);
    ASSERT_STR_EQ(corio_pg_error(c, CORIO_PG_SQLSTATE), "42601");
    /* The next success clears the error. */
    PG_OK(c, "SELECT 1");
    ASSERT_NULL(corio_pg_error(c, CORIO_PG_MESSAGE));
    ASSERT_NULL(corio_pg_error(NULL, CORIO_PG_MESSAGE));
    corio_pg_close(c);
    return 0;
}

TEST(errors_carry_sqlstate_message_detail_and_hint)
{
    RUN(errors);
}

/* How many statements the session has prepared. */
static int prepared_count(corio_pg *c)
{
    char buf[32];
    return atoi(pg_scalar(c, "SELECT count(*) FROM pg_prepared_statements",
                          buf, sizeof buf));
}

static int cache(void *arg)
{
    (void)arg;
    corio_pg *c = pg_open();
    for (int i = 0; i < 5; i++) {
        char n[16];
        snprintf(n, sizeof n, "%d", i);
        corio_pg_result *r = corio_pg_query(c, "SELECT $1::int + 1", 1,
                                            (const char *[]){n});
        ASSERT_NOT_NULL(r);
        int32_t x;
        ASSERT_OK(corio_pg_get_int32(r, 0, 0, &x));
        ASSERT_EQ(x, i + 1);
        corio_pg_result_close(r);
    }
    /* One statement for the five queries, one for the count. */
    ASSERT_EQ(prepared_count(c), 2);
    /* A cached statement whose result type changes is prepared again. */
    PG_OK(c, "CREATE TEMP TABLE w (a int)");
    PG_OK(c, "INSERT INTO w VALUES (1)");
    corio_pg_result *r = corio_pg_query(c, "SELECT * FROM w WHERE a = $1", 1,
                                        (const char *[]){"1"});
    ASSERT_NOT_NULL(r);
    corio_pg_result_close(r);
    PG_OK(c, "ALTER TABLE w ADD COLUMN b text DEFAULT 'x'");
    r = corio_pg_query(c, "SELECT * FROM w WHERE a = $1", 1,
                       (const char *[]){"1"});
    if (!r)
        FAIL("%s", corio_pg_error(c, CORIO_PG_MESSAGE));
    ASSERT_EQ(corio_pg_ncols(r), 2);
    corio_pg_result_close(r);
    /* DISCARD ALL drops the server's statements: the cache follows. */
    PG_OK(c, "DISCARD ALL");
    r = corio_pg_query(c, "SELECT $1::int + 1", 1, (const char *[]){"7"});
    ASSERT_NOT_NULL(r);
    ASSERT_STR_EQ(corio_pg_text(r, 0, 0), "8");
    corio_pg_result_close(r);
    /* A statement deallocated behind the cache's back is re-prepared. */
    char name[64], sql[96];
    pg_scalar(c,
              "SELECT name FROM pg_prepared_statements WHERE statement = "
              "'SELECT $1::int + 1'",
              name, sizeof name);
    snprintf(sql, sizeof sql, "DEALLOCATE %s", name);
    PG_OK(c, sql);
    r = corio_pg_query(c, "SELECT $1::int + 1", 1, (const char *[]){"8"});
    if (!r)
        FAIL("%s", corio_pg_error(c, CORIO_PG_MESSAGE));
    ASSERT_STR_EQ(corio_pg_text(r, 0, 0), "9");
    corio_pg_result_close(r);
    ASSERT_ERR(corio_pg_set_stmt_cache(c, 0), -EBUSY);
    corio_pg_close(c);

    /* No cache: every query is parsed anew, nothing stays prepared. */
    c = pg_open();
    ASSERT_OK(corio_pg_set_stmt_cache(c, 0));
    for (int i = 0; i < 3; i++)
        ASSERT_EQ(corio_pg_exec(c, "SELECT $1::int", 1,
                                (const char *[]){"1"}),
                  1);
    char buf[32];
    ASSERT_STR_EQ(pg_scalar(c, "SELECT count(*) FROM pg_prepared_statements",
                            buf, sizeof buf),
                  "0");
    corio_pg_close(c);

    /* A small cache evicts the least recently used and deallocates it. */
    c = pg_open();
    ASSERT_OK(corio_pg_set_stmt_cache(c, 2));
    const char *q[3] = {"SELECT $1::int", "SELECT $1::int + 1",
                        "SELECT $1::int + 2"};
    for (int i = 0; i < 3; i++)
        ASSERT_EQ(corio_pg_exec(c, q[i], 1, (const char *[]){"1"}), 1);
    ASSERT_EQ(prepared_count(c), 2);
    corio_pg_close(c);
    return 0;
}

TEST(statement_cache_reuses_and_invalidates)
{
    RUN(cache);
}

static int named(void *arg)
{
    (void)arg;
    corio_pg *c = pg_open();
    uint32_t types[2] = {23, 25}; /* int4, text */
    ASSERT_OK(corio_pg_prepare(c, "add", "SELECT $1 + 1, $2 || '!'", 2,
                               types));
    corio_pg_params p = {.n = 2, .values = (const char *[]){"41", "hi"}};
    corio_pg_result *r = corio_pg_query_prepared(c, "add", &p);
    ASSERT_NOT_NULL(r);
    ASSERT_STR_EQ(corio_pg_text(r, 0, 0), "42");
    ASSERT_STR_EQ(corio_pg_text(r, 0, 1), "hi!");
    corio_pg_result_close(r);
    ASSERT_NULL(corio_pg_query_prepared(c, "nope", NULL));
    ASSERT_EQ(errno, EREMOTEIO);
    ASSERT_STR_EQ(corio_pg_error(c, CORIO_PG_SQLSTATE), "26000");
    ASSERT_ERR(corio_pg_prepare(c, "bad", "SELEC", 0, NULL), -EREMOTEIO);
    corio_pg_close(c);
    return 0;
}

TEST(named_prepared_statements)
{
    RUN(named);
}

static const char *types_sql =
    "SELECT true, 'f'::bool, 12::int2, -123456::int4, 9000000000::int8, "
    "1.5::float4, -2.25::float8, 12345.6789::numeric, 'héllo'::text, "
    "'\\x00ff10'::bytea, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid, "
    "'2024-02-29 12:34:56.789012'::timestamp, "
    "'2024-02-29 12:34:56.5+02'::timestamptz, '2024-02-29'::date, "
    "'{\"a\": [1, 2]}'::json, '{\"a\": [1, 2]}'::jsonb, "
    "ARRAY[1, 2, 3], NULL::int, '-0.000123'::numeric, "
    "'infinity'::timestamp, '1999-12-31'::date, 'NaN'::numeric, "
    "'0001-01-01 BC'::date, 'abc'::varchar, 32767::int4, $1::int";

static void check_types(corio_pg_result *r, bool binary)
{
    bool b;
    int16_t i16;
    int32_t i32;
    int64_t i64;
    float f;
    double d;
    ASSERT_OK(corio_pg_get_bool(r, 0, 0, &b));
    ASSERT_TRUE(b);
    ASSERT_OK(corio_pg_get_bool(r, 0, 1, &b));
    ASSERT_FALSE(b);
    ASSERT_OK(corio_pg_get_int16(r, 0, 2, &i16));
    ASSERT_EQ(i16, 12);
    ASSERT_OK(corio_pg_get_int32(r, 0, 3, &i32));
    ASSERT_EQ(i32, -123456);
    ASSERT_OK(corio_pg_get_int64(r, 0, 4, &i64));
    ASSERT_EQ(i64, 9000000000LL);
    ASSERT_ERR(corio_pg_get_int32(r, 0, 4, &i32), -ERANGE);
    ASSERT_ERR(corio_pg_get_int16(r, 0, 3, &i16), -ERANGE);
    ASSERT_OK(corio_pg_get_float(r, 0, 5, &f));
    ASSERT_EQ(f, 1.5f);
    ASSERT_OK(corio_pg_get_double(r, 0, 6, &d));
    ASSERT_EQ(d, -2.25);
    ASSERT_OK(corio_pg_get_double(r, 0, 3, &d)); /* an integer */
    ASSERT_EQ(d, -123456.0);
    char num[64];
    ASSERT_EQ(corio_pg_get_numeric(r, 0, 7, num, sizeof num), 10);
    ASSERT_STR_EQ(num, "12345.6789");
    ASSERT_OK(corio_pg_get_double(r, 0, 7, &d));
    ASSERT_NEAR(d, 12345.6789, 1e-9);
    ASSERT_EQ(corio_pg_get_numeric(r, 0, 18, num, sizeof num), 9);
    ASSERT_STR_EQ(num, "-0.000123");
    ASSERT_EQ(corio_pg_get_numeric(r, 0, 21, num, sizeof num), 3);
    ASSERT_STR_EQ(num, "NaN");
    ASSERT_EQ(corio_pg_get_numeric(r, 0, 7, num, 4), 10); /* truncated */
    ASSERT_STR_EQ(num, "123");
    ASSERT_STR_EQ(corio_pg_text(r, 0, 8), "héllo");
    unsigned char bytes[8];
    ASSERT_EQ(corio_pg_get_bytea(r, 0, 9, bytes, sizeof bytes), 3);
    ASSERT_EQ(bytes[0], 0);
    ASSERT_EQ(bytes[1], 0xff);
    ASSERT_EQ(bytes[2], 0x10);
    ASSERT_EQ(corio_pg_get_bytea(r, 0, 9, NULL, 0), 3);
    uint8_t u[16];
    ASSERT_OK(corio_pg_get_uuid(r, 0, 10, u));
    ASSERT_EQ(u[0], 0xa0);
    ASSERT_EQ(u[15], 0x11);
    /* 2024-02-29 12:34:56.789012 UTC: 1709210096 s since 1970. */
    ASSERT_OK(corio_pg_get_timestamp(r, 0, 11, &i64));
    ASSERT_EQ(i64, 1709210096789012LL);
    ASSERT_OK(corio_pg_get_timestamp(r, 0, 12, &i64));
    ASSERT_EQ(i64, (1709210096LL - 2 * 3600) * 1000000 + 500000);
    ASSERT_OK(corio_pg_get_date(r, 0, 13, &i32));
    ASSERT_EQ(i32, 19782);
    ASSERT_STR_EQ(corio_pg_text(r, 0, 14), "{\"a\": [1, 2]}");
    ASSERT_STR_EQ(corio_pg_text(r, 0, 15), "{\"a\": [1, 2]}");
    if (binary)
        ASSERT_NULL(corio_pg_text(r, 0, 16)); /* a binary array */
    else
        ASSERT_STR_EQ(corio_pg_text(r, 0, 16), "{1,2,3}");
    ASSERT_TRUE(corio_pg_isnull(r, 0, 17));
    ASSERT_FALSE(corio_pg_isnull(r, 0, 16));
    ASSERT_NULL(corio_pg_text(r, 0, 17));
    ASSERT_ERR(corio_pg_get_int32(r, 0, 17, &i32), -ENODATA);
    ASSERT_OK(corio_pg_get_timestamp(r, 0, 19, &i64));
    ASSERT_EQ(i64, INT64_MAX);
    ASSERT_OK(corio_pg_get_date(r, 0, 20, &i32));
    ASSERT_EQ(i32, 10956);
    ASSERT_OK(corio_pg_get_date(r, 0, 22, &i32));
    ASSERT_EQ(i32, -719528); /* 0001-01-01 BC is year 0 */
    ASSERT_STR_EQ(corio_pg_text(r, 0, 23), "abc");
    ASSERT_OK(corio_pg_get_int16(r, 0, 24, &i16));
    ASSERT_EQ(i16, 32767);
    ASSERT_OK(corio_pg_get_int32(r, 0, 25, &i32));
    ASSERT_EQ(i32, 77);
    /* Wrong types and bad positions. */
    ASSERT_ERR(corio_pg_get_int32(r, 0, 8, &i32), -EDOM);
    ASSERT_ERR(corio_pg_get_bool(r, 0, 8, &b), -EDOM);
    ASSERT_ERR(corio_pg_get_uuid(r, 0, 8, u), -EDOM);
    ASSERT_ERR(corio_pg_get_timestamp(r, 0, 8, &i64), -EDOM);
    ASSERT_ERR(corio_pg_get_int32(r, 1, 0, &i32), -EINVAL);
    ASSERT_ERR(corio_pg_get_int32(r, 0, 99, &i32), -EINVAL);
    ASSERT_ERR(corio_pg_get_int32(r, 0, 0, NULL), -EINVAL);
    ASSERT_ERR(corio_pg_length(r, 0, -1), -EINVAL);
    ASSERT_TRUE(corio_pg_isnull(r, 5, 0));
}

static int types(void *arg)
{
    (void)arg;
    corio_pg *c = pg_open();
    /* Text results. */
    corio_pg_result *r =
        corio_pg_query(c, types_sql, 1, (const char *[]){"77"});
    if (!r)
        FAIL("%s", corio_pg_error(c, CORIO_PG_MESSAGE));
    check_types(r, false);
    corio_pg_result_close(r);
    /* Binary results, and a binary parameter (int4 77, network order). */
    static const char be77[4] = {0, 0, 0, 77};
    corio_pg_params p = {.n = 1,
                         .values = (const char *[]){be77},
                         .lengths = (const int[]){4},
                         .formats = (const int[]){1},
                         .types = (const uint32_t[]){23},
                         .result_format = 1};
    r = corio_pg_query_params(c, types_sql, &p);
    if (!r)
        FAIL("%s", corio_pg_error(c, CORIO_PG_MESSAGE));
    check_types(r, true);
    corio_pg_result_close(r);
    /* Escape-format bytea in text. */
    PG_OK(c, "SET bytea_output = escape");
    r = corio_pg_query(c, "SELECT '\\x5c00ff41'::bytea", 0, NULL);
    ASSERT_NOT_NULL(r);
    unsigned char bytes[8];
    ASSERT_EQ(corio_pg_get_bytea(r, 0, 0, bytes, sizeof bytes), 4);
    ASSERT_EQ(bytes[0], '\\');
    ASSERT_EQ(bytes[1], 0);
    ASSERT_EQ(bytes[2], 0xff);
    ASSERT_EQ(bytes[3], 'A');
    corio_pg_result_close(r);
    /* Floats' specials. */
    r = corio_pg_query(c, "SELECT 'NaN'::float8, '-Infinity'::float8", 0,
                       NULL);
    ASSERT_NOT_NULL(r);
    double d;
    ASSERT_OK(corio_pg_get_double(r, 0, 0, &d));
    ASSERT_TRUE(isnan(d));
    ASSERT_OK(corio_pg_get_double(r, 0, 1, &d));
    ASSERT_TRUE(isinf(d) && d < 0);
    corio_pg_result_close(r);
    ASSERT_EQ(corio_pg_nrows(NULL), 0);
    corio_pg_result_close(NULL);
    corio_pg_close(c);
    return 0;
}

TEST(typed_getters_read_text_and_binary_results)
{
    RUN(types);
}

static corio_pg *shared;

static int other_user(void *arg)
{
    (void)arg;
    return (int)corio_pg_exec(shared, "SELECT 1", 0, NULL);
}

static int busy(void *arg)
{
    (void)arg;
    shared = pg_open();
    corio_task *t = corio_spawn(other_user, NULL);
    ASSERT_EQ(corio_pg_exec(shared, "SELECT pg_sleep(0.05)", 0, NULL), 1);
    /* The other task tried while the sleep ran. */
    ASSERT_ERR(corio_join(t), -EBUSY);
    corio_pg_close(shared);
    return 0;
}

TEST(one_operation_at_a_time_else_ebusy)
{
    RUN(busy);
}

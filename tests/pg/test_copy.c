/* SPDX-License-Identifier: MIT */
/* COPY FROM STDIN and COPY TO STDOUT, large and aborted, and a COPY
 * through corio_pg_exec, which is refused. */
#include "pg_helpers.h"

static int roundtrip(void *arg)
{
    (void)arg;
    corio_pg *c = pg_open();
    PG_OK(c, "CREATE TEMP TABLE cp (id int, name text)");
    ASSERT_OK(corio_pg_copy_from(c, "COPY cp FROM STDIN"));
    ASSERT_EQ(corio_pg_status(c), CORIO_PG_BUSY);
    ASSERT_ERR(corio_pg_exec(c, "SELECT 1", 0, NULL), -EBUSY);
    char line[64];
    for (int i = 0; i < 100000; i++) {
        int n = snprintf(line, sizeof line, "%d\tname %d\n", i, i);
        ASSERT_OK(corio_pg_copy_write(c, line, (size_t)n));
    }
    ASSERT_EQ(corio_pg_copy_end(c, NULL), 100000);
    ASSERT_EQ(corio_pg_status(c), CORIO_PG_IDLE);
    ASSERT_OK(corio_pg_copy_to(c, "COPY (SELECT * FROM cp ORDER BY id) TO "
                                  "STDOUT"));
    const char *data;
    ssize_t n;
    int rows = 0;
    while ((n = corio_pg_copy_read(c, &data)) > 0) {
        int len = snprintf(line, sizeof line, "%d\tname %d\n", rows, rows);
        ASSERT_EQ(n, len);
        ASSERT_TRUE(memcmp(data, line, (size_t)len) == 0);
        rows++;
    }
    ASSERT_EQ(n, 0);
    ASSERT_NULL(data);
    ASSERT_EQ(rows, 100000);
    ASSERT_EQ(corio_pg_status(c), CORIO_PG_IDLE);
    /* Aborted by the client: nothing copied. */
    ASSERT_OK(corio_pg_copy_from(c, "COPY cp FROM STDIN"));
    ASSERT_OK(corio_pg_copy_write(c, "1\tx\n", 4));
    ASSERT_ERR(corio_pg_copy_end(c, "changed my mind"), -EREMOTEIO);
    ASSERT_TRUE(strstr(corio_pg_error(c, CORIO_PG_MESSAGE),
                       "changed my mind"));
    /* Bad data: the server's error. */
    ASSERT_OK(corio_pg_copy_from(c, "COPY cp FROM STDIN"));
    ASSERT_OK(corio_pg_copy_write(c, "x\ty\n", 4));
    ASSERT_ERR(corio_pg_copy_end(c, NULL), -EREMOTEIO);
    ASSERT_STR_EQ(corio_pg_error(c, CORIO_PG_SQLSTATE), "22P02");
    /* Not a COPY, or the wrong way. */
    ASSERT_ERR(corio_pg_copy_from(c, "SELECT 1"), -EPROTO);
    ASSERT_ERR(corio_pg_copy_from(c, "COPY cp TO STDOUT"), -EPROTO);
    ASSERT_ERR(corio_pg_copy_to(c, "COPY cp FROM STDIN"), -EPROTO);
    ASSERT_ERR(corio_pg_copy_to(c, "COPY nope TO STDOUT"), -EREMOTEIO);
    ASSERT_ERR(corio_pg_copy_write(c, "x", 1), -EBUSY);
    ASSERT_ERR(corio_pg_exec(c, "COPY cp FROM STDIN", 0, NULL), -EREMOTEIO);
    ASSERT_EQ(corio_pg_exec(c, "COPY cp TO STDOUT", 0, NULL), 100000);
    char buf[32];
    ASSERT_STR_EQ(pg_scalar(c, "SELECT count(*) FROM cp", buf, sizeof buf),
                  "100000");
    corio_pg_close(c);
    return 0;
}

TEST(copy_in_and_out)
{
    RUN(roundtrip);
}

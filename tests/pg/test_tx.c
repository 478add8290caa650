/* SPDX-License-Identifier: MIT */
/* Transactions: begin / commit / rollback, isolation levels and flags,
 * savepoints, and a failed transaction that commit rolls back. */
#include "pg_helpers.h"

static int count(corio_pg *c)
{
    char buf[32];
    return atoi(pg_scalar(c, "SELECT count(*) FROM tx", buf, sizeof buf));
}

static int basics(void *arg)
{
    (void)arg;
    corio_pg *c = pg_open();
    PG_OK(c, "CREATE TEMP TABLE tx (id int)");
    ASSERT_OK(corio_pg_begin(c, 0));
    ASSERT_EQ(corio_pg_status(c), CORIO_PG_IN_TX);
    PG_OK(c, "INSERT INTO tx VALUES (1)");
    ASSERT_OK(corio_pg_rollback(c));
    ASSERT_EQ(corio_pg_status(c), CORIO_PG_IDLE);
    ASSERT_EQ(count(c), 0);
    ASSERT_OK(corio_pg_begin(c, CORIO_PG_SERIALIZABLE));
    char buf[64];
    ASSERT_STR_EQ(pg_scalar(c, "SHOW transaction_isolation", buf,
                            sizeof buf),
                  "serializable");
    PG_OK(c, "INSERT INTO tx VALUES (1)");
    ASSERT_OK(corio_pg_commit(c));
    ASSERT_EQ(count(c), 1);
    ASSERT_OK(corio_pg_begin(c, CORIO_PG_REPEATABLE_READ |
                                    CORIO_PG_READ_ONLY));
    ASSERT_STR_EQ(pg_scalar(c, "SHOW transaction_read_only", buf,
                            sizeof buf),
                  "on");
    /* (Temporary tables stay writable; a real one is refused.) */
    ASSERT_ERR(corio_pg_exec(c, "CREATE TABLE corio_ro (a int)", 0, NULL),
               -EREMOTEIO);
    ASSERT_STR_EQ(corio_pg_error(c, CORIO_PG_SQLSTATE), "25006");
    ASSERT_EQ(corio_pg_status(c), CORIO_PG_FAILED);
    /* Statements fail until the rollback; commit rolls back and says so. */
    ASSERT_ERR(corio_pg_exec(c, "SELECT 1", 0, NULL), -EREMOTEIO);
    ASSERT_STR_EQ(corio_pg_error(c, CORIO_PG_SQLSTATE), "25P02");
    ASSERT_ERR(corio_pg_commit(c), -EREMOTEIO);
    ASSERT_STR_EQ(corio_pg_error(c, CORIO_PG_SQLSTATE), "25P02");
    ASSERT_EQ(corio_pg_status(c), CORIO_PG_IDLE);
    ASSERT_ERR(corio_pg_begin(c, 99), -EINVAL);
    ASSERT_OK(corio_pg_begin(c, CORIO_PG_SERIALIZABLE | CORIO_PG_READ_ONLY |
                                    CORIO_PG_DEFERRABLE));
    ASSERT_OK(corio_pg_commit(c));
    corio_pg_close(c);
    return 0;
}

TEST(begin_commit_rollback_and_isolation_levels)
{
    RUN(basics);
}

static int savepoints(void *arg)
{
    (void)arg;
    corio_pg *c = pg_open();
    PG_OK(c, "CREATE TEMP TABLE tx (id int)");
    ASSERT_OK(corio_pg_begin(c, 0));
    PG_OK(c, "INSERT INTO tx VALUES (1)");
    ASSERT_OK(corio_pg_savepoint(c, "a b")); /* quoted: any text */
    PG_OK(c, "INSERT INTO tx VALUES (2)");
    ASSERT_ERR(corio_pg_exec(c, "SELECT 1/0", 0, NULL), -EREMOTEIO);
    ASSERT_EQ(corio_pg_status(c), CORIO_PG_FAILED);
    ASSERT_OK(corio_pg_rollback_to(c, "a b"));
    ASSERT_EQ(corio_pg_status(c), CORIO_PG_IN_TX);
    ASSERT_OK(corio_pg_savepoint(c, "s2"));
    PG_OK(c, "INSERT INTO tx VALUES (3)");
    ASSERT_OK(corio_pg_release_savepoint(c, "s2"));
    ASSERT_ERR(corio_pg_release_savepoint(c, "nope"), -EREMOTEIO);
    ASSERT_OK(corio_pg_rollback(c));
    ASSERT_ERR(corio_pg_savepoint(c, NULL), -EINVAL);
    ASSERT_OK(corio_pg_begin(c, 0));
    PG_OK(c, "INSERT INTO tx VALUES (1)");
    ASSERT_OK(corio_pg_savepoint(c, "s"));
    PG_OK(c, "INSERT INTO tx VALUES (2)");
    ASSERT_OK(corio_pg_rollback_to(c, "s"));
    ASSERT_OK(corio_pg_commit(c));
    ASSERT_EQ(count(c), 1);
    corio_pg_close(c);
    return 0;
}

TEST(savepoints_roll_back_part_of_a_transaction)
{
    RUN(savepoints);
}

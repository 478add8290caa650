# SPDX-License-Identifier: MIT
"""asyncpg's side of the PostgreSQL workloads (p) and (q): TASKS tasks
share a pool of 10 connections (asyncpg.create_pool, min = max = 10) and
run N queries in all, each through pool.fetchval / pool.fetch, which
acquire a connection, run the statement (prepared once per connection by
asyncpg's statement cache) and release it (with asyncpg's reset). The
server is CORIO_PG_DSN (a libpq conninfo: host, port, user, dbname).

Usage: pg_asyncpg.py N TASKS int|rows [--uvloop]
"""
import asyncio
import json
import os
import sys
import time

import asyncpg

SQL = {"int": "SELECT $1::int",
       "rows": "SELECT g, 'row ' || g AS name FROM "
               "generate_series($1::int, $1::int + 99) g"}


def conninfo():
    kv = dict(p.split("=", 1) for p in os.environ["CORIO_PG_DSN"].split())
    return dict(host=kv.get("host"), port=int(kv.get("port", 5432)),
                user=kv.get("user"), database=kv.get("dbname"))


async def main(n, tasks, kind):
    sql = SQL[kind]
    pool = await asyncpg.create_pool(min_size=10, max_size=10, **conninfo())
    left = [20]
    rows = [0]

    async def worker():
        while left[0] > 0:
            left[0] -= 1
            i = left[0] % 1000
            if kind == "int":
                await pool.fetchval(sql, i)
                rows[0] += 1
            else:
                got = await pool.fetch(sql, i)  # not `rows[0] += len(await`:
                rows[0] += len(got)             # that reads rows[0] first

    await asyncio.gather(*(worker() for _ in range(10)))  # warm up
    left[0] = n
    rows[0] = 0
    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(tasks)))
    secs = time.perf_counter() - t0
    await pool.close()
    print(json.dumps({"queries": n, "tasks": tasks, "seconds": secs,
                      "queries_per_s": n / secs, "rows_per_s": rows[0] / secs}))


if __name__ == "__main__":
    n, tasks, kind = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    if "--uvloop" in sys.argv:
        import uvloop
        uvloop.install()
    asyncio.run(main(n, tasks, kind))

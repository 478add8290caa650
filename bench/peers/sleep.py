# SPDX-License-Identifier: MIT
# Workload (c): N tasks alive at once, each `await asyncio.sleep(1)`, then
# awaited. bench/run takes wall time and peak RSS from wait4().
# Usage: sleep.py [N] [secs] [--uvloop]
import asyncio
import time

import common


async def sleeper(secs):
    await asyncio.sleep(secs)


async def main(n, secs):
    start = time.perf_counter()
    tasks = [asyncio.create_task(sleeper(secs)) for _ in range(n)]
    spawned = time.perf_counter()
    for t in tasks:
        await t
    return time.perf_counter() - start, spawned - start


args = common.parse("N tasks sleeping at once", 1000000, secs=1.0)
elapsed, spawn = common.run(main(args.n, args.secs), args)
common.emit(impl=common.name(args), n=args.n, sleep_s=args.secs,
            elapsed_s=elapsed, spawn_s=spawn)

# SPDX-License-Identifier: MIT
# Workload (b): create_task N times for a coroutine that returns at once,
# then await each task (or one gather with --gather); prints ns per task.
# Usage: spawn.py [N] [--uvloop] [--gather]
import asyncio
import time

import common


async def noop():
    return 0


async def main(n, gather):
    start = time.perf_counter()
    tasks = [asyncio.create_task(noop()) for _ in range(n)]
    spawned = time.perf_counter()
    if gather:
        await asyncio.gather(*tasks)
    else:
        for t in tasks:
            await t
    return time.perf_counter() - start, spawned - start


args = common.parse("spawn N tasks, then join them all", 1000000,
                    extra=[("--gather", "join with one asyncio.gather")])
elapsed, spawn = common.run(main(args.n, args.gather), args)
common.emit(impl=common.name(args, " (gather)" if args.gather else ""),
            n=args.n, elapsed_s=elapsed, spawn_s=spawn,
            ns_per_task=elapsed * 1e9 / args.n)

# SPDX-License-Identifier: MIT
# Workload (a): two tasks `await asyncio.sleep(0)` N times each, 2N task
# switches; prints ns per switch. Usage: yield.py [N] [--uvloop]
import asyncio
import time

import common


async def yielder(n):
    for _ in range(n):
        await asyncio.sleep(0)


async def main(n):
    start = time.perf_counter()
    a = asyncio.create_task(yielder(n))
    b = asyncio.create_task(yielder(n))
    await a
    await b
    return time.perf_counter() - start


args = common.parse("two tasks yielding to each other", 1000000)
elapsed = common.run(main(args.n), args)
common.emit(impl=common.name(args), n=args.n, switches=2 * args.n,
            elapsed_s=elapsed, ns_per_switch=elapsed * 1e9 / (2 * args.n))

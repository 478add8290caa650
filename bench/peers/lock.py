# SPDX-License-Identifier: MIT
# Issue 3 workload in asyncio: asyncio.Lock uncontended N times, then 100
# tasks each taking it N/1000 times with a yield inside.
# Usage: lock.py [N] [--uvloop]
import asyncio
import time

import common


async def main(n):
    lock = asyncio.Lock()
    t0 = time.monotonic()
    for _ in range(n):
        async with lock:
            pass
    solo = time.monotonic() - t0

    each = n // 10 // 100

    async def contender():
        for _ in range(each):
            async with lock:
                await asyncio.sleep(0)

    t0 = time.monotonic()
    await asyncio.gather(*(contender() for _ in range(100)))
    contended = time.monotonic() - t0
    return solo * 1e9 / n, contended * 1e9 / (each * 100)


args = common.parse("asyncio.Lock", 1000000)
solo, contended = common.run(main(args.n), args)
common.emit(impl=common.name(args), n=args.n, uncontended_ns=solo,
            contended_ns=contended)

# SPDX-License-Identifier: MIT
# Issue 3 workload in asyncio: N items through asyncio.Queue(maxsize=1024)
# from one producer to one consumer. Usage: bounded_queue.py [N] [--uvloop]
import asyncio
import time

import common


async def main(n):
    q = asyncio.Queue(maxsize=1024)

    async def producer():
        for i in range(n):
            await q.put(i)

    async def consumer():
        s = 0
        for _ in range(n):
            s += await q.get()
        assert s == n * (n - 1) // 2

    t0 = time.monotonic()
    await asyncio.gather(consumer(), producer())
    return time.monotonic() - t0


args = common.parse("bounded queue, one producer, one consumer", 1000000)
dt = common.run(main(args.n), args)
common.emit(impl=common.name(args), n=args.n, elapsed_s=dt,
            items_per_s=args.n / dt, ns_per_item=dt * 1e9 / args.n)

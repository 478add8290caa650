# SPDX-License-Identifier: MIT
# Issue 3 workload in asyncio: N times, an asyncio.TaskGroup with 100
# children that return at once. Usage: group.py [N] [--uvloop]
import asyncio
import time

import common


async def child():
    return 0


async def main(n):
    t0 = time.monotonic()
    for _ in range(n):
        async with asyncio.TaskGroup() as tg:
            for _ in range(100):
                tg.create_task(child())
    return time.monotonic() - t0


args = common.parse("asyncio.TaskGroup of 100 children", 2000)
dt = common.run(main(args.n), args)
common.emit(impl=common.name(args), n=args.n, us_per_group=dt * 1e6 / args.n)

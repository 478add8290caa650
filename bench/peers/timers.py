# SPDX-License-Identifier: MIT
# Workload (d): N loop.call_later timers with delays uniform in [0, secs);
# each callback records how late it ran on time.monotonic() (asyncio's
# loop clock), the same clock for both loops. Prints the lateness median,
# p99, max and the number of early fires.
# Usage: timers.py [N] [secs] [--uvloop]
import asyncio
import random
import time

import common


async def main(n, span):
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    due = [0.0] * n
    late = [0.0] * n
    left = n
    monotonic = time.monotonic

    def fire(i):
        nonlocal left
        late[i] = monotonic() - due[i]
        left -= 1
        if left == 0:
            done.set_result(None)

    rnd = random.Random(1)
    start = time.perf_counter()
    for i in range(n):
        delay = rnd.random() * span
        # Read the clock before scheduling, so an early fire shows.
        due[i] = monotonic() + delay
        loop.call_later(delay, fire, i)
    scheduled = time.perf_counter()
    await done
    return time.perf_counter() - start, scheduled - start, late


args = common.parse("N timers with random delays", 1000000, secs=1.0)
elapsed, sched, late = common.run(main(args.n, args.secs), args)
early = sum(1 for x in late if x < 0)
late.sort()
n = args.n
common.emit(impl=common.name(args), n=n, span_s=args.secs,
            elapsed_s=elapsed, schedule_s=sched,
            late_min_ms=late[0] * 1e3, late_median_ms=late[n // 2] * 1e3,
            late_p99_ms=late[int(n * 0.99)] * 1e3,
            late_max_ms=late[-1] * 1e3, early=early)

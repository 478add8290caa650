# SPDX-License-Identifier: MIT
# Workload (f) in asyncio: round trips of an empty call through the
# default thread pool (asyncio.to_thread), a ProcessPoolExecutor (a
# 64-byte buffer echoed), and starting and reaping /bin/true
# (create_subprocess_exec). One call at a time: the latency.
#   offload.py thread|process|spawn N
import asyncio
import concurrent.futures
import sys
import time

from common import emit


def nothing():
    return 0


def echo(b):
    return b


async def main(mode, n):
    loop = asyncio.get_running_loop()
    pool = None
    if mode == "process":
        pool = concurrent.futures.ProcessPoolExecutor(2)

    async def one():
        if mode == "thread":
            await asyncio.to_thread(nothing)
        elif mode == "process":
            await loop.run_in_executor(pool, echo, b"\0" * 64)
        else:
            p = await asyncio.create_subprocess_exec("/bin/true")
            await p.wait()

    await one()  # warm up
    t0 = time.monotonic()
    for _ in range(n):
        await one()
    el = time.monotonic() - t0
    if pool:
        pool.shutdown()
    emit(impl="asyncio", mode=mode, n=n, elapsed_s=el,
         us_per_call=el * 1e6 / n)


asyncio.run(main(sys.argv[1], int(sys.argv[2])))

# SPDX-License-Identifier: MIT
# Workload (e) in asyncio: file reads through the default thread pool
# (loop.run_in_executor with os.read / os.pread), which is what aiofiles
# does for every call. Debian 12 has no python3-aiofiles, so this is the
# same mechanism without the wrapper.
#   file.py seq PATH BLOCK | rand PATH OPS TASKS | small DIR COUNT TASKS
import asyncio
import os
import random
import sys
import time

from common import emit


async def seq(path, block):
    loop = asyncio.get_running_loop()
    fd = os.open(path, os.O_RDONLY)
    total = 0
    t0 = time.monotonic()
    while True:
        b = await loop.run_in_executor(None, os.read, fd, block)
        if not b:
            break
        total += len(b)
    el = time.monotonic() - t0
    os.close(fd)
    emit(impl="asyncio", mode="seq", block=block, bytes=total, elapsed_s=el,
         mb_per_s=total / el / 1e6)


async def rand(path, ops, tasks):
    loop = asyncio.get_running_loop()
    fd = os.open(path, os.O_RDONLY)
    blocks = os.fstat(fd).st_size // 4096
    left = [ops]
    rng = random.Random(1)

    async def worker():
        while left[0] > 0:
            left[0] -= 1
            off = rng.randrange(blocks) * 4096
            await loop.run_in_executor(None, os.pread, fd, 4096, off)

    t0 = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(tasks)))
    el = time.monotonic() - t0
    os.close(fd)
    emit(impl="asyncio", mode="rand", ops=ops, tasks=tasks, elapsed_s=el,
         ops_per_s=ops / el)


def read_small(name):
    with open(name, "rb") as f:
        return len(f.read())


async def small(d, count, tasks):
    loop = asyncio.get_running_loop()
    nxt = [0]

    async def worker():
        while nxt[0] < count:
            i = nxt[0]
            nxt[0] += 1
            await loop.run_in_executor(None, read_small, "%s/%d" % (d, i))

    t0 = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(tasks)))
    el = time.monotonic() - t0
    emit(impl="asyncio", mode="small", files=count, tasks=tasks,
         elapsed_s=el, files_per_s=count / el)


def main():
    mode, path = sys.argv[1], sys.argv[2]
    a = int(sys.argv[3])
    b = int(sys.argv[4]) if len(sys.argv) > 4 else 64
    if mode == "seq":
        asyncio.run(seq(path, a))
    elif mode == "rand":
        asyncio.run(rand(path, a, b))
    else:
        asyncio.run(small(path, a, b))


main()

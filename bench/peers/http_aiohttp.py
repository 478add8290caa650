# SPDX-License-Identifier: MIT
"""Workload (w), aiohttp's side: aiohttp.web answering GET / with
"Hello, World!" as text/plain, on asyncio or (--uvloop) uvloop. Prints
"port N" once listening.
Usage: http_aiohttp.py PORT [--uvloop]"""
import asyncio
import signal
import sys

from aiohttp import web


async def hello(request):
    return web.Response(text="Hello, World!")


async def main(port):
    app = web.Application()
    app.router.add_get("/", hello)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    print("port %d" % runner.addresses[0][1], flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await runner.cleanup()


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    if "--uvloop" in sys.argv:
        import uvloop
        uvloop.install()
    asyncio.run(main(port))

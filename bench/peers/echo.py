# SPDX-License-Identifier: MIT
# Workload (m), asyncio's side: an echo server with streams
# (asyncio.start_server, read / write / drain), or with a Protocol
# (--protocol), on asyncio's loop or uvloop (--uvloop). Prints "port N"
# once listening. asyncio sets TCP_NODELAY on its TCP transports.
# Usage: echo.py PORT [--uvloop] [--protocol]
import asyncio
import signal
import sys


async def handle(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    writer.close()


class Echo(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.transport.write(data)


async def main(port, protocol):
    loop = asyncio.get_running_loop()
    if protocol:
        server = await loop.create_server(Echo, "127.0.0.1", port)
    else:
        server = await asyncio.start_server(handle, "127.0.0.1", port)
    print("port %d" % server.sockets[0].getsockname()[1], flush=True)
    stop = loop.create_future()
    loop.add_signal_handler(signal.SIGTERM, stop.set_result, None)
    await stop


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    if "--uvloop" in sys.argv:
        import uvloop
        uvloop.install()
    asyncio.run(main(port, "--protocol" in sys.argv))

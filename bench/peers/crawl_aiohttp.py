# SPDX-License-Identifier: MIT
"""Workload (x), aiohttp's side: a crawl of N small pages, CONCURRENCY at
a time, on one aiohttp.ClientSession whose connector keeps CONCURRENCY
connections (TCPConnector(limit=...)). CONCURRENCY workers take the next
page number and GET URL<number>, read the body and check the status. A
warm-up of N/10 pages comes first, untimed. Prints one line of JSON, as
bench_http_crawl does; --uvloop runs it on uvloop.
Usage: crawl_aiohttp.py N URL [CONCURRENCY] [--uvloop]"""
import argparse
import asyncio
import json
import resource
import sys
import time

import aiohttp


class Crawl:
    def __init__(self, session, url):
        self.session = session
        self.url = url
        self.next = 0
        self.end = 0
        self.failed = 0
        self.bytes = 0
        self.first_error = None

    async def worker(self):
        while self.next < self.end:
            url = "%s%d" % (self.url, self.next)
            self.next += 1
            try:
                async with self.session.get(url) as r:
                    body = await r.read()
                    self.bytes += len(body)
                    if r.status != 200:
                        raise RuntimeError("status %d" % r.status)
            except Exception as e:  # count it, as the C side does
                self.failed += 1
                self.first_error = self.first_error or repr(e)

    async def phase(self, end, conc):
        t0 = time.perf_counter()
        self.end = end
        await asyncio.gather(*(self.worker() for _ in range(conc)))
        return time.perf_counter() - t0


async def main(n, url, conc, loop_name):
    conn = aiohttp.TCPConnector(limit=conc)
    async with aiohttp.ClientSession(connector=conn) as session:
        c = Crawl(session, url)
        warm = max(1, n // 10)
        await c.phase(warm, conc)
        warm_failed = c.failed
        c.bytes = 0
        secs = await c.phase(warm + n, conc)
    if c.failed:
        print("crawl_aiohttp: %d pages failed, the first with %s" %
              (c.failed, c.first_error), file=sys.stderr)
    print(json.dumps({
        "requests": n, "concurrency": conc, "secs": secs,
        "req_per_s": n / secs, "bytes": c.bytes,
        "failed": c.failed - warm_failed, "warmup": warm,
        "backend": loop_name,
        "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
    return 1 if c.failed else 0


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("n", type=int)
    p.add_argument("url")
    p.add_argument("conc", type=int, nargs="?", default=64)
    p.add_argument("--uvloop", action="store_true")
    a = p.parse_args()
    if a.uvloop:
        import uvloop
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as r:
            sys.exit(r.run(main(a.n, a.url, a.conc, "uvloop")))
    sys.exit(asyncio.run(main(a.n, a.url, a.conc, "asyncio")))

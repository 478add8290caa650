# SPDX-License-Identifier: MIT
"""HTTP client workload of bench/run: (x) a crawl of small pages.

Each row is a client that fetches N pages of 4 KiB (/page/0, /page/1 ...)
from a local nginx (one worker, a config generated in a temporary
directory, as in workload (w)), with 64 and then 256 requests in flight
on keep-alive connections, and checks every status: corio's
bench_http_crawl (one corio_http_session, on epoll and on io_uring), Go
net/http's client (GOMAXPROCS=1), Node's http module with a keep-alive
Agent and Node's fetch, aiohttp's ClientSession on asyncio and on uvloop,
and, as the C references, libcurl's multi interface alone
(bench/peers/curl_multi.c), driven by curl_multi_perform on poll(2) and
by curl_multi_socket_action on epoll (the interface an event loop, and
corio, must use): what corio adds to libcurl. nginx is pinned to CPU 0
and the client to CPU 1. Every client
first crawls N/10 pages untimed (connections, JITs), then N timed.
Reported: requests per second, and the client's CPU time (user + system,
from wait4(), warm-up included) per request; ratios are against corio on
epoll.

bench/run imports this module, adds workloads() to its own, builds with
build() and prints with the workload's report.
"""
import json
import os
import subprocess
import tempfile
import time

import httpbench
import netbench

KEYS = "x"
BASE = "corio (epoll)"  # the row the ratios are against
CONCURRENCY = (64, 256)
PAGE_BYTES = 4096

NGINX_CONF = httpbench.NGINX_HEAD + """    server {
        listen 127.0.0.1:%(port)d;
        open_file_cache max=16;
        location /page/ {
            root %(dir)s;
            default_type text/html;
            try_files /page.html =404;
        }
    }
}
"""


def page_body():
    """A PAGE_BYTES HTML page: every URL under /page/ serves it."""
    head, tail = "<!doctype html><title>a page</title><p>", "</p>\n"
    fill = PAGE_BYTES - len(head) - len(tail)
    return head + ("crawl " * (fill // 6 + 1))[:fill] + tail


def build(build_dir):
    subprocess.run(["cmake", "--build", build_dir, "-j2", "--target",
                    "bench_http_crawl", "bench_curl_multi"], check=True,
                   stdout=subprocess.DEVNULL)


def workloads(quick, corio_bin, go_bin, python, peers):
    n = 2000 if quick else 20000
    aio = [python, os.path.join(peers, "crawl_aiohttp.py")]
    node = ["node", os.path.join(peers, "crawl.js")]
    clients = [
        (BASE, ["env", "CORIO_BACKEND=epoll"] + corio_bin("http_crawl"), []),
        ("corio (io_uring)",
         ["env", "CORIO_BACKEND=io_uring"] + corio_bin("http_crawl"), []),
        ("Go net/http", go_bin("crawl"), []),
        ("Node http.Agent", node, []),
        ("Node fetch", node, ["--fetch"]),
        ("aiohttp", aio, []),
        ("aiohttp + uvloop", aio, ["--uvloop"]),
        ("libcurl multi + poll (C)", corio_bin("curl_multi"), []),
        ("libcurl multi-socket + epoll (C)", corio_bin("curl_multi"),
         ["--socket"]),
    ]
    rows = [(label(name, c), cmd, n, [str(c)], flags)
            for c in CONCURRENCY for name, cmd, flags in clients]
    return {
        "x": dict(title="(x) HTTP client crawl: %d GETs of %d-byte pages "
                  "from nginx (1 worker, CPU 0), client on CPU 1, %s in "
                  "flight" % (n, PAGE_BYTES,
                              " and ".join(map(str, CONCURRENCY))),
                  metric="req_per_s", runner=run_crawl,
                  report=report_crawl, clients=[c[0] for c in clients],
                  rows=rows),
    }


def label(name, conc):
    return "%s ×%d" % (name, conc)


# ---- running ----

def start_nginx(pin):
    """nginx serving /page/* (httpbench.start_nginx); returns (process,
    port, directory)."""
    def write_page(d):
        with open(os.path.join(d, "page.html"), "w") as f:
            f.write(page_body())
    return httpbench.start_nginx(pin, NGINX_CONF, write_page)


def run_crawl(row, pin):
    """Start nginx, run the client against it (pinned to CPU 1), and
    return its JSON line plus its CPU time per request from wait4()."""
    _, cmd, n, extra, flags = row
    server, port, d = start_nginx(pin)
    try:
        url = "http://127.0.0.1:%d/page/" % port
        full = netbench.pinned(cmd + [str(n), url] + extra + flags, 1, pin)
        env = dict(os.environ, GOMAXPROCS="1", PYTHONDONTWRITEBYTECODE="1")
        with tempfile.TemporaryFile() as out, \
                tempfile.TemporaryFile() as err:
            t0 = time.monotonic()
            s0 = sum(netbench.cpu_ticks(server.pid))
            p = subprocess.Popen(full, stdout=out, stderr=err, env=env)
            try:
                _, status, ru = os.wait4(p.pid, 0)
            except BaseException:
                p.kill()
                raise
            p.returncode = os.waitstatus_to_exitcode(status)
            wall = time.monotonic() - t0
            s1 = sum(netbench.cpu_ticks(server.pid))
            out.seek(0)
            err.seek(0)
            text = out.read().decode(errors="replace").strip()
            errtext = err.read().decode(errors="replace").strip()
        if p.returncode != 0:
            last = errtext.splitlines()[-1] if errtext else ""
            raise RuntimeError("exit %d: %s" % (p.returncode, last[:120]))
        try:
            res = json.loads(text.splitlines()[-1])
        except (ValueError, IndexError):
            raise RuntimeError("no JSON line in output: %r" % text[:120])
        if res.get("failed"):
            raise RuntimeError("%d pages failed" % res["failed"])
        total = res["requests"] + res.get("warmup", 0)
        res["cpu_us_per_req"] = (ru.ru_utime + ru.ru_stime) * 1e6 / total
        res["user_us_per_req"] = ru.ru_utime * 1e6 / total
        # nginx's share: near 1e6 / req_per_s, it is the bottleneck.
        res["server_us_per_req"] = (s1 - s0) / netbench.HZ * 1e6 / total
        res["wall_s"] = wall
        res["maxrss_kib"] = ru.ru_maxrss
        return res
    finally:
        httpbench.stop_nginx(server, d)


# ---- reporting ----

def _med(res, field):
    import statistics
    vals = [r[field] for r in res if r.get(field) is not None]
    return statistics.median(vals) if vals else None


def report_crawl(spec, key, samples, errors, fmt, ratio, table, failed):
    header = ["client"]
    for c in CONCURRENCY:
        header += ["req/s ×%d" % c, "vs corio"]
    for c in CONCURRENCY:
        header += ["CPU µs/req ×%d" % c, "vs corio"]
    header += ["runs"]
    rows = []
    for name in spec["clients"]:
        rates, cpus, runs = [], [], []
        for c in CONCURRENCY:
            lab = label(name, c)
            res = samples.get((key, lab))
            base = samples.get((key, label(BASE, c)), [])
            b_rps, b_cpu = _med(base, "req_per_s"), _med(base,
                                                         "cpu_us_per_req")
            if not res:
                why = failed(errors, key, lab)
                rates += [why, ""]
                cpus += ["", ""]
                continue
            rps, cpu = _med(res, "req_per_s"), _med(res, "cpu_us_per_req")
            first = name == BASE
            rates += [fmt(rps), "—" if first else
                      ratio(lab, 1 / rps, 1 / b_rps) if b_rps else ""]
            cpus += [fmt(cpu), "—" if first else
                     ratio(lab, cpu, b_cpu, "more", "less") if b_cpu else ""]
            runs.append(str(len(res)))
        rows.append([name] + rates + cpus + ["/".join(runs)])
    return table(header, rows)

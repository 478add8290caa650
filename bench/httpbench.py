# SPDX-License-Identifier: MIT
"""HTTP workload of bench/run: (w) "Hello, World!" under wrk.

Each row is a server that answers GET / with "Hello, World!" as text/plain
on a keep-alive connection: corio's bench_http, nginx with one worker (a
config generated in a temporary directory, run in the foreground), Go
net/http (GOMAXPROCS=1), Node's http module, and aiohttp.web on asyncio
and on uvloop. The server is pinned to CPU 0 and wrk (Debian's, `wrk -t1
-c100`) to CPU 1. After a warm-up of a tenth of the run (at most 1 s),
wrk runs for SECONDS (10; 1 with --quick). corio runs once per backend,
epoll and io_uring (CORIO_BACKEND); the ratios are against epoll. Reported: requests per second,
wrk's latency p50 and p99, and the server's CPU time (user + system, from
/proc/PID/stat) per request.

bench/run imports this module, adds workloads() to its own, builds with
build() and prints with report().
"""
import os
import resource
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import netbench

SECONDS = None  # bench/run --seconds; None: 10, or 1 with --quick
KEYS = "w"
BASE = "corio (epoll)"  # the row the ratios are against
NGINX = "nginx"  # the row marker: run_wrk starts nginx itself

# nginx with one worker in the foreground, everything under a temporary
# directory; the workloads add their server block (and close http).
NGINX_HEAD = """worker_processes 1;
daemon off;
master_process off;
pid %(dir)s/nginx.pid;
error_log %(dir)s/error.log warn;
events { worker_connections 10240; }
http {
    access_log off;
    keepalive_requests 100000000;
    keepalive_timeout 75s;
    client_body_temp_path %(dir)s/body;
    proxy_temp_path %(dir)s/proxy;
    fastcgi_temp_path %(dir)s/fastcgi;
    uwsgi_temp_path %(dir)s/uwsgi;
    scgi_temp_path %(dir)s/scgi;
"""
NGINX_CONF = NGINX_HEAD + """    server {
        listen 127.0.0.1:%(port)d;
        location = / {
            default_type text/plain;
            return 200 "Hello, World!";
        }
    }
}
"""


def configure(seconds):
    global SECONDS
    SECONDS = seconds


def build(build_dir):
    subprocess.run(["cmake", "--build", build_dir, "-j2", "--target",
                    "bench_http"], check=True, stdout=subprocess.DEVNULL)


def workloads(quick, corio_bin, go_bin, python, peers):
    secs = SECONDS or (1.0 if quick else 10.0)
    aio = [python, os.path.join(peers, "http_aiohttp.py")]
    # corio's rows name their backend, which the environment forces (as in
    # netbench); the ratios are against the epoll one.
    rows = [
        ("corio (epoll)", ["env", "CORIO_BACKEND=epoll"] + corio_bin("http"),
         []),
        ("corio (io_uring)",
         ["env", "CORIO_BACKEND=io_uring"] + corio_bin("http"), []),
        ("nginx (1 worker)", [NGINX], []),
        ("Go net/http", go_bin("http"), []),
        ("Node http", ["node", os.path.join(peers, "http.js")], []),
        ("aiohttp", aio, []),
        ("aiohttp + uvloop", aio, ["--uvloop"]),
    ]
    return {
        "w": dict(title="(w) HTTP hello world: wrk -t1 -c100, %g s, server "
                  "on CPU 0, wrk on CPU 1" % secs, metric="req_per_s",
                  runner=lambda row, pin: run_wrk(row, pin, secs),
                  report=report_wrk,
                  rows=[(label, cmd, 100, [], flags)
                        for label, cmd, flags in rows]),
    }


# ---- running ----

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_nginx(pin, conf_template=NGINX_CONF, prepare=None):
    """nginx in the foreground, one worker, from a generated config (the
    template, with %(dir)s and %(port)s) in a temporary directory, where
    prepare(directory) may first write the files it serves; returns
    (process, port, directory)."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.path.exists(nginx):
        raise RuntimeError("nginx not found (Debian nginx or nginx-light)")
    d = tempfile.mkdtemp(prefix="corio-bench-nginx-")
    port = free_port()
    if prepare:
        prepare(d)
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write(conf_template % {"dir": d, "port": port})
    p = subprocess.Popen(netbench.pinned([nginx, "-c", conf, "-p", d, "-e",
                                          os.path.join(d, "error.log")],
                                         0, pin),
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), 0.1).close()
            return p, port, d
        except OSError:
            if p.poll() is not None:
                break
            time.sleep(0.02)
    p.kill()
    shutil.rmtree(d, ignore_errors=True)
    raise RuntimeError("nginx did not start: %s" %
                       p.stderr.read().decode(errors="replace")[-120:])


UNITS = {"us": 1.0, "ms": 1e3, "s": 1e6}


def stop_nginx(p, d):
    """Stop what start_nginx started and remove its directory."""
    p.send_signal(signal.SIGQUIT)  # nginx's quick exit
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    shutil.rmtree(d, ignore_errors=True)


def parse_wrk(out):
    """Requests/s and the latency percentiles (µs) from wrk --latency."""
    res = {}
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not m:
        raise RuntimeError("no Requests/sec from wrk: %r" % out[-160:])
    res["req_per_s"] = float(m.group(1))
    for pct, key in (("50", "p50_us"), ("90", "p90_us"), ("99", "p99_us")):
        m = re.search(r"^\s+%s%%\s+([\d.]+)(us|ms|s)\s*$" % pct, out, re.M)
        if m:
            res[key] = float(m.group(1)) * UNITS[m.group(2)]
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        raise RuntimeError("%s answers were not 2xx" % m.group(1))
    m = re.search(r"Socket errors: (.*)", out)
    if m:
        res["socket_errors"] = m.group(1).strip()
    return res


def wrk(port, secs, pin):
    cmd = netbench.pinned(["wrk", "-t1", "-c100",
                           "-d%ds" % max(1, round(secs)),
                           "--latency", "http://127.0.0.1:%d/" % port],
                          1, pin)
    out = subprocess.run(cmd, capture_output=True, text=True,
                         timeout=secs + 60)
    if out.returncode != 0:
        raise RuntimeError("wrk: %s" % out.stderr.strip()[-120:])
    return out.stdout


def run_wrk(row, pin, secs):
    if not shutil.which("wrk"):
        raise RuntimeError("wrk not found (Debian wrk)")
    label, cmd, _, _, flags = row
    tmp = None
    if cmd == [NGINX]:
        server, port, tmp = start_nginx(pin)
    else:
        server, port = netbench.start_server(cmd, flags, pin)
    try:
        t0 = time.monotonic()
        wrk(port, 1, pin)  # warm-up (JITs, caches), 1 s
        u0, s0 = netbench.cpu_ticks(server.pid)
        w0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t1 = time.monotonic()
        res = parse_wrk(wrk(port, secs, pin))
        wall = time.monotonic() - t1
        w1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        u1, s1 = netbench.cpu_ticks(server.pid)
        # wrk's own CPU: at 100 % of its core, the requests/s is the load
        # generator's limit, not the server's.
        res["wrk_cpu_pct"] = 100 * (w1.ru_utime - w0.ru_utime + w1.ru_stime -
                                    w0.ru_stime) / wall
        total = res["req_per_s"] * secs
        hz = netbench.HZ
        res["user_us_per_req"] = (u1 - u0) / hz * 1e6 / total
        res["sys_us_per_req"] = (s1 - s0) / hz * 1e6 / total
        res["cpu_us_per_req"] = res["user_us_per_req"] + res["sys_us_per_req"]
        res["wall_s"] = time.monotonic() - t0
        return res
    finally:
        if tmp:
            stop_nginx(server, tmp)
        else:
            netbench.stop_server(server)


# ---- reporting ----

def _med(res, field):
    import statistics
    vals = [r[field] for r in res if r.get(field) is not None]
    return statistics.median(vals) if vals else None


def report_wrk(spec, key, samples, errors, fmt, ratio, table, failed):
    base = _med(samples.get((key, BASE), []), "req_per_s")
    base_cpu = _med(samples.get((key, BASE), []), "cpu_us_per_req")
    rows = []
    rates = {}
    cpus = {}
    for label, _, _, _, _ in spec["rows"]:
        res = samples.get((key, label))
        if not res:
            rows.append([label, failed(errors, key, label)] + [""] * 7)
            continue
        rps = _med(res, "req_per_s")
        cpu = _med(res, "cpu_us_per_req")
        rates[label] = rps
        first = label == BASE
        rows.append([label, fmt(rps),
                     "—" if first else
                     ratio(label, 1 / rps, 1 / base) if base else "",
                     fmt(_med(res, "p50_us")), fmt(_med(res, "p99_us")),
                     fmt(cpu), "—" if first else
                     ratio(label, cpu, base_cpu, "more", "less")
                     if base_cpu else "",
                     fmt(_med(res, "wrk_cpu_pct")), "%d" % len(res)])
        cpus[label] = cpu
    text = table(["server", "requests/s", "vs corio", "p50 µs", "p99 µs",
                  "server CPU µs/request", "vs corio", "wrk CPU %", "runs"],
                 rows)
    # The targets: >= nginx, >= 1.4x Go, >= 4x aiohttp.
    if base:
        notes = []
        for label, want in (("nginx (1 worker)", 1.0), ("Go net/http", 1.4),
                            ("aiohttp", 4.0)):
            if rates.get(label):
                r = base / rates[label]
                notes.append("%s %.2f× (target %.1f×: %s)" %
                             (label, r, want, "met" if r >= want else
                              "NOT met"))
        if notes:
            text += "\n\n%s's requests/s against " % BASE + "; ".join(notes)
    # io_uring's target: >= 1.2x nginx. Where wrk's core is saturated, the
    # server CPU per request says more than requests/s: both are given.
    ring, ngx = "corio (io_uring)", "nginx (1 worker)"
    if rates.get(ring) and rates.get(ngx):
        r = rates[ring] / rates[ngx]
        text += ("\n\n%s against %s: %.2f× the requests/s (target 1.2×: "
                 "%s)" % (ring, ngx, r, "met" if r >= 1.2 else "NOT met"))
        if cpus.get(ngx):
            text += "; nginx's server CPU per request over " + ", ".join(
                "%s's %.2f×" % (label, cpus[ngx] / cpus[label])
                for label in (ring, BASE) if cpus.get(label))
    return text

# SPDX-License-Identifier: MIT
"""Networking workloads of bench/run: (m) echo ping-pong and (n) idle
connections. Each row is a server (corio's bench_echo, a libuv callback
server, a liburing server by hand (the io_uring ceiling), Go net, Node
net, asyncio and uvloop) that bench/run starts pinned to CPU 0, driven
by bench_echo_load (plain C on epoll) pinned to CPU 1.

corio's rows run once per backend, epoll and io_uring, forced with
CORIO_BACKEND; the ratios are against corio streams on epoll.

(m): CONNS connections each send SIZE bytes and wait for the echo, for
SECONDS after a warm-up; reported: round trips per second, latency p50 and
p99, and the server's CPU time (user + system, from /proc/PID/stat) per
round trip. (n): CONNS idle connections, each set up by one echo; reported:
the growth of the server's resident memory (VmRSS) per connection.

bench/run imports this module, adds workloads() to its own, runs each row
through run(), builds the programs with build() and prints with report().
"""
import os
import resource
import select
import signal
import statistics
import subprocess
import time

BASE = "corio streams (epoll)"  # the row the ratios are against
SECONDS = None  # bench/run --seconds; None: 10, or 1 with --quick
HZ = os.sysconf("SC_CLK_TCK")


def configure(seconds):
    global SECONDS
    SECONDS = seconds


def build(build_dir):
    """The C programs, the libuv peer only where libuv is (no failure)."""
    subprocess.run(["cmake", "--build", build_dir, "-j2", "--target",
                    "bench_echo", "bench_echo_load"], check=True,
                   stdout=subprocess.DEVNULL)
    for peer in ("bench_uv_echo", "bench_uring_echo"):
        subprocess.run(["cmake", "--build", build_dir, "-j2", "--target",
                        peer], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)


def workloads(quick, corio_bin, go_bin, python, peers):
    secs = SECONDS or (1.0 if quick else 10.0)
    idle = 500 if quick else 10000
    py = [python, os.path.join(peers, "echo.py")]
    node = ["node", os.path.join(peers, "echo.js")]
    # corio's rows name their backend, which the environment forces.
    epoll = ["env", "CORIO_BACKEND=epoll"] + corio_bin("echo")
    uring = ["env", "CORIO_BACKEND=io_uring"] + corio_bin("echo")
    servers = [
        ("corio streams (epoll)", epoll, []),
        ("corio sockets (epoll)", epoll, ["--sock"]),
        ("corio streams (io_uring)", uring, []),
        ("corio sockets (io_uring)", uring, ["--sock"]),
        ("libuv (callbacks)", [corio_bin("echo")[0].replace(
            "bench_echo", "bench_uv_echo")], []),
        # The io_uring ceiling: liburing by hand, no runtime (echo only).
        ("liburing by hand", [corio_bin("echo")[0].replace(
            "bench_echo", "bench_uring_echo")], []),
        ("Go net", go_bin("echo"), []),
        ("Node net", node, []),
        ("asyncio streams", py, []),
        ("asyncio protocol", py, ["--protocol"]),
        ("uvloop streams", py, ["--uvloop"]),
        ("uvloop protocol", py, ["--uvloop", "--protocol"]),
    ]
    load = corio_bin("echo_load")
    return {
        "m": dict(title="(m) echo ping-pong, 100 connections, 64-byte "
                  "messages, %g s" % secs, metric="rt_per_s",
                  runner=lambda row, pin: run_echo(row, pin, load, secs),
                  report=report_echo,
                  rows=[(label, cmd, 100, ["64", str(secs)], flags)
                        for label, cmd, flags in servers]),
        "n": dict(title="(n) %d idle connections: server memory per "
                  "connection" % idle, metric="bytes_per_conn",
                  runner=lambda row, pin: run_idle(row, pin, load),
                  report=report_idle,
                  rows=[(label, cmd, idle, [], flags)
                        for label, cmd, flags in servers
                        if label in ("corio streams (epoll)",
                                     "corio sockets (epoll)",
                                     "corio streams (io_uring)",
                                     "corio sockets (io_uring)",
                                     "libuv (callbacks)", "Go net")]),
    }


# ---- running ----

def pinned(cmd, cpu, pin):
    return ["taskset", "-c", str(cpu)] + cmd if pin else cmd


def start_server(cmd, flags, pin):
    """Start a server on a free port; returns (process, port)."""
    # Room for 10,000 connections in every server and the load generator.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    env = dict(os.environ, GOMAXPROCS="1", PYTHONDONTWRITEBYTECODE="1")
    p = subprocess.Popen(pinned(cmd + ["0"] + flags, 0, pin),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=env, text=True)
    ready, _, _ = select.select([p.stdout], [], [], 20)
    line = p.stdout.readline() if ready else ""
    if not line.startswith("port "):
        p.kill()
        err = p.stderr.read().strip().splitlines()
        raise RuntimeError("server did not start: %s" %
                           (err[-1][:120] if err else line.strip()))
    return p, int(line.split()[1])


def stop_server(p):
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def cpu_ticks(pid):
    """User and system CPU ticks of a process, all its threads."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]), int(fields[12])


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def load_json(out):
    import json
    lines = [ln for ln in out.strip().splitlines() if ln.startswith("{")]
    if not lines:
        raise RuntimeError("no JSON from the load generator: %r" % out[:120])
    return json.loads(lines[-1])


def run_echo(row, pin, load, secs):
    _, cmd, conns, extra, flags = row
    server, port = start_server(cmd, flags, pin)
    try:
        u0, s0 = cpu_ticks(server.pid)
        warm = min(1.0, secs / 10)
        t0 = time.monotonic()
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        out = subprocess.run(
            pinned(load + ["127.0.0.1", str(port), str(conns), extra[0],
                           str(secs), str(warm)], 1, pin),
            capture_output=True, text=True, timeout=secs + 120)
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        if out.returncode != 0:
            raise RuntimeError("load generator: %s" %
                               out.stderr.strip()[-120:])
        # The server's CPU over the warm-up and the measured time.
        u1, s1 = cpu_ticks(server.pid)
        res = load_json(out.stdout)
        total_rts = res["rt_per_s"] * (secs + warm)
        res["user_us_per_rt"] = (u1 - u0) / HZ * 1e6 / total_rts
        res["sys_us_per_rt"] = (s1 - s0) / HZ * 1e6 / total_rts
        res["cpu_us_per_rt"] = res["user_us_per_rt"] + res["sys_us_per_rt"]
        res["wall_s"] = time.monotonic() - t0
        # The generator's own CPU: near 100 %, it is a limit too.
        res["load_cpu_pct"] = 100 * (r1.ru_utime - r0.ru_utime +
                                     r1.ru_stime - r0.ru_stime) / res["wall_s"]
        return res
    finally:
        stop_server(server)


def run_idle(row, pin, load):
    _, cmd, conns, _, flags = row
    server, port = start_server(cmd, flags, pin)
    try:
        time.sleep(0.2)
        before = rss_kib(server.pid)
        t0 = time.monotonic()
        p = subprocess.Popen(
            pinned(load + ["--idle", "127.0.0.1", str(port), str(conns)],
                   1, pin),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        ready, _, _ = select.select([p.stdout], [], [], 120)
        line = p.stdout.readline() if ready else ""
        if '"ready"' not in line:
            p.kill()
            raise RuntimeError("idle load: %s" %
                               (p.stderr.read().strip()[-120:] or line))
        time.sleep(0.5)  # let the server settle (Go's GC, Node's heap)
        after = rss_kib(server.pid)
        p.stdin.close()
        p.wait(60)
        res = load_json(line)
        res.update(rss_before_kib=before, rss_after_kib=after,
                   bytes_per_conn=(after - before) * 1024 / conns,
                   wall_s=time.monotonic() - t0)
        return res
    finally:
        stop_server(server)


# ---- reporting ----

def _med(res, field):
    vals = [r[field] for r in res if r.get(field) is not None]
    return statistics.median(vals) if vals else None


def report_echo(spec, key, samples, errors, fmt, ratio, table, failed):
    base = _med(samples.get((key, BASE), []), "rt_per_s")
    base_cpu = _med(samples.get((key, BASE), []),
                    "cpu_us_per_rt")
    rows = []
    rates = {}
    for label, _, n, _, _ in spec["rows"]:
        res = samples.get((key, label))
        if not res:
            rows.append([label, failed(errors, key, label)] + [""] * 8)
            continue
        rt = _med(res, "rt_per_s")
        rates[label] = rt
        cpu = _med(res, "cpu_us_per_rt")
        first = label == BASE
        rows.append([label, fmt(rt),
                     "—" if first else
                     ratio(label, 1 / rt, 1 / base) if base else "",
                     fmt(_med(res, "p50_us")), fmt(_med(res, "p99_us")),
                     fmt(cpu), "—" if first else
                     ratio(label, cpu, base_cpu, "more", "less")
                     if base_cpu else "",
                     "%s + %s" % (fmt(_med(res, "user_us_per_rt")),
                                  fmt(_med(res, "sys_us_per_rt"))),
                     fmt(_med(res, "load_cpu_pct")), "%d" % len(res)])
    text = table(["server", "round trips/s", "vs corio", "p50 µs",
                  "p99 µs", "server CPU µs/rt", "vs corio",
                  "user + sys µs/rt", "load CPU %", "runs"], rows, (0, 7))
    # io_uring's target: >= 1.3x the libuv server; the hand-written
    # liburing server shows how far any io_uring server gets here.
    uv = rates.get("libuv (callbacks)")
    if uv:
        notes = ["%s %.2f×" % (label, rates[label] / uv) for label in
                 ("corio streams (io_uring)", "corio sockets (io_uring)",
                  "liburing by hand") if rates.get(label)]
        if notes:
            text += ("\n\nAgainst libuv (io_uring target 1.3×): " +
                     "; ".join(notes))
    return text


def report_idle(spec, key, samples, errors, fmt, ratio, table, failed):
    base = _med(samples.get((key, BASE), []), "bytes_per_conn")
    rows = []
    for label, _, n, _, _ in spec["rows"]:
        res = samples.get((key, label))
        if not res:
            rows.append([label, failed(errors, key, label), "", "", "", ""])
            continue
        b = _med(res, "bytes_per_conn")
        rows.append([label, "{:,}".format(n), fmt(b),
                     "—" if label == BASE else
                     ratio(label, b, base, "more", "less") if base else "",
                     fmt(_med(res, "rss_after_kib") / 1024),
                     "%d" % len(res)])
    return table(["server", "connections", "RSS bytes/connection",
                  "vs corio", "server RSS MiB", "runs"], rows)

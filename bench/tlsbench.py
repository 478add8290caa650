# SPDX-License-Identifier: MIT
"""TLS workloads of bench/run: (t) handshakes per second and (u) bulk
throughput, corio against OpenSSL's own tools on the same certificate (an
ECDSA P-256 one, made with the openssl command), in the same run.

Servers: corio's bench_tls server and `openssl s_server -WWW`, both serving
files from one directory, pinned to CPU 0. Clients: `openssl s_time` and
corio's bench_tls client, pinned to CPU 1; neither verifies the
certificate (s_time does not). Each connection: a handshake (TLS 1.3),
"GET /file HTTP/1.0", the file, close. (t) fetches a 1 KiB page, new
sessions or resumed ones (s_time -new / -reuse); (u) a 64 MiB file. Rates
are the client's connections (or bytes) over the wall time of its run.

bench/run imports this module, adds workloads() to its own, builds with
build() and prints with the report functions.
"""
import json
import os
import re
import select
import signal
import statistics
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DATA = os.path.join(ROOT, "build", "bench-data", "tls")


def build(build_dir):
    subprocess.run(["cmake", "--build", build_dir, "-j2", "--target",
                    "bench_tls"], check=True, stdout=subprocess.DEVNULL)


def make_data(big_mib):
    """The certificate, a 1 KiB page and the big file, made once."""
    os.makedirs(DATA, exist_ok=True)
    cert = os.path.join(DATA, "cert.pem")
    key = os.path.join(DATA, "key.pem")
    if not os.path.exists(cert):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                        "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", key, "-out", cert, "-days", "365",
                        "-subj", "/CN=localhost"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    page = os.path.join(DATA, "page")
    if not os.path.exists(page):
        with open(page, "wb") as f:
            f.write(b"x" * 1023 + b"\n")
    big = os.path.join(DATA, "big%d" % big_mib)
    if not os.path.exists(big) or os.path.getsize(big) != big_mib << 20:
        with open(big, "wb") as f:
            chunk = os.urandom(1 << 20)
            for _ in range(big_mib):
                f.write(chunk)
    return cert, key, "/page", "/big%d" % big_mib


def pinned(cmd, cpu, pin):
    return ["taskset", "-c", str(cpu)] + cmd if pin else cmd


def start_server(kind, corio_bin, cert, key, pin):
    """Start a server on a free port; returns (process, port, log file).
    Its output goes to a file, which s_server fills with a line per
    request."""
    log = open(os.path.join(DATA, "server-%s.log" % kind), "w+")
    if kind == "corio":
        cmd = corio_bin("tls") + ["server", cert, key, DATA, "0"]
        pat = re.compile(r"^port (\d+)$", re.M)
    else:
        cmd = ["openssl", "s_server", "-accept", "127.0.0.1:0", "-cert",
               cert, "-key", key, "-WWW"]
        pat = re.compile(r"^ACCEPT 127\.0\.0\.1:(\d+)$", re.M)
    p = subprocess.Popen(pinned(cmd, 0, pin), stdout=log,
                         stderr=subprocess.STDOUT, cwd=DATA)
    for _ in range(200):
        log.seek(0)
        m = pat.search(log.read())
        if m:
            return p, int(m.group(1)), log
        if p.poll() is not None:
            break
        time.sleep(0.05)
    p.kill()
    log.seek(0)
    raise RuntimeError("server did not start: %s" % log.read()[-120:])


def stop_server(p, log):
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    log.close()


def run_client(kind, corio_bin, port, path, secs, mode, conc, pin):
    if kind == "corio":
        cmd = corio_bin("tls") + ["client", "127.0.0.1", str(port), path,
                                  str(secs), str(conc)]
        if mode == "reuse":
            cmd.append("--reuse")
    else:
        cmd = ["openssl", "s_time", "-connect", "127.0.0.1:%d" % port,
               "-www", path, "-" + mode, "-time", str(int(secs))]
    t0 = time.monotonic()
    out = subprocess.run(pinned(cmd, 1, pin), capture_output=True,
                         text=True, timeout=secs + 120)
    wall = time.monotonic() - t0
    if out.returncode != 0:
        raise RuntimeError("client: %s" % (out.stderr.strip()[-120:] or
                                           out.stdout.strip()[-120:]))
    if kind == "corio":
        line = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
        if not line:
            raise RuntimeError("no JSON from the client")
        return json.loads(line[-1])
    m = re.findall(r"(\d+) connections in \d+ real seconds, (\d+) bytes "
                   r"read per connection", out.stdout)
    if not m:
        raise RuntimeError("s_time said: %r" % out.stdout[-120:])
    conns, per = int(m[-1][0]), int(m[-1][1])
    return {"conns": conns, "bytes": conns * per, "seconds": wall,
            "conns_per_s": conns / wall, "mb_per_s": conns * per / 1e6 / wall}


def run_row(row, pin, corio_bin, files):
    label, cmd, secs, _, _ = row
    server, client, mode, conc, which = cmd
    cert, key, page, big = files
    p, port, log = start_server(server, corio_bin, cert, key, pin)
    try:
        time.sleep(0.1)
        res = run_client(client, corio_bin, port,
                         page if which == "page" else big, secs, mode,
                         int(conc), pin)
        res["wall_s"] = res["seconds"]
        return res
    finally:
        stop_server(p, log)


# Rows: (label, [server, client, mode, concurrency, file], compared with)
T_ROWS = [
    ("corio server, s_time", ["corio", "s_time", "new", "1", "page"],
     "s_server, s_time"),
    ("s_server, s_time", ["openssl", "s_time", "new", "1", "page"], None),
    ("corio server, corio client", ["corio", "corio", "new", "1", "page"],
     "s_server, s_time"),
    ("s_server, corio client", ["openssl", "corio", "new", "1", "page"],
     "s_server, s_time"),
    ("corio server, s_time -reuse", ["corio", "s_time", "reuse", "1",
                                     "page"], "s_server, s_time -reuse"),
    ("s_server, s_time -reuse", ["openssl", "s_time", "reuse", "1", "page"],
     None),
    ("corio server, corio client -reuse", ["corio", "corio", "reuse", "1",
                                           "page"],
     "s_server, s_time -reuse"),
    ("corio server, corio client, 16 at once", ["corio", "corio", "new",
                                                "16", "page"],
     "corio server, corio client"),
]
U_ROWS = [
    ("corio server, s_time", ["corio", "s_time", "new", "1", "big"],
     "s_server, s_time"),
    ("s_server, s_time", ["openssl", "s_time", "new", "1", "big"], None),
    ("corio server, corio client", ["corio", "corio", "new", "1", "big"],
     "s_server, s_time"),
    ("s_server, corio client", ["openssl", "corio", "new", "1", "big"],
     "s_server, s_time"),
]


def workloads(quick, corio_bin):
    secs = 1 if quick else 5
    big_mib = 8 if quick else 64
    state = {}

    def runner(row, pin):
        if "files" not in state:
            state["files"] = make_data(big_mib)
        return run_row(row, pin, corio_bin, state["files"])

    return {
        "t": dict(title="(t) TLS handshakes: new connection, GET of a 1 KiB "
                  "page, close; one at a time (TLS 1.3, ECDSA P-256), %d s"
                  % secs, metric="conns_per_s", runner=runner,
                  report=report_tls("conns_per_s", "connections/s", T_ROWS),
                  rows=[(label, cmd, secs, [], [])
                        for label, cmd, _ in T_ROWS]),
        "u": dict(title="(u) TLS bulk: GET of a %d MiB file, server to "
                  "client, one connection at a time, %d s" % (big_mib, secs),
                  metric="mb_per_s", runner=runner,
                  report=report_tls("mb_per_s", "MB/s", U_ROWS),
                  rows=[(label, cmd, secs, [], [])
                        for label, cmd, _ in U_ROWS]),
    }


def _med(res, field):
    vals = [r[field] for r in res if r.get(field) is not None]
    return statistics.median(vals) if vals else None


def report_tls(field, unit, spec_rows):
    peers = {label: peer for label, _, peer in spec_rows}

    def report(spec, key, samples, errors, fmt, ratio, table, failed):
        rows = []
        for label, _, _, _, _ in spec["rows"]:
            res = samples.get((key, label))
            if not res:
                rows.append([label, failed(errors, key, label), "", "", ""])
                continue
            v = _med(res, field)
            peer = peers.get(label)
            base = _med(samples.get((key, peer), []), field) if peer else None
            rel = ""
            if base and v:
                # A rate: higher is better.
                rel = ratio(label, 1 / v, 1 / base)
            rows.append([label, fmt(v), rel, peer or "—", "%d" % len(res)])
        return table(["server, client", unit, "ratio", "compared with",
                      "runs"], rows, (0, 3))
    return report

# SPDX-License-Identifier: MIT
"""PostgreSQL workloads of bench/run: (p) `SELECT $1::int` and (q) a
100-row select, with 1, 10 and 100 concurrent tasks over a pool of 10
connections. Rows: corio (bench_pg: acquire, query, release), corio
pipelined (a connection per batch of 100 statements; each statement in a
segment of its own, or one atomic segment per batch), asyncpg on uvloop
and on asyncio (peers/pg_asyncpg.py: pool.fetchval / pool.fetch), and
plain synchronous libpq on one connection (bench_pg_sync, prepared).

The server is a throwaway cluster that tests/pg/cluster.sh starts for the
run (in build/bench-pg) and stops at the end, or the one CORIO_PG_DSN
names. Each process is pinned to CPU 0 like every row of bench/run; the
server's processes are not pinned, so they mostly run on the other CPU.
"""
import atexit
import os
import subprocess
import sys

KEYS = "pq"
TASKS = [1, 10, 100]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STATE = os.path.join(ROOT, "build", "bench-pg")
SCRIPT = os.path.join(ROOT, "tests", "pg", "cluster.sh")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def build(build_dir):
    """bench_pg and bench_pg_sync, where libpq is (no failure if not)."""
    subprocess.run(["cmake", "--build", build_dir, "-j2", "--target",
                    "bench_pg", "bench_pg_sync"], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def start_server():
    """Start the throwaway cluster unless CORIO_PG_DSN names a server."""
    if os.environ.get("CORIO_PG_DSN"):
        return
    log("starting a throwaway PostgreSQL cluster (tests/pg/cluster.sh) ...")
    subprocess.run(["sh", SCRIPT, "start", STATE], check=True,
                   stdout=subprocess.DEVNULL)
    # Stop it at the end; the script leaves a server CORIO_PG_DSN names
    # alone, so the stop must not see the variable set just below.
    env = dict(os.environ)
    atexit.register(subprocess.run, ["sh", SCRIPT, "stop", STATE],
                    stdout=subprocess.DEVNULL, env=env)
    with open(os.path.join(STATE, "dsn")) as f:
        os.environ["CORIO_PG_DSN"] = f.read().strip()


def workloads(quick, corio_bin, python, peers):
    n_one = 2000 if quick else 50000      # one statement per acquire
    n_pipe = 10000 if quick else 500000   # batches of 100
    py = [python, os.path.join(peers, "pg_asyncpg.py")]
    sync = [corio_bin("pg")[0].replace("bench_pg", "bench_pg_sync")]
    out = {}
    for key, kind, title, metric in (
            ("p", "int", "(p) SELECT $1::int over a pool of 10",
             "queries_per_s"),
            ("q", "rows", "(q) a 100-row select over a pool of 10",
             "rows_per_s")):
        rows = []
        n = n_one // (10 if kind == "rows" else 1)
        npipe = n_pipe // (10 if kind == "rows" else 1)
        for t in TASKS:
            rows += [
                ("corio, %d" % t, corio_bin("pg"), n, [str(t), kind], []),
                ("corio pipelined, %d" % t, corio_bin("pg"), npipe,
                 [str(t), kind], ["--pipeline"]),
                ("corio pipelined atomic, %d" % t, corio_bin("pg"), npipe,
                 [str(t), kind], ["--pipeline", "--atomic"]),
                ("asyncpg + uvloop, %d" % t, py, n, [str(t), kind],
                 ["--uvloop"]),
                ("asyncpg + asyncio, %d" % t, py, n, [str(t), kind], []),
            ]
        rows.append(("libpq sync, 1 connection", sync, n, [kind],
                     ["--prepared"]))
        out[key] = dict(title=title, metric=metric, report=report,
                        rows=rows)
    return out


def report(spec, key, samples, errors, fmt, ratio, table, failed):
    """One line per concurrency: the median rate of each implementation and
    corio's ratios against asyncpg on uvloop."""
    import statistics
    metric = spec["metric"]

    def med(label):
        res = samples.get((key, label))
        if not res:
            return None
        return statistics.median(r[metric] for r in res)

    def x(a, b):
        return "%.2f×" % (a / b) if a and b else "—"

    impls = ["corio", "corio pipelined", "corio pipelined atomic",
             "asyncpg + uvloop", "asyncpg + asyncio"]
    unit = "queries/s" if metric == "queries_per_s" else "rows/s"
    header = ["tasks"] + impls + ["corio / uvloop",
                                  "pipelined / uvloop",
                                  "atomic / uvloop"]
    rows = []
    for t in TASKS:
        v = {i: med("%s, %d" % (i, t)) for i in impls}
        row = [str(t)]
        for i in impls:
            lab = "%s, %d" % (i, t)
            row.append(fmt(v[i]) if v[i] else failed(errors, key, lab))
        base = v["asyncpg + uvloop"]
        row += [x(v["corio"], base), x(v["corio pipelined"], base),
                x(v["corio pipelined atomic"], base)]
        rows.append(row)
    s = med("libpq sync, 1 connection")
    note = "\n\n%s; libpq sync on one connection (prepared): %s" % (
        unit, fmt(s) if s else failed(errors, key,
                                      "libpq sync, 1 connection"))
    runs = len(samples.get((key, "corio, 1"), []))
    return table(header, rows) + note + "; %d run(s) each" % runs

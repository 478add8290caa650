# SPDX-License-Identifier: MIT
# Shared by the Python peers: argument parsing, running a coroutine on
# asyncio's default loop or on uvloop, and peak RSS.
import argparse
import asyncio
import json
import resource


def parse(description, n, secs=None, extra=()):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("n", type=int, nargs="?", default=n)
    if secs is not None:
        p.add_argument("secs", type=float, nargs="?", default=secs)
    p.add_argument("--uvloop", action="store_true", help="run on uvloop")
    for flag, help_ in extra:
        p.add_argument(flag, action="store_true", help=help_)
    return p.parse_args()


def run(main, args):
    if args.uvloop:
        import uvloop
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as r:
            return r.run(main)
    return asyncio.run(main)


def name(args, suffix=""):
    return ("uvloop" if args.uvloop else "asyncio") + suffix


def emit(**fields):
    fields["maxrss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps(fields), flush=True)

#!/bin/sh
# SPDX-License-Identifier: MIT
# CTest's smoke run of workload (x): bench_http_crawl fetches 5000 pages
# from bench_http (corio's server of workload (w), which answers any query
# on /), 64 and then 256 at a time, and must report no failure.
# Usage: crawl_smoke.sh CRAWLER SERVER
set -eu
out=$(mktemp)
pid=
trap '[ -z "$pid" ] || kill "$pid" 2>/dev/null || true; rm -f "$out"' EXIT
"$2" 0 >"$out" &
pid=$!
for _ in $(seq 100); do
    port=$(sed -n 's/^port \([0-9]*\)$/\1/p' "$out")
    [ -n "$port" ] && break
    sleep 0.05
done
[ -n "$port" ] || { echo "no port from $2" >&2; exit 1; }
for c in 64 256; do
    json=$("$1" 5000 "http://127.0.0.1:$port/?page=" $c)
    echo "$json"
    echo "$json" | grep -q '"failed": 0,' || { echo "failures" >&2; exit 1; }
done
kill -TERM "$pid"
wait "$pid"
pid=

#!/bin/sh
# SPDX-License-Identifier: MIT
# CTest's smoke run of workload (w): start bench_http, send it a few
# requests (wrk for a moment if it is there, else curl), stop it.
# Usage: http_smoke.sh SERVER
set -eu
out=$(mktemp)
trap 'kill "$pid" 2>/dev/null || true; rm -f "$out"' EXIT
"$1" 0 >"$out" &
pid=$!
for _ in $(seq 100); do
    port=$(sed -n 's/^port \([0-9]*\)$/\1/p' "$out")
    [ -n "$port" ] && break
    sleep 0.05
done
[ -n "$port" ] || { echo "no port from $1" >&2; exit 1; }
if command -v curl >/dev/null; then
    body=$(curl -sS --max-time 10 "http://127.0.0.1:$port/")
    [ "$body" = "Hello, World!" ] || { echo "got: $body" >&2; exit 1; }
fi
if command -v wrk >/dev/null; then
    wrk -t1 -c10 -d1s "http://127.0.0.1:$port/" | grep -q "Requests/sec"
fi
kill -TERM "$pid"
wait "$pid"

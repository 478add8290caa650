#!/bin/sh
# SPDX-License-Identifier: MIT
# CTest's smoke run of workloads (m) and (n): start a server, drive it for
# a moment with bench_echo_load (ping-pong, then a few idle connections),
# stop it. Usage: echo_smoke.sh LOADGEN SERVER [ARGS...]
set -eu
load=$1
shift
out=$(mktemp)
trap 'kill "$pid" 2>/dev/null || true; rm -f "$out"' EXIT
"$@" 0 >"$out" &
pid=$!
for _ in $(seq 100); do
    port=$(sed -n 's/^port \([0-9]*\)$/\1/p' "$out")
    [ -n "$port" ] && break
    sleep 0.05
done
[ -n "$port" ] || { echo "no port from $*" >&2; exit 1; }
"$load" 127.0.0.1 "$port" 4 64 0.2 0.05
"$load" --idle 127.0.0.1 "$port" 20 </dev/null
kill -TERM "$pid"
wait "$pid"

#!/bin/sh
# SPDX-License-Identifier: MIT
# CTest's smoke run of workloads (t) and (u): a certificate, bench_tls's
# server, its client for a moment (new and resumed sessions, and a larger
# file), and openssl s_time against the same server. Exit 77 without the
# openssl command. Usage: tls_smoke.sh BENCH_TLS
set -eu
bin=$1
command -v openssl >/dev/null 2>&1 || { echo "no openssl command"; exit 77; }
dir=$(mktemp -d)
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$dir/key.pem" -out "$dir/cert.pem" -days 2 -subj /CN=localhost \
    >/dev/null 2>&1
head -c 1024 /dev/zero | tr '\0' x >"$dir/page"
head -c 1048576 /dev/zero >"$dir/big"
: >"$dir/out" # exists before the loop below reads it (set -e)
"$bin" server "$dir/cert.pem" "$dir/key.pem" "$dir" 0 >"$dir/out" &
pid=$!
port=""
for _ in $(seq 100); do
    port=$(sed -n 's/^port \([0-9]*\)$/\1/p' "$dir/out")
    [ -n "$port" ] && break
    sleep 0.05
done
[ -n "$port" ] || { echo "no port from bench_tls" >&2; exit 1; }
"$bin" client 127.0.0.1 "$port" /page 0.2
"$bin" client 127.0.0.1 "$port" /page 0.2 4 --reuse
"$bin" client 127.0.0.1 "$port" /big 0.2
openssl s_time -connect "127.0.0.1:$port" -www /page -new -time 1 |
    grep "connections in"
kill -TERM "$pid"
wait "$pid"
pid=""

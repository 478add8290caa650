#!/bin/sh
# SPDX-License-Identifier: MIT
# The test of examples/tls_client.c: make a CA and a certificate for
# localhost with the openssl command, serve a page with `openssl s_server
# -WWW`, fetch it with tls_client (verifying against the CA) and check it.
# Usage: tls_example_test.sh TLS_CLIENT. Exit 77 (skip) without openssl.
set -eu
client=$1
command -v openssl >/dev/null 2>&1 || { echo "no openssl command"; exit 77; }
dir=$(mktemp -d)
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
cd "$dir"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout ca.key -out ca.pem -days 2 -subj "/CN=corio example CA" \
    >/dev/null 2>&1
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout server.key -out server.csr -subj "/CN=localhost" >/dev/null 2>&1
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >ext.cnf
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
    -days 2 -extfile ext.cnf -out server.pem >/dev/null 2>&1
printf '<h1>hello from openssl s_server</h1>\n' >index.html

# server.out exists before the loop below reads it (set -e).
: >server.out
openssl s_server -accept 127.0.0.1:0 -cert server.pem -key server.key \
    -WWW >server.out 2>&1 &
pid=$!
port=""
for _ in $(seq 100); do
    port=$(sed -n 's/^ACCEPT 127\.0\.0\.1:\([0-9]*\)$/\1/p' server.out)
    [ -n "$port" ] && break
    sleep 0.05
done
[ -n "$port" ] || { echo "s_server did not start" >&2; cat server.out; exit 1; }

# By name (SNI and the name checked) and by address (the IP checked).
"$client" localhost "$port" /index.html ca.pem >page1.txt
"$client" 127.0.0.1 "$port" /index.html ca.pem >page2.txt
grep -q "hello from openssl s_server" page1.txt
grep -q "hello from openssl s_server" page2.txt
# Without the CA the certificate is refused.
if "$client" localhost "$port" /index.html >/dev/null 2>err.txt; then
    echo "an untrusted certificate was accepted" >&2
    exit 1
fi
grep -q "certificate verify failed" err.txt
cat page1.txt
echo "tls example ok"

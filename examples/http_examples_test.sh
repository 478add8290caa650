#!/bin/sh
# SPDX-License-Identifier: MIT
# Run the HTTP examples against curl: http_hello on one loop and on two,
# then web_app's JSON API and static files; each server must exit 0 on
# SIGTERM after closing gracefully.
# Usage: http_examples_test.sh HTTP_HELLO WEB_APP
set -eu
hello=$1
web_app=$2
command -v curl >/dev/null || { echo "curl is not installed"; exit 77; }
dir=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$dir"' EXIT

# Start a server on a free port; wait for its "listening on" line.
start() { # log, program, args...
    log=$1
    shift
    : >"$log" # exists before the loop below reads it (set -e)
    "$@" >"$log" &
    for _ in $(seq 100); do
        port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$log")
        [ -n "$port" ] && return 0
        sleep 0.05
    done
    echo "no listening line from $1" >&2
    cat "$log" >&2
    return 1
}

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

c() { curl -sS --max-time 10 "$@"; }

# ---- http_hello, one loop ----
start "$dir/hello.log" "$hello" 0
pid=$!
out=$(c "http://127.0.0.1:$port/")
[ "$out" = "Hello, World!" ] || fail "GET / said: $out"
head=$(c -i "http://127.0.0.1:$port/" | tr -d '\r')
echo "$head" | grep -q "^HTTP/1.1 200 OK$" || fail "status: $head"
echo "$head" | grep -qi "^content-type: text/plain" || fail "type: $head"
echo "$head" | grep -qi "^content-length: 13$" || fail "length: $head"
# Keep-alive: curl reuses the connection for the second URL.
n=$(c -o /dev/null -o /dev/null -w '%{num_connects}\n' \
    "http://127.0.0.1:$port/" "http://127.0.0.1:$port/" | tr '\n' ' ')
[ "$n" = "1 0 " ] || fail "connections per request: $n"
st=$(c -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/nothing")
[ "$st" = 404 ] || fail "GET /nothing: $st"
kill -TERM "$pid"
wait "$pid" || fail "http_hello exited with $?"
grep -q "^closed; 0 connection(s) cancelled" "$dir/hello.log" ||
    fail "http_hello did not close: $(cat "$dir/hello.log")"

# ---- http_hello, two loops ----
start "$dir/hello2.log" "$hello" 0 2
pid=$!
for _ in 1 2 3 4; do
    out=$(c "http://127.0.0.1:$port/")
    [ "$out" = "Hello, World!" ] || fail "two loops: $out"
done
kill -INT "$pid"
wait "$pid" || fail "http_hello (2 loops) exited with $?"
grep -q "^closed" "$dir/hello2.log" || fail "no closed line"

# ---- web_app ----
mkdir "$dir/www"
printf '<h1>items</h1>\n' >"$dir/www/index.html"
printf 'body { color: teal; }\n' >"$dir/www/app.css"
start "$dir/web.log" "$web_app" 0 "$dir/www"
pid=$!
base="http://127.0.0.1:$port"
out=$(c -X POST --data-binary apple "$base/api/items")
[ "$out" = '{"id":1,"name":"apple"}' ] || fail "POST: $out"
out=$(c -X POST --data-binary 'pear "green"' "$base/api/items")
[ "$out" = '{"id":2,"name":"pear \"green\""}' ] || fail "POST: $out"
out=$(c "$base/api/items/2")
[ "$out" = '{"id":2,"name":"pear \"green\""}' ] || fail "GET one: $out"
out=$(c "$base/api/items")
[ "$out" = '[{"id":1,"name":"apple"},{"id":2,"name":"pear \"green\""}]' ] ||
    fail "GET all: $out"
st=$(c -o /dev/null -w '%{http_code}' -X DELETE "$base/api/items/1")
[ "$st" = 204 ] || fail "DELETE: $st"
out=$(c "$base/api/items/1")
[ "$out" = '{"error":404,"reason":"Not Found"}' ] || fail "404: $out"
out=$(c -X PUT "$base/api/items")
[ "$out" = '{"error":405,"reason":"Method Not Allowed"}' ] || fail "405: $out"
out=$(c "$base/")
[ "$out" = "<h1>items</h1>" ] || fail "index: $out"
out=$(c -r 7-11 "$base/static/app.css")
[ "$out" = "color" ] || fail "range: $out"
etag=$(c -I "$base/static/app.css" | tr -d '\r' | sed -n 's/^[Ee][Tt]ag: //p')
st=$(c -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" \
    "$base/static/app.css")
[ "$st" = 304 ] || fail "conditional GET: $st"
grep -q "^POST /api/items -> 201" "$dir/web.log" || fail "no log line"
kill -TERM "$pid"
wait "$pid" || fail "web_app exited with $?"
grep -q "^closed; 0 connection(s) cancelled" "$dir/web.log" || fail "close"
echo "http examples ok"

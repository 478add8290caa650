#!/bin/sh
# SPDX-License-Identifier: MIT
# Run the crawler example against a local server only: the Python peer of
# the client tests (tests/http/client_peer.py), whose /site/ pages link to
# one another, to a 404, a redirect, a slow page and places a crawler must
# not go (another origin, mailto:).
# Usage: crawler_test.sh CRAWLER PEER_SCRIPT
set -eu
crawler=$1
peer=$2
[ -x /usr/bin/python3 ] || { echo "no /usr/bin/python3"; exit 77; }
dir=$(mktemp -d)
pid=
trap '[ -z "$pid" ] || kill "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT

: >"$dir/peer.log" # exists before the loop below reads it (set -e)
/usr/bin/python3 "$peer" >"$dir/peer.log" &
pid=$!
for _ in $(seq 100); do
    port=$(sed -n 's/^port \([0-9]*\)$/\1/p' "$dir/peer.log")
    [ -n "$port" ] && break
    sleep 0.05
done
[ -n "$port" ] || { echo "the peer did not start" >&2; exit 1; }
base="http://127.0.0.1:$port"

fail() {
    echo "FAIL: $*" >&2
    cat "$dir/out" >&2
    exit 1
}
expect() { # pattern: one line of the output matches it
    grep -q "$1" "$dir/out" || fail "no line matching: $1"
}

# The whole site: 30 pages, /missing (404), /redirect/2 (200 after two
# redirects); /sleep/2000 outlasts the 0.5 s timeout. One page failed,
# hence exit status 1.
rc=0
"$crawler" -c 4 -t 0.5 "$base/site/0" >"$dir/out" || rc=$?
[ "$rc" = 1 ] || fail "exit status $rc, not 1"
[ "$(grep -c "^200 .* $base/site/" "$dir/out")" = 30 ] || fail "site pages"
expect "^404 .* $base/missing\$"
expect "^200 .* $base/redirect/2 -> $base/redirect/0\$"
expect "^ERR Connection timed out .* $base/sleep/2000 "
expect "^crawled 32 pages, 1 failed, .* 4 workers)\$"
# Each page once, and nothing from elsewhere.
[ "$(grep -c "$base/site/0\$" "$dir/out")" = 1 ] || fail "page 0 twice"
grep -q "example.invalid" "$dir/out" && fail "left the origin"

# At most -n pages, and one worker is enough.
"$crawler" -c 1 -n 5 "$base/site/0" >"$dir/out" || fail "exit status $?"
expect "^crawled 5 pages, 0 failed, .* 1 workers)\$"

# A bad argument.
rc=0
"$crawler" ftp://example.invalid/ >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "ftp:// URL: exit status $rc"
echo "crawler example ok"

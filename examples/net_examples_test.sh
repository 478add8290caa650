#!/bin/sh
# SPDX-License-Identifier: MIT
# Run the networking examples together: echo_server with echo_client,
# then chat_server with two clients; each server must exit 0 on SIGTERM.
# Usage: net_examples_test.sh ECHO_SERVER ECHO_CLIENT CHAT_SERVER
#                             [MULTICORE_ECHO]
set -eu
echo_server=$1
echo_client=$2
chat_server=$3
multicore_echo=${4:-}
dir=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$dir"' EXIT

# Start a server on a free port; wait for its "listening on" line.
start() { # program, log
    : >"$2" # exists before the loop below reads it (set -e)
    "$1" 0 >"$2" &
    for _ in $(seq 100); do
        port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$2")
        [ -n "$port" ] && return 0
        sleep 0.05
    done
    echo "no listening line from $1" >&2
    return 1
}

wait_for() { # log, pattern
    for _ in $(seq 100); do
        grep -q "$2" "$1" && return 0
        sleep 0.05
    done
    echo "no \"$2\" in $1:" >&2
    cat "$1" >&2
    return 1
}

start "$echo_server" "$dir/echo.log"
pid=$!
out=$("$echo_client" localhost "$port" hello "second line")
[ "$out" = "hello
second line" ] || { echo "echo_client printed: $out" >&2; exit 1; }
kill -TERM "$pid"
wait "$pid"
grep -q "closed; 0 connection(s) cancelled" "$dir/echo.log"

start "$chat_server" "$dir/chat.log"
pid=$!
"$echo_client" 127.0.0.1 "$port" --listen 1 >"$dir/listener.out" &
listener=$!
wait_for "$dir/chat.log" "clients: 1"
"$echo_client" 127.0.0.1 "$port" --send "hi all"
wait "$listener"
[ "$(cat "$dir/listener.out")" = "hi all" ] ||
    { echo "the listener got: $(cat "$dir/listener.out")" >&2; exit 1; }
kill -TERM "$pid"
wait "$pid"
grep -q "^closed" "$dir/chat.log"

if [ -n "$multicore_echo" ]; then
    start "$multicore_echo" "$dir/multi.log"
    pid=$!
    for i in 1 2 3 4; do
        out=$("$echo_client" 127.0.0.1 "$port" "client $i")
        [ "$out" = "client $i" ] || { echo "multicore: $out" >&2; exit 1; }
    done
    kill -TERM "$pid"
    wait "$pid"
    grep -q "^closed; 0 connection(s) cancelled" "$dir/multi.log"
fi
echo "networking examples ok"

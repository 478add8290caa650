#!/bin/sh
# SPDX-License-Identifier: MIT
# A throwaway PostgreSQL cluster for the tests, the examples and the
# benchmarks: initdb in a temporary folder, a server on a Unix socket in that
# folder and on a free TCP port of 127.0.0.1 (with TLS, on a self-signed
# certificate), trust authentication. CTest runs `start` and `stop` as the
# fixture "pg"; a test that restarts a server makes a cluster of its own.
#
# Usage: cluster.sh start|stop|restart STATE
# STATE is a folder of the caller's where `start` writes what the clients
# need: dsn (conninfo over the Unix socket), dsn_tcp (over TCP), port, dir
# (the temporary folder, under /tmp so that the server's user can reach it).
# With CORIO_PG_DSN set, `start` and `stop` do nothing: the tests use that
# server instead. initdb and postgres refuse to run as root; as root, the
# script runs them as the user "postgres" that Debian's package creates.
set -eu

cmd=${1:-}
state=${2:-}
if [ -z "$cmd" ] || [ -z "$state" ]; then
    echo "usage: $0 start|stop|restart STATE" >&2
    exit 2
fi

bindir=""
for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$d/initdb" ]; then
        bindir=$d
        break
    fi
done

# Run a server program as a user it accepts.
as_pg() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

stop() {
    [ -f "$state/dir" ] || return 0
    dir=$(cat "$state/dir")
    if [ -n "$dir" ] && [ -d "$dir/data" ] && [ -n "$bindir" ]; then
        as_pg "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop \
            >/dev/null 2>&1 || true
    fi
    case $dir in
    /tmp/corio-pg.*) rm -rf "$dir" ;;
    esac
    rm -f "$state/dir" "$state/dsn" "$state/dsn_tcp" "$state/port"
}

start() {
    if [ -z "$bindir" ]; then
        echo "cluster.sh: no PostgreSQL server (Debian: apt-get install" \
            "postgresql; tools/deps.sh test does it)" >&2
        exit 1
    fi
    mkdir -p "$state"
    stop # a cluster left over by an interrupted run
    dir=$(mktemp -d /tmp/corio-pg.XXXXXX)
    echo "$dir" >"$state/dir"
    chmod 755 "$dir"
    if [ "$(id -u)" -eq 0 ]; then
        chown postgres "$dir"
    fi
    # -N: no fsync; the cluster lives for one test run.
    as_pg "$bindir/initdb" -D "$dir/data" -U corio --auth=trust -N \
        -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 || {
        cat "$dir/initdb.log" >&2
        exit 1
    }
    # TLS on a self-signed certificate, for the sslmode=require tests.
    if command -v openssl >/dev/null 2>&1; then
        as_pg openssl req -x509 -newkey rsa:2048 -nodes -days 2 \
            -subj /CN=localhost -keyout "$dir/data/server.key" \
            -out "$dir/data/server.crt" >/dev/null 2>&1 &&
            as_pg chmod 600 "$dir/data/server.key" &&
            echo "ssl = on" >>"$dir/data/postgresql.conf"
    fi
    # A role with a password, for the authentication tests.
    as_pg sh -c "cat >'$dir/data/pg_hba.conf'" <<HBA
local all all trust
host all corio_pw 127.0.0.1/32 scram-sha-256
host all all 127.0.0.1/32 trust
HBA
    cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 32MB
CONF
    # A free port: try random ones until the server starts on one.
    tries=0
    while :; do
        port=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 40000))
        if as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" \
            -o "-p $port" -w -t 30 start >/dev/null 2>&1; then
            break
        fi
        tries=$((tries + 1))
        if [ $tries -ge 10 ]; then
            cat "$dir/server.log" >&2 || true
            exit 1
        fi
    done
    echo "$port" >"$state/port"
    echo "host=$dir port=$port user=corio dbname=postgres" >"$state/dsn"
    echo "host=127.0.0.1 port=$port user=corio dbname=postgres" \
        >"$state/dsn_tcp"
    echo "PostgreSQL on $dir and 127.0.0.1:$port"
}

case $cmd in
start)
    [ -n "${CORIO_PG_DSN:-}" ] && { echo "using CORIO_PG_DSN"; exit 0; }
    start
    ;;
stop)
    [ -n "${CORIO_PG_DSN:-}" ] && exit 0
    stop
    ;;
restart)
    dir=$(cat "$state/dir")
    port=$(cat "$state/port")
    as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" \
        -o "-p $port" -m fast -w -t 30 restart >/dev/null
    ;;
*)
    echo "usage: $0 start|stop|restart STATE" >&2
    exit 2
    ;;
esac

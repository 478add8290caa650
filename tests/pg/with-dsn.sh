#!/bin/sh
# SPDX-License-Identifier: MIT
# Run a command with CORIO_PG_DSN naming the throwaway cluster of the CTest
# fixture "pg" (tests/pg/cluster.sh), unless CORIO_PG_DSN is set already.
# Usage: with-dsn.sh STATE command [args...]
set -eu
state=$1
shift
if [ -z "${CORIO_PG_DSN:-}" ] && [ -f "$state/dsn" ]; then
    CORIO_PG_DSN=$(cat "$state/dsn")
    export CORIO_PG_DSN
fi
exec "$@"

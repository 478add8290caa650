#!/bin/sh
# SPDX-License-Identifier: MIT
# Install corio into a temporary prefix, then build and run a program
# against it with pkg-config (shared and static) and with find_package.
# Usage: run.sh <source dir> <build dir>
set -eu
src=$1
mkdir -p "$2"
dir=$(cd "$2" && pwd)
prefix="$dir/prefix"
rm -rf "$dir"/*
cmake -S "$src" -B "$dir/corio" -DCMAKE_BUILD_TYPE=Release \
    -DCORIO_BUILD_TESTS=OFF -DCORIO_BUILD_BENCH=OFF \
    -DCORIO_BUILD_EXAMPLES=OFF -DCMAKE_INSTALL_PREFIX="$prefix" >/dev/null
cmake --build "$dir/corio" -j2 >/dev/null
cmake --install "$dir/corio" >/dev/null

libdir=$(find "$prefix" -name corio.pc -printf '%h\n' | head -1)
export PKG_CONFIG_PATH="$libdir"
cc=${CC:-cc}
# shellcheck disable=SC2046
$cc -o "$dir/pc_shared" "$src/tests/install/consumer.c" \
    $(pkg-config --cflags --libs corio)
LD_LIBRARY_PATH="$libdir/.." "$dir/pc_shared"
# shellcheck disable=SC2046
$cc -static -o "$dir/pc_static" "$src/tests/install/consumer.c" \
    $(pkg-config --static --cflags --libs corio)
"$dir/pc_static"

# corio_tls, where it was built (OpenSSL 3 found).
if [ -f "$libdir/corio_tls.pc" ]; then
    # shellcheck disable=SC2046
    $cc -o "$dir/tls_shared" "$src/tests/install/tls_consumer.c" \
        $(pkg-config --cflags --libs corio_tls)
    LD_LIBRARY_PATH="$libdir/.." "$dir/tls_shared"
    # shellcheck disable=SC2046
    $cc -static -o "$dir/tls_static" "$src/tests/install/tls_consumer.c" \
        $(pkg-config --static --cflags --libs corio_tls) 2>"$dir/tls_static.log" ||
        { cat "$dir/tls_static.log"; exit 1; }
    "$dir/tls_static"
    tls=", corio_tls too"
fi

# corio_http and corio_pg, where they were built: shared, through
# pkg-config (their static forms would need static libcurl and libpq).
for lib in http pg; do
    [ -f "$libdir/corio_$lib.pc" ] || continue
    # shellcheck disable=SC2046
    $cc -o "$dir/${lib}_shared" "$src/tests/install/${lib}_consumer.c" \
        $(pkg-config --cflags --libs "corio_$lib")
    LD_LIBRARY_PATH="$libdir/.." "$dir/${lib}_shared"
    more="${more:+$more, }corio_$lib"
done

cmake -S "$src/tests/install" -B "$dir/consumer" \
    -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$dir/consumer" >/dev/null
LD_LIBRARY_PATH="$libdir/.." "$dir/consumer/consumer_shared"
"$dir/consumer/consumer_static"
if [ -n "${tls:-}" ]; then
    LD_LIBRARY_PATH="$libdir/.." "$dir/consumer/tls_consumer_shared"
    "$dir/consumer/tls_consumer_static"
fi
echo "install test: pkg-config (shared, static) and find_package (shared, static) ok${tls:-}${more:+; pkg-config (shared) for $more}"

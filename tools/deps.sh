#!/bin/sh
# SPDX-License-Identifier: MIT
# Install the Debian packages a make target needs, if any are missing.
# Usage: tools/deps.sh run|test|bench
set -eu

run_pkgs="cmake make gcc pkg-config liburing-dev libc-ares-dev libssl-dev
  libpq-dev"
test_pkgs="$run_pkgs openssl clang libclang-rt-14-dev valgrind gdb
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user postgresql"
bench_pkgs="$run_pkgs openssl python3 python3-uvloop golang-go nodejs
  util-linux libuv1-dev postgresql python3-asyncpg fio"

case "${1:-run}" in
run) want=$run_pkgs ;;
test) want=$test_pkgs ;;
bench) want=$bench_pkgs ;;
*) echo "usage: $0 run|test|bench" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
    # nodejs may come from elsewhere than Debian: a working node will do.
    if [ "$p" = nodejs ] && command -v node >/dev/null 2>&1; then
        continue
    fi
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$status" in
    *"install ok installed"*) ;;
    *) missing="$missing $p" ;;
    esac
done
[ -z "$missing" ] && exit 0

echo "installing:$missing"
if [ "$(id -u)" -eq 0 ]; then
    sudo=""
elif command -v sudo >/dev/null 2>&1; then
    sudo="sudo"
else
    echo "these Debian packages are missing and I am not root:$missing" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing

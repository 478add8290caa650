#!/bin/sh
# SPDX-License-Identifier: MIT
# The whole test suite, as `make test` and CI run it: every build of the
# matrix, then ctest in each. Usage: tools/test-all.sh [stage...]
# Stages: gcc seeds uring clang-asan ucontext aarch64 tsan valgrind install.
# Build trees
# go to build/ci-<stage>; CORIO_JOBS sets the parallelism (default 2).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=${CORIO_JOBS:-2}
stages=${*:-gcc seeds uring clang-asan ucontext aarch64 tsan valgrind install}
failed=""

configure() { # dir, cmake args...
    dir=$1
    shift
    cmake -S "$top" -B "$dir" -DCORIO_BUILD_BENCH=ON \
        -DCORIO_BUILD_EXAMPLES=ON "$@" >"$dir.configure.log" 2>&1 ||
        { cat "$dir.configure.log"; return 1; }
    cmake --build "$dir" -j"$jobs" >"$dir.build.log" 2>&1 ||
        { tail -50 "$dir.build.log"; return 1; }
}

check() { # dir, ctest args...
    dir=$1
    shift
    ctest --test-dir "$dir" -j"$jobs" --output-on-failure "$@"
}

stage() {
    name=$1
    dir="build/ci-$name"
    mkdir -p build
    start=$(date +%s)
    echo "=== $name"
    case $name in
    gcc)
        configure "$dir" -DCMAKE_C_COMPILER=gcc \
            -DCMAKE_BUILD_TYPE=RelWithDebInfo &&
            check "$dir"
        ;;
    seeds)
        # The concurrency tests again under the deterministic test mode:
        # shuffled ready queue and virtual time, with three seeds on epoll
        # and two on io_uring (an order FIFO rarely gives found a lost
        # wake-up there). Tests of FIFO order (label order) check what
        # shuffling changes.
        dir=build/ci-gcc
        [ -f "$dir/CMakeCache.txt" ] || configure "$dir" \
            -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=RelWithDebInfo
        for run in epoll:1 epoll:2 epoll:3 io_uring:4 io_uring:5; do
            seed=${run#*:}
            backend=${run%%:*}
            echo "--- CORIO_SEED=$seed, backend $backend"
            # The HTTP client's tests are left out: libcurl keeps its own
            # clock, which virtual time cannot move.
            CORIO_BACKEND=$backend CORIO_SEED=$seed check "$dir" \
                -L "core|sync|net" -LE "order|slow|docs" \
                -E '^http[.]client' || return 1
        done
        ;;
    uring)
        # The I/O tests again on the io_uring backend, forced for every
        # loop with CORIO_BACKEND. Where the kernel has io_uring, a loop
        # that fell back to epoll fails test_net_uring's
        # environment_chooses_the_default_backend, so this stage cannot
        # pass by testing epoll twice; where it has none, it does.
        dir=build/ci-gcc
        [ -f "$dir/CMakeCache.txt" ] || configure "$dir" \
            -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=RelWithDebInfo
        CORIO_BACKEND=io_uring check "$dir" \
            -L "core|sync|net|os|pool|threads|pg|examples|bench" -LE docs
        ;;
    clang-asan)
        CC=clang configure "$dir" -DCMAKE_C_COMPILER=clang \
            -DCMAKE_BUILD_TYPE=RelWithDebInfo \
            -DCORIO_SANITIZE=address,undefined &&
            CORIO_TEST_TIMEOUT_SCALE=3 check "$dir"
        ;;
    ucontext)
        # The portable switch, to cross-check the assembly ones.
        configure "$dir" -DCMAKE_C_COMPILER=gcc -DCORIO_ARCH=generic \
            -DCMAKE_BUILD_TYPE=RelWithDebInfo &&
            check "$dir" -L core
        ;;
    aarch64)
        configure "$dir" \
            -DCMAKE_TOOLCHAIN_FILE="$top/cmake/aarch64-linux-gnu.cmake" \
            -DCMAKE_BUILD_TYPE=RelWithDebInfo &&
            CORIO_TEST_TIMEOUT_SCALE=5 check "$dir" -L core
        ;;
    tsan)
        configure "$dir" -DCMAKE_C_COMPILER=clang \
            -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCORIO_SANITIZE=thread &&
            CORIO_TEST_TIMEOUT_SCALE=3 check "$dir" -L threads
        ;;
    valgrind)
        configure "$dir" -DCMAKE_C_COMPILER=gcc \
            -DCMAKE_BUILD_TYPE=RelWithDebInfo \
            "-DCORIO_TEST_WRAPPER=valgrind;--error-exitcode=99;--leak-check=full;--errors-for-leak-kinds=definite;--quiet" &&
            CORIO_TEST_TIMEOUT_SCALE=10 check "$dir" -L core -LE slow
        ;;
    install)
        "$top/tests/install/run.sh" "$top" "$dir"
        ;;
    *)
        echo "unknown stage $name" >&2
        return 2
        ;;
    esac
}

for s in $stages; do
    t0=$(date +%s)
    if stage "$s"; then
        echo "=== $s passed in $(($(date +%s) - t0)) s"
    else
        echo "=== $s FAILED after $(($(date +%s) - t0)) s"
        failed="$failed $s"
    fi
done
if [ -n "$failed" ]; then
    echo "failed stages:$failed"
    exit 1
fi
echo "all stages passed"

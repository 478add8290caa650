#!/bin/sh
# SPDX-License-Identifier: MIT
# tools/corio-gdb.py against a live process stopped by a crash and against
# its core dump: the task list names every task with its state, what it
# waits on and where it was spawned, and a parked task's backtrace goes
# through its own frames down to the task's entry.
# Usage: test_gdb.sh <gdb_target binary> <source dir> <work dir> [asan]
# With "asan", only the live part runs: a sanitized process maps terabytes
# of shadow memory, and a core dump of it would fill the disk.
set -u
prog=$1
src=$2
work=$3
asan=${4:-}
mkdir -p "$work"
# Whatever goes wrong, no file of more than 1 GiB, gcore's core dumps
# included (ulimit counts KiB here; a healthy core is a few MiB).
ulimit -S -f 1048576 2>/dev/null || true
core="$work/core.gdb_target"
rm -f "$core" "$core".*
command -v gdb >/dev/null || { echo "no gdb"; exit 77; }

check() { # file, pattern...
    f=$1
    shift
    for pat in "$@"; do
        if ! grep -q -- "$pat" "$f"; then
            echo "missing in $f: $pat"
            cat "$f"
            exit 1
        fi
    done
}

# Live: run under gdb until the abort, then ask, then write a core dump
# with gcore. gcore cannot read a mapping that holds guard regions
# (MADV_GUARD_INSTALL), so this run puts each guard in a mapping of its
# own; the kernel's core dumps, below, have no such problem.
gcore="gcore $core"
[ -n "$asan" ] && gcore="echo no core dump under ASan"
CORIO_STACK_GUARD=mprotect gdb -nx -batch -ex "set pagination off" \
    -ex run -x "$src/tools/corio-gdb.py" \
    -ex "corio tasks" -ex "corio bt 2" -ex "corio bt 1" \
    -ex "$gcore" "$prog" >"$work/live.txt" 2>&1
if grep -q "ptrace: Operation not permitted\|Couldn't get registers" \
    "$work/live.txt"; then
    echo "gdb cannot trace processes here"
    exit 77
fi
# (gdb prints the assembly symbol corio__ctx_trampoline as corio.ctx_trampoline
# when clang assembled it, so match its tail.)
check "$work/live.txt" \
    'task 2 "napper" suspended on sleep, spawned at .*gdb_target.c' \
    'task 3 "reader" suspended on read fd' \
    'task 4 "crasher" running' \
    'task 1 "main" suspended on join task 4' \
    'in inner_sleeper' 'in sleeper' 'in corio_sleep' \
    'ctx_trampoline'

if [ -n "$asan" ]; then
    echo "gdb script: live ok (core dumps skipped under ASan)"
    exit 0
fi

# The core dump: the same, without a process.
[ -f "$core" ] || { echo "gcore wrote no core"; cat "$work/live.txt"; exit 1; }
gdb -nx -batch -x "$src/tools/corio-gdb.py" -ex "corio tasks" \
    -ex "corio bt 2" -ex "corio switch 2" -ex "frame 5" \
    -ex "corio switch off" "$prog" "$core" >"$work/core.txt" 2>&1
check "$work/core.txt" \
    'task 2 "napper" suspended on sleep' \
    'task 3 "reader" suspended on read fd' \
    'in inner_sleeper' 'ctx_trampoline' \
    '^#5 .* in inner_sleeper\|^#5 .* in sleeper\|^#5 .* in corio_sleep'

# A core dump from the kernel, with guard regions inside the stack
# mappings, where the kernel writes core files to the working directory.
pattern=$(cat /proc/sys/kernel/core_pattern 2>/dev/null)
case "$pattern" in
"|"*|"")
    echo "kernel core dumps go to a helper ($pattern): that part skipped"
    ;;
*)
    (cd "$work" && ulimit -S -c 1048576 && rm -f core core.* &&
        "$prog" >/dev/null 2>&1)
    kcore=$(ls -t "$work"/core* 2>/dev/null | grep -v gdb_target | head -1)
    if [ -n "$kcore" ]; then
        gdb -nx -batch -x "$src/tools/corio-gdb.py" -ex "corio tasks" \
            -ex "corio bt 2" "$prog" "$kcore" >"$work/kcore.txt" 2>&1
        check "$work/kcore.txt" 'task 2 "napper" suspended on sleep' \
            'in inner_sleeper' 'ctx_trampoline'
        rm -f "$kcore"
    else
        echo "no kernel core file appeared: that part skipped"
    fi
    ;;
esac
rm -f "$core"
echo "gdb script: live and core dump ok"

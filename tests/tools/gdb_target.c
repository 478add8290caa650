/* SPDX-License-Identifier: MIT */
/* The program tests/tools/test_gdb.sh debugs: tasks parked in known places
 * (a sleep two calls deep, a pipe read, a join) when another task aborts,
 * so that gdb sees a stopped process, and then its core dump. */
#include <corio.h>

#include <stdlib.h>
#include <unistd.h>

static __attribute__((noinline)) int inner_sleeper(double s)
{
    return corio_sleep(s) + 1;
}

static int sleeper(void *arg)
{
    (void)arg;
    return inner_sleeper(100);
}

static int reader(void *arg)
{
    return corio_wait_fd(*(int *)arg, CORIO_READABLE);
}

static int crasher(void *arg)
{
    (void)arg;
    corio_sleep(0.01);
    abort();
}

static int entry(void *arg)
{
    (void)arg;
    int p[2];
    if (pipe(p) < 0)
        return 1;
    corio_task_opts o = {.name = "napper"};
    corio_task *s = corio_spawn_opts(sleeper, NULL, &o);
    o.name = "reader";
    corio_task *r = corio_spawn_opts(reader, &p[0], &o);
    o.name = "crasher";
    corio_task *c = corio_spawn_opts(crasher, NULL, &o);
    corio_join(c);
    corio_join(r);
    return corio_join(s);
}

int main(void)
{
    return corio_run(entry, NULL);
}

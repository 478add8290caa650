/* SPDX-License-Identifier: MIT */
/* Futures: a loop callback completes a future that a task awaits, and a
 * done callback reports it (asyncio.Future, loop.call_later). */
#include <corio.h>

#include <stdio.h>

static int answer = 42;

static void complete(void *arg)
{
    corio_future_set_result(arg, &answer);
}

static void report(corio_future *f, void *arg)
{
    (void)arg;
    void *v;
    if (corio_future_result(f, &v) == 0)
        printf("done callback: the result is %d\n", *(int *)v);
}

static int entry(void *arg)
{
    (void)arg;
    corio_future *f = corio_future_new(NULL);
    if (!f)
        return 1;
    corio_future_add_done_callback(f, report, NULL);
    corio_loop_call_later(corio_loop_current(), 0.01, complete, f, NULL);
    void *v = NULL;
    int rc = corio_future_await(f, &v);
    printf("awaited: %d\n", rc == 0 ? *(int *)v : rc);
    corio_yield(); /* let the done callback run */
    corio_future_unref(f);
    return rc;
}

int main(void)
{
    return corio_run(entry, NULL);
}

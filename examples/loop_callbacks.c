/* SPDX-License-Identifier: MIT */
/* The low-level loop API: call_soon, call_later, call_at, cancelling a
 * handle, and call_soon_threadsafe from another thread, with
 * run_forever and stop (asyncio's loop methods of the same names). */
#include <corio.h>

#include <pthread.h>
#include <stdio.h>

static char soon[] = "call_soon", later[] = "call_later 20 ms",
            at[] = "call_at +10 ms", never_msg[] = "never printed",
            thread_msg[] = "from another thread", stopping[] = "stopping";

static void say(void *arg)
{
    printf("%.3f  %s\n", corio_time(), (const char *)arg);
}

static void stop(void *arg)
{
    say(stopping);
    corio_loop_stop(arg);
}

static void *other_thread(void *arg)
{
    corio_loop_call_soon_threadsafe(arg, say, thread_msg);
    return NULL;
}

int main(void)
{
    corio_loop *loop = corio_loop_new(NULL);
    if (!loop)
        return 1;
    corio_handle never;
    corio_loop_call_soon(loop, say, soon, NULL);
    corio_loop_call_later(loop, 0.02, say, later, NULL);
    corio_loop_call_at(loop, corio_loop_time(loop) + 0.01, say, at, NULL);
    corio_loop_call_later(loop, 0.015, say, never_msg, &never);
    corio_handle_cancel(never);
    corio_loop_call_later(loop, 0.03, stop, loop, NULL);

    pthread_t th;
    pthread_create(&th, NULL, other_thread, loop);
    corio_loop_run_forever(loop);
    pthread_join(th, NULL);
    return corio_loop_close(loop) == 0 ? 0 : 1;
}

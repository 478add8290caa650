/* SPDX-License-Identifier: MIT */
/* Blocking work off the loop (asyncio.to_thread): three tasks each hand a
 * blocking call to the thread pool, while a fourth keeps ticking, so the
 * loop never freezes. The three calls overlap: the whole run takes about
 * as long as one of them. */
#include <corio.h>

#include <stdio.h>
#include <time.h>

/* A blocking C function: it sleeps the thread, not the loop. */
static int slow_square(void *arg)
{
    int *v = arg;
    struct timespec ts = {0, 200 * 1000 * 1000};
    nanosleep(&ts, NULL);
    return *v * *v;
}

static int worker(void *arg)
{
    int r = corio_to_thread(slow_square, arg);
    printf("%.2f  square of %d = %d\n", corio_time(), *(int *)arg, r);
    return r < 0 ? r : 0;
}

static int ticker(void *arg)
{
    (void)arg;
    for (int i = 0; i < 3; i++) {
        printf("%.2f  tick (the loop is free)\n", corio_time());
        if (corio_sleep(0.05) < 0)
            return -1;
    }
    return 0;
}

static int main_task(void *arg)
{
    (void)arg;
    static int vals[3] = {3, 4, 5};
    double t0 = corio_time();
    corio_call calls[4] = {{worker, &vals[0], 0},
                           {worker, &vals[1], 0},
                           {worker, &vals[2], 0},
                           {ticker, NULL, 0}};
    int rc = corio_gather(calls, 4, 0);
    double took = corio_time() - t0;
    printf("three 200 ms calls took %.2f s together\n", took);
    return rc < 0 || took > 0.5 ? 1 : 0;
}

int main(void)
{
    return corio_run(main_task, NULL) == 0 ? 0 : 1;
}

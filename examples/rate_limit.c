/* SPDX-License-Identifier: MIT */
/* A semaphore bounds how many tasks do something at once (asyncio's
 * classic "at most N concurrent requests"): 20 jobs, 4 at a time. */
#include <corio.h>

#include <stdio.h>

static corio_sem slots;
static int running, peak;

static int job(void *arg)
{
    (void)arg;
    int rc = corio_sem_acquire(&slots);
    if (rc < 0)
        return rc;
    if (++running > peak)
        peak = running;
    rc = corio_sleep(0.01); /* a request */
    running--;
    corio_sem_release(&slots);
    return rc;
}

static int entry(void *arg)
{
    (void)arg;
    corio_sem_init(&slots, 4, true);
    double t0 = corio_time();
    corio_group *g = corio_group_open();
    for (int i = 0; i < 20; i++)
        corio_group_spawn(g, job, NULL, NULL, NULL);
    int rc = corio_group_close(g);
    printf("20 jobs of 10 ms, at most %d at once: %.0f ms\n", peak,
           (corio_time() - t0) * 1000);
    return rc == 0 && peak == 4 ? 0 : 1;
}

int main(void)
{
    return corio_run(entry, NULL);
}

/* SPDX-License-Identifier: MIT */
/* asyncio.wait, wait_for and as_completed: wait for the first of several
 * tasks, put a time limit on one, and take results as they finish. */
#include <corio.h>

#include <errno.h>
#include <stdio.h>

static int nap(void *arg)
{
    double s = *(double *)arg;
    int rc = corio_sleep(s);
    return rc < 0 ? rc : (int)(s * 1000);
}

static int entry(void *arg)
{
    (void)arg;
    double d[3] = {0.03, 0.01, 0.02};
    corio_task *t[3];
    for (int i = 0; i < 3; i++)
        t[i] = corio_spawn(nap, &d[i]);

    int done = corio_wait(t, 3, CORIO_FIRST_COMPLETED, -1);
    printf("wait(FIRST_COMPLETED): %d done\n", done);

    corio_as_completed *ac = corio_as_completed_new(t, 3, 1.0);
    int i;
    while ((i = corio_as_completed_next(ac)) >= 0) {
        int r;
        corio_task_result(t[i], &r);
        printf("as_completed: task %d returned %d\n", i, r);
    }
    corio_as_completed_free(ac);
    for (i = 0; i < 3; i++)
        corio_task_unref(t[i]);

    double slow = 10;
    int rc = corio_wait_for(corio_spawn(nap, &slow), 0.01);
    printf("wait_for a 10 s nap with 10 ms: %s\n",
           rc == -ETIMEDOUT ? "timed out" : "finished");
    return rc == -ETIMEDOUT ? 0 : 1;
}

int main(void)
{
    return corio_run(entry, NULL);
}

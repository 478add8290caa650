/* SPDX-License-Identifier: MIT */
/* Tasks: spawn with a name, join, cancel a task that sleeps, list the
 * running tasks (asyncio.create_task, Task.cancel, asyncio.all_tasks). */
#include <corio.h>

#include <errno.h>
#include <stdio.h>

static int worker(void *arg)
{
    double seconds = *(double *)arg;
    int rc = corio_sleep(seconds);
    if (rc == -ECANCELED) {
        printf("  %s: cancelled, cleaning up\n",
               corio_task_name(corio_current()));
        return rc; /* pass the cancellation on */
    }
    return (int)(seconds * 1000);
}

static int entry(void *arg)
{
    (void)arg;
    double quick = 0.01, slow = 60;
    corio_task_opts opts = {.name = "quick"};
    corio_task *a = corio_spawn_opts(worker, &quick, &opts);
    opts.name = "slow";
    corio_task *b = corio_spawn_opts(worker, &slow, &opts);
    if (!a || !b)
        return 1;

    corio_task *all[8];
    size_t n = corio_all_tasks(all, 8);
    printf("%zu tasks running:", n);
    for (size_t i = 0; i < n && i < 8; i++) {
        printf(" %s", corio_task_name(all[i]));
        corio_task_unref(all[i]);
    }
    printf("\n");

    printf("quick returned %d\n", corio_join(a));
    corio_cancel(b);
    int rc = corio_join(b);
    printf("slow returned %d (-ECANCELED is %d)\n", rc, -ECANCELED);
    return rc == -ECANCELED ? 0 : 1;
}

int main(void)
{
    return corio_run(entry, NULL);
}

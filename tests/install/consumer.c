/* SPDX-License-Identifier: MIT */
/* A program outside the tree, built against an installed corio: it must
 * compile from the installed headers alone and run. */
#include <corio.h>
#include <stdio.h>

static int child(void *arg)
{
    int rc = corio_sleep(0.001);
    return rc < 0 ? rc : *(int *)arg * 2;
}

static int entry(void *arg)
{
    (void)arg;
    int x = 21;
    corio_task *t = corio_spawn(child, &x);
    return t ? corio_join(t) : -1;
}

int main(void)
{
    int rc = corio_run(entry, NULL);
    printf("corio %s: %d\n", corio_version_string(), rc);
    return rc == 42 ? 0 : 1;
}

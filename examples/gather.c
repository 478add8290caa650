/* SPDX-License-Identifier: MIT */
/* asyncio.gather in C: run calls concurrently and collect their results in
 * order, first failing fast, then with return_exceptions. */
#include <corio.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

struct fetch {
    const char *name;
    double delay;
    int fail; /* a negative errno to fail with, or 0 */
};

static int fetch(void *arg)
{
    struct fetch *f = arg;
    int rc = corio_sleep(f->delay);
    if (rc < 0)
        return rc;
    return f->fail ? f->fail : (int)strlen(f->name);
}

static int entry(void *arg)
{
    (void)arg;
    struct fetch f[3] = {{"alpha", 0.03, 0}, {"be", 0.01, 0},
                         {"gamma", 0.02, -ECONNREFUSED}};
    corio_call calls[3];
    for (int i = 0; i < 3; i++)
        calls[i] = (corio_call){fetch, &f[i], 0};

    /* Default: the first failure comes back as soon as it happens. */
    int rc = corio_gather(calls, 3, 0);
    printf("gather: %s\n", rc < 0 ? strerror(-rc) : "ok");

    /* return_exceptions=True: wait for all, failures become results. */
    rc = corio_gather(calls, 3, CORIO_RETURN_EXCEPTIONS);
    for (int i = 0; i < 3; i++)
        printf("  %s -> %d%s\n", f[i].name, calls[i].result,
               calls[i].result < 0 ? " (an error)" : "");
    return rc;
}

int main(void)
{
    return corio_run(entry, NULL);
}

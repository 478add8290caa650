/* SPDX-License-Identifier: MIT */
/* The classic asyncio lesson, in C. visit_url() stands for a network
 * request: it "takes" response_time seconds. Awaited one after the other,
 * requests of 2 s and 3 s take 5 s; run concurrently with corio_gather or
 * corio_spawn + corio_join, they take 3 s.
 *
 *   async def visit_url(url, response_time):
 *       await asyncio.sleep(response_time)
 *       return f"visited {url}"
 */
#include <corio.h>

#include <stdio.h>
#include <string.h>

struct visit {
    const char *url;
    double response_time;
    char result[64];
};

static int visit_url(void *arg)
{
    struct visit *v = arg;
    int rc = corio_sleep(v->response_time);
    if (rc < 0)
        return rc;
    snprintf(v->result, sizeof v->result, "visited %s", v->url);
    return 0;
}

static void report(const char *how, struct visit *v, size_t n, double start)
{
    for (size_t i = 0; i < n; i++)
        printf("  %s\n", v[i].result);
    printf("%s: %.2f s\n\n", how, corio_time() - start);
}

static int demo(void *arg)
{
    (void)arg;
    struct visit v[2] = {{"https://example.com/a", 2.0, ""},
                         {"https://example.com/b", 3.0, ""}};

    /* 1. Await one after the other: 2 s + 3 s. */
    double start = corio_time();
    for (int i = 0; i < 2; i++)
        if (visit_url(&v[i]) < 0)
            return 1;
    report("awaited in turn (asyncio: await a; await b)", v, 2, start);

    /* 2. asyncio.gather(visit_url(a), visit_url(b)): max(2 s, 3 s). */
    memset(v[0].result, 0, sizeof v[0].result);
    memset(v[1].result, 0, sizeof v[1].result);
    corio_call calls[2] = {{visit_url, &v[0], 0}, {visit_url, &v[1], 0}};
    start = corio_time();
    if (corio_gather(calls, 2, 0) < 0)
        return 1;
    report("corio_gather (asyncio.gather)", v, 2, start);

    /* 3. asyncio.create_task for each, then await each task. */
    memset(v[0].result, 0, sizeof v[0].result);
    memset(v[1].result, 0, sizeof v[1].result);
    start = corio_time();
    corio_task *a = corio_spawn(visit_url, &v[0]);
    corio_task *b = corio_spawn(visit_url, &v[1]);
    if (!a || !b)
        return 1;
    int ra = corio_join(a);
    int rb = corio_join(b);
    if (ra < 0 || rb < 0)
        return 1;
    report("corio_spawn + corio_join (asyncio.create_task)", v, 2, start);
    return 0;
}

int main(void)
{
    int rc = corio_run(demo, NULL);
    if (rc != 0)
        fprintf(stderr, "seed_demo: failed (%d)\n", rc);
    return rc != 0;
}

/* SPDX-License-Identifier: MIT */
/* Producers and consumers around a bounded queue (asyncio.Queue): put waits
 * while the queue is full, task_done + join tell when all work is done, and
 * shutdown ends the consumers. */
#include <corio.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>

static corio_queue *queue;
static long processed;

static int producer(void *arg)
{
    intptr_t id = (intptr_t)arg;
    for (intptr_t i = 0; i < 5; i++) {
        int rc = corio_queue_put(queue, (void *)(id * 100 + i));
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int consumer(void *arg)
{
    (void)arg;
    for (;;) {
        void *item;
        int rc = corio_queue_get(queue, &item);
        if (rc == -ESHUTDOWN)
            return 0; /* no more work will come */
        if (rc < 0)
            return rc;
        corio_sleep(0.001); /* the "work" */
        processed++;
        corio_queue_task_done(queue);
    }
}

static int entry(void *arg)
{
    (void)arg;
    corio_queue_opts opts = {.kind = CORIO_QUEUE_FIFO, .maxsize = 4};
    queue = corio_queue_new(&opts);
    if (!queue)
        return 1;
    corio_group *g = corio_group_open();
    for (intptr_t i = 0; i < 3; i++)
        corio_group_spawn(g, consumer, NULL, NULL, NULL);
    corio_task *producers[4];
    for (intptr_t i = 0; i < 4; i++)
        producers[i] = corio_spawn(producer, (void *)(i + 1));
    corio_gather_tasks(producers, 4, NULL, 0); /* all items are put */
    corio_queue_join(queue);                   /* and all processed */
    printf("processed %ld items\n", processed);
    corio_queue_shutdown(queue, false);
    int rc = corio_group_close(g);
    corio_queue_close(queue);
    return rc == 0 && processed == 20 ? 0 : 1;
}

int main(void)
{
    return corio_run(entry, NULL);
}

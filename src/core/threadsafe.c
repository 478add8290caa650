/* SPDX-License-Identifier: MIT */
/* call_soon_threadsafe: other threads hand callbacks to a loop through a
 * mutex-protected list and wake it with its eventfd. Only the first item
 * of a batch writes the eventfd, so a burst of calls costs one wake-up. */
#include "core/core.h"

#include <stdint.h>
#include <unistd.h>

int corio_loop_call_soon_threadsafe(corio_loop *loop, corio_callback_fn fn,
                                    void *arg)
{
    if (!loop || !fn)
        return -EINVAL;
    struct corio__tsq_item *it = corio__malloc(sizeof *it);
    if (!it)
        return -ENOMEM;
    it->next = NULL;
    it->fn = fn;
    it->arg = arg;

    pthread_mutex_lock(&loop->tsq_lock);
    bool first = loop->tsq_head == NULL;
    *loop->tsq_tail = it;
    loop->tsq_tail = &it->next;
    /* Release: a loop that sees the flag sees the item (it also takes the
     * lock before reading the list). */
    atomic_store_explicit(&loop->tsq_pending, true, memory_order_release);
    pthread_mutex_unlock(&loop->tsq_lock);

    if (first) {
        uint64_t one = 1;
        ssize_t n = write(loop->wake_fd, &one, sizeof one);
        (void)n; /* EAGAIN: the counter is saturated, so it is readable */
    }
    return 0;
}

/* Run the callbacks other threads queued, in the loop's thread. */
void corio__tsq_drain(corio_loop *loop)
{
    if (!atomic_load_explicit(&loop->tsq_pending, memory_order_acquire))
        return;
    pthread_mutex_lock(&loop->tsq_lock);
    struct corio__tsq_item *it = loop->tsq_head;
    loop->tsq_head = NULL;
    loop->tsq_tail = &loop->tsq_head;
    atomic_store_explicit(&loop->tsq_pending, false, memory_order_relaxed);
    pthread_mutex_unlock(&loop->tsq_lock);
    while (it) {
        struct corio__tsq_item *next = it->next;
        corio_callback_fn fn = it->fn;
        void *arg = it->arg;
        corio__free(it);
        fn(arg);
        it = next;
    }
}

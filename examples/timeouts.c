/* SPDX-License-Identifier: MIT */
/* Deadlines with cancel scopes: asyncio.timeout / trio.move_on_after, a
 * deadline moved while open, and a shield that lets cleanup finish. */
#include <corio.h>

#include <errno.h>
#include <stdio.h>

static int slow_operation(void *arg)
{
    (void)arg;
    return corio_sleep(10);
}

static int entry(void *arg)
{
    (void)arg;
    corio_scope s;

    /* async with asyncio.timeout(0.05): await slow_operation() */
    corio_scope_enter(&s, 0.05);
    int rc = slow_operation(NULL);
    int ex = corio_scope_exit(&s);
    printf("slow operation: %s; scope %s\n",
           rc == -ETIMEDOUT ? "timed out" : "finished",
           ex == -ETIMEDOUT ? "expired" : "did not expire");

    /* Extend a deadline while inside (Timeout.reschedule). */
    corio_scope_enter(&s, 0.01);
    corio_scope_set_timeout(&s, 0.5);
    rc = corio_sleep(0.02);
    corio_scope_exit(&s);
    printf("after moving the deadline: sleep returned %d\n", rc);

    /* Cleanup that must finish even when the deadline has passed. */
    corio_scope_enter(&s, 0.01);
    corio_sleep(1); /* times out */
    corio_scope cleanup;
    corio_scope_enter(&cleanup, 1.0);
    corio_scope_shield(&cleanup, true);
    rc = corio_sleep(0.02); /* runs: the expired scope does not reach in */
    corio_scope_exit(&cleanup);
    corio_scope_exit(&s);
    printf("shielded cleanup: %s\n", rc == 0 ? "completed" : "interrupted");
    return 0;
}

int main(void)
{
    return corio_run(entry, NULL);
}

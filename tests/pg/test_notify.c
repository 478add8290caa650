/* SPDX-License-Identifier: MIT */
/* LISTEN / NOTIFY: a waiting task receives notifications, in order, also
 * while another task runs queries on the same connection; waits are
 * cancellation points. */
#include "pg_helpers.h"

static corio_pg *listener;

static int waiter(void *arg)
{
    int want = *(int *)arg;
    for (int i = 0; i < want; i++) {
        corio_pg_notification *n = corio_pg_notification_wait(listener);
        if (!n)
            return -errno;
        char expect[16];
        snprintf(expect, sizeof expect, "msg %d", i);
        ASSERT_STR_EQ(n->channel, "Chan One");
        ASSERT_STR_EQ(n->payload, expect);
        ASSERT_GT(n->pid, 0);
        corio_pg_notification_free(n);
    }
    return want;
}

static int deliver(void *arg)
{
    (void)arg;
    listener = pg_open();
    corio_pg *sender = pg_open();
    ASSERT_OK(corio_pg_listen(listener, "Chan One"));
    int want = 20;
    corio_task *t = corio_spawn(waiter, &want);
    ASSERT_OK(corio_sleep(0.02));
    for (int i = 0; i < want; i++) {
        char payload[16];
        snprintf(payload, sizeof payload, "msg %d", i);
        ASSERT_OK(corio_pg_notify(sender, "Chan One", payload));
        /* Queries on the listening connection while the waiter waits. */
        if (i % 5 == 0) {
            char buf[8];
            ASSERT_STR_EQ(pg_scalar(listener, "SELECT 5", buf, sizeof buf),
                          "5");
        }
    }
    corio_scope s;
    corio_scope_enter(&s, 5.0);
    ASSERT_EQ(corio_join(t), want);
    ASSERT_OK(corio_scope_exit(&s));
    /* Other channels do not arrive; a wait times out. */
    ASSERT_OK(corio_pg_notify(sender, "other", NULL));
    corio_scope_enter(&s, 0.1);
    ASSERT_NULL(corio_pg_notification_wait(listener));
    ASSERT_EQ(errno, ETIMEDOUT);
    corio_scope_exit(&s);
    ASSERT_OK(corio_pg_unlisten(listener, NULL));
    ASSERT_OK(corio_pg_notify(sender, "Chan One", "late"));
    corio_scope_enter(&s, 0.1);
    ASSERT_NULL(corio_pg_notification_wait(listener));
    ASSERT_EQ(errno, ETIMEDOUT);
    corio_scope_exit(&s);
    ASSERT_ERR(corio_pg_notify(sender, NULL, "x"), -EINVAL);
    corio_pg_close(sender);
    corio_pg_close(listener);
    return 0;
}

TEST(notify_is_delivered_to_a_waiting_task)
{
    RUN(deliver);
}

static int wait_once(void *arg)
{
    (void)arg;
    corio_pg_notification *n = corio_pg_notification_wait(listener);
    if (!n)
        return -errno;
    corio_pg_notification_free(n);
    return 0;
}

static int cancel_and_close(void *arg)
{
    (void)arg;
    listener = pg_open();
    ASSERT_OK(corio_pg_listen(listener, "c"));
    corio_task *t = corio_spawn(wait_once, NULL);
    ASSERT_OK(corio_sleep(0.02));
    corio_cancel(t);
    ASSERT_ERR(corio_join(t), -ECANCELED);
    /* The connection still works; close wakes a waiter with EBADF. */
    char buf[8];
    ASSERT_STR_EQ(pg_scalar(listener, "SELECT 1", buf, sizeof buf), "1");
    t = corio_spawn(wait_once, NULL);
    ASSERT_OK(corio_sleep(0.02));
    corio_pg_close(listener);
    ASSERT_ERR(corio_join(t), -EBADF);
    return 0;
}

TEST(a_notification_wait_is_cancellable_and_closing_ends_it)
{
    RUN(cancel_and_close);
}

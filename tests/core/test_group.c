/* SPDX-License-Identifier: MIT */
/* Task groups, rule by rule: wait for every child; the first failure
 * cancels the siblings and the owner's body; every failure is reported;
 * cancelling the owner cancels the children; children spawn into the same
 * group; a closing group refuses new children; a child cancelled by its
 * group is not a failure. */
#include "harness.h"

#include <corio.h>

#define RUN(fn) ASSERT_OK(corio_run(fn, NULL))

struct child {
    double delay;
    int result;
    int cancelled;
    int finished;
    int fail_anyway; /* fails even when cancelled (in its cleanup) */
    int started;
};

static int child(void *arg)
{
    struct child *c = arg;
    c->started = 1;
    int rc = corio_sleep(c->delay);
    c->finished = 1;
    if (rc == -ECANCELED) {
        c->cancelled = 1;
        return c->fail_anyway ? c->result : rc;
    }
    return c->result;
}

static int waits_for_all(void *arg)
{
    (void)arg;
    struct child c[5];
    corio_group *g = corio_group_open();
    ASSERT_NOT_NULL(g);
    for (int i = 0; i < 5; i++) {
        c[i] = (struct child){0.001 * (i + 1), i, 0, 0, 0, 0};
        ASSERT_OK(corio_group_spawn(g, child, &c[i], NULL, NULL));
    }
    ASSERT_OK(corio_group_wait(g));
    for (int i = 0; i < 5; i++)
        ASSERT_EQ(c[i].finished, 1);
    ASSERT_OK(corio_group_wait(g)); /* again: same result */
    ASSERT_EQ(corio_group_errors(g, NULL, 0), 0);
    ASSERT_OK(corio_group_close(g));
    return 0;
}

TEST(a_group_waits_for_every_child)
{
    RUN(waits_for_all);
}

static int first_failure(void *arg)
{
    (void)arg;
    struct child ok = {10, 0, 0, 0, 0, 0}, bad = {0.001, -EIO, 0, 0, 0, 0},
                 bad2 = {10, -ENOENT, 0, 0, 1, 0};
    corio_group *g = corio_group_open();
    corio_task *t_bad;
    ASSERT_OK(corio_group_spawn(g, child, &ok, NULL, NULL));
    ASSERT_OK(corio_group_spawn(g, child, &bad, NULL, &t_bad));
    ASSERT_OK(corio_group_spawn(g, child, &bad2, NULL, NULL));
    /* The owner's body is cancelled by the failure. */
    ASSERT_ERR(corio_sleep(10), -ECANCELED);
    double t0 = corio_time();
    ASSERT_ERR(corio_group_wait(g), -EIO);
    ASSERT_LT(corio_time() - t0, 1.0);
    ASSERT_EQ(ok.cancelled, 1); /* sibling cancelled, not a failure */
    corio_group_error e[4];
    size_t n = corio_group_errors(g, e, 4);
    ASSERT_EQ(n, 2); /* both failures reported, in order */
    ASSERT_PTR_EQ(e[0].task, t_bad);
    ASSERT_ERR(e[0].error, -EIO);
    ASSERT_ERR(e[1].error, -ENOENT);
    /* Closing: no more children. */
    ASSERT_ERR(corio_group_spawn(g, child, &ok, NULL, NULL), -ESHUTDOWN);
    ASSERT_ERR(corio_group_close(g), -EIO);
    corio_task_unref(t_bad);
    return 0;
}

TEST(the_first_failure_cancels_siblings_and_the_body)
{
    RUN(first_failure);
}

static struct child cs[3];
static corio_group *pg;

static int owner(void *arg)
{
    (void)arg;
    pg = corio_group_open();
    for (int i = 0; i < 3; i++) {
        cs[i] = (struct child){10, 0, 0, 0, 0, 0};
        corio_group_spawn(pg, child, &cs[i], NULL, NULL);
    }
    int body = corio_sleep(10); /* cancelled from outside */
    int rc = corio_group_close(pg);
    return body == -ECANCELED ? rc : -1000;
}

static int cancel_owner(void *arg)
{
    (void)arg;
    corio_task *o = corio_spawn(owner, NULL);
    ASSERT_OK(corio_sleep(0.002));
    corio_cancel(o);
    ASSERT_ERR(corio_join(o), -ECANCELED);
    for (int i = 0; i < 3; i++)
        ASSERT_EQ(cs[i].cancelled, 1);
    return 0;
}

TEST(cancelling_the_owner_in_the_body_cancels_the_children)
{
    RUN(cancel_owner);
}

static int owner_waiting(void *arg)
{
    (void)arg;
    pg = corio_group_open();
    for (int i = 0; i < 3; i++) {
        cs[i] = (struct child){10, 0, 0, 0, 0, 0};
        corio_group_spawn(pg, child, &cs[i], NULL, NULL);
    }
    return corio_group_close(pg); /* cancelled while waiting */
}

static int cancel_waiting_owner(void *arg)
{
    (void)arg;
    corio_task *o = corio_spawn(owner_waiting, NULL);
    ASSERT_OK(corio_sleep(0.002));
    corio_cancel(o);
    ASSERT_ERR(corio_join(o), -ECANCELED);
    for (int i = 0; i < 3; i++) {
        ASSERT_EQ(cs[i].cancelled, 1);
        ASSERT_EQ(cs[i].finished, 1); /* waited for: none outlives it */
    }
    return 0;
}

TEST(cancelling_the_owner_while_it_waits_cancels_the_children)
{
    RUN(cancel_waiting_owner);
}

static int spawner_count;

static int spawns_more(void *arg)
{
    corio_group *g = arg;
    if (++spawner_count < 10)
        return corio_group_spawn(g, spawns_more, g, NULL, NULL);
    return 0;
}

static int nested_spawns(void *arg)
{
    (void)arg;
    spawner_count = 0;
    corio_group *g = corio_group_open();
    ASSERT_OK(corio_group_spawn(g, spawns_more, g, NULL, NULL));
    ASSERT_OK(corio_group_close(g));
    ASSERT_EQ(spawner_count, 10);
    return 0;
}

TEST(children_spawn_into_the_same_group)
{
    RUN(nested_spawns);
}

static int explicit_cancel(void *arg)
{
    (void)arg;
    struct child c = {10, 0, 0, 0, 0, 0};
    corio_group *g = corio_group_open();
    ASSERT_OK(corio_group_spawn(g, child, &c, NULL, NULL));
    ASSERT_OK(corio_yield()); /* the child starts */
    corio_group_cancel(g);
    ASSERT_ERR(corio_yield(), -ECANCELED); /* the body is cancelled */
    /* Cancelled children are not failures: wait returns 0. */
    ASSERT_OK(corio_group_close(g));
    ASSERT_EQ(c.cancelled, 1);
    return 0;
}

TEST_OPTS(cancelling_the_group_is_not_a_failure, .labels = "order")
{
    RUN(explicit_cancel);
}

static int timeout_group(void *arg)
{
    (void)arg;
    struct child c = {10, 0, 0, 0, 0, 0};
    corio_scope s;
    ASSERT_OK(corio_scope_enter(&s, -1));
    corio_group *g = corio_group_open();
    ASSERT_OK(corio_group_spawn(g, child, &c, NULL, NULL));
    /* The deadline starts once the child runs: under Valgrind a spawn can
     * take longer than the deadline, and a child cancelled before it
     * starts never runs (corio_join's rule), so it could not count. */
    while (!c.started)
        ASSERT_OK(corio_yield());
    ASSERT_OK(corio_scope_set_timeout(&s, 0.003));
    ASSERT_ERR(corio_group_close(g), -ETIMEDOUT);
    ASSERT_ERR(corio_scope_exit(&s), -ETIMEDOUT);
    ASSERT_EQ(c.cancelled, 1);
    return 0;
}

TEST(an_outer_deadline_cancels_the_group)
{
    RUN(timeout_group);
}

static corio_group *shared;

static int not_owner(void *arg)
{
    (void)arg;
    ASSERT_ERR(corio_group_wait(shared), -EPERM);
    ASSERT_ERR(corio_group_close(shared), -EPERM);
    return 0;
}

static int misuse(void *arg)
{
    (void)arg;
    shared = corio_group_open();
    corio_task *t = corio_spawn(not_owner, NULL);
    ASSERT_OK(corio_join(t));
    corio_scope s;
    ASSERT_OK(corio_scope_enter(&s, 1));
    ASSERT_ERR(corio_group_wait(shared), -EINVAL); /* inner scope open */
    ASSERT_OK(corio_scope_exit(&s));
    ASSERT_ERR(corio_group_spawn(NULL, child, NULL, NULL, NULL), -EINVAL);
    ASSERT_ERR(corio_group_spawn(shared, NULL, NULL, NULL, NULL), -EINVAL);
    ASSERT_OK(corio_group_close(shared));
    ASSERT_OK(corio_group_close(NULL));
    return 0;
}

TEST(group_misuse)
{
    RUN(misuse);
    errno = 0;
    ASSERT_NULL(corio_group_open());
    ASSERT_EQ(errno, EPERM);
}

static int many_groups(void *arg)
{
    (void)arg;
    for (int k = 0; k < 100; k++) {
        corio_group *g = corio_group_open();
        struct child c[10];
        for (int i = 0; i < 10; i++) {
            c[i] = (struct child){0, i, 0, 0, 0, 0};
            ASSERT_OK(corio_group_spawn(g, child, &c[i], NULL, NULL));
        }
        ASSERT_OK(corio_group_close(g));
    }
    return 0;
}

TEST(many_groups_in_a_row)
{
    RUN(many_groups);
}

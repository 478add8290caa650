/* SPDX-License-Identifier: MIT */
/* Cancel scopes: deadlines and cancellation that cover every suspension a
 * task makes while the scope is open (trio's CancelScope, asyncio.timeout).
 *
 * A scope lives in caller storage and links to the task's next outer
 * scope. The task caches the earliest deadline that applies to it (up to
 * the innermost shield) in t->deadline, which corio__park arms as a timer;
 * the check of which scope expired happens at suspension points, so a
 * scope costs nothing while its task runs. Cancellation by a scope is
 * level-triggered, as in trio: every suspension inside an expired or
 * cancelled scope fails until the scope closes. */
#include "core/core.h"

#include <assert.h>
#include <math.h>
#include <string.h>

static_assert(sizeof(struct corio__scope) <= sizeof(corio_scope),
              "corio_scope too small");

static inline struct corio__scope *in(corio_scope *s)
{
    return (struct corio__scope *)(void *)s;
}

static inline const struct corio__scope *cin(const corio_scope *s)
{
    return (const struct corio__scope *)(const void *)s;
}

static int enter(corio_scope *s, int64_t deadline)
{
    corio_loop *loop;
    corio_task *t = corio__self(&loop);
    if (!s)
        return -EINVAL;
    if (!t)
        return -EPERM;
    struct corio__scope *sc = in(s);
    memset(s, 0, sizeof *s);
    sc->parent = t->scope;
    sc->task = t;
    sc->deadline = deadline;
    sc->open = true;
    t->scope = sc;
    if (deadline < t->deadline)
        t->deadline = deadline;
    return 0;
}

int corio_scope_enter(corio_scope *s, double timeout)
{
    if (timeout != timeout)
        return -EINVAL;
    int64_t d = timeout < 0 ? CORIO__NEVER
                            : corio__add_ns(corio__loop_clock(corio__tls_loop),
                                            corio__sec_to_ns(timeout));
    return enter(s, d);
}

int corio_scope_enter_at(corio_scope *s, double deadline)
{
    if (deadline != deadline)
        return -EINVAL;
    return enter(s, corio__time_to_ns(deadline));
}

int corio_scope_exit(corio_scope *s)
{
    if (!s)
        return -EINVAL;
    struct corio__scope *sc = in(s);
    corio_task *t = sc->task;
    if (!sc->open || !t || t->scope != sc)
        return -EINVAL;
    sc->open = false;
    t->scope = sc->parent;
    corio__task_deadline_changed(t);
    if (sc->expired)
        return -ETIMEDOUT;
    if (sc->cancelled)
        return -ECANCELED;
    return 0;
}

/* Whether scope sc reaches its task's current suspension: no shield
 * between the innermost scope and sc. */
static bool reaches(const struct corio__scope *sc)
{
    for (const struct corio__scope *s = sc->task->scope; s; s = s->parent) {
        if (s == sc)
            return true;
        if (s->shield)
            return false;
    }
    return false;
}

void corio_scope_cancel(corio_scope *s)
{
    if (!s)
        return;
    struct corio__scope *sc = in(s);
    if (!sc->open || sc->cancelled)
        return;
    sc->cancelled = true;
    corio_task *t = sc->task;
    corio__task_deadline_changed(t);
    if (t->state == CORIO__TASK_PARKED && !t->nocancel && reaches(sc))
        corio__wake(t, CORIO__WAKE_SCOPE);
}

int corio_scope_set_deadline(corio_scope *s, double deadline)
{
    if (!s || deadline != deadline || !in(s)->open)
        return -EINVAL;
    struct corio__scope *sc = in(s);
    sc->deadline = corio__time_to_ns(deadline);
    corio__task_deadline_changed(sc->task);
    return 0;
}

int corio_scope_set_timeout(corio_scope *s, double timeout)
{
    if (timeout != timeout)
        return -EINVAL;
    if (timeout < 0)
        return corio_scope_set_deadline(s, INFINITY);
    if (!s || !in(s)->open)
        return -EINVAL;
    struct corio__scope *sc = in(s);
    sc->deadline =
        corio__add_ns(corio__loop_clock(sc->task->loop),
                      corio__sec_to_ns(timeout));
    corio__task_deadline_changed(sc->task);
    return 0;
}

double corio_scope_deadline(const corio_scope *s)
{
    if (!s || cin(s)->deadline == CORIO__NEVER)
        return INFINITY;
    return (double)cin(s)->deadline / 1e9;
}

int corio_scope_shield(corio_scope *s, bool shield)
{
    if (!s || !in(s)->open)
        return -EINVAL;
    struct corio__scope *sc = in(s);
    if (sc->shield == shield)
        return 0;
    sc->shield = shield;
    corio_task *t = sc->task;
    corio__task_deadline_changed(t);
    /* Lowering a shield may expose a cancellation held outside it. */
    if (!shield && t->state == CORIO__TASK_PARKED && !t->nocancel)
        corio__wake(t, CORIO__WAKE_SCOPE);
    return 0;
}

bool corio_scope_expired(const corio_scope *s)
{
    return s && cin(s)->expired;
}

bool corio_scope_cancelled(const corio_scope *s)
{
    return s && cin(s)->cancelled;
}

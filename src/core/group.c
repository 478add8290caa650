/* SPDX-License-Identifier: MIT */
/* Task groups (asyncio.TaskGroup, trio nurseries). The group keeps a
 * reference to each live child and hooks the child's end (finish() in
 * task.c calls corio__group_child_done), so children cost no allocation
 * beyond the task itself. The owner's body runs inside a cancel scope of
 * the group's, which a failing child cancels; corio_group_wait closes
 * that scope and waits for the children. */
#include "core/core.h"

#include "corio/group.h"

struct corio_group {
    corio_loop *loop;
    corio_task *owner;
    struct corio__scope scope;   /* the owner's body, until wait */
    struct corio__list children; /* live children, via task->group_link */
    size_t alive;
    size_t spawned;              /* children ever spawned */
    corio_group_error *errs;     /* failed children, each referenced */
    size_t nerr;
    size_t cap_err;              /* >= spawned: recording never fails */
    bool aborting;               /* children are being cancelled */
    bool waiting;                /* the owner is parked in wait */
    bool waited;
    int rc;                      /* wait's result once waited */
};

corio_group *corio_group_open(void)
{
    corio_loop *loop;
    corio_task *self = corio__self(&loop);
    if (!self) {
        errno = EPERM;
        return NULL;
    }
    corio_group *g = corio__calloc(1, sizeof *g);
    if (!g) {
        errno = ENOMEM;
        return NULL;
    }
    g->loop = loop;
    g->owner = self;
    corio__list_init(&g->children);
    g->scope.parent = self->scope;
    g->scope.task = self;
    g->scope.deadline = CORIO__NEVER;
    g->scope.open = true;
    self->scope = &g->scope;
    return g;
}

/* Cancel every live child (and the owner's body while it runs). */
static void abort_group(corio_group *g)
{
    g->aborting = true;
    for (struct corio__list *l = g->children.next; l != &g->children;
         l = l->next)
        corio_cancel(container_of(l, corio_task, group_link));
    if (g->scope.open && !g->scope.cancelled) {
        g->scope.cancelled = true;
        corio_task *o = g->owner;
        corio__task_deadline_changed(o);
        if (o->state == CORIO__TASK_PARKED && !o->nocancel)
            corio__wake(o, CORIO__WAKE_SCOPE);
    }
}

void corio__group_child_done(corio_task *t)
{
    corio_group *g = t->group;
    corio__list_remove(&t->group_link);
    t->group = NULL;
    g->alive--;
    if (t->result < 0 && t->result != -ECANCELED) {
        g->errs[g->nerr].task = t; /* keeps the group's reference */
        g->errs[g->nerr].error = t->result;
        g->nerr++;
        if (!g->aborting)
            abort_group(g);
    } else {
        corio_task_unref(t);
    }
    if (g->alive == 0 && g->waiting)
        corio__wake(g->owner, 0);
}

int(corio_group_spawn)(corio_group *g, corio_fn fn, void *arg,
                       const corio_task_opts *opts, corio_task **out)
{
    return corio_group_spawn_at(g, fn, arg, opts, out, NULL, 0);
}

int corio_group_spawn_at(corio_group *g, corio_fn fn, void *arg,
                         const corio_task_opts *opts, corio_task **out,
                         const char *file, int line)
{
    if (!g || !fn)
        return -EINVAL;
    if (g->aborting || g->waited)
        return -ESHUTDOWN;
    if (g->spawned == g->cap_err) {
        size_t cap = g->cap_err ? g->cap_err * 2 : 8;
        corio_group_error *e = corio__realloc(g->errs, cap * sizeof *e);
        if (!e)
            return -ENOMEM;
        g->errs = e;
        g->cap_err = cap;
    }
    corio_task *t = corio_loop_spawn_at(g->loop, fn, arg, opts, file, line);
    if (!t)
        return -errno;
    t->group = g;
    corio__list_push_back(&g->children, &t->group_link);
    g->alive++;
    g->spawned++;
    if (out)
        *out = corio_task_ref(t);
    return 0; /* the reference spawn returned is the group's */
}

int corio_group_wait(corio_group *g)
{
    corio_loop *loop;
    corio_task *self = corio__self(&loop);

    if (!g)
        return -EINVAL;
    if (self != g->owner)
        return -EPERM;
    if (g->waited)
        return g->rc;
    if (g->scope.open) {
        if (self->scope != &g->scope)
            return -EINVAL; /* a scope of the body is still open */
        g->scope.open = false;
        self->scope = g->scope.parent;
        corio__task_deadline_changed(self);
    }
    /* Cancelled from outside while in the body: cancel the children. */
    int rc = g->scope.saw_outer ? g->scope.outer_rc : 0;
    if (rc)
        abort_group(g);
    g->waiting = true;
    while (g->alive) {
        if (rc) {
            corio__waiting(self, CORIO__WAIT_GROUP, g);
            corio__park_nocancel(loop, self);
            continue;
        }
        corio__waiting(self, CORIO__WAIT_GROUP, g);
        int r = corio__park(loop, self, CORIO__NEVER);
        if (r == -ECANCELED || r == -ETIMEDOUT) {
            rc = r;
            abort_group(g);
        }
    }
    g->waiting = false;
    g->waited = true;
    g->rc = rc ? rc : g->nerr ? g->errs[0].error : 0;
    return g->rc;
}

size_t corio_group_errors(const corio_group *g, corio_group_error *out,
                          size_t cap)
{
    if (!g)
        return 0;
    for (size_t i = 0; i < g->nerr && i < cap; i++)
        out[i] = g->errs[i];
    return g->nerr;
}

void corio_group_cancel(corio_group *g)
{
    if (g && !g->waited)
        abort_group(g);
}

int corio_group_close(corio_group *g)
{
    if (!g)
        return 0;
    if (corio_current() != g->owner)
        return -EPERM;
    int rc = corio_group_wait(g);
    if (rc == -EINVAL && !g->waited)
        return rc;
    for (size_t i = 0; i < g->nerr; i++)
        corio_task_unref(g->errs[i].task);
    corio__free(g->errs);
    corio__free(g);
    return rc;
}

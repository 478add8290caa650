/* SPDX-License-Identifier: MIT */
/* The internal views of the sync values (caller storage blobs) shared by
 * the files of src/sync. */
#ifndef CORIO_SYNC_INT_H
#define CORIO_SYNC_INT_H

#include "corio/sync.h"

#include "core/core.h"
#include "core/waitq.h"

struct corio__lock {
    struct corio__wq wq; /* tasks waiting to acquire */
    corio_task *owner;   /* the holder (NULL: a callback, or free) */
    bool locked;
};

static inline struct corio__lock *corio__lock(corio_lock *l)
{
    return (struct corio__lock *)(void *)l;
}

/* Whether the calling task (or, outside tasks, a callback) holds l. */
CORIO_HIDDEN bool corio__lock_held_by_caller(corio_lock *l);

CORIO_HIDDEN void corio__lock_acquire_nocancel(struct corio__lock *l,
                                               corio_loop *loop,
                                               corio_task *self);

#endif

/* SPDX-License-Identifier: MIT */
/* Cancel scopes and deadlines: asyncio.timeout / timeout_at and trio's
 * CancelScope, move_on_after, fail_after and shield. A scope covers every
 * suspending call the task makes while it is open. */
#ifndef CORIO_SCOPE_H
#define CORIO_SCOPE_H

#include <stdbool.h>

#include "corio/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A cancel scope, in caller storage (usually the task's stack). */
typedef struct corio_scope {
    uint64_t opaque_[6];
} corio_scope;

/* Open a scope in the current task with a deadline timeout seconds from
 * now (asyncio.timeout, trio.move_on_after). timeout < 0 or infinite: no
 * deadline. Scopes nest; close them with corio_scope_exit in reverse order.
 * While the scope is open and its deadline has passed, every suspending
 * call in it returns -ETIMEDOUT. 0, -EPERM outside a task, -EINVAL for NaN.
 * Never suspends. */
CORIO_API int corio_scope_enter(corio_scope *s, double timeout);

/* Open a scope with an absolute deadline on the loop clock (corio_time()),
 * as asyncio.timeout_at. INFINITY: no deadline. Errors as
 * corio_scope_enter. Never suspends. */
CORIO_API int corio_scope_enter_at(corio_scope *s, double deadline);

/* Close the innermost scope. Returns -ETIMEDOUT if it expired: a
 * suspension (or corio_checkpoint_if_cancelled) inside it found its
 * deadline passed, or was woken by it (so
 * `return corio_scope_exit(&s)` is trio's fail_after); -ECANCELED if
 * corio_scope_cancel() was called on it; else 0. A deadline that passes
 * while the task computes without suspending does not expire the scope,
 * as with asyncio.timeout. -EINVAL if s is not the task's innermost open
 * scope. Never suspends. */
CORIO_API int corio_scope_exit(corio_scope *s);

/* Cancel the scope: every suspending call inside it returns -ECANCELED
 * until it closes (trio's cancel_scope.cancel()). May be called from other
 * tasks and callbacks of the same loop. Never suspends. */
CORIO_API void corio_scope_cancel(corio_scope *s);

/* Move the deadline while the scope is open: absolute on the loop clock
 * (INFINITY: none), or timeout seconds from now (< 0: none), as
 * asyncio.Timeout.reschedule. A deadline already passed takes effect at
 * once. An expired scope stays expired. 0, or -EINVAL if the scope is not
 * open or the value is NaN. Never suspends. */
CORIO_API int corio_scope_set_deadline(corio_scope *s, double deadline);
CORIO_API int corio_scope_set_timeout(corio_scope *s, double timeout);

/* The deadline on the loop clock, or INFINITY if there is none. Never
 * suspends. */
CORIO_API double corio_scope_deadline(const corio_scope *s);

/* Shield the scope's contents from cancellation from outside it
 * (asyncio.shield, trio's shield=True): a cancelled task or an expired
 * outer scope does not reach in while the shield is up. The scope's own
 * deadline and corio_scope_cancel() on it still apply. 0, or -EINVAL if
 * the scope is not open. Never suspends. */
CORIO_API int corio_scope_shield(corio_scope *s, bool shield);

/* Whether the scope expired (see corio_scope_exit; Timeout.expired);
 * valid during and after the scope. Never suspends. */
CORIO_API bool corio_scope_expired(const corio_scope *s);

/* Whether the scope was cancelled, by corio_scope_cancel or its deadline.
 * Never suspends. */
CORIO_API bool corio_scope_cancelled(const corio_scope *s);

#ifdef __cplusplus
}
#endif
#endif

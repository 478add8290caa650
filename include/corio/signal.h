/* SPDX-License-Identifier: MIT */
/* Signals as events in tasks (asyncio's loop.add_signal_handler), through
 * signalfd: a suspending "wait for the next signal" and a handler form.
 * corio_run itself turns the first SIGINT into cancellation of its main
 * task and a second one into an immediate exit, as asyncio.run does, when
 * SIGINT is at its default disposition. */
#ifndef CORIO_SIGNAL_H
#define CORIO_SIGNAL_H

#include <stddef.h>

#include "corio/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A set of signals a task can wait for. */
typedef struct corio_signal corio_signal;

/* Watch n signals with the current loop: they are blocked in this thread
 * (signalfd needs it; other threads must block them as well, which
 * corio's own threads do) and queue up for corio_signal_wait. NULL with
 * errno set: EINVAL (bad or unblockable signal), EPERM with no loop,
 * EMFILE, ENOMEM. Never suspends. */
CORIO_API corio_signal *corio_signal_open(const int *signals, size_t n);

/* Wait for the next of the signals and return its number (> 0). Signals
 * that arrived since the open, or the last wait, are returned first, one
 * per kind (standard signals do not queue). -ECANCELED, -ETIMEDOUT,
 * -EPERM outside a task. Suspends; cancellation point. */
CORIO_API int corio_signal_wait(corio_signal *s);

/* Stop watching: signals still pending are dropped, and each signal is
 * unblocked again unless it was blocked before the open or another
 * corio_signal of this thread watches it. Tasks waiting wake with -EBADF.
 * NULL is allowed. Never suspends. */
CORIO_API void corio_signal_close(corio_signal *s);

/* A signal handler run by the loop (not in signal context): any code is
 * fine, but it runs in a task the loop keeps for its handlers, so it
 * should not block. */
typedef void (*corio_signal_fn)(int signo, void *arg);

/* loop.add_signal_handler: call fn(signo, arg) on the current loop each
 * time signo arrives, replacing a handler the loop had for it. The
 * handlers run in one task of the loop's, started with the first handler
 * and ended by the removal of the last: remove them before closing the
 * loop (corio_run cancels that task like any other). 0, -EINVAL, -EPERM
 * with no loop, -ENOMEM, -EMFILE. Never suspends. */
CORIO_API int corio_signal_add_handler(int signo, corio_signal_fn fn,
                                       void *arg);

/* loop.remove_signal_handler: 0, or -ENOENT if the loop had no handler
 * for signo. Never suspends. */
CORIO_API int corio_signal_remove_handler(int signo);

#ifdef __cplusplus
}
#endif
#endif

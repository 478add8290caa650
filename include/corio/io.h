/* SPDX-License-Identifier: MIT */
/* Waiting for file descriptors from a task: asyncio's add_reader and
 * add_writer as suspending calls, so that any non-blocking library can be
 * driven by the loop. Sockets, pipes and the other descriptor types corio
 * wraps are built on the same mechanism. */
#ifndef CORIO_IO_H
#define CORIO_IO_H

#include "corio/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Event bits for corio_fd_wait and corio_wait_fd. */
#define CORIO_READABLE 1u
#define CORIO_WRITABLE 2u

/* A descriptor watched by the current loop. */
typedef struct corio_fd corio_fd;

/* Watch fd (which stays the caller's: it is not closed by corio) with the
 * loop running in this thread. Make it non-blocking first; close the
 * corio_fd before the descriptor. NULL with errno set: EPERM with no
 * running loop, EBADF, EPERM from epoll (a regular file cannot be
 * watched), EEXIST if the loop already watches it, ENOMEM. Never
 * suspends. */
CORIO_API corio_fd *corio_fd_open(int fd);

/* Suspend until fd is ready for one of events (CORIO_READABLE,
 * CORIO_WRITABLE, or both) and return those of them that are ready (> 0).
 * Readiness is level-triggered: if data is already waiting, the loop's
 * next poll sees it and wakes the task. An error or hang-up on the
 * descriptor counts as ready for either. Several tasks may wait on one
 * corio_fd, each for its own events. -ECANCELED, -ETIMEDOUT, -EBADF if
 * the corio_fd is closed meanwhile, -EINVAL for NULL or no events, -EPERM
 * outside a task. Suspends; cancellation point. */
CORIO_API int corio_fd_wait(corio_fd *f, unsigned events);

/* The descriptor, or -1 for NULL. Never suspends. */
CORIO_API int corio_fd_fileno(const corio_fd *f);

/* Stop watching: tasks waiting in corio_fd_wait wake with -EBADF, and the
 * corio_fd is freed once they have left. Called from a task, it waits for
 * them to leave (suspends, but is not a cancellation point); from a
 * callback, the last of them frees it. The descriptor itself stays open.
 * NULL is allowed. */
CORIO_API void corio_fd_close(corio_fd *f);

/* Wait once for fd without keeping it watched (loop.add_reader followed
 * by remove_reader): returns the ready events, or an error as
 * corio_fd_wait. Costs two epoll_ctl calls; watch descriptors you wait on
 * often with corio_fd_open. Suspends; cancellation point. */
CORIO_API int corio_wait_fd(int fd, unsigned events);

#ifdef __cplusplus
}
#endif
#endif

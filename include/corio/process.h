/* SPDX-License-Identifier: MIT */
/* Subprocesses (asyncio.create_subprocess_exec / _shell): stdin, stdout
 * and stderr as pipes that tasks read and write with suspending calls, or
 * inherited, or /dev/null; wait, signals, communicate. Waiting uses a
 * pidfd: no SIGCHLD handler is installed, and children of other code are
 * never reaped. The child gets only descriptors 0, 1 and 2. */
#ifndef CORIO_PROCESS_H
#define CORIO_PROCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "corio/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A child process, used by the tasks of one loop. */
typedef struct corio_process corio_process;

/* What a standard descriptor of the child is. */
enum corio_stdio {
    CORIO_STDIO_INHERIT = 0, /* the parent's */
    CORIO_STDIO_PIPE,        /* a pipe to the parent (asyncio PIPE) */
    CORIO_STDIO_DEVNULL,     /* /dev/null */
    CORIO_STDIO_STDOUT,      /* stderr only: where stdout goes */
    CORIO_STDIO_FD,          /* the descriptor given in the options */
};

/* Options for corio_process_exec(); zero-initialise and set what you
 * need. */
typedef struct corio_process_opts {
    int stdin_mode;   /* enum corio_stdio */
    int stdout_mode;
    int stderr_mode;
    int stdin_fd;     /* for CORIO_STDIO_FD */
    int stdout_fd;
    int stderr_fd;
    char *const *envp; /* environment; NULL: the parent's */
    const char *cwd;   /* working directory; NULL: the parent's */
    /* Leave descriptors 3 and up that lack close-on-exec open in the
     * child (Python's close_fds=False). By default the child gets only
     * 0, 1 and 2. */
    bool keep_fds;
} corio_process_opts;

/* Start file with argv (argv[0] included, NULL-terminated), searching
 * PATH when file has no '/'. The child starts with an empty signal mask.
 * opts may be NULL (all inherited). NULL with errno set: the exec's error
 * (ENOENT, EACCES, ...), EMFILE, ENOMEM, EPERM with no loop. Never
 * suspends (blocks until the child has called exec). */
CORIO_API corio_process *corio_process_exec(const char *file,
                                            const char *const argv[],
                                            const corio_process_opts *opts);

/* Start cmd with /bin/sh -c (asyncio.create_subprocess_shell); errors as
 * corio_process_exec. Never suspends. */
CORIO_API corio_process *corio_process_shell(const char *cmd,
                                             const corio_process_opts *opts);

/* The child's process id. Never suspends. */
CORIO_API pid_t corio_process_pid(const corio_process *p);

/* Write all len bytes to the child's stdin pipe. Returns len; after a
 * partial write that then fails or is cancelled, the count written; else
 * -EPIPE (the child closed its stdin), -EBADF (no stdin pipe, or closed),
 * -ECANCELED, -ETIMEDOUT, -EPERM outside a task. Never raises SIGPIPE.
 * Suspends; cancellation point. */
CORIO_API ssize_t corio_process_write(corio_process *p, const void *buf,
                                      size_t len);

/* Close the stdin pipe, so that the child sees end of file. 0, or -EBADF
 * if there is none. Never suspends. */
CORIO_API int corio_process_close_stdin(corio_process *p);

/* Read up to len bytes from the child's stdout (fd 1) or stderr (fd 2)
 * pipe: the count, 0 at end of file, -EBADF (no such pipe), -ECANCELED,
 * -ETIMEDOUT, -EPERM outside a task. Suspends; cancellation point. */
CORIO_API ssize_t corio_process_read(corio_process *p, int fd, void *buf,
                                     size_t len);

/* Wait for the child to end and store its asyncio returncode in *status:
 * the exit code, or minus the number of the signal that killed it. 0,
 * -ECANCELED, -ETIMEDOUT, -ECHILD (someone else reaped it, e.g. SIGCHLD
 * is ignored), -EPERM outside a task. Suspends; cancellation point. */
CORIO_API int corio_process_wait(corio_process *p, int *status);

/* The returncode if the child has ended (0, *status set), else -EAGAIN.
 * Never suspends. */
CORIO_API int corio_process_returncode(corio_process *p, int *status);

/* Send sig to the child, through its pidfd (never to a recycled pid). 0,
 * -ESRCH once it has been waited for, -EINVAL. Never suspends. */
CORIO_API int corio_process_send_signal(corio_process *p, int sig);
/* SIGTERM and SIGKILL, as corio_process_send_signal. Never suspends. */
CORIO_API int corio_process_terminate(corio_process *p);
CORIO_API int corio_process_kill(corio_process *p);

/* Process.communicate: write in[0..in_len) to stdin (if it is a pipe)
 * and close it, read stdout and stderr (those that are pipes) to end of
 * file, concurrently, then wait for the child. *out / *err (malloc'd,
 * NUL-terminated, free() them; either pointer pair may be NULL to drop
 * that stream) receive what was read, also when it fails. timeout < 0:
 * none; on timeout -ETIMEDOUT, and the child keeps running (as
 * subprocess.communicate). 0, -ECANCELED, -ETIMEDOUT, -ENOMEM, or an
 * error of the pipes. Suspends; cancellation point. */
CORIO_API int corio_process_communicate(corio_process *p, const void *in,
                                        size_t in_len, void **out,
                                        size_t *out_len, void **err,
                                        size_t *err_len, double timeout);

/* Close the pipes and free p. A child still running is killed (SIGKILL)
 * and reaped first, so no zombie is left. NULL is allowed. Never
 * suspends (blocks while a killed child exits). */
CORIO_API void corio_process_close(corio_process *p);

#ifdef __cplusplus
}
#endif
#endif

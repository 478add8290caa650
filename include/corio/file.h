/* SPDX-License-Identifier: MIT */
/* Files from tasks (aiofile / aiofiles): open, read, write, sync, stat,
 * whole-file reads, atomic whole-file writes and copies, through io_uring
 * where the kernel allows it and the thread pool elsewhere. Each loop has
 * its own ring; the CORIO_FILE_IO environment variable (uring or pool)
 * forces one path. */
#ifndef CORIO_FILE_H
#define CORIO_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "corio/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* An open file, used by the tasks of one loop. */
typedef struct corio_file corio_file;

/* open(2): flags and mode as for open, O_CLOEXEC always added. NULL with
 * errno set: the open's error, ECANCELED / ETIMEDOUT (nothing stays
 * open), EPERM outside a task, ENOMEM. Suspends; cancellation point. */
CORIO_API corio_file *corio_file_open(const char *path, int flags,
                                      unsigned mode);

/* Close the descriptor and free f, whatever happens: 0 or close(2)'s
 * error. Call it once no other task uses f. NULL is allowed. Never
 * suspends. */
CORIO_API int corio_file_close(corio_file *f);

/* The descriptor, or -1 for NULL. Never suspends. */
CORIO_API int corio_file_fileno(const corio_file *f);

/* read(2) at the file position: up to len bytes, 0 at end of file.
 * -ECANCELED / -ETIMEDOUT only if nothing was read: a read the kernel
 * completed returns its count, and the cancellation waits for the next
 * suspension. Other errors as read(2); -EINVAL for NULL. Suspends;
 * cancellation point. */
CORIO_API ssize_t corio_file_read(corio_file *f, void *buf, size_t len);

/* Write all len bytes at the file position (or at the end with
 * O_APPEND). Returns len; after a partial write that then fails or is
 * cancelled, the count written; otherwise a negative errno. Suspends;
 * cancellation point. */
CORIO_API ssize_t corio_file_write(corio_file *f, const void *buf,
                                   size_t len);

/* pread(2) / pwrite(2) at offset off, without moving the file position;
 * results as corio_file_read and corio_file_write. Suspends;
 * cancellation point. */
CORIO_API ssize_t corio_file_pread(corio_file *f, void *buf, size_t len,
                                   int64_t off);
CORIO_API ssize_t corio_file_pwrite(corio_file *f, const void *buf,
                                    size_t len, int64_t off);

/* fsync(2), or fdatasync(2) when datasync is true. 0 or a negative errno.
 * Suspends; cancellation point. */
CORIO_API int corio_file_sync(corio_file *f, bool datasync);

/* fstat(2) of an open file / stat(2) of a path, into *st. 0 or a negative
 * errno. Suspends; cancellation point. */
CORIO_API int corio_file_stat(corio_file *f, struct stat *st);
CORIO_API int corio_stat(const char *path, struct stat *st);

/* Read a whole file into a new buffer: *buf (malloc'd, free() it; one
 * byte longer than *len and NUL-terminated) and *len. 0 or a negative
 * errno, and then *buf is NULL. Suspends; cancellation point. */
CORIO_API int corio_read_file(const char *path, void **buf, size_t *len);

/* Replace path with len bytes atomically: they go to a temporary file in
 * the same directory, which is synced and renamed over path, and the
 * directory is synced. Readers see the old or the new contents, never a
 * mix. mode applies to a new file. 0, or a negative errno and path is
 * untouched (the temporary file is removed). Suspends; cancellation
 * point. */
CORIO_API int corio_write_file_atomic(const char *path, const void *buf,
                                      size_t len, unsigned mode);

/* Copy up to len bytes (SIZE_MAX: until end of input) from in_fd's file
 * position to out_fd's, inside the kernel (copy_file_range, else sendfile
 * or splice, else read and write), on the thread pool in chunks.
 * Returns the bytes copied; if an error or a cancellation stops it after
 * some bytes, that count (a cancellation waits for the next suspension);
 * else a negative errno. Suspends; cancellation point. */
CORIO_API ssize_t corio_copy_fd(int out_fd, int in_fd, size_t len);

/* Which path the current loop's file operations take: "io_uring" or
 * "pool". Never suspends. */
CORIO_API const char *corio_file_io_backend(void);

#ifdef __cplusplus
}
#endif
#endif

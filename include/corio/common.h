/* SPDX-License-Identifier: MIT */
/* Definitions every corio header shares: the export macro, the task function
 * type and the opaque object types. */
#ifndef CORIO_COMMON_H
#define CORIO_COMMON_H

#include <stddef.h>
#include <stdint.h>

#if defined(CORIO_STATIC_DEFINE) || !defined(__GNUC__)
#define CORIO_API
#else
#define CORIO_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* A loop: one per thread, like asyncio's event loop. */
typedef struct corio_loop corio_loop;
/* A task: a C function running on its own stack (asyncio.Task). */
typedef struct corio_task corio_task;
/* A future: a result that a task or a callback sets later (asyncio.Future). */
typedef struct corio_future corio_future;

/* A task function. Its return value is the task's result: >= 0 for
 * success, a negative errno value for failure (by convention). */
typedef int (*corio_fn)(void *arg);

/* A loop callback (call_soon, call_later, call_at). */
typedef void (*corio_callback_fn)(void *arg);

#ifdef __cplusplus
}
#endif
#endif

/* SPDX-License-Identifier: MIT */
/* Hooks that only the test build (CORIO_TESTING, library corio_internal)
 * has: fault injection and views of internal state for white-box tests. */
#ifndef CORIO_TESTING_H
#define CORIO_TESTING_H

#include <stdbool.h>
#include <stddef.h>

#include "corio/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Fail the nth allocation (or system call on a seam) from now on in this
 * thread; 0 turns the injector off. */
CORIO_API void corio__fault_alloc(long nth);
CORIO_API void corio__fault_syscall(long nth);
/* How many allocations / seam system calls were made since the last
 * corio__fault_* call. */
CORIO_API long corio__fault_alloc_calls(void);
CORIO_API long corio__fault_syscall_calls(void);
/* Heap blocks corio has allocated and not freed, in all threads. */
CORIO_API long corio__alloc_live_blocks(void);

/* Stack pool statistics of a loop. */
struct corio__stack_stats {
    size_t hot;     /* pooled, pages resident */
    size_t cold;    /* pooled, pages given back */
    size_t in_use;  /* held by tasks */
    size_t carved;  /* made in total */
    bool guard_inline; /* guards inside one mapping (MADV_GUARD_INSTALL) */
};
CORIO_API void corio__stack_stats(corio_loop *loop,
                                  struct corio__stack_stats *st);
/* Give every pooled stack back now, whatever its age. */
CORIO_API void corio__stack_trim_all(corio_loop *loop);
/* Number of armed timers. */
CORIO_API size_t corio__timer_count(corio_loop *loop);
struct corio__timer;
/* An armed timer's deadline, or -1. */
CORIO_API int64_t corio__timer_deadline(corio_loop *loop,
                                        struct corio__timer *t);
/* The context-switch implementation compiled in: "x86_64", "aarch64" or
 * "ucontext". */
CORIO_API const char *corio__switch_name(void);
/* The IORING_SETUP_* flags of the loop's ring; 0 if it has none. */
CORIO_API unsigned corio__uring_setup_flags(corio_loop *loop);

#ifdef __cplusplus
}
#endif
#endif

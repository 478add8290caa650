/* SPDX-License-Identifier: MIT */
/* The context switch, one implementation per CPU (arch/<cpu>/switch.S) and
 * a portable ucontext one (arch/generic/switch.c). The build picks one;
 * CORIO_ARCH=generic forces the portable one so that tests can cross-check
 * the assembly against it.
 *
 * A context is an opaque pointer: for the assembly switches, the stack
 * pointer at which the callee-saved registers were pushed; for ucontext, a
 * ucontext_t that lives at the top of the task's stack. */
#ifndef CORIO_SWITCH_H
#define CORIO_SWITCH_H

#include <stddef.h>

#include "core/compiler.h"

/* Save the running context into *from and resume to. Returns when someone
 * switches back to *from. For ucontext, *from must already point at
 * storage (corio__ctx_main gives the loop's). */
CORIO_HIDDEN void corio__ctx_switch(void **from, void *to);

/* Prepare a context on the stack [lo, hi) that calls entry(arg) when first
 * switched to. entry must never return. Returns the context. */
CORIO_HIDDEN void *corio__ctx_make(char *lo, char *hi, void (*entry)(void *),
                                   void *arg);

/* Prepare *ctx to receive the loop's own context: storage for ucontext,
 * nothing for the assembly switches. 0 or -ENOMEM; undo with
 * corio__ctx_main_free. */
CORIO_HIDDEN int corio__ctx_main_init(void **ctx);
CORIO_HIDDEN void corio__ctx_main_free(void *ctx);

/* Which implementation this is. */
CORIO_HIDDEN extern const char corio__ctx_name[];

#endif

/* SPDX-License-Identifier: MIT */
/* The portable context switch on ucontext. swapcontext saves the signal
 * mask with a system call on every switch, so it is some 40 times slower
 * than the assembly ones; it exists for CPUs without one and to
 * cross-check them in tests (CORIO_ARCH=generic). */
#include "core/arch/switch.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <ucontext.h>

const char corio__ctx_name[] = "ucontext";

/* makecontext passes int arguments only, so pointers travel in halves. */
static void start(unsigned hi_entry, unsigned lo_entry, unsigned hi_arg,
                  unsigned lo_arg)
{
    uintptr_t e = ((uintptr_t)hi_entry << 16 << 16) | lo_entry;
    uintptr_t a = ((uintptr_t)hi_arg << 16 << 16) | lo_arg;
    ((void (*)(void *))e)((void *)a);
    abort(); /* entry never returns */
}

/* getcontext returns twice in principle; kept out of corio__ctx_make so
 * that no local there lives across it. The saved context is only a
 * template: makecontext replaces its stack and entry point. */
static CORIO_NOINLINE int get(ucontext_t *uc)
{
    return getcontext(uc);
}

void *corio__ctx_make(char *lo, char *hi, void (*entry)(void *), void *arg)
{
    /* The ucontext_t lives at the top of the stack it describes. */
    uintptr_t at = ((uintptr_t)hi - sizeof(ucontext_t)) & ~(uintptr_t)63;
    ucontext_t *uc = (ucontext_t *)at;
    uintptr_t e = (uintptr_t)entry;
    uintptr_t a = (uintptr_t)arg;

    if (get(uc) < 0)
        return NULL;
    uc->uc_stack.ss_sp = lo;
    uc->uc_stack.ss_size = (size_t)(at - (uintptr_t)lo);
    uc->uc_link = NULL;
    makecontext(uc, (void (*)(void))start, 4, (unsigned)(e >> 16 >> 16),
                (unsigned)e, (unsigned)(a >> 16 >> 16), (unsigned)a);
    return uc;
}

void corio__ctx_switch(void **from, void *to)
{
    swapcontext((ucontext_t *)*from, (ucontext_t *)to);
}

int corio__ctx_main_init(void **ctx)
{
    *ctx = calloc(1, sizeof(ucontext_t));
    return *ctx ? 0 : -ENOMEM;
}

void corio__ctx_main_free(void *ctx)
{
    free(ctx);
}

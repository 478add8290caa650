/* SPDX-License-Identifier: MIT */
/* Building a new context's first frame for the aarch64 switch (switch.S
 * draws the frame). */
#include "core/arch/switch.h"

#include <stdint.h>
#include <string.h>

CORIO_HIDDEN void corio__ctx_trampoline(void);

const char corio__ctx_name[] = "aarch64";

void *corio__ctx_make(char *lo, char *hi, void (*entry)(void *), void *arg)
{
    (void)lo;
    uintptr_t top = ((uintptr_t)hi & ~(uintptr_t)15) - 16;
    uint64_t *f = (uint64_t *)(top - 176);
    uint64_t fpcr;

    memset(f, 0, 176 + 16);
    /* A valid FPCR for the first switch in; the task then loads the one
     * saved at spawn (task_entry). */
    __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
    f[0] = (uint64_t)(uintptr_t)entry;                  /* x19 */
    f[1] = (uint64_t)(uintptr_t)arg;                    /* x20 */
    f[10] = 0;                                          /* x29 */
    f[11] = (uint64_t)(uintptr_t)corio__ctx_trampoline; /* x30 */
    f[20] = fpcr;
    return f;
}

int corio__ctx_main_init(void **ctx)
{
    *ctx = NULL; /* the switch stores the stack pointer here */
    return 0;
}

void corio__ctx_main_free(void *ctx)
{
    (void)ctx;
}

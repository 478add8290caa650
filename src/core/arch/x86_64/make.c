/* SPDX-License-Identifier: MIT */
/* Building a new context's first frame for the x86-64 switch (switch.S
 * draws the frame). */
#include "core/arch/switch.h"

#include <stdint.h>

CORIO_HIDDEN void corio__ctx_trampoline(void);

const char corio__ctx_name[] = "x86_64";

void *corio__ctx_make(char *lo, char *hi, void (*entry)(void *), void *arg)
{
    (void)lo;
    /* The trampoline is entered by `ret`, so the stack pointer after the
     * frame must be 16-byte aligned for its own call to be ABI-correct. */
    uintptr_t top = ((uintptr_t)hi & ~(uintptr_t)15) - 16;
    uint64_t *f = (uint64_t *)(top - 64);
    uint32_t mxcsr;
    uint16_t fpcw;

    /* Valid control words for the first switch in; the task then loads
     * the ones saved at spawn (task_entry). */
    __asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
    __asm__ volatile("fnstcw %0" : "=m"(fpcw));
    f[0] = (uint64_t)mxcsr | (uint64_t)fpcw << 32;
    f[1] = 0;                               /* r15 */
    f[2] = 0;                               /* r14 */
    f[3] = 0;                               /* r13 */
    f[4] = (uint64_t)(uintptr_t)arg;        /* r12 */
    f[5] = (uint64_t)(uintptr_t)entry;      /* rbx */
    f[6] = 0;                               /* rbp */
    f[7] = (uint64_t)(uintptr_t)corio__ctx_trampoline;
    /* A zero return address above the frame ends backtraces cleanly. */
    ((uint64_t *)top)[0] = 0;
    ((uint64_t *)top)[1] = 0;
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

/* SPDX-License-Identifier: MIT */
/* Capture and restore the floating-point control state (rounding modes,
 * exception masks, flush-to-zero), so that a new task starts with its
 * spawner's modes as a new thread starts with its creator's. The switches
 * keep each task's state from then on. */
#ifndef CORIO_FPENV_H
#define CORIO_FPENV_H

#include <stdint.h>

#if defined(__x86_64__)
/* MXCSR in the low half, the x87 control word above it. */
static inline uint64_t corio__fpenv_save(void)
{
    uint32_t mxcsr;
    uint16_t cw;
    __asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
    __asm__ volatile("fnstcw %0" : "=m"(cw));
    return (uint64_t)mxcsr | (uint64_t)cw << 32;
}

static inline void corio__fpenv_restore(uint64_t env)
{
    uint32_t mxcsr = (uint32_t)env;
    uint16_t cw = (uint16_t)(env >> 32);
    __asm__ volatile("ldmxcsr %0" : : "m"(mxcsr));
    __asm__ volatile("fldcw %0" : : "m"(cw));
}
#elif defined(__aarch64__)
static inline uint64_t corio__fpenv_save(void)
{
    uint64_t fpcr;
    __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
    return fpcr;
}

static inline void corio__fpenv_restore(uint64_t env)
{
    __asm__ volatile("msr fpcr, %0" : : "r"(env));
}
#else
#include <fenv.h>
/* Elsewhere only the rounding mode travels. */
static inline uint64_t corio__fpenv_save(void)
{
    return (uint64_t)fegetround();
}

static inline void corio__fpenv_restore(uint64_t env)
{
    fesetround((int)env);
}
#endif

#endif

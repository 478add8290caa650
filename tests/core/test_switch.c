/* SPDX-License-Identifier: MIT */
/* The context switch itself: callee-saved registers and the floating-point
 * control state survive a switch, new contexts inherit the creator's FP
 * modes, and the compiled implementation is the one configured. Run with
 * every switch (x86_64, aarch64, generic) so they check one another. */
#include "harness.h"

#include <corio.h>
#include <fenv.h>
#include <math.h>
#include <sys/mman.h>

#include "core/arch/switch.h"
#include "core/testing.h"

static void *main_ctx;
static void *co_ctx;

/* Register patterns the checker loads before switching away. */
#if defined(__x86_64__)
#define NREGS 6
/* check_switch(from, to, out): load patterns into rbx, rbp, r12-r15, call
 * corio__ctx_switch(from, to), store the registers into out[0..5] once it
 * returns, and restore the caller's registers. */
__asm__(".text\n"
        ".p2align 4\n"
        "check_switch:\n"
        "  pushq %rbp\n  pushq %rbx\n  pushq %r12\n  pushq %r13\n"
        "  pushq %r14\n  pushq %r15\n  pushq %rdx\n"
        "  movabsq $0x1111111111111111, %rbx\n"
        "  movabsq $0x2222222222222222, %rbp\n"
        "  movabsq $0x3333333333333333, %r12\n"
        "  movabsq $0x4444444444444444, %r13\n"
        "  movabsq $0x5555555555555555, %r14\n"
        "  movabsq $0x6666666666666666, %r15\n"
        "  call corio__ctx_switch\n"
        "  popq %rdx\n"
        "  movq %rbx, 0(%rdx)\n  movq %rbp, 8(%rdx)\n"
        "  movq %r12, 16(%rdx)\n  movq %r13, 24(%rdx)\n"
        "  movq %r14, 32(%rdx)\n  movq %r15, 40(%rdx)\n"
        "  popq %r15\n  popq %r14\n  popq %r13\n  popq %r12\n"
        "  popq %rbx\n  popq %rbp\n"
        "  ret\n");
static const uint64_t patterns[NREGS] = {
    0x1111111111111111, 0x2222222222222222, 0x3333333333333333,
    0x4444444444444444, 0x5555555555555555, 0x6666666666666666};

static void clobber(void)
{
    __asm__ volatile("xorl %%ebx, %%ebx\n xorl %%r12d, %%r12d\n"
                     "xorl %%r13d, %%r13d\n xorl %%r14d, %%r14d\n"
                     "xorl %%r15d, %%r15d\n"
                     :
                     :
                     : "rbx", "r12", "r13", "r14", "r15");
}
#elif defined(__aarch64__)
#define NREGS 18
/* x19-x28 and d8-d15. */
__asm__(".text\n"
        ".p2align 4\n"
        "check_switch:\n"
        "  sub sp, sp, #176\n"
        "  stp x19, x20, [sp, #0]\n  stp x21, x22, [sp, #16]\n"
        "  stp x23, x24, [sp, #32]\n  stp x25, x26, [sp, #48]\n"
        "  stp x27, x28, [sp, #64]\n  stp x29, x30, [sp, #80]\n"
        "  stp d8, d9, [sp, #96]\n  stp d10, d11, [sp, #112]\n"
        "  stp d12, d13, [sp, #128]\n  stp d14, d15, [sp, #144]\n"
        "  str x2, [sp, #160]\n"
        "  mov x19, #0x19\n  mov x20, #0x20\n  mov x21, #0x21\n"
        "  mov x22, #0x22\n  mov x23, #0x23\n  mov x24, #0x24\n"
        "  mov x25, #0x25\n  mov x26, #0x26\n  mov x27, #0x27\n"
        "  mov x28, #0x28\n"
        "  fmov d8, x19\n  fmov d9, x20\n  fmov d10, x21\n  fmov d11, x22\n"
        "  fmov d12, x23\n  fmov d13, x24\n  fmov d14, x25\n  fmov d15, x26\n"
        "  bl corio__ctx_switch\n"
        "  ldr x2, [sp, #160]\n"
        "  stp x19, x20, [x2, #0]\n  stp x21, x22, [x2, #16]\n"
        "  stp x23, x24, [x2, #32]\n  stp x25, x26, [x2, #48]\n"
        "  stp x27, x28, [x2, #64]\n"
        "  stp d8, d9, [x2, #80]\n  stp d10, d11, [x2, #96]\n"
        "  stp d12, d13, [x2, #112]\n  stp d14, d15, [x2, #128]\n"
        "  ldp x19, x20, [sp, #0]\n  ldp x21, x22, [sp, #16]\n"
        "  ldp x23, x24, [sp, #32]\n  ldp x25, x26, [sp, #48]\n"
        "  ldp x27, x28, [sp, #64]\n  ldp x29, x30, [sp, #80]\n"
        "  ldp d8, d9, [sp, #96]\n  ldp d10, d11, [sp, #112]\n"
        "  ldp d12, d13, [sp, #128]\n  ldp d14, d15, [sp, #144]\n"
        "  add sp, sp, #176\n"
        "  ret\n");
static const uint64_t patterns[NREGS] = {
    0x19, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27,
    0x28, 0x19, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26};

static void clobber(void)
{
    __asm__ volatile("mov x19, xzr\n mov x20, xzr\n mov x21, xzr\n"
                     "mov x22, xzr\n mov x23, xzr\n mov x24, xzr\n"
                     "mov x25, xzr\n mov x26, xzr\n mov x27, xzr\n"
                     "mov x28, xzr\n fmov d8, xzr\n fmov d9, xzr\n"
                     "fmov d10, xzr\n fmov d11, xzr\n fmov d12, xzr\n"
                     "fmov d13, xzr\n fmov d14, xzr\n fmov d15, xzr\n"
                     :
                     :
                     : "x19", "x20", "x21", "x22", "x23", "x24", "x25",
                       "x26", "x27", "x28", "d8", "d9", "d10", "d11", "d12",
                       "d13", "d14", "d15");
}
#endif

#ifdef NREGS
void check_switch(void **from, void *to, uint64_t *out);

static int entered;

static void co_entry(void *arg)
{
    (void)arg;
    for (;;) {
        entered++;
        clobber();
        corio__ctx_switch(&co_ctx, main_ctx);
    }
}

TEST(callee_saved_registers_survive_a_switch)
{
    size_t size = 64 * 1024;
    char *stack = mmap(NULL, size, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_TRUE(stack != MAP_FAILED);
    ASSERT_OK(corio__ctx_main_init(&main_ctx));
    co_ctx = corio__ctx_make(stack, stack + size, co_entry, NULL);
    ASSERT_NOT_NULL(co_ctx);
    for (int round = 0; round < 3; round++) {
        uint64_t out[NREGS];
        memset(out, 0, sizeof out);
        check_switch(&main_ctx, co_ctx, out);
        ASSERT_EQ(entered, round + 1);
        for (int i = 0; i < NREGS; i++)
            if (out[i] != patterns[i])
                FAIL("register %d: %#llx, want %#llx", i,
                     (unsigned long long)out[i],
                     (unsigned long long)patterns[i]);
    }
    corio__ctx_main_free(main_ctx);
    munmap(stack, size);
}
#endif

static int mode_seen[2];

static int rounding_task(void *arg)
{
    int mode = (int)(intptr_t)arg;
    int idx = mode == FE_UPWARD ? 0 : 1;
    fesetround(mode);
    for (int i = 0; i < 100; i++) {
        if (corio_yield() < 0)
            return -1;
        if (fegetround() != mode)
            return -2;
    }
    /* Rounding really follows the task's mode. */
    volatile double one = 1.0, three = 3.0;
    double third = one / three;
    mode_seen[idx] = third * 3.0 > 1.0 ? 1 : third * 3.0 < 1.0 ? -1 : 0;
    fesetround(FE_TONEAREST);
    return 0;
}

static int two_modes(void *arg)
{
    (void)arg;
    corio_task *up = corio_spawn(rounding_task, (void *)(intptr_t)FE_UPWARD);
    corio_task *down =
        corio_spawn(rounding_task, (void *)(intptr_t)FE_DOWNWARD);
    ASSERT_OK(corio_join(up));
    ASSERT_OK(corio_join(down));
    ASSERT_EQ(fegetround(), FE_TONEAREST);
    return 0;
}

TEST(each_task_keeps_its_fp_rounding_mode)
{
    ASSERT_OK(corio_run(two_modes, NULL));
    if (th_under_valgrind())
        return; /* its CPU rounds to nearest whatever the mode says */
    ASSERT_EQ(mode_seen[0], 1);  /* 1/3 rounded up, times 3 > 1 */
    ASSERT_EQ(mode_seen[1], -1);
}

static int report_mode(void *arg)
{
    (void)arg;
    return fegetround();
}

static int inherit(void *arg)
{
    (void)arg;
    fesetround(FE_TOWARDZERO);
    corio_task *t = corio_spawn(report_mode, NULL);
    fesetround(FE_TONEAREST);
    /* The mode when the task was spawned, not when it first ran. */
    int got = corio_join(t);
    ASSERT_EQ(got, FE_TOWARDZERO);
    ASSERT_EQ(fegetround(), FE_TONEAREST);
    return 0;
}

TEST(a_new_task_inherits_the_fp_mode_of_its_spawner)
{
    ASSERT_OK(corio_run(inherit, NULL));
}

TEST(switch_is_the_configured_one)
{
    ASSERT_STR_EQ(corio__switch_name(), CORIO_EXPECT_SWITCH);
}

static long depth_reached;

static long recurse(long n)
{
    volatile char pad[256];
    pad[0] = (char)n;
    if (n == 0)
        return pad[0];
    depth_reached++;
    return recurse(n - 1) + pad[0];
}

static int deep(void *arg)
{
    (void)arg;
    /* About 60% of a 256 KiB stack. */
    recurse(150 * 1024 / 300);
    return 0;
}

TEST(a_task_can_use_most_of_its_stack)
{
    corio_loop_opts lo = {.stack_size = 256 * 1024};
    corio_loop *loop = corio_loop_new(&lo);
    corio_task *t = corio_loop_spawn(loop, deep, NULL, NULL);
    ASSERT_OK(corio_loop_run_until_complete(loop, t));
    corio_task_unref(t);
    ASSERT_GT(depth_reached, 400);
    ASSERT_OK(corio_loop_close(loop));
}

static long pings;

static int pinger(void *arg)
{
    long n = (long)(intptr_t)arg;
    for (long i = 0; i < n; i++) {
        pings++;
        if (corio_yield() < 0)
            return -1;
    }
    return 0;
}

static int ping_pong(void *arg)
{
    (void)arg;
    corio_task *a = corio_spawn(pinger, (void *)100000);
    corio_task *b = corio_spawn(pinger, (void *)100000);
    ASSERT_OK(corio_join(a));
    ASSERT_OK(corio_join(b));
    ASSERT_EQ(pings, 200000);
    return 0;
}

TEST(many_switches_between_two_tasks)
{
    ASSERT_OK(corio_run(ping_pong, NULL));
}

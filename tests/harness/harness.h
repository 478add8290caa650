/* SPDX-License-Identifier: MIT */
/* A small test harness: TEST() cases registered at load time, one case per
 * process under CTest, a time limit, a printed random seed, asserts that
 * print both values, and a check that a case leaves no heap blocks behind.
 *
 * Why not Criterion or cmocka: the core tests also run as aarch64 binaries
 * under qemu-user in CI, and a cross-built copy of either framework (and
 * of Criterion's dependencies) is not in Debian's cross toolchain; the
 * harness needs nothing but libc, so the same test sources build for every
 * target and sanitizer. CTest gives each case its own process (the
 * executables answer --list and CMake registers every case, as
 * gtest_discover_tests does), so a crash or a hang fails one case only. */
#ifndef CORIO_HARNESS_H
#define CORIO_HARNESS_H

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Whether the test runs under a sanitizer that changes what a crash
 * looks like (ASan reports a SIGSEGV itself and exits with 1). */
#ifndef __has_feature
#define __has_feature(x) 0
#endif
#if defined(__SANITIZE_ADDRESS__) || __has_feature(address_sanitizer)
#define TH_ASAN 1
#else
#define TH_ASAN 0
#endif

struct th_case {
    const char *name;
    void (*fn)(void);
    const char *labels;  /* comma-separated CTest labels, or NULL */
    int timeout;         /* seconds; 0: the default */
    bool no_leak_check;  /* the case keeps heap blocks on purpose */
    struct th_case *next;
};

void th_register(struct th_case *c);
void th_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 3, 4)));
/* Whether the case runs under valgrind, which emulates the CPU: it
 * ignores SSE rounding modes and keeps shadow memory resident. */
bool th_under_valgrind(void);
/* End the case as skipped (exit 77, CTest's SKIP_RETURN_CODE). */
void th_skip(const char *why) __attribute__((noreturn));
/* The case's random seed (CORIO_TEST_SEED, or fresh and printed). */
uint64_t th_seed(void);
/* A pseudo-random number from the case's seed (xorshift). */
uint64_t th_rand(void);
/* Name of an errno value for messages: "ECANCELED". */
const char *th_errname(int e);
/* Seconds of monotonic time. */
double th_now(void);
/* Run fn in a child process; returns its wait status and captures up to
 * cap-1 bytes of its stderr into buf. */
int th_fork_capture(void (*fn)(void *), void *arg, char *buf, size_t cap);

#define TH_CAT2(a, b) a##b
#define TH_CAT(a, b) TH_CAT2(a, b)

/* TEST_OPTS(name, .labels = "slow", .timeout = 300) { ... } */
#define TEST_OPTS(id, ...)                                                   \
    static void TH_CAT(test_, id)(void);                                     \
    static struct th_case TH_CAT(case_, id) = {                              \
        .name = #id, .fn = TH_CAT(test_, id), __VA_ARGS__};                  \
    __attribute__((constructor)) static void TH_CAT(reg_, id)(void)          \
    {                                                                        \
        th_register(&TH_CAT(case_, id));                                     \
    }                                                                        \
    static void TH_CAT(test_, id)(void)

#define TEST(id) TEST_OPTS(id, .labels = NULL)

#define FAIL(...) th_fail(__FILE__, __LINE__, __VA_ARGS__)

#define ASSERT_TRUE(c)                                                       \
    do {                                                                     \
        if (!(c))                                                            \
            FAIL("ASSERT_TRUE(%s) failed", #c);                              \
    } while (0)

#define ASSERT_FALSE(c)                                                      \
    do {                                                                     \
        if (c)                                                               \
            FAIL("ASSERT_FALSE(%s) failed", #c);                             \
    } while (0)

#define TH_CMP(a, op, b)                                                     \
    do {                                                                     \
        long double th_a = (long double)(a);                                 \
        long double th_b = (long double)(b);                                 \
        if (!(th_a op th_b))                                                 \
            FAIL("%s %s %s: %.17Lg vs %.17Lg", #a, #op, #b, th_a, th_b);     \
    } while (0)

#define ASSERT_EQ(a, b) TH_CMP(a, ==, b)
#define ASSERT_NE(a, b) TH_CMP(a, !=, b)
#define ASSERT_LT(a, b) TH_CMP(a, <, b)
#define ASSERT_LE(a, b) TH_CMP(a, <=, b)
#define ASSERT_GT(a, b) TH_CMP(a, >, b)
#define ASSERT_GE(a, b) TH_CMP(a, >=, b)

#define ASSERT_PTR_EQ(a, b)                                                  \
    do {                                                                     \
        const void *th_a = (a), *th_b = (b);                                 \
        if (th_a != th_b)                                                    \
            FAIL("%s == %s: %p vs %p", #a, #b, th_a, th_b);                  \
    } while (0)

#define ASSERT_NULL(a) ASSERT_PTR_EQ(a, NULL)
#define ASSERT_NOT_NULL(a)                                                   \
    do {                                                                     \
        if ((a) == NULL)                                                     \
            FAIL("%s is NULL (errno %s)", #a, th_errname(errno));            \
    } while (0)

/* An int result that must equal an errno-style value: names both. */
#define ASSERT_ERR(rc, want)                                                 \
    do {                                                                     \
        long long th_r = (long long)(rc), th_w = (long long)(want);          \
        if (th_r != th_w)                                                    \
            FAIL("%s: got %lld (%s), want %lld (%s)", #rc, th_r,             \
                 th_r < 0 ? th_errname((int)-th_r) : "ok", th_w,             \
                 th_w < 0 ? th_errname((int)-th_w) : "ok");                  \
    } while (0)

#define ASSERT_OK(rc) ASSERT_ERR(rc, 0)

#define ASSERT_STR_EQ(a, b)                                                  \
    do {                                                                     \
        const char *th_a = (a), *th_b = (b);                                 \
        if (!th_a || !th_b || strcmp(th_a, th_b) != 0)                       \
            FAIL("%s == %s: \"%s\" vs \"%s\"", #a, #b, th_a ? th_a : "(null)", \
                 th_b ? th_b : "(null)");                                    \
    } while (0)

#define ASSERT_NEAR(a, b, eps)                                               \
    do {                                                                     \
        double th_a = (a), th_b = (b);                                       \
        if (th_a - th_b > (eps) || th_b - th_a > (eps))                      \
            FAIL("%s ~ %s: %.6f vs %.6f (eps %g)", #a, #b, th_a, th_b,       \
                 (double)(eps));                                             \
    } while (0)

#endif

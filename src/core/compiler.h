/* SPDX-License-Identifier: MIT */
/* Compiler and sanitizer feature macros. GNU extensions used by corio sit
 * behind these names so that the rest of the code says what it means. */
#ifndef CORIO_COMPILER_H
#define CORIO_COMPILER_H

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define CORIO_HIDDEN __attribute__((visibility("hidden")))
#define CORIO_NORETURN __attribute__((noreturn))
#define CORIO_NOINLINE __attribute__((noinline))
#define CORIO_UNUSED __attribute__((unused))
#define CORIO_TLS __thread __attribute__((tls_model("initial-exec")))

#define container_of(ptr, type, member)                                      \
    ((type *)(void *)((char *)(ptr) - __builtin_offsetof(type, member)))

/* Sanitizers: gcc defines __SANITIZE_*__, clang answers __has_feature. */
#ifndef __has_feature
#define __has_feature(x) 0
#endif
#if defined(__SANITIZE_ADDRESS__) || __has_feature(address_sanitizer)
#define CORIO_ASAN 1
#else
#define CORIO_ASAN 0
#endif
#if defined(__SANITIZE_THREAD__) || __has_feature(thread_sanitizer)
#define CORIO_TSAN 1
#else
#define CORIO_TSAN 0
#endif

#if CORIO_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#define CORIO_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define CORIO_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define CORIO_POISON(p, n) ((void)(p), (void)(n))
#define CORIO_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#if CORIO_TSAN
#include <sanitizer/tsan_interface.h>
#endif

#ifdef CORIO_HAVE_VALGRIND
#include <valgrind/valgrind.h>
#endif

#endif

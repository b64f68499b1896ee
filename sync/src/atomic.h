/* atomic.h - the one place where sync/ orders shared state (internal).
 *
 * Thin wrappers over the __atomic builtins, which gcc and clang accept in C
 * and in C++ alike (so weft's sources also compile as C++ for the
 * thread-safety pass). Each wrapper names its memory order; callers pick the
 * weakest one that is correct and say why where it is not obvious. An
 * interleaving scheduler hooks in here and in futex.h. */
#ifndef WEFT_SYNC_ATOMIC_H
#define WEFT_SYNC_ATOMIC_H

#include <stdbool.h>
#include <stdint.h>

#ifdef WEFT_SCHED
/* The sched build: the same operations as macros, so that each expands at
 * its caller and the schedule point the hook adds there names the caller's
 * file and line (interleave_hooks.h), not this header's. */
#define weft__load_relaxed(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define weft__load_acquire(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define weft__store_relaxed(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define weft__store_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define weft__load_relaxed_i32(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define weft__store_relaxed_i32(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define weft__cas_acquire(p, e, d)                                             \
    __atomic_compare_exchange_n((p), (e), (d), false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)
#define weft__xchg_acquire(p, v) __atomic_exchange_n((p), (v), __ATOMIC_ACQUIRE)
#define weft__xchg_release(p, v) __atomic_exchange_n((p), (v), __ATOMIC_RELEASE)
#else
static inline uint32_t weft__load_relaxed(const uint32_t *p)
{
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static inline uint32_t weft__load_acquire(const uint32_t *p)
{
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline void weft__store_relaxed(uint32_t *p, uint32_t v)
{
    __atomic_store_n(p, v, __ATOMIC_RELAXED);
}

static inline void weft__store_release(uint32_t *p, uint32_t v)
{
    __atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static inline int32_t weft__load_relaxed_i32(const int32_t *p)
{
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static inline void weft__store_relaxed_i32(int32_t *p, int32_t v)
{
    __atomic_store_n(p, v, __ATOMIC_RELAXED);
}

/* Compare-and-swap with acquire ordering on success; *expected is updated
 * with the value seen on failure. */
static inline bool weft__cas_acquire(uint32_t *p, uint32_t *expected,
                                     uint32_t desired)
{
    return __atomic_compare_exchange_n(p, expected, desired, false,
                                       __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

static inline uint32_t weft__xchg_acquire(uint32_t *p, uint32_t v)
{
    return __atomic_exchange_n(p, v, __ATOMIC_ACQUIRE);
}

static inline uint32_t weft__xchg_release(uint32_t *p, uint32_t v)
{
    return __atomic_exchange_n(p, v, __ATOMIC_RELEASE);
}
#endif /* WEFT_SCHED */

/* One iteration of a spin-wait loop: tells the CPU we are spinning. */
#if defined(WEFT_SCHED) && (defined(__x86_64__) || defined(__i386__))
#define weft__cpu_relax() __builtin_ia32_pause() /* a spin point at the caller */
#else
static inline void weft__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield" ::: "memory");
#else
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
#endif
}

#endif

#endif /* WEFT_SYNC_ATOMIC_H */

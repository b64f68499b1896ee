/* sem.c - weft_sem: a futex semaphore.
 *
 * Design / invariants
 *   `count` is the futex word and the number of units. Acquire decrements it
 *   with a compare-and-swap when it is positive; otherwise the thread counts
 *   itself in `waiters` and sleeps while count is 0. Release adds n with a
 *   compare-and-swap that refuses to pass `max` (so an over-release changes
 *   nothing) and wakes up to n sleepers only if `waiters` is non-zero.
 *
 *   No lost wake-up: a sleeper increments `waiters` and then sleeps only if
 *   count is still 0 (the kernel checks atomically); a releaser raises count
 *   and then reads `waiters`. Both pairs are sequentially consistent, so
 *   either the releaser sees the sleeper and wakes it, or the sleeper sees
 *   the new count and does not sleep (the store-buffering pattern).
 *
 *   Happens-before: a successful acquire (acquire CAS) synchronises with the
 *   release (seq_cst CAS) whose unit it took. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* also predefined by g++/clang++: C++ pass */
#endif
#include "weft/sem.h"

#include <errno.h>
#include <stdbool.h>

#include "annotate.h"
#include "atomic.h"
#include "futex.h"
#include "weft/time.h"

static bool is_shared(const weft_sem *s)
{
    return (s->flags & WEFT_SHARED) != 0;
}

static int init(weft_sem *s, unsigned value, unsigned max, unsigned flags)
{
    if (value > WEFT_SEM_VALUE_MAX || (flags & ~WEFT_SHARED) != 0)
        return EINVAL;
    s->count = value;
    s->waiters = 0;
    s->max = max;
    s->flags = flags;
    return 0;
}

int weft_sem_init(weft_sem *s, unsigned value, unsigned flags)
{
    return init(s, value, WEFT_SEM_VALUE_MAX, flags);
}

int weft_sem_init_bounded(weft_sem *s, unsigned value, unsigned flags)
{
    return init(s, value, value, flags);
}

int weft_sem_destroy(weft_sem *s)
{
    return weft__load_relaxed(&s->waiters) != 0 ? EBUSY : 0;
}

int weft_sem_try_acquire(weft_sem *s)
{
    uint32_t c = weft__load_relaxed(&s->count);
    while (c != 0)
        if (weft__cas_acquire(&s->count, &c, c - 1)) {
            WEFT__ANN_HAPPENS_AFTER(s);
            return 0;
        }
    return EAGAIN;
}

int weft_sem_acquire_until(weft_sem *s, int64_t deadline_ns)
{
    for (;;) {
        if (weft_sem_try_acquire(s) == 0)
            return 0;
        __atomic_fetch_add(&s->waiters, 1, __ATOMIC_SEQ_CST);
        int r = 0;
        if (__atomic_load_n(&s->count, __ATOMIC_SEQ_CST) == 0)
            r = weft__futex_wait(&s->count, 0, deadline_ns, is_shared(s));
        __atomic_fetch_sub(&s->waiters, 1, __ATOMIC_RELAXED);
        if (r == ETIMEDOUT)
            return weft_sem_try_acquire(s) == 0 ? 0 : ETIMEDOUT;
    }
}

int weft_sem_acquire(weft_sem *s)
{
    return weft_sem_acquire_until(s, WEFT_DEADLINE_NEVER);
}

int weft_sem_acquire_for(weft_sem *s, int64_t timeout_ns)
{
    if (timeout_ns < 0)
        return EINVAL;
    return weft_sem_acquire_until(s, weft_time_deadline_ns(timeout_ns));
}

int weft_sem_release(weft_sem *s, unsigned n)
{
    if (n == 0)
        return EINVAL;
    WEFT__ANN_HAPPENS_BEFORE(s); /* harmless when the release then fails */
    uint32_t c = weft__load_relaxed(&s->count);
    do {
        if (n > s->max || c > s->max - n)
            return EOVERFLOW;
    } while (!__atomic_compare_exchange_n(&s->count, &c, c + n, false,
                                          __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));
    if (__atomic_load_n(&s->waiters, __ATOMIC_SEQ_CST) != 0)
#if defined(WEFT_MUTANT) && WEFT_MUTANT == 4 /* seeded bug (ci/mutants): n permits, one waiter woken */
        (void)weft__futex_wake(&s->count, 1, is_shared(s));
#else
        (void)weft__futex_wake(&s->count, n > INT32_MAX ? INT32_MAX : (int)n,
                               is_shared(s));
#endif
    return 0;
}

unsigned weft_sem_value(const weft_sem *s)
{
    return weft__load_relaxed(&s->count);
}

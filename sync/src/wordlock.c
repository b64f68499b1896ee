/* wordlock.c - the slow path of the word lock: bounded spinning with
 * exponential back-off, then futex sleep. See lock.c for the design. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* also predefined by g++/clang++: C++ pass */
#endif
#include "wordlock.h"

#include <errno.h>

#include "futex.h"
#include "weft/time.h"

int weft__wl_acquire_slow(uint32_t *w, int64_t deadline_ns, bool shared)
{
    unsigned backoff = WEFT_LOCK_BACKOFF_MIN;
    for (int i = 0; i < WEFT_LOCK_SPINS; i++) {
        uint32_t c = weft__load_relaxed(w);
        if (c == WEFT__WL_UNLOCKED &&
            weft__cas_acquire(w, &c, WEFT__WL_LOCKED))
            return 0;
        for (unsigned j = 0; j < backoff; j++)
            weft__cpu_relax();
        if (backoff < WEFT_LOCK_BACKOFF_MAX)
            backoff <<= 1;
    }
    /* Sleep only after making the word CONTENDED ourselves, so the release
     * that comes after this point sees it and wakes a sleeper. */
    uint32_t c = weft__xchg_acquire(w, WEFT__WL_CONTENDED);
    while (c != WEFT__WL_UNLOCKED) {
        if (weft__futex_wait(w, WEFT__WL_CONTENDED, deadline_ns, shared) ==
            ETIMEDOUT)
            return ETIMEDOUT;
        c = weft__xchg_acquire(w, WEFT__WL_CONTENDED);
    }
    return 0;
}

void weft__wl_wake(uint32_t *w, bool shared)
{
    (void)weft__futex_wake(w, 1, shared);
}

void weft__wl_acquire_contended(uint32_t *w, bool shared)
{
    while (weft__xchg_acquire(w, WEFT__WL_CONTENDED) != WEFT__WL_UNLOCKED)
        (void)weft__futex_wait(w, WEFT__WL_CONTENDED, WEFT_DEADLINE_NEVER,
                               shared);
}

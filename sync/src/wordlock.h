/* wordlock.h - the lock algorithm on a bare 32-bit word (internal).
 *
 * weft_lock is this word plus annotations and checks; every other sync/
 * primitive that needs an internal lock (rlock, barrier, ...) uses it too,
 * private or process-shared, so there is one lock algorithm to verify.
 * States: 0 unlocked, 1 locked, 2 locked with possible sleepers; see lock.c
 * for the design and why no wake-up is lost. */
#ifndef WEFT_SYNC_WORDLOCK_H
#define WEFT_SYNC_WORDLOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "atomic.h"

#if defined(__has_include)
#if __has_include(<sys/single_threaded.h>)
#include <sys/single_threaded.h>
#define WEFT__HAVE_SINGLE_THREADED 1
#endif
#endif

/* Spinning before sleeping: WEFT_LOCK_SPINS looks at the word, with an
 * exponential back-off of WEFT_LOCK_BACKOFF_MIN, twice that, ... up to
 * WEFT_LOCK_BACKOFF_MAX pause instructions between looks (about 2,300
 * pauses in all, some 40 us on a current x86 core: the order of a futex
 * sleep and wake-up, so spinning never costs much more than sleeping would
 * have). A spinner that looks rarely leaves the holder's cache line alone,
 * so a holder that releases and re-acquires keeps running at uncontended
 * speed; looking often (starting at one pause) makes the lock change hands
 * on every release and halves throughput. Chosen with a 2-thread
 * acquire/increment/release loop on 2 cores (`weft-bench lock`,
 * contended_2t); all three can be set at compile time. */
#ifndef WEFT_LOCK_SPINS
#define WEFT_LOCK_SPINS 12
#endif
#ifndef WEFT_LOCK_BACKOFF_MIN
#define WEFT_LOCK_BACKOFF_MIN 16
#endif
#ifndef WEFT_LOCK_BACKOFF_MAX
#define WEFT_LOCK_BACKOFF_MAX 256
#endif
/* (Robust words, robust.c, spin the same way before they sleep.) */

enum { WEFT__WL_UNLOCKED = 0, WEFT__WL_LOCKED = 1, WEFT__WL_CONTENDED = 2 };

/* Spin, then sleep until acquired or the deadline: 0 or ETIMEDOUT. */
int weft__wl_acquire_slow(uint32_t *w, int64_t deadline_ns, bool shared);
/* Wake one sleeper after a release that took out WEFT__WL_CONTENDED. */
void weft__wl_wake(uint32_t *w, bool shared);
/* Acquire without spinning and leave the word CONTENDED, however many
 * threads wait: for threads a condition variable moved onto the word's
 * futex queue without their setting CONTENDED themselves (cond.c). */
void weft__wl_acquire_contended(uint32_t *w, bool shared);

/* True while the process has only ever had one thread (glibc's flag; it
 * turns false at the first pthread_create). Then no other thread can touch
 * a process-private word, and plain loads and stores do what the atomics
 * would. Never used for shared words: another process may hold them. */
static inline bool weft__single_threaded(void)
{
#ifdef WEFT__HAVE_SINGLE_THREADED
    return __libc_single_threaded != 0;
#else
    return false;
#endif
}

/* Acquire: 0, or ETIMEDOUT once CLOCK_MONOTONIC passes deadline_ns. */
static inline int weft__wl_acquire(uint32_t *w, int64_t deadline_ns,
                                   bool shared)
{
    if (!shared && weft__single_threaded() &&
        weft__load_relaxed(w) == WEFT__WL_UNLOCKED) {
        weft__store_relaxed(w, WEFT__WL_LOCKED);
        return 0;
    }
#if defined(WEFT_MUTANT) && WEFT_MUTANT == 2 /* seeded bug (ci/mutants): two threads may both see it free */
    if (weft__load_acquire(w) == WEFT__WL_UNLOCKED) {
        weft__store_relaxed(w, WEFT__WL_LOCKED);
        return 0;
    }
#else
    uint32_t c = WEFT__WL_UNLOCKED;
    if (weft__cas_acquire(w, &c, WEFT__WL_LOCKED))
        return 0;
#endif
    return weft__wl_acquire_slow(w, deadline_ns, shared);
}

static inline bool weft__wl_try(uint32_t *w)
{
    uint32_t c = WEFT__WL_UNLOCKED;
    return weft__cas_acquire(w, &c, WEFT__WL_LOCKED);
}

/* Release; returns the state it replaced (0 means it was not locked). */
static inline uint32_t weft__wl_release(uint32_t *w, bool shared)
{
    uint32_t prev;
    if (!shared && weft__single_threaded()) {
        prev = weft__load_relaxed(w);
        weft__store_relaxed(w, WEFT__WL_UNLOCKED);
    } else {
        prev = weft__xchg_release(w, WEFT__WL_UNLOCKED);
    }
#if defined(WEFT_MUTANT) && WEFT_MUTANT == 1 /* seeded bug (ci/mutants): a sleeper is never woken */
    (void)shared;
#else
    if (prev == WEFT__WL_CONTENDED)
        weft__wl_wake(w, shared);
#endif
    return prev;
}

#endif /* WEFT_SYNC_WORDLOCK_H */

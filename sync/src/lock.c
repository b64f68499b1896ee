/* lock.c - weft_lock: a three-state futex lock with bounded spinning.
 *
 * Design / invariants
 *   The word is 0 (unlocked), 1 (locked, no thread asleep) or 2 (locked, a
 *   thread may be asleep in the kernel). Only 0 -> 1 (compare-and-swap) and
 *   x -> 2 (exchange) acquire; release exchanges 0 in and wakes one thread
 *   only if it took out a 2. A thread goes to sleep only after it has made
 *   the word 2 itself, so a release that happens after it decided to sleep
 *   sees 2 and wakes it: no wake-up is lost. A woken thread exchanges 2 in
 *   again, which keeps the next release's wake for any other sleeper.
 *
 *   Before sleeping, a contended acquire spins for a bounded number of
 *   iterations, re-trying the 0 -> 1 transition: critical sections are
 *   usually shorter than a futex round trip, and on few cores this is what
 *   turns a contended hand-off from two system calls into none.
 *
 *   Memory order: acquiring transitions are acquire operations and the
 *   release exchange is a release operation, so everything written under the
 *   lock happens-before whatever the next holder reads.
 *
 *   While the process has a single thread (glibc's __libc_single_threaded),
 *   acquire and release use plain loads and stores: no other thread exists
 *   to race with, and the flag can only turn false by this very thread
 *   creating another one. A word of 2 left over from a multi-threaded past
 *   still gets its wake.
 *
 *   The checked build (WEFT_CHECKED) records the holder's thread id after
 *   acquiring and clears it before releasing; the field is only written by
 *   the holder, read relaxed by others to diagnose misuse. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* also predefined by g++/clang++: C++ pass */
#endif
#include "weft/lock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "annotate.h"
#include "atomic.h"
#include "deadlock.h"
#include "lockimpl.h"
#include "self.h"
#include "weft/time.h"
#include "wordlock.h"

static int acquire_checked(weft_lock *lk, int64_t deadline_ns, int is_try)
{
    (void)is_try; /* read by the race-detector annotations only */
#ifdef WEFT_CHECKED
    int32_t me = weft__self_private();
    if (weft__load_relaxed_i32(&lk->owner) == me)
        return EDEADLK;
#endif
    WEFT__ANN_PRE_LOCK(lk, is_try);
    int r = weft__wl_acquire(&lk->word, deadline_ns, false);
    if (r != 0) {
        WEFT__ANN_LOCK_FAILED(lk);
        return r;
    }
    WEFT__ANN_POST_LOCK(lk, is_try);
#ifdef WEFT_CHECKED
    weft__store_relaxed_i32(&lk->owner, me);
#endif
    return 0;
}

void weft_lock_init(weft_lock *lk)
{
    weft__store_relaxed(&lk->word, WEFT__WL_UNLOCKED);
#ifdef WEFT_CHECKED
    weft__store_relaxed_i32(&lk->owner, 0);
#endif
    WEFT__HG_IGNORE(&lk->word, sizeof lk->word);
    WEFT__ANN_CREATE(lk);
}

int weft_lock_destroy(weft_lock *lk)
{
    if (weft__load_relaxed(&lk->word) != WEFT__WL_UNLOCKED)
        return EBUSY;
    if (weft__dl_on())
        weft__dl_destroyed(lk);
    WEFT__ANN_DESTROY(lk);
    return 0;
}

/* The acquire with the deadlock detector on: check the lock order first. */
static int acquire_tracked(weft_lock *lk, int64_t deadline_ns, int is_try,
                           const void *site)
{
    int r = weft__dl_before_acquire(lk, site);
    if (r == 0)
        r = acquire_checked(lk, deadline_ns, is_try);
    if (r == 0)
        weft__dl_acquired(lk, site);
    return r;
}

int weft_lock_acquire(weft_lock *lk) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    if (weft__dl_on())
        return acquire_tracked(lk, WEFT_DEADLINE_NEVER, 0,
                               __builtin_return_address(0));
    return acquire_checked(lk, WEFT_DEADLINE_NEVER, 0);
}

int weft_lock_acquire_until(weft_lock *lk, int64_t deadline_ns)
    WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    if (weft__dl_on())
        return acquire_tracked(lk, deadline_ns, 1, __builtin_return_address(0));
    return acquire_checked(lk, deadline_ns, 1);
}

int weft_lock_acquire_for(weft_lock *lk, int64_t timeout_ns)
    WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    if (timeout_ns < 0)
        return EINVAL;
    int64_t deadline = weft_time_deadline_ns(timeout_ns);
    if (weft__dl_on())
        return acquire_tracked(lk, deadline, 1, __builtin_return_address(0));
    return acquire_checked(lk, deadline, 1);
}

int weft_lock_try_acquire(weft_lock *lk) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    WEFT__ANN_PRE_LOCK(lk, 1);
    if (!weft__wl_try(&lk->word)) {
        WEFT__ANN_LOCK_FAILED(lk);
        return EBUSY;
    }
    WEFT__ANN_POST_LOCK(lk, 1);
#ifdef WEFT_CHECKED
    weft__store_relaxed_i32(&lk->owner, weft__self_private());
#endif
    /* A try adds no lock-order edge, but what it took orders later ones. */
    if (weft__dl_on())
        weft__dl_acquired(lk, __builtin_return_address(0));
    return 0;
}

int weft_lock_release(weft_lock *lk) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
#ifdef WEFT_CHECKED
    if (weft__load_relaxed_i32(&lk->owner) != weft__self_private())
        return EPERM;
    weft__store_relaxed_i32(&lk->owner, 0);
#else
    if (weft__load_relaxed(&lk->word) == WEFT__WL_UNLOCKED)
        return EPERM;
#endif
    if (weft__dl_on())
        weft__dl_released(lk);
    WEFT__ANN_PRE_UNLOCK(lk);
    uint32_t prev = weft__wl_release(&lk->word, false);
    WEFT__ANN_POST_UNLOCK(lk);
    /* prev == UNLOCKED: an unchecked caller released a lock it did not hold
     * while another release raced with it; report the misuse. */
    return prev == WEFT__WL_UNLOCKED ? EPERM : 0;
}

bool weft_lock_is_locked(const weft_lock *lk)
{
    return weft__load_relaxed(&lk->word) != WEFT__WL_UNLOCKED;
}

void weft_lock_assert_held(const weft_lock *lk) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
#ifdef WEFT_CHECKED
    if (weft__load_relaxed_i32(&lk->owner) == weft__self_private())
        return;
    (void)fprintf(stderr, "weft: lock %p is not held by thread %d (holder %d)\n",
                  (const void *)lk, (int)weft__self_private(),
                  (int)weft__load_relaxed_i32(&lk->owner));
#else
    if (weft__load_relaxed(&lk->word) != WEFT__WL_UNLOCKED)
        return;
    (void)fprintf(stderr, "weft: lock %p is not held\n", (const void *)lk);
#endif
    abort();
}

void weft__lock_release_for_wait(weft_lock *lk)
{
#ifdef WEFT_CHECKED
    weft__store_relaxed_i32(&lk->owner, 0);
#endif
    if (weft__dl_on())
        weft__dl_released(lk);
    WEFT__ANN_PRE_UNLOCK(lk);
    (void)weft__wl_release(&lk->word, false);
    WEFT__ANN_POST_UNLOCK(lk);
}

void weft__lock_reacquire(weft_lock *lk)
{
    WEFT__ANN_PRE_LOCK(lk, 0);
    weft__wl_acquire_contended(&lk->word, false);
    WEFT__ANN_POST_LOCK(lk, 0);
#ifdef WEFT_CHECKED
    weft__store_relaxed_i32(&lk->owner, weft__self_private());
#endif
    if (weft__dl_on())
        weft__dl_acquired(lk, __builtin_return_address(0));
}

bool weft__lock_held(const weft_lock *lk)
{
#ifdef WEFT_CHECKED
    return weft__load_relaxed_i32(&lk->owner) == weft__self_private();
#else
    return weft__load_relaxed(&lk->word) != WEFT__WL_UNLOCKED;
#endif
}

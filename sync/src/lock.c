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
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<sys/single_threaded.h>)
#include <sys/single_threaded.h>
#define WEFT__HAVE_SINGLE_THREADED 1
#endif
#endif

#include "annotate.h"
#include "atomic.h"
#include "futex.h"
#include "weft/time.h"

enum { UNLOCKED = 0, LOCKED = 1, CONTENDED = 2 };

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

#ifdef WEFT_CHECKED
/* The thread's id, read once. It is deliberately not refreshed in a child
 * created by fork(): the child's thread is a copy of the forking thread and
 * keeps its identity, so it can release the locks that thread held. */
static __thread int32_t cached_tid;

static int32_t self_tid(void)
{
    if (cached_tid == 0)
        cached_tid = (int32_t)gettid();
    return cached_tid;
}
#endif

#ifndef WEFT_LOCK_BACKOFF_MIN
#define WEFT_LOCK_BACKOFF_MIN 16
#endif
#ifndef WEFT_LOCK_BACKOFF_MAX
#define WEFT_LOCK_BACKOFF_MAX 256
#endif

static int lock_slow(weft_lock *lk, int64_t deadline_ns)
{
    unsigned backoff = WEFT_LOCK_BACKOFF_MIN;
    for (int i = 0; i < WEFT_LOCK_SPINS; i++) {
        uint32_t c = weft__load_relaxed(&lk->word);
        if (c == UNLOCKED && weft__cas_acquire(&lk->word, &c, LOCKED))
            return 0;
        for (unsigned j = 0; j < backoff; j++)
            weft__cpu_relax();
        if (backoff < WEFT_LOCK_BACKOFF_MAX)
            backoff <<= 1;
    }
    uint32_t c = weft__xchg_acquire(&lk->word, CONTENDED);
    while (c != UNLOCKED) {
        if (weft__futex_wait(&lk->word, CONTENDED, deadline_ns, false) ==
            ETIMEDOUT)
            return ETIMEDOUT;
        c = weft__xchg_acquire(&lk->word, CONTENDED);
    }
    return 0;
}

/* True while the process has only ever had one thread (glibc's flag; it
 * turns false at the first pthread_create). Then no other thread can touch
 * the word, and plain loads and stores do what the atomics would. */
static inline bool single_threaded(void)
{
#ifdef WEFT__HAVE_SINGLE_THREADED
    return __libc_single_threaded != 0;
#else
    return false;
#endif
}

/* Takes the lock or gives up at the deadline; annotations are the caller's. */
static int lock_until(weft_lock *lk, int64_t deadline_ns)
{
    uint32_t c = UNLOCKED;
    if (single_threaded() && weft__load_relaxed(&lk->word) == UNLOCKED) {
        weft__store_relaxed(&lk->word, LOCKED);
        return 0;
    }
    if (weft__cas_acquire(&lk->word, &c, LOCKED))
        return 0;
    return lock_slow(lk, deadline_ns);
}

static int acquire_checked(weft_lock *lk, int64_t deadline_ns, int is_try)
{
    (void)is_try; /* read by the race-detector annotations only */
#ifdef WEFT_CHECKED
    int32_t me = self_tid();
    if (weft__load_relaxed_i32(&lk->owner) == me)
        return EDEADLK;
#endif
    WEFT__ANN_PRE_LOCK(lk, is_try);
    int r = lock_until(lk, deadline_ns);
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
    weft__store_relaxed(&lk->word, UNLOCKED);
#ifdef WEFT_CHECKED
    weft__store_relaxed_i32(&lk->owner, 0);
#endif
    WEFT__HG_IGNORE(&lk->word, sizeof lk->word);
    WEFT__ANN_CREATE(lk);
}

int weft_lock_destroy(weft_lock *lk)
{
    if (weft__load_relaxed(&lk->word) != UNLOCKED)
        return EBUSY;
    WEFT__ANN_DESTROY(lk);
    return 0;
}

int weft_lock_acquire(weft_lock *lk) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    return acquire_checked(lk, WEFT_DEADLINE_NEVER, 0);
}

int weft_lock_acquire_until(weft_lock *lk, int64_t deadline_ns)
    WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    return acquire_checked(lk, deadline_ns, 1);
}

int weft_lock_acquire_for(weft_lock *lk, int64_t timeout_ns)
    WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    if (timeout_ns < 0)
        return EINVAL;
    return acquire_checked(lk, weft_time_deadline_ns(timeout_ns), 1);
}

int weft_lock_try_acquire(weft_lock *lk) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    WEFT__ANN_PRE_LOCK(lk, 1);
    uint32_t c = UNLOCKED;
    if (!weft__cas_acquire(&lk->word, &c, LOCKED)) {
        WEFT__ANN_LOCK_FAILED(lk);
        return EBUSY;
    }
    WEFT__ANN_POST_LOCK(lk, 1);
#ifdef WEFT_CHECKED
    weft__store_relaxed_i32(&lk->owner, self_tid());
#endif
    return 0;
}

int weft_lock_release(weft_lock *lk) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
#ifdef WEFT_CHECKED
    if (weft__load_relaxed_i32(&lk->owner) != self_tid())
        return EPERM;
    weft__store_relaxed_i32(&lk->owner, 0);
#else
    if (weft__load_relaxed(&lk->word) == UNLOCKED)
        return EPERM;
#endif
    WEFT__ANN_PRE_UNLOCK(lk);
    uint32_t prev;
    if (single_threaded()) {
        prev = weft__load_relaxed(&lk->word);
        weft__store_relaxed(&lk->word, UNLOCKED);
    } else {
        prev = weft__xchg_release(&lk->word, UNLOCKED);
    }
    WEFT__ANN_POST_UNLOCK(lk);
    if (prev == CONTENDED)
        (void)weft__futex_wake(&lk->word, 1, false);
    /* prev == UNLOCKED: an unchecked caller released a lock it did not hold
     * while another release raced with it; report the misuse. */
    return prev == UNLOCKED ? EPERM : 0;
}

bool weft_lock_is_locked(const weft_lock *lk)
{
    return weft__load_relaxed(&lk->word) != UNLOCKED;
}

void weft_lock_assert_held(const weft_lock *lk) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
#ifdef WEFT_CHECKED
    if (weft__load_relaxed_i32(&lk->owner) == self_tid())
        return;
    (void)fprintf(stderr, "weft: lock %p is not held by thread %d (holder %d)\n",
            (const void *)lk, (int)self_tid(),
            (int)weft__load_relaxed_i32(&lk->owner));
#else
    if (weft__load_relaxed(&lk->word) != UNLOCKED)
        return;
    (void)fprintf(stderr, "weft: lock %p is not held\n", (const void *)lk);
#endif
    abort();
}

/* rlock.c - weft_rlock: owner and level count on top of a lock word.
 *
 * Design / invariants
 *   Private rlocks use the word lock (wordlock.h); shared ones a robust word
 *   (robust.h), which survives its holder's death. The word is taken on the
 *   first level and released with the last. `owner` is written only by the
 *   thread that holds the word (after acquiring it, before releasing it), so
 *   a thread that reads its own id there holds the lock. For a shared rlock
 *   ownership is read from the robust word itself instead: when a holder
 *   dies the kernel clears its id there, so a later thread that happens to
 *   get the same id cannot mistake itself for the holder. `count` and
 *   `state` are touched only by the holder. Race detectors are told about
 *   the first acquire and the last release only: nested levels are not lock
 *   operations. Shared rlocks are not announced to them at all: a holder's
 *   death is invisible to ThreadSanitizer's model of a mutex (it would call
 *   the next acquire a double lock), while the word's acquire and release
 *   atomics already give the tools every happens-before edge they need. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* also predefined by g++/clang++: C++ pass */
#endif
#include "weft/rlock.h"

#include <errno.h>
#include <stddef.h>

#include "annotate.h"
#include "atomic.h"
#include "deadlock.h"
#include "lockimpl.h"
#include "robust.h"
#include "self.h"
#include "weft/time.h"
#include "wordlock.h"

_Static_assert(offsetof(weft_rlock, robust_prev) - offsetof(weft_rlock, word) ==
                   WEFT__RB_LINK_OFFSET,
               "robust links must follow the word as robust.h requires");
_Static_assert(offsetof(weft_rlock, robust_next) ==
                   offsetof(weft_rlock, robust_prev) + sizeof(void *),
               "robust links are prev then next");

enum { CONSISTENT = 0, INCONSISTENT = 1 };
enum mode { BLOCK, TIMED, TRY };

static bool is_shared(const weft_rlock *rl)
{
    return (rl->flags & WEFT_SHARED) != 0;
}

int weft_rlock_init(weft_rlock *rl, unsigned flags)
{
    if ((flags & ~(WEFT_SHARED | WEFT_NORECURSE)) != 0)
        return EINVAL;
    if ((flags & WEFT_SHARED) && weft__rb_check() != 0)
        return ENOTSUP;
    rl->word = 0;
    rl->owner = 0;
    rl->count = 0;
    rl->flags = flags;
    rl->state = CONSISTENT;
    rl->sleepers = 0;
    rl->robust_prev = NULL;
    rl->robust_next = NULL;
    WEFT__HG_IGNORE(&rl->word, sizeof rl->word);
    if (!is_shared(rl))
        WEFT__ANN_CREATE(rl);
    return 0;
}

int weft_rlock_destroy(weft_rlock *rl)
{
    uint32_t w = weft__load_relaxed(&rl->word);
    if (w != 0 && w != WEFT__RB_NOTRECOVERABLE)
        return EBUSY;
    if (weft__dl_on())
        weft__dl_destroyed(rl);
    if (!is_shared(rl))
        WEFT__ANN_DESTROY(rl);
    return 0;
}

bool weft_rlock_is_owned(const weft_rlock *rl)
{
    if (is_shared(rl))
        return weft__rb_held(&rl->word);
    return weft__load_relaxed_i32(&rl->owner) == weft__self_private();
}

bool weft_rlock_is_locked(const weft_rlock *rl)
{
    /* seq_cst: callers order it between their own seq_cst accesses (a
     * parked waiter's count and the state it then looks at). */
    uint32_t w = __atomic_load_n(&rl->word, __ATOMIC_SEQ_CST);
    if (!is_shared(rl))
        return w != 0;
    return (w & WEFT__RB_TID_MASK) != 0 && (w & WEFT__RB_OWNER_DIED) == 0 &&
           w != WEFT__RB_NOTRECOVERABLE;
}

/* Take the word: 0, EOWNERDEAD (taken), or an error (not taken). */
static int take_word(weft_rlock *rl, int64_t deadline_ns, enum mode mode)
{
    if (is_shared(rl))
        return weft__rb_acquire(&rl->word, &rl->sleepers, deadline_ns,
                                mode == TRY);
    if (mode == TRY)
        return weft__wl_try(&rl->word) ? 0 : EBUSY;
    return weft__wl_acquire(&rl->word, deadline_ns, false);
}

static void became_owner(weft_rlock *rl, uint32_t levels, int how)
{
    weft__store_relaxed_i32(&rl->owner, is_shared(rl) ? weft__self_shared()
                                                      : weft__self_private());
    rl->count = levels;
    if (how == EOWNERDEAD)
        rl->state = INCONSISTENT;
}

static int acquire(weft_rlock *rl, int64_t deadline_ns, enum mode mode,
                   const void *site)
{
    int is_try = mode != BLOCK;
    (void)is_try; /* read by the race-detector annotations only */
    if (weft_rlock_is_owned(rl)) {
        if (rl->flags & WEFT_NORECURSE)
            return mode == TRY ? EBUSY : EDEADLK;
        if (rl->count == UINT32_MAX)
            return EAGAIN;
        rl->count++;
        return 0; /* re-entry: no lock-order edge */
    }
    if (weft__dl_on()) {
        int d = mode == TRY ? 0 : weft__dl_before_acquire(rl, site);
        if (d != 0)
            return d;
    }
    if (!is_shared(rl))
        WEFT__ANN_PRE_LOCK(rl, is_try);
    int r = take_word(rl, deadline_ns, mode);
    if (r != 0 && r != EOWNERDEAD) {
        if (!is_shared(rl))
            WEFT__ANN_LOCK_FAILED(rl);
        return r;
    }
    if (!is_shared(rl))
        WEFT__ANN_POST_LOCK(rl, is_try);
    became_owner(rl, 1, r);
    if (weft__dl_on())
        weft__dl_acquired(rl, site);
    return r;
}

int weft_rlock_acquire(weft_rlock *rl) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    /* Fast path: a private rlock, no detector, free or already ours. */
    if (!is_shared(rl) && !weft__dl_on()) {
        int32_t me = weft__self_private();
        if (weft__load_relaxed_i32(&rl->owner) == me) {
            if (rl->count == UINT32_MAX || (rl->flags & WEFT_NORECURSE))
                return acquire(rl, WEFT_DEADLINE_NEVER, BLOCK,
                               __builtin_return_address(0));
            rl->count++;
            return 0;
        }
        WEFT__ANN_PRE_LOCK(rl, 0);
        if (weft__wl_acquire(&rl->word, WEFT_DEADLINE_NEVER, false) == 0) {
            WEFT__ANN_POST_LOCK(rl, 0);
            weft__store_relaxed_i32(&rl->owner, me);
            rl->count = 1;
            return 0;
        }
        WEFT__ANN_LOCK_FAILED(rl); /* cannot happen without a deadline */
    }
    return acquire(rl, WEFT_DEADLINE_NEVER, BLOCK, __builtin_return_address(0));
}

int weft_rlock_try_acquire(weft_rlock *rl) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    return acquire(rl, 0, TRY, __builtin_return_address(0));
}

int weft_rlock_acquire_until(weft_rlock *rl, int64_t deadline_ns)
    WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    return acquire(rl, deadline_ns, TIMED, __builtin_return_address(0));
}

int weft_rlock_acquire_for(weft_rlock *rl, int64_t timeout_ns)
    WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    if (timeout_ns < 0)
        return EINVAL;
    return acquire(rl, weft_time_deadline_ns(timeout_ns), TIMED,
                   __builtin_return_address(0));
}

/* Give up the word; the caller holds it and has cleared owner/count. */
static void drop_word(weft_rlock *rl)
{
    if (!is_shared(rl))
        WEFT__ANN_PRE_UNLOCK(rl);
    if (!is_shared(rl)) {
        (void)weft__wl_release(&rl->word, false);
    } else if (rl->state == INCONSISTENT) {
        weft__rb_release_unrecoverable(&rl->word);
    } else {
        weft__rb_release(&rl->word, &rl->sleepers);
    }
    if (!is_shared(rl))
        WEFT__ANN_POST_UNLOCK(rl);
}

int weft_rlock_release(weft_rlock *rl) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    if (!is_shared(rl) && !weft__dl_on()) { /* fast path, as in acquire */
        if (weft__load_relaxed_i32(&rl->owner) != weft__self_private())
            return EPERM;
        if (--rl->count > 0)
            return 0;
        weft__store_relaxed_i32(&rl->owner, 0);
        WEFT__ANN_PRE_UNLOCK(rl);
        (void)weft__wl_release(&rl->word, false);
        WEFT__ANN_POST_UNLOCK(rl);
        return 0;
    }
    if (!weft_rlock_is_owned(rl))
        return EPERM;
    if (--rl->count > 0)
        return 0;
    weft__store_relaxed_i32(&rl->owner, 0);
    if (weft__dl_on())
        weft__dl_released(rl);
    drop_word(rl);
    return 0;
}

int weft_rlock_consistent(weft_rlock *rl)
{
    if (!weft_rlock_is_owned(rl))
        return EPERM;
    if (rl->state != INCONSISTENT)
        return EINVAL;
    rl->state = CONSISTENT;
    return 0;
}

unsigned weft_rlock_depth(const weft_rlock *rl)
{
    return weft_rlock_is_owned(rl) ? rl->count : 0;
}

uint32_t weft__rlock_release_all(weft_rlock *rl)
{
    uint32_t levels = rl->count;
    rl->count = 0;
    weft__store_relaxed_i32(&rl->owner, 0);
    if (weft__dl_on())
        weft__dl_released(rl);
    drop_word(rl);
    return levels;
}

int weft__rlock_reacquire(weft_rlock *rl, uint32_t levels)
{
    if (!is_shared(rl))
        WEFT__ANN_PRE_LOCK(rl, 0);
    int r = 0;
    if (is_shared(rl))
        r = weft__rb_acquire(&rl->word, &rl->sleepers, WEFT_DEADLINE_NEVER,
                              false);
    else
        weft__wl_acquire_contended(&rl->word, false);
    if (r != 0 && r != EOWNERDEAD) {
        if (!is_shared(rl))
            WEFT__ANN_LOCK_FAILED(rl);
        return r;
    }
    if (!is_shared(rl))
        WEFT__ANN_POST_LOCK(rl, 0);
    became_owner(rl, levels, r);
    if (weft__dl_on())
        weft__dl_acquired(rl, __builtin_return_address(0));
    return r;
}

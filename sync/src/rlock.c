/* rlock.c - weft_rlock: owner and level count on top of the word lock.
 *
 * Design / invariants
 *   The word is a word lock (wordlock.h), taken on the first level and
 *   released with the last. `owner` is written only by the thread that holds
 *   the word (after acquiring it, before releasing it), so a thread that
 *   reads its own id there holds the lock; any other value means it does
 *   not, whatever stale value it reads. `count` is touched only by the owner.
 *   Race detectors are told about the first acquire and the last release
 *   only: nested levels are not lock operations. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* also predefined by g++/clang++: C++ pass */
#endif
#include "weft/rlock.h"

#include <errno.h>

#include "annotate.h"
#include "atomic.h"
#include "lockimpl.h"
#include "self.h"
#include "weft/time.h"
#include "wordlock.h"

static bool is_shared(const weft_rlock *rl)
{
    return (rl->flags & WEFT_SHARED) != 0;
}

static int32_t self_for(const weft_rlock *rl)
{
    return is_shared(rl) ? weft__self_shared() : weft__self_private();
}

int weft_rlock_init(weft_rlock *rl, unsigned flags)
{
    if ((flags & ~WEFT_SHARED) != 0)
        return EINVAL;
    rl->word = WEFT__WL_UNLOCKED;
    rl->owner = 0;
    rl->count = 0;
    rl->flags = flags;
    WEFT__HG_IGNORE(&rl->word, sizeof rl->word);
    WEFT__ANN_CREATE(rl);
    return 0;
}

int weft_rlock_destroy(weft_rlock *rl)
{
    if (weft__load_relaxed(&rl->word) != WEFT__WL_UNLOCKED)
        return EBUSY;
    WEFT__ANN_DESTROY(rl);
    return 0;
}

/* 0: the caller already held it and took one more level; ENOENT: it does
 * not hold it; EAGAIN: level count full. */
static int nested(weft_rlock *rl, int32_t me)
{
    if (weft__load_relaxed_i32(&rl->owner) != me)
        return ENOENT;
    if (rl->count == UINT32_MAX)
        return EAGAIN;
    rl->count++;
    return 0;
}

enum mode { BLOCK, TIMED, TRY };

static int acquire(weft_rlock *rl, int64_t deadline_ns, enum mode mode)
{
    int is_try = mode != BLOCK;
    (void)is_try; /* read by the race-detector annotations only */
    int32_t me = self_for(rl);
    int r = nested(rl, me);
    if (r != ENOENT)
        return r;
    WEFT__ANN_PRE_LOCK(rl, is_try);
    if (mode == TRY)
        r = weft__wl_try(&rl->word) ? 0 : EBUSY;
    else
        r = weft__wl_acquire(&rl->word, deadline_ns, is_shared(rl));
    if (r != 0) {
        WEFT__ANN_LOCK_FAILED(rl);
        return r;
    }
    WEFT__ANN_POST_LOCK(rl, is_try);
    weft__store_relaxed_i32(&rl->owner, me);
    rl->count = 1;
    return 0;
}

int weft_rlock_acquire(weft_rlock *rl) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    return acquire(rl, WEFT_DEADLINE_NEVER, BLOCK);
}

int weft_rlock_try_acquire(weft_rlock *rl) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    return acquire(rl, 0, TRY);
}

int weft_rlock_acquire_until(weft_rlock *rl, int64_t deadline_ns)
    WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    return acquire(rl, deadline_ns, TIMED);
}

int weft_rlock_acquire_for(weft_rlock *rl, int64_t timeout_ns)
    WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    if (timeout_ns < 0)
        return EINVAL;
    return acquire(rl, weft_time_deadline_ns(timeout_ns), TIMED);
}

int weft_rlock_release(weft_rlock *rl) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    if (weft__load_relaxed_i32(&rl->owner) != self_for(rl))
        return EPERM;
    if (--rl->count > 0)
        return 0;
    weft__store_relaxed_i32(&rl->owner, 0);
    WEFT__ANN_PRE_UNLOCK(rl);
    (void)weft__wl_release(&rl->word, is_shared(rl));
    WEFT__ANN_POST_UNLOCK(rl);
    return 0;
}

bool weft_rlock_is_owned(const weft_rlock *rl)
{
    return weft__load_relaxed_i32(&rl->owner) == self_for(rl);
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
    WEFT__ANN_PRE_UNLOCK(rl);
    (void)weft__wl_release(&rl->word, is_shared(rl));
    WEFT__ANN_POST_UNLOCK(rl);
    return levels;
}

void weft__rlock_reacquire(weft_rlock *rl, uint32_t levels)
{
    WEFT__ANN_PRE_LOCK(rl, 0);
    weft__wl_acquire_contended(&rl->word, is_shared(rl));
    WEFT__ANN_POST_LOCK(rl, 0);
    weft__store_relaxed_i32(&rl->owner, self_for(rl));
    rl->count = levels;
}

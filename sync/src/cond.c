/* cond.c - weft_cond: a sequence-number futex condition variable.
 *
 * Design / invariants
 *   `seq` is the futex word. A waiter, holding the lock, counts itself in
 *   `waiters`, reads seq, releases the lock and sleeps while seq is
 *   unchanged. A notify bumps seq first and then wakes: a waiter that read
 *   seq before the bump either is asleep (and is woken) or finds seq changed
 *   when it tries to sleep (the kernel compares atomically) - no lost
 *   wake-up. A notifier skips the system call when `waiters` is 0; waiter
 *   and notifier each make their write (waiters++, seq++) sequentially
 *   consistent before reading the other's word, so one of them sees the
 *   other (the store-buffering pattern).
 *
 *   notify_all with a private cond and a private lock does not wake every
 *   waiter: FUTEX_CMP_REQUEUE wakes one and moves the rest onto the lock
 *   word's futex queue. Those threads did not mark the lock word CONTENDED
 *   themselves, so every thread returning from a wait re-acquires the lock
 *   with weft__wl_acquire_contended, which leaves the word CONTENDED while it
 *   holds it; its release therefore wakes the next moved thread, and so on:
 *   the woken thread starts a chain that reaches every moved thread, one
 *   lock hand-off at a time, without a herd fighting for the lock. The
 *   notifier need not hold the lock: the chain starts only after the moved
 *   threads are on the lock's queue. A shared cond (or a shared rlock) wakes
 *   all instead, since a lock's address differs between processes.
 *
 *   Spurious wake-ups are allowed (documented): a waiter that read seq
 *   just before a notify may return alongside the one that notify woke. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* also predefined by g++/clang++: C++ pass */
#endif
#include "weft/cond.h"

#include <errno.h>
#include <stddef.h>

#include "atomic.h"
#include "futex.h"
#include "lockimpl.h"
#include "self.h"
#include "weft/time.h"

static bool is_shared(const weft_cond *c)
{
    return (c->flags & WEFT_SHARED) != 0;
}

int weft_cond_init(weft_cond *c, unsigned flags)
{
    if ((flags & ~WEFT_SHARED) != 0)
        return EINVAL;
    c->seq = 0;
    c->waiters = 0;
    c->flags = flags;
    c->pad = 0;
    c->lock_word = NULL;
    return 0;
}

int weft_cond_destroy(weft_cond *c)
{
    return weft__load_relaxed(&c->waiters) != 0 ? EBUSY : 0;
}

/* The lock a waiter uses, as cond_wait needs it: a weft_lock or a
 * weft_rlock, told apart by `is_rlock`. */
struct held {
    bool is_rlock;
    weft_lock *lk;
    weft_rlock *rl;
    uint32_t levels; /* rlock levels saved across the wait */
};

static uint32_t *lock_word_of(const struct held *h)
{
    if (!h->is_rlock)
        return &h->lk->word;
    return (h->rl->flags & WEFT_SHARED) ? NULL : &h->rl->word;
}

static void give_up(struct held *h)
{
    if (!h->is_rlock)
        weft__lock_release_for_wait(h->lk);
    else
        h->levels = weft__rlock_release_all(h->rl);
}

static int take_back(struct held *h)
{
    if (!h->is_rlock) {
        weft__lock_reacquire(h->lk);
        return 0;
    }
    return weft__rlock_reacquire(h->rl, h->levels);
}

/* One wait: 0 (notified or spurious) or ETIMEDOUT; the lock is held again. */
static int cond_wait(weft_cond *c, struct held *h, int64_t deadline_ns)
{
    /* Always store it for a private cond, NULL included (a shared rlock):
     * a stale pointer would requeue waiters onto another lock's queue. */
    if (!is_shared(c))
        __atomic_store_n(&c->lock_word, lock_word_of(h), __ATOMIC_RELAXED);
    __atomic_fetch_add(&c->waiters, 1, __ATOMIC_SEQ_CST);
    uint32_t seq = __atomic_load_n(&c->seq, __ATOMIC_SEQ_CST);
    give_up(h);
    int r = weft__futex_wait(&c->seq, seq, deadline_ns, is_shared(c));
    int taken = take_back(h);
    __atomic_fetch_sub(&c->waiters, 1, __ATOMIC_RELAXED);
    if (taken != 0)
        return taken; /* EOWNERDEAD (held) or ENOTRECOVERABLE (not held) */
    /* A thread moved to the lock's queue and timed out there was notified. */
    if (r == ETIMEDOUT && weft__load_relaxed(&c->seq) != seq)
        r = 0;
    return r;
}

static int pred_wait(weft_cond *c, struct held *h, weft_cond_pred pred,
                     void *arg, int64_t deadline_ns)
{
    while (!pred(arg)) {
        int r = cond_wait(c, h, deadline_ns);
        if (r == ETIMEDOUT)
            return pred(arg) ? 0 : ETIMEDOUT;
        if (r != 0)
            return r; /* the holder of a shared rlock died: caller repairs */
    }
    return 0;
}

int weft_cond_wait_until(weft_cond *c, weft_lock *lk, int64_t deadline_ns)
    WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    if (!weft__lock_held(lk))
        return EPERM;
    struct held h = {false, lk, NULL, 0};
    return cond_wait(c, &h, deadline_ns);
}

int weft_cond_wait(weft_cond *c, weft_lock *lk) WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    return weft_cond_wait_until(c, lk, WEFT_DEADLINE_NEVER);
}

int weft_cond_wait_for(weft_cond *c, weft_lock *lk, int64_t timeout_ns)
    WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    if (timeout_ns < 0)
        return EINVAL;
    return weft_cond_wait_until(c, lk, weft_time_deadline_ns(timeout_ns));
}

int weft_cond_wait_pred_until(weft_cond *c, weft_lock *lk, weft_cond_pred pred,
                              void *arg, int64_t deadline_ns)
    WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    if (!weft__lock_held(lk))
        return EPERM;
    struct held h = {false, lk, NULL, 0};
    return pred_wait(c, &h, pred, arg, deadline_ns);
}

int weft_cond_wait_rlock_until(weft_cond *c, weft_rlock *rl,
                               int64_t deadline_ns)
    WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    if (!weft_rlock_is_owned(rl))
        return EPERM;
    struct held h = {true, NULL, rl, 0};
    return cond_wait(c, &h, deadline_ns);
}

int weft_cond_wait_rlock(weft_cond *c, weft_rlock *rl)
    WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    return weft_cond_wait_rlock_until(c, rl, WEFT_DEADLINE_NEVER);
}

int weft_cond_wait_rlock_for(weft_cond *c, weft_rlock *rl, int64_t timeout_ns)
    WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    if (timeout_ns < 0)
        return EINVAL;
    return weft_cond_wait_rlock_until(c, rl, weft_time_deadline_ns(timeout_ns));
}

int weft_cond_wait_rlock_pred_until(weft_cond *c, weft_rlock *rl,
                                    weft_cond_pred pred, void *arg,
                                    int64_t deadline_ns)
    WEFT_NO_THREAD_SAFETY_ANALYSIS
{
    if (!weft_rlock_is_owned(rl))
        return EPERM;
    struct held h = {true, NULL, rl, 0};
    return pred_wait(c, &h, pred, arg, deadline_ns);
}

/* Bump seq; true if a waiter may need waking. */
static bool bump(weft_cond *c)
{
#if defined(WEFT_MUTANT) && WEFT_MUTANT == 3 /* seeded bug (ci/mutants): a waiter between its unlock and its
                   futex wait misses the notify */
#else
    __atomic_fetch_add(&c->seq, 1, __ATOMIC_SEQ_CST);
#endif
    return __atomic_load_n(&c->waiters, __ATOMIC_SEQ_CST) != 0;
}

int weft_cond_notify(weft_cond *c, unsigned n)
{
    if (n == 0 || !bump(c))
        return 0;
    (void)weft__futex_wake(&c->seq, n > INT32_MAX ? INT32_MAX : (int)n,
                           is_shared(c));
    return 0;
}

int weft_cond_notify_all(weft_cond *c)
{
    if (!bump(c))
        return 0;
    uint32_t *lw = is_shared(c) ? NULL
                                : __atomic_load_n(&c->lock_word, __ATOMIC_RELAXED);
    while (lw != NULL) {
        uint32_t seq = weft__load_relaxed(&c->seq);
        int r = weft__futex_requeue(&c->seq, seq, 1, lw, false);
        if (r == 0)
            return 0;
        if (r != EAGAIN)
            break; /* cannot requeue (EFAULT, ...): wake everyone instead */
        /* EAGAIN: seq moved (another notify); requeue against the new value. */
    }
    (void)weft__futex_wake(&c->seq, INT32_MAX, is_shared(c));
    return 0;
}
